//! The stdout channel: one line per alert, each its own write(2) unless outputs are buffered
//! (`buffered_outputs: true` without `-U`; the worker then flushes within
//! [`super::FLUSH_DELAY`]).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use super::Channel;

/// fd 1 as a plain file: Rust's `Stdout` is line-buffered whatever we ask, which would turn
/// every alert into a syscall.
struct RawStdout(ManuallyDrop<File>);

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct StdoutChannel {
    out: BufWriter<RawStdout>,
    buffered: bool,
}

impl StdoutChannel {
    pub fn new(buffered: bool) -> Self {
        // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop never closes it.
        let file = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        StdoutChannel {
            out: BufWriter::with_capacity(64 * 1024, RawStdout(file)),
            buffered,
        }
    }
}

impl Channel for StdoutChannel {
    fn emit(&mut self, _alert: &super::Alert, line: &str) -> io::Result<()> {
        // Make sure stdout output from the rest of the program (println!) is not reordered
        // behind ours.
        let _ = io::stdout().flush();
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        if !self.buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
