//! The hot loop's per-event work: state → engine → format → outputs queue.
//!
//! [`Pipeline::process`] runs for every event on the source's thread and never waits: alerts go
//! to the bounded outputs queue. The engine and the alert settings can be swapped between two
//! events ([`Pipeline::install`]) — that is how a reload (SIGHUP, watched files) switches over
//! without losing events: the old engine runs until the new one is built.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::Engine;
use crate::event::Event;
use crate::format::{AlertFormatter, AlertSettings};
use crate::outputs::OutputsHandle;
use crate::state::State;
use crate::web::{Health, RuleCounters, RuleInfo, StateCounts};

use super::summary::AlertCounts;

/// State, engine and formatter of a run, with its alert counters.
pub struct Pipeline {
    pub state: State,
    engine: Engine,
    formatter: AlertFormatter,
    outputs: OutputsHandle,
    /// Exit summary; survives reloads (rules keep their slot by name).
    summary: AlertCounts,
    summary_slots: HashMap<Arc<str>, usize>,
    /// Engine rule index → summary slot.
    rule_slot: Vec<usize>,
    /// `/metrics` counters of the current ruleset.
    rule_counters: Arc<RuleCounters>,
    health: Option<Arc<Health>>,
    first_ts: Option<u64>,
    last_ts: u64,
    /// Extraction scratch space, reused by every event.
    scratch: Vec<u8>,
    events: u64,
    alerts: u64,
}

impl Pipeline {
    /// A pipeline over `state` (fresh, or seeded from a capture) sending alerts to `outputs`.
    /// `health`, when given, receives rule counters and state counts for the webserver.
    pub fn new(
        state: State,
        engine: Engine,
        settings: AlertSettings,
        outputs: OutputsHandle,
        health: Option<Arc<Health>>,
    ) -> Pipeline {
        let mut p = Pipeline {
            state,
            engine: Engine::new(Vec::new(), engine.matching()),
            formatter: AlertFormatter::new(settings.clone()),
            outputs,
            summary: AlertCounts::new(),
            summary_slots: HashMap::new(),
            rule_slot: Vec::new(),
            rule_counters: Arc::new(RuleCounters::default()),
            health,
            first_ts: None,
            last_ts: 0,
            scratch: Vec::new(),
            events: 0,
            alerts: 0,
        };
        p.install(engine, settings);
        p
    }

    /// Switches to a new engine and alert settings; the next event uses them.
    pub fn install(&mut self, engine: Engine, settings: AlertSettings) {
        self.rule_slot = engine
            .rules()
            .iter()
            .map(|r| match self.summary_slots.get(&r.name) {
                Some(slot) => *slot,
                None => {
                    let slot = self.summary.register_rule(&r.name);
                    self.summary_slots.insert(r.name.clone(), slot);
                    slot
                }
            })
            .collect();
        let infos = engine
            .rules()
            .iter()
            .map(|r| RuleInfo {
                name: r.name.to_string(),
                priority: r.priority,
                source: r.source.to_string(),
                tags: r.tags.to_vec(),
            })
            .collect();
        self.rule_counters = match &self.health {
            Some(h) => h.set_rules(infos),
            None => Arc::new(RuleCounters::new(infos)),
        };
        self.engine = engine;
        self.formatter = AlertFormatter::new(settings);
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The exit summary so far.
    pub fn summary(&self) -> &AlertCounts {
        &self.summary
    }

    /// Events processed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Alerts raised.
    pub fn alerts(&self) -> u64 {
        self.alerts
    }

    /// Timestamp of the first and the last event seen (0 before any).
    pub fn time_span(&self) -> (u64, u64) {
        (self.first_ts.unwrap_or(0), self.last_ts)
    }

    /// Runs one event through state, rules and formatting.
    pub fn process(&mut self, ev: &Event<'_>, cpu: u16, state_only: bool) {
        self.events += 1;
        self.last_ts = ev.ts();
        let first = *self.first_ts.get_or_insert(ev.ts());
        self.state.set_state_only(state_only);
        self.state.process(ev);
        // Most events are of a type no rule asks for: no extraction at all.
        if state_only || self.engine.rules_for_type(ev.event_type()) == 0 {
            return;
        }
        let Pipeline {
            state,
            engine,
            formatter,
            outputs,
            summary,
            rule_slot,
            rule_counters,
            alerts,
            scratch,
            ..
        } = self;
        let mut x = state
            .extractor(ev)
            .with_cpu(cpu)
            .with_first_ts(first)
            .with_buf(std::mem::take(scratch));
        let ts = ev.ts();
        engine.process(&mut x, &mut |i, rule, x| {
            let alert = formatter.format(ts, rule.alert_info(), x);
            if let Some(slot) = rule_slot.get(i) {
                summary.record(*slot, rule.priority);
            }
            rule_counters.record(i);
            *alerts += 1;
            outputs.send(alert);
        });
        *scratch = x.into_buf();
    }

    /// Publishes the state table counters to the webserver.
    pub fn publish_state(&self) {
        if let Some(h) = &self.health {
            h.publish_state(&state_counts(&self.state));
        }
    }
}

/// The state's table sizes and counters as `/metrics` shows them.
fn state_counts(state: &State) -> StateCounts {
    let s = &state.stats;
    let lookups = state
        .container_resolver
        .as_ref()
        .map(|r| r.stats)
        .unwrap_or_default();
    StateCounts {
        threads: state.threads.len() as u64,
        fds: state.fdtables.values().map(|t| t.fds.len() as u64).sum(),
        threads_added: s.threads_added,
        threads_removed: s.threads_removed,
        threads_dropped_full_table: s.threads_dropped_limit,
        fds_added: s.fds_added,
        fds_removed: s.fds_removed,
        containers: state.containers.len() as u64,
        container_lookups: lookups.attempts,
        container_lookups_found: lookups.found,
        container_lookups_not_found: lookups.not_found,
        container_lookup_errors: lookups.errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container_runtime::{ContainerResolver, RuntimeRoots};

    /// The resolver's counters reach the published state counts: a found container, a miss
    /// and a malformed file each count where `/metrics` shows them.
    #[test]
    fn state_counts_carry_the_container_lookups() {
        let dir =
            std::env::temp_dir().join(format!("falco-pipeline-counts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let found = "a".repeat(64);
        let malformed = "b".repeat(64);
        let missing = "c".repeat(64);
        for (id, text) in [(&found, "{}"), (&malformed, "{not json")] {
            let userdata = dir.join(format!("podman/overlay-containers/{id}/userdata"));
            std::fs::create_dir_all(&userdata).unwrap();
            std::fs::write(userdata.join("config.json"), text).unwrap();
        }
        let mut state = State::default();
        let mut resolver = ContainerResolver::new(RuntimeRoots {
            podman: dir.join("podman"),
            docker: dir.join("docker"),
        });
        let c = resolver.resolve(found.as_bytes(), 1).expect("found");
        state.containers.insert(c.id.clone(), c);
        assert!(resolver.resolve(malformed.as_bytes(), 1).is_none());
        assert!(resolver.resolve(missing.as_bytes(), 1).is_none());
        state.container_resolver = Some(resolver);
        let counts = state_counts(&state);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(counts.containers, 1);
        assert_eq!(counts.container_lookups, 3);
        assert_eq!(counts.container_lookups_found, 1);
        assert_eq!(counts.container_lookup_errors, 1);
        // A miss counts as not found only after the quick retries.
        assert_eq!(counts.container_lookups_not_found, 0);
    }
}
