//! Counters the outputs keep for `/metrics`, `/healthz` and the logs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::alert::Alert;
use crate::priority::Priority;

/// Milliseconds on a monotonic clock since the first call (never 0: 0 means "unset").
pub fn monotonic_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// The five channels, for per-channel counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChannelKind {
    Stdout = 0,
    File = 1,
    Syslog = 2,
    Program = 3,
    Http = 4,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Stdout,
        ChannelKind::File,
        ChannelKind::Syslog,
        ChannelKind::Program,
        ChannelKind::Http,
    ];

    /// Falco's output names (`"file" output timeout ...`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Stdout => "stdout",
            ChannelKind::File => "file",
            ChannelKind::Syslog => "syslog",
            ChannelKind::Program => "program",
            ChannelKind::Http => "http",
        }
    }
}

/// Labels of falco-exporter's `falco_events` counter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventLabels {
    pub rule: String,
    pub priority: Priority,
    pub source: String,
    pub tags: String,
    pub k8s_ns_name: String,
    pub k8s_pod_name: String,
}

/// Shared counters; every field is safe to read from any thread.
#[derive(Debug, Default)]
pub struct OutputStats {
    /// Alerts accepted into the queue.
    pub enqueued: AtomicU64,
    /// Alerts the worker has finished handing to every channel.
    pub processed: AtomicU64,
    /// Alerts dropped because the queue was full (`outputs_queue.capacity`).
    pub queue_drops: AtomicU64,
    /// Per channel: alerts written.
    pub delivered: [AtomicU64; 5],
    /// Per channel: alerts that failed (write error, HTTP error after retries, ...).
    pub failed: [AtomicU64; 5],
    /// Per channel: alerts dropped without an attempt (HTTP queue full).
    pub dropped: [AtomicU64; 5],
    /// When the worker started the channel call it is in ([`monotonic_ms`]); 0 when idle.
    pub busy_since_ms: AtomicU64,
    /// Which channel that call is for ([`ChannelKind`] as usize).
    pub busy_channel: AtomicUsize,
    pub worker_alive: AtomicBool,
    /// Program output: children spawned (first start and restarts).
    pub program_spawns: AtomicU64,
    /// Program output: the running program's process group.
    pub program: super::program::ProgramGroup,
    /// Output reopen requests handled (SIGUSR1).
    pub reopens: AtomicU64,
    /// Channel sets switched by a reload ([`super::Outputs::reconfigure`]).
    pub reconfigures: AtomicU64,
    events: Mutex<BTreeMap<EventLabels, u64>>,
}

impl OutputStats {
    pub fn count_alert(&self, alert: &Alert) {
        let key = EventLabels {
            rule: alert.rule.to_string(),
            priority: alert.priority,
            source: alert.source.to_string(),
            tags: alert.exporter_tags(),
            k8s_ns_name: alert.k8s_ns_name.clone().unwrap_or_default(),
            k8s_pod_name: alert.k8s_pod_name.clone().unwrap_or_default(),
        };
        if let Ok(mut m) = self.events.lock() {
            *m.entry(key).or_insert(0) += 1;
        }
    }

    /// A snapshot of the `falco_events` series.
    pub fn events(&self) -> Vec<(EventLabels, u64)> {
        match self.events.lock() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Alerts waiting in the queue.
    pub fn queue_depth(&self) -> u64 {
        self.enqueued
            .load(Ordering::Relaxed)
            .saturating_sub(self.processed.load(Ordering::Relaxed))
    }

    /// The channel the worker has been stuck in for longer than `limit_ms`, if any.
    pub fn wedged(&self, limit_ms: u64) -> Option<(ChannelKind, u64)> {
        let since = self.busy_since_ms.load(Ordering::Acquire);
        if since == 0 {
            return None;
        }
        let elapsed = monotonic_ms().saturating_sub(since);
        if elapsed <= limit_ms {
            return None;
        }
        let idx = self.busy_channel.load(Ordering::Relaxed);
        ChannelKind::ALL.get(idx).map(|k| (*k, elapsed))
    }

    pub fn add(&self, counter: &[AtomicU64; 5], kind: ChannelKind) {
        counter[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &[AtomicU64; 5], kind: ChannelKind) -> u64 {
        counter[kind as usize].load(Ordering::Relaxed)
    }
}

/// Logs at most one message per `interval_ms` per limiter, reporting how many were held back,
/// so a failing output cannot flood the log.
#[derive(Debug, Default)]
pub struct LogLimiter {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimiter {
    pub const INTERVAL_MS: u64 = 1000;

    /// Logs `msg()` at `level` unless one was logged less than a second ago.
    pub fn log(&self, level: Priority, msg: impl FnOnce() -> String) {
        let now = monotonic_ms();
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < Self::INTERVAL_MS {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self
            .last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let held = self.suppressed.swap(0, Ordering::Relaxed);
        let mut text = msg();
        if held > 0 {
            text.push_str(&format!(" ({held} similar messages suppressed)"));
        }
        crate::logger::log(level, &text);
    }
}
