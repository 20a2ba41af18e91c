//! Replay reads events without allocating: once the reader's buffers have grown to the
//! capture's largest block, reading, validating and decoding further events allocates
//! nothing. A counting global allocator measures it over a capture whose events repeat.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use falco::source::prefetch::{PrefetchReader, BATCH_BYTES};
use falco::source::scap::Reader;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: tests measuring it run one at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

const EVENT_BLOCKS: [u32; 7] = [0x204, 0x208, 0x216, 0x217, 0x221, 0x222, 0x8010_ABCD];

/// The fixture's blocks: metadata once, then its event blocks `rounds` times.
fn looped_capture(rounds: usize) -> (Vec<u8>, usize) {
    let shared = std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let raw = std::fs::read(shared.join("compat/scap/falco/syscall.scap")).expect("fixture");
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut data)
        .expect("gzip fixture");
    let (mut meta, mut events, mut n) = (Vec::new(), Vec::new(), 0);
    let mut off = 0;
    while off + 12 <= data.len() {
        let btype = u32::from_le_bytes(data[off..off + 4].try_into().unwrap());
        let blen = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        let block = &data[off..off + blen];
        if EVENT_BLOCKS.contains(&btype) {
            events.extend_from_slice(block);
            n += 1;
        } else {
            meta.extend_from_slice(block);
        }
        off += blen;
    }
    for _ in 0..rounds {
        meta.extend_from_slice(&events);
    }
    (meta, n)
}

#[test]
fn reading_events_allocates_nothing_in_steady_state() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (bytes, per_round) = looped_capture(4);
    assert!(per_round > 100, "fixture has {per_round} events");
    let mut reader =
        Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "looped".to_string())
            .expect("capture opens");
    let mut checksum = 0u64;
    let mut read_round = |reader: &mut Reader| {
        for _ in 0..per_round {
            let meta = reader.advance().expect("event").expect("not at end");
            let ev = reader.current().expect("current event");
            for i in 0..ev.nparams() as usize {
                checksum = checksum.wrapping_add(ev.param(i).map_or(0, |p| p.len() as u64));
            }
            checksum = checksum.wrapping_add(ev.ts() ^ meta.cpu as u64);
        }
    };
    // The first round grows the buffers to the largest event.
    read_round(&mut reader);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..3 {
        read_round(&mut reader);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(reader.advance().expect("clean end").is_none());
    assert_ne!(checksum, 0);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations while reading {} events",
        3 * per_round
    );
}

#[test]
fn reading_on_a_second_thread_allocates_nothing_in_steady_state() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // The counter sees both threads: the consumer's and the reading thread's allocations.
    let rounds = 600;
    let (bytes, per_round) = looped_capture(rounds);
    assert!(
        bytes.len() > 50 * BATCH_BYTES,
        "the capture fills many batches: {} bytes",
        bytes.len()
    );
    let reader = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "looped".to_string())
        .expect("capture opens");
    let mut reader = PrefetchReader::start(reader).expect("reading thread starts");
    let mut checksum = 0u64;
    let mut read_round = |reader: &mut PrefetchReader| {
        for _ in 0..per_round {
            let step = reader.advance().expect("event").expect("not at end");
            let cpu = step.meta.cpu;
            let ev = reader.current().expect("current event");
            for i in 0..ev.nparams() as usize {
                checksum = checksum.wrapping_add(ev.param(i).map_or(0, |p| p.len() as u64));
            }
            checksum = checksum.wrapping_add(ev.ts() ^ cpu as u64);
        }
    };
    // The first rounds start the thread and grow its reader's buffers to the largest event.
    for _ in 0..4 {
        read_round(&mut reader);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 4..rounds {
        read_round(&mut reader);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(reader.advance().expect("clean end").is_none());
    assert_eq!(reader.events(), (rounds * per_round) as u64);
    assert_ne!(checksum, 0);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations while reading {} events",
        (rounds - 4) * per_round
    );
}
