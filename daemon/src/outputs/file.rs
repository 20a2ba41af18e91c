//! The file channel. `keep_alive: false` opens, appends and closes the file for every alert
//! (so an external rotation is always honoured); `keep_alive: true` keeps it open, buffered
//! unless `-U`, and reopens it on [`Channel::reopen`] (SIGUSR1, what logrotate's postrotate
//! sends). Every alert goes out as one `write` of the whole line when unbuffered.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Channel;

pub struct FileChannel {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    open: Option<BufWriter<File>>,
    scratch: Vec<u8>,
}

impl FileChannel {
    pub fn new(path: &Path, keep_alive: bool, buffered: bool) -> Self {
        FileChannel {
            path: path.to_path_buf(),
            keep_alive,
            buffered,
            open: None,
            scratch: Vec::new(),
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
}

impl Channel for FileChannel {
    fn emit(&mut self, _alert: &super::Alert, line: &str) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.extend_from_slice(line.as_bytes());
        self.scratch.push(b'\n');
        if !self.keep_alive {
            let mut f = self.open_file()?;
            return f.write_all(&self.scratch).map_err(|e| self.write_error(e));
        }
        if self.open.is_none() {
            let capacity = if self.buffered { 64 * 1024 } else { 0 };
            self.open = Some(BufWriter::with_capacity(capacity, self.open_file()?));
        }
        let Some(w) = self.open.as_mut() else {
            return Ok(());
        };
        let mut result = w.write_all(&self.scratch);
        if result.is_ok() && !self.buffered {
            result = w.flush();
        }
        result.map_err(|e| self.write_error(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.open.as_mut() {
            Some(w) => w.flush().map_err(|e| self.write_error(e)),
            None => Ok(()),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        let flushed = self.flush();
        // Dropping the writer closes the old file; the next alert opens the path anew.
        if let Some(w) = self.open.take() {
            // Whatever could not be flushed was already reported by `flushed`.
            let _ = w.into_parts();
        }
        flushed
    }
}
