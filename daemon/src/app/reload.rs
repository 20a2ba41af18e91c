//! Reloads of a running daemon (SIGHUP, `systemctl reload`, or a change seen by
//! `watch_config_files`), and the services a reload may have to restart: the outputs' channels,
//! the webserver and the config watcher.
//!
//! The new configuration and rules are loaded and validated on a thread of their own
//! ([`Reloader`]) while the old pipeline keeps processing events; only a complete, valid result
//! is applied, between two events: the engine is installed in the pipeline, the outputs switch
//! channels behind the same queue, the webserver restarts if its settings changed, logging and
//! `/metrics` follow the new files. A failure leaves everything as it was and raises the Critical
//! alert "Falco internal: hot restart failure". The event source itself is kept: an
//! `engine.kind` change needs a restart (said in the log).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::load::{build_engine, run_info};
use super::LoadedEngine;
use crate::cli::Options;
use crate::config::{Config, EngineKind};
use crate::logger;
use crate::outputs::{Outputs, OutputsHandle, OutputsSettings};
use crate::signals::{ConfigWatcher, Reloader};
use crate::web::{Health, WebSettings, Webserver};

/// What a successful build hands to the hot loop.
pub struct Reloaded {
    pub loaded: LoadedEngine,
    pub cfg: Config,
}

/// The hot loop's side of a reload: [`ReloadHook::request`] on SIGHUP or a watched file,
/// [`ReloadHook::poll`] between events; a `Some` engine is installed at once.
pub trait ReloadHook {
    fn request(&mut self);
    fn poll(&mut self, outputs: Option<&Outputs>) -> Option<LoadedEngine>;
}

/// The services a reload manages, owned for the life of the run.
pub struct Services {
    reloader: Reloader<Reloaded>,
    health: Arc<Health>,
    kind: EngineKind,
    unbuffered: bool,
    outputs_settings: OutputsSettings,
    runtime: Option<tokio::runtime::Runtime>,
    web_settings: Option<WebSettings>,
    webserver: Option<Webserver>,
    reload_flag: Option<Arc<AtomicBool>>,
    /// `-r` paths (they override `rules_files` at every reload too).
    cli_rules: Vec<PathBuf>,
    watched: Vec<PathBuf>,
    watcher: Option<ConfigWatcher>,
}

/// Paths `watch_config_files` watches: the config files and the rules paths (directories as
/// given, so a new file in `rules.d` counts) plus every rules file loaded.
pub fn watch_paths(cfg: &Config, cli_rules: &[PathBuf], rules_files: &[PathBuf]) -> Vec<PathBuf> {
    let mut v = cfg.watched_paths(rules_files);
    if let Ok(paths) = cfg.effective_rules_files(cli_rules) {
        v.extend(paths);
    }
    v.sort();
    v.dedup();
    v
}

/// Builds the http runtime when `settings` needs one (one worker: it only waits on sockets).
pub fn http_runtime(settings: &OutputsSettings) -> Result<Option<tokio::runtime::Runtime>, String> {
    if settings.http.is_none() {
        return Ok(None);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("falco-http")
        .enable_all()
        .build()
        .map(Some)
        .map_err(|e| format!("cannot start the http output runtime: {e}"))
}

impl Services {
    /// Starts the webserver (when Falco would) and the config watcher (when
    /// `watch_config_files`, not replaying, and `reload_flag` is given).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        cfg: &Config,
        opts: &Options,
        rules_files: &[PathBuf],
        health: Arc<Health>,
        outputs: OutputsHandle,
        runtime: Option<tokio::runtime::Runtime>,
        reload_flag: Option<Arc<AtomicBool>>,
    ) -> Result<Services, String> {
        let kind = cfg.engine.kind;
        let web_settings = web_settings_for(cfg);
        let webserver = match &web_settings {
            Some(s) => Some(Webserver::start(s, health.clone()).map_err(|e| e.to_string())?),
            None => None,
        };
        let build_opts = opts.clone();
        let reloader = Reloader::new(
            move || {
                let cfg = Config::load(
                    build_opts.config.as_deref(),
                    &super::daemon::effective_overrides(&build_opts),
                )
                .map_err(|e| e.to_string())?;
                let loaded = build_engine(&cfg, &build_opts)?;
                Ok(Reloaded { loaded, cfg })
            },
            outputs,
            cfg.time_format_iso_8601,
        );
        let mut s = Services {
            reloader,
            health,
            kind,
            unbuffered: opts.unbuffered,
            outputs_settings: OutputsSettings::from_config(cfg, opts.unbuffered),
            runtime,
            web_settings,
            webserver,
            reload_flag,
            cli_rules: opts.rules_files.clone(),
            watched: Vec::new(),
            watcher: None,
        };
        s.watch(cfg, watch_paths(cfg, &opts.rules_files, rules_files));
        Ok(s)
    }

    /// The bound webserver address, if it runs.
    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.webserver.as_ref().map(Webserver::local_addr)
    }

    /// The http runtime, for the outputs.
    pub fn runtime(&self) -> Option<&tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle())
    }

    /// (Re)starts the config watcher on `paths` if the configuration asks for it.
    fn watch(&mut self, cfg: &Config, paths: Vec<PathBuf>) {
        let wanted = cfg.watch_config_files && self.kind != EngineKind::Replay;
        let Some(flag) = self.reload_flag.clone().filter(|_| wanted) else {
            self.watcher = None;
            self.watched.clear();
            return;
        };
        if self.watcher.is_some() && self.watched == paths {
            return;
        }
        self.watcher = None;
        match ConfigWatcher::start(paths.clone(), flag) {
            Ok(w) => {
                self.watcher = Some(w);
                self.watched = paths;
            }
            Err(e) => logger::warning(&format!("Cannot watch the config and rules files: {e}")),
        }
    }

    /// Applies everything but the engine; the hot loop installs that.
    fn apply(&mut self, new: &Reloaded, outputs: Option<&Outputs>) {
        let cfg = &new.cfg;
        logger::configure(
            cfg.log_level,
            cfg.log_stderr,
            cfg.log_syslog,
            cfg.time_format_iso_8601,
        );
        for w in &cfg.warnings {
            logger::warning(w);
        }
        if cfg.engine.kind != self.kind {
            logger::warning(&format!(
                "engine.kind changed from {} to {}: this takes a restart; the running source is kept",
                self.kind.name(),
                cfg.engine.kind.name()
            ));
        }
        let settings = OutputsSettings::from_config(cfg, self.unbuffered);
        if let Some(outputs) = outputs {
            if settings.queue_capacity != self.outputs_settings.queue_capacity {
                logger::warning(
                    "outputs_queue.capacity changed: this takes a restart; the running queue is kept",
                );
            }
            if settings.http.is_some() && self.runtime.is_none() {
                match http_runtime(&settings) {
                    Ok(rt) => self.runtime = rt,
                    Err(e) => logger::error(&e),
                }
            }
            match outputs.reconfigure(&settings, self.runtime()) {
                Ok(()) => {
                    self.health.set_outputs(outputs.stats(), cfg.output_timeout);
                    self.outputs_settings = settings;
                }
                Err(e) => logger::error(&format!(
                    "Reload: the new outputs cannot start ({e}); keeping the running ones"
                )),
            }
        }
        let web = web_settings_for(cfg);
        if web != self.web_settings {
            // The old listener must go first: the new one usually wants the same port.
            if let Some(w) = self.webserver.take() {
                w.stop();
            }
            self.webserver = match &web {
                Some(s) => match Webserver::start(s, self.health.clone()) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        logger::error(&format!("Reload: {e}; the webserver is off"));
                        None
                    }
                },
                None => None,
            };
            self.web_settings = web;
        }
        self.health
            .set_run_info(run_info(cfg, self.kind, &new.loaded.rules_files));
        let paths = watch_paths(cfg, &self.cli_rules, &new.loaded.rules_files);
        self.watch(cfg, paths);
        logger::info("Configuration and rules reloaded");
    }

    /// Stops the watcher, the webserver and the http runtime. Call after the outputs shut down
    /// (their http sender runs on that runtime).
    pub fn shutdown(mut self) {
        self.watcher = None;
        if let Some(w) = self.webserver.take() {
            w.stop();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }
}

fn web_settings_for(cfg: &Config) -> Option<WebSettings> {
    (cfg.webserver.enabled && cfg.engine.kind != EngineKind::Replay)
        .then(|| WebSettings::from_config(cfg))
}

impl ReloadHook for Services {
    fn request(&mut self) {
        self.reloader.request();
    }

    fn poll(&mut self, outputs: Option<&Outputs>) -> Option<LoadedEngine> {
        let failures = self.reloader.failures();
        let polled = self.reloader.poll();
        if self.reloader.failures() > failures {
            self.health.record_reload(false);
        }
        let new = polled?;
        self.apply(&new, outputs);
        self.health.record_reload(true);
        Some(new.loaded)
    }
}
