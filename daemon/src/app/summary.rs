//! The end-of-run summary Falco prints on stdout: events detected, counts by severity and by
//! rule (rules in load order, severities from most to least severe).

use std::fmt;

use crate::priority::Priority;

/// Counts of alerts raised during a run.
#[derive(Debug, Default, Clone)]
pub struct AlertCounts {
    total: u64,
    by_priority: [u64; 8],
    /// (rule name, count) in the order the rules were registered (load order).
    by_rule: Vec<(String, u64)>,
}

impl AlertCounts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a rule so it is listed in load order; returns its index for `record`.
    pub fn register_rule(&mut self, name: &str) -> usize {
        self.by_rule.push((name.to_string(), 0));
        self.by_rule.len() - 1
    }

    /// Counts one alert of rule `rule_index` (from `register_rule`).
    pub fn record(&mut self, rule_index: usize, priority: Priority) {
        self.total += 1;
        self.by_priority[priority as usize] += 1;
        if let Some(entry) = self.by_rule.get_mut(rule_index) {
            entry.1 += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

impl fmt::Display for AlertCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Events detected: {}", self.total)?;
        writeln!(f, "Rule counts by severity:")?;
        for p in Priority::ALL {
            let n = self.by_priority[p as usize];
            if n > 0 {
                writeln!(f, "   {}: {}", p.short_upper(), n)?;
            }
        }
        writeln!(f, "Triggered rules by rule name:")?;
        for (name, n) in &self.by_rule {
            if *n > 0 {
                writeln!(f, "   {name}: {n}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_nonzero_counts_in_order() {
        let mut c = AlertCounts::new();
        let a = c.register_rule("open_from_cat");
        let b = c.register_rule("never");
        let e = c.register_rule("exec_from_cat");
        for _ in 0..8 {
            c.record(a, Priority::Warning);
        }
        c.record(e, Priority::Error);
        let _ = b;
        let text = c.to_string();
        assert_eq!(
            text,
            "Events detected: 9\nRule counts by severity:\n   ERROR: 1\n   WARNING: 8\n\
             Triggered rules by rule name:\n   open_from_cat: 8\n   exec_from_cat: 1\n"
        );
    }

    #[test]
    fn empty_run() {
        let c = AlertCounts::new();
        assert_eq!(
            c.to_string(),
            "Events detected: 0\nRule counts by severity:\nTriggered rules by rule name:\n"
        );
    }
}
