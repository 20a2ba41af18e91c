//! Consumer side of one shared-memory ring written by the driver's producer core
//! (`driver/ring_core.h`, protocol in `driver/include/falco_abi.h`): acquire-load the
//! producer's head, read whole records in `[tail, head)` straight from the double-mapped
//! data area, release-store the new tail. Never trusts the shared memory: a record whose
//! length does not fit what the producer published is reported as corruption and the
//! reader resynchronises at the producer's head.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use super::abi::{
    falco_ring_consumer, falco_ring_producer, record_span, FALCO_RECORD_HEADER_LEN,
    FALCO_RECORD_TRUNCATED,
};

/// Counters the producer keeps for one ring (cumulative since the ring was created).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// Records committed.
    pub events: u64,
    /// Records dropped because the ring was full.
    pub drops_full: u64,
    /// User-memory reads that failed (the parameter was left empty).
    pub drops_fault: u64,
    /// Records with a string or buffer cut at its limit.
    pub truncated: u64,
}

impl RingCounters {
    /// Counter-wise `self - earlier`, for "since the reader attached" figures.
    pub fn since(&self, earlier: &RingCounters) -> RingCounters {
        RingCounters {
            events: self.events.wrapping_sub(earlier.events),
            drops_full: self.drops_full.wrapping_sub(earlier.drops_full),
            drops_fault: self.drops_fault.wrapping_sub(earlier.drops_fault),
            truncated: self.truncated.wrapping_sub(earlier.truncated),
        }
    }

    /// Counter-wise sum.
    pub fn add(&mut self, other: &RingCounters) {
        self.events += other.events;
        self.drops_full += other.drops_full;
        self.drops_fault += other.drops_fault;
        self.truncated += other.truncated;
    }
}

/// The shared memory broke the protocol (a bug in the producer or a foreign writer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ring protocol violation at position {position}: {what}")]
pub struct RingCorruption {
    pub position: u64,
    pub what: String,
}

/// Reader of one ring. Records returned by [`RingConsumer::peek`] stay valid until
/// [`RingConsumer::consume`] hands their space back to the producer.
pub struct RingConsumer {
    consumer: NonNull<falco_ring_consumer>,
    producer: NonNull<falco_ring_producer>,
    data: NonNull<u8>,
    data_size: u64,
    tail: u64,
    head: u64,
}

// SAFETY: the pointers refer to shared memory that lives as long as the owner of the
// mappings (the caller of `new` guarantees it); all cross-thread access goes through atomics.
unsafe impl Send for RingConsumer {}

impl RingConsumer {
    /// Attaches to a ring.
    ///
    /// # Safety
    /// `consumer` and `producer` must point to the ring's mapped consumer and producer
    /// pages, and `data` to `2 * data_size` readable bytes where the second half maps the
    /// same memory as the first; all must stay mapped while this value exists.
    /// `data_size` must be a power of two.
    pub unsafe fn new(
        consumer: NonNull<falco_ring_consumer>,
        producer: NonNull<falco_ring_producer>,
        data: NonNull<u8>,
        data_size: u64,
    ) -> RingConsumer {
        let mut ring = RingConsumer {
            consumer,
            producer,
            data,
            data_size,
            tail: 0,
            head: 0,
        };
        ring.tail = ring.tail_atomic().load(Ordering::Acquire);
        ring.head = ring.tail;
        ring
    }

    fn tail_atomic(&self) -> &AtomicU64 {
        // SAFETY: the consumer page is mapped read-write for our lifetime and `tail` is an
        // aligned u64 (offset 0 of a page).
        unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.consumer.as_ptr()).tail)) }
    }

    fn producer_field(&self, field: *mut u64) -> u64 {
        // SAFETY: `field` points into the producer page, mapped for our lifetime; an atomic
        // load does not write, so the read-only mapping is fine.
        unsafe { AtomicU64::from_ptr(field).load(Ordering::Acquire) }
    }

    fn load_head(&self) -> u64 {
        self.producer_field(unsafe { std::ptr::addr_of_mut!((*self.producer.as_ptr()).head) })
    }

    /// Drops every record already in the ring: a new reader starts with fresh events.
    pub fn skip_to_head(&mut self) {
        self.head = self.load_head();
        self.tail = self.head;
        self.tail_atomic().store(self.tail, Ordering::Release);
    }

    /// True when a record is ready (refreshes the producer's head if needed).
    pub fn has_data(&mut self) -> bool {
        if self.tail == self.head {
            self.head = self.load_head();
        }
        self.tail != self.head
    }

    /// The oldest unread record, if any.
    pub fn peek(&mut self) -> Result<Option<&[u8]>, RingCorruption> {
        if !self.has_data() {
            return Ok(None);
        }
        let available = self.head.wrapping_sub(self.tail);
        if available > self.data_size || available < FALCO_RECORD_HEADER_LEN as u64 {
            return Err(self.corruption(format!(
                "producer published {available} bytes (data area {})",
                self.data_size
            )));
        }
        let offset = (self.tail & (self.data_size - 1)) as usize;
        // SAFETY: offset < data_size and available <= data_size, so the record lies within
        // the 2 * data_size bytes of the double mapping; the acquire load of head made the
        // producer's writes of [tail, head) visible.
        let start = unsafe { self.data.as_ptr().add(offset) };
        let len = unsafe { std::ptr::read_unaligned(start.add(16) as *const u32) };
        if (len as u64) < FALCO_RECORD_HEADER_LEN as u64 || record_span(len) > available {
            return Err(self.corruption(format!(
                "record length {len} outside [{FALCO_RECORD_HEADER_LEN}, {available}]"
            )));
        }
        // SAFETY: as above, `len <= available <= data_size`.
        Ok(Some(unsafe {
            std::slice::from_raw_parts(start, len as usize)
        }))
    }

    fn corruption(&self, what: String) -> RingCorruption {
        RingCorruption {
            position: self.tail,
            what,
        }
    }

    /// Returns the space of the record of length `len` (the one `peek` returned).
    pub fn consume(&mut self, len: u32) {
        self.tail = self.tail.wrapping_add(record_span(len));
        self.tail_atomic().store(self.tail, Ordering::Release);
    }

    /// Gives up on the unread part of the ring after a protocol violation.
    pub fn resync(&mut self) {
        self.skip_to_head();
    }

    /// The producer's counters (cumulative).
    pub fn counters(&self) -> RingCounters {
        let p = self.producer.as_ptr();
        // SAFETY: field addresses inside the mapped producer page.
        unsafe {
            RingCounters {
                events: self.producer_field(std::ptr::addr_of_mut!((*p).events)),
                drops_full: self.producer_field(std::ptr::addr_of_mut!((*p).drops_full)),
                drops_fault: self.producer_field(std::ptr::addr_of_mut!((*p).drops_fault)),
                truncated: self.producer_field(std::ptr::addr_of_mut!((*p).truncated)),
            }
        }
    }

    /// Bytes written and not yet consumed.
    pub fn backlog(&mut self) -> u64 {
        self.head = self.load_head();
        self.head.wrapping_sub(self.tail)
    }
}

/// The fixed header fields of a record (scap v2 layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub ts: u64,
    pub tid: u64,
    pub len: u32,
    pub event_type: u16,
    pub nparams: u32,
    /// The producer cut a value of this record at its limit (`FALCO_RECORD_TRUNCATED`).
    pub truncated: bool,
}

impl RecordHeader {
    /// Reads the header of `record`; `None` if it is shorter than a header.
    pub fn parse(record: &[u8]) -> Option<RecordHeader> {
        let h = record.get(..FALCO_RECORD_HEADER_LEN as usize)?;
        let nparams = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
        Some(RecordHeader {
            ts: u64_at(0),
            tid: u64_at(8),
            len: u32::from_le_bytes([h[16], h[17], h[18], h[19]]),
            event_type: u16::from_le_bytes([h[20], h[21]]),
            nparams: nparams & !FALCO_RECORD_TRUNCATED,
            truncated: nparams & FALCO_RECORD_TRUNCATED != 0,
        })
    }
}
