//! Evaluation of a compiled filter against the current event. Field values are extracted
//! into per-thread scratch buffers reused across events, so matching allocates nothing in
//! steady state.

use rustc_hash::FxHashSet;
use std::cell::RefCell;
use std::io::Write;
use std::net::IpAddr;

use crate::fields::{Extractor, FieldArg, FieldType, Value, Values};

use super::ast::{Op, Transformer};
use super::compile::{EvtSet, Filter};
use super::glob::{fnmatch, fnmatch_casefold};
use super::pmatch::PrefixSet;

#[derive(Clone, Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    Check(Box<CheckNode>),
    /// A macro's expansion: its result is remembered per event in memo slot `.0` (one slot
    /// per macro name, see [`memo_slot`]).
    Memo(u32, Box<Node>),
}

/// The memo slot of macro `name`. A macro means the same thing in every rule of a ruleset,
/// and one event is only ever matched against one ruleset, so the name is the key.
pub(crate) fn memo_slot(name: &str) -> u32 {
    use std::sync::{Mutex, OnceLock};
    static SLOTS: OnceLock<Mutex<rustc_hash::FxHashMap<String, u32>>> = OnceLock::new();
    let mut slots = SLOTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let next = slots.len() as u32;
    *slots.entry(name.to_string()).or_insert(next)
}

#[derive(Clone, Debug)]
pub(crate) struct CheckNode {
    pub lhs: FieldOperand,
    pub op: Op,
    pub rhs: RhsMatcher,
    /// For `evt.type` comparisons (`=`, `!=`, `in`, `intersects`): the ids named.
    pub evt_ids: Option<EvtSet>,
}

/// A field resolved once at compile time, with the transformers to apply (innermost first).
#[derive(Clone, Debug)]
pub(crate) struct FieldOperand {
    pub id: u16,
    pub name: &'static str,
    pub arg: FieldArg,
    pub ty: FieldType,
    pub transforms: Vec<Transformer>,
    /// A list field (`fd.types`): `in` needs every value in the set.
    pub is_list: bool,
    /// `!=` holds only if no value is equal (`fd.ip`, `fd.port`...: either side).
    pub ne_needs_all: bool,
}

/// The compiled right-hand side of a check.
#[derive(Clone, Debug)]
pub(crate) enum RhsMatcher {
    None,
    /// An empty list: nothing is in it.
    Never,
    Bytes(Box<[u8]>),
    Contains(memchr::memmem::Finder<'static>),
    /// Needle already lower-cased.
    IContains(memchr::memmem::Finder<'static>),
    Regex(Box<regex::bytes::Regex>),
    Num(i128),
    Float(f64),
    Bool(bool),
    Ip(IpAddr),
    Net(IpNet),
    Dyn {
        text: Box<[u8]>,
        num: Option<i128>,
    },
    StrSet(FxHashSet<Box<[u8]>>),
    NumSet(FxHashSet<i128>),
    FloatSet(Vec<f64>),
    BoolSet([bool; 2]),
    IpSet(FxHashSet<IpAddr>),
    NetList(Vec<IpNet>),
    DynSet {
        strs: FxHashSet<Box<[u8]>>,
        nums: FxHashSet<i128>,
    },
    Pmatch(Box<PrefixSet>),
    Field(Box<FieldOperand>),
}

/// An IP network: address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `10.0.0.0/8`, `fe80::/10`, or a plain address (the host network).
    pub fn parse(text: &str) -> Option<IpNet> {
        let (a, p) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    fn same_family(&self, ip: IpAddr) -> bool {
        self.addr.is_ipv4() == ip.is_ipv4()
    }
}

/// Reusable buffers for one evaluation at a time.
#[derive(Default)]
struct Scratch {
    lhs: Values,
    rhs: Values,
    transformed: Values,
    text: Vec<u8>,
    /// Per memo slot: the event key the result was computed for, and the result.
    memo: Vec<(u64, bool)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Filter {
    /// Whether the current event of `x` satisfies the condition.
    pub fn matches(&self, x: &mut dyn Extractor) -> bool {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => eval(&self.root, x, &mut s),
            // Re-entered from inside an extractor: use fresh buffers.
            Err(_) => eval(&self.root, x, &mut Scratch::default()),
        })
    }
}

fn eval(node: &Node, x: &mut dyn Extractor, s: &mut Scratch) -> bool {
    match node {
        Node::And(v) => v.iter().all(|n| eval(n, x, s)),
        Node::Or(v) => v.iter().any(|n| eval(n, x, s)),
        Node::Not(n) => !eval(n, x, s),
        Node::Const(b) => *b,
        Node::Check(c) => eval_check(c, x, s),
        Node::Memo(slot, n) => {
            let key = x.memo_key();
            if key == 0 {
                return eval(n, x, s);
            }
            let slot = *slot as usize;
            if let Some(&(k, v)) = s.memo.get(slot) {
                if k == key {
                    return v;
                }
            }
            let v = eval(n, x, s);
            if s.memo.len() <= slot {
                s.memo.resize(slot + 1, (0, false));
            }
            s.memo[slot] = (key, v);
            v
        }
    }
}

/// Extracts `f` into `out`, transformed.
fn extract(
    f: &FieldOperand,
    x: &mut dyn Extractor,
    out: &mut Values,
    tmp: &mut Values,
    text: &mut Vec<u8>,
) -> bool {
    out.clear();
    x.extract(f.id, &f.arg, out);
    for t in &f.transforms {
        tmp.clear();
        let mut failed = false;
        for v in out.iter() {
            let Value::Str(b) = v else {
                continue;
            };
            text.clear();
            let ok = match t {
                Transformer::ToLower => {
                    text.extend(b.iter().map(|c| c.to_ascii_lowercase()));
                    true
                }
                Transformer::ToUpper => {
                    text.extend(b.iter().map(|c| c.to_ascii_uppercase()));
                    true
                }
                Transformer::Basename => {
                    let start = memchr::memrchr(b'/', b).map(|i| i + 1).unwrap_or(0);
                    text.extend_from_slice(&b[start..]);
                    true
                }
                Transformer::B64 => b64_decode(b, text),
                Transformer::Val => {
                    text.extend_from_slice(b);
                    true
                }
            };
            if !ok {
                failed = true;
                break;
            }
            tmp.push_str(text);
        }
        if failed {
            // libsinsp drops the whole extraction when a value fails to transform.
            out.clear();
            return false;
        }
        std::mem::swap(out, tmp);
    }
    !out.is_empty()
}

fn eval_check(c: &CheckNode, x: &mut dyn Extractor, s: &mut Scratch) -> bool {
    let Scratch {
        lhs,
        rhs,
        transformed,
        text,
        ..
    } = s;
    if !extract(&c.lhs, x, lhs, transformed, text) {
        return false;
    }
    if c.op == Op::Exists {
        return true;
    }
    if let RhsMatcher::Field(rf) = &c.rhs {
        if !extract(rf, x, rhs, transformed, text) {
            return false;
        }
        return lhs.iter().any(|l| {
            rhs.iter().any(|r| {
                let op = if c.op.is_list() { Op::Eq } else { c.op };
                compare_values(op, l, r, text)
            })
        });
    }
    if c.lhs.is_list {
        return match c.op {
            Op::In => lhs.iter().all(|v| matches_one(c, v, text)),
            _ => lhs.iter().any(|v| matches_one(c, v, text)),
        };
    }
    if c.op == Op::Ne && c.lhs.ne_needs_all {
        return lhs.iter().all(|v| matches_one(c, v, text));
    }
    lhs.iter().any(|v| matches_one(c, v, text))
}

/// Bytes of a value compared as a string; numbers are rendered into `buf`.
fn as_bytes<'a>(v: &Value<'a>, buf: &'a mut Vec<u8>) -> &'a [u8] {
    match v {
        Value::Str(b) => b,
        Value::Int(i) => {
            buf.clear();
            let _ = write!(buf, "{i}");
            buf
        }
        Value::UInt(u) => {
            buf.clear();
            let _ = write!(buf, "{u}");
            buf
        }
        Value::Bool(b) => {
            if *b {
                b"true"
            } else {
                b"false"
            }
        }
        Value::Ip(ip) => {
            buf.clear();
            let _ = write!(buf, "{ip}");
            buf
        }
    }
}

fn as_int(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(*i as i128),
        Value::UInt(u) => Some(*u as i128),
        Value::Bool(b) => Some(*b as i128),
        Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse::<i128>().ok(),
        Value::Ip(_) => None,
    }
}

fn cmp_ord<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => false,
    }
}

/// String operators on bytes (`b` is the right-hand side).
fn cmp_bytes(op: Op, a: &[u8], b: &[u8]) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Contains | Op::BContains => memchr::memmem::find(a, b).is_some(),
        Op::IContains => {
            a.windows(b.len().max(1)).any(|w| w.eq_ignore_ascii_case(b)) || b.is_empty()
        }
        Op::StartsWith | Op::BStartsWith => a.starts_with(b),
        Op::EndsWith => a.ends_with(b),
        Op::Glob => fnmatch(b, a),
        Op::IGlob => fnmatch_casefold(b, a),
        _ => false,
    }
}

/// Two extracted values (right-hand side fields), compared by their kinds.
fn compare_values(op: Op, l: Value, r: Value, buf: &mut Vec<u8>) -> bool {
    match (l, r) {
        (Value::Str(a), Value::Str(b)) => cmp_bytes(op, a, b),
        (Value::Ip(a), Value::Ip(b)) => match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            _ => false,
        },
        (l, r) => match (as_int(&l), as_int(&r)) {
            (Some(a), Some(b)) => cmp_ord(op, a, b),
            _ => {
                let rb = as_bytes(&r, buf).to_vec();
                let mut lbuf = Vec::new();
                cmp_bytes(op, as_bytes(&l, &mut lbuf), &rb)
            }
        },
    }
}

fn matches_one(c: &CheckNode, v: Value, text: &mut Vec<u8>) -> bool {
    let op = c.op;
    match &c.rhs {
        RhsMatcher::None => true,
        RhsMatcher::Never => false,
        RhsMatcher::Bytes(b) => match op {
            Op::Glob => fnmatch(b, as_bytes(&v, text)),
            Op::IGlob => fnmatch_casefold(b, as_bytes(&v, text)),
            _ => cmp_bytes(op, as_bytes(&v, text), b),
        },
        RhsMatcher::Contains(f) => f.find(as_bytes(&v, text)).is_some(),
        RhsMatcher::IContains(f) => {
            if let Value::Str(b) = v {
                text.clear();
                text.extend(b.iter().map(|c| c.to_ascii_lowercase()));
            } else {
                let mut tmp = Vec::new();
                let lowered = as_bytes(&v, &mut tmp).to_ascii_lowercase();
                text.clear();
                text.extend_from_slice(&lowered);
            }
            f.find(text).is_some()
        }
        RhsMatcher::Regex(re) => re.is_match(as_bytes(&v, text)),
        RhsMatcher::Num(n) => as_int(&v).is_some_and(|a| cmp_ord(op, a, *n)),
        RhsMatcher::Float(f) => as_int(&v).is_some_and(|a| cmp_ord(op, a as f64, *f)),
        RhsMatcher::Bool(b) => match v {
            Value::Bool(a) => cmp_ord(op, a, *b),
            other => as_int(&other).is_some_and(|a| cmp_ord(op, a != 0, *b)),
        },
        RhsMatcher::Ip(ip) => match v {
            Value::Ip(a) if a.is_ipv4() == ip.is_ipv4() => cmp_ord(op, a, *ip),
            _ => false,
        },
        RhsMatcher::Net(net) => match v {
            Value::Ip(a) if net.same_family(a) => match op {
                Op::Ne => !net.contains(a),
                _ => net.contains(a),
            },
            _ => false,
        },
        RhsMatcher::Dyn { text: t, num } => match (&v, num) {
            (Value::Int(_) | Value::UInt(_), Some(n)) => {
                as_int(&v).is_some_and(|a| cmp_ord(op, a, *n))
            }
            _ => cmp_bytes(op, as_bytes(&v, text), t),
        },
        RhsMatcher::StrSet(set) => set.contains(as_bytes(&v, text)),
        RhsMatcher::NumSet(set) => as_int(&v).is_some_and(|a| set.contains(&a)),
        RhsMatcher::FloatSet(set) => as_int(&v).is_some_and(|a| set.contains(&(a as f64))),
        RhsMatcher::BoolSet(set) => match v {
            Value::Bool(a) => set[a as usize],
            other => as_int(&other).is_some_and(|a| set[(a != 0) as usize]),
        },
        RhsMatcher::IpSet(set) => match v {
            Value::Ip(a) => set.contains(&a),
            _ => false,
        },
        RhsMatcher::NetList(nets) => match v {
            Value::Ip(a) => nets.iter().any(|n| n.contains(a)),
            _ => false,
        },
        RhsMatcher::DynSet { strs, nums } => match &v {
            Value::Int(_) | Value::UInt(_) => as_int(&v).is_some_and(|a| nums.contains(&a)),
            _ => strs.contains(as_bytes(&v, text)),
        },
        RhsMatcher::Pmatch(set) => set.matches(as_bytes(&v, text)),
        RhsMatcher::Field(_) => false,
    }
}

/// Standard base64, padding optional (libsinsp decodes "without padding"). False on bad input.
fn b64_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut seen_pad = false;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                seen_pad = true;
                continue;
            }
            _ => return false,
        };
        if seen_pad {
            return false;
        }
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // A single leftover symbol cannot encode a byte.
    bits < 6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        let mut out = Vec::new();
        assert!(b64_decode(b"aGVsbG8=", &mut out));
        assert_eq!(out, b"hello");
        out.clear();
        assert!(b64_decode(b"aGVsbG8", &mut out));
        assert_eq!(out, b"hello");
        out.clear();
        assert!(!b64_decode(b"a$b", &mut out));
        out.clear();
        assert!(!b64_decode(b"aGVsb", &mut out) || out == b"hel");
    }

    #[test]
    fn networks() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.1.2.3".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(IpNet::parse("fe80::/10")
            .unwrap()
            .contains("fe80::1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nope").is_none());
    }
}
