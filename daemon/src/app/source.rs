//! The event source of a run (`engine.kind`): a capture file (replay), the kernel module's
//! rings (kmod), or nothing (nodriver). One interface for the hot loop: [`EventSource::next`]
//! returns an event, "idle" (nothing right now; the loop beats and checks its signals), or the
//! end.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::DEFAULT_IGNORED_SYSCALLS;
use crate::event::{table, Event};
use crate::source::kmod::{KmodError, KmodOptions, KmodSource};
use crate::source::prefetch::PrefetchReader;
use crate::source::scap::{Reader, ScapError, FLAG_STATE_ONLY};
use crate::state::State;

use super::drops::SourceCounters;

/// How long an idle source waits before reporting [`Next::Idle`].
pub const IDLE_WAIT: Duration = Duration::from_millis(100);

/// One step of the source.
pub enum Next<'a> {
    Event {
        event: Event<'a>,
        cpu: u16,
        /// State-only event (EVF flag): update the state, do not evaluate rules.
        state_only: bool,
    },
    /// Nothing available right now.
    Idle,
    /// The source is exhausted (end of a capture).
    End,
}

/// Why the source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Scap(#[from] ScapError),
    #[error("{0}")]
    Kmod(#[from] KmodError),
    #[error("{path}: record at offset {offset}: {message}")]
    Record {
        path: String,
        offset: u64,
        message: String,
    },
}

/// The event type ids of `ids` the live source asks the driver for: all of them with
/// `all_events` (`-A` or `base_syscalls.all`), otherwise those whose syscall is not in
/// Falco's default-ignored high-volume I/O family ([`DEFAULT_IGNORED_SYSCALLS`], what `-i`
/// prints), so rules on `read`/`write` stay silent without `-A`, as in Falco.
pub fn without_ignored_syscalls(ids: &[u16], all_events: bool) -> Vec<u16> {
    ids.iter()
        .copied()
        .filter(|&id| all_events || !DEFAULT_IGNORED_SYSCALLS.contains(&table::name_of(id)))
        .collect()
}

/// A capture file being replayed; it is read on a second thread.
pub struct Replay {
    reader: PrefetchReader,
    path: PathBuf,
}

/// The source of a run.
pub enum EventSource {
    Replay(Box<Replay>),
    Kmod(Box<KmodSource>),
    NoDriver,
}

impl EventSource {
    /// Opens a capture file for replay, returning the source and the state seeded from the
    /// capture's tables.
    pub fn replay(path: &Path) -> Result<(EventSource, State), SourceError> {
        let reader = Reader::open(path)?;
        let state = State::from_reader(&reader);
        let reader = PrefetchReader::start(reader).map_err(|e| ScapError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Ok((
            EventSource::Replay(Box::new(Replay {
                reader,
                path: path.to_path_buf(),
            })),
            state,
        ))
    }

    /// Opens the kernel module's devices (capture stays disabled until [`EventSource::start`]).
    pub fn kmod(opts: &KmodOptions) -> Result<EventSource, SourceError> {
        Ok(EventSource::Kmod(Box::new(KmodSource::open(opts)?)))
    }

    /// `replay`, `kmod` or `nodriver`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            EventSource::Replay(_) => "replay",
            EventSource::Kmod(_) => "kmod",
            EventSource::NoDriver => "nodriver",
        }
    }

    /// Whether event time (not wall time) drives `-M` and the drop monitor's clock.
    pub fn is_replay(&self) -> bool {
        matches!(self, EventSource::Replay(_))
    }

    /// Starts producing events (enables the driver's capture).
    pub fn start(&mut self) -> Result<(), SourceError> {
        if let EventSource::Kmod(k) = self {
            k.enable()?;
        }
        Ok(())
    }

    /// Stops producing events.
    pub fn stop(&mut self) {
        if let EventSource::Kmod(k) = self {
            let _ = k.disable();
        }
    }

    /// Restricts the driver to the event types the rules need (`ids`, as the engine computes
    /// them) plus what the state tracker needs; without `all_events` (`-A`) the high-volume
    /// I/O syscalls are left out as Falco does ([`without_ignored_syscalls`]). Returns the
    /// event names the driver cannot record; other sources ignore it.
    pub fn set_interest(
        &mut self,
        ids: &[u16],
        all_events: bool,
    ) -> Result<Vec<&'static str>, SourceError> {
        match self {
            EventSource::Kmod(k) => {
                let ids = without_ignored_syscalls(ids, all_events);
                Ok(k.set_interest_for(&ids, true)?.unavailable)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The driver's counters, for the drop monitor. A capture file has none (libscap reports
    /// zeros for it, which is what makes `simulate_drops` act on every check in a replay).
    pub fn counters(&self) -> SourceCounters {
        match self {
            EventSource::Replay(_) => SourceCounters::default(),
            EventSource::Kmod(k) => {
                let s = k.stats();
                SourceCounters {
                    events: s.events,
                    drops: s.drops_full + s.drops_fault + s.corrupt,
                    drops_buffer: s.drops_full,
                    drops_page_faults: s.drops_fault,
                    drops_bug: s.corrupt,
                }
            }
            EventSource::NoDriver => SourceCounters::default(),
        }
    }

    /// The web's view of the counters.
    pub fn health_counts(&self) -> crate::web::SourceCounts {
        match self {
            EventSource::Kmod(k) => {
                let s = k.stats();
                crate::web::SourceCounts {
                    events: s.events,
                    drops_buffer: s.drops_full,
                    drops_page_faults: s.drops_fault,
                    drops_bug: s.corrupt,
                    truncated: s.truncated,
                }
            }
            EventSource::Replay(r) => crate::web::SourceCounts {
                events: r.reader.events(),
                ..Default::default()
            },
            EventSource::NoDriver => crate::web::SourceCounts::default(),
        }
    }

    /// The next event. A new section of a concatenated capture reseeds `state` first.
    pub fn next<'s>(&'s mut self, state: &mut State) -> Result<Next<'s>, SourceError> {
        match self {
            EventSource::Replay(r) => {
                let Some(step) = r.reader.advance()? else {
                    return Ok(Next::End);
                };
                if let Some(tables) = step.section {
                    state.load_tables(tables);
                }
                let meta = step.meta;
                // From here on the event borrows the reader for the rest of `'s`.
                let r: &'s Replay = r;
                let event = r.reader.current().ok_or_else(|| SourceError::Record {
                    path: r.path.display().to_string(),
                    offset: r.reader.offset(),
                    message: "the reader returned no event after advancing".to_string(),
                })?;
                Ok(Next::Event {
                    event,
                    cpu: meta.cpu,
                    state_only: meta.flags & FLAG_STATE_ONLY != 0,
                })
            }
            EventSource::Kmod(k) => {
                if !k.has_data() && !k.wait(IDLE_WAIT) {
                    return Ok(Next::Idle);
                }
                let Some(record) = k.next_with_origin() else {
                    return Ok(Next::Idle);
                };
                match Event::parse(record.bytes) {
                    Ok(event) => Ok(Next::Event {
                        event,
                        cpu: record.cpu,
                        state_only: false,
                    }),
                    // The ring reader validated the header; a bad parameter table is a
                    // driver bug: skip the record rather than stop monitoring.
                    Err(_) => Ok(Next::Idle),
                }
            }
            EventSource::NoDriver => {
                std::thread::sleep(IDLE_WAIT);
                Ok(Next::Idle)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_named(names: &[&str]) -> Vec<u16> {
        (0..table::EVENT_TYPE_COUNT as u16)
            .filter(|&id| names.contains(&table::name_of(id)))
            .collect()
    }

    #[test]
    fn io_syscalls_leave_the_interest_set_without_all_events() {
        let wanted = ids_named(&["open", "read", "write", "pread", "sendfile", "execve"]);
        let kept = without_ignored_syscalls(&wanted, false);
        let names: std::collections::BTreeSet<&str> =
            kept.iter().map(|&id| table::name_of(id)).collect();
        assert_eq!(names, ["execve", "open"].into_iter().collect());
        assert_eq!(kept, ids_named(&["open", "execve"]));
    }

    #[test]
    fn all_events_keeps_the_io_syscalls() {
        let wanted = ids_named(&["open", "read", "writev", "recv"]);
        assert_eq!(without_ignored_syscalls(&wanted, true), wanted);
    }

    #[test]
    fn every_ignored_syscall_names_an_event_type() {
        // A misspelt name would silently keep its syscall in the interest set.
        for name in DEFAULT_IGNORED_SYSCALLS {
            assert!(!ids_named(&[name]).is_empty(), "{name} names no event type");
        }
    }
}
