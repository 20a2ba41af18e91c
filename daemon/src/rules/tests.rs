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
