//! The file output on a full disk: a 256 KiB tmpfs (in a private mount namespace) fills up in the
//! middle of a stream of alerts. Nothing crashes, every alert is either in the file (whole, on its
//! own line) or counted as failed, and once space is freed the output carries on.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use falco::config::FileOutputConfig;
use falco::outputs::{Alert, ChannelKind, OutputStats, Outputs, OutputsSettings};
use falco::priority::Priority;

const FIRST: usize = 4000;
const AFTER: usize = 100;
const LINE_TAIL: &str = " disk full test, a line long enough to fill the disk";

fn alert(n: usize) -> Alert {
    Alert::new(
        0,
        Priority::Warning,
        Arc::from("Disk full"),
        Arc::from("syscall"),
        Arc::from(Vec::new()),
        format!("n={n:05}{LINE_TAIL}"),
    )
}

fn wait_processed(stats: &OutputStats, n: usize) {
    assert!(
        common::wait_for(20, || stats.processed.load(Ordering::Relaxed) >= n as u64),
        "queue never drained"
    );
}

fn run(disk: &Path, keep_alive: bool, buffered: bool) {
    let filler = disk.join("filler");
    std::fs::write(&filler, vec![0u8; 160 * 1024]).unwrap();
    let path = disk.join("events.txt");
    let settings = OutputsSettings {
        queue_capacity: 0,
        output_timeout: Duration::from_secs(2),
        json_output: false,
        buffered,
        stdout: false,
        syslog: false,
        file: Some(FileOutputConfig {
            enabled: true,
            keep_alive,
            filename: path.clone(),
        }),
        program: None,
        http: None,
    };
    let out = Outputs::start(&settings, None).unwrap();
    let h = out.handle();
    let stats = out.stats();
    for n in 0..FIRST {
        assert!(h.send(alert(n)));
    }
    wait_processed(&stats, FIRST);
    let failed_while_full = OutputStats::get(&stats.failed, ChannelKind::File);
    assert!(
        failed_while_full > 0,
        "keep_alive={keep_alive} buffered={buffered}: the disk never filled"
    );
    // Space comes back: the output must carry on.
    std::fs::remove_file(&filler).unwrap();
    for n in FIRST..FIRST + AFTER {
        assert!(h.send(alert(n)));
    }
    wait_processed(&stats, FIRST + AFTER);
    out.shutdown();

    let delivered = OutputStats::get(&stats.delivered, ChannelKind::File);
    let failed = OutputStats::get(&stats.failed, ChannelKind::File);
    let ctx = format!("keep_alive={keep_alive} buffered={buffered}");
    assert_eq!(
        delivered + failed,
        (FIRST + AFTER) as u64,
        "{ctx}: every alert is delivered or counted as failed"
    );
    let text = std::fs::read(&path).unwrap();
    let text = String::from_utf8(text).unwrap();
    let mut whole = HashSet::new();
    let mut torn = 0;
    for line in text.lines() {
        assert!(
            line.matches("n=").count() <= 1,
            "{ctx}: a cut line swallowed the next alert: {line:?}"
        );
        let parsed = line
            .strip_prefix("n=")
            .and_then(|l| l.get(..5).map(|n| (n, &l[5..])))
            .filter(|(_, tail)| *tail == LINE_TAIL)
            .and_then(|(n, _)| n.parse::<usize>().ok());
        match parsed {
            Some(n) => assert!(whole.insert(n), "{ctx}: alert {n} twice"),
            None => {
                let full = format!("n=00000{LINE_TAIL}");
                assert!(line.len() < full.len(), "{ctx}: garbage line {line:?}");
                torn += 1;
            }
        }
    }
    assert_eq!(whole.len() as u64, delivered, "{ctx}: lines in the file");
    assert!(
        torn as u64 <= failed,
        "{ctx}: {torn} cut lines, {failed} failed"
    );
    for n in FIRST..FIRST + AFTER {
        assert!(
            whole.contains(&n),
            "{ctx}: alert {n} after the disk was freed"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn file_output_on_a_full_tmpfs_counts_every_alert_and_recovers() {
    if !common::in_private_mount_namespace(
        "file_output_on_a_full_tmpfs_counts_every_alert_and_recovers",
    ) {
        return;
    }
    let dir = common::temp_dir("diskfull");
    let disk = dir.join("disk");
    common::mount_tmpfs(&disk, "256k");
    for (keep_alive, buffered) in [(true, true), (true, false), (false, false), (false, true)] {
        run(&disk, keep_alive, buffered);
    }
    common::sh("umount", &[disk.to_str().unwrap()]);
}
