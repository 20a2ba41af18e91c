//! The stdout output's buffering, seen from outside: the daemon replays a capture that raises
//! thousands of alerts into a pipe under `strace`, which counts the write(2) calls on fd 1.
//! Unbuffered (`buffered_outputs: false`, Falco's default, or `-U`) each alert is its own write;
//! `buffered_outputs: true` puts many alerts in each write.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

const RULES: &str = "- rule: Read or write
  desc: every read and write
  condition: evt.type in (read, write)
  output: io by %proc.name (fd=%fd.num)
  priority: WARNING
";

/// Runs the replay under strace; returns (alerts on stdout, write(2) calls on fd 1).
fn alerts_and_stdout_writes(
    dir: &Path,
    capture: &Path,
    buffered: bool,
    dash_u: bool,
) -> (usize, usize) {
    let tag = format!("{buffered}-{dash_u}");
    let cfg = dir.join(format!("falco-{tag}.yaml"));
    std::fs::write(
        &cfg,
        format!("buffered_outputs: {buffered}\nstdout_output:\n  enabled: true\n"),
    )
    .unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let trace = dir.join(format!("strace-{tag}.txt"));
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-e", "trace=write", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(&cfg)
        .arg("-r")
        .arg(&rules)
        .args(["-o", "engine.kind=replay", "-o"])
        .arg(format!("engine.replay.capture_file={}", capture.display()))
        .args(["-o", "log_stderr=false", "-o", "log_syslog=false"]);
    if dash_u {
        cmd.arg("-U");
    }
    // stdout is a pipe, as when falco feeds another program.
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("strace must be installed (scripts/setup.sh)");
    assert!(
        out.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alerts = stdout
        .lines()
        .filter(|l| l.contains(": Warning io by "))
        .count();
    let detected: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Events detected: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{tag}: no summary in\n{stdout}"));
    assert_eq!(alerts, detected, "{tag}: every alert on stdout once");
    let writes = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains(" write(1, "))
        .count();
    (alerts, writes)
}

#[test]
fn unbuffered_stdout_writes_each_alert_and_buffered_batches_them() {
    let dir = common::temp_dir("stdout-buffering");
    let capture = common::big_capture(&dir, 20_000);
    let (alerts, default_writes) = alerts_and_stdout_writes(&dir, &capture, false, false);
    assert!(
        alerts > 1000,
        "only {alerts} alerts: make the capture bigger"
    );
    assert!(
        default_writes >= alerts,
        "buffered_outputs: false: {default_writes} writes for {alerts} alerts"
    );
    let (_, dash_u_writes) = alerts_and_stdout_writes(&dir, &capture, true, true);
    assert!(
        dash_u_writes >= alerts,
        "-U with buffered_outputs: true: {dash_u_writes} writes for {alerts} alerts"
    );
    let (_, buffered_writes) = alerts_and_stdout_writes(&dir, &capture, true, false);
    assert!(
        buffered_writes * 10 <= alerts,
        "buffered_outputs: true: {buffered_writes} writes for {alerts} alerts"
    );
}
