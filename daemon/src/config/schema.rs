//! The keys falco.yaml may contain (Falco 0.31–0.44, so configs of older and newer releases load
//! without noise): anything else is reported as a warning, never an error — Falco 0.39's schema
//! validation also only warns.

use serde_json::Value;

/// Known key paths. `name.*` means "any children" (free-form blocks such as plugin configs);
/// `name[]` marks a list whose elements are maps with the keys listed under `name[].…`.
const KNOWN: &[&str] = &[
    "config_files",
    "watch_config_files",
    "rules_files",
    "rules_file",
    "rules[].enable.rule",
    "rules[].enable.tag",
    "rules[].disable.rule",
    "rules[].disable.tag",
    "engine.kind",
    "engine.kmod.buf_size_preset",
    "engine.kmod.drop_failed_exit",
    "engine.ebpf.probe",
    "engine.ebpf.buf_size_preset",
    "engine.ebpf.drop_failed_exit",
    "engine.modern_ebpf.cpus_for_each_buffer",
    "engine.modern_ebpf.buf_size_preset",
    "engine.modern_ebpf.drop_failed_exit",
    "engine.replay.capture_file",
    "engine.gvisor.config",
    "engine.gvisor.root",
    "load_plugins",
    "plugins.*",
    "time_format_iso_8601",
    "priority",
    "json_output",
    "json_include_output_property",
    "json_include_message_property",
    "json_include_tags_property",
    "json_include_output_fields_property",
    "buffered_outputs",
    "rule_matching",
    "outputs_queue.capacity",
    "outputs.rate",
    "outputs.max_burst",
    "append_output.*",
    "stdout_output.enabled",
    "syslog_output.enabled",
    "file_output.enabled",
    "file_output.keep_alive",
    "file_output.filename",
    "http_output.enabled",
    "http_output.url",
    "http_output.user_agent",
    "http_output.insecure",
    "http_output.ca_cert",
    "http_output.ca_bundle",
    "http_output.ca_path",
    "http_output.mtls",
    "http_output.client_cert",
    "http_output.client_key",
    "http_output.echo",
    "http_output.compress_uploads",
    "http_output.keep_alive",
    "http_output.max_consecutive_timeouts",
    "program_output.enabled",
    "program_output.keep_alive",
    "program_output.program",
    "grpc_output.enabled",
    "grpc.enabled",
    "grpc.bind_address",
    "grpc.threadiness",
    "grpc.private_key",
    "grpc.cert_chain",
    "grpc.root_certs",
    "webserver.enabled",
    "webserver.threadiness",
    "webserver.listen_port",
    "webserver.listen_address",
    "webserver.k8s_healthz_endpoint",
    "webserver.k8s_audit_endpoint",
    "webserver.prometheus_metrics_enabled",
    "webserver.ssl_enabled",
    "webserver.ssl_certificate",
    "log_stderr",
    "log_syslog",
    "log_level",
    "libs_logger.enabled",
    "libs_logger.severity",
    "output_timeout",
    "syscall_event_timeouts.max_consecutives",
    "syscall_event_drops.threshold",
    "syscall_event_drops.actions",
    "syscall_event_drops.rate",
    "syscall_event_drops.max_burst",
    "syscall_event_drops.simulate_drops",
    "metrics.enabled",
    "metrics.interval",
    "metrics.output_rule",
    "metrics.output_file",
    "metrics.rules_counters_enabled",
    "metrics.resource_utilization_enabled",
    "metrics.state_counters_enabled",
    "metrics.kernel_event_counters_enabled",
    "metrics.kernel_event_counters_per_cpu_enabled",
    "metrics.libbpf_stats_enabled",
    "metrics.plugins_metrics_enabled",
    "metrics.jemalloc_stats_enabled",
    "metrics.convert_memory_to_mb",
    "metrics.include_empty_values",
    "base_syscalls.custom_set",
    "base_syscalls.repair",
    "base_syscalls.all",
    "falco_libs.thread_table_size",
    "falco_libs.snaplen",
    "container_engines.*",
    "metadata_download.*",
    "syscall_buf_size_preset",
    "syscall_drop_failed_exit",
    "modern_bpf.*",
    "capture.*",
    "plugins_hostinfo",
    "buffer_format_base64",
    "config_files_watch",
];

/// Appends one warning per key of `root` that Falco does not know.
pub fn warn_unknown_keys(root: &Value, warnings: &mut Vec<String>) {
    walk(root, "", warnings);
}

fn walk(node: &Value, prefix: &str, warnings: &mut Vec<String>) {
    let Value::Object(map) = node else {
        return;
    };
    for (key, child) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match classify(&path) {
            Kind::Unknown => warnings.push(format!(
                "Unknown configuration key '{path}' (ignored; check its spelling and falco.yaml's documentation)"
            )),
            Kind::FreeForm | Kind::Leaf => {}
            Kind::Map => walk(child, &path, warnings),
            Kind::ListOfMaps => {
                if let Value::Array(items) = child {
                    for item in items {
                        walk(item, &format!("{path}[]"), warnings);
                    }
                }
            }
        }
    }
}

enum Kind {
    Unknown,
    Leaf,
    FreeForm,
    Map,
    ListOfMaps,
}

fn classify(path: &str) -> Kind {
    let mut kind = Kind::Unknown;
    for known in KNOWN {
        if *known == path {
            return Kind::Leaf;
        }
        if let Some(base) = known.strip_suffix(".*") {
            if base == path {
                return Kind::FreeForm;
            }
        }
        if let Some(rest) = known.strip_prefix(path) {
            if rest.starts_with('.') {
                kind = Kind::Map;
            } else if rest.starts_with("[].") {
                return Kind::ListOfMaps;
            }
        }
    }
    kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_only_unknown_keys() {
        let root = json!({
            "json_output": true,
            "jsn_output": true,
            "engine": {"kind": "kmod", "kmood": {}},
            "plugins": [{"name": "x", "anything": 1}],
            "rules": [{"disable": {"rule": "*"}}, {"disabel": {"rule": "x"}}],
        });
        let mut w = Vec::new();
        warn_unknown_keys(&root, &mut w);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("'engine.kmood'"), "{w:?}");
        assert!(w.iter().any(|m| m.contains("'jsn_output'")));
        assert!(w.iter().any(|m| m.contains("'rules[].disabel'")));
    }
}
