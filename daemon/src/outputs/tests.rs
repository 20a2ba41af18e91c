use super::*;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falco-outputs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn settings() -> OutputsSettings {
    OutputsSettings {
        buffered: true,
        ..OutputsSettings::default()
    }
}

fn alert(n: usize) -> Alert {
    Alert::new(
        1_700_000_000_000_000_000 + n as u64,
        Priority::Warning,
        Arc::from("Test rule"),
        Arc::from("syscall"),
        Arc::from(vec!["T1059".to_string(), "container".to_string()]),
        format!("12:00:00.000000000: Warning test alert n={n}"),
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn expect_numbered(lines: &[String], n: usize) {
    assert_eq!(lines.len(), n, "line count");
    for (i, l) in lines.iter().enumerate() {
        assert!(l.ends_with(&format!(" n={i}")), "line {i}: {l}");
    }
}

fn file_settings(path: &Path, keep_alive: bool, buffered: bool) -> OutputsSettings {
    OutputsSettings {
        buffered,
        file: Some(crate::config::FileOutputConfig {
            enabled: true,
            keep_alive,
            filename: path.to_path_buf(),
        }),
        ..settings()
    }
}

#[test]
fn file_output_every_mode_writes_each_alert_once_in_order() {
    let dir = temp_dir("file");
    for (keep_alive, buffered) in [(false, false), (false, true), (true, false), (true, true)] {
        let path = dir.join(format!("events-{keep_alive}-{buffered}.txt"));
        let out = Outputs::start(&file_settings(&path, keep_alive, buffered), None).unwrap();
        let h = out.handle();
        for i in 0..500 {
            assert!(h.send(alert(i)));
        }
        let stats = out.stats();
        out.shutdown();
        expect_numbered(&lines(&path), 500);
        assert_eq!(OutputStats::get(&stats.delivered, ChannelKind::File), 500);
        assert_eq!(stats.queue_depth(), 0);
        let events = stats.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1, 500);
        assert_eq!(events[0].0.tags, ",T1059,container,");
    }
}

#[test]
fn buffered_file_output_is_flushed_without_more_alerts_or_a_shutdown() {
    let dir = temp_dir("idleflush");
    let path = dir.join("events.txt");
    let out = Outputs::start(&file_settings(&path, true, true), None).unwrap();
    out.handle().send(alert(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    while lines(&path).is_empty() {
        assert!(Instant::now() < deadline, "alert never reached the file");
        std::thread::sleep(Duration::from_millis(10));
    }
    out.shutdown();
}

#[test]
fn reopen_follows_a_renamed_file() {
    let dir = temp_dir("reopen");
    let path = dir.join("events.txt");
    let out = Outputs::start(&file_settings(&path, true, true), None).unwrap();
    let h = out.handle();
    for i in 0..100 {
        h.send(alert(i));
    }
    while out.stats().queue_depth() > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::rename(&path, dir.join("events.txt.1")).unwrap();
    out.reopen();
    while out.stats().reopens.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 100..200 {
        h.send(alert(i));
    }
    out.shutdown();
    let mut all = lines(&dir.join("events.txt.1"));
    assert_eq!(all.len(), 100);
    all.extend(lines(&path));
    expect_numbered(&all, 200);
}

#[test]
fn unwritable_file_is_counted_and_does_not_stop_other_channels() {
    let dir = temp_dir("unwritable");
    let good = dir.join("good.txt");
    let stats = Arc::new(OutputStats::default());
    let channels: Vec<(ChannelKind, Box<dyn Channel>)> = vec![
        (
            ChannelKind::File,
            Box::new(file::FileChannel::new(
                Path::new("/nonexistent-falco-dir/sub/events.txt"),
                true,
                true,
                stats.clone(),
            )),
        ),
        (
            ChannelKind::Program,
            Box::new(program::ProgramChannel::new(
                &format!("cat >> {}", good.display()),
                true,
                true,
                stats.clone(),
            )),
        ),
    ];
    let out = Outputs::start_with_channels(&settings(), channels, stats.clone()).unwrap();
    for i in 0..50 {
        out.handle().send(alert(i));
    }
    out.shutdown();
    assert_eq!(OutputStats::get(&stats.failed, ChannelKind::File), 50);
    assert_eq!(OutputStats::get(&stats.delivered, ChannelKind::Program), 50);
    expect_numbered(&lines(&good), 50);
}

/// A channel that blocks until released, to fill the queue and trip the watchdog.
struct Gate {
    open: Arc<(Mutex<bool>, Condvar)>,
}

impl Channel for Gate {
    fn emit(&mut self, _a: &Alert, _l: &str) -> io::Result<()> {
        let (m, c) = &*self.open;
        let mut open = m.lock().unwrap();
        while !*open {
            open = c.wait(open).unwrap();
        }
        Ok(())
    }
}

#[test]
fn full_queue_drops_are_counted_and_a_stuck_channel_is_reported_wedged() {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let stats = Arc::new(OutputStats::default());
    let s = OutputsSettings {
        queue_capacity: 4,
        output_timeout: Duration::from_millis(50),
        ..settings()
    };
    let channels: Vec<(ChannelKind, Box<dyn Channel>)> =
        vec![(ChannelKind::Program, Box::new(Gate { open: gate.clone() }))];
    let out = Outputs::start_with_channels(&s, channels, stats.clone()).unwrap();
    let h = out.handle();
    let started = Instant::now();
    let mut accepted = 0;
    for i in 0..100 {
        if h.send(alert(i)) {
            accepted += 1;
        }
    }
    // The hot path never waited on the blocked channel.
    assert!(started.elapsed() < Duration::from_secs(1));
    let drops = stats.queue_drops.load(Ordering::Relaxed);
    assert_eq!(accepted + drops, 100);
    assert!((4..=5).contains(&accepted), "accepted {accepted}");
    std::thread::sleep(Duration::from_millis(150));
    let (kind, ms) = stats.wedged(50).expect("worker should be reported stuck");
    assert_eq!(kind, ChannelKind::Program);
    assert!(ms > 50);
    {
        let (m, c) = &*gate;
        *m.lock().unwrap() = true;
        c.notify_all();
    }
    out.shutdown();
    assert_eq!(stats.processed.load(Ordering::Relaxed), accepted);
    assert!(stats.wedged(50).is_none());
    // After shutdown, sending is a counted drop, not a panic.
    assert!(!h.send(alert(0)));
    assert_eq!(stats.queue_drops.load(Ordering::Relaxed), drops + 1);
}

/// Accepts alerts but blocks in `flush` until released: a buffered channel whose pipe is full.
struct FlushGate {
    open: Arc<(Mutex<bool>, Condvar)>,
}

impl Channel for FlushGate {
    fn emit(&mut self, _a: &Alert, _l: &str) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Gate {
            open: self.open.clone(),
        }
        .emit(&alert(0), "")
    }
}

#[test]
fn a_channel_stuck_in_flush_is_wedged_and_does_not_hold_up_the_shutdown() {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let stats = Arc::new(OutputStats::default());
    let s = OutputsSettings {
        output_timeout: Duration::from_millis(100),
        ..settings()
    };
    let channels: Vec<(ChannelKind, Box<dyn Channel>)> = vec![(
        ChannelKind::Program,
        Box::new(FlushGate { open: gate.clone() }),
    )];
    let out = Outputs::start_with_channels(&s, channels, stats.clone()).unwrap();
    let h = out.handle();
    h.send(alert(0));
    // The flush delay passes, so the worker flushes, and stays there.
    assert!(wait_until(|| stats.wedged(100).is_some()));
    assert_eq!(stats.wedged(100).unwrap().0, ChannelKind::Program);
    for i in 1..=7 {
        h.send(alert(i));
    }
    let started = Instant::now();
    out.shutdown();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_millis(100 + SHUTDOWN_GRACE_MS + 1500),
        "shutdown waited {waited:?} on a stuck channel"
    );
    // The seven alerts behind the stuck flush are counted as lost, not silently gone.
    assert_eq!(stats.queue_drops.load(Ordering::Relaxed), 7);
    let (m, c) = &*gate;
    *m.lock().unwrap() = true;
    c.notify_all();
}

fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn program_settings(program: String, keep_alive: bool, buffered: bool) -> OutputsSettings {
    OutputsSettings {
        buffered,
        program: Some(crate::config::ProgramOutputConfig {
            enabled: true,
            keep_alive,
            program,
        }),
        ..settings()
    }
}

#[test]
fn program_output_one_process_per_alert() {
    let dir = temp_dir("prog1");
    let path = dir.join("out.txt");
    let s = program_settings(format!("cat >> {}", path.display()), false, true);
    let out = Outputs::start(&s, None).unwrap();
    for i in 0..20 {
        out.handle().send(alert(i));
    }
    let stats = out.stats();
    out.shutdown();
    expect_numbered(&lines(&path), 20);
    assert_eq!(stats.program_spawns.load(Ordering::Relaxed), 20);
}

#[test]
fn program_output_kept_alive_and_restarted_on_reopen() {
    let dir = temp_dir("prog2");
    let path = dir.join("out.txt");
    let pids = dir.join("pids.txt");
    // Each process logs its pid once, then copies stdin.
    let s = program_settings(
        format!("echo $$ >> {}; cat >> {}", pids.display(), path.display()),
        true,
        true,
    );
    let out = Outputs::start(&s, None).unwrap();
    let h = out.handle();
    for i in 0..300 {
        h.send(alert(i));
    }
    while out.stats().queue_depth() > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    out.reopen();
    while out.stats().reopens.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 300..600 {
        h.send(alert(i));
    }
    let stats = out.stats();
    out.shutdown();
    expect_numbered(&lines(&path), 600);
    assert_eq!(stats.program_spawns.load(Ordering::Relaxed), 2);
    assert_eq!(lines(&pids).len(), 2);
}

#[test]
fn program_that_exits_at_once_is_respawned_and_accounted() {
    let dir = temp_dir("prog3");
    let path = dir.join("out.txt");
    // Reads exactly one line, then exits: every further alert finds a dead child.
    let s = program_settings(format!("head -n 1 >> {}", path.display()), true, false);
    let out = Outputs::start(&s, None).unwrap();
    let h = out.handle();
    for i in 0..20 {
        h.send(alert(i));
        // Give the child time to exit so the next alert sees it dead.
        std::thread::sleep(Duration::from_millis(30));
    }
    let stats = out.stats();
    out.shutdown();
    let delivered = OutputStats::get(&stats.delivered, ChannelKind::Program);
    let failed = OutputStats::get(&stats.failed, ChannelKind::Program);
    assert_eq!(delivered + failed, 20);
    assert!(stats.program_spawns.load(Ordering::Relaxed) >= 10);
    // Every alert a child accepted and read is in the file, each once.
    let got = lines(&path);
    let mut seen = std::collections::HashSet::new();
    for l in &got {
        assert!(seen.insert(l.clone()), "duplicate {l}");
    }
    assert!(got.len() >= 10, "{} lines", got.len());
}

#[test]
fn kept_programs_that_keep_dying_account_for_every_alert() {
    let dir = temp_dir("prog4");
    for (program, buffered) in [
        ("exit 0".to_string(), true),
        ("exit 0".to_string(), false),
        (
            format!("head -n 3 >> {}", dir.join("head.txt").display()),
            true,
        ),
        (
            format!("head -n 3 >> {}", dir.join("head2.txt").display()),
            false,
        ),
    ] {
        let s = program_settings(program.clone(), true, buffered);
        let out = Outputs::start(&s, None).unwrap();
        for i in 0..200 {
            out.handle().send(alert(i));
            if i % 20 == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let stats = out.stats();
        out.shutdown();
        let delivered = OutputStats::get(&stats.delivered, ChannelKind::Program);
        let failed = OutputStats::get(&stats.failed, ChannelKind::Program);
        assert_eq!(
            delivered + failed,
            200,
            "{program} buffered={buffered}: {delivered} delivered, {failed} failed"
        );
        assert!(stats.program_spawns.load(Ordering::Relaxed) >= 1);
    }
    // What `head` took is whole lines, never a cut alert.
    for f in ["head.txt", "head2.txt"] {
        for l in lines(&dir.join(f)) {
            assert!(
                l.starts_with("12:00:00.000000000: Warning test alert n="),
                "{l}"
            );
        }
    }
}

#[test]
fn program_that_never_reads_does_not_hang_the_worker() {
    let s = program_settings("exit 3".to_string(), false, true);
    let out = Outputs::start(&s, None).unwrap();
    for i in 0..10 {
        out.handle().send(alert(i));
    }
    let stats = out.stats();
    out.shutdown();
    let delivered = OutputStats::get(&stats.delivered, ChannelKind::Program);
    let failed = OutputStats::get(&stats.failed, ChannelKind::Program);
    assert_eq!(delivered + failed, 10);
}

#[test]
fn forged_lines_are_escaped_in_text_and_json_stays_valid() {
    let dir = temp_dir("escape");
    let path = dir.join("events.txt");
    let out = Outputs::start(&file_settings(&path, true, false), None).unwrap();
    let mut a = alert(0);
    a.line =
        "12:00:00.000000000: Warning file=/tmp/x\n12:00:00.000000001: Critical forged\x1b]0;t\x07"
            .to_string();
    out.handle().send(a);
    out.shutdown();
    let got = lines(&path);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("\\n12:00:00.000000001"));
    assert!(!got[0].contains('\x1b'));

    let path = dir.join("events.json");
    let s = OutputsSettings {
        json_output: true,
        ..file_settings(&path, true, false)
    };
    let out = Outputs::start(&s, None).unwrap();
    let mut a = alert(0);
    a.line = serde_json::json!({"output": "x\u{1b}[31m\u{7f}\u{9b}y", "rule": "r"}).to_string();
    out.handle().send(a);
    out.shutdown();
    let got = lines(&path);
    assert_eq!(got.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["output"], "x\u{1b}[31m\u{7f}\u{9b}y");
    assert!(!got[0].chars().any(|c| c.is_control()));
}

#[test]
fn internal_alerts_use_the_same_path() {
    let dir = temp_dir("internal");
    let path = dir.join("events.json");
    let s = OutputsSettings {
        json_output: true,
        ..file_settings(&path, false, true)
    };
    let out = Outputs::start(&s, None).unwrap();
    out.handle().send_internal(
        Priority::Debug,
        "Falco internal: syscall event drop",
        "Falco internal: syscall event drop. 9 system calls dropped in last second.",
        &[("n_drops", "9".into())],
        false,
    );
    let stats = out.stats();
    out.shutdown();
    let got = lines(&path);
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["rule"], "Falco internal: syscall event drop");
    assert_eq!(v["source"], "internal");
    assert_eq!(v["output_fields"]["n_drops"], "9");
    assert_eq!(stats.events()[0].0.source, "internal");
}

#[test]
fn reconfigure_switches_channels_behind_the_same_queue() {
    let dir = temp_dir("reconfigure");
    let (a, b) = (dir.join("a.txt"), dir.join("b.txt"));
    let out = Outputs::start(&file_settings(&a, true, true), None).unwrap();
    let h = out.handle();
    for i in 0..100 {
        h.send(alert(i));
    }
    while out.stats().queue_depth() > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // A broken new configuration is refused and the running channels stay.
    let mut bad = file_settings(&b, true, true);
    let yaml = "http_output:\n  enabled: true\n  url: 'not a url'\n";
    bad.http = Some(
        crate::config::Config::from_yaml_str(yaml, &[])
            .unwrap()
            .http_output,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(out.reconfigure(&bad, Some(rt.handle())).is_err());
    out.reconfigure(&file_settings(&b, false, false), None)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while out.reconfigured() == 0 {
        assert!(Instant::now() < deadline, "reconfigure never handled");
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 100..150 {
        h.send(alert(i));
    }
    let stats = out.stats();
    out.shutdown();
    expect_numbered(&lines(&a), 100);
    let tail = lines(&b);
    assert_eq!(tail.len(), 50);
    assert!(tail[0].ends_with(" n=100"));
    assert_eq!(OutputStats::get(&stats.delivered, ChannelKind::File), 150);
}

#[path = "../../tests/support/process.rs"]
mod process;
use process::process_alive;

#[test]
fn a_given_up_program_is_killed_with_everything_sh_started() {
    let dir = temp_dir("proggroup");
    // `sh -c` starts a child that holds the pipe (through fd 3: a background job's fd 0 is
    // /dev/null) and never reads it, and waits for it: killing only the shell would leave the
    // child running with the pipe still open.
    for keep_alive in [true, false] {
        let child_pid = dir.join(format!("child-{keep_alive}.pid"));
        let program = format!(
            "exec 3<&0; sleep 1000 <&3 & echo $! > {}; wait",
            child_pid.display()
        );
        let s = OutputsSettings {
            output_timeout: Duration::from_millis(100),
            ..program_settings(program, keep_alive, false)
        };
        let out = Outputs::start(&s, None).unwrap();
        let stats = out.stats();
        // 64 KiB fill the pipe of a kept program; one alert blocks a program run per alert.
        for i in 0..3000 {
            out.handle().send(alert(i));
        }
        assert!(
            wait_until(|| stats.wedged(100).is_some()),
            "keep_alive={keep_alive}: the program never blocked the worker"
        );
        let leader = stats.program.leader().expect("a program runs");
        let read_pid = || {
            std::fs::read_to_string(&child_pid)
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        assert!(wait_until(|| read_pid().is_some()));
        let pid: i32 = read_pid().unwrap();
        assert!(process_alive(leader) && process_alive(pid));
        out.shutdown();
        assert!(
            wait_until(|| !process_alive(pid) && !process_alive(leader)),
            "keep_alive={keep_alive}: the program's child {pid} outlived the outputs"
        );
        assert!(stats.queue_drops.load(Ordering::Relaxed) > 0);
    }
}

#[test]
fn default_settings_are_those_of_an_empty_falco_yaml() {
    let empty = crate::config::Config::from_yaml_str("", &[]).unwrap();
    assert_eq!(
        format!("{:?}", OutputsSettings::default()),
        format!("{:?}", OutputsSettings::from_config(&empty, false))
    );
}
