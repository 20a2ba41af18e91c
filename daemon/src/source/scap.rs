//! Reader for `.scap` capture files (sysdig/Falco): gzip or plain, format versions 1.0–1.2,
//! section header, machine info, interface/user/group lists, process list V1–V9, fd lists
//! v1/v2 and event blocks (EV/EVF, v1/v2/large). Old v1 event headers are upgraded to the v2
//! layout (nparams inferred from the lengths) so consumers see one layout only.
//!
//! Bad input never panics and never allocates more than the data actually present: every
//! error names the byte offset (in the uncompressed stream), unknown block and event types
//! are skipped and counted, and events decoded before an error have already been delivered.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::event::{self, table, Event, EventHeader, HEADER_LEN, HEADER_V1_LEN};

/// Block type ids (hex, as in libscap).
mod block {
    pub const SHB: u32 = 0x0A0D_0D0A;
    pub const MI: u32 = 0x201;
    pub const MI_INT: u32 = 0x8002_ABCD;
    pub const PL_V1: u32 = 0x202;
    pub const PL_V1_INT: u32 = 0x8000_ABCD;
    pub const PL_V2: u32 = 0x207;
    pub const PL_V2_INT: u32 = 0x8013_ABCD;
    pub const PL_V3: u32 = 0x209;
    pub const PL_V3_INT: u32 = 0x8014_ABCD;
    pub const PL_V4: u32 = 0x210;
    pub const PL_V5: u32 = 0x211;
    pub const PL_V6: u32 = 0x212;
    pub const PL_V7: u32 = 0x213;
    pub const PL_V8: u32 = 0x214;
    pub const PL_V9: u32 = 0x215;
    pub const FDL: u32 = 0x203;
    pub const FDL_INT: u32 = 0x8001_ABCD;
    pub const FDL_V2: u32 = 0x218;
    pub const EV: u32 = 0x204;
    pub const EV_INT: u32 = 0x8010_ABCD;
    pub const EV_V2: u32 = 0x216;
    pub const EV_V2_LARGE: u32 = 0x221;
    pub const EVF: u32 = 0x208;
    pub const EVF_V2: u32 = 0x217;
    pub const EVF_V2_LARGE: u32 = 0x222;
    pub const IL: u32 = 0x205;
    pub const IL_INT: u32 = 0x8011_ABCD;
    pub const IL_V2: u32 = 0x219;
    pub const UL: u32 = 0x206;
    pub const UL_INT: u32 = 0x8012_ABCD;
    pub const UL_V2: u32 = 0x220;
}

const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Largest block the reader accepts (metadata blocks of very large hosts fit; a corrupt
/// length beyond this is an error rather than an allocation).
const MAX_BLOCK_LEN: u32 = 512 << 20;
/// Size of the read buffer (and of each read from the input). Blocks are parsed in place in
/// it; a longer block grows it only as its bytes arrive.
const READ_CHUNK: usize = 1 << 18;
/// Largest non-large event block body (libscap's READER_BUF_SIZE).
const MAX_EVENT_BLOCK_BODY: u32 = 65536;
/// EVF flag: the event only updates state and must not reach rules or outputs.
pub const FLAG_STATE_ONLY: u32 = 1;

/// A reader error: what went wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: byte offset {offset}: {msg}")]
    Format {
        path: String,
        offset: u64,
        msg: String,
    },
}

impl ScapError {
    /// Byte offset (uncompressed stream) of a format error.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ScapError::Format { offset, .. } => Some(*offset),
            ScapError::Io { .. } => None,
        }
    }
}

/// Machine info block.
#[derive(Clone, Debug, Default)]
pub struct MachineInfo {
    pub num_cpus: u32,
    pub memory_size_bytes: u64,
    pub max_pid: u64,
    pub hostname: String,
    pub boot_ts_epoch: u64,
    pub flags: u64,
}

/// One interface address.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub addr: std::net::IpAddr,
    pub netmask: std::net::IpAddr,
}

/// One user of the user list.
#[derive(Clone, Debug, Default)]
pub struct UserEntry {
    pub uid: u32,
    pub gid: u32,
    pub name: Vec<u8>,
    pub homedir: Vec<u8>,
    pub shell: Vec<u8>,
}

/// One group of the group list.
#[derive(Clone, Debug, Default)]
pub struct GroupEntry {
    pub gid: u32,
    pub name: Vec<u8>,
}

/// One thread of the process list (fields absent in old versions keep their defaults).
#[derive(Clone, Debug)]
pub struct ThreadEntry {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub pgid: i64,
    pub comm: Vec<u8>,
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    /// argv[1..], each NUL-terminated.
    pub args: Vec<u8>,
    pub cwd: Vec<u8>,
    pub fdlimit: i64,
    pub flags: u32,
    pub uid: u32,
    pub gid: u32,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    pub env: Vec<u8>,
    pub vtid: i64,
    pub vpid: i64,
    pub cgroups: Vec<u8>,
    pub root: Vec<u8>,
    pub pidns_init_start_ts: u64,
    pub tty: u32,
    pub loginuid: u32,
    pub exe_writable: bool,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub exe_upper_layer: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime: u64,
    pub exe_ino_mtime: u64,
    pub exe_from_memfd: bool,
    pub exe_lower_layer: bool,
}

impl Default for ThreadEntry {
    fn default() -> Self {
        ThreadEntry {
            tid: -1,
            pid: -1,
            ptid: -1,
            sid: -1,
            vpgid: -1,
            pgid: -1,
            comm: Vec::new(),
            exe: Vec::new(),
            exepath: Vec::new(),
            args: Vec::new(),
            cwd: Vec::new(),
            fdlimit: 0,
            flags: 0,
            uid: 0,
            gid: 0,
            vmsize_kb: 0,
            vmrss_kb: 0,
            vmswap_kb: 0,
            pfmajor: 0,
            pfminor: 0,
            env: Vec::new(),
            vtid: -1,
            vpid: -1,
            cgroups: Vec::new(),
            root: Vec::new(),
            pidns_init_start_ts: 0,
            tty: 0,
            loginuid: u32::MAX,
            exe_writable: false,
            cap_inheritable: 0,
            cap_permitted: 0,
            cap_effective: 0,
            exe_upper_layer: false,
            exe_ino: 0,
            exe_ino_ctime: 0,
            exe_ino_mtime: 0,
            exe_from_memfd: false,
            exe_lower_layer: false,
        }
    }
}

/// Kind of an fd-list entry (`scap_fd_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FdKind {
    #[default]
    Unknown,
    File,
    Directory,
    Ipv4Sock,
    Ipv6Sock,
    Ipv4ServSock,
    Ipv6ServSock,
    Fifo,
    UnixSock,
    Event,
    Unsupported,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    Bpf,
    Userfaultfd,
    IoUring,
    Memfd,
    Pidfd,
}

/// One fd of the fd list.
#[derive(Clone, Debug, Default)]
pub struct FdEntry {
    pub tid: i64,
    pub fd: i64,
    pub ino: u64,
    pub kind: FdKind,
    pub name: Vec<u8>,
    pub open_flags: u32,
    pub dev: u32,
    /// Socket endpoints (server sockets: `sip`/`sport` only).
    pub sip: Option<std::net::IpAddr>,
    pub dip: Option<std::net::IpAddr>,
    pub sport: u16,
    pub dport: u16,
    pub l4proto: u8,
    /// Unix sockets: kernel socket addresses.
    pub unix_source: u64,
    pub unix_dest: u64,
}

/// Per-event metadata from the event block.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventMeta {
    pub cpu: u16,
    /// EVF flags ([`FLAG_STATE_ONLY`]).
    pub flags: u32,
    /// This event starts a new section of a concatenated capture: the reader's tables were
    /// replaced (rebuild the state from them before processing the event).
    pub new_section: bool,
}

/// Counters of what the reader skipped.
#[derive(Clone, Debug, Default)]
pub struct ReaderStats {
    pub events: u64,
    pub skipped_unknown_event_types: u64,
    pub skipped_unknown_blocks: u64,
    pub sections: u64,
}

/// Streaming reader of one capture file.
pub struct Reader {
    input: Box<dyn Read + Send>,
    path: String,
    /// Uncompressed offset of `buf[pos]`: the bytes consumed so far.
    offset: u64,
    /// Read buffer: `buf[pos..filled]` is read but not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Body (without header and trailer) of the last block, in `buf`; valid until the next
    /// read.
    body: Range<usize>,
    block_type: u32,
    block_offset: u64,
    pending_event_block: bool,
    /// Where the current event's bytes are: in `buf` (v2 blocks, no copy) or in `event`
    /// (v1 blocks upgraded to the v2 layout).
    current: Option<(EventBytes, EventHeader)>,
    event: Vec<u8>,
    cpu: u16,
    flags: u32,
    new_section: bool,
    pub machine: Option<MachineInfo>,
    pub interfaces: Vec<Interface>,
    pub users: Vec<UserEntry>,
    pub groups: Vec<GroupEntry>,
    pub threads: Vec<ThreadEntry>,
    pub fds: Vec<FdEntry>,
    pub version: (u16, u16),
    pub stats: ReaderStats,
}

enum BlockRead {
    Eof,
    Block,
}

#[derive(Clone, Debug)]
enum EventBytes {
    InBuffer(Range<usize>),
    Upgraded,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8], base: u64) -> Self {
        Cursor { b, pos: 0, base }
    }
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!(
                "{what}: needs {n} bytes, {} left in the block",
                self.remaining()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, w: &str) -> Result<u8, String> {
        Ok(self.take(1, w)?[0])
    }
    fn u16(&mut self, w: &str) -> Result<u16, String> {
        let s = self.take(2, w)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, w: &str) -> Result<u32, String> {
        let s = self.take(4, w)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self, w: &str) -> Result<u64, String> {
        let s = self.take(8, w)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn i64(&mut self, w: &str) -> Result<i64, String> {
        Ok(self.u64(w)? as i64)
    }
    fn str16(&mut self, w: &str, max: usize) -> Result<Vec<u8>, String> {
        let l = self.u16(w)? as usize;
        if l > max {
            return Err(format!("{w}: length {l} exceeds the limit {max}"));
        }
        Ok(self.take(l, w)?.to_vec())
    }
}

fn ipv4(b: &[u8]) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}
fn ipv6(b: &[u8]) -> std::net::IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    let v6 = std::net::Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) => std::net::IpAddr::V4(v4),
        None => std::net::IpAddr::V6(v6),
    }
}

impl Reader {
    /// Opens a capture file (gzip detected by its magic) and reads its metadata blocks.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader, ScapError> {
        let p: PathBuf = path.as_ref().to_path_buf();
        let name = p.display().to_string();
        let f = File::open(&p).map_err(|e| ScapError::Io {
            path: name.clone(),
            source: e,
        })?;
        let mut buf = BufReader::with_capacity(1 << 16, f);
        let magic = buf.fill_buf().map_err(|e| ScapError::Io {
            path: name.clone(),
            source: e,
        })?;
        // The reader buffers by itself: a plain file is read straight into its buffer.
        let input: Box<dyn Read + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(buf))
        } else {
            Box::new(buf)
        };
        Reader::from_reader(input, name)
    }

    /// A reader with the given tables and no events (the live system's snapshot, see
    /// [`super::procfs`]): `next_event` returns `None` at once.
    pub fn from_tables(
        name: String,
        machine: MachineInfo,
        users: Vec<UserEntry>,
        groups: Vec<GroupEntry>,
        threads: Vec<ThreadEntry>,
        fds: Vec<FdEntry>,
    ) -> Reader {
        Reader {
            input: Box::new(std::io::empty()),
            path: name,
            offset: 0,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            body: 0..0,
            block_type: 0,
            block_offset: 0,
            pending_event_block: false,
            current: None,
            event: Vec::new(),
            cpu: 0,
            flags: 0,
            new_section: false,
            machine: Some(machine),
            interfaces: Vec::new(),
            users,
            groups,
            threads,
            fds,
            version: (1, 2),
            stats: ReaderStats::default(),
        }
    }

    /// Reads a capture from any byte stream (already decompressed); `name` is used in errors.
    pub fn from_reader(input: Box<dyn Read + Send>, name: String) -> Result<Reader, ScapError> {
        let mut r = Reader {
            input,
            path: name,
            offset: 0,
            buf: vec![0; READ_CHUNK],
            pos: 0,
            filled: 0,
            body: 0..0,
            block_type: 0,
            block_offset: 0,
            pending_event_block: false,
            current: None,
            event: Vec::new(),
            cpu: 0,
            flags: 0,
            new_section: false,
            machine: None,
            interfaces: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            threads: Vec::new(),
            fds: Vec::new(),
            version: (0, 0),
            stats: ReaderStats::default(),
        };
        match r.read_block()? {
            BlockRead::Eof => return Err(r.err(0, "empty file: no section header block")),
            BlockRead::Block => {}
        }
        if r.block_type != block::SHB {
            return Err(r.err(
                0,
                &format!(
                    "not a scap capture: first block type {:#010x}, expected the section header {:#010x}",
                    r.block_type,
                    block::SHB
                ),
            ));
        }
        r.read_section()?;
        Ok(r)
    }

    fn err(&self, offset: u64, msg: &str) -> ScapError {
        ScapError::Format {
            path: self.path.clone(),
            offset,
            msg: msg.to_string(),
        }
    }

    /// Makes `n` unconsumed bytes available in `buf[pos..]` if the input has them; returns
    /// how many are available (fewer than `n` only at the end of the input). The buffer grows
    /// only when it is full of unconsumed data, to at most twice what it holds: memory
    /// follows the bytes actually present, not a length read from the file.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        if self.filled - self.pos >= n {
            return Ok(n);
        }
        self.buf.copy_within(self.pos..self.filled, 0);
        self.filled -= self.pos;
        self.pos = 0;
        if self.buf.len() > 4 * READ_CHUNK && n <= READ_CHUNK && self.filled <= READ_CHUNK {
            // A huge metadata block is behind us: give its memory back.
            self.buf.truncate(READ_CHUNK);
            self.buf.shrink_to_fit();
        }
        while self.filled < n {
            if self.filled == self.buf.len() {
                let len = self.buf.len();
                let grown = (2 * len).max(READ_CHUNK).min(n.max(READ_CHUNK));
                self.buf.resize(grown, 0);
            }
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => break,
                Ok(k) => self.filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((self.filled - self.pos).min(n))
    }

    fn fill_or_err(&mut self, n: usize) -> Result<usize, ScapError> {
        self.fill(n).map_err(|e| {
            self.err(
                self.offset + (self.filled - self.pos) as u64,
                &format!("read error (corrupt compressed data?): {e}"),
            )
        })
    }

    fn buf_u32(&self, at: usize) -> u32 {
        let b = &self.buf[self.pos + at..self.pos + at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Reads the next block; its body is `buf[body]` until the next read.
    fn read_block(&mut self) -> Result<BlockRead, ScapError> {
        let start = self.offset;
        let got = self.fill_or_err(8)?;
        if got == 0 {
            return Ok(BlockRead::Eof);
        }
        if got < 8 {
            return Err(self.err(
                start + got as u64,
                &format!("truncated file: block header needs 8 bytes, only {got} present"),
            ));
        }
        let btype = self.buf_u32(0);
        if start == 0 && btype != block::SHB {
            return Err(self.err(
                0,
                &format!(
                    "not a scap capture: first block type {btype:#010x}, expected the section header {:#010x}",
                    block::SHB
                ),
            ));
        }
        let total = self.buf_u32(4);
        if total < 12 {
            return Err(self.err(
                start + 4,
                &format!("block {btype:#x}: total length {total} is smaller than 12"),
            ));
        }
        if total > MAX_BLOCK_LEN {
            return Err(self.err(
                start + 4,
                &format!(
                    "block {btype:#x}: total length {total} exceeds the {MAX_BLOCK_LEN}-byte limit"
                ),
            ));
        }
        let total = total as usize;
        let body_len = total - 12;
        let got = self.fill_or_err(total)?;
        if got < 8 + body_len {
            return Err(self.err(
                start + got as u64,
                &format!(
                    "truncated file: block {btype:#x} declares {body_len} body bytes, only {} present",
                    got - 8
                ),
            ));
        }
        if got < total {
            return Err(self.err(
                start + got as u64,
                &format!(
                    "truncated file: block trailer needs 4 bytes, only {} present",
                    got - 8 - body_len
                ),
            ));
        }
        let trailer = self.buf_u32(total - 4);
        if trailer as usize != total {
            return Err(self.err(
                start + total as u64 - 4,
                &format!(
                    "block {btype:#x}: trailer length {trailer} differs from header length {total}"
                ),
            ));
        }
        self.body = self.pos + 8..self.pos + 8 + body_len;
        self.pos += total;
        self.offset += total as u64;
        self.block_type = btype;
        self.block_offset = start + 8;
        Ok(BlockRead::Block)
    }

    fn is_event_block(t: u32) -> bool {
        matches!(
            t,
            block::EV
                | block::EV_INT
                | block::EV_V2
                | block::EV_V2_LARGE
                | block::EVF
                | block::EVF_V2
                | block::EVF_V2_LARGE
        )
    }

    /// Parses the SHB in `self.block`, then metadata blocks up to the first event block.
    fn read_section(&mut self) -> Result<(), ScapError> {
        let base = self.block_offset;
        {
            let mut c = Cursor::new(&self.buf[self.body.clone()], base);
            let r: Result<(u32, u16, u16), String> = (|| {
                Ok((
                    c.u32("byte order magic")?,
                    c.u16("major version")?,
                    c.u16("minor version")?,
                ))
            })();
            let (magic, major, minor) = r.map_err(|m| self.err(base, &m))?;
            if magic != BYTE_ORDER_MAGIC {
                return Err(self.err(
                    base,
                    &format!("invalid byte order magic {magic:#010x} (expected {BYTE_ORDER_MAGIC:#010x})"),
                ));
            }
            if major != 1 {
                return Err(self.err(
                    base + 4,
                    &format!("unsupported capture format version {major}.{minor} (this reader handles 1.x)"),
                ));
            }
            self.version = (major, minor);
        }
        self.stats.sections += 1;
        self.threads.clear();
        self.fds.clear();
        loop {
            match self.read_block()? {
                BlockRead::Eof => {
                    return Err(self.err(self.offset, "no events in file"));
                }
                BlockRead::Block => {}
            }
            if Self::is_event_block(self.block_type) {
                self.pending_event_block = true;
                return Ok(());
            }
            let base = self.block_offset;
            let buf = std::mem::take(&mut self.buf);
            let res = self.parse_metadata(self.block_type, &buf[self.body.clone()], base);
            self.buf = buf;
            res.map_err(|(off, m)| self.err(off, &m))?;
        }
    }

    fn parse_metadata(&mut self, btype: u32, b: &[u8], base: u64) -> Result<(), (u64, String)> {
        let mut c = Cursor::new(b, base);
        let wrap = |c: &Cursor<'_>, m: String| (c.offset(), m);
        match btype {
            block::MI | block::MI_INT => {
                let r: Result<MachineInfo, String> = (|| {
                    let num_cpus = c.u32("num_cpus")?;
                    let memory_size_bytes = c.u64("memory_size_bytes")?;
                    let max_pid = c.u64("max_pid")?;
                    let host = c.take(128, "hostname")?;
                    let hostname = String::from_utf8_lossy(event::decode::cstr(host)).into_owned();
                    let boot_ts_epoch = c.u64("boot_ts_epoch")?;
                    let flags = c.u64("flags")?;
                    Ok(MachineInfo {
                        num_cpus,
                        memory_size_bytes,
                        max_pid,
                        hostname,
                        boot_ts_epoch,
                        flags,
                    })
                })();
                self.machine = Some(r.map_err(|m| wrap(&c, format!("machine info: {m}")))?);
            }
            block::IL | block::IL_INT | block::IL_V2 => {
                self.interfaces.clear();
                let v2 = btype == block::IL_V2;
                while c.remaining() >= 4 {
                    let entry_start = c.pos;
                    let entry_len = if v2 {
                        Some(c.u32("interface entry length").map_err(|m| wrap(&c, m))? as usize)
                    } else {
                        None
                    };
                    let body_start = c.pos;
                    let r: Result<(), String> = (|| {
                        let t = c.u16("interface type")?;
                        let namelen = c.u16("interface name length")? as usize;
                        let (addr, mask) = match t {
                            1 | 3 => {
                                let a = ipv4(c.take(4, "ipv4 address")?);
                                let m = ipv4(c.take(4, "ipv4 netmask")?);
                                c.take(4, "ipv4 broadcast")?;
                                if t == 1 {
                                    c.u64("link speed")?;
                                }
                                (a, m)
                            }
                            2 | 4 => {
                                let a = ipv6(c.take(16, "ipv6 address")?);
                                let m = ipv6(c.take(16, "ipv6 netmask")?);
                                c.take(16, "ipv6 broadcast")?;
                                if t == 2 {
                                    c.u64("link speed")?;
                                }
                                (a, m)
                            }
                            other => return Err(format!("unknown interface type {other}")),
                        };
                        let name = String::from_utf8_lossy(c.take(namelen, "interface name")?)
                            .into_owned();
                        self.interfaces.push(Interface {
                            name,
                            addr,
                            netmask: mask,
                        });
                        Ok(())
                    })();
                    r.map_err(|m| wrap(&c, m))?;
                    if let Some(l) = entry_len {
                        let end = body_start + l;
                        if end > b.len() || end < c.pos {
                            return Err((
                                base + entry_start as u64,
                                format!("interface entry length {l} is inconsistent"),
                            ));
                        }
                        c.pos = end;
                    }
                }
            }
            block::UL | block::UL_INT | block::UL_V2 => {
                self.users.clear();
                self.groups.clear();
                let v2 = btype == block::UL_V2;
                while c.remaining() >= 4 {
                    let entry_start = c.pos;
                    let entry_len = if v2 {
                        Some(c.u32("user entry length").map_err(|m| wrap(&c, m))? as usize)
                    } else {
                        None
                    };
                    let r: Result<(), String> = (|| {
                        let kind = c.u8("user/group kind")?;
                        if kind == 0 {
                            let uid = c.u32("uid")?;
                            let gid = c.u32("gid")?;
                            let name = c.str16("user name", 255)?;
                            let homedir = c.str16("home directory", 255)?;
                            let shell = c.str16("shell", 255)?;
                            self.users.push(UserEntry {
                                uid,
                                gid,
                                name,
                                homedir,
                                shell,
                            });
                        } else {
                            let gid = c.u32("gid")?;
                            let name = c.str16("group name", 255)?;
                            self.groups.push(GroupEntry { gid, name });
                        }
                        Ok(())
                    })();
                    r.map_err(|m| wrap(&c, m))?;
                    if let Some(l) = entry_len {
                        let end = entry_start + l;
                        if end > b.len() || end < c.pos {
                            return Err((
                                base + entry_start as u64,
                                format!("user entry length {l} is inconsistent"),
                            ));
                        }
                        c.pos = end;
                    }
                }
            }
            block::PL_V1
            | block::PL_V1_INT
            | block::PL_V2
            | block::PL_V2_INT
            | block::PL_V3
            | block::PL_V3_INT
            | block::PL_V4
            | block::PL_V5
            | block::PL_V6
            | block::PL_V7
            | block::PL_V8
            | block::PL_V9 => {
                let ver = match btype {
                    block::PL_V1 | block::PL_V1_INT => 1,
                    block::PL_V2 | block::PL_V2_INT => 2,
                    block::PL_V3 | block::PL_V3_INT => 3,
                    block::PL_V4 => 4,
                    block::PL_V5 => 5,
                    block::PL_V6 => 6,
                    block::PL_V7 => 7,
                    block::PL_V8 => 8,
                    _ => 9,
                };
                while c.remaining() >= 4 {
                    let entry_start = c.pos;
                    let t = parse_thread(&mut c, ver).map_err(|m| {
                        (
                            c.offset(),
                            format!("process list entry at {}: {m}", base + entry_start as u64),
                        )
                    })?;
                    self.threads.push(t);
                }
            }
            block::FDL | block::FDL_INT | block::FDL_V2 => {
                let v2 = btype == block::FDL_V2;
                let tid = c.i64("fd list tid").map_err(|m| wrap(&c, m))?;
                while c.remaining() >= 4 {
                    let entry_start = c.pos;
                    let e = parse_fd(&mut c, tid, v2).map_err(|m| {
                        (
                            c.offset(),
                            format!("fd list entry at {}: {m}", base + entry_start as u64),
                        )
                    })?;
                    self.fds.push(e);
                }
            }
            _ => self.stats.skipped_unknown_blocks += 1,
        }
        Ok(())
    }

    /// CPU the last returned event was captured on.
    pub fn cpu(&self) -> u16 {
        self.cpu
    }

    /// EVF flags of the last returned event (0 for EV blocks); see [`FLAG_STATE_ONLY`].
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// True once after a concatenated capture started a new section (the metadata tables
    /// were replaced: state should be rebuilt from them).
    pub fn take_new_section(&mut self) -> bool {
        std::mem::take(&mut self.new_section)
    }

    /// Byte offset (uncompressed) reached so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The capture's name, as errors show it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A reader holding a copy of this one's current tables and no events: what a consumer on
    /// another thread rebuilds its state from (see [`super::prefetch`]).
    pub fn tables(&self) -> Reader {
        let mut r = Reader::from_tables(
            self.path.clone(),
            self.machine.clone().unwrap_or_default(),
            self.users.clone(),
            self.groups.clone(),
            self.threads.clone(),
            self.fds.clone(),
        );
        r.machine.clone_from(&self.machine);
        r.interfaces.clone_from(&self.interfaces);
        r.version = self.version;
        r
    }

    /// Moves to the next event and returns its metadata; `Ok(None)` at the end of the file.
    /// Unknown event types are skipped (counted in `stats`). The event itself is
    /// [`Reader::current`]: a shared borrow, so the caller can read the reader's tables (after
    /// a new section) while holding it.
    pub fn advance(&mut self) -> Result<Option<EventMeta>, ScapError> {
        self.current = None;
        loop {
            if !self.pending_event_block {
                match self.read_block()? {
                    BlockRead::Eof => return Ok(None),
                    BlockRead::Block => {}
                }
                if !Self::is_event_block(self.block_type) {
                    if self.block_type == block::SHB {
                        self.read_section()?;
                        self.new_section = true;
                        continue;
                    }
                    return Err(self.err(
                        self.block_offset - 8,
                        &format!(
                            "unexpected block type {:#x} between events",
                            self.block_type
                        ),
                    ));
                }
            }
            self.pending_event_block = false;
            if let Some(current) = self.decode_event_block()? {
                self.current = Some(current);
                self.stats.events += 1;
                return Ok(Some(EventMeta {
                    cpu: self.cpu,
                    flags: self.flags,
                    new_section: self.take_new_section(),
                }));
            }
        }
    }

    /// The event [`Reader::advance`] moved to (`None` before the first one and at the end).
    pub fn current(&self) -> Option<Event<'_>> {
        let (bytes, header) = self.current.as_ref()?;
        let raw = match bytes {
            EventBytes::InBuffer(range) => self.buf.get(range.clone())?,
            EventBytes::Upgraded => &self.event,
        };
        Some(Event::from_validated(raw, *header))
    }

    /// The next event, `Ok(None)` at the end of the file: [`Reader::advance`] then
    /// [`Reader::current`].
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ScapError> {
        Ok(match self.advance()? {
            Some(_) => self.current(),
            None => None,
        })
    }

    /// Validates the event block in `buf[body]`: a v2 record is used where it lies, a v1
    /// record is upgraded to the v2 layout in `self.event`. `Ok(None)`: skip the event.
    fn decode_event_block(&mut self) -> Result<Option<(EventBytes, EventHeader)>, ScapError> {
        let t = self.block_type;
        let base = self.block_offset;
        let body = self.body.clone();
        let block = &self.buf[body.clone()];
        let large = matches!(t, block::EV_V2_LARGE | block::EVF_V2_LARGE);
        if !large && block.len() > MAX_EVENT_BLOCK_BODY as usize {
            return Err(self.err(
                base,
                &format!(
                    "event block of {} bytes exceeds the 64 KiB limit",
                    block.len()
                ),
            ));
        }
        let has_flags = matches!(t, block::EVF | block::EVF_V2 | block::EVF_V2_LARGE);
        let v2 = !matches!(t, block::EV | block::EV_INT | block::EVF);
        let pos = 2 + if has_flags { 4 } else { 0 };
        if block.len() < pos {
            return Err(self.err(base, "event block too short for its cpu id"));
        }
        self.cpu = u16::from_le_bytes([block[0], block[1]]);
        self.flags = if has_flags {
            u32::from_le_bytes([block[2], block[3], block[4], block[5]])
        } else {
            0
        };
        let ev = &block[pos..];
        let hdr = if v2 { HEADER_LEN } else { HEADER_V1_LEN };
        if ev.len() < hdr {
            return Err(self.err(
                base + pos as u64,
                &format!("event header needs {hdr} bytes, block has {}", ev.len()),
            ));
        }
        let mut len = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]) as usize;
        let etype = u16::from_le_bytes([ev[20], ev[21]]);
        let info = table::info(etype);
        if info.is_none() {
            self.stats.skipped_unknown_event_types += 1;
            return Ok(None);
        }
        if v2 {
            let end = len.min(ev.len());
            return match Event::parse(&ev[..end]) {
                Ok(e) => {
                    let start = body.start + pos;
                    Ok(Some((EventBytes::InBuffer(start..start + end), e.header())))
                }
                Err(e) => Err(self.err(base + pos as u64, &format!("event type {etype}: {e}"))),
            };
        }
        // v1: infer nparams from the lengths.
        if etype == 280 || etype == 286 {
            len = len.saturating_sub(3);
        }
        if len < hdr || len > ev.len() {
            return Err(self.err(
                base + pos as u64 + 16,
                &format!(
                    "event type {etype}: length {len} inconsistent with its block ({} bytes)",
                    ev.len()
                ),
            ));
        }
        let lensize = if event::uses_large_lengths(etype) {
            4
        } else {
            2
        };
        let max_n = info.map(|i| i.params.len()).unwrap_or(0);
        let mut found = None;
        for n in (0..=max_n).rev() {
            let table_end = hdr + n * lensize;
            if table_end > len {
                continue;
            }
            let mut sum = table_end;
            for i in 0..n {
                let o = hdr + i * lensize;
                sum += if lensize == 4 {
                    u32::from_le_bytes([ev[o], ev[o + 1], ev[o + 2], ev[o + 3]]) as usize
                } else {
                    u16::from_le_bytes([ev[o], ev[o + 1]]) as usize
                };
            }
            if sum == len {
                found = Some(n);
                break;
            }
            if sum < len {
                break;
            }
        }
        let Some(n) = found else {
            return Err(self.err(
                base + pos as u64,
                &format!(
                    "event type {etype}: parameter lengths do not add up to the event length {len}"
                ),
            ));
        };
        self.event.clear();
        self.event.extend_from_slice(&ev[..16]);
        self.event
            .extend_from_slice(&((len + 4) as u32).to_le_bytes());
        self.event.extend_from_slice(&etype.to_le_bytes());
        self.event.extend_from_slice(&(n as u32).to_le_bytes());
        self.event.extend_from_slice(&ev[hdr..len]);
        match Event::parse(&self.event) {
            Ok(e) => Ok(Some((EventBytes::Upgraded, e.header()))),
            Err(e) => Err(self.err(base, &format!("event type {etype}: {e}"))),
        }
    }
}

fn parse_thread(c: &mut Cursor<'_>, ver: u32) -> Result<ThreadEntry, String> {
    let mut t = ThreadEntry::default();
    let start = c.pos;
    let entry_len = if ver == 9 {
        Some(c.u32("entry length")? as usize)
    } else {
        None
    };
    t.tid = c.i64("tid")?;
    t.pid = c.i64("pid")?;
    t.ptid = c.i64("ptid")?;
    if ver >= 6 {
        t.sid = c.i64("sid")?;
    }
    if ver >= 8 {
        t.vpgid = c.i64("vpgid")?;
    }
    t.comm = c.str16("comm", 1024)?;
    t.exe = c.str16("exe", 1024)?;
    if ver >= 7 {
        t.exepath = c.str16("exepath", 1024)?;
    }
    t.args = c.str16("args", 4096)?;
    t.cwd = c.str16("cwd", 1024)?;
    t.fdlimit = c.i64("fdlimit")?;
    t.flags = c.u32("flags")?;
    t.uid = c.u32("uid")?;
    t.gid = c.u32("gid")?;
    if ver >= 2 {
        t.vmsize_kb = c.u32("vmsize")?;
        t.vmrss_kb = c.u32("vmrss")?;
        t.vmswap_kb = c.u32("vmswap")?;
        t.pfmajor = c.u64("pfmajor")?;
        t.pfminor = c.u64("pfminor")?;
    }
    if ver >= 3 {
        t.env = c.str16("env", 4096)?;
    }
    if ver >= 4 {
        t.vtid = c.i64("vtid")?;
        t.vpid = c.i64("vpid")?;
        t.cgroups = c.str16("cgroups", 4096)?;
    }
    if ver >= 5 {
        t.root = c.str16("root", 1024)?;
    }
    if let Some(elen) = entry_len {
        let end = start + elen;
        if elen < 4 || end > c.b.len() || end < c.pos {
            return Err(format!(
                "entry length {elen} is inconsistent with its fields"
            ));
        }
        let room = |c: &Cursor<'_>, n: usize| c.pos + n <= end;
        // Entries written before libs 0.10 lack pidns_init_start_ts and tty.
        if end - c.pos > 29 {
            t.pidns_init_start_ts = c.u64("pidns_init_start_ts")?;
            t.tty = c.u32("tty")?;
        }
        if room(c, 4) {
            t.loginuid = c.u32("loginuid")?;
        }
        if room(c, 1) {
            t.exe_writable = c.u8("exe_writable")? != 0;
        }
        if room(c, 24) {
            t.cap_inheritable = c.u64("cap_inheritable")?;
            t.cap_permitted = c.u64("cap_permitted")?;
            t.cap_effective = c.u64("cap_effective")?;
        }
        if room(c, 1) {
            t.exe_upper_layer = c.u8("exe_upper_layer")? != 0;
        }
        if room(c, 8) {
            t.exe_ino = c.u64("exe_ino")?;
        }
        if room(c, 16) {
            t.exe_ino_ctime = c.u64("exe_ino_ctime")?;
            t.exe_ino_mtime = c.u64("exe_ino_mtime")?;
        }
        if room(c, 1) {
            t.exe_from_memfd = c.u8("exe_from_memfd")? != 0;
        }
        if room(c, 1) {
            t.exe_lower_layer = c.u8("exe_lower_layer")? != 0;
        }
        if room(c, 8) {
            t.pgid = c.i64("pgid")?;
        }
        c.pos = end;
    }
    Ok(t)
}

fn parse_fd(c: &mut Cursor<'_>, tid: i64, v2: bool) -> Result<FdEntry, String> {
    let start = c.pos;
    let entry_len = if v2 {
        Some(c.u32("entry length")? as usize)
    } else {
        None
    };
    let fd = c.i64("fd")?;
    let ino = c.u64("ino")?;
    let t = c.u8("fd type")?;
    let mut e = FdEntry {
        tid,
        fd,
        ino,
        ..FdEntry::default()
    };
    let named = |k: FdKind, c: &mut Cursor<'_>, e: &mut FdEntry| -> Result<(), String> {
        e.kind = k;
        e.name = c.str16("fd name", 4096)?;
        Ok(())
    };
    match t {
        0 => {}
        1 => named(FdKind::File, c, &mut e)?,
        2 => named(FdKind::Directory, c, &mut e)?,
        3 => {
            e.kind = FdKind::Ipv4Sock;
            e.sip = Some(ipv4(c.take(4, "sip")?));
            e.dip = Some(ipv4(c.take(4, "dip")?));
            e.sport = c.u16("sport")?;
            e.dport = c.u16("dport")?;
            e.l4proto = c.u8("l4proto")?;
        }
        4 => {
            e.kind = FdKind::Ipv6Sock;
            e.sip = Some(ipv6(c.take(16, "sip")?));
            e.dip = Some(ipv6(c.take(16, "dip")?));
            e.sport = c.u16("sport")?;
            e.dport = c.u16("dport")?;
            e.l4proto = c.u8("l4proto")?;
        }
        5 => {
            e.kind = FdKind::Ipv4ServSock;
            e.sip = Some(ipv4(c.take(4, "ip")?));
            e.sport = c.u16("port")?;
            e.l4proto = c.u8("l4proto")?;
        }
        6 => {
            e.kind = FdKind::Ipv6ServSock;
            e.sip = Some(ipv6(c.take(16, "ip")?));
            e.sport = c.u16("port")?;
            e.l4proto = c.u8("l4proto")?;
        }
        7 => named(FdKind::Fifo, c, &mut e)?,
        8 => {
            e.kind = FdKind::UnixSock;
            e.unix_source = c.u64("unix source")?;
            e.unix_dest = c.u64("unix destination")?;
            e.name = c.str16("fd name", 4096)?;
        }
        9 => named(FdKind::Event, c, &mut e)?,
        10 => named(FdKind::Unsupported, c, &mut e)?,
        11 => named(FdKind::Signalfd, c, &mut e)?,
        12 => named(FdKind::Eventpoll, c, &mut e)?,
        13 => named(FdKind::Inotify, c, &mut e)?,
        14 => named(FdKind::Timerfd, c, &mut e)?,
        15 => named(FdKind::Netlink, c, &mut e)?,
        16 => {
            e.kind = FdKind::File;
            e.open_flags = c.u32("open flags")?;
            e.name = c.str16("fd name", 4096)?;
            // Only v2 entries (with a length) can carry dev.
            let has_dev = match entry_len {
                Some(l) => c.pos + 4 <= start + l,
                None => false,
            };
            if has_dev {
                e.dev = c.u32("dev")?;
            }
        }
        17 => named(FdKind::Bpf, c, &mut e)?,
        18 => named(FdKind::Userfaultfd, c, &mut e)?,
        19 => named(FdKind::IoUring, c, &mut e)?,
        20 => named(FdKind::Memfd, c, &mut e)?,
        21 => named(FdKind::Pidfd, c, &mut e)?,
        other => {
            if entry_len.is_none() {
                return Err(format!("unknown fd type {other} in a v1 fd list"));
            }
            e.kind = FdKind::Unsupported;
            e.name = format!("unknown-type:[{other}]").into_bytes();
        }
    }
    if let Some(l) = entry_len {
        let end = start + l;
        if l < 4 || end > c.b.len() || (end < c.pos && t <= 21) {
            return Err(format!("entry length {l} is inconsistent"));
        }
        c.pos = end;
    }
    Ok(e)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader input that hands out at most `step` bytes per read.
    pub(crate) struct Trickle {
        pub(crate) data: Vec<u8>,
        pub(crate) pos: usize,
        pub(crate) step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(self.step).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn block(btype: u32, body: &[u8]) -> Vec<u8> {
        let total = (body.len() + 12) as u32;
        let mut v = Vec::with_capacity(total as usize);
        v.extend_from_slice(&btype.to_le_bytes());
        v.extend_from_slice(&total.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&total.to_le_bytes());
        v
    }

    fn section_header() -> Vec<u8> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&2u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        block(block::SHB, &shb)
    }

    fn close_enter_type() -> u16 {
        (0..table::EVENT_TYPE_COUNT as u16)
            .find(|&id| table::name_of(id) == "close" && id & 1 == 0)
            .expect("close enter event in the table")
    }

    /// A capture: section header, an unknown metadata block of `filler` bytes, then `n`
    /// close events in EVF v2 blocks with growing payloads (so blocks straddle buffer ends).
    pub(crate) fn capture(filler: usize, n: u64) -> Vec<u8> {
        let mut out = section_header();
        out.extend(block(0x7777, &vec![0xAB; filler]));
        let etype = close_enter_type();
        for i in 0..n {
            let fd = (i as i64).to_le_bytes();
            let pad = vec![b'x'; (i % 997) as usize];
            let ev = event::encode(1000 + i, 42, etype, &[&fd, &pad]);
            let mut body = Vec::new();
            body.extend_from_slice(&((i % 4) as u16).to_le_bytes());
            body.extend_from_slice(&0u32.to_le_bytes());
            body.extend_from_slice(&ev);
            out.extend(block(block::EVF_V2, &body));
        }
        out
    }

    /// A capture whose process list holds thread `tid`, then `n` close events of `tid`
    /// starting at timestamp `ts` (appended to another capture, it starts a new section).
    pub(crate) fn capture_with_thread(tid: i64, ts: u64, n: u64) -> Vec<u8> {
        let thread = ThreadEntry {
            tid,
            pid: tid,
            comm: b"sectioned".to_vec(),
            ..ThreadEntry::default()
        };
        let machine = MachineInfo::default();
        let tables = super::super::scap_write::Tables {
            machine: Some(&machine),
            threads: std::slice::from_ref(&thread),
            ..Default::default()
        };
        let mut w = super::super::scap_write::Writer::new(Vec::new(), tables).expect("writes");
        for i in 0..n {
            let fd = (i as i64).to_le_bytes();
            let ev = event::encode(ts + i, tid, close_enter_type(), &[&fd]);
            w.write_event(0, &ev).expect("writes");
        }
        w.finish().expect("writes")
    }

    fn read_all(input: Box<dyn Read + Send>) -> Result<Vec<(u64, u16, i64, usize)>, ScapError> {
        let mut r = Reader::from_reader(input, "mem".into())?;
        let mut seen = Vec::new();
        while let Some(meta) = r.advance()? {
            let ev = r.current().expect("current event after advance");
            let fd = ev.param_i64(0).unwrap_or(-1);
            seen.push((
                ev.ts(),
                meta.cpu,
                fd,
                ev.param_raw(1).map_or(0, <[u8]>::len),
            ));
        }
        Ok(seen)
    }

    #[test]
    fn events_straddling_buffer_ends_read_the_same_in_any_read_size() {
        let bytes = capture(100, 3000);
        assert!(
            bytes.len() > 3 * READ_CHUNK,
            "capture spans several buffers"
        );
        let whole = read_all(Box::new(io::Cursor::new(bytes.clone()))).expect("reads");
        assert_eq!(whole.len(), 3000);
        for (i, &(ts, cpu, fd, pad)) in whole.iter().enumerate() {
            assert_eq!(
                (ts, cpu, fd, pad),
                (1000 + i as u64, (i % 4) as u16, i as i64, i % 997)
            );
        }
        for step in [1, 7, 4096, READ_CHUNK - 1] {
            let data = bytes.clone();
            let trickled = read_all(Box::new(Trickle { data, pos: 0, step })).expect("reads");
            assert_eq!(trickled, whole, "read size {step}");
        }
    }

    #[test]
    fn a_block_larger_than_the_buffer_is_read_and_its_memory_given_back() {
        let filler = 5 * READ_CHUNK;
        let bytes = capture(filler, 10);
        let mut r =
            Reader::from_reader(Box::new(io::Cursor::new(bytes)), "mem".into()).expect("opens");
        assert_eq!(r.stats.skipped_unknown_blocks, 1);
        let mut n = 0;
        while r.advance().expect("reads").is_some() {
            n += 1;
        }
        assert_eq!(n, 10);
        assert!(
            r.buf.len() <= READ_CHUNK,
            "buffer shrank back: {}",
            r.buf.len()
        );
    }

    #[test]
    fn a_corrupt_block_length_allocates_only_what_is_present() {
        let mut bytes = capture(100, 2);
        // The second event block's total length claims 400 MB; its 56 bytes follow.
        let second = section_header().len() + 112 + 56;
        let huge = 400u32 << 20;
        bytes[second + 4..second + 8].copy_from_slice(&huge.to_le_bytes());
        let mut r = Reader::from_reader(Box::new(io::Cursor::new(bytes.clone())), "mem".into())
            .expect("metadata reads");
        assert!(r.advance().expect("first event").is_some());
        let e = r.advance().expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");
        assert_eq!(e.offset(), Some(bytes.len() as u64));
        assert!(
            r.buf.len() <= 2 * READ_CHUNK,
            "buffer {} bytes",
            r.buf.len()
        );
    }
}
