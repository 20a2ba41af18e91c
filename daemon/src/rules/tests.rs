//! Loader tests over several files: cross-file append/override, selection, priorities.

use super::*;

fn load(files: &[(&str, &str)], opts: &LoadOptions) -> LoadResult {
    let owned: Vec<(String, String)> = files
        .iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect();
    load_contents(&owned, opts, false)
}

const BASE: &str = "- rule: a\n  desc: rule a\n  condition: evt.type=open\n  output: a\n  priority: WARNING\n  tags: [t1]\n- rule: b\n  desc: rule b\n  condition: evt.type=close\n  output: b\n  priority: DEBUG\n  tags: [t2]\n";

#[test]
fn later_files_append_and_override_earlier_ones() {
    let r = load(
        &[
            ("base.yaml", BASE),
            (
                "local.yaml",
                "- rule: a\n  condition: and proc.name=cat\n  override:\n    condition: append\n- rule: b\n  enabled: false\n",
            ),
        ],
        &LoadOptions::default(),
    );
    assert!(r.successful(), "{:?}", r.files);
    let rs = r.ruleset.unwrap();
    assert_eq!(
        rs.rules[0].condition_text,
        "evt.type=open and proc.name=cat"
    );
    assert!(!rs.rules[1].enabled);
    // The enabled-only item is deprecated upstream: a warning in the second file's report.
    assert_eq!(
        r.files[1].warnings[0].code,
        result::WarningCode::DeprecatedItem
    );
}

#[test]
fn min_priority_drops_less_severe_rules() {
    let opts = LoadOptions {
        min_priority: Priority::Notice,
        ..LoadOptions::default()
    };
    let rs = load(&[("base.yaml", BASE)], &opts).ruleset.unwrap();
    let names: Vec<_> = rs.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["a"]);
}

#[test]
fn selection_by_glob_and_tag_applies_in_order() {
    let sel = selection_from_flags(
        &[RuleSelection {
            enable: false,
            target: RuleSelector::Rule("*".into()),
        }],
        &[],
        &[],
        &[],
    );
    let mut opts = LoadOptions {
        selection: sel,
        ..LoadOptions::default()
    };
    opts.selection.push(RuleSelection {
        enable: true,
        target: RuleSelector::Tag("t2".into()),
    });
    let rs = load(&[("base.yaml", BASE)], &opts).ruleset.unwrap();
    assert!(!rs.rules[0].enabled);
    assert!(rs.rules[1].enabled);

    // -t t1: everything off, then t1 on; -D substring disables by name.
    let opts = LoadOptions {
        selection: selection_from_flags(&[], &["b".into()], &[], &["t1".into()]),
        ..LoadOptions::default()
    };
    let rs = load(&[("base.yaml", BASE)], &opts).ruleset.unwrap();
    assert!(rs.rules[0].enabled);
    assert!(!rs.rules[1].enabled);
}

#[test]
fn validation_continues_after_a_failing_file_and_reports_each() {
    let r = load(
        &[("bad.yaml", "this : is : not : yaml"), ("good.yaml", BASE)],
        &LoadOptions::default(),
    );
    assert_eq!(r.files.len(), 2);
    assert!(!r.files[0].successful());
    assert_eq!(r.files[0].errors[0].code, ErrorCode::YamlParse);
    assert_eq!(
        r.files[0].errors[0].message,
        "yaml-cpp: error at line 1, column 11: illegal map value"
    );
    assert!(r.files[1].successful());
    assert!(r.ruleset.is_none());
    let text = cli::validation_text(&r);
    assert!(text.starts_with("bad.yaml: Invalid\n1 Errors:\n"), "{text}");
    assert!(text.ends_with("good.yaml: Ok"), "{text}");
    let j = cli::validation_json(&r);
    assert_eq!(j["falco_load_results"][0]["successful"], false);
    assert_eq!(j["falco_load_results"][1]["name"], "good.yaml");
}

#[test]
fn start_up_load_stops_at_the_first_failing_file() {
    let owned = vec![
        ("bad.yaml".to_string(), "- foo".to_string()),
        ("good.yaml".to_string(), BASE.to_string()),
    ];
    let r = load_contents(&owned, &LoadOptions::default(), true);
    assert_eq!(r.files.len(), 1);
    assert!(r.ruleset.is_none());
}

#[test]
fn errors_quote_the_offending_line() {
    let r = load(
        &[(
            "x.yaml",
            "- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: loud\n",
        )],
        &LoadOptions::default(),
    );
    let e = &r.files[0].errors[0];
    assert_eq!(e.snippet, "  priority: loud\n            ^\n");
    let text = r.files[0].as_text();
    assert!(text.contains("rule 'r': (x.yaml:0:2)"), "{text}");
    assert!(text.contains("rule priority: (x.yaml:4:12)"), "{text}");
}

#[test]
fn directories_expand_to_sorted_regular_files_and_missing_entries_are_skipped() {
    let dir = std::env::temp_dir().join(format!("falco-rules-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("b.yaml"), "").unwrap();
    std::fs::write(dir.join("a.yaml"), "").unwrap();
    std::fs::write(dir.join("sub/c.yaml"), "").unwrap();
    let paths = expand_paths(&[dir.clone(), dir.join("missing.yaml"), dir.join("a.yaml")]);
    assert_eq!(
        paths,
        vec![dir.join("a.yaml"), dir.join("b.yaml"), dir.join("a.yaml")]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn one(text: &str) -> FileReport {
    load(&[("t.yaml", text)], &LoadOptions::default())
        .files
        .remove(0)
}

const RULE_TAIL: &str = "  output: o\n  priority: INFO\n";

#[test]
fn macros_see_only_earlier_macros_rules_see_all() {
    let f = one("- macro: a\n  condition: b\n- macro: b\n  condition: evt.type=open\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n");
    assert_eq!(f.errors[0].code, ErrorCode::Validate);
    assert_eq!(f.errors[0].message, "Undefined macro 'b' used in filter.");
    assert_eq!(f.errors[0].context.locations[1].item_name, "a");
    let f = one(&format!(
        "- macro: b\n  condition: evt.type=open\n- rule: r\n  desc: d\n  condition: b and c\n{RULE_TAIL}- macro: c\n  condition: proc.name=cat\n"
    ));
    assert!(f.successful(), "{}", f.as_text());
}

#[test]
fn condition_errors_point_into_the_condition() {
    let f = one(&format!(
        "- rule: r\n  desc: d\n  condition: evt.type=open and\n{RULE_TAIL}"
    ));
    let e = &f.errors[0];
    assert_eq!(e.code, ErrorCode::CompileCondition);
    let last = e.context.last().unwrap();
    assert_eq!(last.item_type, result::ItemType::ConditionExpression);
    assert_eq!(last.name, "\"evt.type=open and\"");
    assert!(
        e.snippet.starts_with("evt.type=open and\n"),
        "{}",
        e.snippet
    );
}

#[test]
fn unknown_fields_are_errors_unless_skipped() {
    let f = one(&format!(
        "- rule: r\n  desc: d\n  condition: evt.type=open and proc.nobody=cat\n{RULE_TAIL}"
    ));
    assert_eq!(f.errors[0].code, ErrorCode::CompileCondition);
    assert_eq!(
        f.errors[0].message,
        "filter_check called with nonexistent field proc.nobody"
    );
    let r = load(
        &[(
            "t.yaml",
            "- rule: r\n  desc: d\n  condition: evt.type=open and proc.nobody=cat\n  skip-if-unknown-filter: true\n  output: o\n  priority: INFO\n- rule: ok\n  desc: d\n  condition: evt.type=open\n  output: o %proc.name\n  priority: INFO\n",
        )],
        &LoadOptions::default(),
    );
    assert!(r.successful());
    assert_eq!(
        r.files[0].warnings[0].code,
        result::WarningCode::UnknownFilter
    );
    let names: Vec<_> = r
        .ruleset
        .unwrap()
        .rules
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["ok"]);
}

#[test]
fn bad_outputs_are_compile_output_errors() {
    let f = one("- rule: r\n  desc: d\n  condition: evt.type=open\n  output: x %not_a_real_field\n  priority: INFO\n");
    assert_eq!(f.errors[0].code, ErrorCode::CompileOutput);
    assert_eq!(
        f.errors[0].message,
        "invalid formatting token not_a_real_field"
    );
    assert_eq!(
        f.errors[0].context.last().unwrap().item_type,
        result::ItemType::RuleOutput
    );
}

#[test]
fn outputs_are_validated_by_the_alert_formatter() {
    let rule = |output: &str, skip: bool| {
        format!(
            "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: {output}\n  priority: INFO\n  skip-if-unknown-filter: {skip}\n"
        )
    };
    // What alerts render is what the load compiled: a field token, its argument, a sentence
    // ending right after a field.
    let r = load(
        &[("t.yaml", &rule("'A shell (user=%user.name cmd=%proc.cmdline) %proc.aname[2] %evt.arg.flags file=%fd.name.'", false))],
        &LoadOptions::default(),
    );
    assert!(r.successful(), "{:?}", r.files);
    let rs = r.ruleset.unwrap();
    let names: Vec<&str> = rs.rules[0].output_format.field_names().collect();
    assert_eq!(
        names,
        [
            "user.name",
            "proc.cmdline",
            "proc.aname[2]",
            "evt.arg.flags",
            "fd.name"
        ]
    );
    assert_eq!(
        rs.rules[0].output_format.text(),
        rs.rules[0].output_format_text
    );
    // Syntax the formatter rejects is rejected at load, with the formatter's words, even when
    // unknown fields may be skipped (Falco skips only for an unknown field).
    for (output, message) in [
        (
            "'100%'",
            "invalid formatting syntax: formatting cannot end with a %",
        ),
        (
            "'a %5'",
            "invalid formatting syntax: formatting cannot end with a number",
        ),
        (
            "'%proc.aname[2'",
            "missing closing bracket in formatting token proc.aname[2",
        ),
    ] {
        for skip in [false, true] {
            let f = one(&rule(output, skip));
            assert_eq!(f.errors.len(), 1, "{output}: {:?}", f.errors);
            assert_eq!(f.errors[0].code, ErrorCode::CompileOutput, "{output}");
            assert_eq!(f.errors[0].message, message, "{output}");
        }
    }
    let f = one(&rule("'x %proc.nobody y'", true));
    assert!(f.successful());
    assert_eq!(f.warnings[0].code, result::WarningCode::UnknownFilter);
    assert_eq!(
        f.warnings[0].message,
        "invalid formatting token proc.nobody y"
    );
}

#[test]
fn unused_definitions_and_unrestricted_rules_are_warned() {
    let f = one(&format!(
        "- list: l1\n  items: [a]\n- list: l2\n  items: [l1, b]\n- list: l3\n  items: [c]\n- macro: m\n  condition: proc.name in (l2)\n- macro: unused\n  condition: proc.name=x\n- rule: r\n  desc: d\n  condition: evt.type=open and m\n{RULE_TAIL}- rule: wide\n  desc: d\n  condition: proc.name=x\n{RULE_TAIL}- rule: quiet\n  desc: d\n  condition: proc.name=y\n  warn_evttypes: false\n{RULE_TAIL}"
    ));
    assert!(f.successful(), "{}", f.as_text());
    let got: Vec<(&str, &str)> = f
        .warnings
        .iter()
        .map(|w| (w.code.code(), w.context.locations[1].item_name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("LOAD_NO_EVTTYPE", "wide"),
            ("LOAD_UNUSED_MACRO", "unused"),
            ("LOAD_UNUSED_LIST", "l3"),
        ]
    );
}

#[test]
fn exceptions_are_folded_and_compiled() {
    let r = load(
        &[(
            "t.yaml",
            "- list: allowed\n  items: [cat, dog]\n- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  exceptions:\n  - name: procs\n    fields: [proc.name, fd.name]\n    comps: [in, startswith]\n    values:\n    - [allowed, /tmp]\n  - name: single\n    fields: proc.pname\n    values: [bash, my shell]\n",
        )],
        &LoadOptions::default(),
    );
    assert!(r.successful(), "{}", r.files[0].as_text());
    let rule = &r.ruleset.unwrap().rules[0];
    assert_eq!(
        rule.compiled_condition_text,
        "(evt.type=open) and not ((proc.name in (allowed) and fd.name startswith /tmp)) and not (proc.pname in (bash, \"my shell\"))"
    );
    assert!(rule.filter.event_types().is_some());
}

#[test]
fn circular_and_deep_macros_are_errors_not_crashes() {
    let f = one(&format!(
        "- macro: a\n  condition: evt.type=open\n- macro: a\n  condition: a and proc.name=x\n- rule: r\n  desc: d\n  condition: a\n{RULE_TAIL}"
    ));
    assert!(!f.successful(), "{}", f.as_text());
    let deep = format!("{}evt.type=open{}", "(".repeat(5000), ")".repeat(5000));
    let f = one(&format!(
        "- rule: r\n  desc: d\n  condition: '{deep}'\n{RULE_TAIL}"
    ));
    assert_eq!(f.errors[0].code, ErrorCode::CompileCondition);
}
