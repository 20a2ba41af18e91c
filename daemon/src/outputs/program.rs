//! The program channel: `sh -c <program>` with the alert on its stdin.
//!
//! `keep_alive: false` runs one process per alert and waits for it (Falco's popen/pclose);
//! `keep_alive: true` keeps one process and feeds it line by line (batched when outputs are
//! buffered). A kept process that has exited (or whose stdin is closed) is detected before each
//! write and on a broken pipe, logged, reaped and respawned, and the lines it did not take are
//! written to the new one — from the start of a line, so the new process never sees half an
//! alert. [`Channel::reopen`] (SIGUSR1) closes the process's stdin, waits briefly for it, and the
//! next alert starts a new one.
//!
//! Each program runs in a process group of its own, recorded in [`ProgramGroup`]: a program that
//! must be killed (it ignores the end of its input, or the shutdown gives up on it) is killed with
//! everything `sh -c` started, so nothing is left running after the daemon.
//!
//! The channel counts deliveries itself, when the bytes are in the program's pipe; lines that no
//! process would take (the program keeps dying, or cannot start) are counted as failed and logged.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::stats::{ChannelKind, LogLimiter, OutputStats};
use super::Channel;
use crate::priority::Priority;

/// How long a closed-stdin child may take to exit on reopen/shutdown before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Bytes of alert lines batched for a kept process (buffered mode).
const BATCH: usize = 64 * 1024;
/// Processes started for one batch before its lines are given up.
const SPAWN_ATTEMPTS: u32 = 2;

/// The process group of the running program (its `sh -c` is the leader), shared with
/// [`super::Outputs`] so a shutdown that gives up on a blocked worker can still kill it.
#[derive(Debug, Default)]
pub struct ProgramGroup(Mutex<GroupState>);

#[derive(Debug, Default)]
struct GroupState {
    /// The leader's pid; 0 when no program runs.
    leader: i32,
    /// Set by [`ProgramGroup::abandon`]: no program may start any more.
    abandoned: bool,
}

impl ProgramGroup {
    /// Runs `spawn` (which must make the child a group leader) and records the child, unless the
    /// outputs were abandoned — then no process is started, so none can outlive the daemon.
    fn start(&self, spawn: impl FnOnce() -> io::Result<Child>) -> io::Result<Child> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if state.abandoned {
            return Err(io::Error::other(
                "program output: the outputs are shutting down",
            ));
        }
        let child = spawn()?;
        state.leader = i32::try_from(child.id()).unwrap_or(0);
        Ok(child)
    }

    /// Forgets `child` once it has been reaped (its pid may be reused after that).
    fn finished(&self, child: &Child) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if i64::from(state.leader) == i64::from(child.id()) {
            state.leader = 0;
        }
    }

    /// The pid of the running program's `sh -c`, if one runs.
    pub fn leader(&self) -> Option<i32> {
        let state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (state.leader > 0).then_some(state.leader)
    }

    /// No program may start from now on; with `kill`, SIGKILLs the running one's whole group.
    /// Returns the group killed. Only valid while the leader is unreaped, which holds here: the
    /// worker that would reap it is the one being given up on.
    pub fn abandon(&self, kill: bool) -> Option<i32> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.abandoned = true;
        let leader = std::mem::take(&mut state.leader);
        if !kill || leader <= 0 {
            return None;
        }
        kill_group(leader);
        Some(leader)
    }
}

/// SIGKILL to the process group led by `leader`.
fn kill_group(leader: i32) {
    // SAFETY: kill(2) on a negative pid signals that process group; no memory is involved.
    unsafe { libc::kill(-leader, libc::SIGKILL) };
}

pub struct ProgramChannel {
    program: String,
    keep_alive: bool,
    buffered: bool,
    stats: Arc<OutputStats>,
    child: Option<(Child, ChildStdin)>,
    /// Lines not yet in a pipe (keep_alive), oldest first.
    pending: Vec<u8>,
    pending_alerts: u64,
    scratch: Vec<u8>,
    restart_log: LogLimiter,
}

impl ProgramChannel {
    pub fn new(program: &str, keep_alive: bool, buffered: bool, stats: Arc<OutputStats>) -> Self {
        ProgramChannel {
            program: program.to_string(),
            keep_alive,
            buffered,
            stats,
            child: None,
            pending: Vec::new(),
            pending_alerts: 0,
            scratch: Vec::new(),
            restart_log: LogLimiter::default(),
        }
    }

    fn spawn(&self) -> io::Result<(Child, ChildStdin)> {
        let mut child = self.stats.program.start(|| {
            Command::new("/bin/sh")
                .arg("-c")
                .arg(&self.program)
                .stdin(Stdio::piped())
                .process_group(0)
                .spawn()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot start program '{}': {e}", self.program),
                    )
                })
        })?;
        self.stats.program_spawns.fetch_add(1, Ordering::Relaxed);
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("program started without a stdin pipe"))?;
        Ok((child, stdin))
    }

    fn count(&self, counter: &[std::sync::atomic::AtomicU64; 5], n: u64) {
        if n > 0 {
            counter[ChannelKind::Program as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Closes the kept process's stdin and reaps it (killing it after a grace period).
    fn stop_child(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            reap(&mut child);
            self.stats.program.finished(&child);
        }
    }

    /// A kept process that has exited is reaped, so the next write starts a new one.
    fn drop_dead_child(&mut self) {
        let exited = match self.child.as_mut() {
            Some((child, _)) => child.try_wait().ok().flatten(),
            None => None,
        };
        if let Some(status) = exited {
            let program = &self.program;
            self.restart_log.log(Priority::Error, || {
                format!("program output: '{program}' exited ({status}); restarting it")
            });
            self.stop_child();
        }
    }

    /// Puts the pending lines into a kept process's pipe, (re)starting it as needed.
    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.drop_dead_child();
        let mut last_error = None;
        for _ in 0..SPAWN_ATTEMPTS {
            if self.child.is_none() {
                match self.spawn() {
                    Ok(c) => self.child = Some(c),
                    Err(e) => {
                        last_error = Some(e);
                        break;
                    }
                }
            }
            let Some((_, stdin)) = self.child.as_mut() else {
                break;
            };
            let mut off = 0;
            let result = loop {
                if off == self.pending.len() {
                    break Ok(());
                }
                match stdin.write(&self.pending[off..]) {
                    Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                    Ok(n) => off += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            // Whole lines now in the pipe are delivered; a cut line is resent whole.
            let done = match self.pending[..off].iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => 0,
            };
            let lines = memchr::memchr_iter(b'\n', &self.pending[..done]).count() as u64;
            self.pending.drain(..done);
            self.pending_alerts -= lines.min(self.pending_alerts);
            self.count(&self.stats.delivered, lines);
            match result {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let program = &self.program;
                    self.restart_log.log(Priority::Error, || {
                        format!(
                            "program output: '{program}' does not take input ({e}); restarting it"
                        )
                    });
                    self.stop_child();
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("program output: no process")))
    }

    /// Gives up the pending lines (all but `keep` of them are counted as failed here).
    fn discard_pending(&mut self, keep: u64, why: &io::Error) {
        let lost = self.pending_alerts.saturating_sub(keep);
        if lost > 0 {
            self.count(&self.stats.failed, lost);
            crate::logger::log(
                Priority::Error,
                &format!("program output: {lost} alerts lost ({why})"),
            );
        }
        self.pending.clear();
        self.pending_alerts = 0;
    }

    fn emit_kept(&mut self) -> io::Result<()> {
        self.pending.extend_from_slice(&self.scratch);
        self.pending_alerts += 1;
        if self.buffered && self.pending.len() < BATCH {
            return Ok(());
        }
        match self.write_pending() {
            Ok(()) => Ok(()),
            Err(e) => {
                // This alert is counted by the caller; the older ones here.
                self.discard_pending(1, &e);
                Err(e)
            }
        }
    }

    fn emit_once(&mut self) -> io::Result<()> {
        let (mut child, mut stdin) = self.spawn()?;
        let written = stdin.write_all(&self.scratch).and_then(|_| stdin.flush());
        drop(stdin);
        // Like pclose(): wait for the program, however long it takes (the output watchdog
        // reports a program that hangs).
        let status = child.wait();
        self.stats.program.finished(&child);
        written?;
        status?;
        self.count(&self.stats.delivered, 1);
        Ok(())
    }

    /// Writes what is pending, gives up what cannot be written, and stops the process.
    fn finish(&mut self) -> io::Result<()> {
        let result = self.write_pending();
        if let Err(e) = &result {
            self.discard_pending(0, e);
        }
        self.stop_child();
        result
    }
}

fn reap(child: &mut Child) {
    let deadline = Instant::now() + EXIT_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() >= deadline => {
                // The whole group: what `sh -c` started may hold the pipe too.
                if let Ok(leader) = i32::try_from(child.id()) {
                    kill_group(leader);
                }
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

impl Channel for ProgramChannel {
    fn emit(&mut self, _alert: &super::Alert, line: &str) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.extend_from_slice(line.as_bytes());
        self.scratch.push(b'\n');
        if self.keep_alive {
            self.emit_kept()
        } else {
            self.emit_once()
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.write_pending();
        if let Err(e) = &result {
            self.discard_pending(0, e);
        }
        result
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.finish()
    }

    fn close(&mut self) -> io::Result<()> {
        self.finish()
    }

    fn counts_delivery(&self) -> bool {
        false
    }
}
