//! The file channel. `keep_alive: false` opens, appends and closes the file for every alert
//! (so an external rotation is always honoured); `keep_alive: true` keeps it open (buffered when
//! outputs are), and reopens it on [`Channel::reopen`] (SIGUSR1, what logrotate's postrotate
//! sends).
//!
//! Write failures (disk full, I/O error) never lose an alert silently: kept-open lines that cannot
//! be written stay queued (up to [`BUFFER_CAPACITY`] bytes) and are retried at the next write or
//! flush; an alert that finds that queue full fails at once; what is still queued at reopen or
//! shutdown is given up, counted as failed and logged. The channel counts deliveries itself when
//! the bytes reach the file. A line cut by a failed write is ended with a newline before anything
//! else is appended, so it cannot swallow the next alert.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::stats::{ChannelKind, LogLimiter, OutputStats};
use super::Channel;
use crate::priority::Priority;

/// Bytes of alert lines kept while the file cannot be written (and the buffered-mode batch size).
pub const BUFFER_CAPACITY: usize = 64 * 1024;

pub struct FileChannel {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    stats: Arc<OutputStats>,
    file: Option<File>,
    /// Lines waiting to be written (keep_alive), oldest first.
    pending: Vec<u8>,
    /// Complete alerts in `pending` (a partly written first line counts).
    pending_alerts: u64,
    /// The first line of `pending` was partly written already.
    pending_partial: bool,
    /// The file ends inside a line that will never be completed: write a newline first.
    needs_newline: bool,
    scratch: Vec<u8>,
    write_log: LogLimiter,
}

impl FileChannel {
    pub fn new(path: &Path, keep_alive: bool, buffered: bool, stats: Arc<OutputStats>) -> Self {
        FileChannel {
            path: path.to_path_buf(),
            keep_alive,
            buffered,
            stats,
            file: None,
            pending: Vec::new(),
            pending_alerts: 0,
            pending_partial: false,
            needs_newline: false,
            scratch: Vec::new(),
            write_log: LogLimiter::default(),
        }
    }

    fn open_file(&self) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("failed to open output file {}: {e}", self.path.display()),
                )
            })
    }

    fn write_error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("failed to write to {}: {e}", self.path.display()),
        )
    }

    fn delivered(&self, n: u64) {
        self.stats.delivered[ChannelKind::File as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Writes `data` to `file`; returns how many bytes went out and the error that stopped it.
    fn write_some(file: &mut File, data: &[u8]) -> (usize, Option<io::Error>) {
        let mut off = 0;
        while off < data.len() {
            match file.write(&data[off..]) {
                Ok(0) => return (off, Some(io::ErrorKind::WriteZero.into())),
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (off, Some(e)),
            }
        }
        (off, None)
    }

    /// Ends a torn line, if any. Nothing else may be written when this fails.
    fn repair(&mut self, file: &mut File) -> io::Result<()> {
        if self.needs_newline {
            if let (0, Some(e)) = Self::write_some(file, b"\n") {
                return Err(self.write_error(e));
            }
            self.needs_newline = false;
        }
        Ok(())
    }

    /// Writes as much of `pending` as the file takes; counts the alerts that went out.
    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        let result = self.repair(&mut file).and_then(|()| {
            let (off, err) = Self::write_some(&mut file, &self.pending);
            let lines = memchr::memchr_iter(b'\n', &self.pending[..off]).count() as u64;
            if off > 0 {
                self.pending_partial = off < self.pending.len() && self.pending[off - 1] != b'\n';
            }
            self.pending.drain(..off);
            self.pending_alerts -= lines.min(self.pending_alerts);
            self.delivered(lines);
            match err {
                Some(e) => Err(self.write_error(e)),
                None => Ok(()),
            }
        });
        self.file = Some(file);
        result
    }

    /// Gives up whatever is still queued: counted as failed and logged.
    fn discard_pending(&mut self, why: &io::Error) {
        if self.pending_alerts > 0 {
            let n = self.pending_alerts;
            self.stats.failed[ChannelKind::File as usize].fetch_add(n, Ordering::Relaxed);
            crate::logger::log(
                Priority::Error,
                &format!("file output: {n} alerts lost ({why})"),
            );
        }
        if self.pending_partial {
            self.needs_newline = true;
        }
        self.pending.clear();
        self.pending_alerts = 0;
        self.pending_partial = false;
    }

    /// Writes what is queued, gives up what cannot be written, and closes the file.
    fn finish(&mut self) -> io::Result<()> {
        let result = self.write_pending();
        if let Err(e) = &result {
            self.discard_pending(e);
        }
        self.file = None;
        result
    }

    fn emit_once(&mut self) -> io::Result<()> {
        let mut file = self.open_file()?;
        self.repair(&mut file)?;
        match Self::write_some(&mut file, &self.scratch) {
            (_, None) => {
                self.delivered(1);
                Ok(())
            }
            (off, Some(e)) => {
                // A cut line stays cut: the next writer starts on a fresh line.
                self.needs_newline = off > 0;
                Err(self.write_error(e))
            }
        }
    }

    fn emit_kept(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(self.open_file()?);
        }
        if self.pending.len() + self.scratch.len() > BUFFER_CAPACITY {
            if let Err(e) = self.write_pending() {
                if self.pending.len() + self.scratch.len() > BUFFER_CAPACITY {
                    return Err(e);
                }
            }
        }
        self.pending.extend_from_slice(&self.scratch);
        self.pending_alerts += 1;
        if !self.buffered || self.pending.len() >= BUFFER_CAPACITY {
            if let Err(e) = self.write_pending() {
                // The alert is queued for the next attempt; say why it is late.
                let waiting = self.pending_alerts;
                self.write_log.log(Priority::Error, || {
                    format!("file output: {e}; {waiting} alerts waiting")
                });
            }
        }
        Ok(())
    }
}

impl Channel for FileChannel {
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
        self.write_pending()
    }

    fn reopen(&mut self) -> io::Result<()> {
        // The next alert opens the path anew.
        self.finish()
    }

    fn close(&mut self) -> io::Result<()> {
        self.finish()
    }

    fn counts_delivery(&self) -> bool {
        false
    }
}
