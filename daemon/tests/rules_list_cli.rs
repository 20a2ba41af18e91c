//! `falco -L` end to end on the packaged rules: the compact table, Falco's selection flags
//! (`-t`, `-T`, `-D`) in the ENABLED column, `-o priority=P` and `--list-tag` as filters, `-N`.

use std::path::PathBuf;
use std::process::Command;

fn packaged_rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../packaging/rules/falco_rules.yaml")
}

/// Runs `falco -L` on the packaged rules with an empty config; returns (exit code, stdout).
fn list(extra: &[&str]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("falco-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(&config, "json_output: false\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(&config)
        .arg("-r")
        .arg(packaged_rules())
        .arg("-L")
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn row<'a>(text: &'a str, rule: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(&format!("{rule}  ")))
}

#[test]
fn list_shows_every_packaged_rule_with_its_line() {
    let (code, text) = list(&[]);
    assert_eq!(code, 0, "{text}");
    let source = std::fs::read_to_string(packaged_rules()).unwrap();
    let defined: Vec<(usize, &str)> = source
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.strip_prefix("- rule: ").map(|n| (i + 1, n.trim())))
        .collect();
    assert!(defined.len() >= 14, "{defined:?}");
    for (line, name) in &defined {
        let r = row(&text, name).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        assert!(
            r.contains(&format!("falco_rules.yaml:{line} ")),
            "{name} should point at line {line}: {r}"
        );
        assert!(r.contains(" yes "), "{r}");
    }
    assert!(text.ends_with(&format!(
        "{n} rules, {n} enabled, 0 disabled\n",
        n = defined.len()
    )));
    let read = row(&text, "Read sensitive file untrusted").unwrap();
    assert!(read.contains(" Warning ") && read.contains("mitre_credential_access"));
}

#[test]
fn selection_flags_show_in_the_enabled_column() {
    let (_, text) = list(&["-T", "network", "-D", "sensitive"]);
    assert!(row(&text, "Netcat remote code execution")
        .unwrap()
        .contains(" no "));
    assert!(row(&text, "Read sensitive file untrusted")
        .unwrap()
        .contains(" no "));
    assert!(row(&text, "Write below binary dir")
        .unwrap()
        .contains(" yes "));

    let (_, text) = list(&["-t", "shell"]);
    assert!(row(&text, "Terminal shell in container")
        .unwrap()
        .contains(" yes "));
    assert!(row(&text, "Write below etc").unwrap().contains(" no "));
}

#[test]
fn priority_and_tag_filters_narrow_the_list() {
    let (code, text) = list(&["-o", "priority=error"]);
    assert_eq!(code, 0);
    assert!(row(&text, "Write below binary dir").is_some(), "{text}");
    assert!(
        row(&text, "Read sensitive file untrusted").is_none(),
        "{text}"
    );
    for line in text.lines().skip(1).filter(|l| l.contains(".yaml:")) {
        assert!(
            line.contains(" Error ") || line.contains(" Critical "),
            "{line}"
        );
    }

    let (_, text) = list(&["--list-tag", "network", "--list-tag", "shell"]);
    let rules: Vec<&str> = text.lines().filter(|l| l.contains(".yaml:")).collect();
    assert!(!rules.is_empty());
    for line in &rules {
        assert!(line.contains("network") || line.contains("shell"), "{line}");
    }
    assert!(row(&text, "Write below etc").is_none());

    let (_, names) = list(&["-N", "--list-tag", "network"]);
    assert!(
        names.lines().any(|l| l == "Netcat remote code execution"),
        "{names}"
    );
    assert!(
        names.lines().all(|l| !l.contains("  ")),
        "names only: {names}"
    );
}
