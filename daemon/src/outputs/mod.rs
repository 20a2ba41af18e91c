//! Alert delivery: a bounded queue, one worker thread that fans each [`Alert`] out to every
//! enabled channel (stdout, file, syslog, program, http), and a watchdog.
//!
//! The hot path calls [`OutputsHandle::send`], which never blocks: when the queue
//! (`outputs_queue.capacity`, 0 = unbounded) is full the alert is dropped, counted
//! (`falcosecurity_falco_outputs_queue_num_drops_total`) and logged as Falco does ("Outputs queue
//! out of memory. Drop event and continue on ..."). The worker runs the synchronous channels in
//! turn like Falco; http is handed to its own task so the network never stalls the worker. The
//! watchdog logs Falco's CRIT "`"<output>" output timeout, all output channels are blocked`" when
//! one channel call exceeds `output_timeout`, and [`OutputStats::wedged`] feeds `/healthz`.
//!
//! With `buffered_outputs: true` (and no `-U`) channels write in large chunks: a buffer is pushed
//! out when it fills, [`FLUSH_DELAY`] after the first alert it holds (so bursts cost a few
//! writes, not one per alert, and no alert waits longer), at reopen, reconfigure and shutdown.
//! Unbuffered, every alert is its own write. [`Outputs::reopen`] (SIGUSR1) reopens the file and
//! restarts the program; [`Outputs::reconfigure`] (a reload) switches to another set of channels
//! behind the same queue; [`Outputs::shutdown`] drains the queue, flushes and closes everything
//! — unless one channel call has been stuck for `output_timeout` plus two seconds, in which case
//! the shutdown logs it, counts what is still queued as dropped, kills a stuck program output's
//! process group, and leaves the worker behind.
//!
//! Text lines are passed through [`sanitize_line`] so control characters in event data cannot
//! forge alert lines; JSON lines stay valid JSON.

pub mod alert;
pub mod file;
pub mod http;
pub mod program;
pub mod stats;
pub mod stdout;
pub mod syslog;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use alert::{hostname, now_ns, sanitize_line, Alert, INTERNAL_SOURCE};
pub use stats::{ChannelKind, OutputStats};

use crate::config::Config;
use crate::priority::Priority;
use stats::{monotonic_ms, LogLimiter};

/// One output channel. Calls come from the worker thread only.
pub trait Channel: Send {
    /// Writes one alert (`line` is the sanitized text, without newline).
    fn emit(&mut self, alert: &Alert, line: &str) -> io::Result<()>;
    /// Pushes buffered bytes out.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// SIGUSR1: reopen files, restart programs.
    fn reopen(&mut self) -> io::Result<()> {
        self.flush()
    }
    /// Shutdown: flush and release everything.
    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }
    /// Whether a successful `emit` means delivered (false when another task delivers).
    fn counts_delivery(&self) -> bool {
        true
    }
    /// Whether every call returns within a limit the channel enforces itself (http hands alerts
    /// to its own task and waits at most its shutdown grace), so the watchdog need not time it.
    fn self_bounded(&self) -> bool {
        false
    }
}

/// Why the outputs could not start.
#[derive(Debug, thiserror::Error)]
pub enum OutputsError {
    #[error(transparent)]
    Http(#[from] http::HttpSetupError),
    #[error("http output needs the async runtime, but none was given")]
    NoRuntime,
    #[error("cannot start the outputs worker thread: {0}")]
    Thread(io::Error),
}

/// What [`Outputs::start`] needs; [`OutputsSettings::from_config`] takes it from falco.yaml.
#[derive(Clone, Debug)]
pub struct OutputsSettings {
    pub queue_capacity: u64,
    pub output_timeout: Duration,
    pub json_output: bool,
    /// Write in large chunks (Falco: true unless `-U`).
    pub buffered: bool,
    pub stdout: bool,
    pub syslog: bool,
    pub file: Option<crate::config::FileOutputConfig>,
    pub program: Option<crate::config::ProgramOutputConfig>,
    pub http: Option<crate::config::HttpOutputConfig>,
}

/// Falco's defaults: no channel, an unbounded queue, `output_timeout` 2 s, text, unbuffered.
impl Default for OutputsSettings {
    fn default() -> Self {
        OutputsSettings {
            queue_capacity: 0,
            output_timeout: Duration::from_millis(2000),
            json_output: false,
            buffered: false,
            stdout: false,
            syslog: false,
            file: None,
            program: None,
            http: None,
        }
    }
}

impl OutputsSettings {
    pub fn from_config(cfg: &Config, unbuffered_flag: bool) -> Self {
        OutputsSettings {
            queue_capacity: cfg.outputs_queue_capacity,
            output_timeout: cfg.output_timeout,
            json_output: cfg.json_output,
            buffered: cfg.outputs_buffered(unbuffered_flag),
            stdout: cfg.stdout_output_enabled,
            syslog: cfg.syslog_output_enabled,
            file: cfg.file_output.enabled.then(|| cfg.file_output.clone()),
            program: cfg
                .program_output
                .enabled
                .then(|| cfg.program_output.clone()),
            http: cfg.http_output.enabled.then(|| cfg.http_output.clone()),
        }
    }
}

enum QueueSender {
    Bounded(SyncSender<Alert>),
    Unbounded(mpsc::Sender<Alert>),
}

/// How much longer than `output_timeout` a stuck channel call may hold up the shutdown.
const SHUTDOWN_GRACE_MS: u64 = 2000;
/// The longest a buffered alert waits for its flush: bursts share one write, and a quiet system
/// still shows each alert at once to a human eye.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// How often an idle worker looks at the reopen, reconfigure and stop requests.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// The channels the worker writes to, in order.
pub type Channels = Vec<(ChannelKind, Box<dyn Channel>)>;

struct Shared {
    stats: Arc<OutputStats>,
    reopen: AtomicBool,
    stop: AtomicBool,
    json: AtomicBool,
    /// `output_timeout` in ms, for the watchdog.
    limit_ms: AtomicU64,
    /// Channels to switch to ([`Outputs::reconfigure`]), taken by the worker.
    next_channels: Mutex<Option<Channels>>,
    reconfigure: AtomicBool,
    drop_log: LogLimiter,
}

/// The sending side, cheap to clone; give one to every thread that raises alerts.
#[derive(Clone)]
pub struct OutputsHandle {
    tx: Arc<QueueSender>,
    shared: Arc<Shared>,
}

impl OutputsHandle {
    /// Queues an alert; never blocks. Returns false when it was dropped (queue full or the
    /// outputs are shut down); the drop is counted and logged.
    pub fn send(&self, alert: Alert) -> bool {
        let stats = &self.shared.stats;
        let result = match &*self.tx {
            QueueSender::Bounded(tx) => tx.try_send(alert).map_err(|e| match e {
                TrySendError::Full(_) => true,
                TrySendError::Disconnected(_) => false,
            }),
            QueueSender::Unbounded(tx) => tx.send(alert).map_err(|_| false),
        };
        match result {
            Ok(()) => {
                stats.enqueued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(full) => {
                stats.queue_drops.fetch_add(1, Ordering::Relaxed);
                self.shared.drop_log.log(Priority::Error, || {
                    if full {
                        "Outputs queue out of memory. Drop event and continue on ...".to_string()
                    } else {
                        "Outputs are shut down. Drop event and continue on ...".to_string()
                    }
                });
                false
            }
        }
    }

    /// Raises one of Falco's internal alerts (source `internal`) with the configured format.
    pub fn send_internal(
        &self,
        priority: Priority,
        rule: &str,
        msg: &str,
        fields: &[(&str, String)],
        iso_8601: bool,
    ) -> bool {
        let alert = Alert::internal(
            now_ns(),
            priority,
            rule,
            msg,
            fields,
            self.shared.json.load(Ordering::Relaxed),
            iso_8601,
        );
        self.send(alert)
    }

    pub fn stats(&self) -> &Arc<OutputStats> {
        &self.shared.stats
    }
}

/// The channels `settings` enables, counting into `stats`.
fn build_channels(
    settings: &OutputsSettings,
    rt: Option<&tokio::runtime::Handle>,
    stats: &Arc<OutputStats>,
) -> Result<Channels, OutputsError> {
    let mut channels: Vec<(ChannelKind, Box<dyn Channel>)> = Vec::new();
    if settings.stdout {
        channels.push((
            ChannelKind::Stdout,
            Box::new(stdout::StdoutChannel::new(settings.buffered)),
        ));
    }
    if let Some(f) = &settings.file {
        channels.push((
            ChannelKind::File,
            Box::new(file::FileChannel::new(
                &f.filename,
                f.keep_alive,
                settings.buffered,
                stats.clone(),
            )),
        ));
    }
    if settings.syslog {
        channels.push((ChannelKind::Syslog, Box::new(syslog::SyslogChannel)));
    }
    if let Some(p) = &settings.program {
        channels.push((
            ChannelKind::Program,
            Box::new(program::ProgramChannel::new(
                &p.program,
                p.keep_alive,
                settings.buffered,
                stats.clone(),
            )),
        ));
    }
    if let Some(h) = &settings.http {
        let rt = rt.ok_or(OutputsError::NoRuntime)?;
        let timeout = settings.output_timeout.max(Duration::from_millis(500));
        channels.push((
            ChannelKind::Http,
            Box::new(http::HttpChannel::start(
                h,
                settings.json_output,
                timeout,
                rt,
                stats.clone(),
            )?),
        ));
    }
    Ok(channels)
}

/// The running outputs. Dropping it without [`Outputs::shutdown`] still drains and closes.
pub struct Outputs {
    handle: OutputsHandle,
    worker: Option<JoinHandle<()>>,
    watchdog: Option<JoinHandle<()>>,
}

impl Outputs {
    /// Starts the worker, the watchdog and the channels selected by `settings`. `rt` runs the
    /// http sender (required when http is enabled).
    pub fn start(
        settings: &OutputsSettings,
        rt: Option<&tokio::runtime::Handle>,
    ) -> Result<Outputs, OutputsError> {
        let stats = Arc::new(OutputStats::default());
        let channels = build_channels(settings, rt, &stats)?;
        Self::start_with_channels(settings, channels, stats)
    }

    /// Starts the pipeline over the given channels (tests plug their own in here).
    pub fn start_with_channels(
        settings: &OutputsSettings,
        channels: Vec<(ChannelKind, Box<dyn Channel>)>,
        stats: Arc<OutputStats>,
    ) -> Result<Outputs, OutputsError> {
        let (tx, rx) = if settings.queue_capacity == 0 {
            let (tx, rx) = mpsc::channel();
            (QueueSender::Unbounded(tx), rx)
        } else {
            let cap = usize::try_from(settings.queue_capacity).unwrap_or(usize::MAX);
            let (tx, rx) = mpsc::sync_channel(cap);
            (QueueSender::Bounded(tx), rx)
        };
        let shared = Arc::new(Shared {
            stats: stats.clone(),
            reopen: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            json: AtomicBool::new(settings.json_output),
            limit_ms: AtomicU64::new(settings.output_timeout.as_millis().max(1) as u64),
            next_channels: Mutex::new(None),
            reconfigure: AtomicBool::new(false),
            drop_log: LogLimiter::default(),
        });
        stats.worker_alive.store(true, Ordering::Relaxed);
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("falco-outputs".into())
            .spawn(move || worker_loop(rx, channels, worker_shared))
            .map_err(OutputsError::Thread)?;
        let wd_shared = shared.clone();
        let watchdog = std::thread::Builder::new()
            .name("falco-outputs-watchdog".into())
            .spawn(move || watchdog_loop(wd_shared))
            .map_err(OutputsError::Thread)?;
        Ok(Outputs {
            handle: OutputsHandle {
                tx: Arc::new(tx),
                shared,
            },
            worker: Some(worker),
            watchdog: Some(watchdog),
        })
    }

    /// A sender for the hot path (and anyone else raising alerts).
    pub fn handle(&self) -> OutputsHandle {
        self.handle.clone()
    }

    pub fn stats(&self) -> Arc<OutputStats> {
        self.handle.shared.stats.clone()
    }

    /// A reload: switches to the channels, format and timeout of `settings` without a gap. The
    /// new channels are built here (errors leave the running ones untouched); the worker flushes
    /// and closes the old ones before its next alert. The queue and its capacity stay as they
    /// are (alerts waiting in it go to the new channels).
    pub fn reconfigure(
        &self,
        settings: &OutputsSettings,
        rt: Option<&tokio::runtime::Handle>,
    ) -> Result<(), OutputsError> {
        let shared = &self.handle.shared;
        let channels = build_channels(settings, rt, &shared.stats)?;
        if let Ok(mut next) = shared.next_channels.lock() {
            *next = Some(channels);
        }
        shared.json.store(settings.json_output, Ordering::Relaxed);
        shared.limit_ms.store(
            settings.output_timeout.as_millis().max(1) as u64,
            Ordering::Relaxed,
        );
        shared.reconfigure.store(true, Ordering::Release);
        Ok(())
    }

    /// Reconfigurations handled by the worker so far.
    pub fn reconfigured(&self) -> u64 {
        self.handle
            .shared
            .stats
            .reconfigures
            .load(Ordering::Relaxed)
    }

    /// SIGUSR1: the worker reopens files and restarts programs before its next alert.
    pub fn reopen(&self) {
        self.handle.shared.reopen.store(true, Ordering::Release);
    }

    /// Drains everything queued so far, flushes and closes every channel, and stops the threads.
    /// Alerts sent through surviving handles afterwards are dropped and counted.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let shared = &self.handle.shared;
        shared.stop.store(true, Ordering::Release);
        let Some(worker) = self.worker.take() else {
            return;
        };
        // Draining may take as long as it needs while the worker makes progress; a channel call
        // that has not returned for output_timeout plus a grace period never will (a program
        // that stopped reading, a FIFO nobody opens), so the exit does not wait for it.
        let stats = &shared.stats;
        loop {
            if worker.is_finished() {
                let _ = worker.join();
                break;
            }
            let limit = shared.limit_ms.load(Ordering::Relaxed) + SHUTDOWN_GRACE_MS;
            if let Some((kind, ms)) = stats.wedged(limit) {
                let lost = stats.queue_depth();
                stats.queue_drops.fetch_add(lost, Ordering::Relaxed);
                crate::logger::critical(&format!(
                    "\"{}\" output blocked for {ms} ms at shutdown; giving up on it and on {lost} \
                     queued alerts",
                    kind.name()
                ));
                // No program may start behind our back now; a program that stopped reading is
                // killed with its children, or it would outlive the daemon (a healthy one just
                // sees the end of its input when we exit).
                if let Some(group) = stats.program.abandon(kind == ChannelKind::Program) {
                    crate::logger::critical(&format!(
                        "killed the program output's process group {group}"
                    ));
                }
                // The worker stays blocked in the kernel; the process exit ends it, and the
                // watchdog (which lives as long as the worker) with it.
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(w) = self.watchdog.take() {
            // Wake it from its nap: the worker is gone, so it exits at once.
            w.thread().unpark();
            let _ = w.join();
        }
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The worker's state: the channels and one log limiter per channel.
struct Worker {
    channels: Channels,
    error_logs: Vec<LogLimiter>,
    stats: Arc<OutputStats>,
    json: bool,
}

impl Worker {
    /// Logs a channel error (rate-limited). `alert_lost`: the error cost an alert the channel
    /// does not account for itself.
    fn report(&self, i: usize, what: &str, e: &io::Error, alert_lost: bool) {
        let kind = self.channels[i].0;
        if alert_lost {
            self.stats.add(&self.stats.failed, kind);
        }
        self.error_logs[i].log(Priority::Error, || {
            format!("{} output: {what}: {e}", kind.name())
        });
    }

    fn deliver(&mut self, alert: &Alert) {
        let line = sanitize_line(&alert.line, self.json);
        for i in 0..self.channels.len() {
            let (kind, ch) = &mut self.channels[i];
            let kind = *kind;
            let stats = (!ch.self_bounded()).then_some(&*self.stats);
            let result = timed(stats, kind, || ch.emit(alert, &line));
            let counts = ch.counts_delivery();
            match result {
                Ok(()) if counts => self.stats.add(&self.stats.delivered, kind),
                Ok(()) => {}
                Err(e) => self.report(i, "alert not written", &e, true),
            }
        }
        self.stats.count_alert(alert);
        self.stats.processed.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `op` on every channel. Channels that count their own deliveries also count what a
    /// failure loses; for the others a failure counts as one failed alert.
    fn for_each(&mut self, what: &str, op: fn(&mut dyn Channel) -> io::Result<()>) {
        for i in 0..self.channels.len() {
            let (kind, ch) = &mut self.channels[i];
            let stats = (!ch.self_bounded()).then_some(&*self.stats);
            if let Err(e) = timed(stats, *kind, || op(ch.as_mut())) {
                let counts_own = !self.channels[i].1.counts_delivery();
                self.report(i, what, &e, !counts_own);
            }
        }
    }
}

/// Runs one channel call with the worker marked busy in `kind`, so the watchdog and `/healthz`
/// see a call that does not return (a flush into a full pipe blocks as surely as a write).
/// `stats` is None for a [`Channel::self_bounded`] channel.
fn timed<R>(stats: Option<&OutputStats>, kind: ChannelKind, call: impl FnOnce() -> R) -> R {
    let Some(stats) = stats else {
        return call();
    };
    stats.busy_channel.store(kind as usize, Ordering::Relaxed);
    stats.busy_since_ms.store(monotonic_ms(), Ordering::Release);
    let result = call();
    stats.busy_since_ms.store(0, Ordering::Release);
    result
}

fn worker_loop(rx: mpsc::Receiver<Alert>, channels: Channels, shared: Arc<Shared>) {
    let stats = shared.stats.clone();
    let mut w = Worker {
        error_logs: channels.iter().map(|_| LogLimiter::default()).collect(),
        channels,
        stats: stats.clone(),
        json: shared.json.load(Ordering::Relaxed),
    };
    // When the oldest alert written since the last flush must be pushed out.
    let mut flush_due: Option<Instant> = None;
    loop {
        if shared.reconfigure.swap(false, Ordering::AcqRel) {
            let next = shared.next_channels.lock().ok().and_then(|mut n| n.take());
            if let Some(next) = next {
                w.for_each("close failed", |c| c.close());
                w.error_logs = next.iter().map(|_| LogLimiter::default()).collect();
                w.channels = next;
                w.json = shared.json.load(Ordering::Relaxed);
                stats.reconfigures.fetch_add(1, Ordering::Relaxed);
                flush_due = None;
            }
        }
        if shared.reopen.swap(false, Ordering::AcqRel) {
            stats.reopens.fetch_add(1, Ordering::Relaxed);
            w.for_each("reopen failed", |c| c.reopen());
            flush_due = None;
        }
        let wait = match flush_due {
            Some(due) => due.saturating_duration_since(Instant::now()),
            None => IDLE_POLL,
        };
        let next = match rx.recv_timeout(wait.min(IDLE_POLL)) {
            Ok(a) => Some(a),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(alert) = &next {
            w.deliver(alert);
            flush_due.get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
        }
        if flush_due.is_some_and(|due| Instant::now() >= due) {
            w.for_each("flush failed", |c| c.flush());
            flush_due = None;
        }
        if next.is_none() && shared.stop.load(Ordering::Acquire) {
            break;
        }
    }
    // Whatever was queued before the stop request is still delivered.
    while let Ok(alert) = rx.try_recv() {
        w.deliver(&alert);
    }
    w.for_each("close failed", |c| c.close());
    stats.worker_alive.store(false, Ordering::Relaxed);
}

fn watchdog_loop(shared: Arc<Shared>) {
    let stats = shared.stats.clone();
    let mut reported_since = 0u64;
    while stats.worker_alive.load(Ordering::Relaxed) {
        let limit_ms = shared.limit_ms.load(Ordering::Relaxed);
        // Parked rather than asleep, so a shutdown does not wait out the interval.
        std::thread::park_timeout(Duration::from_millis((limit_ms / 4).clamp(10, 250)));
        if let Some((kind, _)) = stats.wedged(limit_ms) {
            let since = stats.busy_since_ms.load(Ordering::Acquire);
            if since != reported_since {
                reported_since = since;
                crate::logger::critical(&format!(
                    "\"{}\" output timeout, all output channels are blocked",
                    kind.name()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
