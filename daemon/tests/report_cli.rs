//! `falco report` end to end: the binary reads a file of alert lines and prints the table.

use std::process::Command;

#[test]
fn report_reads_a_file_output() {
    let dir = std::env::temp_dir().join(format!("falco-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.json");
    let a = r#"{"hostname":"h","output":"o","priority":"Warning","rule":"Read sensitive file untrusted","source":"syscall","tags":[],"time":"2026-11-22T10:00:00.000000000Z","output_fields":{"proc.name":"cat","fd.name":"/etc/shadow"}}"#;
    let b = r#"{"hostname":"h","output":"o","priority":"Error","rule":"Write below binary dir","source":"syscall","tags":[],"time":"2026-11-22T10:00:01.000000000Z","output_fields":{"proc.name":"touch","fd.name":"/bin/x"}}"#;
    std::fs::write(&file, format!("{a}\n{a}\nnot an alert\n{b}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("report")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("Read sensitive file untrusted"),
        "{text}"
    );
    assert!(lines[1].contains("fd.name=/etc/shadow (2)"));
    assert!(lines[2].starts_with("Write below binary dir"));
    assert!(text.contains("3 alerts, 2 rules, 1 non-alert lines skipped"));

    let missing = Command::new(env!("CARGO_BIN_EXE_falco"))
        .args(["report", "/nonexistent/alerts.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/alerts.json"));
    let _ = std::fs::remove_dir_all(&dir);
}
