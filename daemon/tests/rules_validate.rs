//! `falco -V` on real rules files: the upstream rulesets in shared/compat/rules (each alone and
//! stable+incubating+sandbox together, plus Falco 0.31's) and the project's packaged rules load
//! with no error; the binary prints Falco's text and JSON reports and exits 1 on errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use falco::rules::{load_contents, read_files, LoadOptions};

fn shared() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn rules(name: &str) -> PathBuf {
    shared().join("compat/rules").join(name)
}

fn assert_no_errors(paths: &[PathBuf]) {
    let contents = read_files(paths).unwrap();
    let result = load_contents(&contents, &LoadOptions::default(), false);
    for f in &result.files {
        assert!(f.successful(), "{}", f.as_text());
    }
    let ruleset = result.ruleset.expect("a ruleset");
    assert!(!ruleset.rules.is_empty());
}

#[test]
fn upstream_rulesets_each_load_without_errors() {
    for name in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
        "falco-deprecated_rules.yaml",
    ] {
        assert_no_errors(&[rules(name)]);
    }
}

#[test]
fn upstream_rulesets_load_together() {
    assert_no_errors(&[
        rules("falco_rules.yaml"),
        rules("falco-incubating_rules.yaml"),
        rules("falco-sandbox_rules.yaml"),
    ]);
}

#[test]
fn falco_0_31_rules_load_without_errors() {
    assert_no_errors(&[
        rules("falco-0.31/falco_rules.yaml"),
        rules("falco-0.31/falco_rules.local.yaml"),
    ]);
}

#[test]
fn packaged_rules_load_without_errors_or_warnings() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/rules/falco_rules.yaml");
    let contents = read_files(&[p]).unwrap();
    let result = load_contents(&contents, &LoadOptions::default(), false);
    let f = &result.files[0];
    assert!(f.successful() && !f.has_warnings(), "{}", f.as_text());
}

fn falco(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn validate_prints_ok_per_file_and_json_on_request() {
    let dir = std::env::temp_dir().join(format!("falco-v-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &good,
        "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    std::fs::write(&bad, "- rule: r\n  desc: d\n").unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(&config, "json_output: false\n").unwrap();
    let g = good.to_str().unwrap();
    let b = bad.to_str().unwrap();

    let (code, out) = falco(&config, &["-V", g]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{g}: Ok\n"));

    let (code, out) = falco(&config, &["-V", b]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("{b}: Invalid\n1 Errors:\n")),
        "{out}"
    );
    assert!(out.contains("LOAD_ERR_YAML_VALIDATE"), "{out}");

    let (code, out) = falco(&config, &["-o", "json_output=true", "-V", g, "-V", b]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = doc["falco_load_results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["successful"], true);
    assert_eq!(results[1]["successful"], false);
    assert_eq!(results[1]["errors"][0]["code"], "LOAD_ERR_YAML_VALIDATE");
    assert_eq!(
        results[1]["errors"][0]["message"],
        "Item has no mapping for key 'condition'"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
