//! Capture reading on a second thread: a [`Reader`] runs on its own thread, validates the
//! events and copies them into batches; the consumer decodes and evaluates them on its own
//! thread while the next batches are read. Replay then uses both cores (reading, gzip and the
//! kernel's copy on one, state and rules on the other).
//!
//! What the plain reader guarantees still holds: events come in file order with their cpu and
//! flags; a new section's tables come with the first event of that section; events read before
//! an error are all delivered, then the error (with its byte offset). Memory is bounded: a fixed
//! number of batches circulate between the two threads (filled ones one way, empty ones back),
//! each about [`BATCH_BYTES`] (a larger event grows one batch only while it holds it), and in
//! steady state neither thread allocates.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::event::{Event, EventHeader, HEADER_LEN};

use super::scap::{EventMeta, Reader, ScapError};

/// Bytes of event records one batch holds.
pub const BATCH_BYTES: usize = 1 << 17;
/// Most events a batch can hold (every record has at least its header).
const BATCH_SLOTS: usize = BATCH_BYTES / HEADER_LEN + 1;
/// Batches in circulation: one being filled, one being consumed, the rest queued.
const BATCHES: usize = 8;
/// A reading thread that ran out of empty batches sleeps until this many are free again: one
/// wake-up per several batches rather than per batch (each costs system calls on both sides).
const REFILL: usize = BATCHES / 2;

/// One event of a batch: where its bytes are and what the reader said about it.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    header: EventHeader,
    meta: EventMeta,
}

/// Events handed from the reading thread to the consumer.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    /// The tables of each new section, in order: one per slot whose `meta.new_section` is set.
    sections: Vec<Reader>,
    /// Set on the last batch: the end of the capture (`Ok`) or the error that stopped it.
    end: Option<Result<(), ScapError>>,
    /// Uncompressed byte offset the reader had reached after this batch.
    offset: u64,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
        self.sections.clear();
        self.end = None;
        // A huge event is behind us: give its memory back.
        if self.bytes.capacity() > 4 * BATCH_BYTES {
            self.bytes = Vec::with_capacity(BATCH_BYTES);
        }
    }
}

/// The batches between the two threads. A mutex and two condition variables rather than
/// channels: waiting on them never allocates, and the queues never outgrow the fixed number of
/// batches they were made for.
struct Handoff {
    queues: Mutex<Queues>,
    filled_ready: Condvar,
    empty_ready: Condvar,
}

struct Queues {
    filled: VecDeque<Batch>,
    empty: VecDeque<Batch>,
    /// The consumer is gone: the reading thread stops.
    consumer_gone: bool,
    /// The reading thread ended (normally after a batch with `end` set; without one only if it
    /// panicked).
    producer_gone: bool,
    /// Who sleeps on a condition variable: the other side wakes it only then (a notify is a
    /// system call even with nobody waiting).
    producer_waiting: bool,
    consumer_waiting: bool,
}

impl Handoff {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // A panic while holding the lock leaves the queues consistent (push/pop only).
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps on `ready` while `blocked` holds, with the side's `waiting` flag set meanwhile
    /// so that the other side knows to wake it.
    fn wait_while<'a>(
        &self,
        mut q: MutexGuard<'a, Queues>,
        ready: &Condvar,
        waiting: fn(&mut Queues) -> &mut bool,
        blocked: impl Fn(&Queues) -> bool,
    ) -> MutexGuard<'a, Queues> {
        while blocked(&q) {
            *waiting(&mut q) = true;
            q = ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        *waiting(&mut q) = false;
        q
    }

    /// Reading side: the next empty batch (after running out, it waits for [`REFILL`] of
    /// them), `None` once the consumer is gone.
    fn take_empty(&self) -> Option<Batch> {
        let mut q = self.lock();
        if q.empty.is_empty() {
            q = self.wait_while(
                q,
                &self.empty_ready,
                |q| &mut q.producer_waiting,
                |q| q.empty.len() < REFILL && !q.consumer_gone,
            );
        }
        if q.consumer_gone {
            return None;
        }
        q.empty.pop_front()
    }

    fn put_filled(&self, b: Batch) {
        let mut q = self.lock();
        q.filled.push_back(b);
        if q.consumer_waiting {
            self.filled_ready.notify_one();
        }
    }

    /// Consumer side: the next filled batch, `None` if the reading thread is gone.
    fn take_filled(&self) -> Option<Batch> {
        let q = self.lock();
        let mut q = self.wait_while(
            q,
            &self.filled_ready,
            |q| &mut q.consumer_waiting,
            |q| q.filled.is_empty() && !q.producer_gone,
        );
        q.filled.pop_front()
    }

    fn put_empty(&self, b: Batch) {
        let mut q = self.lock();
        q.empty.push_back(b);
        if q.producer_waiting && q.empty.len() >= REFILL {
            self.empty_ready.notify_one();
        }
    }
}

/// Marks the reading thread gone when it ends, however it ends.
struct ProducerGone(Arc<Handoff>);

impl Drop for ProducerGone {
    fn drop(&mut self) {
        self.0.lock().producer_gone = true;
        self.0.filled_ready.notify_one();
    }
}

/// What [`PrefetchReader::advance`] moved to.
pub struct Advanced<'a> {
    pub meta: EventMeta,
    /// The new section's tables when `meta.new_section` is set (rebuild the state from them
    /// before processing the event).
    pub section: Option<&'a Reader>,
}

/// A capture reader whose reading and validation run on a second thread.
pub struct PrefetchReader {
    handoff: Arc<Handoff>,
    thread: Option<JoinHandle<()>>,
    current: Batch,
    /// Next slot of `current` to deliver; `current.slots[next - 1]` is the current event.
    next: usize,
    /// Next entry of `current.sections` for a slot that starts a section.
    next_section: usize,
    finished: bool,
    /// Events delivered so far.
    events: u64,
    path: String,
}

impl PrefetchReader {
    /// Moves `reader` (its metadata already read) to a reading thread.
    pub fn start(reader: Reader) -> std::io::Result<PrefetchReader> {
        let path = reader.path().to_string();
        let new_batch = || Batch {
            bytes: Vec::with_capacity(BATCH_BYTES),
            slots: Vec::with_capacity(BATCH_SLOTS),
            ..Batch::default()
        };
        let mut empty = VecDeque::with_capacity(BATCHES);
        empty.extend((1..BATCHES).map(|_| new_batch()));
        let handoff = Arc::new(Handoff {
            queues: Mutex::new(Queues {
                filled: VecDeque::with_capacity(BATCHES),
                empty,
                consumer_gone: false,
                producer_gone: false,
                producer_waiting: false,
                consumer_waiting: false,
            }),
            filled_ready: Condvar::new(),
            empty_ready: Condvar::new(),
        });
        let gone = ProducerGone(handoff.clone());
        let thread = std::thread::Builder::new()
            .name("scap-reader".to_string())
            .spawn(move || read_batches(reader, gone))?;
        Ok(PrefetchReader {
            handoff,
            thread: Some(thread),
            current: new_batch(),
            next: 0,
            next_section: 0,
            finished: false,
            events: 0,
            path,
        })
    }

    /// Moves to the next event; `Ok(None)` at the end of the capture. After an error (which
    /// comes after every event read before it) it keeps returning `Ok(None)`.
    pub fn advance(&mut self) -> Result<Option<Advanced<'_>>, ScapError> {
        while self.next >= self.current.slots.len() {
            if self.finished {
                return Ok(None);
            }
            if let Some(end) = self.current.end.take() {
                self.finished = true;
                end?;
                return Ok(None);
            }
            self.swap_batch();
        }
        let slot = self.current.slots[self.next];
        self.next += 1;
        self.events += 1;
        let section = if slot.meta.new_section {
            let s = self.current.sections.get(self.next_section);
            self.next_section += 1;
            s
        } else {
            None
        };
        Ok(Some(Advanced {
            meta: slot.meta,
            section,
        }))
    }

    /// Hands the consumed batch back and waits for the next one.
    fn swap_batch(&mut self) {
        let mut batch = match self.handoff.take_filled() {
            Some(b) => b,
            // The reading thread ends only after sending a batch with `end` set; it is gone
            // without one only if it panicked.
            None => Batch {
                end: Some(Err(ScapError::Format {
                    path: self.path.clone(),
                    offset: self.current.offset,
                    msg: "the capture reading thread stopped unexpectedly".to_string(),
                })),
                offset: self.current.offset,
                ..Batch::default()
            },
        };
        std::mem::swap(&mut self.current, &mut batch);
        self.next = 0;
        self.next_section = 0;
        batch.clear();
        self.handoff.put_empty(batch);
    }

    /// The event [`PrefetchReader::advance`] moved to (`None` before the first and at the end).
    pub fn current(&self) -> Option<Event<'_>> {
        let slot = self.current.slots.get(self.next.checked_sub(1)?)?;
        let raw = self.current.bytes.get(slot.start..)?;
        Some(Event::from_validated(raw, slot.header))
    }

    /// Events delivered so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Uncompressed byte offset reached by the batches received so far.
    pub fn offset(&self) -> u64 {
        self.current.offset
    }
}

impl Drop for PrefetchReader {
    fn drop(&mut self) {
        // Wakes the reading thread if it waits for a batch; it ends at its next batch.
        self.handoff.lock().consumer_gone = true;
        self.handoff.empty_ready.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reading thread: fills empty batches with validated events until the end of the capture,
/// an error, or the consumer going away.
fn read_batches(mut reader: Reader, gone: ProducerGone) {
    let handoff = &*gone.0;
    // An event the reader moved to that did not fit in the last batch: it opens the next.
    let mut carried: Option<EventMeta> = None;
    loop {
        let Some(mut batch) = handoff.take_empty() else {
            return;
        };
        batch.clear();
        loop {
            let meta = match carried.take() {
                Some(meta) => meta,
                None => match reader.advance() {
                    Ok(Some(meta)) => meta,
                    Ok(None) => {
                        batch.end = Some(Ok(()));
                        break;
                    }
                    Err(e) => {
                        batch.end = Some(Err(e));
                        break;
                    }
                },
            };
            let Some(ev) = reader.current() else {
                batch.end = Some(Err(ScapError::Format {
                    path: reader.path().to_string(),
                    offset: reader.offset(),
                    msg: "the reader returned no event after advancing".to_string(),
                }));
                break;
            };
            // A batch never grows in steady state: an event that does not fit waits for the
            // next batch (only an event larger than a whole batch grows an empty one).
            if !batch.slots.is_empty() && batch.bytes.len() + ev.len() > batch.bytes.capacity() {
                carried = Some(meta);
                break;
            }
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(ev.raw());
            if meta.new_section {
                batch.sections.push(reader.tables());
            }
            batch.slots.push(Slot {
                start,
                header: ev.header(),
                meta,
            });
        }
        batch.offset = reader.offset();
        let last = batch.end.is_some();
        handoff.put_filled(batch);
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::scap::tests::{capture, Trickle};
    use std::io;

    type Seen = Vec<(u64, u16, u32, i64, Vec<u8>)>;

    fn plain(bytes: Vec<u8>) -> (Seen, Option<ScapError>) {
        let mut r = Reader::from_reader(Box::new(io::Cursor::new(bytes)), "mem".into())
            .expect("metadata reads");
        let mut seen = Vec::new();
        loop {
            match r.advance() {
                Ok(Some(meta)) => {
                    let ev = r.current().expect("event");
                    seen.push((
                        ev.ts(),
                        meta.cpu,
                        meta.flags,
                        ev.param_i64(0).unwrap_or(-1),
                        ev.raw().to_vec(),
                    ));
                }
                Ok(None) => return (seen, None),
                Err(e) => return (seen, Some(e)),
            }
        }
    }

    fn prefetched(input: Box<dyn io::Read + Send>) -> (Seen, Option<ScapError>) {
        let r = Reader::from_reader(input, "mem".into()).expect("metadata reads");
        let mut p = PrefetchReader::start(r).expect("thread starts");
        let mut seen = Vec::new();
        loop {
            match p.advance() {
                Ok(Some(a)) => {
                    let meta = a.meta;
                    let ev = p.current().expect("event");
                    seen.push((
                        ev.ts(),
                        meta.cpu,
                        meta.flags,
                        ev.param_i64(0).unwrap_or(-1),
                        ev.raw().to_vec(),
                    ));
                }
                Ok(None) => {
                    assert!(p.advance().expect("stays at the end").is_none());
                    return (seen, None);
                }
                Err(e) => {
                    assert!(p.advance().expect("nothing after the error").is_none());
                    return (seen, Some(e));
                }
            }
        }
    }

    #[test]
    fn delivers_the_plain_readers_events_for_every_read_size() {
        let bytes = capture(100, 3000);
        assert!(
            bytes.len() > 4 * BATCH_BYTES,
            "capture spans several batches"
        );
        let (want, err) = plain(bytes.clone());
        assert!(err.is_none());
        assert_eq!(want.len(), 3000);
        for step in [1, 7, 4096, BATCH_BYTES + 3, usize::MAX] {
            let data = bytes.clone();
            let (got, err) = prefetched(Box::new(Trickle { data, pos: 0, step }));
            assert!(err.is_none(), "read size {step}: {err:?}");
            assert_eq!(got.len(), want.len(), "read size {step}");
            assert!(got == want, "read size {step}: events differ");
        }
    }

    #[test]
    fn an_error_comes_after_every_event_before_it_with_its_offset() {
        let mut bytes = capture(100, 2500);
        let (all, _) = plain(bytes.clone());
        // Cut the file in the middle of an event block well past the first batches.
        let cut = bytes.len() * 3 / 4;
        bytes.truncate(cut);
        let (want, want_err) = plain(bytes.clone());
        let want_err = want_err.expect("truncated capture fails");
        assert!(want.len() > 1000 && want.len() < all.len());
        let (got, got_err) = prefetched(Box::new(io::Cursor::new(bytes)));
        let got_err = got_err.expect("truncated capture fails");
        assert!(
            got == want,
            "{} events before the error, want {}",
            got.len(),
            want.len()
        );
        assert_eq!(got_err.offset(), want_err.offset());
        assert_eq!(got_err.to_string(), want_err.to_string());
    }

    #[test]
    fn a_new_section_brings_its_tables_with_its_first_event() {
        let first = capture(100, 1500);
        let mut bytes = first.clone();
        let second = crate::source::scap::tests::capture_with_thread(7, 40, 30);
        bytes.extend_from_slice(&second);
        let r = Reader::from_reader(Box::new(io::Cursor::new(bytes)), "mem".into())
            .expect("metadata reads");
        assert!(r.threads.is_empty());
        let mut p = PrefetchReader::start(r).expect("thread starts");
        let mut n = 0;
        let mut sections = Vec::new();
        while let Some(a) = p.advance().expect("reads") {
            if let Some(t) = a.section {
                sections.push((n, t.threads.iter().map(|t| t.tid).collect::<Vec<_>>()));
            }
            n += 1;
        }
        assert_eq!(n, 1530);
        assert_eq!(sections, vec![(1500, vec![7])]);
    }

    #[test]
    fn dropping_it_mid_capture_stops_the_reading_thread() {
        let bytes = capture(100, 3000);
        let r = Reader::from_reader(Box::new(io::Cursor::new(bytes)), "mem".into())
            .expect("metadata reads");
        let mut p = PrefetchReader::start(r).expect("thread starts");
        for _ in 0..10 {
            assert!(p.advance().expect("reads").is_some());
        }
        // Joins the thread: the test would hang if it waited for a consumer.
        drop(p);
    }
}
