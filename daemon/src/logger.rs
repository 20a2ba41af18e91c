//! Falco's own log (not alerts): `log_stderr`, `log_syslog`, `log_level`.
//!
//! Lines look like Falco's: `Mon Nov 23 00:48:32 2026: <message>` on stderr (or
//! `2026-11-23T00:48:32+0000: <message>` with `time_format_iso_8601`), and the bare message to
//! syslog(3) at the message's severity. Settings are process-wide atomics so any thread can log
//! without locking; [`configure`] applies the config once it is loaded (before that, Falco's
//! start-up defaults apply: stderr on, syslog off, level info).

use std::ffi::CString;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::priority::Priority;

static LEVEL: AtomicU8 = AtomicU8::new(Priority::Informational as u8);
static TO_STDERR: AtomicBool = AtomicBool::new(true);
static TO_SYSLOG: AtomicBool = AtomicBool::new(false);
static ISO_8601: AtomicBool = AtomicBool::new(false);

/// Applies `log_level`, `log_stderr`, `log_syslog` and `time_format_iso_8601`.
pub fn configure(level: Priority, stderr: bool, syslog: bool, iso_8601: bool) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    TO_STDERR.store(stderr, Ordering::Relaxed);
    TO_SYSLOG.store(syslog, Ordering::Relaxed);
    ISO_8601.store(iso_8601, Ordering::Relaxed);
}

/// Whether a message of `level` would be written anywhere (to skip building expensive ones).
pub fn enabled(level: Priority) -> bool {
    (level as u8) <= LEVEL.load(Ordering::Relaxed)
        && (TO_STDERR.load(Ordering::Relaxed) || TO_SYSLOG.load(Ordering::Relaxed))
}

/// Logs `msg` at `level`.
pub fn log(level: Priority, msg: &str) {
    if (level as u8) > LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    if TO_SYSLOG.load(Ordering::Relaxed) {
        syslog(level, msg);
    }
    if TO_STDERR.load(Ordering::Relaxed) {
        let line = format!("{}: {msg}\n", timestamp(ISO_8601.load(Ordering::Relaxed)));
        // One write call per line so lines from several threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

pub fn debug(msg: &str) {
    log(Priority::Debug, msg);
}
pub fn info(msg: &str) {
    log(Priority::Informational, msg);
}
pub fn notice(msg: &str) {
    log(Priority::Notice, msg);
}
pub fn warning(msg: &str) {
    log(Priority::Warning, msg);
}
pub fn error(msg: &str) {
    log(Priority::Error, msg);
}
pub fn critical(msg: &str) {
    log(Priority::Critical, msg);
}

/// Sends one message to syslog(3) at `level` (facility LOG_USER, ident = program name, as Falco
/// does without openlog). libc reconnects to /dev/log by itself when syslogd restarts.
pub fn syslog(level: Priority, msg: &str) {
    // An interior NUL would truncate the message; show it instead.
    let text = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call, and
    // the format string consumes exactly one string argument.
    unsafe {
        libc::syslog(
            libc::LOG_USER | level.syslog_severity(),
            c"%s".as_ptr(),
            text.as_ptr(),
        );
    }
}

/// `Mon Nov 23 00:48:32 2026` (local time, asctime layout) or ISO 8601 in UTC.
fn timestamp(iso: bool) -> String {
    // SAFETY: time(NULL) has no preconditions; localtime_r/gmtime_r write only into `tm`, and
    // strftime writes at most `buf.len()` bytes into `buf`.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        let (ok, fmt) = if iso {
            (!libc::gmtime_r(&now, &mut tm).is_null(), c"%FT%T%z")
        } else {
            (
                !libc::localtime_r(&now, &mut tm).is_null(),
                c"%a %b %e %H:%M:%S %Y",
            )
        };
        if !ok {
            return "N/A".to_string();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_falcos_layouts() {
        let t = timestamp(false);
        assert_eq!(t.len(), 24, "{t}");
        assert_eq!(&t[3..4], " ");
        let iso = timestamp(true);
        assert_eq!(iso.len(), 24, "{iso}");
        assert_eq!(&iso[10..11], "T");
        assert!(iso.ends_with("+0000"));
    }

    #[test]
    fn level_filter_follows_syslog_order() {
        configure(Priority::Warning, true, false, false);
        assert!(enabled(Priority::Error));
        assert!(!enabled(Priority::Notice));
        configure(Priority::Informational, true, false, false);
    }
}
