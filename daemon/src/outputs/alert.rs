//! The message contract between the engine and the outputs: [`Alert`].

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use crate::priority::Priority;

/// The `source` of Falco's own alerts (drops, reload failures, metrics snapshots).
pub const INTERNAL_SOURCE: &str = "internal";

/// One alert on its way to the outputs.
///
/// `line` is the complete text the channels write: the formatter's text line
/// (`16:17:57.881781397: Warning ...`) or its JSON document, without a trailing newline. The
/// other fields are what channels and metrics need besides the line: syslog uses `priority`,
/// `/metrics` counts `falco_events{rule,priority,hostname,source,tags,k8s_ns_name,k8s_pod_name}`.
///
/// Cheap to build from a compiled rule: `rule`, `source` and `tags` are shared (`Arc`), so a
/// rule keeps one copy and each alert clones pointers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Event time, nanoseconds since the epoch.
    pub time_ns: u64,
    pub priority: Priority,
    pub rule: Arc<str>,
    /// Event source: `syscall`, a plugin source, or [`INTERNAL_SOURCE`].
    pub source: Arc<str>,
    /// The rule's tags in byte order (Falco keeps them in a `std::set`).
    pub tags: Arc<[String]>,
    /// The formatted alert (text or JSON), no trailing newline.
    pub line: String,
    /// `k8s.ns.name` / `k8s.pod.name` when the output has them (falco-exporter labels).
    pub k8s_ns_name: Option<String>,
    pub k8s_pod_name: Option<String>,
}

impl Alert {
    /// An alert for a rule match; the formatter has produced `line`.
    pub fn new(
        time_ns: u64,
        priority: Priority,
        rule: Arc<str>,
        source: Arc<str>,
        tags: Arc<[String]>,
        line: String,
    ) -> Self {
        Alert {
            time_ns,
            priority,
            rule,
            source,
            tags,
            line,
            k8s_ns_name: None,
            k8s_pod_name: None,
        }
    }

    /// One of Falco's internal alerts (`falco_outputs::handle_msg`): rule `rule`, source
    /// `internal`, `msg` as the output and `fields` as output fields (values are strings).
    /// Text: `<time>: <Priority> <msg> (k1=v1 k2=v2)`; JSON: hostname, output, output_fields,
    /// priority, rule, source and an ISO 8601 UTC time.
    pub fn internal(
        time_ns: u64,
        priority: Priority,
        rule: &str,
        msg: &str,
        fields: &[(&str, String)],
        json: bool,
        iso_8601: bool,
    ) -> Self {
        let line = if json {
            let mut output_fields = serde_json::Map::new();
            for (k, v) in fields {
                output_fields.insert((*k).to_string(), serde_json::Value::String(v.clone()));
            }
            let doc = serde_json::json!({
                "hostname": hostname(),
                "output": msg,
                "output_fields": output_fields,
                "priority": priority.name(),
                "rule": rule,
                "source": INTERNAL_SOURCE,
                "time": iso_time(time_ns),
            });
            doc.to_string()
        } else {
            let mut line = format!(
                "{}: {} {msg}",
                text_time(time_ns, iso_8601),
                priority.name()
            );
            if !fields.is_empty() {
                line.push_str(" (");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    line.push_str(k);
                    line.push('=');
                    line.push_str(v);
                }
                line.push(')');
            }
            line
        };
        Alert::new(
            time_ns,
            priority,
            Arc::from(rule),
            Arc::from(INTERNAL_SOURCE),
            Arc::from(Vec::new()),
            line,
        )
    }

    /// Falco-exporter's `tags` label: `,a,b,` (`,,` without tags).
    pub fn exporter_tags(&self) -> String {
        let mut s = String::from(",");
        for t in self.tags.iter() {
            s.push_str(t);
            s.push(',');
        }
        if self.tags.is_empty() {
            s.push(',');
        }
        s
    }
}

/// The hostname alerts carry: `FALCO_HOSTNAME` if set, else gethostname(2).
pub fn hostname() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        if let Some(h) = std::env::var_os("FALCO_HOSTNAME") {
            return h.to_string_lossy().into_owned();
        }
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return String::new();
        }
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    })
}

/// Current wall-clock time in nanoseconds since the epoch (for internal alerts).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn broken_down(secs: i64, utc: bool) -> Option<libc::tm> {
    // SAFETY: gmtime_r/localtime_r only write into `tm`.
    unsafe {
        let t: libc::time_t = secs;
        let mut tm: libc::tm = std::mem::zeroed();
        let ok = if utc {
            !libc::gmtime_r(&t, &mut tm).is_null()
        } else {
            !libc::localtime_r(&t, &mut tm).is_null()
        };
        ok.then_some(tm)
    }
}

/// `2026-11-23T00:48:32.123456789Z`.
pub fn iso_time(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    match broken_down(secs, true) {
        Some(tm) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            ns % 1_000_000_000
        ),
        None => String::from("N/A"),
    }
}

/// The time prefix of a text alert: local `HH:MM:SS.nnnnnnnnn`, or ISO 8601 with
/// `time_format_iso_8601`.
pub fn text_time(ns: u64, iso_8601: bool) -> String {
    if iso_8601 {
        return iso_time(ns);
    }
    let secs = (ns / 1_000_000_000) as i64;
    match broken_down(secs, false) {
        Some(tm) => format!(
            "{:02}:{:02}:{:02}.{:09}",
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            ns % 1_000_000_000
        ),
        None => String::from("N/A"),
    }
}

/// Makes a line safe to write: control characters (a newline, carriage return or terminal
/// escape smuggled in through a file name or command line) cannot start a forged alert line or
/// drive the reader's terminal. Text lines get `\n`, `\r`, `\xHH`; JSON lines get `\u00HH`,
/// which keeps the document valid (raw control characters only ever occur inside strings).
/// Borrowed when there is nothing to escape, which is the common case.
pub fn sanitize_line(line: &str, json: bool) -> Cow<'_, str> {
    let needs = |c: char| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}';
    if !line.chars().any(needs) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if !needs(c) {
            out.push(c);
        } else if json {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_defuses_forged_lines_and_escapes() {
        let forged = "10:00:00.000000000: Warning open file=/tmp/x\n10:00:00.000000001: \
                      Critical fake alert\x1b[2J\u{9b}31m";
        let safe = sanitize_line(forged, false);
        assert!(!safe.contains('\n'));
        assert!(!safe.contains('\x1b'));
        assert!(!safe.contains('\u{9b}'));
        assert!(safe.contains("\\n10:00:00"));
        assert!(safe.contains("\\x1b[2J"));
        assert!(matches!(
            sanitize_line("plain\tline", false),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn sanitized_json_stays_valid_json() {
        let doc = serde_json::json!({"output": "a\u{7f}b\u{85}c\u{2028}d", "n": 1}).to_string();
        let safe = sanitize_line(&doc, true);
        assert!(!safe.chars().any(|c| c.is_control()));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["output"], "a\u{7f}b\u{85}c\u{2028}d");
    }

    #[test]
    fn internal_alerts_in_both_formats() {
        let t = 1_700_000_000_123_456_789;
        let a = Alert::internal(
            t,
            Priority::Critical,
            "Falco internal: hot restart failure",
            "Falco internal: hot restart failure: bad rule",
            &[("error", "bad rule".to_string())],
            true,
            false,
        );
        let v: serde_json::Value = serde_json::from_str(&a.line).unwrap();
        assert_eq!(v["priority"], "Critical");
        assert_eq!(v["source"], "internal");
        assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
        assert_eq!(v["output_fields"]["error"], "bad rule");
        assert_eq!(&*a.source, INTERNAL_SOURCE);
        let a = Alert::internal(
            t,
            Priority::Debug,
            "r",
            "msg",
            &[("n", "1".into())],
            false,
            true,
        );
        assert_eq!(a.line, "2023-11-14T22:13:20.123456789Z: Debug msg (n=1)");
        assert_eq!(a.exporter_tags(), ",,");
    }
}
