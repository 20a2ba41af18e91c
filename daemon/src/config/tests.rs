use super::*;
use std::io::Write;

fn compat_dir() -> PathBuf {
    let dir = std::env::var_os("FALCO_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat"));
    assert!(
        dir.join("falco.yaml").is_file(),
        "upstream test data not found at {} (set FALCO_COMPAT_DIR)",
        dir.display()
    );
    dir
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falco-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn err_text(r: Result<Config, ConfigError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn absent_keys_take_falcos_code_defaults() {
    let c = Config::from_yaml_str("", &[]).unwrap();
    assert!(!c.stdout_output_enabled);
    assert!(!c.syslog_output_enabled);
    assert!(!c.webserver.enabled);
    assert_eq!(c.webserver.listen_port, 8765);
    assert_eq!(c.engine.kind, EngineKind::Kmod);
    assert_eq!(c.priority, Priority::Debug);
    assert_eq!(c.rule_matching, RuleMatching::First);
    assert_eq!(c.outputs_queue_capacity, 0);
    assert_eq!(c.output_timeout, Duration::from_millis(2000));
    assert_eq!(c.metrics.interval, Duration::from_millis(5000));
    assert!(!c.log_stderr);
    assert!(c.log_syslog);
    assert_eq!(c.log_level, Priority::Informational);
    assert!(c.rules_files.is_empty());
    assert!(c.warnings.is_empty());
    assert_eq!(c.syscall_event_drops, DropSettings::default());
    assert!(c.effective_rules_files(&[]).is_err());
    assert_eq!(
        c.effective_rules_files(&[PathBuf::from("r.yaml")]).unwrap(),
        vec![PathBuf::from("r.yaml")]
    );
}

#[test]
fn shipped_configs_of_every_version_load() {
    let compat = compat_dir();
    let c = Config::load(Some(&compat.join("falco.yaml")), &[]).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.engine.kind, EngineKind::ModernEbpf);
    assert!(c.stdout_output_enabled && c.syslog_output_enabled && c.webserver.enabled);
    assert_eq!(c.rules_files.len(), 3);
    assert_eq!(c.metrics.interval, Duration::from_secs(3600));
    assert_eq!(c.syscall_event_drops.threshold, 0.1);
    assert_eq!(c.loaded_files, vec![compat.join("falco.yaml")]);
    for entry in std::fs::read_dir(compat.join("falco-yaml")).unwrap() {
        let path = entry.unwrap().path();
        let c =
            Config::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!c.rules_files.is_empty(), "{}", path.display());
    }
}

#[test]
fn overrides_use_falcos_syntax() {
    let compat = compat_dir();
    let opts: Vec<String> = [
        "append_output.suggested_output=false",
        "engine.kind=replay",
        "engine.replay.capture_file=/x/cat_write.scap",
        "rules[].disable.rule=*",
        "rules[].enable.tag=T1",
        "json_output=true",
        "priority=WARNING",
        "metrics.interval=2s",
        "http_output={enabled: true, url: 'http://127.0.0.1:1/'}",
        "plugins[0].name=renamed",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let c = Config::load(Some(&compat.join("falco.yaml")), &opts).unwrap();
    assert_eq!(c.engine.kind, EngineKind::Replay);
    assert_eq!(c.engine.replay_capture_file, "/x/cat_write.scap");
    assert!(c.json_output);
    assert_eq!(c.priority, Priority::Warning);
    assert_eq!(c.metrics.interval, Duration::from_secs(2));
    assert!(c.http_output.enabled);
    assert_eq!(c.http_output.url, "http://127.0.0.1:1/");
    assert_eq!(
        c.rules,
        vec![
            RuleSelection {
                enable: false,
                target: RuleSelector::Rule("*".into())
            },
            RuleSelection {
                enable: true,
                target: RuleSelector::Tag("T1".into())
            },
        ]
    );
    assert_eq!(c.raw["append_output"]["suggested_output"], "false");
    assert_eq!(c.raw["plugins"][0]["name"], "renamed");
    assert_eq!(c.raw["plugins"][1]["name"], "cloudtrail");
}

#[test]
fn bad_overrides_are_clear_errors() {
    let e = err_text(Config::from_yaml_str("", &["json_output".into()]));
    assert!(e.contains("Must be of the form key=val"), "{e}");
    let e = err_text(Config::from_yaml_str("", &["a..b=1".into()]));
    assert!(e.contains("malformed key 'a..b'"), "{e}");
    let e = err_text(Config::from_yaml_str("", &["x={a: [}".into()]));
    assert!(e.contains("not valid YAML"), "{e}");
    let e = err_text(Config::from_yaml_str("", &["json_output=maybe".into()]));
    assert!(
        e.contains("invalid value 'maybe' for 'json_output': expected true or false"),
        "{e}"
    );
}

#[test]
fn invalid_values_name_the_key() {
    let cases = [
        (
            "syscall_event_drops:\n  threshold: 1.5\n",
            "syscall event drops threshold must be a double in the range [0, 1]",
        ),
        (
            "syscall_event_drops:\n  actions: [ignore, log]\n",
            "syscall event drop action \"log\" does not make sense with the \"ignore\" action",
        ),
        ("rule_matching: some\n", "Unknown rule matching strategy"),
        (
            "outputs_queue:\n  capacity: -3\n",
            "'outputs_queue.capacity'",
        ),
        (
            "webserver:\n  listen_address: localhost\n",
            "'webserver.listen_address'",
        ),
        (
            "webserver:\n  listen_port: 70000\n",
            "'webserver.listen_port'",
        ),
        ("log_level: loud\n", "'log_level'"),
        ("engine:\n  kind: turbo\n", "'engine.kind'"),
        (
            "engine:\n  kind: replay\n",
            "engine.replay.capture_file is empty",
        ),
        ("file_output:\n  enabled: true\n", "no filename"),
        ("http_output:\n  enabled: true\n", "no url"),
        ("program_output:\n  enabled: true\n", "no program"),
        (
            "rules_file: [a]\nrules_files: [b]\n",
            "both 'rules_files' and 'rules_file'",
        ),
        ("metrics:\n  interval: 5 parsecs\n", "'metrics.interval'"),
        ("metrics:\n  interval: 10ms\n", "'metrics.interval'"),
        ("rules:\n  - disable: {nope: x}\n", "'rules[0]'"),
        ("syscall_event_timeouts:\n  max_consecutives: 0\n", "> 0"),
        ("- a\n- b\n", "top level must be a map"),
    ];
    for (yaml, expected) in cases {
        let e = err_text(Config::from_yaml_str(yaml, &[]));
        assert!(e.contains(expected), "{yaml:?}: got {e}");
    }
}

#[test]
fn yaml_syntax_errors_give_file_line_and_column() {
    let dir = temp_dir("syntax");
    let path = dir.join("falco.yaml");
    std::fs::write(&path, "json_output: true\nstdout_output: [\n").unwrap();
    let e = err_text(Config::load(Some(&path), &[]));
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains("line 2"), "{e}");
    let e = err_text(Config::load(Some(&dir.join("missing.yaml")), &[]));
    assert!(e.starts_with("Cannot read config file ("), "{e}");
}

#[test]
fn empty_config_file_loads_with_defaults() {
    let dir = temp_dir("empty");
    let path = dir.join("empty.yaml");
    std::fs::write(&path, "").unwrap();
    let c = Config::load(Some(&path), &["stdout_output.enabled=true".into()]).unwrap();
    assert!(c.stdout_output_enabled);
    let err = c.effective_rules_files(&[]).unwrap_err();
    assert!(err.contains("You must specify at least one rules file"));
}

#[test]
fn legacy_rules_file_key_is_accepted_with_a_warning() {
    let c = Config::from_yaml_str("rules_file:\n  - /etc/falco/falco_rules.yaml\n", &[]).unwrap();
    assert_eq!(
        c.rules_files,
        vec![PathBuf::from("/etc/falco/falco_rules.yaml")]
    );
    assert!(c.warnings.iter().any(|w| w.contains("deprecated")));
}

#[test]
fn unknown_keys_warn() {
    let c = Config::from_yaml_str("json_outptu: true\nwebserver:\n  lisen_port: 1\n", &[]).unwrap();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("'webserver.lisen_port'")));
}

#[test]
fn env_vars_expand_in_values() {
    std::env::set_var("FALCO_TEST_CFG_DIR", "/tmp/falco-env");
    let c = Config::from_yaml_str(
        "file_output:\n  enabled: true\n  filename: ${FALCO_TEST_CFG_DIR}/events.txt\n\
         program_output:\n  program: echo $${HOME}\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.file_output.filename,
        PathBuf::from("/tmp/falco-env/events.txt")
    );
    assert_eq!(c.program_output.program, "echo ${HOME}");
}

#[test]
fn config_files_merge_in_order_and_command_line_wins() {
    let dir = temp_dir("merge");
    let confd = dir.join("config.d");
    std::fs::create_dir_all(&confd).unwrap();
    std::fs::write(
        confd.join("10-a.yaml"),
        "json_output: true\nwebserver:\n  listen_port: 9000\n",
    )
    .unwrap();
    std::fs::write(
        confd.join("20-b.yaml"),
        "webserver:\n  listen_port: 9001\npriority: error\n",
    )
    .unwrap();
    let main = dir.join("falco.yaml");
    let mut f = std::fs::File::create(&main).unwrap();
    writeln!(
        f,
        "config_files:\n  - {}\n  - {}/nonexistent.yaml\npriority: debug\njson_output: false\n\
         webserver:\n  enabled: true\n",
        confd.display(),
        dir.display()
    )
    .unwrap();
    drop(f);
    let c = Config::load(Some(&main), &["priority=notice".into()]).unwrap();
    assert!(c.json_output);
    // Included files replace whole top-level keys (Falco 0.39): `webserver.enabled` is gone.
    assert_eq!(c.webserver.listen_port, 9001);
    assert!(!c.webserver.enabled);
    assert_eq!(c.priority, Priority::Notice);
    assert_eq!(c.loaded_files.len(), 3);

    std::fs::write(confd.join("30-c.yaml"), "config_files: [/x]\n").unwrap();
    let e = err_text(Config::load(Some(&main), &[]));
    assert!(e.contains("nested includes"), "{e}");
}

#[test]
fn interval_syntax() {
    assert_eq!(parse_interval("1h30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_interval("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_interval("5000"), Some(Duration::from_secs(5)));
    assert_eq!(parse_interval("99"), None);
    assert_eq!(parse_interval("1x"), None);
    assert_eq!(parse_interval("s"), None);
}

#[test]
fn buffered_outputs_key_decides_buffering_and_dash_u_overrides_it() {
    let unset = Config::from_yaml_str("", &[]).unwrap();
    let on = Config::from_yaml_str("buffered_outputs: true\n", &[]).unwrap();
    let off = Config::from_yaml_str("buffered_outputs: false\n", &[]).unwrap();
    assert!(!unset.outputs_buffered(false), "Falco's default is false");
    assert!(on.outputs_buffered(false));
    assert!(!on.outputs_buffered(true), "-U wins over the key");
    assert!(!off.outputs_buffered(false));
    assert!(!off.outputs_buffered(true));
}
