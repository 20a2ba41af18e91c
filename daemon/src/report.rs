//! `falco report [FILE|-]`: a table of the rules that fired, for deciding which to tune.
//!
//! Reads JSON alert lines (a file output, or `journalctl -u falco -o cat`), skips anything that
//! is not an alert, and prints per rule: count, priority, last time and the most frequent
//! `output_fields` values.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};

use serde_json::Value;

/// How many of the most frequent field values to show per rule.
const TOP_FIELDS: usize = 3;

#[derive(Debug, Default)]
struct RuleStats {
    count: u64,
    priority: String,
    last_time: String,
    /// (field, value) → occurrences.
    field_values: HashMap<(String, String), u64>,
}

/// Aggregated alerts, by rule.
#[derive(Debug, Default)]
pub struct Report {
    rules: HashMap<String, RuleStats>,
    alerts: u64,
    skipped_lines: u64,
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one input line; lines that are not JSON alerts are counted as skipped.
    pub fn add_line(&mut self, line: &str) {
        let Some(alert) = parse_alert(line) else {
            if !line.trim().is_empty() {
                self.skipped_lines += 1;
            }
            return;
        };
        self.alerts += 1;
        let stats = self.rules.entry(alert.rule).or_default();
        stats.count += 1;
        stats.priority = alert.priority;
        // RFC 3339 times in UTC compare correctly as strings.
        if alert.time > stats.last_time {
            stats.last_time = alert.time;
        }
        for (field, value) in alert.fields {
            *stats.field_values.entry((field, value)).or_insert(0) += 1;
        }
    }

    /// Reads every line of `input`.
    pub fn add_reader<R: BufRead>(&mut self, input: R) -> io::Result<()> {
        for line in input.split(b'\n') {
            let line = line?;
            self.add_line(&String::from_utf8_lossy(&line));
        }
        Ok(())
    }

    /// The table, rules by descending count (then by name).
    pub fn render(&self) -> String {
        let mut rows: Vec<(&String, &RuleStats)> = self.rules.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        let name_w = rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let prio_w = rows
            .iter()
            .map(|r| r.1.priority.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let time_w = rows
            .iter()
            .map(|r| r.1.last_time.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = format!(
            "{:<name_w$}  {:<prio_w$}  {:>7}  {:<time_w$}  TOP FIELDS\n",
            "RULE", "PRIORITY", "COUNT", "LAST TIME"
        );
        for (name, s) in rows {
            let mut top: Vec<(&(String, String), &u64)> = s.field_values.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let fields: Vec<String> = top
                .iter()
                .take(TOP_FIELDS)
                .map(|((f, v), n)| format!("{f}={v} ({n})"))
                .collect();
            out.push_str(&format!(
                "{:<name_w$}  {:<prio_w$}  {:>7}  {:<time_w$}  {}\n",
                name,
                s.priority,
                s.count,
                s.last_time,
                fields.join(", ")
            ));
        }
        out.push_str(&format!(
            "{} alerts, {} rules, {} non-alert lines skipped\n",
            self.alerts,
            self.rules.len(),
            self.skipped_lines
        ));
        out
    }
}

struct ParsedAlert {
    rule: String,
    priority: String,
    time: String,
    fields: Vec<(String, String)>,
}

/// An alert is a JSON object with string `rule` and `priority`; a prefix before the first `{`
/// (syslog or journal decorations) is ignored.
fn parse_alert(line: &str) -> Option<ParsedAlert> {
    let start = line.find('{')?;
    let doc: Value = serde_json::from_str(line[start..].trim_end()).ok()?;
    let obj = doc.as_object()?;
    let rule = obj.get("rule")?.as_str()?.to_string();
    let priority = obj.get("priority")?.as_str()?.to_string();
    let time = obj
        .get("time")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut fields = Vec::new();
    if let Some(of) = obj.get("output_fields").and_then(Value::as_object) {
        for (k, v) in of {
            // Timestamps are unique per alert: they say nothing about what to tune.
            if k.starts_with("evt.time") || k == "evt.datetime" || k == "evt.num" {
                continue;
            }
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Null => "<NA>".to_string(),
                other => other.to_string(),
            };
            fields.push((k.clone(), value));
        }
    }
    Some(ParsedAlert {
        rule,
        priority,
        time,
        fields,
    })
}

/// Runs `falco report [FILE|-]`; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let source = args.first().map(String::as_str).unwrap_or("-");
    if args.len() > 1 || source == "-h" || source == "--help" {
        eprintln!("usage: falco report [FILE|-]   (JSON alert lines; '-' or nothing reads stdin)");
        return if source == "-h" || source == "--help" {
            0
        } else {
            1
        };
    }
    let mut report = Report::new();
    let result = if source == "-" {
        report.add_reader(io::stdin().lock())
    } else {
        match std::fs::File::open(source) {
            Ok(f) => report.add_reader(io::BufReader::new(f)),
            Err(e) => {
                eprintln!("falco report: cannot open {source}: {e}");
                return 1;
            }
        }
    };
    if let Err(e) = result {
        eprintln!("falco report: error reading {source}: {e}");
        return 1;
    }
    let mut stdout = io::stdout().lock();
    if stdout.write_all(report.render().as_bytes()).is_err() {
        return 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, prio: &str, time: &str, proc_name: &str, file: &str) -> String {
        serde_json::json!({
            "hostname": "h", "output": "x", "priority": prio, "rule": rule, "source": "syscall",
            "tags": [], "time": time,
            "output_fields": {"evt.time": 1, "proc.name": proc_name, "fd.name": file,
                              "container.id": null}
        })
        .to_string()
    }

    #[test]
    fn aggregates_by_rule_and_skips_noise() {
        let mut r = Report::new();
        r.add_line(&alert(
            "Read sensitive",
            "Warning",
            "2026-01-01T00:00:01.000000000Z",
            "cat",
            "/etc/shadow",
        ));
        r.add_line("Sun Nov 22 10:00:00 2026: Falco initialized with configuration file");
        r.add_line(&alert(
            "Read sensitive",
            "Warning",
            "2026-01-01T00:00:03.000000000Z",
            "cat",
            "/etc/shadow",
        ));
        r.add_line(&format!(
            "falco[12]: {}",
            alert(
                "Read sensitive",
                "Warning",
                "2026-01-01T00:00:02.000000000Z",
                "less",
                "/etc/shadow"
            )
        ));
        r.add_line(&alert(
            "Write below etc",
            "Error",
            "2026-01-01T00:00:00.000000000Z",
            "vi",
            "/etc/hosts",
        ));
        r.add_line("{not json");
        r.add_line("");
        let table = r.render();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("RULE"));
        assert!(lines[1].starts_with("Read sensitive"), "{table}");
        assert!(lines[1].contains("      3"));
        assert!(lines[1].contains("2026-01-01T00:00:03.000000000Z"));
        assert!(lines[1].contains("fd.name=/etc/shadow (3)"));
        assert!(lines[1].contains("proc.name=cat (2)"));
        assert!(!lines[1].contains("evt.time"));
        assert!(lines[2].starts_with("Write below etc"));
        assert!(lines[2].contains("container.id=<NA> (1)"));
        assert_eq!(lines[3], "4 alerts, 2 rules, 2 non-alert lines skipped");
    }

    #[test]
    fn empty_input_gives_an_empty_table() {
        let r = Report::new();
        assert!(r
            .render()
            .ends_with("0 alerts, 0 rules, 0 non-alert lines skipped\n"));
    }

    #[test]
    fn reads_invalid_utf8_without_failing() {
        let mut r = Report::new();
        let mut input = alert("R", "Notice", "t", "p", "f").into_bytes();
        input.extend_from_slice(b"\n\xff\xfe garbage\n");
        r.add_reader(io::Cursor::new(input)).unwrap();
        assert!(r
            .render()
            .contains("1 alerts, 1 rules, 1 non-alert lines skipped"));
    }
}
