//! [`Health`]: what the running pipeline tells the webserver, shared between the hot loop (the
//! only writer of the counters, with relaxed atomic stores — no lock, no allocation per event)
//! and the webserver (reader of `/healthz` and `/metrics`).
//!
//! The hot loop's part of the contract:
//!
//! ```text
//! health.source_opened();                    // after the source is open (kmod / nodriver / replay)
//! loop {
//!     let batch = source.next_batch_or_timeout();
//!     ... process ...
//!     health.beat();                         // at least every 100 ms, also when idle
//!     health.publish_source(&counts);        // cheap: a few relaxed stores
//!     rule_counters.record(rule_index);      // per match
//! }
//! health.stopping();                         // before draining outputs at exit
//! ```
//!
//! `/healthz` is 200 only when the source is open, the hot loop beat within
//! [`Health::stall_limit`], and the outputs worker is alive and not stuck in a channel call for
//! longer than `output_timeout`; otherwise 503 with the reason.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::outputs::stats::monotonic_ms;
use crate::outputs::OutputStats;
use crate::priority::Priority;

/// How long the hot loop may go without a [`Health::beat`] before `/healthz` says it is stuck.
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(5);

/// Event source counters, as the hot loop last published them (totals since the source opened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Events the source produced (the driver's count for kmod; records read for replay).
    pub events: u64,
    /// Events lost because a ring buffer was full.
    pub drops_buffer: u64,
    /// User-memory reads that faulted (parameter left empty).
    pub drops_page_faults: u64,
    /// Records the reader rejected as malformed (a driver or reader bug).
    pub drops_bug: u64,
    /// Records with a string or buffer cut at its capture limit.
    pub truncated: u64,
}

/// State table sizes and counters, as the hot loop last published them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub threads: u64,
    pub fds: u64,
    pub threads_added: u64,
    pub threads_removed: u64,
    pub threads_dropped_full_table: u64,
    pub fds_added: u64,
    pub fds_removed: u64,
    /// Containers with metadata in the state.
    pub containers: u64,
    /// Live source: reads of a container runtime's files for a container's metadata, the
    /// containers found, those still unknown after the quick retries, and the lookups that
    /// failed on an unreadable or malformed file (`state::container_runtime`).
    pub container_lookups: u64,
    pub container_lookups_found: u64,
    pub container_lookups_not_found: u64,
    pub container_lookup_errors: u64,
}

/// A rule as `/metrics` labels it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub name: String,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
}

/// Per-rule match counters of one loaded ruleset, indexed like the ruleset's rules. The hot
/// loop keeps an `Arc` of it and calls [`RuleCounters::record`]; a reload installs a new one.
#[derive(Debug, Default)]
pub struct RuleCounters {
    rules: Vec<RuleInfo>,
    matches: Vec<AtomicU64>,
}

impl RuleCounters {
    pub fn new(rules: Vec<RuleInfo>) -> Self {
        let matches = rules.iter().map(|_| AtomicU64::new(0)).collect();
        RuleCounters { rules, matches }
    }

    /// Counts one match of rule `index` (an index out of range is ignored).
    pub fn record(&self, index: usize) {
        if let Some(c) = self.matches.get(index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Rules with at least one match, with their counts (Falco lists only those).
    pub fn matched(&self) -> Vec<(&RuleInfo, u64)> {
        self.rules
            .iter()
            .zip(&self.matches)
            .map(|(r, c)| (r, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// A file the daemon loaded, for the `sha256_*_files_info` series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedFile {
    /// The file name as Falco reports it (no directory).
    pub file_name: String,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
}

impl LoadedFile {
    /// Hashes `path`; `None` when it cannot be read (it then has no series).
    pub fn from_path(path: &std::path::Path) -> Option<LoadedFile> {
        let data = std::fs::read(path).ok()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        let mut sha256 = String::with_capacity(64);
        for b in digest.as_ref() {
            sha256.push_str(&format!("{b:02x}"));
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Some(LoadedFile { file_name, sha256 })
    }
}

/// What is running, set at start and at each reload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// `engine.kind` name: kmod, nodriver, replay...
    pub engine_name: String,
    /// Event sources enabled (`syscall`).
    pub event_sources: Vec<String>,
    pub rules_files: Vec<LoadedFile>,
    pub config_files: Vec<LoadedFile>,
}

/// The outputs the webserver watches.
struct OutputsProbe {
    stats: Arc<OutputStats>,
    timeout_ms: u64,
}

/// Liveness and counters of the pipeline; see the module documentation.
pub struct Health {
    stall_limit: Duration,
    start_wall: SystemTime,
    start_ms: u64,
    source_open: AtomicBool,
    stopping: AtomicBool,
    last_beat_ms: AtomicU64,
    events: AtomicU64,
    drops_buffer: AtomicU64,
    drops_page_faults: AtomicU64,
    drops_bug: AtomicU64,
    truncated: AtomicU64,
    threads: AtomicU64,
    fds: AtomicU64,
    threads_added: AtomicU64,
    threads_removed: AtomicU64,
    threads_dropped_full_table: AtomicU64,
    fds_added: AtomicU64,
    fds_removed: AtomicU64,
    containers: AtomicU64,
    container_lookups: AtomicU64,
    container_lookups_found: AtomicU64,
    container_lookups_not_found: AtomicU64,
    container_lookup_errors: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    outputs: Mutex<Option<OutputsProbe>>,
    rules: Mutex<Arc<RuleCounters>>,
    run: Mutex<Arc<RunInfo>>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(DEFAULT_STALL_LIMIT)
    }
}

impl Health {
    pub fn new(stall_limit: Duration) -> Health {
        Health {
            stall_limit,
            start_wall: SystemTime::now(),
            start_ms: monotonic_ms(),
            source_open: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            last_beat_ms: AtomicU64::new(0),
            events: AtomicU64::new(0),
            drops_buffer: AtomicU64::new(0),
            drops_page_faults: AtomicU64::new(0),
            drops_bug: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            threads: AtomicU64::new(0),
            fds: AtomicU64::new(0),
            threads_added: AtomicU64::new(0),
            threads_removed: AtomicU64::new(0),
            threads_dropped_full_table: AtomicU64::new(0),
            fds_added: AtomicU64::new(0),
            fds_removed: AtomicU64::new(0),
            containers: AtomicU64::new(0),
            container_lookups: AtomicU64::new(0),
            container_lookups_found: AtomicU64::new(0),
            container_lookups_not_found: AtomicU64::new(0),
            container_lookup_errors: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            outputs: Mutex::new(None),
            rules: Mutex::new(Arc::new(RuleCounters::default())),
            run: Mutex::new(Arc::new(RunInfo::default())),
        }
    }

    pub fn stall_limit(&self) -> Duration {
        self.stall_limit
    }

    /// When this `Health` was created (the daemon's start).
    pub fn start_time(&self) -> SystemTime {
        self.start_wall
    }

    /// Seconds since the start, on a monotonic clock.
    pub fn uptime(&self) -> Duration {
        Duration::from_millis(monotonic_ms().saturating_sub(self.start_ms))
    }

    /// The event source is open; counts as a first beat.
    pub fn source_opened(&self) {
        self.beat();
        self.source_open.store(true, Ordering::Release);
    }

    /// The event source closed (end of a capture, error, shutdown).
    pub fn source_closed(&self) {
        self.source_open.store(false, Ordering::Release);
    }

    /// The hot loop is making progress. Call it at least every 100 ms, also while idle.
    pub fn beat(&self) {
        self.last_beat_ms.store(monotonic_ms(), Ordering::Relaxed);
    }

    /// The daemon is shutting down: `/healthz` answers 503 from now on.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    pub fn publish_source(&self, c: &SourceCounts) {
        self.events.store(c.events, Ordering::Relaxed);
        self.drops_buffer.store(c.drops_buffer, Ordering::Relaxed);
        self.drops_page_faults
            .store(c.drops_page_faults, Ordering::Relaxed);
        self.drops_bug.store(c.drops_bug, Ordering::Relaxed);
        self.truncated.store(c.truncated, Ordering::Relaxed);
    }

    pub fn source_counts(&self) -> SourceCounts {
        SourceCounts {
            events: self.events.load(Ordering::Relaxed),
            drops_buffer: self.drops_buffer.load(Ordering::Relaxed),
            drops_page_faults: self.drops_page_faults.load(Ordering::Relaxed),
            drops_bug: self.drops_bug.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
        }
    }

    pub fn publish_state(&self, c: &StateCounts) {
        self.threads.store(c.threads, Ordering::Relaxed);
        self.fds.store(c.fds, Ordering::Relaxed);
        self.threads_added.store(c.threads_added, Ordering::Relaxed);
        self.threads_removed
            .store(c.threads_removed, Ordering::Relaxed);
        self.threads_dropped_full_table
            .store(c.threads_dropped_full_table, Ordering::Relaxed);
        self.fds_added.store(c.fds_added, Ordering::Relaxed);
        self.fds_removed.store(c.fds_removed, Ordering::Relaxed);
        self.containers.store(c.containers, Ordering::Relaxed);
        self.container_lookups
            .store(c.container_lookups, Ordering::Relaxed);
        self.container_lookups_found
            .store(c.container_lookups_found, Ordering::Relaxed);
        self.container_lookups_not_found
            .store(c.container_lookups_not_found, Ordering::Relaxed);
        self.container_lookup_errors
            .store(c.container_lookup_errors, Ordering::Relaxed);
    }

    pub fn state_counts(&self) -> StateCounts {
        StateCounts {
            threads: self.threads.load(Ordering::Relaxed),
            fds: self.fds.load(Ordering::Relaxed),
            threads_added: self.threads_added.load(Ordering::Relaxed),
            threads_removed: self.threads_removed.load(Ordering::Relaxed),
            threads_dropped_full_table: self.threads_dropped_full_table.load(Ordering::Relaxed),
            fds_added: self.fds_added.load(Ordering::Relaxed),
            fds_removed: self.fds_removed.load(Ordering::Relaxed),
            containers: self.containers.load(Ordering::Relaxed),
            container_lookups: self.container_lookups.load(Ordering::Relaxed),
            container_lookups_found: self.container_lookups_found.load(Ordering::Relaxed),
            container_lookups_not_found: self.container_lookups_not_found.load(Ordering::Relaxed),
            container_lookup_errors: self.container_lookup_errors.load(Ordering::Relaxed),
        }
    }

    /// A reload (SIGHUP or watched file) finished: `ok` when the new pipeline took over.
    pub fn record_reload(&self, ok: bool) {
        if ok {
            self.reloads.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reload_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (successful reloads, failed reloads).
    pub fn reload_counts(&self) -> (u64, u64) {
        (
            self.reloads.load(Ordering::Relaxed),
            self.reload_failures.load(Ordering::Relaxed),
        )
    }

    /// The outputs to watch (`output_timeout` is the wedge limit); replaced at each restart.
    pub fn set_outputs(&self, stats: Arc<OutputStats>, output_timeout: Duration) {
        let probe = OutputsProbe {
            stats,
            timeout_ms: output_timeout.as_millis().max(1) as u64,
        };
        if let Ok(mut o) = self.outputs.lock() {
            *o = Some(probe);
        }
    }

    pub fn outputs_stats(&self) -> Option<Arc<OutputStats>> {
        self.outputs
            .lock()
            .ok()
            .and_then(|o| o.as_ref().map(|p| p.stats.clone()))
    }

    /// Installs the counters of a (re)loaded ruleset and returns them for the hot loop.
    pub fn set_rules(&self, rules: Vec<RuleInfo>) -> Arc<RuleCounters> {
        let counters = Arc::new(RuleCounters::new(rules));
        if let Ok(mut r) = self.rules.lock() {
            *r = counters.clone();
        }
        counters
    }

    pub fn rules(&self) -> Arc<RuleCounters> {
        match self.rules.lock() {
            Ok(r) => r.clone(),
            Err(_) => Arc::new(RuleCounters::default()),
        }
    }

    pub fn set_run_info(&self, info: RunInfo) {
        if let Ok(mut r) = self.run.lock() {
            *r = Arc::new(info);
        }
    }

    pub fn run_info(&self) -> Arc<RunInfo> {
        match self.run.lock() {
            Ok(r) => r.clone(),
            Err(_) => Arc::new(RunInfo::default()),
        }
    }

    /// `Ok` when the pipeline is alive, else why not (the `/healthz` 503 reason).
    pub fn check(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::Acquire) {
            return Err("shutting down".into());
        }
        if !self.source_open.load(Ordering::Acquire) {
            return Err("event source is not open".into());
        }
        let last = self.last_beat_ms.load(Ordering::Relaxed);
        let idle_ms = monotonic_ms().saturating_sub(last);
        if last == 0 || idle_ms > self.stall_limit.as_millis() as u64 {
            return Err(format!(
                "event processing made no progress for {:.1} s (limit {:.1} s)",
                idle_ms as f64 / 1000.0,
                self.stall_limit.as_secs_f64()
            ));
        }
        let outputs = self.outputs.lock().map_err(|_| "outputs state poisoned")?;
        let Some(probe) = outputs.as_ref() else {
            return Err("outputs are not running".into());
        };
        if !probe.stats.worker_alive.load(Ordering::Relaxed) {
            return Err("outputs worker has stopped".into());
        }
        if let Some((kind, ms)) = probe.stats.wedged(probe.timeout_ms) {
            return Err(format!(
                "\"{}\" output blocked for {ms} ms (output_timeout {} ms)",
                kind.name(),
                probe.timeout_ms
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::{Alert, Channel, ChannelKind, Outputs, OutputsSettings};
    use std::sync::Condvar;

    fn settings(timeout_ms: u64) -> OutputsSettings {
        OutputsSettings {
            queue_capacity: 16,
            output_timeout: Duration::from_millis(timeout_ms),
            buffered: true,
            ..OutputsSettings::default()
        }
    }

    /// A channel that blocks until released, standing in for a wedged endpoint.
    struct Gate(Arc<(Mutex<bool>, Condvar)>);

    impl Channel for Gate {
        fn emit(&mut self, _a: &Alert, _l: &str) -> std::io::Result<()> {
            let (m, c) = &*self.0;
            let mut open = m.lock().unwrap();
            while !*open {
                open = c.wait(open).unwrap();
            }
            Ok(())
        }
    }

    fn alert() -> Alert {
        Alert::new(
            0,
            Priority::Warning,
            Arc::from("r"),
            Arc::from("syscall"),
            Arc::from(Vec::new()),
            "x".into(),
        )
    }

    #[test]
    fn healthy_only_with_open_source_recent_beat_and_free_outputs() {
        let h = Health::new(Duration::from_millis(200));
        assert_eq!(h.check().unwrap_err(), "event source is not open");
        h.source_opened();
        assert_eq!(h.check().unwrap_err(), "outputs are not running");

        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let stats = Arc::new(OutputStats::default());
        let channels: Vec<(ChannelKind, Box<dyn Channel>)> =
            vec![(ChannelKind::Http, Box::new(Gate(gate.clone())))];
        let out = Outputs::start_with_channels(&settings(100), channels, stats.clone()).unwrap();
        h.set_outputs(out.stats(), Duration::from_millis(100));
        assert_eq!(h.check(), Ok(()));

        // A stuck channel makes the daemon unhealthy once output_timeout has passed.
        out.handle().send(alert());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let reason = loop {
            h.beat();
            if let Err(r) = h.check() {
                break r;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never reported wedged"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            reason.starts_with("\"http\" output blocked for "),
            "{reason}"
        );
        {
            let (m, c) = &*gate;
            *m.lock().unwrap() = true;
            c.notify_all();
        }
        while out.stats().queue_depth() > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        h.beat();
        assert_eq!(h.check(), Ok(()));

        // No beat for longer than the stall limit: the hot loop is stuck.
        std::thread::sleep(Duration::from_millis(300));
        let r = h.check().unwrap_err();
        assert!(
            r.starts_with("event processing made no progress for"),
            "{r}"
        );
        h.beat();
        assert_eq!(h.check(), Ok(()));

        // The worker gone (shutdown) is unhealthy too.
        out.shutdown();
        assert_eq!(h.check().unwrap_err(), "outputs worker has stopped");

        h.stopping();
        assert_eq!(h.check().unwrap_err(), "shutting down");
    }

    #[test]
    fn rule_counters_list_only_matched_rules() {
        let h = Health::default();
        let info = |n: &str| RuleInfo {
            name: n.into(),
            priority: Priority::Error,
            source: "syscall".into(),
            tags: vec![],
        };
        let c = h.set_rules(vec![info("a"), info("b")]);
        c.record(1);
        c.record(1);
        c.record(7);
        let m = h
            .rules()
            .matched()
            .iter()
            .map(|(r, n)| (r.name.clone(), *n))
            .collect::<Vec<_>>();
        assert_eq!(m, vec![("b".to_string(), 2)]);
        // A reload starts a fresh set; the old Arc held by the old hot loop still works.
        let fresh = h.set_rules(vec![info("c")]);
        c.record(0);
        assert!(h.rules().matched().is_empty());
        fresh.record(0);
        assert_eq!(h.rules().matched()[0].0.name, "c");
    }

    #[test]
    fn loaded_file_hash_is_sha256() {
        let dir = std::env::temp_dir().join(format!("falco-web-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("falco_rules.yaml");
        std::fs::write(&p, b"abc").unwrap();
        let f = LoadedFile::from_path(&p).unwrap();
        assert_eq!(f.file_name, "falco_rules.yaml");
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(LoadedFile::from_path(&dir.join("missing")).is_none());
    }
}
