//! The `falco` binary as a service: the webserver on a live (nodriver) source, reloads on SIGHUP
//! (good and broken rules), SIGUSR1 bursts while the file output is rotated, SIGTERM draining
//! the outputs, and a program output that stops reading — each checked from outside, with curl,
//! promtool, /proc and the files the daemon writes.

mod common;

use common::http_client::{curl, promtool};
use common::process::process_alive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const RULES: &str = "- rule: Read or write
  desc: every read and write
  condition: evt.type in (read, write)
  output: io by %proc.name (fd=%fd.num)
  priority: WARNING
  tags: [test, io]
";

/// Rules that do not load: a reload with them fails and raises an internal alert.
const BROKEN_RULES: &str = "- rule: Broken\n  condition: evt.type in (\n";

/// A test's directory with its falco.yaml and rules file.
struct Setup {
    dir: PathBuf,
    cfg: PathBuf,
    rules: PathBuf,
}

impl Setup {
    /// A fresh directory with `yaml` as falco.yaml and [`RULES`].
    fn new(tag: &str, yaml: &str) -> Setup {
        let dir = common::temp_dir(tag);
        let setup = Setup {
            cfg: dir.join("falco.yaml"),
            rules: dir.join("rules.yaml"),
            dir,
        };
        setup.write_config(yaml);
        setup.write_rules(RULES);
        setup
    }

    fn write_config(&self, yaml: &str) {
        std::fs::write(&self.cfg, yaml).unwrap();
    }

    fn write_rules(&self, rules: &str) {
        std::fs::write(&self.rules, rules).unwrap();
    }

    /// `-c` and `-r` for this setup, then `extra`.
    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "-c".to_string(),
            self.cfg.display().to_string(),
            "-r".to_string(),
            self.rules.display().to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// A live (nodriver) source, the webserver on a free port, metrics on.
    fn live_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = self.args(&[
            "-o",
            "engine.kind=nodriver",
            "-o",
            "webserver.enabled=true",
            "-o",
            "webserver.listen_address=127.0.0.1",
            "-o",
            "webserver.listen_port=0",
            "-o",
            "metrics.enabled=true",
            "-o",
            "webserver.prometheus_metrics_enabled=true",
        ]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// Replays `capture`.
    fn replay_args(&self, capture: &Path) -> Vec<String> {
        let replay = format!("engine.replay.capture_file={}", capture.display());
        self.args(&["-o", "engine.kind=replay", "-o", &replay])
    }

    fn start(&self, args: &[String]) -> Daemon {
        Daemon::start(&self.dir, args)
    }

    /// A live daemon, once `/healthz` answers 200; and its base URL.
    fn start_live(&self, extra: &[&str]) -> (Daemon, String) {
        let d = self.start(&self.live_args(extra));
        let base = format!("http://127.0.0.1:{}", d.web_port());
        let healthz = format!("{base}/healthz");
        assert!(
            common::wait_for(10, || curl(&[&healthz]).status == 200),
            "never healthy: {:?}\nstderr:\n{}",
            curl(&[&healthz]).body,
            d.stderr()
        );
        (d, base)
    }
}

struct Daemon {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(dir: &Path, args: &[String]) -> Daemon {
        let stdout = dir.join("falco.stdout");
        let stderr = dir.join("falco.stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_falco"))
            .args(args)
            .args([
                "-o",
                "log_stderr=true",
                "-o",
                "log_syslog=false",
                "-o",
                "log_level=debug",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn wait_stderr(&self, needle: &str, secs: u64) {
        assert!(
            common::wait_for(secs, || self.stderr().contains(needle)),
            "no {needle:?} in stderr:\n{}",
            self.stderr()
        );
    }

    /// The port from "Starting internal webserver, listening on port N".
    fn web_port(&self) -> u16 {
        const LINE: &str = "Starting internal webserver, listening on port ";
        self.wait_stderr(LINE, 20);
        let text = self.stderr();
        let at = text.find(LINE).unwrap() + LINE.len();
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill on the pid of our own unreaped child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn wait_exit(&mut self, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "falco did not exit; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then a clean exit (status 0) within `secs`.
    fn terminate(&mut self, secs: u64) {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(secs);
        assert_eq!(status.code(), Some(0), "stderr:\n{}", self.stderr());
    }
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn webserver_answers_on_a_live_source_and_sigterm_exits_cleanly() {
    let setup = Setup::new("daemon-web", "stdout_output:\n  enabled: true\n");
    let (mut d, base) = setup.start_live(&[]);
    let healthz = format!("{base}/healthz");
    let r = curl(&[&healthz]);
    assert_eq!((r.status, r.body.as_str()), (200, "{\"status\": \"ok\"}"));
    let r = curl(&[&format!("{base}/versions")]);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["engine_version"], "43");
    let r = curl(&[&format!("{base}/metrics")]);
    assert_eq!(r.status, 200);
    let metrics = r.body;
    let (clean, promtool_says) = promtool(&metrics);
    assert!(clean, "promtool: {promtool_says}");
    for line in [
        "falcosecurity_scap_engine_name_info{engine_name=\"nodriver\"} 1".to_string(),
        format!(
            "falcosecurity_falco_sha256_rules_files_info{{file_name=\"rules.yaml\",sha256=\"{}\"}} 1",
            sha256_hex(&setup.rules)
        ),
        "falcosecurity_falco_healthy 1".to_string(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line} in\n{metrics}");
    }
    assert_eq!(curl(&["-X", "POST", &healthz]).status, 405);
    assert_eq!(curl(&[&format!("{base}/nope")]).status, 404);

    d.terminate(15);
    assert!(d.stdout().contains("Events detected: 0"), "{}", d.stdout());
    // The webserver is gone with the daemon.
    assert_eq!(curl(&[&healthz]).status, 0);
}

/// falco.yaml with only a JSON file output to `events` (reloads watched by SIGHUP only).
fn file_output_yaml(events: &Path, keep_alive: bool) -> String {
    format!(
        "watch_config_files: false\njson_output: true\nstdout_output:\n  enabled: false\n\
         file_output:\n  enabled: true\n  keep_alive: {keep_alive}\n  filename: {}\n",
        events.display()
    )
}

#[test]
fn sighup_swaps_in_good_rules_and_refuses_broken_ones_without_stopping() {
    let setup = Setup::new("daemon-reload", "");
    let events = setup.dir.join("events.json");
    setup.write_config(&file_output_yaml(&events, false));
    let (mut d, base) = setup.start_live(&[]);

    // Good new rules: the running daemon switches to them.
    setup.write_rules(&format!(
        "{RULES}\n- rule: Second\n  desc: d\n  condition: evt.type=close\n  output: c\n  priority: INFO\n"
    ));
    let new_sha = sha256_hex(&setup.rules);
    d.signal(libc::SIGHUP);
    d.wait_stderr("SIGHUP received, restarting...", 10);
    assert!(
        metrics_have(&base, &format!("sha256=\"{new_sha}\"")),
        "new rules not in effect"
    );
    assert!(metrics_have(&base, "falcosecurity_falco_reloads_total 1"));

    // Broken rules: refused, Critical internal alert, still running and healthy.
    setup.write_rules(BROKEN_RULES);
    d.signal(libc::SIGHUP);
    assert!(
        common::wait_for(15, || std::fs::read_to_string(&events)
            .unwrap_or_default()
            .contains("Falco internal: hot restart failure")),
        "no reload failure alert; stderr:\n{}",
        d.stderr()
    );
    let text = std::fs::read_to_string(&events).unwrap();
    let alert: serde_json::Value = serde_json::from_str(
        text.lines()
            .find(|l| l.contains("hot restart failure"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(alert["priority"], "Critical");
    assert_eq!(alert["source"], "internal");
    assert!(d.alive());
    let base = format!("http://127.0.0.1:{}", d.web_port());
    assert_eq!(curl(&[&format!("{base}/healthz")]).status, 200);
    let metrics = curl(&[&format!("{base}/metrics")]).body;
    assert!(metrics.contains("falcosecurity_falco_reload_failures_total 1"));
    assert!(
        metrics.contains(&format!("sha256=\"{new_sha}\"")),
        "kept the good rules"
    );

    // A new configuration moves the file output; the next internal alert lands in the new file.
    let moved = setup.dir.join("moved.json");
    setup.write_config(&file_output_yaml(&moved, true));
    setup.write_rules(RULES);
    d.signal(libc::SIGHUP);
    assert!(metrics_have(&base, "falcosecurity_falco_reloads_total 2"));
    assert!(metrics_have(
        &base,
        &format!(
            "file_name=\"falco.yaml\",sha256=\"{}\"",
            sha256_hex(&setup.cfg)
        )
    ));
    setup.write_rules(BROKEN_RULES);
    d.signal(libc::SIGHUP);
    assert!(
        common::wait_for(15, || std::fs::read_to_string(&moved)
            .unwrap_or_default()
            .contains("hot restart failure")),
        "the alert did not reach the reconfigured output; stderr:\n{}",
        d.stderr()
    );
    let old_alerts = std::fs::read_to_string(&events).unwrap();
    assert_eq!(
        old_alerts
            .matches("\"rule\":\"Falco internal: hot restart failure\"")
            .count(),
        1,
        "{old_alerts}\nstderr:\n{}",
        d.stderr()
    );

    d.terminate(15);
}

/// Polls `/metrics` until it contains `needle`.
fn metrics_have(base: &str, needle: &str) -> bool {
    common::wait_for(10, || {
        curl(&[&format!("{base}/metrics")]).body.contains(needle)
    })
}

fn events_detected(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Events detected: "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"))
        .trim()
        .parse()
        .unwrap()
}

/// Every line of every `events.json*` file in `dir` is one valid JSON alert; returns the count.
fn count_alert_lines(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("events.json")
        {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: bad line {line:?}: {e}", p.display()));
            assert_eq!(v["rule"], "Read or write");
            n += 1;
        }
    }
    n
}

/// A replay of a large capture into a kept-open JSON file output in `out/`, started; the daemon
/// has written its first alert. Returns the setup, the daemon and the output directory.
fn start_big_replay(tag: &str) -> (Setup, Daemon, PathBuf) {
    let setup = Setup::new(tag, "");
    let out_dir = setup.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let events = out_dir.join("events.json");
    setup.write_config(&file_output_yaml(&events, true));
    let capture = common::big_capture(&setup.dir, 400_000);
    let d = setup.start(&setup.replay_args(&capture));
    assert!(
        common::wait_for(20, || std::fs::metadata(&events).is_ok_and(|m| m.len() > 0)),
        "no alerts written; stderr:\n{}",
        d.stderr()
    );
    (setup, d, out_dir)
}

#[test]
fn a_thousand_sigusr1_during_rotation_lose_and_duplicate_nothing() {
    let (_setup, mut d, out_dir) = start_big_replay("daemon-usr1");
    let events = out_dir.join("events.json");
    let mut rotated = 0;
    for i in 0..1000 {
        if i % 250 == 0 && d.alive() {
            // What logrotate does: rename, then SIGUSR1.
            if std::fs::rename(&events, out_dir.join(format!("events.json.{i}"))).is_ok() {
                rotated += 1;
            }
        }
        d.signal(libc::SIGUSR1);
    }
    let st = d.wait_exit(120);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", d.stderr());
    assert!(
        rotated > 0,
        "the replay ended before the burst; make the capture bigger"
    );
    assert!(d
        .stderr()
        .contains("SIGUSR1 received, reopening outputs..."));
    let detected = events_detected(&d.stdout());
    assert!(detected > 10_000, "{detected}");
    assert_eq!(
        count_alert_lines(&out_dir),
        detected,
        "every alert exactly once"
    );
}

#[test]
fn sigterm_drains_the_queue_before_exiting() {
    let (_setup, mut d, out_dir) = start_big_replay("daemon-term");
    d.terminate(60);
    assert!(
        d.stderr().contains("SIGINT received, exiting..."),
        "the replay ended before SIGTERM; make the capture bigger"
    );
    let detected = events_detected(&d.stdout());
    assert!(detected > 0);
    assert_eq!(
        count_alert_lines(&out_dir),
        detected,
        "alerts matched before SIGTERM are all delivered"
    );
}

/// A run that ends on its own (or is refused), with its exit code and both streams.
fn run_to_end(args: &[String]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .args(args)
        .args(["-o", "log_stderr=true", "-o", "log_syslog=false"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_invalid_value_names_the_key_and_nothing_starts() {
    let setup = Setup::new("daemon-badcfg", "");
    let pidfile = setup.dir.join("falco.pid");
    let events = setup.dir.join("events.txt");
    let p = pidfile.display().to_string();
    for (yaml, key) in [
        (
            "outputs_queue:\n  capacity: -3\n",
            "'outputs_queue.capacity'",
        ),
        (
            "webserver:\n  listen_port: 99999\n",
            "'webserver.listen_port'",
        ),
        ("json_output: maybe\n", "'json_output'"),
    ] {
        setup.write_config(&format!(
            "{yaml}stdout_output:\n  enabled: true\nfile_output:\n  enabled: true\n  \
             filename: {}\n",
            events.display()
        ));
        let (code, _, stderr) = run_to_end(&setup.args(&[
            "--pidfile",
            &p,
            "-o",
            "engine.kind=nodriver",
            "-o",
            "webserver.enabled=true",
        ]));
        assert_eq!(code, Some(1), "{yaml:?}: {stderr}");
        assert!(stderr.contains(key), "{yaml:?} should name {key}: {stderr}");
        assert!(!stderr.contains("Loading rules"), "{stderr}");
        assert!(!stderr.contains("Starting internal webserver"), "{stderr}");
        assert!(!pidfile.exists(), "pid file written by a refused start");
        assert!(!events.exists(), "an output opened");
    }
    // Rules that do not compile also stop the start before anything runs.
    setup.write_config("stdout_output:\n  enabled: true\n");
    setup.write_rules(BROKEN_RULES);
    let (code, _, stderr) =
        run_to_end(&setup.args(&["--pidfile", &p, "-o", "engine.kind=nodriver"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!pidfile.exists());
}

#[test]
fn dry_run_loads_everything_and_runs_nothing() {
    let setup = Setup::new("daemon-dry", "stdout_output:\n  enabled: true\n");
    let pidfile = setup.dir.join("falco.pid");
    let args = setup.live_args(&["--dry-run", "--pidfile", &pidfile.display().to_string()]);
    let (code, stdout, stderr) = run_to_end(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Loading rules from file {}",
            setup.rules.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("   {}", setup.cfg.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("Starting internal webserver"), "{stderr}");
    assert!(!stderr.contains("Opening 'syscall' source"), "{stderr}");
    assert!(!stdout.contains("Events detected"), "{stdout}");
    assert!(!pidfile.exists());

    // A dry run is a check: broken rules fail it.
    setup.write_rules(BROKEN_RULES);
    let (code, _, stderr) = run_to_end(&args);
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn pidfile_lives_as_long_as_the_daemon_and_sigint_or_duration_end_it() {
    let setup = Setup::new("daemon-pid", "stdout_output:\n  enabled: true\n");
    let pidfile = setup.dir.join("run/falco.pid");
    std::fs::create_dir_all(pidfile.parent().unwrap()).unwrap();
    let p = pidfile.display().to_string();
    let mut d = setup.start(&setup.live_args(&["--pidfile", &p]));
    d.web_port();
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", d.child.id())
    );
    d.signal(libc::SIGINT);
    assert_eq!(d.wait_exit(15).code(), Some(0), "{}", d.stderr());
    assert!(d.stderr().contains("SIGINT received, exiting..."));
    assert!(d.stdout().contains("Events detected: 0"), "{}", d.stdout());
    assert!(!pidfile.exists(), "pid file left behind");

    // -M on a live source is wall-clock time.
    let started = Instant::now();
    let mut d = setup.start(&setup.live_args(&["--pidfile", &p, "-M", "1"]));
    assert_eq!(d.wait_exit(20).code(), Some(0), "{}", d.stderr());
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "stopped after {took:?}");
    assert!(d.stdout().contains("Events detected: 0"), "{}", d.stdout());
    assert!(!pidfile.exists());
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// falco.yaml with only a kept-alive program output running `program`, and a short
/// output_timeout.
fn program_output_yaml(program: &str, extra: &str) -> String {
    format!(
        "watch_config_files: false\njson_output: true\nstdout_output:\n  enabled: false\n\
         output_timeout: 300\n{extra}program_output:\n  enabled: true\n  keep_alive: true\n  \
         program: {program}\n"
    )
}

#[test]
fn a_program_that_stops_reading_costs_counted_drops_not_a_hang() {
    let setup = Setup::new("daemon-wedge", "");
    let child_pid = setup.dir.join("program.pid");
    // The program never reads its stdin: once the pipe is full every write blocks.
    setup.write_config(&program_output_yaml(
        &format!("echo $$ > {}; exec sleep 1000", child_pid.display()),
        "outputs_queue:\n  capacity: 10\n",
    ));
    let capture = common::big_capture(&setup.dir, 100_000);
    let mut d = setup.start(&setup.replay_args(&capture));
    let status = d.wait_exit(60);
    assert_eq!(status.code(), Some(0), "{}", d.stderr());
    let pid = read_pid(&child_pid).expect("the program wrote its pid");
    assert!(
        common::wait_for(5, || !process_alive(pid)),
        "the program {pid} outlived the daemon"
    );
    let stderr = d.stderr();
    for needle in [
        "Outputs queue out of memory. Drop event and continue on ...",
        "\"program\" output timeout, all output channels are blocked",
        "\"program\" output blocked for ",
        "queued alerts",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in\n{stderr}");
    }
    assert!(events_detected(&d.stdout()) > 1000);
}

#[test]
fn a_program_that_stops_reading_turns_healthz_503_and_is_killed_at_exit() {
    let setup = Setup::new("daemon-wedged-health", "");
    // The reader shrinks its pipe to one page, so a few alerts fill it, and never reads. `sh -c`
    // runs it in the background on its own stdin (fd 3: a background job's fd 0 is /dev/null)
    // and waits: killing only the shell would leave it running.
    let reader = setup.dir.join("reader.py");
    std::fs::write(
        &reader,
        "import fcntl, time\nfcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ\ntime.sleep(1000)\n",
    )
    .unwrap();
    let (sh_pid, reader_pid) = (setup.dir.join("sh.pid"), setup.dir.join("reader.pid"));
    setup.write_config(&program_output_yaml(
        &format!(
            "echo $$ > {}; exec 3<&0; python3 {} <&3 & echo $! > {}; wait",
            sh_pid.display(),
            reader.display(),
            reader_pid.display()
        ),
        "",
    ));
    let (mut d, base) = setup.start_live(&[]);
    let healthz = format!("{base}/healthz");

    // Every refused reload raises an internal alert for the program; soon its pipe is full.
    setup.write_rules(BROKEN_RULES);
    let deadline = Instant::now() + Duration::from_secs(30);
    let reply = loop {
        d.signal(libc::SIGHUP);
        std::thread::sleep(Duration::from_millis(50));
        let reply = curl(&[&healthz]);
        if reply.status != 200 || Instant::now() > deadline {
            break reply;
        }
    };
    assert_eq!(reply.status, 503, "{}\nstderr:\n{}", reply.body, d.stderr());
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["status"], "error");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("\"program\" output blocked for ") && reason.contains("300 ms"),
        "{reason}"
    );
    d.wait_stderr(
        "\"program\" output timeout, all output channels are blocked",
        10,
    );

    // The shutdown gives up on the program after output_timeout + 2 s and kills its group.
    let (shell, child) = (read_pid(&sh_pid).unwrap(), read_pid(&reader_pid).unwrap());
    assert!(process_alive(shell) && process_alive(child));
    d.terminate(20);
    d.wait_stderr("killed the program output's process group", 1);
    assert!(
        common::wait_for(5, || !process_alive(shell) && !process_alive(child)),
        "the program ({shell}) or its child ({child}) outlived the daemon"
    );
}
