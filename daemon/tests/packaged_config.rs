//! The configuration the packages install (packaging/falco.yaml) loads with no
//! warning, and agrees with the other packaged files: the logrotate config
//! rotates the file the file output writes, the unit's pidfile is the one the
//! logrotate script signals.

use std::path::{Path, PathBuf};

use falco::config::{Config, EngineKind};

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

#[test]
fn packaged_rules_and_local_examples_are_yaml() {
    // The local file is all comments: it must still be a valid (empty) document.
    let local = read("packaging/falco_rules.local.yaml");
    assert!(local
        .lines()
        .all(|l| l.trim().is_empty() || l.starts_with('#')));
    let placeholder = read("packaging/falco_rules.placeholder.yaml");
    assert!(
        placeholder.contains("- rule:"),
        "the placeholder rules file has no rule"
    );
}
