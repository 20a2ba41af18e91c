//! Field values, held in a reusable buffer so extraction allocates nothing in steady state.

use std::net::IpAddr;

/// One extracted value, borrowed from a [`Values`] buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    UInt(u64),
    Bool(bool),
    Ip(IpAddr),
    Str(&'a [u8]),
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Int(i64),
    UInt(u64),
    Bool(bool),
    Ip(IpAddr),
    Str { start: u32, len: u32 },
}

/// A reusable list of values for one field (most fields have one; `proc.aname`,
/// `fd.types`, `container.mounts` and friends may have several).
#[derive(Default, Debug)]
pub struct Values {
    slots: Vec<Slot>,
    bytes: Vec<u8>,
}

impl Values {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.bytes.clear();
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn push_int(&mut self, v: i64) {
        self.slots.push(Slot::Int(v));
    }

    pub fn push_uint(&mut self, v: u64) {
        self.slots.push(Slot::UInt(v));
    }

    pub fn push_bool(&mut self, v: bool) {
        self.slots.push(Slot::Bool(v));
    }

    pub fn push_ip(&mut self, v: IpAddr) {
        self.slots.push(Slot::Ip(v));
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s);
        self.slots.push(Slot::Str {
            start,
            len: s.len() as u32,
        });
    }

    pub fn get(&self, i: usize) -> Option<Value<'_>> {
        self.slots.get(i).map(|s| self.view(*s))
    }

    pub fn iter(&self) -> impl Iterator<Item = Value<'_>> + '_ {
        self.slots.iter().map(move |s| self.view(*s))
    }

    fn view(&self, s: Slot) -> Value<'_> {
        match s {
            Slot::Int(v) => Value::Int(v),
            Slot::UInt(v) => Value::UInt(v),
            Slot::Bool(v) => Value::Bool(v),
            Slot::Ip(v) => Value::Ip(v),
            Slot::Str { start, len } => {
                Value::Str(&self.bytes[start as usize..(start + len) as usize])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_clear() {
        let mut v = Values::new();
        v.push_str(b"cat");
        v.push_int(-3);
        v.push_str(b"/etc/shadow");
        assert_eq!(v.len(), 3);
        assert_eq!(v.get(0), Some(Value::Str(b"cat")));
        assert_eq!(v.get(1), Some(Value::Int(-3)));
        assert_eq!(v.get(2), Some(Value::Str(b"/etc/shadow")));
        v.clear();
        assert!(v.is_empty());
        assert_eq!(v.get(0), None);
    }
}
