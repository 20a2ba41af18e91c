//! The live source: opens the kernel module's devices (`/dev/falco0..N-1`, one per CPU),
//! maps every CPU's ring, configures capture (interest set, snaplen) by ioctl and returns
//! records merged across CPUs in timestamp order. Idle waiting is poll(2) on the devices,
//! woken by the driver when records arrive: never a spin.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use super::abi::{self, falco_interest, falco_ring_info, falco_stats};
use super::ring::{RecordHeader, RingConsumer, RingCorruption, RingCounters};

/// The pause after delivering records before the reader waits for more: long enough to
/// batch a busy system's records (an 8 MiB ring holds far more than 2 ms of them), short
/// enough for alerts to stay prompt.
pub const BATCH_NAP: Duration = Duration::from_millis(2);

/// How to open the live source.
#[derive(Debug, Clone)]
pub struct KmodOptions {
    /// Directory holding the `falcoN` device nodes.
    pub device_dir: PathBuf,
    /// Bytes of I/O buffers copied into records (None: the module's default).
    pub snaplen: Option<u32>,
    /// Longest single poll(2) while waiting for records (the driver wakes the reader when
    /// a record arrives; this bounds the wait should a wakeup ever be missed).
    pub max_idle_sleep: Duration,
}

impl Default for KmodOptions {
    fn default() -> Self {
        KmodOptions {
            device_dir: PathBuf::from("/dev"),
            snaplen: None,
            max_idle_sleep: Duration::from_secs(1),
        }
    }
}

/// Why the live source could not be opened or configured.
#[derive(Debug, thiserror::Error)]
pub enum KmodError {
    #[error("{path}: no such device; is the falco kernel module loaded? (modprobe falco)")]
    NotLoaded { path: PathBuf },
    #[error("{path}: busy: another reader (a running falco?) has the driver open; only one reader is supported")]
    Busy { path: PathBuf },
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: driver API version {found:#x} is not compatible with this falco (API {expected:#x})")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path}: invalid ring geometry: data size {data_size}, page size {page_size}")]
    Geometry {
        path: PathBuf,
        data_size: u64,
        page_size: u32,
    },
    #[error("event type id {id} is outside the interest bitmap (max {max})")]
    EventIdRange { id: u16, max: u32 },
    #[error("the driver cannot record event type ids {ids:?}")]
    Unsupported { ids: Vec<u16> },
    #[error("snaplen {0} is outside 1..={max}", max = abi::FALCO_SNAPLEN_MAX)]
    Snaplen(u32),
}

/// One record of the live source (see [`KmodSource::next_with_origin`]).
#[derive(Debug, Clone, Copy)]
pub struct KmodRecord<'a> {
    /// The record in the scap v2 event layout (truncation mark cleared).
    pub bytes: &'a [u8],
    /// The CPU that produced it (`evt.cpu`).
    pub cpu: u16,
    /// A value was cut at the driver's limit (path, argv, environment, I/O data).
    pub truncated: bool,
}

/// Capture statistics since the source was opened (all CPUs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KmodStats {
    /// Records the driver committed to the rings.
    pub events: u64,
    /// Records dropped because a ring was full.
    pub drops_full: u64,
    /// User-memory reads that failed (parameter left empty, record kept).
    pub drops_fault: u64,
    /// Records with a string or buffer cut at its limit.
    pub truncated: u64,
    /// Protocol violations detected by the reader (records skipped after each).
    pub corrupt: u64,
    /// Records handed out by `next_record`.
    pub delivered: u64,
}

impl KmodStats {
    /// Events lost, as Falco's drop monitor counts them (`syscall_event_drops`): records the
    /// driver could not write. Failed user-memory reads are not drops: the record arrives
    /// with an empty parameter.
    pub fn drops(&self) -> u64 {
        self.drops_full
    }
}

/// Event type names the state tracker follows whatever the rules need: process lifecycle,
/// every call that creates, duplicates or closes an fd, the cwd, credentials and sessions.
/// Without them thread and fd tables (proc.*, fd.*, user.*) go stale.
pub const STATE_EVENT_NAMES: &[&str] = &[
    "clone",
    "fork",
    "vfork",
    "clone3",
    "execve",
    "execveat",
    "procexit",
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "socket",
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "pipe",
    "pipe2",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "inotify_init",
    "inotify_init1",
    "epoll_create",
    "epoll_create1",
    "userfaultfd",
    "memfd_create",
    "chdir",
    "fchdir",
    "chroot",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "setsid",
];

/// What [`KmodSource::set_interest_for`] configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterestReport {
    /// Event type ids the driver now records (sorted).
    pub recorded: Vec<u16>,
    /// Event type names the caller asked for that this driver cannot record (sorted): rules
    /// on them never match with the live source.
    pub unavailable: Vec<&'static str>,
}

/// Maps the event type ids a caller wants (any direction or layout version, as rules name
/// them: `evt.type=open` means ids 2, 3 and the old versions) to the ids of `supported`
/// with the same event name, the driver records each syscall once, at exit. With
/// `with_state`, the names of [`STATE_EVENT_NAMES`] are added.
pub fn interest_for(supported: &[u16], wanted: &[u16], with_state: bool) -> InterestReport {
    use crate::event::table;
    let mut names: Vec<&'static str> = wanted.iter().map(|&id| table::name_of(id)).collect();
    if with_state {
        names.extend(STATE_EVENT_NAMES.iter().copied());
    }
    names.sort_unstable();
    names.dedup();
    let mut recorded: Vec<u16> = supported
        .iter()
        .copied()
        .filter(|&id| names.binary_search(&table::name_of(id)).is_ok())
        .collect();
    recorded.sort_unstable();
    recorded.dedup();
    let recorded_names: std::collections::HashSet<&str> =
        recorded.iter().map(|&id| table::name_of(id)).collect();
    let unavailable = names
        .into_iter()
        .filter(|n| !recorded_names.contains(n))
        .collect();
    InterestReport {
        recorded,
        unavailable,
    }
}

/// The ring whose next record has the earliest timestamp, `look(i)` giving ring i's (None:
/// empty right now).
///
/// A ring found empty may have received a record since that was published before the best
/// one seen later in the scan: a thread that wrote on that CPU, moved, and wrote on a ring
/// scanned after it. The empty rings are looked at again once the scan is over (every record
/// it saw is published by then), so that earlier record comes out first.
fn earliest_ring(rings: usize, mut look: impl FnMut(usize) -> Option<u64>) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    let mut first_empty = None;
    for i in 0..rings {
        match look(i) {
            Some(ts) if best.map_or(true, |(best_ts, _)| ts < best_ts) => best = Some((ts, i)),
            Some(_) => {}
            None => {
                first_empty.get_or_insert(i);
            }
        }
    }
    best?;
    // Rings that had a record already answer from what they peeked.
    for i in first_empty.unwrap_or(rings)..rings {
        if let Some(ts) = look(i) {
            if best.map_or(true, |(best_ts, _)| ts < best_ts) {
                best = Some((ts, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// A memory mapping, unmapped on drop.
struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> Result<Mapping, KmodError> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh shared mapping of the device; the kernel validates offset/length.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(KmodError::Io {
                path: path.to_owned(),
                op: "mmap",
                source: std::io::Error::last_os_error(),
            });
        }
        let addr = NonNull::new(addr as *mut u8).ok_or_else(|| KmodError::Io {
            path: path.to_owned(),
            op: "mmap",
            source: std::io::Error::other("null mapping"),
        })?;
        Ok(Mapping { addr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe {
            libc::munmap(self.addr.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

/// One CPU's device with its mappings and ring reader. Field order matters: the ring
/// reader is dropped before the mappings it points into.
struct CpuRing {
    ring: RingConsumer,
    baseline: RingCounters,
    /// Timestamp and length of the record at the ring's tail, once peeked.
    pending: Option<(u64, u32)>,
    _consumer_map: Mapping,
    _data_map: Mapping,
    file: File,
    path: PathBuf,
    /// The CPU whose records this ring holds.
    cpu: u16,
}

/// The live source over every CPU's ring. See the module documentation.
pub struct KmodSource {
    cpus: Vec<CpuRing>,
    /// Ring whose pending record was last handed out; consumed on the next call.
    handed_out: Option<usize>,
    corrupt: u64,
    delivered: u64,
    truncated_delivered: u64,
    max_idle_sleep: Duration,
    /// Copy of the last record handed out when it carried the truncation flag (cleared).
    scratch: Vec<u8>,
    last_truncated: bool,
    /// Records were delivered since the last wait (see [`KmodSource::wait`]).
    active: bool,
    last_cpu: u16,
}

fn ioctl_ptr<T>(
    file: &File,
    path: &Path,
    request: u32,
    arg: *mut T,
    op: &'static str,
) -> Result<(), KmodError> {
    // SAFETY: `arg` points to a value of the type the request expects (see abi.rs).
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg) };
    if rc < 0 {
        return Err(KmodError::Io {
            path: path.to_owned(),
            op,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

fn ioctl_none(file: &File, path: &Path, request: u32, op: &'static str) -> Result<(), KmodError> {
    // SAFETY: requests without an argument.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, 0usize) };
    if rc < 0 {
        return Err(KmodError::Io {
            path: path.to_owned(),
            op,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Builds the interest bitmap for `ids`.
pub fn interest_bitmap(ids: &[u16]) -> Result<falco_interest, KmodError> {
    let mut interest = falco_interest::default();
    for &id in ids {
        if u32::from(id) >= abi::FALCO_INTEREST_BITS {
            return Err(KmodError::EventIdRange {
                id,
                max: abi::FALCO_INTEREST_BITS - 1,
            });
        }
        interest.bits[usize::from(id / 64)] |= 1u64 << (id % 64);
    }
    Ok(interest)
}

/// The ids set in an interest bitmap.
pub fn interest_ids(interest: &falco_interest) -> Vec<u16> {
    let mut ids = Vec::new();
    for (word, bits) in interest.bits.iter().enumerate() {
        for bit in 0..64u16 {
            if bits & (1u64 << bit) != 0 {
                ids.push(word as u16 * 64 + bit);
            }
        }
    }
    ids
}

impl KmodSource {
    /// Opens every `falcoN` device, checks the API version and maps each ring. Capture is
    /// not enabled yet: call [`KmodSource::set_interest`] then [`KmodSource::enable`].
    pub fn open(opts: &KmodOptions) -> Result<KmodSource, KmodError> {
        let mut cpus = Vec::new();
        let mut nr_devices = 1u32;
        let mut index = 0u32;
        while index < nr_devices {
            let path = opts.device_dir.join(format!("{}{index}", "falco"));
            let cpu = Self::open_cpu(&path)?;
            let mut info = falco_ring_info::default();
            ioctl_ptr(
                &cpu.0,
                &path,
                abi::IOCTL_RING_INFO,
                &mut info,
                "ring info ioctl",
            )?;
            nr_devices = info.nr_devices.max(1);
            cpus.push(Self::map_cpu(cpu.0, path, &info)?);
            index += 1;
        }
        let mut source = KmodSource {
            cpus,
            handed_out: None,
            corrupt: 0,
            delivered: 0,
            truncated_delivered: 0,
            scratch: Vec::with_capacity(4096),
            last_truncated: false,
            active: false,
            last_cpu: 0,
            max_idle_sleep: opts.max_idle_sleep.max(Duration::from_millis(1)),
        };
        if let Some(snaplen) = opts.snaplen {
            source.set_snaplen(snaplen)?;
        }
        Ok(source)
    }

    fn open_cpu(path: &Path) -> Result<(File,), KmodError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => {
                    KmodError::NotLoaded {
                        path: path.to_owned(),
                    }
                }
                Some(libc::EBUSY) => KmodError::Busy {
                    path: path.to_owned(),
                },
                _ => KmodError::Io {
                    path: path.to_owned(),
                    op: "open",
                    source: e,
                },
            })?;
        let mut version = 0u32;
        ioctl_ptr(
            &file,
            path,
            abi::IOCTL_API_VERSION,
            &mut version,
            "API version ioctl",
        )?;
        if abi::FALCO_API_VERSION >> 16 != version >> 16 {
            return Err(KmodError::Version {
                path: path.to_owned(),
                found: version,
                expected: abi::FALCO_API_VERSION,
            });
        }
        Ok((file,))
    }

    fn map_cpu(file: File, path: PathBuf, info: &falco_ring_info) -> Result<CpuRing, KmodError> {
        let page = info.page_size as usize;
        let data_size = info.data_size;
        let geometry_ok = page.is_power_of_two()
            && page >= 4096
            && data_size.is_power_of_two()
            && data_size >= u64::from(abi::FALCO_RING_MIN_BYTES)
            && data_size <= u64::from(abi::FALCO_RING_MAX_BYTES);
        if !geometry_ok {
            return Err(KmodError::Geometry {
                path,
                data_size,
                page_size: info.page_size,
            });
        }
        let consumer_map = Mapping::new(&file, &path, 0, page, true)?;
        let data_map = Mapping::new(
            &file,
            &path,
            page as u64,
            page + 2 * data_size as usize,
            false,
        )?;
        let producer = data_map.addr.cast();
        // SAFETY: the data area starts one page into the second mapping.
        let data = unsafe { NonNull::new_unchecked(data_map.addr.as_ptr().add(page)) };
        // SAFETY: both mappings live in the same CpuRing, dropped after the ring reader; the
        // driver maps the data pages twice back to back.
        let mut ring =
            unsafe { RingConsumer::new(consumer_map.addr.cast(), producer, data, data_size) };
        ring.skip_to_head();
        let baseline = ring.counters();
        Ok(CpuRing {
            ring,
            baseline,
            pending: None,
            _consumer_map: consumer_map,
            _data_map: data_map,
            file,
            path,
            cpu: u16::try_from(info.cpu).unwrap_or(u16::MAX),
        })
    }

    /// Number of per-CPU rings.
    pub fn cpu_count(&self) -> usize {
        self.cpus.len()
    }

    fn control(&self) -> (&File, &Path) {
        // `open` maps at least one device.
        let cpu = &self.cpus[0];
        (&cpu.file, &cpu.path)
    }

    /// Event type ids the driver can record.
    pub fn supported(&self) -> Result<Vec<u16>, KmodError> {
        let (file, path) = self.control();
        let mut interest = falco_interest::default();
        ioctl_ptr(
            file,
            path,
            abi::IOCTL_SUPPORTED,
            &mut interest,
            "supported-events ioctl",
        )?;
        Ok(interest_ids(&interest))
    }

    /// Records exactly the event types `ids` (scap event type ids, e.g. 307 = openat exit).
    /// Ids the driver cannot record are an error naming them; use
    /// [`KmodSource::supported`] to filter first.
    pub fn set_interest(&mut self, ids: &[u16]) -> Result<(), KmodError> {
        let mut interest = interest_bitmap(ids)?;
        let supported = self.supported()?;
        let unsupported: Vec<u16> = ids
            .iter()
            .copied()
            .filter(|id| !supported.contains(id))
            .collect();
        if !unsupported.is_empty() {
            return Err(KmodError::Unsupported { ids: unsupported });
        }
        let (file, path) = self.control();
        ioctl_ptr(
            file,
            path,
            abi::IOCTL_SET_INTEREST,
            &mut interest,
            "set-interest ioctl",
        )
    }

    /// Records the event types of `wanted` that the driver supports (ids of other
    /// versions of the same syscall, enter ids, meta events are simply not recordable) and
    /// returns the ones left out, for the caller to report.
    pub fn set_interest_supported(&mut self, wanted: &[u16]) -> Result<Vec<u16>, KmodError> {
        let supported = self.supported()?;
        let (mut kept, mut left_out): (Vec<u16>, Vec<u16>) = wanted
            .iter()
            .copied()
            .partition(|id| supported.contains(id));
        kept.sort_unstable();
        kept.dedup();
        left_out.sort_unstable();
        left_out.dedup();
        let mut interest = interest_bitmap(&kept)?;
        let (file, path) = self.control();
        ioctl_ptr(
            file,
            path,
            abi::IOCTL_SET_INTEREST,
            &mut interest,
            "set-interest ioctl",
        )?;
        Ok(left_out)
    }

    /// Records what the rules need: `wanted` are event type ids as the engine computes them
    /// from the rules (`Engine::interest_set`), in any direction or version; each is mapped
    /// by name to what the driver records (see [`interest_for`]), plus the state tracker's
    /// needs when `with_state`. Returns what was set and which names the driver lacks.
    pub fn set_interest_for(
        &mut self,
        wanted: &[u16],
        with_state: bool,
    ) -> Result<InterestReport, KmodError> {
        let report = interest_for(&self.supported()?, wanted, with_state);
        let mut interest = interest_bitmap(&report.recorded)?;
        let (file, path) = self.control();
        ioctl_ptr(
            file,
            path,
            abi::IOCTL_SET_INTEREST,
            &mut interest,
            "set-interest ioctl",
        )?;
        Ok(report)
    }

    /// Bytes of I/O buffers copied into records.
    pub fn set_snaplen(&mut self, snaplen: u32) -> Result<(), KmodError> {
        if snaplen == 0 || snaplen > abi::FALCO_SNAPLEN_MAX {
            return Err(KmodError::Snaplen(snaplen));
        }
        let mut value = snaplen;
        let (file, path) = self.control();
        ioctl_ptr(
            file,
            path,
            abi::IOCTL_SET_SNAPLEN,
            &mut value,
            "snaplen ioctl",
        )
    }

    /// Starts recording.
    pub fn enable(&mut self) -> Result<(), KmodError> {
        let (file, path) = self.control();
        ioctl_none(file, path, abi::IOCTL_ENABLE, "enable ioctl")
    }

    /// Stops recording (records already in the rings stay readable).
    pub fn disable(&mut self) -> Result<(), KmodError> {
        let (file, path) = self.control();
        ioctl_none(file, path, abi::IOCTL_DISABLE, "disable ioctl")
    }

    /// The next record in timestamp order across CPUs, or `None` when every ring is empty
    /// right now. The slice (scap v2 event layout) stays valid until the next call. A record
    /// the driver marked as truncated comes out with the mark cleared (a copy, so the
    /// shared ring is never written); [`KmodSource::last_record_truncated`] tells.
    pub fn next_record(&mut self) -> Option<&[u8]> {
        self.last_truncated = false;
        if let Some(i) = self.handed_out.take() {
            let cpu = &mut self.cpus[i];
            if let Some((_, len)) = cpu.pending.take() {
                cpu.ring.consume(len);
            }
        }
        let cpus = self.cpus.len();
        let i = earliest_ring(cpus, |i| {
            if self.cpus[i].pending.is_none() {
                self.refill(i);
            }
            self.cpus[i].pending.map(|(ts, _)| ts)
        })?;
        self.handed_out = Some(i);
        self.delivered += 1;
        self.active = true;
        self.last_cpu = self.cpus[i].cpu;
        let record = match self.cpus[i].ring.peek() {
            Ok(Some(record)) => record,
            // `refill` validated this record and only the consumer moves the tail.
            _ => return None,
        };
        if record[25] & 0x80 == 0 {
            return Some(record);
        }
        // FALCO_RECORD_TRUNCATED is the top bit of the little-endian nparams (byte 25).
        self.scratch.clear();
        self.scratch.extend_from_slice(record);
        self.scratch[25] &= 0x7f;
        self.last_truncated = true;
        self.truncated_delivered += 1;
        Some(&self.scratch)
    }

    /// The next record with where it came from: [`KmodSource::next_record`] plus the CPU
    /// and the truncation mark, in one borrow.
    pub fn next_with_origin(&mut self) -> Option<KmodRecord<'_>> {
        self.next_record()?;
        let (cpu, truncated) = (self.last_cpu, self.last_truncated);
        let bytes: &[u8] = if truncated {
            &self.scratch
        } else {
            let i = self.handed_out?;
            match self.cpus[i].ring.peek() {
                Ok(Some(record)) => record,
                _ => return None,
            }
        };
        Some(KmodRecord {
            bytes,
            cpu,
            truncated,
        })
    }

    /// The CPU that produced the record last returned by [`KmodSource::next_record`]
    /// (`evt.cpu`).
    pub fn last_record_cpu(&self) -> u16 {
        self.last_cpu
    }

    /// Whether the record last returned by [`KmodSource::next_record`] had a value (path,
    /// argv, environment, I/O data) cut at the driver's limit.
    pub fn last_record_truncated(&self) -> bool {
        self.last_truncated
    }

    fn refill(&mut self, i: usize) {
        let cpu = &mut self.cpus[i];
        match cpu.ring.peek() {
            Ok(Some(record)) => {
                if let Some(h) = RecordHeader::parse(record) {
                    cpu.pending = Some((h.ts, h.len));
                }
            }
            Ok(None) => {}
            Err(RingCorruption { .. }) => {
                self.corrupt += 1;
                cpu.ring.resync();
            }
        }
    }

    /// True when some ring has a record ready.
    pub fn has_data(&mut self) -> bool {
        self.cpus
            .iter_mut()
            .any(|c| c.pending.is_some() || c.ring.has_data())
    }

    /// Blocks until a record is ready or `timeout` passed; returns whether one is ready.
    ///
    /// Right after records were delivered the reader takes one short nap ([`BATCH_NAP`]):
    /// under load the rings fill meanwhile and are drained in batches, and producers never
    /// pay for waking the reader. When a nap brings nothing, the reader sleeps in poll(2)
    /// on every device and the driver wakes it when a record lands, so an idle reader costs
    /// no CPU and never spins. Each poll is bounded by `max_idle_sleep` (a safety net
    /// should a wakeup be missed).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        let mut fds: Vec<libc::pollfd> = self
            .cpus
            .iter()
            .map(|c| libc::pollfd {
                fd: c.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        loop {
            if self.has_data() {
                return true;
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return false;
            }
            if std::mem::take(&mut self.active) {
                std::thread::sleep(BATCH_NAP.min(timeout - elapsed));
                continue;
            }
            let step = (timeout - elapsed).min(self.max_idle_sleep);
            // Round up so a sub-millisecond remainder still sleeps.
            let ms = step.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
            // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if rc < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                // poll itself failed (it cannot for valid fds): fall back to a plain sleep.
                std::thread::sleep(step);
            }
        }
    }

    /// Capture statistics since this source was opened, summed over CPUs.
    pub fn stats(&self) -> KmodStats {
        let mut sum = RingCounters::default();
        for cpu in &self.cpus {
            sum.add(&cpu.ring.counters().since(&cpu.baseline));
        }
        KmodStats {
            events: sum.events,
            drops_full: sum.drops_full,
            drops_fault: sum.drops_fault,
            truncated: sum.truncated,
            corrupt: self.corrupt,
            delivered: self.delivered,
        }
    }

    /// The driver's own per-ring counters through the stats ioctl (cumulative since load).
    pub fn driver_stats(&self) -> Result<Vec<falco_stats>, KmodError> {
        let mut all = Vec::with_capacity(self.cpus.len());
        for cpu in &self.cpus {
            let mut stats = falco_stats::default();
            ioctl_ptr(
                &cpu.file,
                &cpu.path,
                abi::IOCTL_STATS,
                &mut stats,
                "stats ioctl",
            )?;
            all.push(stats);
        }
        Ok(all)
    }
}

impl Drop for KmodSource {
    fn drop(&mut self) {
        // Closing the devices disables capture in the driver too; this only makes it prompt.
        let _ = self.disable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_ring_takes_the_smallest_timestamp() {
        let heads = [Some(30), None, Some(10), Some(20)];
        assert_eq!(earliest_ring(4, |i| heads[i]), Some(2));
        assert_eq!(earliest_ring(2, |_| None), None);
    }

    #[test]
    fn earliest_ring_sees_a_record_published_on_a_ring_already_scanned_empty() {
        // Ring 0 is empty when scanned; then a thread writes there (ts 5), moves, and writes
        // on ring 1 (ts 10) before ring 1 is scanned. The ts-5 record must come first.
        let mut looks = [0u32; 2];
        let picked = earliest_ring(2, |i| {
            looks[i] += 1;
            match (i, looks[i]) {
                (0, 1) => None,
                (0, _) => Some(5),
                _ => Some(10),
            }
        });
        assert_eq!(picked, Some(0));
        assert_eq!(looks[0], 2, "the ring found empty is looked at again");
    }

    #[test]
    fn interest_bitmap_round_trips_and_rejects_out_of_range_ids() {
        let ids = [3u16, 186, 293, 307, 511];
        let bitmap = interest_bitmap(&ids).expect("valid ids");
        assert_eq!(bitmap.bits[0], 1 << 3);
        assert_eq!(interest_ids(&bitmap), ids.to_vec());
        assert!(matches!(
            interest_bitmap(&[512]),
            Err(KmodError::EventIdRange { id: 512, .. })
        ));
    }

    #[test]
    fn interest_maps_rule_ids_by_name_to_what_the_driver_records() {
        use crate::event::table;
        // What the driver reports for open, openat, execve, close, read and procexit.
        let supported = [3u16, 5, 7, 186, 293, 307];
        let wanted: Vec<u16> = ["open", "openat", "ptrace"]
            .iter()
            .flat_map(|n| table::ids_for_name(n))
            .collect();
        let r = interest_for(&supported, &wanted, false);
        assert_eq!(r.recorded, vec![3, 307]);
        assert_eq!(r.unavailable, vec!["ptrace"]);
        // The state tracker's needs come on top; read (7) is asked by nobody.
        let r = interest_for(&supported, &table::ids_for_name("open"), true);
        assert_eq!(r.recorded, vec![3, 5, 186, 293, 307]);
        assert!(r.unavailable.contains(&"clone"));
        assert!(!r.recorded.contains(&7));
    }

    #[test]
    fn state_event_names_are_event_names() {
        for name in STATE_EVENT_NAMES {
            assert!(
                crate::event::table::is_known_name(name),
                "{name} is not an event name"
            );
        }
    }

    #[test]
    fn open_without_the_module_says_it_is_not_loaded() {
        let dir = std::env::temp_dir().join(format!("falco-kmod-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let opts = KmodOptions {
            device_dir: dir.clone(),
            ..KmodOptions::default()
        };
        match KmodSource::open(&opts) {
            Err(e @ KmodError::NotLoaded { .. }) => {
                assert!(e.to_string().contains("falco0"), "{e}");
                assert!(e.to_string().contains("modprobe falco"), "{e}");
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a source without devices"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
