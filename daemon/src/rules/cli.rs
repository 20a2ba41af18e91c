//! The rule-related actions of the command line: `-V/--validate` (text or JSON), `-L` (the
//! compact rule table, with `--list-tag`, `-N`, `-v` and JSON variants), `-l RULE` (one rule's
//! description), `--list [SOURCE]` (fields, with `--markdown` and `-N`).

use std::io::Write;

use serde_json::json;

use super::{load_contents, read_files, LoadOptions, LoadResult, Rule, Ruleset};
use crate::cli::Options;
use crate::config::Config;
use crate::fields::FIELDS;

/// Whether `opts` asks for one of the actions of this module.
pub fn wants(opts: &Options) -> bool {
    !opts.validate.is_empty()
        || opts.list_rules
        || opts.describe_rule.is_some()
        || opts.list_fields.is_some()
}

/// Runs the action; returns the exit code.
pub fn run(opts: &Options) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(source) = &opts.list_fields {
        return list_fields(
            &mut out,
            source,
            opts.markdown,
            opts.names_only,
            opts.verbose,
        );
    }
    let config = match Config::load(opts.config.as_deref(), &opts.options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let load_opts = load_options(&config, opts);
    if !opts.validate.is_empty() {
        return validate(&mut out, opts, &config, &load_opts);
    }
    let paths = match config.effective_rules_files(&opts.rules_files) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let result = match super::load_files(&paths, &load_opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let Some(ruleset) = result.ruleset.as_ref().filter(|_| result.successful()) else {
        let text: Vec<String> = result
            .files
            .iter()
            .filter(|f| !f.successful())
            .map(|f| f.as_text())
            .collect();
        eprintln!("Error: {}", text.join("\n"));
        return 1;
    };
    show_rules(&mut out, ruleset, opts, config.json_output)
}

/// `-l RULE` (Falco's description table) or `-L` (the listing chosen by [`ListStyle`]).
fn show_rules(out: &mut dyn Write, ruleset: &Ruleset, opts: &Options, json: bool) -> i32 {
    if opts.describe_rule.is_some() {
        return describe(out, ruleset, opts.describe_rule.as_deref(), json);
    }
    let style = ListStyle {
        json,
        names_only: opts.names_only,
        descriptions: opts.verbose,
        tags: opts.list_tags.clone(),
    };
    list_rules(out, ruleset, &style)
}

/// Load options from the configuration and the command line.
pub fn load_options(config: &Config, opts: &Options) -> LoadOptions {
    LoadOptions {
        min_priority: config.priority,
        selection: super::selection_from_flags(
            &config.rules,
            &opts.disable_rules,
            &opts.disable_tags,
            &opts.enable_tags,
        ),
        print_format: opts.print_format.clone(),
        ..LoadOptions::default()
    }
}

/// `-V`: every file is loaded (later files see earlier ones) and reported; exit 1 on any error.
fn validate(out: &mut dyn Write, opts: &Options, config: &Config, load_opts: &LoadOptions) -> i32 {
    let contents = match read_files(&opts.validate) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let result = load_contents(&contents, load_opts, false);
    let text = validation_text(&result);
    for f in &result.files {
        if f.successful() && f.has_warnings() {
            crate::logger::warning(&f.as_text());
        }
    }
    if config.json_output {
        let doc = validation_json(&result);
        let _ = writeln!(out, "{doc}");
    } else {
        let _ = writeln!(out, "{text}");
    }
    let _ = out.flush();
    if result.successful() {
        if opts.list_rules || opts.describe_rule.is_some() {
            if let Some(rs) = &result.ruleset {
                let _ = writeln!(out);
                return show_rules(out, rs, opts, config.json_output);
            }
        }
        0
    } else {
        eprintln!("Error: {text}");
        1
    }
}

/// The text `-V` prints: per file `NAME: Ok` or the errors; files with only warnings are
/// `NAME: Ok, with warnings` (the warnings go to the log).
pub fn validation_text(result: &LoadResult) -> String {
    let mut parts = Vec::new();
    for f in &result.files {
        if !f.successful() || !f.has_warnings() {
            parts.push(f.as_text().trim_end_matches('\n').to_string());
        } else {
            parts.push(format!("{}: Ok, with warnings", f.name));
        }
    }
    parts.join("\n")
}

/// The JSON document `-V` prints with `json_output`.
pub fn validation_json(result: &LoadResult) -> serde_json::Value {
    json!({ "falco_load_results": result.files.iter().map(|f| f.as_json()).collect::<Vec<_>>() })
}

/// Falco's wrap of descriptions: words separated by spaces, continuation lines indented.
fn wrap_text(text: &str, indent: usize, line_len: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        if len + word.len() < line_len - indent {
            len += word.len() + 1;
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            len = word.len() + 1;
        }
        out.push_str(word);
        out.push(' ');
    }
    out
}

fn rule_json(rule: &Rule) -> serde_json::Value {
    json!({
        "info": {
            "name": rule.name,
            "description": rule.desc,
            "condition": rule.condition_text,
            "output": rule.output_text,
            "priority": rule.priority.name(),
            "source": rule.source,
            "tags": rule.tags,
            "enabled": rule.enabled,
        }
    })
}

/// How `-L` prints the loaded rules.
#[derive(Clone, Debug, Default)]
pub struct ListStyle {
    /// `json_output`: Falco's JSON document (rules, lists, macros).
    pub json: bool,
    /// `-N`: one rule name per line.
    pub names_only: bool,
    /// `-v`: Falco's two-column name/description table instead of the compact one.
    pub descriptions: bool,
    /// `--list-tag`: only rules carrying one of these tags (all rules when empty).
    pub tags: Vec<String>,
}

impl ListStyle {
    fn selects(&self, rule: &Rule) -> bool {
        self.tags.is_empty() || rule.tags.iter().any(|t| self.tags.contains(t))
    }
}

/// `-L`: the loaded rules, one line each: name, priority, enabled, defining file:line, tags
/// (or the variant `style` asks for). Rules are in definition order.
pub fn list_rules(out: &mut dyn Write, ruleset: &Ruleset, style: &ListStyle) -> i32 {
    let filtered: Ruleset;
    let ruleset = if style.tags.is_empty() {
        ruleset
    } else {
        filtered = Ruleset {
            rules: ruleset
                .rules
                .iter()
                .filter(|r| style.selects(r))
                .cloned()
                .collect(),
            ..ruleset.clone()
        };
        &filtered
    };
    if style.json || style.descriptions {
        return describe(out, ruleset, None, style.json);
    }
    if style.names_only {
        for r in &ruleset.rules {
            let _ = writeln!(out, "{}", r.name);
        }
        return 0;
    }
    let _ = write!(out, "{}", rule_table(&ruleset.rules));
    0
}

/// The compact table of `-L`: columns sized to their longest cell, tags last (they vary most).
fn rule_table(rules: &[Rule]) -> String {
    const HEADERS: [&str; 5] = ["RULE", "PRIORITY", "ENABLED", "FILE:LINE", "TAGS"];
    let rows: Vec<[String; 5]> = rules
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.priority.name().to_string(),
                if r.enabled { "yes" } else { "no" }.to_string(),
                format!("{}:{}", r.defined_in, r.defined_at_line),
                r.tags.join(","),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut push_row = |cells: [&str; 5]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    };
    push_row(HEADERS);
    for row in &rows {
        push_row([&row[0], &row[1], &row[2], &row[3], &row[4]].map(String::as_str));
    }
    let enabled = rules.iter().filter(|r| r.enabled).count();
    text.push_str(&format!(
        "{} rules, {} enabled, {} disabled\n",
        rules.len(),
        enabled,
        rules.len() - enabled
    ));
    text
}

/// `-l NAME` (or `-L -v` with `name` None): Falco's two-column text table, or JSON with
/// `json_output`.
pub fn describe(out: &mut dyn Write, ruleset: &Ruleset, name: Option<&str>, json: bool) -> i32 {
    let rules: Vec<&Rule> = match name {
        Some(n) => match ruleset.rules.iter().find(|r| r.name == n) {
            Some(r) => vec![r],
            None => {
                eprintln!("Error: Rule named '{n}' not found");
                return 1;
            }
        },
        None => ruleset.rules.iter().collect(),
    };
    if json {
        let mut doc = json!({ "rules": rules.iter().map(|r| rule_json(r)).collect::<Vec<_>>() });
        if name.is_none() {
            doc["required_engine_version"] = json!(ruleset
                .required_engine_version
                .map(|v| v.to_string())
                .unwrap_or_default());
            doc["lists"] = ruleset
                .lists
                .iter()
                .map(|(n, items)| json!({ "info": { "name": n, "items": items } }))
                .collect();
            doc["macros"] = ruleset
                .macros
                .iter()
                .map(|(n, c)| json!({ "info": { "name": n, "condition": c } }))
                .collect();
        }
        let _ = writeln!(out, "{doc}");
        return 0;
    }
    let _ = writeln!(out, "{:<50} Description", "Rule");
    let _ = writeln!(out, "{:<50} -----------", "----");
    for r in rules {
        let _ = writeln!(out, "{:<50} {}\n", r.name, wrap_text(&r.desc, 51, 110));
    }
    0
}

fn class_description(class: &str) -> &'static str {
    match class {
        "evt" => "All event types",
        "proc" => "All event types",
        "thread" => "All event types",
        "user" => "All event types",
        "group" => "All event types",
        "fd" => "All event types",
        "fs" => "All event types",
        "container" => "All event types",
        "k8s" => "All event types",
        _ => "",
    }
}

fn wrap_desc(text: &str, start: usize, width: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let wl = word.len() + 1;
        if len + wl <= width - start {
            len += wl;
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(start));
            len = wl;
        }
        out.push_str(word);
        out.push(' ');
    }
    out
}

/// `--list [SOURCE]`: the fields of the `syscall` source grouped by class.
pub fn list_fields(
    out: &mut dyn Write,
    source: &str,
    markdown: bool,
    names_only: bool,
    verbose: bool,
) -> i32 {
    if !source.is_empty() && source != "syscall" {
        eprintln!("Error: Unknown event source {source}");
        return 1;
    }
    let mut classes: Vec<&'static str> = Vec::new();
    for f in FIELDS {
        if !classes.contains(&f.class()) {
            classes.push(f.class());
        }
    }
    for class in classes {
        let fields: Vec<_> = FIELDS.iter().filter(|f| f.class() == class).collect();
        if names_only {
            for f in fields {
                let _ = writeln!(out, "{}", f.name);
            }
            continue;
        }
        if markdown {
            let _ = writeln!(out, "## Field Class: {class}\n");
            let _ = writeln!(out, "Event Sources: syscall \n");
            let _ = writeln!(out, "Name | Type | Description");
            let _ = writeln!(out, ":----|:-----|:-----------");
            for f in fields {
                let _ = writeln!(out, "`{}` | {} | {}", f.name, f.ty.falco_name(), f.desc);
            }
            let _ = writeln!(out);
            continue;
        }
        let _ = writeln!(out, "-------------------------------");
        let short = class_description(class);
        if short.is_empty() {
            let _ = writeln!(out, "{:<30}{class}", "Field Class:");
        } else {
            let _ = writeln!(out, "{:<30}{class} ({short})", "Field Class:");
        }
        let _ = writeln!(out, "{:<30}syscall \n", "Event Sources:");
        for f in fields {
            if f.name.len() > 30 {
                let _ = write!(out, "{}\n{:<30}", f.name, " ");
            } else {
                let _ = write!(out, "{:<30}", f.name);
            }
            let desc = if verbose {
                format!("(Type: {}) {}", f.ty.falco_name(), f.desc)
            } else {
                f.desc.to_string()
            };
            let _ = writeln!(out, "{}", wrap_desc(&desc, 30, 120));
        }
        let _ = writeln!(out);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::selection_from_flags;

    #[test]
    fn descriptions_wrap_like_falco() {
        let long = "word ".repeat(30);
        let w = wrap_text(&long, 51, 110);
        let lines: Vec<&str> = w.split('\n').collect();
        assert!(lines.len() > 1);
        assert!(lines[1].starts_with(&" ".repeat(51)));
        assert!(lines[0].len() <= 110 - 51);
    }

    #[test]
    fn describe_prints_the_two_columns() {
        let rs = Ruleset {
            rules: vec![Rule {
                name: "open_from_cat".into(),
                desc: "A process named cat does an open".into(),
                priority: crate::priority::Priority::Warning,
                tags: vec![],
                source: "syscall".into(),
                defined_in: "r.yaml".into(),
                defined_at_line: 3,
                enabled: true,
                output_text: "o".into(),
                output_format_text: "o".into(),
                output_format: crate::format::compile("o").unwrap(),
                condition_text: "c".into(),
                compiled_condition_text: "(c)".into(),
                filter: crate::filter::compile(
                    &crate::filter::parse("evt.type=open").unwrap(),
                    &crate::filter::NoDefinitions,
                )
                .unwrap()
                .filter,
            }],
            lists: vec![("l".into(), vec!["a".into()])],
            macros: vec![("m".into(), "proc.name=x".into())],
            required_engine_version: None,
        };
        let mut buf = Vec::new();
        assert_eq!(describe(&mut buf, &rs, Some("open_from_cat"), false), 0);
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with(&format!(
            "{:<50} Description\n{:<50} -----------\n",
            "Rule", "----"
        )));
        assert!(text.contains("open_from_cat"));
        assert!(text.contains("A process named cat does an open"));
        let mut buf = Vec::new();
        assert_eq!(describe(&mut buf, &rs, Some("nope"), false), 1);
        let mut buf = Vec::new();
        assert_eq!(describe(&mut buf, &rs, None, true), 0);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["rules"][0]["info"]["name"], "open_from_cat");
        assert_eq!(v["lists"][0]["info"]["items"][0], "a");
        assert_eq!(v["macros"][0]["info"]["condition"], "proc.name=x");
    }

    fn loaded(text: &str, opts: &LoadOptions) -> Ruleset {
        let result = load_contents(&[("r.yaml".into(), text.into())], opts, true);
        assert!(result.successful(), "{:?}", result.files);
        result.ruleset.unwrap()
    }

    const THREE_RULES: &str = "\
- rule: Write bin
  desc: d
  condition: evt.type=open
  output: o
  priority: ERROR
  tags: [filesystem, mitre_persistence]

- rule: Read shadow
  desc: d
  condition: evt.type=open
  output: o
  priority: WARNING
  tags: [filesystem]

- rule: Dial out
  desc: d
  condition: evt.type=connect
  output: o
  priority: NOTICE
  tags: [network]
";

    fn listing(rs: &Ruleset, style: &ListStyle) -> String {
        let mut buf = Vec::new();
        assert_eq!(list_rules(&mut buf, rs, style), 0);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn list_is_one_aligned_line_per_rule_with_position() {
        let rs = loaded(THREE_RULES, &LoadOptions::default());
        let text = listing(&rs, &ListStyle::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["RULE", "PRIORITY", "ENABLED", "FILE:LINE", "TAGS"]
        );
        let priority_col = lines[0].find("PRIORITY").unwrap();
        assert_eq!(&lines[1][..priority_col], "Write bin    ");
        assert_eq!(&lines[1][priority_col..priority_col + 5], "Error");
        assert_eq!(&lines[2][priority_col..priority_col + 7], "Warning");
        assert!(lines[1].contains(" yes "), "{text}");
        assert!(lines[1].contains("r.yaml:1 "), "{text}");
        assert!(lines[2].contains("r.yaml:8 "), "{text}");
        assert!(lines[3].contains("r.yaml:15 "), "{text}");
        assert!(lines[1].ends_with("filesystem,mitre_persistence"), "{text}");
        assert_eq!(lines[4], "3 rules, 3 enabled, 0 disabled");
    }

    #[test]
    fn list_reflects_selection_priority_and_tag_filter() {
        let opts = LoadOptions {
            min_priority: crate::priority::Priority::Warning,
            selection: selection_from_flags(&[], &[], &["network".into()], &["filesystem".into()]),
            ..LoadOptions::default()
        };
        let rs = loaded(THREE_RULES, &opts);
        let text = listing(&rs, &ListStyle::default());
        assert!(!text.contains("Dial out"), "below the priority: {text}");
        assert!(text.contains("2 rules, 2 enabled, 0 disabled"), "{text}");

        let opts = LoadOptions {
            selection: selection_from_flags(&[], &["shadow".into()], &[], &[]),
            ..LoadOptions::default()
        };
        let rs = loaded(THREE_RULES, &opts);
        let text = listing(&rs, &ListStyle::default());
        let shadow = text.lines().find(|l| l.starts_with("Read shadow")).unwrap();
        assert!(shadow.contains(" no "), "-D disables: {text}");
        assert!(text.contains("3 rules, 2 enabled, 1 disabled"), "{text}");

        let only_network = ListStyle {
            tags: vec!["network".into()],
            ..ListStyle::default()
        };
        let text = listing(&rs, &only_network);
        assert!(
            text.contains("Dial out") && !text.contains("Write bin"),
            "{text}"
        );
        let names = listing(
            &rs,
            &ListStyle {
                names_only: true,
                tags: vec!["filesystem".into()],
                ..ListStyle::default()
            },
        );
        assert_eq!(names, "Write bin\nRead shadow\n");
        let json = listing(
            &rs,
            &ListStyle {
                json: true,
                ..only_network
            },
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["rules"].as_array().unwrap().len(), 1);
        assert_eq!(v["rules"][0]["info"]["name"], "Dial out");
        let described = listing(
            &rs,
            &ListStyle {
                descriptions: true,
                ..ListStyle::default()
            },
        );
        assert!(described.starts_with("Rule "), "{described}");
    }

    #[test]
    fn field_list_has_every_field() {
        let mut buf = Vec::new();
        assert_eq!(list_fields(&mut buf, "", false, true, false), 0);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), FIELDS.len());
        let mut buf = Vec::new();
        assert_eq!(list_fields(&mut buf, "syscall", false, false, true), 0);
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("Field Class:                  proc"));
        assert!(text.contains("proc.name"));
        assert!(text.contains("(Type: CHARBUF)"));
        let mut buf = Vec::new();
        assert_eq!(list_fields(&mut buf, "", true, false, false), 0);
        assert!(String::from_utf8(buf)
            .unwrap()
            .contains("`proc.name` | CHARBUF |"));
        let mut buf = Vec::new();
        assert_eq!(list_fields(&mut buf, "k8s_audit", false, false, false), 1);
    }
}
