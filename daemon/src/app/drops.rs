//! Syscall event drop monitoring (`syscall_event_drops` in falco.yaml).
//!
//! Once per second of event time the source's counters are compared with the previous check;
//! when events were dropped (or `simulate_drops` pretends one was) and the drop ratio reaches
//! `threshold`, the configured actions run, rate-limited by a token bucket (`rate` tokens per
//! second, `max_burst` at most, full at start) — Falco's semantics, so the drop cases of the
//! upstream suite see the same counts.

use std::fmt;

const ONE_SECOND_NS: u64 = 1_000_000_000;

/// What to do when drops are detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropAction {
    Ignore,
    Log,
    Alert,
    Exit,
}

impl DropAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ignore" => Some(DropAction::Ignore),
            "log" => Some(DropAction::Log),
            "alert" => Some(DropAction::Alert),
            "exit" => Some(DropAction::Exit),
            _ => None,
        }
    }
}

/// Validated `syscall_event_drops` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DropSettings {
    pub threshold: f64,
    pub actions: Vec<DropAction>,
    pub rate: f64,
    pub max_burst: f64,
    pub simulate_drops: bool,
}

impl Default for DropSettings {
    fn default() -> Self {
        DropSettings {
            threshold: 0.1,
            actions: vec![DropAction::Log, DropAction::Alert],
            rate: 0.03333,
            max_burst: 1.0,
            simulate_drops: false,
        }
    }
}

/// A configuration error, worded as Falco words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropSettingsError {
    #[error("syscall event drops threshold must be a double in the range [0, 1]")]
    ThresholdOutOfRange,
    #[error("syscall event drop action \"{0}\" does not make sense with the \"ignore\" action")]
    IgnoreCombined(String),
    #[error("invalid syscall event drop action \"{0}\" (expected ignore, log, alert or exit)")]
    UnknownAction(String),
}

impl DropSettings {
    /// Builds and validates the settings from their config values.
    pub fn new(
        threshold: f64,
        actions: &[String],
        rate: f64,
        max_burst: f64,
        simulate_drops: bool,
    ) -> Result<Self, DropSettingsError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(DropSettingsError::ThresholdOutOfRange);
        }
        let mut parsed = Vec::new();
        for a in actions {
            let action = DropAction::parse(a.trim())
                .ok_or_else(|| DropSettingsError::UnknownAction(a.clone()))?;
            if !parsed.contains(&action) {
                parsed.push(action);
            }
        }
        if parsed.contains(&DropAction::Ignore) {
            if let Some(other) = parsed.iter().find(|a| **a != DropAction::Ignore) {
                let name = match other {
                    DropAction::Log => "log",
                    DropAction::Alert => "alert",
                    DropAction::Exit => "exit",
                    DropAction::Ignore => "ignore",
                };
                return Err(DropSettingsError::IgnoreCombined(name.to_string()));
            }
        }
        Ok(DropSettings {
            threshold,
            actions: parsed,
            rate,
            max_burst,
            simulate_drops,
        })
    }
}

/// Counters a source reports; cumulative since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceCounters {
    pub events: u64,
    /// Every drop: the sum of the three kinds below.
    pub drops: u64,
    /// Records that did not fit in a full ring.
    pub drops_buffer: u64,
    /// Records whose user memory could not be read.
    pub drops_page_faults: u64,
    /// Records the reader found corrupt.
    pub drops_bug: u64,
}

/// One detection of drops: what the caller must do with it.
#[derive(Clone, Debug, PartialEq)]
pub struct DropNotice {
    pub actions: Vec<DropAction>,
    /// Drops in the last interval (plus one when simulated).
    pub n_drops: u64,
    /// Events in the last interval.
    pub n_evts: u64,
    /// The interval's drops by kind (see [`SourceCounters`]).
    pub n_drops_buffer: u64,
    pub n_drops_page_faults: u64,
    pub n_drops_bug: u64,
}

impl DropNotice {
    /// The message Falco logs and alerts with.
    pub fn message(&self) -> String {
        format!(
            "Falco internal: syscall event drop. {} system calls dropped in last second.",
            self.n_drops
        )
    }

    pub fn wants(&self, a: DropAction) -> bool {
        self.actions.contains(&a)
    }
}

/// Token bucket keyed on event time.
#[derive(Clone, Debug)]
struct TokenBucket {
    rate: f64,
    max: f64,
    tokens: f64,
    last_ns: Option<u64>,
}

impl TokenBucket {
    fn new(rate: f64, max: f64) -> Self {
        TokenBucket {
            rate,
            max,
            tokens: max,
            last_ns: None,
        }
    }

    fn claim(&mut self, now_ns: u64) -> bool {
        if let Some(last) = self.last_ns {
            let elapsed = now_ns.saturating_sub(last) as f64 / ONE_SECOND_NS as f64;
            self.tokens = (self.tokens + elapsed * self.rate).min(self.max);
        }
        self.last_ns = Some(now_ns);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The drop monitor: feed it every event's timestamp and the source counters.
#[derive(Clone, Debug)]
pub struct DropMonitor {
    settings: DropSettings,
    bucket: TokenBucket,
    next_check_ns: u64,
    last: SourceCounters,
    detections: u64,
    actions_taken: u64,
}

impl DropMonitor {
    pub fn new(settings: DropSettings) -> Self {
        let bucket = TokenBucket::new(settings.rate, settings.max_burst);
        DropMonitor {
            settings,
            bucket,
            next_check_ns: 0,
            last: SourceCounters::default(),
            detections: 0,
            actions_taken: 0,
        }
    }

    /// Whether [`DropMonitor::on_event`] at `ts_ns` would look at the counters (the first
    /// event, then once per second of event time): the caller reads the source's counters,
    /// shared memory the driver keeps writing, only then.
    pub fn due(&self, ts_ns: u64) -> bool {
        self.next_check_ns == 0 || ts_ns > self.next_check_ns
    }

    /// Called for every event (or every event [`DropMonitor::due`] accepts); returns a
    /// notice when actions must be taken now.
    pub fn on_event(&mut self, ts_ns: u64, counters: SourceCounters) -> Option<DropNotice> {
        if self.next_check_ns == 0 {
            self.next_check_ns = ts_ns.saturating_add(ONE_SECOND_NS);
            return None;
        }
        if ts_ns <= self.next_check_ns {
            return None;
        }
        self.next_check_ns = ts_ns.saturating_add(ONE_SECOND_NS);
        let n_evts = counters.events.saturating_sub(self.last.events);
        let mut n_drops = counters.drops.saturating_sub(self.last.drops);
        let n_drops_buffer = counters.drops_buffer.saturating_sub(self.last.drops_buffer);
        let n_drops_page_faults = counters
            .drops_page_faults
            .saturating_sub(self.last.drops_page_faults);
        let n_drops_bug = counters.drops_bug.saturating_sub(self.last.drops_bug);
        self.last = counters;
        if self.settings.simulate_drops {
            n_drops += 1;
        }
        if n_drops == 0 {
            return None;
        }
        self.detections += 1;
        let ratio = if n_evts > 0 {
            n_drops as f64 / n_evts as f64
        } else {
            n_drops as f64
        };
        if ratio < self.settings.threshold || !self.bucket.claim(ts_ns) {
            return None;
        }
        self.actions_taken += 1;
        let actions: Vec<DropAction> = self
            .settings
            .actions
            .iter()
            .copied()
            .filter(|a| *a != DropAction::Ignore)
            .collect();
        Some(DropNotice {
            actions,
            n_drops,
            n_evts,
            n_drops_buffer,
            n_drops_page_faults,
            n_drops_bug,
        })
    }

    /// The report printed to stderr at exit.
    pub fn summary(&self) -> DropSummary {
        DropSummary {
            detections: self.detections,
            actions_taken: self.actions_taken,
        }
    }
}

/// End-of-run drop statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropSummary {
    pub detections: u64,
    pub actions_taken: u64,
}

impl fmt::Display for DropSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detections == 0 {
            writeln!(f, "Syscall event drop monitoring:")?;
            return writeln!(f, "   - no drops detected");
        }
        writeln!(f, "Syscall event drop monitoring:")?;
        writeln!(
            f,
            "   - event drop detected: {} occurrences",
            self.detections
        )?;
        writeln!(f, "   - num times actions taken: {}", self.actions_taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(actions: &[&str], burst: f64, simulate: bool) -> DropSettings {
        let actions: Vec<String> = actions.iter().map(|s| s.to_string()).collect();
        DropSettings::new(0.1, &actions, 0.03333, burst, simulate).unwrap()
    }

    /// An enter/exit pair every 1.001 s for ten seconds, like the ping capture of the
    /// upstream suite.
    fn run(monitor: &mut DropMonitor) -> Vec<DropNotice> {
        let mut notices = Vec::new();
        let mut events = 0;
        for i in 0..10u64 {
            for pair in 0..2u64 {
                events += 1;
                let ts = 1_000_000_000_000 + i * 1_001_000_000 + pair * 10_000;
                let c = SourceCounters {
                    events,
                    ..SourceCounters::default()
                };
                notices.extend(monitor.on_event(ts, c));
            }
        }
        notices
    }

    #[test]
    fn due_only_on_the_first_event_and_once_per_second() {
        let mut m = DropMonitor::new(settings(&["log"], 10.0, false));
        let c = SourceCounters::default();
        assert!(m.due(5 * ONE_SECOND_NS));
        assert!(m.on_event(5 * ONE_SECOND_NS, c).is_none());
        assert!(!m.due(5 * ONE_SECOND_NS + 1));
        assert!(!m.due(6 * ONE_SECOND_NS));
        assert!(m.due(6 * ONE_SECOND_NS + 1));
    }

    #[test]
    fn simulated_drops_are_detected_once_per_second() {
        let mut m = DropMonitor::new(settings(&["log"], 10.0, true));
        let notices = run(&mut m);
        assert_eq!(m.summary().detections, 9);
        assert_eq!(m.summary().actions_taken, 9);
        assert_eq!(notices.len(), 9);
        assert!(notices.iter().all(|n| n.wants(DropAction::Log)));
        assert!(m
            .summary()
            .to_string()
            .contains("event drop detected: 9 occurrences"));
    }

    #[test]
    fn the_token_bucket_limits_actions() {
        let mut m = DropMonitor::new(settings(&["alert"], 1.0, true));
        let notices = run(&mut m);
        assert_eq!(m.summary().detections, 9);
        assert_eq!(notices.len(), 1);
        assert_eq!(m.summary().actions_taken, 1);
    }

    #[test]
    fn no_drops_no_notice() {
        let mut m = DropMonitor::new(settings(&["log"], 10.0, false));
        assert!(run(&mut m).is_empty());
        assert_eq!(m.summary().detections, 0);
        assert!(!m.summary().to_string().contains("occurrences"));
    }

    #[test]
    fn real_drops_count_against_the_threshold() {
        let mut m = DropMonitor::new(settings(&["alert"], 10.0, false));
        assert!(m
            .on_event(
                ONE_SECOND_NS,
                SourceCounters {
                    events: 1,
                    ..SourceCounters::default()
                }
            )
            .is_none());
        // 1 drop in 1000 events: below the 10% threshold.
        let low = m.on_event(
            3 * ONE_SECOND_NS,
            SourceCounters {
                events: 1001,
                drops: 1,
                drops_buffer: 1,
                ..SourceCounters::default()
            },
        );
        assert!(low.is_none());
        let high = m.on_event(
            5 * ONE_SECOND_NS,
            SourceCounters {
                events: 1011,
                drops: 11,
                drops_buffer: 8,
                drops_page_faults: 3,
                drops_bug: 0,
            },
        );
        let high = high.expect("10 drops in 10 events is above the threshold");
        assert_eq!(
            (
                high.n_drops,
                high.n_drops_buffer,
                high.n_drops_page_faults,
                high.n_drops_bug
            ),
            (10, 7, 3, 0)
        );
    }

    #[test]
    fn invalid_settings_are_rejected_with_falcos_words() {
        let e = DropSettings::new(1.1, &[], 1.0, 1.0, false).unwrap_err();
        assert!(e.to_string().contains("must be a double in the range"));
        let e = DropSettings::new(-1.0, &[], 1.0, 1.0, false).unwrap_err();
        assert_eq!(e, DropSettingsError::ThresholdOutOfRange);
        let acts = vec!["ignore".to_string(), "log".to_string()];
        let e = DropSettings::new(0.1, &acts, 1.0, 1.0, false).unwrap_err();
        assert!(e.to_string().contains(
            "syscall event drop action \"log\" does not make sense with the \"ignore\" action"
        ));
        let acts = vec!["shout".to_string()];
        assert!(DropSettings::new(0.1, &acts, 1.0, 1.0, false).is_err());
    }
}
