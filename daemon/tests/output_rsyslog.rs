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
    let pid = dir.join("rsyslogd.pid");
    let rsyslog = start_rsyslog(&conf, &pid);

    let settings = OutputsSettings {
        queue_capacity: 0,
        output_timeout: Duration::from_secs(2),
        json_output: false,
        buffered: true,
        stdout: false,
        syslog: true,
        file: None,
        program: None,
        http: None,
    };
    let outputs = Outputs::start(&settings, None).unwrap();
    let h = outputs.handle();
    for (n, p) in Priority::ALL.iter().enumerate() {
        h.send(alert(n, *p));
    }
    assert!(
        common::wait_for(10, || received(&log).len() >= 8),
        "rsyslog got {:?}",
        received(&log)
    );
    let ident = std::env::current_exe()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let lines = received(&log);
    for (n, p) in Priority::ALL.iter().enumerate() {
        let want = format!(
            "{} user {ident}: 12:00:00.000000000: {} syslog test n={n}",
            *p as u8,
            p.name()
        );
        assert!(lines.contains(&want), "missing {want:?} in {lines:?}");
    }

    drop(rsyslog);
    let rsyslog = start_rsyslog(&conf, &pid);
    for n in 8..16 {
        h.send(alert(n, Priority::Warning));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        common::wait_for(10, || received(&log).len() >= 16),
        "after the restart rsyslog got {:?}",
        received(&log)
    );
    let lines = received(&log);
    for n in 8..16 {
        let want = format!("4 user {ident}: 12:00:00.000000000: Warning syslog test n={n}");
        assert!(lines.contains(&want), "missing {want:?} in {lines:?}");
    }
    let stats = outputs.stats();
    outputs.shutdown();
    assert_eq!(OutputStats::get(&stats.delivered, ChannelKind::Syslog), 16);
    drop(rsyslog);
    println!("rsyslog received {} lines", lines.len());
}
