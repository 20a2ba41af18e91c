//! The http(s) channel: POST of each alert to `http_output.url` with reqwest over rustls.
//!
//! The worker never waits on the network: it hands the alert to a bounded queue
//! ([`HTTP_QUEUE_CAPACITY`]) served by a task on the tokio runtime. A failed POST (connection
//! refused, timeout, non-2xx status) is retried [`MAX_ATTEMPTS`] times with backoff; an alert
//! that still fails, or finds the queue full, is dropped, counted and logged (rate-limited).
//! Content-Type is `application/json` with `json_output`, else `text/plain` (Falco's choice).
//! TLS: `ca_cert` or `ca_bundle` (PEM files) replace the trust roots, else the certificates in
//! `ca_path`; `insecure` skips verification; `mtls` presents `client_cert`/`client_key`.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::stats::{ChannelKind, LogLimiter, OutputStats};
use super::Channel;
use crate::config::HttpOutputConfig;
use crate::priority::Priority;

pub const HTTP_QUEUE_CAPACITY: usize = 1024;
pub const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long shutdown waits for the queue to drain.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Installs rustls's ring provider as the process default (reqwest and the webserver need one).
pub fn tls_init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why the http output could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("http output: cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("http output: {what} {path} holds no usable PEM certificate: {message}")]
    Pem {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("http output: invalid url '{0}'")]
    Url(String),
    #[error("http output: cannot build the client: {0}")]
    Client(String),
}

pub struct HttpChannel {
    tx: Option<mpsc::Sender<String>>,
    stats: Arc<OutputStats>,
    full_log: LogLimiter,
    done: Option<std::sync::mpsc::Receiver<()>>,
    closing: Arc<AtomicBool>,
}

fn read(what: &'static str, path: &str) -> Result<Vec<u8>, HttpSetupError> {
    std::fs::read(path).map_err(|source| HttpSetupError::Read {
        what,
        path: path.to_string(),
        source,
    })
}

fn certs_from(what: &'static str, path: &str) -> Result<Vec<reqwest::Certificate>, HttpSetupError> {
    let pem = read(what, path)?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| HttpSetupError::Pem {
        what,
        path: path.to_string(),
        message: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(HttpSetupError::Pem {
            what,
            path: path.to_string(),
            message: "no certificate found".to_string(),
        });
    }
    Ok(certs)
}

/// Certificates of a `ca_path` directory (files that do not parse are skipped, as OpenSSL's
/// hashed-directory lookup would never read them).
fn certs_in_dir(dir: &Path) -> Vec<reqwest::Certificate> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let Ok(pem) = std::fs::read(&p) else { continue };
        if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
            out.extend(certs);
        }
    }
    out
}

/// Builds the reqwest client for `cfg`; `timeout` bounds every request.
pub fn build_client(
    cfg: &HttpOutputConfig,
    timeout: Duration,
) -> Result<reqwest::Client, HttpSetupError> {
    tls_init();
    reqwest::Url::parse(&cfg.url).map_err(|_| HttpSetupError::Url(cfg.url.clone()))?;
    let mut b = reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)));
    if !cfg.keep_alive {
        b = b.pool_max_idle_per_host(0);
    }
    if cfg.insecure {
        b = b
            .tls_danger_accept_invalid_certs(true)
            .tls_danger_accept_invalid_hostnames(true);
    } else if !cfg.ca_cert.is_empty() {
        b = b.tls_certs_only(certs_from("ca_cert", &cfg.ca_cert)?);
    } else if !cfg.ca_bundle.is_empty() {
        b = b.tls_certs_only(certs_from("ca_bundle", &cfg.ca_bundle)?);
    } else if !cfg.ca_path.is_empty() {
        let certs = certs_in_dir(Path::new(&cfg.ca_path));
        if !certs.is_empty() {
            b = b.tls_certs_only(certs);
        }
    }
    if cfg.mtls {
        let mut pem = read("client_cert", &cfg.client_cert)?;
        pem.push(b'\n');
        pem.extend(read("client_key", &cfg.client_key)?);
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| HttpSetupError::Pem {
            what: "client_cert/client_key",
            path: format!("{} + {}", cfg.client_cert, cfg.client_key),
            message: e.to_string(),
        })?;
        b = b.identity(id);
    }
    b.build().map_err(|e| HttpSetupError::Client(e.to_string()))
}

impl HttpChannel {
    /// Starts the sender task on `rt`.
    pub fn start(
        cfg: &HttpOutputConfig,
        json: bool,
        timeout: Duration,
        rt: &tokio::runtime::Handle,
        stats: Arc<OutputStats>,
    ) -> Result<Self, HttpSetupError> {
        let client = build_client(cfg, timeout)?;
        let (tx, rx) = mpsc::channel::<String>(HTTP_QUEUE_CAPACITY);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let closing = Arc::new(AtomicBool::new(false));
        let sender = Sender {
            client,
            url: cfg.url.clone(),
            content_type: if json {
                "application/json"
            } else {
                "text/plain"
            },
            echo: cfg.echo,
            compress: cfg.compress_uploads,
            stats: stats.clone(),
            closing: closing.clone(),
            fail_log: LogLimiter::default(),
        };
        rt.spawn(async move {
            sender.run(rx).await;
            let _ = done_tx.send(());
        });
        Ok(HttpChannel {
            tx: Some(tx),
            stats,
            full_log: LogLimiter::default(),
            done: Some(done_rx),
            closing,
        })
    }
}

impl Channel for HttpChannel {
    fn emit(&mut self, _alert: &super::Alert, line: &str) -> io::Result<()> {
        let Some(tx) = self.tx.as_ref() else {
            return Ok(());
        };
        match tx.try_send(line.to_string()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.add(&self.stats.dropped, ChannelKind::Http);
                self.full_log.log(Priority::Error, || {
                    format!(
                        "http output: {HTTP_QUEUE_CAPACITY} alerts already waiting for the \
                         endpoint; alert dropped (total dropped: {})",
                        OutputStats::get(&self.stats.dropped, ChannelKind::Http)
                    )
                });
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(io::Error::other("http output task is gone"))
            }
        }
    }

    /// Lets the queue drain for about [`SHUTDOWN_GRACE`]; what is left then is counted as failed.
    fn close(&mut self) -> io::Result<()> {
        self.closing.store(true, Ordering::Relaxed);
        self.tx = None;
        if let Some(done) = self.done.take() {
            if done
                .recv_timeout(SHUTDOWN_GRACE + Duration::from_secs(5))
                .is_err()
            {
                return Err(io::Error::other(
                    "http output: endpoint still not answering at shutdown; pending alerts dropped",
                ));
            }
        }
        Ok(())
    }

    /// Delivery is counted by the task, not when the alert is queued.
    fn counts_delivery(&self) -> bool {
        false
    }

    /// `emit` never waits and `close` waits at most its shutdown grace.
    fn self_bounded(&self) -> bool {
        true
    }
}

struct Sender {
    client: reqwest::Client,
    url: String,
    content_type: &'static str,
    echo: bool,
    compress: bool,
    stats: Arc<OutputStats>,
    closing: Arc<AtomicBool>,
    fail_log: LogLimiter,
}

impl Sender {
    async fn run(self, mut rx: mpsc::Receiver<String>) {
        let mut closing_since: Option<std::time::Instant> = None;
        while let Some(line) = rx.recv().await {
            if self.closing.load(Ordering::Relaxed) {
                let since = *closing_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > SHUTDOWN_GRACE {
                    // Out of time: what is left is dropped, and said so.
                    let mut left = 1u64;
                    while rx.try_recv().is_ok() {
                        left += 1;
                    }
                    for _ in 0..left {
                        self.stats.add(&self.stats.failed, ChannelKind::Http);
                    }
                    crate::logger::log(
                        Priority::Error,
                        &format!(
                            "http output: {left} alerts not delivered to {} before shutdown",
                            self.url
                        ),
                    );
                    return;
                }
            }
            self.deliver(line).await;
        }
    }

    async fn deliver(&self, line: String) {
        let body = if self.compress {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            match enc.write_all(line.as_bytes()).and_then(|_| enc.finish()) {
                Ok(b) => b,
                Err(_) => line.into_bytes(),
            }
        } else {
            line.into_bytes()
        };
        let mut backoff = FIRST_BACKOFF;
        let mut last_error = String::new();
        // At shutdown one attempt each, so the drain stays short.
        let attempts = if self.closing.load(Ordering::Relaxed) {
            1
        } else {
            MAX_ATTEMPTS
        };
        for attempt in 1..=attempts {
            let mut req = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, self.content_type)
                .body(body.clone());
            if self.compress {
                req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
            }
            match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    self.stats.add(&self.stats.delivered, ChannelKind::Http);
                    if self.echo {
                        if let Ok(text) = resp.text().await {
                            println!("{text}");
                        }
                    }
                    return;
                }
                Ok(resp) => last_error = format!("server answered {}", resp.status()),
                Err(e) => last_error = error_chain(&e),
            }
            if attempt < attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 4;
            }
        }
        self.stats.add(&self.stats.failed, ChannelKind::Http);
        self.fail_log.log(Priority::Error, || {
            format!(
                "http output: alert not delivered to {} after {attempts} attempts ({last_error}); \
                 dropped (total failed: {})",
                self.url,
                OutputStats::get(&self.stats.failed, ChannelKind::Http)
            )
        });
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
