//! Matching: the loaded rules indexed by event type, evaluated per event.
//!
//! [`Engine::new`] takes the rules in load order and builds, once, a table from event type id
//! to the rules that can match that type (a rule without an `evt.type` restriction is in every
//! slot). [`Engine::process`] looks the event's type up and tests only those rules, in load
//! order; with [`RuleMatching::First`] it stops at the first match (Falco's default), with
//! [`RuleMatching::All`] every matching rule fires. Nothing is allocated per event.
//!
//! The engine does not know how conditions are represented: a rule carries any
//! [`Condition`] (the compiled filter of the rules loader, or a closure in tests).

use std::sync::Arc;

use crate::event::table::EVENT_TYPE_COUNT;
use crate::fields::Extractor;
use crate::format::OutputFormat;
use crate::priority::Priority;

pub use crate::config::RuleMatching;

/// A compiled rule condition.
pub trait Condition: Send + Sync {
    /// Whether the current event (seen through `x`) satisfies the condition.
    fn matches(&self, x: &mut dyn Extractor) -> bool;
    /// The event type ids the condition can match; `None` = any type.
    fn event_types(&self) -> Option<Vec<u16>>;
}

/// A condition built from a closure and an event type list (tests, internal rules).
pub struct FnCondition<F> {
    pub types: Option<Vec<u16>>,
    pub f: F,
}

impl<F: Fn(&mut dyn Extractor) -> bool + Send + Sync> Condition for FnCondition<F> {
    fn matches(&self, x: &mut dyn Extractor) -> bool {
        (self.f)(x)
    }
    fn event_types(&self) -> Option<Vec<u16>> {
        self.types.clone()
    }
}

/// A rule as the engine runs it. `name`, `source` and `tags` are shared with every alert.
pub struct EngineRule {
    pub name: Arc<str>,
    pub priority: Priority,
    pub source: Arc<str>,
    /// Sorted and deduplicated (Falco keeps tags in a `std::set`).
    pub tags: Arc<[String]>,
    pub output: OutputFormat,
    pub condition: Box<dyn Condition>,
}

impl EngineRule {
    pub fn new(
        name: &str,
        priority: Priority,
        source: &str,
        tags: &[String],
        output: OutputFormat,
        condition: Box<dyn Condition>,
    ) -> EngineRule {
        let mut tags = tags.to_vec();
        tags.sort();
        tags.dedup();
        EngineRule {
            name: Arc::from(name),
            priority,
            source: Arc::from(source),
            tags: Arc::from(tags),
            output,
            condition,
        }
    }

    /// What the formatter needs to build this rule's alert.
    pub fn alert_info(&self) -> crate::format::RuleInfo<'_> {
        crate::format::RuleInfo {
            name: &self.name,
            priority: self.priority,
            source: &self.source,
            tags: &self.tags,
            output: &self.output,
        }
    }
}

impl std::fmt::Debug for EngineRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRule")
            .field("name", &self.name)
            .field("priority", &self.priority)
            .field("source", &self.source)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// The rules of one event source, indexed by event type.
pub struct Engine {
    rules: Vec<EngineRule>,
    matching: RuleMatching,
    /// Event type id → indices into `rules`, ascending (load order).
    by_type: Vec<Box<[u32]>>,
    /// Rules for event types beyond the table (only rules without a type restriction).
    any_type: Box<[u32]>,
    /// Matches per rule since the engine was built.
    match_counts: Vec<u64>,
    interest: Vec<u16>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("matching", &self.matching)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine over `rules` (load order; disabled rules must already be left out).
    pub fn new(rules: Vec<EngineRule>, matching: RuleMatching) -> Engine {
        let mut by_type: Vec<Vec<u32>> = vec![Vec::new(); EVENT_TYPE_COUNT];
        let mut any_type = Vec::new();
        let mut wanted = vec![false; EVENT_TYPE_COUNT];
        for (i, r) in rules.iter().enumerate() {
            let i = i as u32;
            match r.condition.event_types() {
                None => {
                    any_type.push(i);
                    for (slot, w) in by_type.iter_mut().zip(wanted.iter_mut()) {
                        slot.push(i);
                        *w = true;
                    }
                }
                Some(types) => {
                    for t in types {
                        if let Some(slot) = by_type.get_mut(t as usize) {
                            if slot.last() != Some(&i) {
                                slot.push(i);
                            }
                            wanted[t as usize] = true;
                        }
                    }
                }
            }
        }
        // Each slot must stay in load order even when a rule listed a type twice.
        for slot in &mut by_type {
            slot.sort_unstable();
            slot.dedup();
        }
        let interest = wanted
            .iter()
            .enumerate()
            .filter(|(_, w)| **w)
            .map(|(t, _)| t as u16)
            .collect();
        let n = rules.len();
        Engine {
            rules,
            matching,
            by_type: by_type.into_iter().map(Vec::into_boxed_slice).collect(),
            any_type: any_type.into_boxed_slice(),
            match_counts: vec![0; n],
            interest,
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[EngineRule] {
        &self.rules
    }

    pub fn matching(&self) -> RuleMatching {
        self.matching
    }

    /// Event type ids some rule can match (sorted). The driver's interest set is this plus the
    /// events the state tracker needs.
    pub fn interest_set(&self) -> Vec<u16> {
        self.interest.clone()
    }

    /// Number of rules that can match events of type `etype`.
    pub fn rules_for_type(&self, etype: u16) -> usize {
        self.slot(etype).len()
    }

    /// Matches per rule (indexed like [`Engine::rules`]) since the engine was built.
    pub fn match_counts(&self) -> &[u64] {
        &self.match_counts
    }

    fn slot(&self, etype: u16) -> &[u32] {
        self.by_type
            .get(etype as usize)
            .map(|s| &s[..])
            .unwrap_or(&self.any_type)
    }

    /// Tests the current event against the rules for its type; calls `on_match` with the rule's
    /// index (in [`Engine::rules`]) for the first matching rule (`first`) or for every one
    /// (`all`). Returns the number of matches.
    pub fn process(
        &mut self,
        x: &mut dyn Extractor,
        on_match: &mut dyn FnMut(usize, &EngineRule, &mut dyn Extractor),
    ) -> usize {
        let etype = x.event_type();
        let slot = match self.by_type.get(etype as usize) {
            Some(s) => &s[..],
            None => &self.any_type[..],
        };
        let mut matched = 0;
        for &i in slot {
            let rule = &self.rules[i as usize];
            if rule.condition.matches(x) {
                self.match_counts[i as usize] += 1;
                matched += 1;
                on_match(i as usize, rule, x);
                if self.matching == RuleMatching::First {
                    break;
                }
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests;
