//! The syslog output against the real rsyslogd (scripts/setup.sh), run in a private mount
//! namespace whose /dev is a tmpfs so the test owns /dev/log: facility user, severity = the
//! rule's priority (Emergency 0 … Debug 7), ident = program name, and alerts sent after an
//! rsyslog restart still arrive (syslog(3) reconnects).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use falco::outputs::{Alert, ChannelKind, OutputStats, Outputs, OutputsSettings};
use falco::priority::Priority;

/// rsyslogd, stopped when dropped (also when an assertion fails).
struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        // SAFETY: kill on the pid of a child we started and have not reaped yet.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn start_rsyslog(conf: &Path, pid: &Path) -> Rsyslog {
    let _ = std::fs::remove_file(pid);
    let child = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(conf)
        .arg("-i")
        .arg(pid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd must be installed (scripts/setup.sh)");
    assert!(
        common::wait_for(10, || {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata("/dev/log").is_ok_and(|m| m.file_type().is_socket())
        }),
        "rsyslogd did not create /dev/log"
    );
    Rsyslog(child)
}

/// An rsyslog.conf that owns /dev/log and writes "<severity> <facility> <ident>:<msg>" to `log`.
fn write_rsyslog_conf(dir: &Path, log: &Path) -> std::path::PathBuf {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{dir}\")\n\
             module(load=\"imuxsock\" SysSock.Name=\"/dev/log\" SysSock.RateLimit.Interval=\"0\")\n\
             template(name=\"t\" type=\"string\" \
             string=\"%syslogseverity% %syslogfacility-text% %programname%:%msg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{log}\" template=\"t\")\n",
            dir = dir.display(),
            log = log.display()
        ),
    )
    .unwrap();
    conf
}

fn alert(n: usize, priority: Priority) -> Alert {
    Alert::new(
        1_700_000_000_000_000_000,
        priority,
        Arc::from("Syslog test"),
        Arc::from("syscall"),
        Arc::from(Vec::new()),
        format!("12:00:00.000000000: {} syslog test n={n}", priority.name()),
    )
}

fn received(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn syslog_severities_and_delivery_across_an_rsyslog_restart() {
    if !common::in_private_mount_namespace(
        "syslog_severities_and_delivery_across_an_rsyslog_restart",
    ) {
        return;
    }
    common::private_dev();
    let dir = common::temp_dir("rsyslog");
    let log = dir.join("messages.log");
    let conf = write_rsyslog_conf(&dir, &log);
    let pid = dir.join("rsyslogd.pid");
    let rsyslog = start_rsyslog(&conf, &pid);

    let settings = OutputsSettings {
        buffered: true,
        syslog: true,
        ..OutputsSettings::default()
    };
    let outputs = Outputs::start(&settings, None).unwrap();
    let h = outputs.handle();
    for (n, p) in Priority::ALL.iter().enumerate() {
        h.send(alert(n, *p));
    }
    let ident = std::env::current_exe()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // rsyslog logs its own start lines too: wait for these alerts, not for a line count.
    let wanted: Vec<String> = Priority::ALL
        .iter()
        .enumerate()
        .map(|(n, p)| {
            format!(
                "{} user {ident}: 12:00:00.000000000: {} syslog test n={n}",
                *p as u8,
                p.name()
            )
        })
        .collect();
    assert!(
        common::wait_for(10, || {
            let lines = received(&log);
            wanted.iter().all(|w| lines.contains(w))
        }),
        "rsyslog got {:?}, wanted {wanted:?}",
        received(&log)
    );

    drop(rsyslog);
    let rsyslog = start_rsyslog(&conf, &pid);
    for n in 8..16 {
        h.send(alert(n, Priority::Warning));
        std::thread::sleep(Duration::from_millis(5));
    }
    // rsyslog logs its own start lines too: wait for these alerts, not for a line count.
    let wanted: Vec<String> = (8..16)
        .map(|n| format!("4 user {ident}: 12:00:00.000000000: Warning syslog test n={n}"))
        .collect();
    assert!(
        common::wait_for(10, || {
            let lines = received(&log);
            wanted.iter().all(|w| lines.contains(w))
        }),
        "after the restart rsyslog got {:?}",
        received(&log)
    );
    let lines = received(&log);
    let stats = outputs.stats();
    outputs.shutdown();
    assert_eq!(OutputStats::get(&stats.delivered, ChannelKind::Syslog), 16);
    drop(rsyslog);
    println!("rsyslog received {} lines", lines.len());
}

/// The `falco` binary itself: its own log (`log_syslog`) and its alerts (`syslog_output`) reach
/// syslog with ident `falco`, facility user, the log at its level and alerts at the rule's
/// priority.
#[test]
fn daemon_log_and_alerts_reach_syslog_as_falco() {
    if !common::in_private_mount_namespace("daemon_log_and_alerts_reach_syslog_as_falco") {
        return;
    }
    common::private_dev();
    let dir = common::temp_dir("rsyslog-daemon");
    let log = dir.join("messages.log");
    let conf = write_rsyslog_conf(&dir, &log);
    let rsyslog = start_rsyslog(&conf, &dir.join("rsyslogd.pid"));
    let shared = std::env::var_os("SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let capture = shared.join("compat/scap/falco/cat_write.scap");
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Cat opens\n  desc: d\n  condition: evt.type in (open, openat) and proc.name=cat\n  \
         output: cat opened (fd=%fd.num)\n  priority: ERROR\n",
    )
    .unwrap();
    let cfg = dir.join("falco.yaml");
    std::fs::write(
        &cfg,
        "log_stderr: false\nlog_syslog: true\nlog_level: info\nstdout_output:\n  enabled: false\n\
         syslog_output:\n  enabled: true\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(&cfg)
        .arg("-r")
        .arg(&rules)
        .arg("-e")
        .arg(&capture)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Loading rules"),
        "log_stderr: false still logged to stderr: {stderr}"
    );
    let detected: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Events detected: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    assert!(detected > 0, "{stdout}");
    let alerts = || -> Vec<String> {
        received(&log)
            .into_iter()
            .filter(|l| l.contains("cat opened"))
            .collect()
    };
    let loading = format!("6 user falco: Loading rules from file {}", rules.display());
    assert!(
        common::wait_for(10, || received(&log).contains(&loading)
            && alerts().len() >= detected),
        "missing {loading:?} or some of {detected} alerts in {:?}",
        received(&log)
    );
    let alerts = alerts();
    assert_eq!(alerts.len(), detected, "{alerts:?}");
    for a in &alerts {
        assert!(a.starts_with("3 user falco: "), "{a}");
        assert!(a.contains(": Error cat opened (fd="), "{a}");
    }
    drop(rsyslog);
}
