//! The `falco` binary as a service: the webserver on a live (nodriver) source, reloads on SIGHUP
//! (good and broken rules), SIGUSR1 bursts while the file output is rotated, and SIGTERM draining
//! the outputs — each checked from outside, with curl, promtool and the files the daemon writes.

mod common;

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
    fn start(dir: &Path, args: &[&str]) -> Daemon {
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
}

/// (status, body) of `curl -X method url`.
fn curl(method: &str, url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
            url,
        ])
        .output()
        .expect("curl must be installed (scripts/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn promtool_clean(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/setup.sh)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn live_args<'a>(cfg: &'a str, rules: &'a str) -> Vec<&'a str> {
    vec![
        "-c",
        cfg,
        "-r",
        rules,
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
    ]
}

#[test]
fn webserver_answers_on_a_live_source_and_sigterm_exits_cleanly() {
    let dir = common::temp_dir("daemon-web");
    let cfg = dir.join("falco.yaml");
    std::fs::write(&cfg, "stdout_output:\n  enabled: true\n").unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let (c, r) = (cfg.display().to_string(), rules.display().to_string());
    let mut d = Daemon::start(&dir, &live_args(&c, &r));
    let port = d.web_port();
    let base = format!("http://127.0.0.1:{port}");
    assert!(common::wait_for(10, || curl(
        "GET",
        &format!("{base}/healthz")
    )
    .0 == 200));
    assert_eq!(
        curl("GET", &format!("{base}/healthz")),
        (200, "{\"status\": \"ok\"}".to_string())
    );
    let (code, versions) = curl("GET", &format!("{base}/versions"));
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(v["engine_version"], "43");
    let (code, metrics) = curl("GET", &format!("{base}/metrics"));
    assert_eq!(code, 200);
    promtool_clean(&metrics);
    for line in [
        "falcosecurity_scap_engine_name_info{engine_name=\"nodriver\"} 1".to_string(),
        format!(
            "falcosecurity_falco_sha256_rules_files_info{{file_name=\"rules.yaml\",sha256=\"{}\"}} 1",
            sha256_hex(&rules)
        ),
        "falcosecurity_falco_healthy 1".to_string(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line} in\n{metrics}");
    }
    assert_eq!(curl("POST", &format!("{base}/healthz")).0, 405);
    assert_eq!(curl("GET", &format!("{base}/nope")).0, 404);

    d.signal(libc::SIGTERM);
    let st = d.wait_exit(15);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", d.stderr());
    assert!(d.stdout().contains("Events detected: 0"), "{}", d.stdout());
    // The webserver is gone with the daemon.
    assert_eq!(curl("GET", &format!("{base}/healthz")).0, 0);
}

#[test]
fn sighup_swaps_in_good_rules_and_refuses_broken_ones_without_stopping() {
    let dir = common::temp_dir("daemon-reload");
    let cfg = dir.join("falco.yaml");
    let events = dir.join("events.json");
    std::fs::write(
        &cfg,
        format!(
            "watch_config_files: false\njson_output: true\nstdout_output:\n  enabled: false\n\
             file_output:\n  enabled: true\n  keep_alive: false\n  filename: {}\n",
            events.display()
        ),
    )
    .unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let (c, r) = (cfg.display().to_string(), rules.display().to_string());
    let mut d = Daemon::start(&dir, &live_args(&c, &r));
    let base = format!("http://127.0.0.1:{}", d.web_port());
    assert!(common::wait_for(10, || curl(
        "GET",
        &format!("{base}/healthz")
    )
    .0 == 200));

    // Good new rules: the running daemon switches to them.
    std::fs::write(
        &rules,
        format!("{RULES}\n- rule: Second\n  desc: d\n  condition: evt.type=close\n  output: c\n  priority: INFO\n"),
    )
    .unwrap();
    let new_sha = sha256_hex(&rules);
    d.signal(libc::SIGHUP);
    d.wait_stderr("SIGHUP received, restarting...", 10);
    assert!(
        metrics_have(&base, &format!("sha256=\"{new_sha}\"")),
        "new rules not in effect"
    );
    assert!(metrics_have(&base, "falcosecurity_falco_reloads_total 1"));

    // Broken rules: refused, Critical internal alert, still running and healthy.
    std::fs::write(&rules, "- rule: Broken\n  condition: evt.type in (\n").unwrap();
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
    assert_eq!(curl("GET", &format!("{base}/healthz")).0, 200);
    let (_, metrics) = curl("GET", &format!("{base}/metrics"));
    assert!(metrics.contains("falcosecurity_falco_reload_failures_total 1"));
    assert!(
        metrics.contains(&format!("sha256=\"{new_sha}\"")),
        "kept the good rules"
    );

    // A new configuration moves the file output; the next internal alert lands in the new file.
    let moved = dir.join("moved.json");
    std::fs::write(
        &cfg,
        format!(
            "watch_config_files: false\njson_output: true\nstdout_output:\n  enabled: false\n\
             file_output:\n  enabled: true\n  keep_alive: true\n  filename: {}\n",
            moved.display()
        ),
    )
    .unwrap();
    std::fs::write(&rules, RULES).unwrap();
    d.signal(libc::SIGHUP);
    assert!(metrics_have(&base, "falcosecurity_falco_reloads_total 2"));
    assert!(metrics_have(
        &base,
        &format!("file_name=\"falco.yaml\",sha256=\"{}\"", sha256_hex(&cfg))
    ));
    std::fs::write(&rules, "- rule: Broken again\n  condition: (\n").unwrap();
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

    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(15).code(), Some(0));
}

/// Polls `/metrics` until it contains `needle`.
fn metrics_have(base: &str, needle: &str) -> bool {
    common::wait_for(10, || {
        curl("GET", &format!("{base}/metrics")).1.contains(needle)
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

fn replay_args(dir: &Path, capture: &Path) -> (PathBuf, Vec<String>) {
    let cfg = dir.join("falco.yaml");
    std::fs::write(
        &cfg,
        format!(
            "json_output: true\nstdout_output:\n  enabled: false\n\
             file_output:\n  enabled: true\n  keep_alive: true\n  filename: {}\n",
            dir.join("events.json").display()
        ),
    )
    .unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let args = vec![
        "-c".to_string(),
        cfg.display().to_string(),
        "-r".into(),
        rules.display().to_string(),
        "-o".into(),
        "engine.kind=replay".into(),
        "-o".into(),
        format!("engine.replay.capture_file={}", capture.display()),
    ];
    (cfg, args)
}

#[test]
fn a_thousand_sigusr1_during_rotation_lose_and_duplicate_nothing() {
    let dir = common::temp_dir("daemon-usr1");
    let capture = common::big_capture(&dir, 400_000);
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (_cfg, args) = replay_args(&out_dir, &capture);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut d = Daemon::start(&dir, &args);
    let events = out_dir.join("events.json");
    assert!(
        common::wait_for(20, || std::fs::metadata(&events).is_ok_and(|m| m.len() > 0)),
        "no alerts written; stderr:\n{}",
        d.stderr()
    );
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
    let dir = common::temp_dir("daemon-term");
    let capture = common::big_capture(&dir, 400_000);
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (_cfg, args) = replay_args(&out_dir, &capture);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut d = Daemon::start(&dir, &args);
    let events = out_dir.join("events.json");
    assert!(common::wait_for(20, || std::fs::metadata(&events).is_ok_and(|m| m.len() > 0)));
    d.signal(libc::SIGTERM);
    let st = d.wait_exit(60);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", d.stderr());
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
fn run_to_end(args: &[&str]) -> (Option<i32>, String, String) {
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
    let dir = common::temp_dir("daemon-badcfg");
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let pidfile = dir.join("falco.pid");
    let cfg = dir.join("falco.yaml");
    let r = rules.display().to_string();
    let p = pidfile.display().to_string();
    let c = cfg.display().to_string();
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
        std::fs::write(
            &cfg,
            format!(
                "{yaml}stdout_output:\n  enabled: true\nfile_output:\n  enabled: true\n  \
                 filename: {}\n",
                dir.join("events.txt").display()
            ),
        )
        .unwrap();
        let (code, _, stderr) = run_to_end(&[
            "-c",
            &c,
            "-r",
            &r,
            "--pidfile",
            &p,
            "-o",
            "engine.kind=nodriver",
            "-o",
            "webserver.enabled=true",
        ]);
        assert_eq!(code, Some(1), "{yaml:?}: {stderr}");
        assert!(stderr.contains(key), "{yaml:?} should name {key}: {stderr}");
        assert!(!stderr.contains("Loading rules"), "{stderr}");
        assert!(!stderr.contains("Starting internal webserver"), "{stderr}");
        assert!(!pidfile.exists(), "pid file written by a refused start");
        assert!(!dir.join("events.txt").exists(), "an output opened");
    }
    // Rules that do not compile also stop the start before anything runs.
    std::fs::write(&cfg, "stdout_output:\n  enabled: true\n").unwrap();
    std::fs::write(&rules, "- rule: r\n  desc: d\n  condition: evt.type in (\n").unwrap();
    let (code, _, stderr) = run_to_end(&[
        "-c",
        &c,
        "-r",
        &r,
        "--pidfile",
        &p,
        "-o",
        "engine.kind=nodriver",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!pidfile.exists());
}

#[test]
fn dry_run_loads_everything_and_runs_nothing() {
    let dir = common::temp_dir("daemon-dry");
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let cfg = dir.join("falco.yaml");
    std::fs::write(&cfg, "stdout_output:\n  enabled: true\n").unwrap();
    let pidfile = dir.join("falco.pid");
    let (c, r, p) = (
        cfg.display().to_string(),
        rules.display().to_string(),
        pidfile.display().to_string(),
    );
    let mut args = live_args(&c, &r);
    args.extend(["--dry-run", "--pidfile", &p]);
    let (code, stdout, stderr) = run_to_end(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Loading rules from file {r}")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("   {c}")), "{stderr}");
    assert!(!stderr.contains("Starting internal webserver"), "{stderr}");
    assert!(!stderr.contains("Opening 'syscall' source"), "{stderr}");
    assert!(!stdout.contains("Events detected"), "{stdout}");
    assert!(!pidfile.exists());

    // A dry run is a check: broken rules fail it.
    std::fs::write(&rules, "- rule: r\n  desc: d\n  condition: evt.type in (\n").unwrap();
    let (code, _, stderr) = run_to_end(&args);
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn pidfile_lives_as_long_as_the_daemon_and_sigint_or_duration_end_it() {
    let dir = common::temp_dir("daemon-pid");
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let cfg = dir.join("falco.yaml");
    std::fs::write(&cfg, "stdout_output:\n  enabled: true\n").unwrap();
    let pidfile = dir.join("run/falco.pid");
    std::fs::create_dir_all(pidfile.parent().unwrap()).unwrap();
    let (c, r, p) = (
        cfg.display().to_string(),
        rules.display().to_string(),
        pidfile.display().to_string(),
    );
    let mut args = live_args(&c, &r);
    args.extend(["--pidfile", &p]);
    let mut d = Daemon::start(&dir, &args);
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
    args.extend(["-M", "1"]);
    let started = Instant::now();
    let mut d = Daemon::start(&dir, &args);
    assert_eq!(d.wait_exit(20).code(), Some(0), "{}", d.stderr());
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "stopped after {took:?}");
    assert!(d.stdout().contains("Events detected: 0"), "{}", d.stdout());
    assert!(!pidfile.exists());
}

#[test]
fn a_program_that_stops_reading_costs_counted_drops_not_a_hang() {
    let dir = common::temp_dir("daemon-wedge");
    let capture = common::big_capture(&dir, 100_000);
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let child_pid = dir.join("program.pid");
    let cfg = dir.join("falco.yaml");
    // The program never reads its stdin: once the pipe is full every write blocks.
    std::fs::write(
        &cfg,
        format!(
            "json_output: true\nstdout_output:\n  enabled: false\noutputs_queue:\n  capacity: 10\n\
             output_timeout: 300\nprogram_output:\n  enabled: true\n  keep_alive: true\n  \
             program: echo $$ > {}; exec sleep 1000\n",
            child_pid.display()
        ),
    )
    .unwrap();
    let args: Vec<String> = vec![
        "-c".into(),
        cfg.display().to_string(),
        "-r".into(),
        rules.display().to_string(),
        "-o".into(),
        "engine.kind=replay".into(),
        "-o".into(),
        format!("engine.replay.capture_file={}", capture.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut d = Daemon::start(&dir, &args);
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

/// Whether `pid` is still a live process (a zombie waiting for its reaper counts as gone).
fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn a_program_that_stops_reading_turns_healthz_503_and_is_killed_at_exit() {
    let dir = common::temp_dir("daemon-wedged-health");
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    // The reader shrinks its pipe to one page, so a few alerts fill it, and never reads. `sh -c`
    // runs it in the background on its own stdin (fd 3: a background job's fd 0 is /dev/null)
    // and waits: killing only the shell would leave it running.
    let reader = dir.join("reader.py");
    std::fs::write(
        &reader,
        "import fcntl, time\nfcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ\ntime.sleep(1000)\n",
    )
    .unwrap();
    let (sh_pid, reader_pid) = (dir.join("sh.pid"), dir.join("reader.pid"));
    let cfg = dir.join("falco.yaml");
    std::fs::write(
        &cfg,
        format!(
            "watch_config_files: false\njson_output: true\nstdout_output:\n  enabled: false\n\
             output_timeout: 300\nprogram_output:\n  enabled: true\n  keep_alive: true\n  \
             program: echo $$ > {}; exec 3<&0; python3 {} <&3 & echo $! > {}; wait\n",
            sh_pid.display(),
            reader.display(),
            reader_pid.display()
        ),
    )
    .unwrap();
    let (c, r) = (cfg.display().to_string(), rules.display().to_string());
    let mut d = Daemon::start(&dir, &live_args(&c, &r));
    let healthz = format!("http://127.0.0.1:{}/healthz", d.web_port());
    assert!(
        common::wait_for(10, || curl("GET", &healthz).0 == 200),
        "never healthy: {:?}",
        curl("GET", &healthz)
    );

    // Every refused reload raises an internal alert for the program; soon its pipe is full.
    std::fs::write(&rules, "- rule: Broken\n  condition: evt.type in (\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (code, body) = loop {
        d.signal(libc::SIGHUP);
        std::thread::sleep(Duration::from_millis(50));
        let reply = curl("GET", &healthz);
        if reply.0 != 200 || Instant::now() > deadline {
            break reply;
        }
    };
    assert_eq!(code, 503, "{body}\nstderr:\n{}", d.stderr());
    let reason: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reason["status"], "error");
    let reason = reason["reason"].as_str().unwrap();
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
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(20).code(), Some(0), "{}", d.stderr());
    d.wait_stderr("killed the program output's process group", 1);
    assert!(
        common::wait_for(5, || !process_alive(shell) && !process_alive(child)),
        "the program ({shell}) or its child ({child}) outlived the daemon"
    );
}
