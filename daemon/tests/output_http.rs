//! The http(s) output against a real local endpoint (tests/support/http_receiver.py, Python's
//! http.server and ssl): JSON and text bodies with their Content-Type, user_agent, gzip uploads,
//! HTTPS trusted through ca_cert / ca_bundle / ca_path or `insecure`, mTLS with a client
//! certificate, and the failure modes: endpoint down, answering 500, hanging. Every alert ends up
//! delivered, failed or dropped — counted — and the outputs worker never waits on the network.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use falco::config::{Config, HttpOutputConfig};
use falco::outputs::{Alert, ChannelKind, OutputStats, Outputs, OutputsSettings};
use falco::priority::Priority;

struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(dir: &Path, name: &str, mode: &str, tls: Option<(&Tls, bool)>) -> Receiver {
        let log = dir.join(format!("{name}.jsonl"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/http_receiver.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg("--log")
            .arg(&log)
            .args(["--mode", mode]);
        if let Some((tls, mtls)) = tls {
            cmd.arg("--cert")
                .arg(&tls.server_cert)
                .arg("--key")
                .arg(&tls.server_key);
            if mtls {
                cmd.arg("--client-ca").arg(&tls.ca_cert);
            }
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed");
        let mut port = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut port).unwrap();
        let port = port.trim().parse().expect("receiver port");
        Receiver { child, port, log }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/falco", self.port)
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
struct Tls {
    dir: PathBuf,
    ca_cert: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl must be installed (scripts/setup.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_tls(dir: &Path) -> Tls {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=falco test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    for (name, ext) in [
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ] {
        let subj = format!("/CN=falco test {name}");
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let mut req = vec!["req", "-subj", &subj];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr]);
        openssl(dir, &req);
        std::fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
        let extfile = format!("{name}.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &extfile,
                "-out",
                &pem,
            ],
        );
    }
    Tls {
        dir: dir.to_path_buf(),
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

/// `http_output` for `url` as falco.yaml gives it (through the real parser, so Falco's defaults),
/// with no CA path and connection reuse on.
fn http_config(url: String) -> HttpOutputConfig {
    let yaml = format!(
        "http_output:\n  enabled: true\n  url: '{url}'\n  ca_path: ''\n  keep_alive: true\n"
    );
    Config::from_yaml_str(&yaml, &[]).unwrap().http_output
}

fn start(
    rt: &tokio::runtime::Runtime,
    http: HttpOutputConfig,
    json: bool,
    timeout_ms: u64,
) -> Outputs {
    let settings = OutputsSettings {
        output_timeout: Duration::from_millis(timeout_ms),
        json_output: json,
        buffered: true,
        http: Some(http),
        ..OutputsSettings::default()
    };
    Outputs::start(&settings, Some(rt.handle())).unwrap()
}

fn alert(n: usize, json: bool) -> Alert {
    let line = if json {
        serde_json::json!({"output": format!("http test n={n}"), "priority": "Warning",
                           "rule": "Http test", "source": "syscall"})
        .to_string()
    } else {
        format!("12:00:00.000000000: Warning http test n={n}")
    };
    Alert::new(
        0,
        Priority::Warning,
        Arc::from("Http test"),
        Arc::from("syscall"),
        Arc::from(Vec::new()),
        line,
    )
}

/// Sends `n` alerts, shuts the outputs down and returns (delivered, failed, dropped).
fn send_all(out: Outputs, n: usize, json: bool) -> (u64, u64, u64) {
    let h = out.handle();
    for i in 0..n {
        assert!(h.send(alert(i, json)));
    }
    let stats = out.stats();
    out.shutdown();
    (
        OutputStats::get(&stats.delivered, ChannelKind::Http),
        OutputStats::get(&stats.failed, ChannelKind::Http),
        OutputStats::get(&stats.dropped, ChannelKind::Http),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn json_and_text_posts_reach_a_plain_http_endpoint() {
    let dir = common::temp_dir("http-plain");
    let rt = runtime();
    let rx = Receiver::start(&dir, "plain", "ok", None);
    let mut cfg = http_config(rx.url("http"));
    cfg.user_agent = "falco-test-agent/1.0".into();
    let (delivered, failed, dropped) = send_all(start(&rt, cfg.clone(), true, 2000), 40, true);
    assert_eq!((delivered, failed, dropped), (40, 0, 0));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 40);
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r["path"], "/falco");
        assert_eq!(r["headers"]["content-type"], "application/json");
        assert_eq!(r["headers"]["user-agent"], "falco-test-agent/1.0");
        let body: serde_json::Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["output"], format!("http test n={i}"));
    }

    // Text alerts are text/plain (Falco's choice), gzip when compress_uploads.
    let rx = Receiver::start(&dir, "text", "ok", None);
    let mut cfg = http_config(rx.url("http"));
    cfg.compress_uploads = true;
    let (delivered, ..) = send_all(start(&rt, cfg, false, 2000), 5, false);
    assert_eq!(delivered, 5);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 5);
    assert_eq!(reqs[0]["headers"]["content-type"], "text/plain");
    assert_eq!(reqs[0]["headers"]["content-encoding"], "gzip");
    assert_eq!(reqs[0]["body"], "12:00:00.000000000: Warning http test n=0");
}

#[test]
fn https_trust_options_and_mtls() {
    let dir = common::temp_dir("https");
    let tls = make_tls(&dir);
    let rt = runtime();
    let rx = Receiver::start(&dir, "tls", "ok", Some((&tls, false)));
    let url = rx.url("https");

    // Unknown issuer: refused, counted as failed.
    let (d, f, _) = send_all(start(&rt, http_config(url.clone()), true, 1000), 2, true);
    assert_eq!((d, f), (0, 2), "an untrusted certificate must fail");

    let mut cfg = http_config(url.clone());
    cfg.ca_cert = tls.ca_cert.display().to_string();
    assert_eq!(
        send_all(start(&rt, cfg, true, 2000), 3, true).0,
        3,
        "ca_cert"
    );

    let mut cfg = http_config(url.clone());
    cfg.ca_bundle = tls.ca_cert.display().to_string();
    assert_eq!(
        send_all(start(&rt, cfg, true, 2000), 3, true).0,
        3,
        "ca_bundle"
    );

    let ca_dir = tls.dir.join("ca.d");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&tls.ca_cert, ca_dir.join("ca.pem")).unwrap();
    std::fs::write(ca_dir.join("README"), "not a certificate").unwrap();
    let mut cfg = http_config(url.clone());
    cfg.ca_path = ca_dir.display().to_string();
    assert_eq!(
        send_all(start(&rt, cfg, true, 2000), 3, true).0,
        3,
        "ca_path"
    );

    let mut cfg = http_config(url);
    cfg.insecure = true;
    assert_eq!(
        send_all(start(&rt, cfg, true, 2000), 3, true).0,
        3,
        "insecure"
    );
    assert_eq!(rx.requests().len(), 12);

    // mTLS: the endpoint requires a client certificate signed by the CA.
    let rx = Receiver::start(&dir, "mtls", "ok", Some((&tls, true)));
    let mut cfg = http_config(rx.url("https"));
    cfg.ca_cert = tls.ca_cert.display().to_string();
    let (d, f, _) = send_all(start(&rt, cfg.clone(), true, 1000), 2, true);
    assert_eq!((d, f), (0, 2), "no client certificate must fail");
    cfg.mtls = true;
    cfg.client_cert = tls.client_cert.display().to_string();
    cfg.client_key = tls.client_key.display().to_string();
    assert_eq!(
        send_all(start(&rt, cfg.clone(), true, 2000), 4, true).0,
        4,
        "mtls"
    );
    assert_eq!(rx.requests().len(), 4);

    // A missing client key is a setup error naming the file, not a crash.
    cfg.client_key = tls.dir.join("missing.key").display().to_string();
    let settings = OutputsSettings {
        output_timeout: Duration::from_secs(1),
        json_output: true,
        buffered: true,
        http: Some(cfg),
        ..OutputsSettings::default()
    };
    let e = Outputs::start(&settings, Some(rt.handle()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.key"), "{e}");
}

#[test]
fn endpoint_down_or_failing_is_counted_not_fatal() {
    let dir = common::temp_dir("http-down");
    let rt = runtime();
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = http_config(format!("http://127.0.0.1:{port}/"));
    let started = Instant::now();
    let (d, f, dr) = send_all(start(&rt, cfg, true, 500), 5, true);
    assert_eq!(d, 0);
    assert_eq!(f + dr, 5);
    assert!(started.elapsed() < Duration::from_secs(30));

    let rx = Receiver::start(&dir, "error", "error", None);
    let (d, f, dr) = send_all(start(&rt, http_config(rx.url("http")), true, 500), 3, true);
    assert_eq!((d, f + dr), (0, 3));
    // Each alert was tried MAX_ATTEMPTS times (at shutdown one attempt each may remain).
    assert!(rx.requests().len() >= 3, "{} requests", rx.requests().len());
}

#[test]
fn hanging_endpoint_never_blocks_the_hot_path_and_losses_are_counted() {
    let dir = common::temp_dir("http-hang");
    let rt = runtime();
    let rx = Receiver::start(&dir, "hang", "hang", None);
    let out = start(&rt, http_config(rx.url("http")), true, 300);
    let h = out.handle();
    let stats = out.stats();
    let total = 3000;
    let started = Instant::now();
    for i in 0..total {
        assert!(h.send(alert(i, true)));
    }
    // Sending never waited for the endpoint.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        common::wait_for(10, || stats.processed.load(Ordering::Relaxed)
            == total as u64),
        "the worker is stuck behind the endpoint"
    );
    let dropped = OutputStats::get(&stats.dropped, ChannelKind::Http);
    assert!(dropped > 0, "the bounded http queue must overflow");
    let stop = Instant::now();
    out.shutdown();
    assert!(
        stop.elapsed() < Duration::from_secs(20),
        "shutdown took {:?}",
        stop.elapsed()
    );
    let d = OutputStats::get(&stats.delivered, ChannelKind::Http);
    let f = OutputStats::get(&stats.failed, ChannelKind::Http);
    let dr = OutputStats::get(&stats.dropped, ChannelKind::Http);
    assert_eq!(d, 0);
    assert_eq!(f + dr, total as u64, "every alert is accounted for");
}
