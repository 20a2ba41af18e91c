//! The internal webserver (`webserver.*` in falco.yaml): `GET /healthz` (the path is
//! `webserver.k8s_healthz_endpoint`), `GET /versions` and, with `metrics.enabled` and
//! `webserver.prometheus_metrics_enabled`, `GET /metrics`. Any other path is 404, any other method
//! on these paths 405.
//!
//! It runs on its own tokio runtime with `webserver.threadiness` workers (0 = online CPUs, as in
//! Falco), over plain TCP or, with `ssl_enabled`, TLS using `ssl_certificate` (one PEM file holding
//! the certificate chain and the private key, like Falco's). Unlike Falco's static answer,
//! `/healthz` reflects the pipeline ([`Health`]): 200 `{"status": "ok"}` when alive, else 503 with
//! the reason.

pub mod health;
pub mod metrics;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, Semaphore};

pub use health::{Health, LoadedFile, RuleCounters, RuleInfo, RunInfo, SourceCounts, StateCounts};
pub use metrics::MetricsCategories;

use crate::config::Config;
use crate::priority::Priority;

/// Connections served at once; more wait in the kernel's accept backlog.
const MAX_CONNECTIONS: usize = 256;
/// A client must send its request headers (and finish a TLS handshake) within this.
const REQUEST_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Webserver::stop`] lets in-flight requests finish.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What the webserver needs from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSettings {
    pub listen: SocketAddr,
    pub healthz_path: String,
    /// Runtime workers; 0 = online CPUs.
    pub threadiness: usize,
    /// `ssl_certificate` when `ssl_enabled`.
    pub tls_pem: Option<PathBuf>,
    /// `/metrics` is served (`metrics.enabled` and `webserver.prometheus_metrics_enabled`).
    pub metrics: Option<MetricsCategories>,
}

impl WebSettings {
    pub fn from_config(cfg: &Config) -> WebSettings {
        let w = &cfg.webserver;
        WebSettings {
            listen: SocketAddr::new(w.listen_address, w.listen_port),
            healthz_path: w.k8s_healthz_endpoint.clone(),
            threadiness: usize::try_from(w.threadiness).unwrap_or(0),
            tls_pem: w.ssl_enabled.then(|| w.ssl_certificate.clone()),
            metrics: (cfg.metrics.enabled && w.prometheus_metrics_enabled)
                .then(|| MetricsCategories::from_config(&cfg.metrics)),
        }
    }
}

/// Starts the webserver when Falco would: `webserver.enabled`, and not when replaying a capture
/// (Falco 0.39 skips it in capture mode; `--dry-run` callers do not call this at all).
pub fn start_for(cfg: &Config, health: Arc<Health>) -> Result<Option<Webserver>, WebError> {
    if !cfg.webserver.enabled || cfg.engine.kind == crate::config::EngineKind::Replay {
        return Ok(None);
    }
    Webserver::start(&WebSettings::from_config(cfg), health).map(Some)
}

/// Why the webserver could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("webserver: cannot start its runtime: {0}")]
    Runtime(std::io::Error),
    #[error("webserver: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("webserver: ssl_certificate {path}: {message}")]
    Tls { path: PathBuf, message: String },
}

struct WebState {
    health: Arc<Health>,
    metrics: Option<MetricsCategories>,
}

/// The running webserver; [`Webserver::stop`] (or drop) shuts it down.
pub struct Webserver {
    runtime: Option<tokio::runtime::Runtime>,
    stop_tx: Option<oneshot::Sender<()>>,
    local_addr: SocketAddr,
}

impl Webserver {
    /// Binds the listen address (errors are reported here, before anything else starts) and
    /// serves in the background. Logs Falco's start line.
    pub fn start(settings: &WebSettings, health: Arc<Health>) -> Result<Webserver, WebError> {
        let tls = match &settings.tls_pem {
            Some(path) => Some(tls_acceptor(path)?),
            None => None,
        };
        let threads = match settings.threadiness {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("falco-web")
            .enable_io()
            .enable_time()
            .build()
            .map_err(WebError::Runtime)?;
        let std_listener =
            std::net::TcpListener::bind(settings.listen).map_err(|source| WebError::Bind {
                addr: settings.listen,
                source,
            })?;
        let bind_err = |source| WebError::Bind {
            addr: settings.listen,
            source,
        };
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let local_addr = std_listener.local_addr().map_err(bind_err)?;
        crate::logger::info(&format!(
            "Starting internal webserver, listening on port {}",
            local_addr.port()
        ));
        crate::logger::debug(&format!(
            "Webserver: {local_addr}{} with threadiness {threads}",
            if tls.is_some() { " (SSL)" } else { "" }
        ));
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)?
        };
        let state = Arc::new(WebState {
            health,
            metrics: settings.metrics,
        });
        let router = router(&settings.healthz_path, state);
        let (stop_tx, stop_rx) = oneshot::channel();
        runtime.spawn(accept_loop(listener, tls, router, stop_rx));
        Ok(Webserver {
            runtime: Some(runtime),
            stop_tx: Some(stop_tx),
            local_addr,
        })
    }

    /// The bound address (the actual port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets in-flight requests finish briefly, and stops the runtime.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(STOP_GRACE);
        }
    }
}

impl Drop for Webserver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn router(healthz_path: &str, state: Arc<WebState>) -> Router {
    let mut r = Router::new()
        .route(healthz_path, get(healthz))
        .route("/versions", get(versions));
    if state.metrics.is_some() {
        r = r.route("/metrics", get(prometheus));
    }
    r.with_state(state)
}

async fn healthz(State(s): State<Arc<WebState>>) -> Response {
    match s.health.check() {
        // Falco's exact body, space included.
        Ok(()) => json_response(StatusCode::OK, "{\"status\": \"ok\"}".to_string()),
        Err(reason) => {
            let body = serde_json::json!({"status": "error", "reason": reason}).to_string();
            json_response(StatusCode::SERVICE_UNAVAILABLE, body)
        }
    }
}

async fn versions() -> Response {
    json_response(StatusCode::OK, versions_json())
}

async fn prometheus(State(s): State<Arc<WebState>>) -> Response {
    let Some(cats) = s.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let health = s.health.clone();
    // Reading /proc and formatting is short but blocking work: keep it off the async workers.
    let text = tokio::task::spawn_blocking(move || {
        metrics::render(&health, cats, crate::outputs::hostname())
    })
    .await;
    match text {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `/versions`: Falco 0.39's document (`falco::versions_info`), with no plugins loaded.
pub fn versions_json() -> String {
    use crate::cli::{
        DRIVER_API_VERSION, DRIVER_SCHEMA_VERSION, ENGINE_VERSION, LIBS_VERSION, PLUGIN_API_VERSION,
    };
    let falco_version = env!("CARGO_PKG_VERSION");
    serde_json::json!({
        "default_driver_version": falco_version,
        "driver_api_version": DRIVER_API_VERSION,
        "driver_schema_version": DRIVER_SCHEMA_VERSION,
        "engine_version": ENGINE_VERSION.split('.').nth(1).unwrap_or("0"),
        "engine_version_semver": ENGINE_VERSION,
        "falco_version": falco_version,
        "libs_version": LIBS_VERSION,
        "plugin_api_version": PLUGIN_API_VERSION,
        "plugin_versions": {},
    })
    .to_string()
}

/// Loads `ssl_certificate`: the certificate chain and the private key in one PEM file.
fn tls_acceptor(path: &Path) -> Result<tokio_rustls::TlsAcceptor, WebError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |message: String| WebError::Tls {
        path: path.to_path_buf(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("bad certificate: {e}")))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| err(format!("no usable PRIVATE KEY block: {e}")))?;
    crate::outputs::http::tls_init();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            err(format!(
                "certificate and key do not form a usable pair: {e}"
            ))
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let error_log = crate::outputs::stats::LogLimiter::default();
    loop {
        let permit = tokio::select! {
            _ = &mut stop => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = &mut stop => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // EMFILE and friends: say so (rate-limited) and back off instead of spinning.
                error_log.log(Priority::Error, || format!("webserver: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(REQUEST_HEADER_TIMEOUT, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => serve_connection(s, router).await,
                        Ok(Err(e)) => {
                            crate::logger::debug(&format!("webserver: TLS handshake failed: {e}"))
                        }
                        Err(_) => crate::logger::debug("webserver: TLS handshake timed out"),
                    }
                }
                None => serve_connection(stream, router).await,
            }
        });
    }
}

async fn serve_connection<S>(stream: S, router: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(router);
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(REQUEST_HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

#[cfg(test)]
mod tests;
