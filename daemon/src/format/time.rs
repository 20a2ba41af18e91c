//! Event timestamps as text, the way libsinsp prints its time fields.

use std::io::Write;

/// How a nanosecond timestamp is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeStyle {
    /// `HH:MM:SS.nnnnnnnnn`, local time (`evt.time`, the text alert prefix).
    TimeOfDay,
    /// `HH:MM:SS`, local time.
    TimeOfDaySeconds,
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`, UTC (`evt.time.iso8601`).
    Iso8601,
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, UTC (the JSON `time` key).
    Iso8601Z,
    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`, local time.
    DateTime,
    /// `YYYY-MM-DD HH:MM:SS`, local time.
    DateTimeSeconds,
}

fn broken_down(secs: i64, utc: bool) -> Option<libc::tm> {
    // SAFETY: gmtime_r/localtime_r only write into `tm`, which outlives the call.
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

/// Appends `ns` (nanoseconds since the epoch) rendered in `style` to `out`.
pub fn render_time(ns: u64, style: TimeStyle, out: &mut Vec<u8>) {
    let secs = (ns / 1_000_000_000) as i64;
    let nanos = ns % 1_000_000_000;
    let utc = matches!(style, TimeStyle::Iso8601 | TimeStyle::Iso8601Z);
    let Some(tm) = broken_down(secs, utc) else {
        out.extend_from_slice(b"<NA>");
        return;
    };
    let (y, mo, d) = (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    let (h, mi, s) = (tm.tm_hour, tm.tm_min, tm.tm_sec);
    let _ = match style {
        TimeStyle::TimeOfDay => write!(out, "{h:02}:{mi:02}:{s:02}.{nanos:09}"),
        TimeStyle::TimeOfDaySeconds => write!(out, "{h:02}:{mi:02}:{s:02}"),
        TimeStyle::Iso8601 => write!(
            out,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{nanos:09}+0000"
        ),
        TimeStyle::Iso8601Z => write!(
            out,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{nanos:09}Z"
        ),
        TimeStyle::DateTime => write!(
            out,
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{nanos:09}"
        ),
        TimeStyle::DateTimeSeconds => {
            write!(out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(ns: u64, style: TimeStyle) -> String {
        let mut v = Vec::new();
        render_time(ns, style, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn utc_styles() {
        let t = 1_470_327_477_881_781_397;
        assert_eq!(
            show(t, TimeStyle::Iso8601),
            "2016-08-04T16:17:57.881781397+0000"
        );
        assert_eq!(
            show(t, TimeStyle::Iso8601Z),
            "2016-08-04T16:17:57.881781397Z"
        );
    }

    #[test]
    fn local_styles_follow_localtime() {
        let t = 1_470_327_477_000_000_042;
        let tm = broken_down(1_470_327_477, false).unwrap();
        let hms = format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_eq!(show(t, TimeStyle::TimeOfDay), format!("{hms}.000000042"));
        assert_eq!(show(t, TimeStyle::TimeOfDaySeconds), hms);
        assert!(show(t, TimeStyle::DateTime).ends_with(&format!(" {hms}.000000042")));
        assert_eq!(show(t, TimeStyle::DateTimeSeconds).len(), 19);
    }
}
