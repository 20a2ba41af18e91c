//! `falco` without an informational flag: configuration → rules → source → hot loop → summary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::drops::DropMonitor;
use super::load::{self, build_engine};
use super::pipeline::Pipeline;
use super::reload::Services;
use super::source::EventSource;
use super::{run_loop, LoopControl, LoopEnd};
use crate::cli::Options;
use crate::config::{Config, EngineKind};
use crate::logger;
use crate::outputs::{Outputs, OutputsSettings};
use crate::signals::SignalFlags;
use crate::web::Health;

/// Config overrides implied by flags: `-e FILE` is the old spelling of replay.
pub(crate) fn effective_overrides(opts: &Options) -> Vec<String> {
    let mut v = opts.options.clone();
    if let Some(f) = &opts.events_file {
        v.push("engine.kind=replay".into());
        v.push(format!("engine.replay.capture_file={}", f.display()));
    }
    v
}

/// Removes the pid file when the run ends.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &std::path::Path) -> Result<PidFile, String> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("Could not write pid file {}: {e}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `falco` with no informational flag: load, run until done, report. Returns the exit code.
pub fn run(opts: &Options) -> i32 {
    let overrides = effective_overrides(opts);
    let cfg = match Config::load(opts.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    logger::configure(
        cfg.log_level,
        cfg.log_stderr,
        cfg.log_syslog,
        cfg.time_format_iso_8601,
    );
    log_startup(&cfg);
    let loaded = match build_engine(&cfg, opts) {
        Ok(l) => l,
        Err(e) => {
            logger::error(&e);
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if opts.dry_run {
        logger::info("Dry run: configuration and rules loaded, no events processed; exiting.");
        return 0;
    }
    let _pidfile = match opts.pidfile.as_deref().map(PidFile::create).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };

    // Source first: a missing capture or driver fails before anything starts.
    let kind = cfg.engine.kind;
    let (mut src, state) = match open_source(&cfg, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if let EventSource::Kmod(_) = src {
        match src.set_interest(
            &loaded.engine.interest_set(),
            opts.all_events || cfg.base_syscalls_all,
        ) {
            Ok(unavailable) => {
                if !unavailable.is_empty() {
                    logger::warning(&format!(
                        "The driver cannot record these event types; rules on them will not match: {}",
                        unavailable.join(", ")
                    ));
                }
            }
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        }
    }

    let out_settings = OutputsSettings::from_config(&cfg, opts.unbuffered);
    let runtime = match super::reload::http_runtime(&out_settings) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let outputs = match Outputs::start(&out_settings, runtime.as_ref().map(|r| r.handle())) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let handle = outputs.handle();
    let health = Arc::new(Health::default());
    health.set_outputs(outputs.stats(), cfg.output_timeout);
    health.set_run_info(load::run_info(&cfg, kind, &loaded.rules_files));
    let signals = match SignalFlags::install() {
        Ok(s) => Some(s),
        Err(e) => {
            logger::warning(&format!("Cannot install signal handlers: {e}"));
            None
        }
    };
    // The webserver, the config watcher and reloads (which may restart both).
    let mut services = match Services::start(
        &cfg,
        opts,
        &loaded.rules_files,
        health.clone(),
        handle.clone(),
        runtime,
        signals.as_ref().map(SignalFlags::reload_flag),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };

    let mut pipeline = Pipeline::new(
        state,
        loaded.engine,
        loaded.alert_settings,
        handle.clone(),
        Some(health.clone()),
    );
    let mut monitor = DropMonitor::new(cfg.syscall_event_drops.clone());
    if let Err(e) = src.start() {
        eprintln!("Error: {e}");
        return 1;
    }
    logger::info(&format!(
        "Opening 'syscall' source with {}",
        source_description(kind)
    ));
    health.source_opened();
    // falco.service is Type=notify: `systemctl start` returns now that the source, the
    // outputs and the webserver are all up.
    let notifier = crate::notify::Notifier::from_env();
    if let Err(e) = notifier.ready("Processing events") {
        logger::warning(&format!("Cannot notify systemd of readiness: {e}"));
    }
    let iso = cfg.time_format_iso_8601;
    let started = Instant::now();
    let end = {
        let mut ctl = LoopControl {
            stop_after: opts.duration_secs.map(Duration::from_secs),
            signals: signals.as_ref(),
            drops: Some(&mut monitor),
            health: Some(health.clone()),
            reload: Some(&mut services),
            outputs: Some(&outputs),
            internal: Some((&handle, iso)),
        };
        run_loop(&mut src, &mut pipeline, &mut ctl)
    };
    let _ = notifier.stopping();
    src.stop();
    health.source_closed();
    health.stopping();
    let code = match &end {
        LoopEnd::Finished | LoopEnd::TimeLimit => 0,
        LoopEnd::Terminated => {
            logger::info("SIGINT received, exiting...");
            0
        }
        LoopEnd::DropExit => 1,
        LoopEnd::Error(e) => {
            logger::error(&format!("{e}"));
            eprintln!("Error: {e}");
            1
        }
    };
    drop(handle);
    outputs.shutdown();
    services.shutdown();
    print!("{}", pipeline.summary());
    eprint!("{}", monitor.summary());
    if opts.verbose {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "Elapsed time: {secs:.3}, Captured Events: {}, {:.2} eps",
            pipeline.events(),
            pipeline.events() as f64 / secs.max(1e-9)
        );
    }
    code
}

fn source_description(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Replay => "scap file",
        EngineKind::Nodriver => "no driver",
        _ => "Kernel module",
    }
}

fn open_source(cfg: &Config, opts: &Options) -> Result<(EventSource, crate::state::State), String> {
    match cfg.engine.kind {
        EngineKind::Replay => {
            let file = &cfg.engine.replay_capture_file;
            if file.is_empty() {
                return Err(
                    "engine.kind is replay but engine.replay.capture_file is empty".to_string(),
                );
            }
            EventSource::replay(std::path::Path::new(file)).map_err(|e| e.to_string())
        }
        EngineKind::Kmod => {
            let kopts = crate::source::kmod::KmodOptions {
                snaplen: opts.snaplen,
                ..Default::default()
            };
            let src = EventSource::kmod(&kopts).map_err(|e| e.to_string())?;
            // Processes that started before us get names and parents from /proc.
            let snapshot = crate::source::procfs::scan(&Default::default())
                .map_err(|e| format!("cannot read /proc: {e}"))?;
            let reader = snapshot.into_reader();
            let mut state = crate::state::State::from_reader(&reader);
            // Live: container metadata comes from the runtimes' files (no container events).
            state.container_resolver = Some(
                crate::state::container_runtime::ContainerResolver::new(Default::default()),
            );
            state.interfaces = crate::state::socket::Interfaces::of_this_machine();
            Ok((src, state))
        }
        EngineKind::Nodriver => Ok((EventSource::NoDriver, crate::state::State::default())),
        other => Err(format!(
            "engine.kind={} is not supported by this build (use kmod, replay or nodriver)",
            other.name()
        )),
    }
}

fn log_startup(cfg: &Config) {
    logger::info(&format!(
        "Falco version: {} ({})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    ));
    if !cfg.loaded_files.is_empty() {
        logger::info("Falco initialized with configuration files:");
        for f in &cfg.loaded_files {
            logger::info(&format!("   {}", f.display()));
        }
    }
    for w in &cfg.warnings {
        logger::warning(w);
    }
    if std::env::var_os("FALCO_HOSTNAME").is_some() {
        logger::info(&format!(
            "Hostname value has been overridden via environment variable to: {}",
            crate::outputs::hostname()
        ));
    }
}
