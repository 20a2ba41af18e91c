//! The file output under the real `logrotate` (scripts/setup.sh installs it): 10,000 alerts while
//! logrotate rotates the file several times and its postrotate sends SIGUSR1 to this process,
//! the way /etc/logrotate.d/falco does for the daemon. Every alert must be in exactly one of the
//! files, whatever keep_alive says. (A test binary of its own: it owns the process's signals.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use falco::config::FileOutputConfig;
use falco::outputs::{Alert, ChannelKind, OutputStats, Outputs, OutputsSettings};
use falco::priority::Priority;
use falco::signals::SignalFlags;

const ALERTS: usize = 10_000;
const ROTATIONS: usize = 6;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falco-logrotate-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn alert(n: usize) -> Alert {
    Alert::new(
        1_700_000_000_000_000_000 + n as u64,
        Priority::Warning,
        Arc::from("Rotate me"),
        Arc::from("syscall"),
        Arc::from(Vec::new()),
        format!("12:00:00.000000000: Warning rotate test n={n}"),
    )
}

fn run(dir: &Path, keep_alive: bool, flags: &SignalFlags) {
    let log = dir.join("events.log");
    let conf = dir.join("falco.logrotate");
    std::fs::write(
        &conf,
        format!(
            "{} {{\n  rotate 50\n  size 1\n  missingok\n  nocompress\n  postrotate\n    \
             kill -USR1 {}\n  endscript\n}}\n",
            log.display(),
            std::process::id()
        ),
    )
    .unwrap();
    let settings = OutputsSettings {
        queue_capacity: 0,
        output_timeout: Duration::from_secs(2),
        json_output: false,
        buffered: true,
        stdout: false,
        syslog: false,
        file: Some(FileOutputConfig {
            enabled: true,
            keep_alive,
            filename: log.clone(),
        }),
        program: None,
        http: None,
    };
    let outputs = Outputs::start(&settings, None).unwrap();
    let handle = outputs.handle();
    let done = Arc::new(AtomicBool::new(false));
    let done_sender = done.clone();
    // The hot path: alerts spread over about two seconds so the rotations fall in between.
    let sender = std::thread::spawn(move || {
        for n in 0..ALERTS {
            assert!(handle.send(alert(n)));
            if n % 50 == 49 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        done_sender.store(true, Ordering::Release);
    });
    let state = dir.join("logrotate.state");
    let mut rotations = 0;
    let mut reopens = 0;
    while !done.load(Ordering::Acquire) || rotations < ROTATIONS {
        if rotations < ROTATIONS {
            std::thread::sleep(Duration::from_millis(250));
            let out = Command::new("logrotate")
                .arg("-f")
                .arg("-s")
                .arg(&state)
                .arg(&conf)
                .output()
                .expect("logrotate must be installed (scripts/setup.sh)");
            assert!(
                out.status.success(),
                "logrotate: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            rotations += 1;
        }
        // The daemon's main loop: SIGUSR1 → reopen.
        for _ in 0..50 {
            if flags.take_reopen() {
                outputs.reopen();
                reopens += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    sender.join().unwrap();
    let stats = outputs.stats();
    outputs.shutdown();
    assert!(reopens > 0, "SIGUSR1 from postrotate never arrived");

    let mut seen = vec![0u32; ALERTS];
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("events.log") {
            continue;
        }
        files += 1;
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let n: usize = line
                .rsplit_once(" n=")
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or_else(|| panic!("bad line in {name}: {line:?}"));
            seen[n] += 1;
        }
    }
    assert!(
        files > ROTATIONS / 2,
        "only {files} files: rotations did not happen"
    );
    let missing: Vec<usize> = (0..ALERTS).filter(|n| seen[*n] == 0).collect();
    let doubled: Vec<usize> = (0..ALERTS).filter(|n| seen[*n] > 1).collect();
    assert!(
        missing.is_empty(),
        "keep_alive={keep_alive}: missing {missing:?}"
    );
    assert!(
        doubled.is_empty(),
        "keep_alive={keep_alive}: twice {doubled:?}"
    );
    assert_eq!(
        OutputStats::get(&stats.delivered, ChannelKind::File),
        ALERTS as u64
    );
    assert_eq!(OutputStats::get(&stats.failed, ChannelKind::File), 0);
}

#[test]
fn ten_thousand_alerts_through_several_logrotate_runs_each_exactly_once() {
    let flags = SignalFlags::install().unwrap();
    for keep_alive in [true, false] {
        let dir = temp_dir(if keep_alive { "kept" } else { "reopened" });
        run(&dir, keep_alive, &flags);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
