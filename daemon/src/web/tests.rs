//! Tests against a real listening server with curl, promtool and openssl (scripts/setup.sh).

use super::*;
use crate::outputs::{Alert, Outputs, OutputsSettings};
use std::process::{Command, Stdio};

#[path = "../../tests/support/http_client.rs"]
mod http_client;
use http_client::{curl, promtool};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falco-web-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn settings(metrics: bool) -> WebSettings {
    WebSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        healthz_path: "/healthz".into(),
        threadiness: 1,
        tls_pem: None,
        metrics: metrics.then(MetricsCategories::default),
    }
}

fn no_outputs() -> OutputsSettings {
    OutputsSettings {
        buffered: true,
        ..OutputsSettings::default()
    }
}

fn url(ws: &Webserver, path: &str) -> String {
    format!("http://{}{}", ws.local_addr(), path)
}

/// A healthy pipeline: source open, beating, outputs running.
fn healthy() -> (Arc<Health>, Outputs) {
    let h = Arc::new(Health::default());
    h.source_opened();
    let out = Outputs::start(&no_outputs(), None).unwrap();
    h.set_outputs(out.stats(), Duration::from_secs(2));
    (h, out)
}

#[test]
fn healthz_follows_the_pipeline() {
    let h = Arc::new(Health::new(Duration::from_millis(300)));
    let ws = Webserver::start(&settings(false), h.clone()).unwrap();
    let r = curl(&[&url(&ws, "/healthz")]);
    assert_eq!(r.status, 503);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["reason"], "event source is not open");

    h.source_opened();
    let out = Outputs::start(&no_outputs(), None).unwrap();
    h.set_outputs(out.stats(), Duration::from_secs(2));
    let r = curl(&[&url(&ws, "/healthz")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "{\"status\": \"ok\"}");
    assert!(r.headers.contains("content-type: application/json"));

    // The hot loop stops beating: 503 with the reason.
    std::thread::sleep(Duration::from_millis(450));
    let r = curl(&[&url(&ws, "/healthz")]);
    assert_eq!(r.status, 503);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["reason"]
        .as_str()
        .unwrap()
        .starts_with("event processing made no progress"));
    h.beat();
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 200);
    h.stopping();
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 503);
    ws.stop();
    out.shutdown();
}

#[test]
fn only_its_routes_and_methods() {
    let (h, out) = healthy();
    let ws = Webserver::start(&settings(false), h).unwrap();
    assert_eq!(curl(&[&url(&ws, "/")]).status, 404);
    assert_eq!(curl(&[&url(&ws, "/healthz/x")]).status, 404);
    assert_eq!(curl(&[&url(&ws, "/k8s-audit")]).status, 404);
    // /metrics exists only when metrics and prometheus_metrics are enabled.
    assert_eq!(curl(&[&url(&ws, "/metrics")]).status, 404);
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = curl(&["-X", m, &url(&ws, "/healthz")]);
        assert_eq!(r.status, 405, "{m} /healthz");
        assert!(r.headers.contains("allow: get,head"), "{}", r.headers);
        assert_eq!(curl(&["-X", m, &url(&ws, "/versions")]).status, 405);
    }
    // A garbage request line does not hurt the server.
    let mut s = std::net::TcpStream::connect(ws.local_addr()).unwrap();
    std::io::Write::write_all(&mut s, b"\x00\x01garbage\r\n\r\n").unwrap();
    drop(s);
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 200);
    ws.stop();
    out.shutdown();
}

#[test]
fn custom_healthz_path() {
    let (h, out) = healthy();
    let s = WebSettings {
        healthz_path: "/ready".into(),
        ..settings(false)
    };
    let ws = Webserver::start(&s, h).unwrap();
    assert_eq!(curl(&[&url(&ws, "/ready")]).status, 200);
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 404);
    ws.stop();
    out.shutdown();
}

#[test]
fn versions_is_falcos_document() {
    let (h, out) = healthy();
    let ws = Webserver::start(&settings(false), h).unwrap();
    let r = curl(&[&url(&ws, "/versions")]);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("content-type: application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "default_driver_version",
            "driver_api_version",
            "driver_schema_version",
            "engine_version",
            "engine_version_semver",
            "falco_version",
            "libs_version",
            "plugin_api_version",
            "plugin_versions"
        ]
    );
    assert_eq!(v["engine_version"], "43");
    assert_eq!(v["engine_version_semver"], crate::cli::ENGINE_VERSION);
    assert_eq!(v["falco_version"], env!("CARGO_PKG_VERSION"));
    ws.stop();
    out.shutdown();
}

fn alert(rule: &str, priority: Priority, tags: &[&str], source: &str) -> Alert {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    Alert::new(
        0,
        priority,
        Arc::from(rule),
        Arc::from(source),
        Arc::from(tags),
        format!("{rule} fired"),
    )
}

#[test]
fn metrics_serve_exporter_and_daemon_series_and_pass_promtool() {
    let (h, out) = healthy();
    h.set_run_info(RunInfo {
        engine_name: "nodriver".into(),
        event_sources: vec!["syscall".into()],
        rules_files: vec![LoadedFile {
            file_name: "falco_rules.yaml".into(),
            sha256: "ab".repeat(32),
        }],
        config_files: vec![],
    });
    let rules = h.set_rules(vec![
        RuleInfo {
            name: "Terminal shell in container".into(),
            priority: Priority::Notice,
            source: "syscall".into(),
            tags: vec!["T1059".into(), "container".into(), "mitre-execution".into()],
        },
        RuleInfo {
            // Quotes, backslashes and a newline in names must not break the exposition.
            name: "odd \"rule\" \\ name\nline2".into(),
            priority: Priority::Critical,
            source: "syscall".into(),
            // Two tags that sanitise to the same label name.
            tags: vec!["a.b".into(), "a-b".into(), "9lives".into()],
        },
    ]);
    rules.record(0);
    rules.record(0);
    rules.record(1);
    h.publish_source(&SourceCounts {
        events: 1000,
        drops_buffer: 7,
        drops_page_faults: 2,
        drops_bug: 1,
        truncated: 3,
    });
    let handle = out.handle();
    for _ in 0..3 {
        handle.send(alert(
            "Terminal shell in container",
            Priority::Notice,
            &["T1059", "container"],
            "syscall",
        ));
    }
    handle.send(alert(
        "odd \"rule\" \\ name\nline2",
        Priority::Critical,
        &[],
        "syscall",
    ));
    handle.send_internal(
        Priority::Debug,
        "Falco internal: syscall event drop",
        "drops",
        &[],
        false,
    );
    while out
        .stats()
        .processed
        .load(std::sync::atomic::Ordering::Relaxed)
        < 5
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let ws = Webserver::start(&settings(true), h).unwrap();
    let r = curl(&[&url(&ws, "/metrics")]);
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{}",
        r.headers
    );
    let host = crate::outputs::hostname();
    let text = r.body;
    let expect = [
        format!(
            "falco_events{{hostname=\"{host}\",k8s_ns_name=\"\",k8s_pod_name=\"\",priority=\"5\",\
             rule=\"Terminal shell in container\",source=\"syscall\",tags=\",T1059,container,\"}} 3"
        ),
        format!(
            "falco_events{{hostname=\"{host}\",k8s_ns_name=\"\",k8s_pod_name=\"\",priority=\"2\",\
             rule=\"odd \\\"rule\\\" \\\\ name\\nline2\",source=\"syscall\",tags=\",,\"}} 1"
        ),
        format!(
            "falco_events{{hostname=\"{host}\",k8s_ns_name=\"\",k8s_pod_name=\"\",priority=\"7\",\
             rule=\"Falco internal: syscall event drop\",source=\"internal\",tags=\",,\"}} 1"
        ),
        "falcosecurity_falco_rules_matches_total{priority=\"5\",rule_name=\"Terminal shell in \
         container\",source=\"syscall\",tag_T1059=\"true\",tag_container=\"true\",\
         tag_mitre_execution=\"true\"} 2"
            .to_string(),
        "falcosecurity_falco_rules_matches_total{priority=\"2\",rule_name=\"odd \\\"rule\\\" \\\\ \
         name\\nline2\",source=\"syscall\",tag_9lives=\"true\",tag_a_b=\"true\"} 1"
            .to_string(),
        "falcosecurity_scap_engine_name_info{engine_name=\"nodriver\"} 1".to_string(),
        format!(
            "falcosecurity_falco_sha256_rules_files_info{{file_name=\"falco_rules.yaml\",\
             sha256=\"{}\"}} 1",
            "ab".repeat(32)
        ),
        "falcosecurity_falco_evt_source_info{evt_source=\"syscall\"} 1".to_string(),
        format!("falcosecurity_evt_hostname_info{{hostname=\"{host}\"}} 1"),
        "falcosecurity_scap_n_evts_total 1000".to_string(),
        "falcosecurity_scap_n_drops_buffer_total 7".to_string(),
        "falcosecurity_scap_n_drops_page_faults_total 2".to_string(),
        "falcosecurity_scap_n_drops_bug_total 1".to_string(),
        "falcosecurity_scap_n_drops_total 8".to_string(),
        "falcosecurity_falco_outputs_queue_depth 0".to_string(),
        "falcosecurity_falco_outputs_queue_num_drops_total 0".to_string(),
        "falcosecurity_falco_outputs_alerts_total 5".to_string(),
        "falcosecurity_falco_healthy 1".to_string(),
    ];
    for line in &expect {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    for family in [
        "falcosecurity_falco_memory_rss_bytes",
        "falcosecurity_falco_cpu_usage_ratio",
        "falcosecurity_falco_cpu_seconds_total",
        "falcosecurity_falco_host_num_cpus",
        "falcosecurity_falco_start_timestamp_seconds",
        "falcosecurity_falco_duration_seconds_total",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{family} "))),
            "missing {family}"
        );
    }
    let rss: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("falcosecurity_falco_memory_rss_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 1_000_000, "rss {rss}");
    let (ok, msg) = promtool(&text);
    assert!(ok, "promtool check metrics:\n{msg}\n---\n{text}");
    ws.stop();
    out.shutdown();
}

#[test]
fn metrics_categories_follow_config() {
    let (h, out) = healthy();
    let s = WebSettings {
        metrics: Some(MetricsCategories {
            rules_counters: false,
            resource_utilization: false,
            state_counters: false,
            kernel_event_counters: false,
        }),
        ..settings(true)
    };
    let ws = Webserver::start(&s, h).unwrap();
    let text = curl(&[&url(&ws, "/metrics")]).body;
    assert!(text.contains("# TYPE falco_events untyped"));
    for absent in [
        "falcosecurity_falco_rules_matches_total",
        "falcosecurity_falco_memory_rss_bytes",
        "falcosecurity_scap_n_threads",
        "falcosecurity_scap_n_evts_total",
    ] {
        assert!(!text.contains(absent), "{absent} should be off");
    }
    let (ok, msg) = promtool(&text);
    assert!(ok, "{msg}");
    ws.stop();
    out.shutdown();
}

/// A self-signed certificate for 127.0.0.1 and its key in one PEM file, as Falco expects.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed (scripts/setup.sh)");
    assert!(st.success());
    let bundle = dir.join("falco.pem");
    let mut pem = std::fs::read(&cert).unwrap();
    pem.extend(std::fs::read(&key).unwrap());
    std::fs::write(&bundle, pem).unwrap();
    (bundle, cert)
}

#[test]
fn ssl_enabled_serves_https_with_the_single_pem() {
    let dir = temp_dir("tls");
    let (bundle, ca) = self_signed(&dir);
    let (h, out) = healthy();
    let s = WebSettings {
        tls_pem: Some(bundle),
        ..settings(false)
    };
    let ws = Webserver::start(&s, h).unwrap();
    let https = format!("https://127.0.0.1:{}/healthz", ws.local_addr().port());
    let r = curl(&["--cacert", ca.to_str().unwrap(), &https]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "{\"status\": \"ok\"}");
    // Without trusting the certificate, curl refuses; plain HTTP gets no answer.
    assert_eq!(curl(&[&https]).status, 0);
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 0);
    // ... and the server still serves afterwards.
    assert_eq!(
        curl(&["--cacert", ca.to_str().unwrap(), &https]).status,
        200
    );
    ws.stop();
    out.shutdown();
}

#[test]
fn bad_setup_is_a_clear_error() {
    let dir = temp_dir("bad");
    let h = Arc::new(Health::default());
    let missing = dir.join("missing.pem");
    let s = WebSettings {
        tls_pem: Some(missing.clone()),
        ..settings(false)
    };
    let e = Webserver::start(&s, h.clone()).err().unwrap().to_string();
    assert!(
        e.contains(&missing.display().to_string()) && e.contains("cannot read"),
        "{e}"
    );

    let (bundle, cert) = self_signed(&dir);
    let s = WebSettings {
        tls_pem: Some(cert.clone()),
        ..settings(false)
    };
    let e = Webserver::start(&s, h.clone()).err().unwrap().to_string();
    assert!(e.contains("PRIVATE KEY"), "{e}");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, b"not a pem\n").unwrap();
    let s = WebSettings {
        tls_pem: Some(garbage),
        ..settings(false)
    };
    assert!(Webserver::start(&s, h.clone()).is_err());
    drop(bundle);

    // The port is taken: the error names the address.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = WebSettings {
        listen: taken.local_addr().unwrap(),
        ..settings(false)
    };
    let e = Webserver::start(&s, h).err().unwrap().to_string();
    assert!(e.contains(&taken.local_addr().unwrap().to_string()), "{e}");
}

#[test]
fn settings_from_config_follow_falcos_keys() {
    let cfg = Config::from_yaml_str(
        "webserver:\n  enabled: true\n  listen_port: 9876\n  listen_address: 127.0.0.1\n  \
         threadiness: 3\n  k8s_healthz_endpoint: /hz\n  ssl_enabled: true\n  \
         ssl_certificate: /x.pem\n  prometheus_metrics_enabled: true\n",
        &[
            "metrics.enabled=true".into(),
            "metrics.state_counters_enabled=false".into(),
        ],
    )
    .unwrap();
    let s = WebSettings::from_config(&cfg);
    assert_eq!(s.listen, "127.0.0.1:9876".parse().unwrap());
    assert_eq!(s.threadiness, 3);
    assert_eq!(s.healthz_path, "/hz");
    assert_eq!(s.tls_pem, Some(PathBuf::from("/x.pem")));
    let m = s.metrics.unwrap();
    assert!(!m.state_counters && m.rules_counters);
    // Prometheus needs both switches, as in Falco.
    let cfg =
        Config::from_yaml_str("webserver:\n  prometheus_metrics_enabled: true\n", &[]).unwrap();
    assert!(WebSettings::from_config(&cfg).metrics.is_none());
    let cfg = Config::from_yaml_str("metrics:\n  enabled: true\n", &[]).unwrap();
    assert!(WebSettings::from_config(&cfg).metrics.is_none());
}

#[test]
fn proc_stat_parsing_handles_odd_command_names() {
    let line = "1234 (we(ird) name) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 4 0 100 \
                104857600 2560 18446744073709551615";
    let (cpu, vsz, rss) = metrics::parse_proc_stat(line).unwrap();
    assert!((cpu - 200.0 / metrics_ticks()).abs() < 1e-9);
    assert_eq!(vsz, 104_857_600);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    assert_eq!(rss, 2560 * page);
    assert!(metrics::parse_proc_stat("garbage").is_none());
    assert!(metrics::parse_proc_stat("1 (x) S 1 2").is_none());
}

fn metrics_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

#[test]
fn label_names_are_sanitised_like_falcos() {
    assert_eq!(
        metrics::sanitize_label_name("tag_", "mitre-execution"),
        "tag_mitre_execution"
    );
    assert_eq!(metrics::sanitize_label_name("tag_", "a..b"), "tag_a_b");
    assert_eq!(metrics::sanitize_label_name("tag_", "_x"), "tag_x");
    assert_eq!(metrics::sanitize_label_name("tag_", "T1059"), "tag_T1059");
}

#[test]
fn started_only_when_enabled_and_not_replaying() {
    let h = Arc::new(Health::default());
    let cfg = |extra: &[&str]| {
        let mut o: Vec<String> = vec![
            "webserver.listen_address=127.0.0.1".into(),
            "webserver.listen_port=0".into(),
        ];
        o.extend(extra.iter().map(|s| s.to_string()));
        Config::from_yaml_str("", &o).unwrap()
    };
    assert!(start_for(&cfg(&[]), h.clone()).unwrap().is_none());
    let replay = cfg(&[
        "webserver.enabled=true",
        "engine.kind=replay",
        "engine.replay.capture_file=/x.scap",
    ]);
    assert!(start_for(&replay, h.clone()).unwrap().is_none());
    let live = cfg(&["webserver.enabled=true", "engine.kind=nodriver"]);
    let ws = start_for(&live, h).unwrap().expect("started");
    assert_eq!(curl(&[&url(&ws, "/healthz")]).status, 503);
    ws.stop();
}

#[test]
fn metrics_show_the_container_counters() {
    let h = Health::default();
    h.publish_state(&StateCounts {
        threads: 12,
        containers: 2,
        container_lookups: 9,
        container_lookups_found: 2,
        container_lookups_not_found: 1,
        container_lookup_errors: 3,
        ..StateCounts::default()
    });
    let all = MetricsCategories {
        rules_counters: true,
        resource_utilization: false,
        state_counters: true,
        kernel_event_counters: false,
    };
    let text = metrics::render_with(&h, all, "host", &metrics::ProcFigures::default());
    for line in [
        "falcosecurity_scap_n_threads 12",
        "falcosecurity_scap_n_containers 2",
        "falcosecurity_falco_container_lookups_total 9",
        "falcosecurity_falco_container_lookups_found_total 2",
        "falcosecurity_falco_container_lookups_not_found_total 1",
        "falcosecurity_falco_container_lookup_errors_total 3",
        "# TYPE falcosecurity_scap_n_containers gauge",
        "# TYPE falcosecurity_falco_container_lookup_errors_total counter",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let (ok, msg) = promtool(&text);
    assert!(ok, "promtool check metrics:\n{msg}\n---\n{text}");
    // With the state counters off, none of them.
    let none = MetricsCategories {
        state_counters: false,
        ..all
    };
    let text = metrics::render_with(&h, none, "host", &metrics::ProcFigures::default());
    assert!(!text.contains("container_lookup"), "{text}");
}
