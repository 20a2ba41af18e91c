//! falco.yaml: loading, `config_files` merging, `-o` overrides, `${VAR}` expansion, and the
//! typed [`Config`] with Falco 0.39's keys and the defaults its code uses when a key is absent.
//!
//! Load order (Falco 0.39's): the main file, then the `-o` overrides (so `-o config_files=…`
//! works), then every file named by `config_files` (a directory means its regular files in
//! lexicographic order; each included file replaces whole top-level keys), then the `-o`
//! overrides again so the command line wins. `${VAR}` is expanded in every string afterwards.
//!
//! Unknown keys are warnings ([`Config::warnings`]); a value of the wrong type or out of range is
//! a [`ConfigError`] naming the key. The merged tree stays available as [`Config::raw`] for parts
//! that read keys themselves (the rules engine reads `rules:` and `append_output`).

pub mod schema;
pub mod tree;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::app::drops::{DropSettings, DropSettingsError};
use crate::priority::Priority;

/// Where Falco looks for its configuration when `-c` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/falco/falco.yaml";

/// A configuration problem; nothing starts when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Cannot read config file ({path}): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Cannot read config file ({path}): {message}")]
    Parse { path: PathBuf, message: String },
    #[error("Error parsing config option \"{0}\". Must be of the form key=val or key.subkey=val")]
    OptionSyntax(String),
    #[error("Error parsing config option \"{option}\": {source}")]
    OptionPath {
        option: String,
        source: tree::PathError,
    },
    #[error("Error parsing config option \"{option}\": the value is not valid YAML: {message}")]
    OptionValue { option: String, message: String },
    #[error("Error reading config file ({path}): invalid value {value} for '{key}': expected {expected}")]
    InvalidValue {
        path: String,
        key: String,
        value: String,
        expected: String,
    },
    #[error("Error reading config file ({path}): {message}")]
    Invalid { path: String, message: String },
}

/// `engine.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Kmod,
    Ebpf,
    ModernEbpf,
    Gvisor,
    Replay,
    Nodriver,
}

impl EngineKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "kmod" => EngineKind::Kmod,
            "ebpf" => EngineKind::Ebpf,
            "modern_ebpf" => EngineKind::ModernEbpf,
            "gvisor" => EngineKind::Gvisor,
            "replay" => EngineKind::Replay,
            "nodriver" => EngineKind::Nodriver,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Kmod => "kmod",
            EngineKind::Ebpf => "ebpf",
            EngineKind::ModernEbpf => "modern_ebpf",
            EngineKind::Gvisor => "gvisor",
            EngineKind::Replay => "replay",
            EngineKind::Nodriver => "nodriver",
        }
    }
}

/// `engine.*`.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    pub kind: EngineKind,
    /// `engine.kmod.buf_size_preset` (index into Falco's table; 4 = 8 MiB per CPU).
    pub kmod_buf_size_preset: u64,
    pub kmod_drop_failed_exit: bool,
    pub modern_ebpf_cpus_for_each_buffer: u64,
    pub modern_ebpf_buf_size_preset: u64,
    pub modern_ebpf_drop_failed_exit: bool,
    /// `engine.replay.capture_file`; empty when not set.
    pub replay_capture_file: String,
}

/// `rule_matching`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleMatching {
    First,
    All,
}

/// One entry of `rules:` (enable or disable rules by name glob or by tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSelection {
    pub enable: bool,
    pub target: RuleSelector,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSelector {
    /// A rule name, with `*` wildcards.
    Rule(String),
    Tag(String),
}

/// `file_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOutputConfig {
    pub enabled: bool,
    pub keep_alive: bool,
    pub filename: PathBuf,
}

/// `program_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramOutputConfig {
    pub enabled: bool,
    pub keep_alive: bool,
    pub program: String,
}

/// `http_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOutputConfig {
    pub enabled: bool,
    pub url: String,
    pub user_agent: String,
    pub insecure: bool,
    pub ca_cert: String,
    pub ca_bundle: String,
    pub ca_path: String,
    pub mtls: bool,
    pub client_cert: String,
    pub client_key: String,
    pub echo: bool,
    pub compress_uploads: bool,
    pub keep_alive: bool,
}

/// `webserver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebserverConfig {
    pub enabled: bool,
    pub threadiness: u64,
    pub listen_port: u16,
    pub listen_address: std::net::IpAddr,
    pub k8s_healthz_endpoint: String,
    pub prometheus_metrics_enabled: bool,
    pub ssl_enabled: bool,
    pub ssl_certificate: PathBuf,
}

/// `metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub interval: Duration,
    pub output_rule: bool,
    pub output_file: Option<PathBuf>,
    pub rules_counters_enabled: bool,
    pub resource_utilization_enabled: bool,
    pub state_counters_enabled: bool,
    pub kernel_event_counters_enabled: bool,
    pub kernel_event_counters_per_cpu_enabled: bool,
    pub libbpf_stats_enabled: bool,
    pub plugins_metrics_enabled: bool,
    pub convert_memory_to_mb: bool,
    pub include_empty_values: bool,
}

/// `log_level`: Falco's logger levels, which are syslog's.
pub type LogLevel = Priority;

/// The whole configuration, typed. Field names follow the YAML keys.
#[derive(Clone, Debug)]
pub struct Config {
    /// Files read, in order: the main file (if any) then the included ones.
    pub loaded_files: Vec<PathBuf>,
    /// Non-fatal problems (unknown keys, deprecated keys) for the caller to log as warnings.
    pub warnings: Vec<String>,
    /// The merged tree after overrides and `${VAR}` expansion.
    pub raw: Value,

    pub watch_config_files: bool,
    /// `rules_files` (or the deprecated `rules_file`), as written; not expanded.
    pub rules_files: Vec<PathBuf>,
    /// `rules:` selection entries, in order.
    pub rules: Vec<RuleSelection>,
    pub engine: EngineConfig,
    pub load_plugins: Vec<String>,

    pub time_format_iso_8601: bool,
    /// Minimum priority of the rules loaded.
    pub priority: Priority,
    pub json_output: bool,
    pub json_include_output_property: bool,
    pub json_include_message_property: bool,
    pub json_include_tags_property: bool,
    /// The `buffered_outputs` key; see [`Config::outputs_buffered`].
    pub buffered_outputs: bool,
    pub rule_matching: RuleMatching,
    /// `outputs_queue.capacity`; 0 = unbounded.
    pub outputs_queue_capacity: u64,

    pub stdout_output_enabled: bool,
    pub syslog_output_enabled: bool,
    pub file_output: FileOutputConfig,
    pub http_output: HttpOutputConfig,
    pub program_output: ProgramOutputConfig,
    pub grpc_output_enabled: bool,
    pub grpc_enabled: bool,

    pub webserver: WebserverConfig,

    pub log_stderr: bool,
    pub log_syslog: bool,
    pub log_level: LogLevel,
    pub libs_logger_enabled: bool,
    pub libs_logger_severity: LogLevel,

    /// `output_timeout` in milliseconds.
    pub output_timeout: Duration,
    pub syscall_event_timeouts_max_consecutives: u64,
    pub syscall_event_drops: DropSettings,
    pub metrics: MetricsConfig,
    pub base_syscalls_custom_set: Vec<String>,
    pub base_syscalls_repair: bool,
    pub base_syscalls_all: bool,
    pub falco_libs_thread_table_size: u64,
}

impl Config {
    /// Loads `path` (or [`DEFAULT_CONFIG_PATH`], which may be absent: defaults are used then),
    /// merges `config_files`, applies `-o` overrides and validates every known key.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config, ConfigError> {
        let (main_path, must_exist) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        };
        let mut loaded = Vec::new();
        let mut root = if !must_exist && !main_path.exists() {
            Value::Null
        } else {
            let text = read_config_text(&main_path)?;
            loaded.push(main_path.clone());
            parse_yaml(&main_path, &text)?
        };
        // `-o config_files=…` must choose the includes, yet the command line must also win over
        // them: read the list from an overridden copy, merge, then apply the overrides once.
        let mut probe = root.clone();
        apply_overrides(&mut probe, overrides)?;
        let includes = probe.get("config_files").cloned();
        merge_config_files(&mut root, includes, &main_path, &mut loaded)?;
        apply_overrides(&mut root, overrides)?;
        Self::from_tree(root, loaded, Vec::new())
    }

    /// Builds a configuration from YAML text (used by tests and `--support`-like tools).
    pub fn from_yaml_str(text: &str, overrides: &[String]) -> Result<Config, ConfigError> {
        let label = PathBuf::from("<string>");
        let mut root = parse_yaml(&label, text)?;
        apply_overrides(&mut root, overrides)?;
        Self::from_tree(root, Vec::new(), Vec::new())
    }

    fn from_tree(
        mut root: Value,
        loaded_files: Vec<PathBuf>,
        mut warnings: Vec<String>,
    ) -> Result<Config, ConfigError> {
        if root.is_null() {
            root = Value::Object(serde_json::Map::new());
        }
        let label = loaded_files
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<defaults>".to_string());
        if !root.is_object() {
            return Err(ConfigError::Invalid {
                path: label,
                message: "the top level must be a map of keys".to_string(),
            });
        }
        tree::expand_env_in_tree(&mut root);
        schema::warn_unknown_keys(&root, &mut warnings);
        let r = Reader {
            root: &root,
            path: &label,
        };

        let rules_files = match (r.node("rules_files"), r.node("rules_file")) {
            (Some(_), Some(_)) => {
                return Err(r.invalid(
                    "both 'rules_files' and 'rules_file' keys set; use 'rules_files' only",
                ))
            }
            (Some(_), None) => r.string_list("rules_files")?,
            (None, Some(_)) => {
                warnings.push(
                    "Using deprecated config key 'rules_file' (singular form). Please use new \
                     'rules_files' config key (plural form)."
                        .to_string(),
                );
                r.string_list("rules_file")?
            }
            (None, None) => Vec::new(),
        }
        .into_iter()
        .map(PathBuf::from)
        .collect();

        let kind_text = r.string("engine.kind", "kmod")?;
        let kind = EngineKind::parse(&kind_text).ok_or_else(|| {
            r.bad_value(
                "engine.kind",
                &format!("'{kind_text}'"),
                "one of kmod, ebpf, modern_ebpf, gvisor, replay, nodriver",
            )
        })?;
        let engine = EngineConfig {
            kind,
            kmod_buf_size_preset: r.u64("engine.kmod.buf_size_preset", 4)?,
            kmod_drop_failed_exit: r.bool("engine.kmod.drop_failed_exit", false)?,
            modern_ebpf_cpus_for_each_buffer: r
                .u64("engine.modern_ebpf.cpus_for_each_buffer", 2)?,
            modern_ebpf_buf_size_preset: r.u64("engine.modern_ebpf.buf_size_preset", 4)?,
            modern_ebpf_drop_failed_exit: r.bool("engine.modern_ebpf.drop_failed_exit", false)?,
            replay_capture_file: r.string("engine.replay.capture_file", "")?,
        };
        if engine.kmod_buf_size_preset > 10 || engine.modern_ebpf_buf_size_preset > 10 {
            return Err(r.invalid("buf_size_preset must be between 0 and 10"));
        }
        if kind == EngineKind::Replay && engine.replay_capture_file.is_empty() {
            return Err(r.invalid(
                "engine.kind is 'replay' but engine.replay.capture_file is empty; \
                 set it to the capture file to read",
            ));
        }

        let priority_text = r.string("priority", "debug")?;
        let priority: Priority = priority_text.parse().map_err(|_| {
            r.bad_value(
                "priority",
                &format!("'{priority_text}'"),
                "one of emergency, alert, critical, error, warning, notice, informational, debug",
            )
        })?;

        let rule_matching = match r.string("rule_matching", "first")?.as_str() {
            "first" => RuleMatching::First,
            "all" => RuleMatching::All,
            other => {
                return Err(r.invalid(&format!(
                    "Unknown rule matching strategy \"{other}\"--must be one of first, all"
                )))
            }
        };

        let file_output = FileOutputConfig {
            enabled: r.bool("file_output.enabled", false)?,
            keep_alive: r.bool("file_output.keep_alive", false)?,
            filename: PathBuf::from(r.string("file_output.filename", "")?),
        };
        if file_output.enabled && file_output.filename.as_os_str().is_empty() {
            return Err(r.invalid("file output enabled but no filename in configuration block"));
        }
        let program_output = ProgramOutputConfig {
            enabled: r.bool("program_output.enabled", false)?,
            keep_alive: r.bool("program_output.keep_alive", false)?,
            program: r.string("program_output.program", "")?,
        };
        if program_output.enabled && program_output.program.is_empty() {
            return Err(r.invalid("program output enabled but no program in configuration block"));
        }
        let http_output = HttpOutputConfig {
            enabled: r.bool("http_output.enabled", false)?,
            url: r.string("http_output.url", "")?,
            user_agent: r.string("http_output.user_agent", "falcosecurity/falco")?,
            insecure: r.bool("http_output.insecure", false)?,
            ca_cert: r.string("http_output.ca_cert", "")?,
            ca_bundle: r.string("http_output.ca_bundle", "")?,
            ca_path: r.string("http_output.ca_path", "/etc/ssl/certs")?,
            mtls: r.bool("http_output.mtls", false)?,
            client_cert: r.string("http_output.client_cert", "/etc/ssl/certs/client.crt")?,
            client_key: r.string("http_output.client_key", "/etc/ssl/certs/client.key")?,
            echo: r.bool("http_output.echo", false)?,
            compress_uploads: r.bool("http_output.compress_uploads", false)?,
            keep_alive: r.bool("http_output.keep_alive", false)?,
        };
        if http_output.enabled && http_output.url.is_empty() {
            return Err(r.invalid("http output enabled but no url in configuration block"));
        }

        let listen_text = r.string("webserver.listen_address", "0.0.0.0")?;
        let listen_address = listen_text.parse().map_err(|_| {
            r.bad_value(
                "webserver.listen_address",
                &format!("'{listen_text}'"),
                "an IPv4 or IPv6 address",
            )
        })?;
        let port = r.u64("webserver.listen_port", 8765)?;
        // 0 asks the kernel for a free port (the log line names the one bound); tests use it.
        let listen_port = u16::try_from(port).ok().ok_or_else(|| {
            r.bad_value(
                "webserver.listen_port",
                &port.to_string(),
                "a port in 0..65535",
            )
        })?;
        let webserver = WebserverConfig {
            enabled: r.bool("webserver.enabled", false)?,
            threadiness: r.u64("webserver.threadiness", 0)?,
            listen_port,
            listen_address,
            k8s_healthz_endpoint: r.string("webserver.k8s_healthz_endpoint", "/healthz")?,
            prometheus_metrics_enabled: r.bool("webserver.prometheus_metrics_enabled", false)?,
            ssl_enabled: r.bool("webserver.ssl_enabled", false)?,
            ssl_certificate: PathBuf::from(
                r.string("webserver.ssl_certificate", "/etc/falco/falco.pem")?,
            ),
        };
        if !webserver.k8s_healthz_endpoint.starts_with('/') {
            return Err(r.bad_value(
                "webserver.k8s_healthz_endpoint",
                &format!("'{}'", webserver.k8s_healthz_endpoint),
                "a path starting with '/'",
            ));
        }

        let log_level = r.level("log_level", "info")?;
        let libs_logger_severity = r.level("libs_logger.severity", "debug")?;

        let max_consecutives = r.u64("syscall_event_timeouts.max_consecutives", 1000)?;
        if max_consecutives == 0 {
            return Err(r.invalid(
                "the maximum consecutive timeouts without an event must be an unsigned integer > 0",
            ));
        }

        let drop_actions = match r.node("syscall_event_drops.actions") {
            Some(_) => r.string_list("syscall_event_drops.actions")?,
            None => vec!["log".to_string(), "alert".to_string()],
        };
        let syscall_event_drops = DropSettings::new(
            r.f64("syscall_event_drops.threshold", 0.1)?,
            &drop_actions,
            r.f64("syscall_event_drops.rate", 0.03333)?,
            r.f64("syscall_event_drops.max_burst", 1.0)?,
            r.bool("syscall_event_drops.simulate_drops", false)?,
        )
        .map_err(|e: DropSettingsError| r.invalid(&e.to_string()))?;

        let interval_text = r.string("metrics.interval", "5000")?;
        let interval = parse_interval(&interval_text).ok_or_else(|| {
            r.bad_value(
                "metrics.interval",
                &format!("'{interval_text}'"),
                "a duration such as 15s, 1m or 1h (Prometheus syntax; at least 100ms)",
            )
        })?;
        let output_file = r.string("metrics.output_file", "")?;
        let metrics = MetricsConfig {
            enabled: r.bool("metrics.enabled", false)?,
            interval,
            output_rule: r.bool("metrics.output_rule", false)?,
            output_file: (!output_file.is_empty()).then(|| PathBuf::from(output_file)),
            rules_counters_enabled: r.bool("metrics.rules_counters_enabled", true)?,
            resource_utilization_enabled: r.bool("metrics.resource_utilization_enabled", true)?,
            state_counters_enabled: r.bool("metrics.state_counters_enabled", true)?,
            kernel_event_counters_enabled: r.bool("metrics.kernel_event_counters_enabled", true)?,
            kernel_event_counters_per_cpu_enabled: r
                .bool("metrics.kernel_event_counters_per_cpu_enabled", true)?,
            libbpf_stats_enabled: r.bool("metrics.libbpf_stats_enabled", true)?,
            plugins_metrics_enabled: r.bool("metrics.plugins_metrics_enabled", true)?,
            convert_memory_to_mb: r.bool("metrics.convert_memory_to_mb", true)?,
            include_empty_values: r.bool("metrics.include_empty_values", false)?,
        };

        let output_timeout_ms = r.u64("output_timeout", 2000)?;
        let config = Config {
            loaded_files,
            watch_config_files: r.bool("watch_config_files", true)?,
            rules_files,
            rules: parse_rule_selections(&r)?,
            engine,
            load_plugins: match r.node("load_plugins") {
                Some(_) => r.string_list("load_plugins")?,
                None => Vec::new(),
            },
            time_format_iso_8601: r.bool("time_format_iso_8601", false)?,
            priority,
            json_output: r.bool("json_output", false)?,
            json_include_output_property: r.bool("json_include_output_property", true)?,
            json_include_message_property: r.bool("json_include_message_property", false)?,
            json_include_tags_property: r.bool("json_include_tags_property", true)?,
            buffered_outputs: r.bool("buffered_outputs", false)?,
            rule_matching,
            outputs_queue_capacity: r.u64("outputs_queue.capacity", 0)?,
            stdout_output_enabled: r.bool("stdout_output.enabled", false)?,
            syslog_output_enabled: r.bool("syslog_output.enabled", false)?,
            file_output,
            http_output,
            program_output,
            grpc_output_enabled: r.bool("grpc_output.enabled", true)?,
            grpc_enabled: r.bool("grpc.enabled", false)?,
            webserver,
            log_stderr: r.bool("log_stderr", false)?,
            log_syslog: r.bool("log_syslog", true)?,
            log_level,
            libs_logger_enabled: r.bool("libs_logger.enabled", false)?,
            libs_logger_severity,
            output_timeout: Duration::from_millis(output_timeout_ms),
            syscall_event_timeouts_max_consecutives: max_consecutives,
            syscall_event_drops,
            metrics,
            base_syscalls_custom_set: match r.node("base_syscalls.custom_set") {
                Some(_) => r.string_list("base_syscalls.custom_set")?,
                None => Vec::new(),
            },
            base_syscalls_repair: r.bool("base_syscalls.repair", false)?,
            base_syscalls_all: r.bool("base_syscalls.all", false)?,
            falco_libs_thread_table_size: r.u64("falco_libs.thread_table_size", 262_144)?,
            warnings,
            raw: Value::Null,
        };
        Ok(Config {
            raw: root,
            ..config
        })
    }

    /// Whether outputs buffer their writes: `buffered_outputs: true` and no `-U`. This is what
    /// Falco documents; the 0.39 binary overwrites the key with `!-U` after reading the file, so
    /// it buffers even with `buffered_outputs: false` (falcosecurity/falco#3477, an open bug:
    /// alerts on stdout arrive late) — we keep the documented meaning instead.
    pub fn outputs_buffered(&self, unbuffered_flag: bool) -> bool {
        self.buffered_outputs && !unbuffered_flag
    }

    /// The rules files to load: `-r` entries replace the configured list. No file at all is
    /// Falco's fatal error "You must specify at least one rules file".
    pub fn effective_rules_files(&self, cli_rules: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
        let list = if cli_rules.is_empty() {
            self.rules_files.clone()
        } else {
            cli_rules.to_vec()
        };
        if list.is_empty() {
            return Err("You must specify at least one rules file/directory via -r or a rules_files entry in falco.yaml".to_string());
        }
        Ok(list)
    }

    /// Every file the configuration came from plus the given rules paths: what
    /// `watch_config_files` watches.
    pub fn watched_paths(&self, rules_files: &[PathBuf]) -> Vec<PathBuf> {
        let mut v = self.loaded_files.clone();
        v.extend(rules_files.iter().cloned());
        v
    }
}

fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: format!(
            "not valid UTF-8 (byte offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Parses one YAML document; an empty or comment-only file is an empty map.
fn parse_yaml(path: &Path, text: &str) -> Result<Value, ConfigError> {
    let parsed: Option<Value> = serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: first_line(&e.to_string()),
    })?;
    Ok(parsed.unwrap_or(Value::Null))
}

/// serde-saphyr renders a source snippet after the first line; logs want one line.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Applies Falco's `-o key=value` overrides in order. A value wrapped in `{…}` is parsed as
/// YAML; anything else is kept as a string scalar (read leniently later, like yaml-cpp does).
pub fn apply_overrides(root: &mut Value, overrides: &[String]) -> Result<(), ConfigError> {
    for option in overrides {
        let Some((key, value)) = option.split_once('=') else {
            return Err(ConfigError::OptionSyntax(option.clone()));
        };
        let steps = tree::parse_path(key).map_err(|source| ConfigError::OptionPath {
            option: option.clone(),
            source,
        })?;
        let node = if value.starts_with('{') && value.ends_with('}') {
            serde_saphyr::from_str::<Option<Value>>(value)
                .map_err(|e| ConfigError::OptionValue {
                    option: option.clone(),
                    message: first_line(&e.to_string()),
                })?
                .unwrap_or(Value::Null)
        } else {
            Value::String(value.to_string())
        };
        if root.is_null() {
            *root = Value::Object(serde_json::Map::new());
        }
        tree::set(root, key, &steps, node).map_err(|source| ConfigError::OptionPath {
            option: option.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Includes every file named by `includes` (the `config_files` value): each top-level key of an
/// included file replaces the main file's. Entries that do not exist are skipped; included files
/// may not include.
fn merge_config_files(
    root: &mut Value,
    includes: Option<Value>,
    main_path: &Path,
    loaded: &mut Vec<PathBuf>,
) -> Result<(), ConfigError> {
    let Some(entries) = includes else {
        return Ok(());
    };
    let label = main_path.display().to_string();
    let entries: Vec<String> = match &entries {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                tree::as_string(v)
                    .map(|s| tree::expand_env(&s))
                    .ok_or_else(|| ConfigError::InvalidValue {
                        path: label.clone(),
                        key: "config_files".to_string(),
                        value: tree::describe(v),
                        expected: "a list of file or directory paths".to_string(),
                    })
            })
            .collect::<Result<_, _>>()?,
        Value::Null => Vec::new(),
        other => match tree::as_string(other) {
            Some(s) => vec![tree::expand_env(&s)],
            None => {
                return Err(ConfigError::InvalidValue {
                    path: label,
                    key: "config_files".to_string(),
                    value: tree::describe(other),
                    expected: "a list of file or directory paths".to_string(),
                })
            }
        },
    };
    for entry in entries {
        let entry_path = PathBuf::from(&entry);
        let files = if entry_path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&entry_path)
                .map_err(|source| ConfigError::Read {
                    path: entry_path.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else if entry_path.is_file() {
            vec![entry_path]
        } else {
            // Falco skips entries that do not exist (the shipped /etc/falco/config.d often is).
            continue;
        };
        for file in files {
            if file == main_path {
                continue;
            }
            let text = read_config_text(&file)?;
            let included = parse_yaml(&file, &text)?;
            match included {
                Value::Null => {}
                Value::Object(map) => {
                    if map.contains_key("config_files") {
                        return Err(ConfigError::Invalid {
                            path: file.display().to_string(),
                            message: "'config_files' directive in an included config file \
                                      (nested includes are not allowed)"
                                .to_string(),
                        });
                    }
                    if let Value::Object(root_map) = root {
                        root_map.extend(map);
                    }
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        path: file.display().to_string(),
                        message: "the top level must be a map of keys".to_string(),
                    })
                }
            }
            loaded.push(file);
        }
    }
    Ok(())
}

/// `metrics.interval`: Prometheus duration syntax (`1h30m`, `15s`, `500ms`) or a bare number
/// of milliseconds (Falco's code default is `"5000"`). At least 100 ms.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let ms: u64 = if let Ok(n) = t.parse::<u64>() {
        n
    } else {
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return None;
            }
            let n: u64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let factor: u64 = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000,
                "y" => 365 * 86_400_000,
                _ => return None,
            };
            total = total.checked_add(n.checked_mul(factor)?)?;
            rest = &rest[unit_len..];
        }
        total
    };
    (ms >= 100).then(|| Duration::from_millis(ms))
}

fn parse_rule_selections(r: &Reader<'_>) -> Result<Vec<RuleSelection>, ConfigError> {
    let Some(node) = r.node("rules") else {
        return Ok(Vec::new());
    };
    let expected = "a list of {enable|disable: {rule: NAME}|{tag: TAG}} entries";
    let items = match node {
        Value::Array(items) => items,
        Value::Null => return Ok(Vec::new()),
        other => return Err(r.bad_value("rules", &tree::describe(other), expected)),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("rules[{i}]");
        let bad = |what: &Value| r.bad_value(&key, &tree::describe(what), expected);
        let map = item.as_object().ok_or_else(|| bad(item))?;
        for (action, body) in map {
            let enable = match action.as_str() {
                "enable" => true,
                "disable" => false,
                _ => return Err(bad(item)),
            };
            let body = body.as_object().ok_or_else(|| bad(item))?;
            for (what, value) in body {
                let text = tree::as_string(value).ok_or_else(|| bad(item))?;
                let target = match what.as_str() {
                    "rule" => RuleSelector::Rule(text),
                    "tag" => RuleSelector::Tag(text),
                    _ => return Err(bad(item)),
                };
                out.push(RuleSelection { enable, target });
            }
        }
    }
    Ok(out)
}

/// Typed access to the tree with errors that name the key.
struct Reader<'a> {
    root: &'a Value,
    path: &'a str,
}

impl Reader<'_> {
    /// The node at `key`, or `None` when absent or null (an empty value means "use the
    /// default", as in Falco).
    fn node(&self, key: &str) -> Option<&Value> {
        tree::get_key(self.root, key).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            _ => true,
        })
    }

    fn invalid(&self, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_string(),
            message: message.to_string(),
        }
    }

    fn bad_value(&self, key: &str, value: &str, expected: &str) -> ConfigError {
        ConfigError::InvalidValue {
            path: self.path.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    fn typed<T>(
        &self,
        key: &str,
        default: T,
        conv: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.node(key) {
            None => Ok(default),
            Some(v) => conv(v).ok_or_else(|| self.bad_value(key, &tree::describe(v), expected)),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.typed(key, default, tree::as_bool, "true or false")
    }

    fn u64(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        self.typed(key, default, tree::as_u64, "a non-negative integer")
    }

    fn f64(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        self.typed(key, default, tree::as_f64, "a number")
    }

    fn string(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        self.typed(key, default.to_string(), tree::as_string, "a string")
    }

    fn level(&self, key: &str, default: &str) -> Result<Priority, ConfigError> {
        let text = self.string(key, default)?;
        text.parse().map_err(|_| {
            self.bad_value(
                key,
                &format!("'{text}'"),
                "one of emergency, alert, critical, error, warning, notice, info, debug",
            )
        })
    }

    /// A list of strings; a single scalar counts as a one-element list.
    fn string_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        let expected = "a list of strings";
        match self.node(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    tree::as_string(v)
                        .ok_or_else(|| self.bad_value(key, &tree::describe(v), expected))
                })
                .collect(),
            Some(v) => tree::as_string(v)
                .map(|s| vec![s])
                .ok_or_else(|| self.bad_value(key, &tree::describe(v), expected)),
        }
    }
}

#[cfg(test)]
mod tests;
