//! Signals and reloads: SIGUSR1 (reopen outputs), SIGHUP (reload), SIGINT/SIGTERM (stop), the
//! `watch_config_files` watcher, and [`reload`], the hook that validates a new configuration
//! before anything switches.
//!
//! Handlers only set flags (async-signal-safe); the main loop polls them once per iteration:
//!
//! ```text
//! let signals = SignalFlags::install()?;
//! loop {
//!     if signals.terminate_requested() { break }                  // drain: outputs.shutdown()
//!     if signals.take_reopen() { outputs.reopen() }               // SIGUSR1
//!     if signals.take_reload() {                                  // SIGHUP or a watched file
//!         if let Some(new) = signals::reload(&outputs.handle(), iso, || build_new()) { swap(new) }
//!     }
//!     ... process events ...
//! }
//! ```
//!
//! Bursts coalesce: a thousand SIGUSR1 while the worker is busy mean one or a few reopens, never
//! a crash or a lost alert.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::outputs::OutputsHandle;
use crate::priority::Priority;

/// The rule name of the alert raised when a reload fails.
pub const RELOAD_FAILURE_RULE: &str = "Falco internal: hot restart failure";

/// Flags set by the signal handlers.
pub struct SignalFlags {
    reopen: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl SignalFlags {
    /// Installs the handlers for SIGUSR1, SIGHUP, SIGINT and SIGTERM.
    pub fn install() -> io::Result<SignalFlags> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
        let reopen = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let terminate = Arc::new(AtomicBool::new(false));
        let ids = vec![
            signal_hook::flag::register(SIGUSR1, reopen.clone())?,
            signal_hook::flag::register(SIGHUP, reload.clone())?,
            signal_hook::flag::register(SIGINT, terminate.clone())?,
            signal_hook::flag::register(SIGTERM, terminate.clone())?,
        ];
        Ok(SignalFlags {
            reopen,
            reload,
            terminate,
            ids,
        })
    }

    /// True once after each SIGUSR1 (or burst of them).
    pub fn take_reopen(&self) -> bool {
        self.reopen.swap(false, Ordering::AcqRel)
    }

    /// True once after each SIGHUP or watched-file change.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::AcqRel)
    }

    /// SIGINT or SIGTERM arrived: drain and exit 0.
    pub fn terminate_requested(&self) -> bool {
        self.terminate.load(Ordering::Acquire)
    }

    /// Asks for a reload as SIGHUP would (used by the config watcher).
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::Release);
    }

    /// The reload flag, for [`ConfigWatcher::start`].
    pub fn reload_flag(&self) -> Arc<AtomicBool> {
        self.reload.clone()
    }

    /// The terminate flag, for threads that must stop with the daemon.
    pub fn terminate_flag(&self) -> Arc<AtomicBool> {
        self.terminate.clone()
    }
}

impl Drop for SignalFlags {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Runs a reload: logs Falco's "SIGHUP received, restarting...", then `build` (load and validate
/// the new config and rules, start whatever must be started). On success returns the new state
/// for the caller to swap in — the old pipeline keeps running until then, so no event is lost.
/// On failure the caller keeps running as it was; the error is logged and raised as a Critical
/// internal alert ("Falco internal: hot restart failure: <error>").
pub fn reload<T>(
    outputs: &OutputsHandle,
    iso_8601: bool,
    build: impl FnOnce() -> Result<T, String>,
) -> Option<T> {
    crate::logger::info("SIGHUP received, restarting...");
    match build() {
        Ok(new) => Some(new),
        Err(error) => {
            let msg = format!("{RELOAD_FAILURE_RULE}: {error}");
            crate::logger::critical(&format!("{msg}; keeping the running configuration"));
            outputs.send_internal(
                Priority::Critical,
                RELOAD_FAILURE_RULE,
                &msg,
                &[("error", error.clone())],
                iso_8601,
            );
            None
        }
    }
}

/// `watch_config_files`: polls the config and rules files (and the files inside watched
/// directories) and raises the reload flag when any of them changes, appears or disappears.
pub struct ConfigWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What identifies a version of a file.
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64, u64)>)>;

fn stamp(paths: &[PathBuf]) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let meta = |p: &PathBuf| {
        std::fs::metadata(p).ok().map(|m| {
            (
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                m.len(),
                m.ino(),
            )
        })
    };
    for p in paths {
        out.push((p.clone(), meta(p)));
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(p) {
                let mut inner: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                inner.sort();
                for q in inner {
                    let m = meta(&q);
                    out.push((q, m));
                }
            }
        }
    }
    out
}

impl ConfigWatcher {
    /// How often the files are checked.
    pub const INTERVAL: Duration = Duration::from_millis(250);

    pub fn start(paths: Vec<PathBuf>, reload: Arc<AtomicBool>) -> io::Result<ConfigWatcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let thread = std::thread::Builder::new()
            .name("falco-config-watch".into())
            .spawn(move || {
                let mut last = stamp(&paths);
                while !stop_thread.load(Ordering::Relaxed) {
                    std::thread::sleep(Self::INTERVAL);
                    let now = stamp(&paths);
                    if now != last {
                        crate::logger::info(
                            "A config or rules file changed: reloading (as on SIGHUP)",
                        );
                        reload.store(true, Ordering::Release);
                        last = now;
                    }
                }
            })?;
        Ok(ConfigWatcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::{OutputStats, Outputs, OutputsSettings};
    use std::time::Instant;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("falco-signals-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn file_outputs(path: &std::path::Path) -> Outputs {
        let s = OutputsSettings {
            queue_capacity: 0,
            output_timeout: Duration::from_secs(2),
            json_output: true,
            buffered: true,
            stdout: false,
            syslog: false,
            file: Some(crate::config::FileOutputConfig {
                enabled: true,
                keep_alive: true,
                filename: path.to_path_buf(),
            }),
            program: None,
            http: None,
        };
        Outputs::start(&s, None).unwrap()
    }

    /// One test owns every real signal of this process, so parallel tests cannot steal them.
    #[test]
    fn real_signals_set_flags_and_a_sigusr1_burst_loses_nothing() {
        let flags = SignalFlags::install().unwrap();
        // SAFETY: raising a signal whose handler is installed above.
        unsafe { libc::raise(libc::SIGHUP) };
        assert!(flags.take_reload());
        assert!(!flags.take_reload());

        let dir = temp_dir("burst");
        let path = dir.join("events.json");
        let outputs = file_outputs(&path);
        let h = outputs.handle();
        let total = 20_000;
        let sender = std::thread::spawn(move || {
            for i in 0..total {
                h.send(crate::outputs::Alert::internal(
                    i as u64,
                    Priority::Notice,
                    "burst",
                    &format!("n={i}"),
                    &[],
                    true,
                    false,
                ));
                if i % 1000 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let pid = std::process::id() as libc::pid_t;
        let mut reopens_asked = 0;
        for i in 0..1000 {
            // SAFETY: kill on our own pid with a handled signal.
            unsafe { libc::kill(pid, libc::SIGUSR1) };
            if i % 50 == 0 && flags.take_reopen() {
                outputs.reopen();
                reopens_asked += 1;
            }
        }
        sender.join().unwrap();
        if flags.take_reopen() {
            outputs.reopen();
            reopens_asked += 1;
        }
        assert!(reopens_asked > 0);
        let stats = outputs.stats();
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats.reopens.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "reopen never handled");
            std::thread::sleep(Duration::from_millis(5));
        }
        outputs.shutdown();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut seen = vec![false; total];
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let n: usize = v["output"].as_str().unwrap()[2..].parse().unwrap();
            assert!(!seen[n], "alert {n} twice");
            seen[n] = true;
        }
        assert!(seen.iter().all(|s| *s), "alerts missing");
        assert_eq!(
            OutputStats::get(&stats.failed, crate::outputs::ChannelKind::File),
            0
        );
        // SAFETY: as above.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(flags.terminate_requested());
    }

    #[test]
    fn failed_reload_keeps_running_and_raises_a_critical_alert() {
        let dir = temp_dir("reload");
        let path = dir.join("events.json");
        let outputs = file_outputs(&path);
        let r: Option<u32> = reload(&outputs.handle(), false, || {
            Err("rules.yaml:3:7: unknown field 'proc.nme'".to_string())
        });
        assert!(r.is_none());
        assert_eq!(reload(&outputs.handle(), false, || Ok(7)), Some(7));
        outputs.shutdown();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["priority"], "Critical");
        assert_eq!(v["rule"], RELOAD_FAILURE_RULE);
        assert!(v["output"]
            .as_str()
            .unwrap()
            .starts_with("Falco internal: hot restart failure: rules.yaml:3:7"));
    }

    #[test]
    fn watcher_notices_appended_config() {
        let dir = temp_dir("watch");
        let cfg = dir.join("falco.yaml");
        std::fs::write(&cfg, "watch_config_files: true").unwrap();
        let rules_dir = dir.join("rules.d");
        std::fs::create_dir_all(&rules_dir).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let _w = ConfigWatcher::start(vec![cfg.clone(), rules_dir.clone()], flag.clone()).unwrap();
        std::thread::sleep(ConfigWatcher::INTERVAL * 2);
        assert!(!flag.load(Ordering::Relaxed));
        let mut f = std::fs::OpenOptions::new().append(true).open(&cfg).unwrap();
        std::io::Write::write_all(&mut f, b"  \n\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !flag.swap(false, Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "change not noticed");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(rules_dir.join("new.yaml"), "- list: x\n  items: []\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !flag.swap(false, Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "new rules file not noticed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
