//! The configuration the packages install (packaging/falco.yaml) loads with no
//! warning, and agrees with the other packaged files: the logrotate config
//! rotates the file the file output writes, the unit's pidfile is the one the
//! logrotate script signals; the packaged rules are well-formed and the
//! commented examples of falco_rules.local.yaml name what they really contain; the packaged
//! macros match the events of real captures.

use std::path::{Path, PathBuf};

use falco::config::{Config, EngineKind};
use falco::priority::Priority;
use falco::rules::{load_contents, LoadOptions};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_file(relative)).unwrap()
}

fn packaged_config() -> Config {
    Config::from_yaml_str(&read("packaging/falco.yaml"), &[]).unwrap()
}

#[test]
fn packaged_config_loads_without_warnings() {
    let config = packaged_config();
    assert!(
        config.warnings.is_empty(),
        "warnings: {:?}",
        config.warnings
    );
}

#[test]
fn packaged_config_turns_on_what_a_service_needs() {
    let config = packaged_config();
    assert_eq!(config.engine.kind, EngineKind::Kmod);
    assert!(
        config.syslog_output_enabled,
        "alerts must reach the journal"
    );
    assert!(config.file_output.enabled && config.file_output.keep_alive);
    assert!(config.webserver.enabled);
    assert_eq!(config.webserver.listen_port, 8765);
    assert_eq!(config.webserver.k8s_healthz_endpoint, "/healthz");
    assert_eq!(
        config.rules_files,
        [
            "/etc/falco/falco_rules.yaml",
            "/etc/falco/falco_rules.local.yaml",
            "/etc/falco/rules.d"
        ]
        .map(PathBuf::from)
    );
}

#[test]
fn logrotate_rotates_the_file_output() {
    let config = packaged_config();
    let logrotate = read("logrotate/falco");
    let rotated: Vec<&str> = logrotate
        .lines()
        .filter_map(|line| line.trim().strip_suffix('{'))
        .map(str::trim)
        .collect();
    assert_eq!(
        rotated,
        [config.file_output.filename.to_str().unwrap()],
        "logrotate/falco must rotate file_output.filename"
    );
    assert!(logrotate.contains("-s USR1 falco.service"));
}

#[test]
fn unit_pidfile_is_the_one_logrotate_reads() {
    let unit = read("systemd/falco.service");
    let logrotate = read("logrotate/falco");
    assert!(unit.contains("ExecStart=/usr/bin/falco --pidfile=/run/falco.pid"));
    assert!(logrotate.contains("/run/falco.pid"));
    assert!(unit.contains("Type=notify"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}

/// The packaged rules file as YAML items (no rules engine involved: the names
/// and the shape only).
fn packaged_rules() -> Vec<serde_json::Value> {
    serde_saphyr::from_str(&read("packaging/rules/falco_rules.yaml")).unwrap()
}

fn names_of(items: &[serde_json::Value], kind: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| item.get(kind)?.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn packaged_rules_are_complete_items_with_unique_names() {
    let items = packaged_rules();
    let rules = names_of(&items, "rule");
    assert!(rules.len() >= 10, "only {} rules", rules.len());
    for item in items.iter().filter(|item| item.get("rule").is_some()) {
        for key in ["desc", "condition", "output", "priority", "tags"] {
            assert!(
                item.get(key).is_some(),
                "rule {:?} has no {key}",
                item["rule"]
            );
        }
    }
    for kind in ["rule", "macro", "list"] {
        let mut names = names_of(&items, kind);
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "a {kind} name is defined twice");
    }
}

/// The commented examples of falco_rules.local.yaml, uncommented: the lines
/// that are YAML ("# - ..." items and "#   ..." continuations), not the prose.
fn local_examples() -> String {
    read("packaging/falco_rules.local.yaml")
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| line.starts_with("- ") || line.starts_with("  "))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn local_rules_file_is_all_comments_and_its_examples_fit_the_packaged_rules() {
    let local = read("packaging/falco_rules.local.yaml");
    assert!(
        local
            .lines()
            .all(|l| l.trim().is_empty() || l.starts_with('#')),
        "falco_rules.local.yaml must ship with everything commented out"
    );
    let examples: Vec<serde_json::Value> = serde_saphyr::from_str(&local_examples()).unwrap();
    assert!(examples.len() >= 6, "only {} examples", examples.len());
    let packaged = packaged_rules();
    let mut overrides = 0;
    for example in &examples {
        let Some(what) = example.get("override").and_then(|o| o.as_object()) else {
            continue;
        };
        overrides += 1;
        let (kind, name) = ["rule", "macro", "list"]
            .into_iter()
            .find_map(|kind| Some((kind, example.get(kind)?.as_str()?)))
            .unwrap_or_else(|| panic!("example without rule/macro/list: {example}"));
        assert!(
            names_of(&packaged, kind).iter().any(|n| n == name),
            "example overrides {kind} {name:?}, which falco_rules.yaml does not define"
        );
        for (key, how) in what {
            assert!(
                example.get(key).is_some(),
                "{name}: override of {key} without a {key} value"
            );
            assert!(
                matches!(how.as_str(), Some("append" | "replace")),
                "{name}: {how}"
            );
        }
    }
    assert!(overrides >= 5, "only {overrides} override examples");
}

#[test]
fn local_examples_load_on_top_of_the_packaged_rules_and_take_effect() {
    let files = vec![
        (
            "falco_rules.yaml".to_owned(),
            read("packaging/rules/falco_rules.yaml"),
        ),
        ("falco_rules.local.yaml".to_owned(), local_examples()),
    ];
    let result = load_contents(&files, &LoadOptions::default(), false);
    for report in &result.files {
        assert!(
            report.successful() && !report.has_warnings(),
            "{}",
            report.as_text()
        );
    }
    let ruleset = result.ruleset.expect("a ruleset");
    let rule = |name: &str| {
        ruleset
            .rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name:?}"))
    };
    assert_eq!(rule("Write below etc").priority, Priority::Critical);
    assert!(!rule("System binary made network connection").enabled);
    assert!(rule("Read sensitive file untrusted")
        .compiled_condition_text
        .contains("restic"));
    assert!(rule("Program started from /tmp").enabled);
}

fn shared_compat() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_file("../shared"))
        .join("compat")
}

/// Alerts of `probe` (a condition over the packaged macros) when `falco` replays `capture`
/// with the packaged rules loaded first.
fn probe_alerts(capture: &str, probe: &str) -> usize {
    let dir = std::env::temp_dir().join(format!("falco-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let probe_file = dir.join(format!("probe-{}.yaml", probe.len()));
    std::fs::write(
        &probe_file,
        format!(
            "- rule: probe\n  desc: probe\n  condition: {probe}\n  output: \"PROBE %evt.type\"\n  priority: INFO\n"
        ),
    )
    .unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        "json_output: false\nrule_matching: all\nstdout_output:\n  enabled: true\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(shared_compat().join("scap").join(capture))
        .arg("-r")
        .arg(repo_file("packaging/rules/falco_rules.yaml"))
        .arg("-r")
        .arg(&probe_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(": Informational PROBE "))
        .count()
}

#[test]
fn packaged_macros_match_the_events_of_real_captures() {
    // Success is tested with evt.rawres: evt.res is the string SUCCESS or an errno name.
    assert_eq!(
        probe_alerts(
            "falco/cat_write.scap",
            "spawned_process and proc.name = cat"
        ),
        1
    );
    assert_eq!(
        probe_alerts(
            "falco/cat_write.scap",
            "opened_for_reading and fd.name = /etc/ld.so.cache"
        ),
        1
    );
    assert_eq!(
        probe_alerts(
            "falco/cat_write.scap",
            "opened_for_writing and fd.name = /etc/ld.so.cache"
        ),
        0
    );
    // A non-blocking connect to 127.0.0.1:80 (EINPROGRESS).
    assert_eq!(
        probe_alerts(
            "falco/connect_localhost.scap",
            "network_connection and fd.l4proto = tcp and fd.rport = 80"
        ),
        1
    );
}
