//! The driver's ring producer core (driver/ring_core.h, compiled by build.rs into a
//! userspace shim exactly as the kernel compiles it) against the daemon's ring consumer:
//! wrap-around through the double mapping, full ring, truncation, faults, and a concurrent
//! producer thread writing 10^8 records with produced = consumed + dropped and no corrupt
//! record.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use falco::source::abi::{falco_ring_consumer, falco_ring_producer};
use falco::source::ring::{RecordHeader, RingConsumer};

extern "C" {
    fn falco_shim_producer_new(cons: *mut u8, prod: *mut u8, data: *mut u8, size: u64) -> *mut u8;
    fn falco_shim_producer_free(p: *mut u8);
    fn falco_shim_produce(p: *mut u8, seq: u64) -> i32;
    fn falco_shim_produce_many(p: *mut u8, first: u64, count: u64) -> u64;
    fn falco_shim_produce_strings(
        p: *mut u8,
        s: *const u8,
        max: u32,
        buf: *const u8,
        buf_len: u32,
        buf_max: u32,
    ) -> i32;
    static falco_shim_fault_marker: [u8; 1];
}

/// Shared memory laid out like the driver's: consumer page, producer page, and a data
/// area mapped twice back to back (memfd + two fixed mappings).
struct SharedRing {
    pages: *mut u8,
    data: *mut u8,
    size: usize,
}

// SAFETY: raw shared memory; the producer and consumer coordinate through atomics.
unsafe impl Send for SharedRing {}
unsafe impl Sync for SharedRing {}

impl SharedRing {
    fn new(size: usize) -> SharedRing {
        unsafe {
            let pages = libc::mmap(
                std::ptr::null_mut(),
                8192,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(pages, libc::MAP_FAILED);
            let fd = libc::memfd_create(c"falco-ring-test".as_ptr(), 0);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, size as libc::off_t), 0);
            let base = libc::mmap(
                std::ptr::null_mut(),
                2 * size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            for half in 0..2 {
                let at = (base as *mut u8).add(half * size) as *mut libc::c_void;
                let m = libc::mmap(
                    at,
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    fd,
                    0,
                );
                assert_eq!(m, at);
            }
            libc::close(fd);
            SharedRing {
                pages: pages as *mut u8,
                data: base as *mut u8,
                size,
            }
        }
    }

    fn producer(&self) -> *mut u8 {
        unsafe {
            falco_shim_producer_new(
                self.pages,
                self.pages.add(4096),
                self.data,
                self.size as u64,
            )
        }
    }

    fn consumer(&self) -> RingConsumer {
        unsafe {
            RingConsumer::new(
                NonNull::new(self.pages as *mut falco_ring_consumer).unwrap(),
                NonNull::new(self.pages.add(4096) as *mut falco_ring_producer).unwrap(),
                NonNull::new(self.data).unwrap(),
                self.size as u64,
            )
        }
    }
}

impl Drop for SharedRing {
    fn drop(&mut self) {
        unsafe {
            libc::munmap(self.pages as *mut libc::c_void, 8192);
            libc::munmap(self.data as *mut libc::c_void, 2 * self.size);
        }
    }
}

/// The parameter values of a record.
fn params(record: &[u8]) -> Vec<&[u8]> {
    let h = RecordHeader::parse(record).unwrap();
    let mut lens = Vec::new();
    for i in 0..h.nparams as usize {
        let o = 26 + 2 * i;
        lens.push(u16::from_le_bytes([record[o], record[o + 1]]) as usize);
    }
    let mut at = 26 + 2 * h.nparams as usize;
    lens.iter()
        .map(|&l| {
            let p = &record[at..at + l];
            at += l;
            p
        })
        .collect()
}

fn payload_len(seq: u64) -> usize {
    let x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if x >> 60 == 0 {
        ((x >> 20) % 3000) as usize
    } else {
        ((x >> 24) % 120) as usize
    }
}

/// Asserts `record` is exactly what `falco_shim_produce(seq)` writes; returns seq.
fn check_record(record: &[u8]) -> u64 {
    let h = RecordHeader::parse(record).expect("header");
    let seq = h.tid;
    assert_eq!(h.ts, seq);
    assert_eq!(h.event_type as u64, seq % 500);
    assert_eq!(h.nparams, 4);
    assert!(!h.truncated);
    assert_eq!(h.len as usize, record.len());
    let p = params(record);
    let total: usize = 26 + 8 + p.iter().map(|v| v.len()).sum::<usize>();
    assert_eq!(total, record.len(), "record {seq}: lengths do not add up");
    assert_eq!(p[0], &seq.to_le_bytes()[..]);
    let len = payload_len(seq);
    assert_eq!(p[1].len(), len, "record {seq}: payload length");
    for (i, b) in p[1].iter().enumerate() {
        assert_eq!(
            *b,
            (seq as u8).wrapping_add(i as u8),
            "record {seq}: payload byte {i}"
        );
    }
    if seq % 97 == 0 {
        assert!(
            p[2].is_empty(),
            "record {seq}: faulting user string must be empty"
        );
    } else {
        assert_eq!(p[2], format!("s{}\0", seq % 1000).as_bytes());
    }
    assert_eq!(p[3], b"k\0");
    seq
}

#[test]
fn records_wrap_around_the_end_and_read_linearly() {
    let ring = SharedRing::new(1 << 16);
    let producer = ring.producer();
    let mut consumer = ring.consumer();
    let mut next = 0u64;
    // Far more bytes than the ring holds, consumed as we go: every record crossing the
    // end of the data area must come out whole through the second mapping.
    let mut crossed = 0;
    for seq in 0..20_000u64 {
        assert_eq!(
            unsafe { falco_shim_produce(producer, seq) },
            0,
            "ring has room"
        );
        while let Some(record) = consumer.peek().expect("no corruption") {
            let start = record.as_ptr() as usize - ring.data as usize;
            if start + record.len() > ring.size {
                crossed += 1;
            }
            let len = record.len() as u32;
            assert_eq!(check_record(record), next);
            next += 1;
            consumer.consume(len);
        }
    }
    assert_eq!(next, 20_000);
    assert!(crossed > 10, "only {crossed} records crossed the end");
    let c = consumer.counters();
    assert_eq!(c.events, 20_000);
    assert_eq!(c.drops_full, 0);
    assert_eq!(
        c.drops_fault,
        (0..20_000u64).filter(|s| s % 97 == 0).count() as u64
    );
    unsafe { falco_shim_producer_free(producer) };
}

#[test]
fn a_full_ring_drops_and_counts_then_recovers() {
    let ring = SharedRing::new(1 << 16);
    let producer = ring.producer();
    let mut consumer = ring.consumer();
    let committed = unsafe { falco_shim_produce_many(producer, 0, 10_000) };
    assert!(
        committed < 10_000,
        "a 64 KiB ring cannot hold 10000 records"
    );
    let c = consumer.counters();
    assert_eq!(c.events, committed);
    assert_eq!(c.events + c.drops_full, 10_000);
    assert!(consumer.backlog() <= 1 << 16);
    // Everything committed is intact and in order, then the ring accepts records again.
    let mut seen = Vec::new();
    while let Some(record) = consumer.peek().expect("no corruption") {
        let len = record.len() as u32;
        seen.push(check_record(record));
        consumer.consume(len);
    }
    assert_eq!(seen.len() as u64, committed);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(unsafe { falco_shim_produce(producer, 10_000) }, 0);
    unsafe { falco_shim_producer_free(producer) };
}

#[test]
fn strings_are_cut_at_their_limit_and_counted() {
    let ring = SharedRing::new(1 << 16);
    let producer = ring.producer();
    let mut consumer = ring.consumer();
    let long = c"/etc/a-rather-long-path";
    let buf = [7u8; 100];
    let rc = unsafe {
        falco_shim_produce_strings(producer, long.as_ptr().cast(), 8, buf.as_ptr(), 100, 10)
    };
    assert_eq!(rc, 0);
    let record = consumer.peek().unwrap().unwrap();
    assert!(
        RecordHeader::parse(record).unwrap().truncated,
        "a cut record carries the mark"
    );
    let p = params(record);
    assert_eq!(p[0], b"/etc/a-\0");
    assert_eq!(p[1], b"/etc/a-\0");
    assert_eq!(p[2], &[7u8; 10][..]);
    let len = record.len() as u32;
    consumer.consume(len);
    assert_eq!(consumer.counters().truncated, 1);
    // An exact fit is not cut, and a faulting buffer leaves an empty parameter.
    let fault = unsafe { falco_shim_fault_marker.as_ptr() };
    let rc = unsafe {
        falco_shim_produce_strings(producer, c"1234567".as_ptr().cast(), 8, fault, 4, 10)
    };
    assert_eq!(rc, 0);
    let record = consumer.peek().unwrap().unwrap();
    assert!(!RecordHeader::parse(record).unwrap().truncated);
    let p = params(record);
    assert_eq!(p[0], b"1234567\0");
    assert!(p[2].is_empty());
    let c = consumer.counters();
    assert_eq!((c.truncated, c.drops_fault), (1, 1));
    unsafe { falco_shim_producer_free(producer) };
}

#[test]
fn a_corrupt_tail_from_the_reader_is_treated_as_a_full_ring() {
    let ring = SharedRing::new(1 << 16);
    let producer = ring.producer();
    // A reader that writes garbage into its tail must not make the producer overwrite
    // unread data or write outside the area.
    unsafe { (ring.pages as *mut u64).write_volatile(u64::MAX / 2) };
    assert_eq!(unsafe { falco_shim_produce(producer, 1) }, -1);
    unsafe { (ring.pages as *mut u64).write_volatile(0) };
    assert_eq!(unsafe { falco_shim_produce(producer, 2) }, 0);
    unsafe { falco_shim_producer_free(producer) };
}

#[test]
fn concurrent_producer_thread_loses_nothing_it_does_not_count() {
    let total: u64 = if cfg!(debug_assertions) {
        10_000_000
    } else {
        100_000_000
    };
    let ring = Arc::new(SharedRing::new(1 << 20));
    let done = Arc::new(AtomicBool::new(false));
    let producer_ring = Arc::clone(&ring);
    let producer_done = Arc::clone(&done);
    let mut consumer = ring.consumer();
    let producer = std::thread::spawn(move || {
        let p = producer_ring.producer();
        let mut committed = 0u64;
        let mut seq = 0u64;
        while seq < total {
            let chunk = 4096.min(total - seq);
            committed += unsafe { falco_shim_produce_many(p, seq, chunk) };
            seq += chunk;
        }
        unsafe { falco_shim_producer_free(p) };
        producer_done.store(true, Ordering::Release);
        committed
    });
    let mut consumed = 0u64;
    let mut last: Option<u64> = None;
    loop {
        let finished = done.load(Ordering::Acquire);
        let mut got = false;
        while let Some(record) = consumer.peek().expect("no corrupt record") {
            let len = record.len() as u32;
            let seq = check_record(record);
            assert!(
                last.map_or(true, |l| seq > l),
                "record {seq} after {last:?}"
            );
            last = Some(seq);
            consumed += 1;
            got = true;
            consumer.consume(len);
        }
        if finished && !got && !consumer.has_data() {
            break;
        }
        if !got {
            std::hint::spin_loop();
        }
    }
    let committed = producer.join().expect("producer thread");
    let c = consumer.counters();
    assert_eq!(committed, consumed);
    assert_eq!(c.events, consumed);
    assert_eq!(
        consumed + c.drops_full,
        total,
        "produced = consumed + dropped"
    );
    // Scheduling decides how many records beat the producer (a loaded 2-core CI machine may
    // run the consumer rarely), so only a bound that holds for any interleaving is asserted:
    // an empty 1 MiB ring takes at least 256 records (each < 4 KiB) before the first drop.
    assert!(
        consumed >= 256,
        "only {consumed} of {total} records reached the consumer"
    );
}
