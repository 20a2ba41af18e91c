//! Escaping of event data in alerts.
//!
//! Field values come from the monitored system (file names, command lines) and may hold any
//! bytes. In the text line a newline or carriage return could start a forged alert line and an
//! escape sequence could drive the reader's terminal, so control characters become `\n`, `\r`,
//! `\xHH` (`\u{HHHH}` above 0xFF). Invalid UTF-8 bytes become `\xHH` everywhere (text and JSON),
//! so the result is always valid UTF-8 and no information is lost.

use std::io::Write;

/// Whether `c` must not appear raw in a text alert: C0/C1 controls (tab excepted), DEL, and the
/// Unicode line/paragraph separators.
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// Appends `bytes` to `out` with control characters and invalid UTF-8 escaped.
pub fn escape_text(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        if !valid.chars().any(is_unsafe_char) {
            out.extend_from_slice(valid.as_bytes());
        } else {
            for c in valid.chars() {
                if !is_unsafe_char(c) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
                let _ = match c {
                    '\n' => write!(out, "\\n"),
                    '\r' => write!(out, "\\r"),
                    c if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32),
                    c => write!(out, "\\u{{{:x}}}", c as u32),
                };
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// `bytes` as a `String`: unchanged when valid UTF-8, invalid bytes as `\xHH`.
pub fn lossless_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

/// Decodes standard base64 (padding optional); `None` when `s` is not base64.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let body = match s.iter().position(|&c| c == b'=') {
        Some(p) if s[p..].iter().all(|&c| c == b'=') && s[p..].len() <= 2 => &s[..p],
        Some(_) => return None,
        None => s,
    };
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for group in body.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in group.iter().enumerate() {
            acc |= sextet(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8]) -> String {
        let mut out = Vec::new();
        escape_text(b, &mut out);
        String::from_utf8(out).expect("escape_text emits UTF-8")
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let forged = b"/tmp/x\n12:00:00.000000000: Critical fake\r\x1b[2J\x7f";
        let s = esc(forged);
        assert!(!s.chars().any(is_unsafe_char), "{s}");
        assert_eq!(
            s,
            "/tmp/x\\n12:00:00.000000000: Critical fake\\r\\x1b[2J\\x7f"
        );
        assert_eq!(esc("a\u{9b}b\u{2028}".as_bytes()), "a\\x9bb\\u{2028}");
        assert_eq!(esc(b"tab\tok"), "tab\tok");
    }

    #[test]
    fn invalid_utf8_is_escaped_not_lost() {
        assert_eq!(esc(b"caf\xc3\xa9 \xff\xfe"), "café \\xff\\xfe");
        assert_eq!(lossless_utf8(b"ok"), "ok");
        assert_eq!(lossless_utf8(b"a\xffb\n"), "a\\xffb\n");
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_decode(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode(b"aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode(b"aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode(b"a"), None);
        assert_eq!(base64_decode(b"a=b="), None);
        assert_eq!(base64_decode(b"!!!!"), None);
    }
}
