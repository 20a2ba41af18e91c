//! The running daemon: wires config, rules, a source, state, the engine and outputs into the
//! hot loop, and reports at the end.
//!
//! ```text
//! config (crate::config) ─▶ rules (crate::rules) ─▶ Engine ─┐
//! source (replay | kmod | nodriver) ─▶ Pipeline: state → engine → format ─▶ outputs queue
//!                                          ▲ swapped between events on reload
//! ```
//!
//! [`run`] is what `falco` does when no informational flag is given. [`build_engine`] turns a
//! configuration into an engine (also used by reloads); [`run_loop`] is the hot loop.

mod daemon;
pub mod drops;
pub mod load;
pub mod pipeline;
pub mod reload;
pub mod source;
pub mod summary;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::format::AlertSettings;
use crate::logger;
use crate::outputs::{Outputs, OutputsHandle};
use crate::priority::Priority;
use crate::signals::SignalFlags;
use crate::web::Health;

pub use daemon::run;
use drops::{DropAction, DropMonitor};
pub use load::build_engine;
use pipeline::Pipeline;
use source::{EventSource, Next};

/// The rule of Falco's drop alerts.
pub const DROP_RULE: &str = "Falco internal: syscall event drop";

/// An engine built from a configuration, ready to be installed in a [`Pipeline`].
pub struct LoadedEngine {
    pub engine: crate::engine::Engine,
    pub alert_settings: AlertSettings,
    /// The rules files loaded (directories expanded), for `watch_config_files` and `/metrics`.
    pub rules_files: Vec<std::path::PathBuf>,
}

/// How the hot loop ended.
#[derive(Debug)]
pub enum LoopEnd {
    /// The source is exhausted (end of a capture).
    Finished,
    /// SIGINT/SIGTERM.
    Terminated,
    /// `-M` elapsed.
    TimeLimit,
    /// A drop action `exit` fired.
    DropExit,
    /// The source failed.
    Error(source::SourceError),
}

/// What the hot loop watches besides the source.
pub struct LoopControl<'a> {
    /// `-M`: event time for replays, wall time otherwise.
    pub stop_after: Option<Duration>,
    pub signals: Option<&'a SignalFlags>,
    pub drops: Option<&'a mut DropMonitor>,
    pub health: Option<Arc<Health>>,
    /// Reloads: requested on SIGHUP (or a watched file), built elsewhere, polled between
    /// events; the engine it returns is installed at once (see [`reload`]).
    pub reload: Option<&'a mut dyn reload::ReloadHook>,
    /// SIGUSR1 target.
    pub outputs: Option<&'a Outputs>,
    /// For internal alerts (drops) and their time format.
    pub internal: Option<(&'a OutputsHandle, bool)>,
}

impl<'a> LoopControl<'a> {
    /// No limit, no signals, no drop monitor: run the source to its end.
    pub fn none() -> LoopControl<'a> {
        LoopControl {
            stop_after: None,
            signals: None,
            drops: None,
            health: None,
            reload: None,
            outputs: None,
            internal: None,
        }
    }
}

/// Signals are polled every this many events (and on every idle step).
const POLL_EVERY: u32 = 256;

/// The hot loop: reads the source until it ends, a signal stops it, `-M` elapses or a drop
/// action says exit.
pub fn run_loop(src: &mut EventSource, p: &mut Pipeline, ctl: &mut LoopControl<'_>) -> LoopEnd {
    let wall_start = Instant::now();
    let replay = src.is_replay();
    let mut first_ts: Option<u64> = None;
    let mut until_poll = 0u32;
    let mut last_beat = Instant::now();
    loop {
        let mut idle = false;
        match src.next(&mut p.state) {
            Ok(Next::End) => return LoopEnd::Finished,
            Ok(Next::Idle) => idle = true,
            Ok(Next::Event {
                event,
                cpu,
                state_only,
            }) => {
                let ts = event.ts();
                if replay {
                    let first = *first_ts.get_or_insert(ts);
                    if let Some(limit) = ctl.stop_after {
                        if ts.saturating_sub(first) > limit.as_nanos() as u64 {
                            return LoopEnd::TimeLimit;
                        }
                    }
                }
                p.process(&event, cpu, state_only);
                if let Some(m) = ctl.drops.as_deref_mut().filter(|m| m.due(ts)) {
                    if let Some(notice) = m.on_event(ts, src.counters()) {
                        if handle_drop_notice(&notice, ctl.internal) {
                            return LoopEnd::DropExit;
                        }
                    }
                }
            }
            Err(e) => return LoopEnd::Error(e),
        }
        if !idle {
            if until_poll > 0 {
                until_poll -= 1;
                continue;
            }
            until_poll = POLL_EVERY;
        }
        if !replay {
            if let Some(limit) = ctl.stop_after {
                if wall_start.elapsed() >= limit {
                    return LoopEnd::TimeLimit;
                }
            }
        }
        if let Some(h) = &ctl.health {
            if idle || last_beat.elapsed() >= Duration::from_millis(50) {
                h.beat();
                h.publish_source(&src.health_counts());
                p.publish_state();
                last_beat = Instant::now();
            }
        }
        if let Some(sig) = ctl.signals {
            if sig.terminate_requested() {
                return LoopEnd::Terminated;
            }
            if sig.take_reopen() {
                logger::info("SIGUSR1 received, reopening outputs...");
                if let Some(o) = ctl.outputs {
                    o.reopen();
                }
            }
            if sig.take_reload() {
                if let Some(reload) = ctl.reload.as_deref_mut() {
                    reload.request();
                }
            }
        }
        if let Some(reload) = ctl.reload.as_deref_mut() {
            if let Some(new) = reload.poll(ctl.outputs) {
                p.install(new.engine, new.alert_settings);
            }
        }
    }
}

/// Runs a drop notice's actions; returns true when one of them is `exit`.
fn handle_drop_notice(
    notice: &drops::DropNotice,
    internal: Option<(&OutputsHandle, bool)>,
) -> bool {
    let msg = notice.message();
    if notice.wants(DropAction::Log) {
        logger::error(&msg);
    }
    if notice.wants(DropAction::Alert) {
        if let Some((outputs, iso)) = internal {
            let fields = [
                ("n_evts", notice.n_evts.to_string()),
                ("n_drops", notice.n_drops.to_string()),
                ("n_drops_buffer_total", notice.n_drops_buffer.to_string()),
                ("n_drops_scratch_map", "0".to_string()),
                (
                    "n_drops_page_faults",
                    notice.n_drops_page_faults.to_string(),
                ),
                ("n_drops_bug", notice.n_drops_bug.to_string()),
                ("ebpf_enabled", "0".to_string()),
            ];
            outputs.send_internal(Priority::Debug, DROP_RULE, &msg, &fields, iso);
        }
    }
    if notice.wants(DropAction::Exit) {
        logger::critical(&msg);
        logger::critical("Exiting.");
        return true;
    }
    false
}

#[cfg(test)]
mod tests;
