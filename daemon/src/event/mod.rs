//! The event model shared by every source: a record in the scap layout (header, parameter
//! lengths, parameters), the event table (names, directions, parameter schemas) and decoding.
//!
//! Capture files and the kernel driver's rings both produce records in this layout, so state,
//! rules and outputs never know which source an event came from. [`Event`] is a zero-copy
//! view over one validated record; parameters are decoded on demand.

pub mod decode;
pub mod render;
pub mod table;

pub use decode::{SockAddr, SockTuple};
use table::{EventInfo, ParamType};

/// Size of the v2 event header: u64 ts, u64 tid, u32 len, u16 type, u32 nparams.
pub const HEADER_LEN: usize = 26;
/// Size of the v1 event header (no nparams).
pub const HEADER_V1_LEN: usize = 22;

/// Why a record is not a valid event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event shorter than its header ({0} bytes)")]
    TooShort(usize),
    #[error("event length {len} exceeds the {available} bytes available")]
    LengthOverrun { len: u32, available: usize },
    #[error("event length {0} is smaller than the header")]
    LengthTooSmall(u32),
    #[error("{nparams} parameter lengths do not fit in an event of {len} bytes")]
    TooManyParams { nparams: u32, len: u32 },
    #[error("parameter {index} (length {plen}) runs past the end of the event ({len} bytes)")]
    ParamOverrun { index: u32, plen: u32, len: u32 },
}

/// The header fields of a validated event (see [`Event::header`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct EventHeader {
    ts: u64,
    tid: i64,
    etype: u16,
    nparams: u32,
    lensize: u8,
    len: u32,
}

/// A validated event record in the v2 layout, borrowed from a reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    raw: &'a [u8],
    ts: u64,
    tid: i64,
    etype: u16,
    nparams: u32,
    lensize: u8,
}

fn le_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn le_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Whether event type `etype` uses u32 parameter lengths.
pub fn uses_large_lengths(etype: u16) -> bool {
    table::info(etype).is_some_and(EventInfo::large_payload)
}

impl<'a> Event<'a> {
    /// Validates `bytes` as one v2 event (trailing bytes beyond the event's `len` are ignored).
    pub fn parse(bytes: &'a [u8]) -> Result<Event<'a>, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort(bytes.len()));
        }
        let len = le_u32(bytes, 16);
        if (len as usize) < HEADER_LEN {
            return Err(DecodeError::LengthTooSmall(len));
        }
        if len as usize > bytes.len() {
            return Err(DecodeError::LengthOverrun {
                len,
                available: bytes.len(),
            });
        }
        let etype = le_u16(bytes, 20);
        let nparams = le_u32(bytes, 22);
        let lensize: u8 = if uses_large_lengths(etype) { 4 } else { 2 };
        let table_end = HEADER_LEN as u64 + nparams as u64 * lensize as u64;
        if table_end > len as u64 {
            return Err(DecodeError::TooManyParams { nparams, len });
        }
        let mut total = table_end;
        for i in 0..nparams as usize {
            let off = HEADER_LEN + i * lensize as usize;
            let plen = if lensize == 4 {
                le_u32(bytes, off)
            } else {
                le_u16(bytes, off) as u32
            };
            total += plen as u64;
            if total > len as u64 {
                return Err(DecodeError::ParamOverrun {
                    index: i as u32,
                    plen,
                    len,
                });
            }
        }
        Ok(Event {
            raw: &bytes[..len as usize],
            ts: le_u64(bytes, 0),
            tid: le_u64(bytes, 8) as i64,
            etype,
            nparams,
            lensize,
        })
    }

    /// What validation learned about these bytes: with the same bytes,
    /// [`Event::from_validated`] rebuilds this view without validating again.
    pub fn header(&self) -> EventHeader {
        EventHeader {
            ts: self.ts,
            tid: self.tid,
            etype: self.etype,
            nparams: self.nparams,
            lensize: self.lensize,
            len: self.raw.len() as u32,
        }
    }

    /// The view [`Event::parse`] returned for `raw`, from its [`Event::header`]. `raw` must
    /// be the bytes the header was taken from (a reader keeps the two together); if it is
    /// shorter the event is cut to an empty record rather than read out of bounds.
    pub(crate) fn from_validated(raw: &'a [u8], h: EventHeader) -> Event<'a> {
        match raw.get(..h.len as usize) {
            Some(raw) => Event {
                raw,
                ts: h.ts,
                tid: h.tid,
                etype: h.etype,
                nparams: h.nparams,
                lensize: h.lensize,
            },
            None => Event {
                raw: &[],
                ts: h.ts,
                tid: h.tid,
                etype: h.etype,
                nparams: 0,
                lensize: h.lensize,
            },
        }
    }

    /// The record bytes (exactly `len` long).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    pub fn ts(&self) -> u64 {
        self.ts
    }
    pub fn tid(&self) -> i64 {
        self.tid
    }
    pub fn event_type(&self) -> u16 {
        self.etype
    }
    pub fn nparams(&self) -> u32 {
        self.nparams
    }
    pub fn len(&self) -> usize {
        self.raw.len()
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    pub fn info(&self) -> Option<&'static EventInfo> {
        table::info(self.etype)
    }
    pub fn is_enter(&self) -> bool {
        self.etype & 1 == 0
    }

    fn param_len(&self, i: usize) -> usize {
        let off = HEADER_LEN + i * self.lensize as usize;
        if self.lensize == 4 {
            le_u32(self.raw, off) as usize
        } else {
            le_u16(self.raw, off) as usize
        }
    }

    /// Raw bytes of parameter `i`, `None` if the event has fewer parameters. An empty slice
    /// means "present but empty" (value not available).
    pub fn param_raw(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams as usize {
            return None;
        }
        let mut off = HEADER_LEN + self.nparams as usize * self.lensize as usize;
        for j in 0..i {
            off += self.param_len(j);
        }
        let l = self.param_len(i);
        // Validated in parse(); get() keeps this total even so.
        self.raw.get(off..off + l)
    }

    /// Parameter `i` if present and non-empty.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.param_raw(i).filter(|p| !p.is_empty())
    }

    /// Index of the parameter called `name` in this event's schema, if the event has it.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        let idx = self.info()?.param_index(name)?;
        (idx < self.nparams as usize).then_some(idx)
    }

    /// Schema type of parameter `i`.
    pub fn param_type(&self, i: usize) -> Option<ParamType> {
        self.info()?.params.get(i).map(|p| p.ptype)
    }

    /// Unsigned value of an integer parameter (width taken from the wire length).
    pub fn param_u64(&self, i: usize) -> Option<u64> {
        decode::uint(self.param(i)?)
    }

    /// Signed value of an integer parameter (sign-extended from the wire width).
    pub fn param_i64(&self, i: usize) -> Option<i64> {
        decode::int(self.param(i)?)
    }

    /// A string parameter without its NUL terminator.
    pub fn param_str(&self, i: usize) -> Option<&'a [u8]> {
        self.param(i).map(decode::cstr)
    }
}

/// Builds a v2 event record: for tests, the fuzzer and synthetic events.
pub fn encode(ts: u64, tid: i64, etype: u16, params: &[&[u8]]) -> Vec<u8> {
    let lensize = if uses_large_lengths(etype) { 4 } else { 2 };
    let body: usize = params.iter().map(|p| p.len()).sum();
    let len = HEADER_LEN + params.len() * lensize + body;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&ts.to_le_bytes());
    v.extend_from_slice(&(tid as u64).to_le_bytes());
    v.extend_from_slice(&(len as u32).to_le_bytes());
    v.extend_from_slice(&etype.to_le_bytes());
    v.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for p in params {
        if lensize == 4 {
            v.extend_from_slice(&(p.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
    }
    for p in params {
        v.extend_from_slice(p);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_params() {
        let rec = encode(
            5,
            42,
            3,
            &[
                &3i64.to_le_bytes(),
                b"/etc/passwd\0",
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        assert_eq!(ev.ts(), 5);
        assert_eq!(ev.tid(), 42);
        assert_eq!(ev.event_type(), 3);
        assert_eq!(ev.nparams(), 4);
        assert_eq!(ev.param_i64(0), Some(3));
        assert_eq!(ev.param_str(1), Some(&b"/etc/passwd"[..]));
        assert_eq!(ev.param_u64(2), Some(1));
        assert_eq!(ev.param_index("flags"), Some(2));
        assert_eq!(ev.param_index("dev"), None);
        assert_eq!(ev.param(7), None);
    }

    #[test]
    fn rejects_corrupt_lengths() {
        let mut rec = encode(0, 1, 3, &[&3i64.to_le_bytes()]);
        assert_eq!(
            Event::parse(&rec[..20]).unwrap_err(),
            DecodeError::TooShort(20)
        );
        rec[16] = 200;
        assert!(matches!(
            Event::parse(&rec),
            Err(DecodeError::LengthOverrun { .. })
        ));
        let mut rec = encode(0, 1, 3, &[&3i64.to_le_bytes()]);
        rec[26] = 9; // param length 9 > 8 available
        assert!(matches!(
            Event::parse(&rec),
            Err(DecodeError::ParamOverrun { .. })
        ));
        let mut rec = encode(0, 1, 3, &[]);
        rec[22] = 255;
        assert!(matches!(
            Event::parse(&rec),
            Err(DecodeError::TooManyParams { .. })
        ));
    }

    #[test]
    fn large_payload_lengths_are_u32() {
        let rec = encode(0, -1, 324, &[b"{}\0"]);
        assert_eq!(rec.len(), HEADER_LEN + 4 + 3);
        let ev = Event::parse(&rec).unwrap();
        assert_eq!(ev.param_str(0), Some(&b"{}"[..]));
    }
}
