//! Signals and reloads: SIGUSR1 (reopen outputs), SIGHUP (reload), SIGINT/SIGTERM (stop), the
//! `watch_config_files` watcher, and [`Reloader`] (or the synchronous [`reload`]), which builds and
//! validates a new configuration before anything switches.
//!
//! Handlers only set flags (async-signal-safe); the main loop polls them once per iteration:
//!
//! ```text
//! let signals = SignalFlags::install()?;
//! loop {
//!     if signals.terminate_requested() { break }                  // drain: outputs.shutdown()
//!     if signals.take_reopen() { outputs.reopen() }               // SIGUSR1
//!     if signals.take_reload() { reloader.request() }              // SIGHUP or a watched file
//!     if let Some(new) = reloader.poll() { swap(new) }             // built on its own thread
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

/// A build in progress: its thread and where its result arrives.
type Build<T> = (JoinHandle<()>, std::sync::mpsc::Receiver<Result<T, String>>);

/// A reload that does not stop the hot loop: [`Reloader::request`] (on SIGHUP or a watched file)
/// starts `build` — load and validate the new config and rules, compile the engine — on its own
/// thread, while the old pipeline keeps processing events; the hot loop calls [`Reloader::poll`]
/// between events and installs what it returns, so no event falls into a gap (Falco tears the
/// whole app down and loses events there).
///
/// A failed build is logged and raised as the Critical internal alert
/// "Falco internal: hot restart failure: <error>"; the daemon keeps running as it was. Requests
/// arriving during a build are coalesced into one more build once it finishes (files may have
/// changed after the first build read them).
pub struct Reloader<T> {
    build: Arc<dyn Fn() -> Result<T, String> + Send + Sync>,
    outputs: OutputsHandle,
    iso_8601: bool,
    running: Option<Build<T>>,
    again: bool,
    failures: u64,
}

impl<T: Send + 'static> Reloader<T> {
    pub fn new(
        build: impl Fn() -> Result<T, String> + Send + Sync + 'static,
        outputs: OutputsHandle,
        iso_8601: bool,
    ) -> Self {
        Reloader {
            build: Arc::new(build),
            outputs,
            iso_8601,
            running: None,
            again: false,
            failures: 0,
        }
    }

    /// Starts a build (or queues one more if a build is running). Logs Falco's
    /// "SIGHUP received, restarting...".
    pub fn request(&mut self) {
        crate::logger::info("SIGHUP received, restarting...");
        if self.running.is_some() {
            self.again = true;
        } else {
            self.start();
        }
    }

    /// Builds that failed so far (each already logged and alerted).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// A build is in progress.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    fn start(&mut self) {
        let (tx, rx) = std::sync::mpsc::channel();
        let build = self.build.clone();
        let spawned = std::thread::Builder::new()
            .name("falco-reload".into())
            .spawn(move || {
                let _ = tx.send(build());
            });
        match spawned {
            Ok(handle) => self.running = Some((handle, rx)),
            Err(e) => self.fail(format!("cannot start the reload thread: {e}")),
        }
    }

    fn fail(&mut self, error: String) {
        self.failures += 1;
        let msg = format!("{RELOAD_FAILURE_RULE}: {error}");
        crate::logger::critical(&format!("{msg}; keeping the running configuration"));
        self.outputs.send_internal(
            Priority::Critical,
            RELOAD_FAILURE_RULE,
            &msg,
            &[("error", error.clone())],
            self.iso_8601,
        );
    }

    /// Never blocks: the new state when a build has just succeeded, else `None` (still
    /// building, nothing requested, or failed — then already reported).
    pub fn poll(&mut self) -> Option<T> {
        let (_, rx) = self.running.as_ref()?;
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(std::sync::mpsc::TryRecvError::Empty) => return None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Err("the reload thread ended without a result".to_string())
            }
        };
        if let Some((handle, _)) = self.running.take() {
            let _ = handle.join();
        }
        if std::mem::take(&mut self.again) {
            self.start();
        }
        match result {
            Ok(new) => Some(new),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Waits for a running build (tests, shutdown); same result as [`Reloader::poll`].
    pub fn wait(&mut self, timeout: Duration) -> Option<T> {
        let deadline = std::time::Instant::now() + timeout;
        while self.running.is_some() && std::time::Instant::now() < deadline {
            if let Some(new) = self.poll() {
                return Some(new);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
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
    fn background_reload_keeps_the_caller_running_and_reports_failures() {
        use std::sync::atomic::AtomicU32;
        let dir = temp_dir("reloader");
        let path = dir.join("events.json");
        let outputs = file_outputs(&path);
        let gate = Arc::new(std::sync::Mutex::new(()));
        let builds = Arc::new(AtomicU32::new(0));
        let (g, b) = (gate.clone(), builds.clone());
        // Builds 1 and 3 succeed, build 2 fails; each waits for the gate like a slow rules load.
        let mut r = Reloader::new(
            move || {
                let _held = g.lock().unwrap();
                match b.fetch_add(1, Ordering::SeqCst) + 1 {
                    2 => Err("rules.yaml:1:1: broken".to_string()),
                    n => Ok(n),
                }
            },
            outputs.handle(),
            false,
        );
        assert_eq!(r.poll(), None);
        let held = gate.lock().unwrap();
        r.request();
        assert!(r.is_running());
        // The "hot loop" keeps going while the build waits.
        for _ in 0..20 {
            assert_eq!(r.poll(), None);
            std::thread::sleep(Duration::from_millis(2));
        }
        // Two more requests during the build coalesce into one more build.
        r.request();
        r.request();
        drop(held);
        assert_eq!(r.wait(Duration::from_secs(5)), Some(1));
        assert!(
            r.is_running(),
            "the coalesced request must start another build"
        );
        assert_eq!(r.wait(Duration::from_secs(5)), None);
        assert!(!r.is_running());
        assert_eq!(builds.load(Ordering::SeqCst), 2);
        r.request();
        assert_eq!(r.wait(Duration::from_secs(5)), Some(3));
        outputs.shutdown();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["priority"], "Critical");
        assert_eq!(v["rule"], RELOAD_FAILURE_RULE);
        assert_eq!(v["output_fields"]["error"], "rules.yaml:1:1: broken");
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
