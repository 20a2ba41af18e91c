//! The program channel: `sh -c <program>` with the alert on its stdin.
//!
//! `keep_alive: false` runs one process per alert and waits for it (Falco's popen/pclose);
//! `keep_alive: true` keeps one process and feeds it line by line. A kept process that has
//! exited (or whose stdin is closed) is detected before each write and on a broken pipe, logged,
//! reaped and respawned, and the alert is written to the new one. [`Channel::reopen`] (SIGUSR1)
//! closes the process's stdin, waits briefly for it, and the next alert starts a new one.

use std::io::{self, BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::{LogLimiter, OutputStats};
use super::Channel;
use crate::priority::Priority;

/// How long a closed-stdin child may take to exit on reopen/shutdown before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

pub struct ProgramChannel {
    program: String,
    keep_alive: bool,
    buffered: bool,
    stats: Arc<OutputStats>,
    child: Option<(Child, BufWriter<ChildStdin>)>,
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
            scratch: Vec::new(),
            restart_log: LogLimiter::default(),
        }
    }

    fn spawn(&self) -> io::Result<(Child, BufWriter<ChildStdin>)> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.program)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start program '{}': {e}", self.program),
                )
            })?;
        self.stats.program_spawns.fetch_add(1, Ordering::Relaxed);
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("program started without a stdin pipe"))?;
        let capacity = if self.buffered { 64 * 1024 } else { 0 };
        Ok((child, BufWriter::with_capacity(capacity, stdin)))
    }

    /// Closes the kept process's stdin and reaps it (killing it after a grace period).
    fn stop_child(&mut self) -> io::Result<()> {
        let Some((mut child, mut stdin)) = self.child.take() else {
            return Ok(());
        };
        let flushed = stdin.flush();
        drop(stdin);
        reap(&mut child);
        flushed
    }

    /// Writes the line to the kept process, (re)starting it as needed.
    fn write_kept(&mut self) -> io::Result<()> {
        if let Some((child, _)) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let program = &self.program;
                self.restart_log.log(Priority::Error, || {
                    format!("program output: '{program}' exited ({status}); restarting it")
                });
                self.child = None;
            }
        }
        for attempt in 0..2 {
            if self.child.is_none() {
                self.child = Some(self.spawn()?);
            }
            let Some((_, stdin)) = self.child.as_mut() else {
                continue;
            };
            let mut result = stdin.write_all(&self.scratch);
            if result.is_ok() && !self.buffered {
                result = stdin.flush();
            }
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe && attempt == 0 => {
                    let program = &self.program;
                    self.restart_log.log(Priority::Error, || {
                        format!("program output: '{program}' closed its input; restarting it")
                    });
                    if let Some((mut child, stdin)) = self.child.take() {
                        // The buffered bytes cannot go anywhere now; the alert is retried.
                        let _ = stdin.into_parts();
                        reap(&mut child);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            format!("program '{}' does not accept input", self.program),
        ))
    }
}

fn reap(child: &mut Child) {
    let deadline = Instant::now() + EXIT_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
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
            return self.write_kept();
        }
        let (mut child, mut stdin) = self.spawn()?;
        let written = stdin.write_all(&self.scratch).and_then(|_| stdin.flush());
        drop(stdin);
        // Like pclose(): wait for the program, however long it takes (the output watchdog
        // reports a program that hangs).
        let status = child.wait();
        written?;
        status.map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.child.as_mut() {
            Some((_, stdin)) => stdin.flush(),
            None => Ok(()),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.stop_child()
    }

    fn close(&mut self) -> io::Result<()> {
        self.stop_child()
    }
}
