//! Thread and file-descriptor records of the state tables.

use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Kind of an open file descriptor: the capture's `scap_fd_type`, one enum for the fd lists
/// and the state.
pub use crate::source::scap::FdKind;

impl FdKind {
    /// `fd.typechar`.
    pub fn typechar(self) -> u8 {
        match self {
            FdKind::File => b'f',
            FdKind::Directory => b'd',
            FdKind::Ipv4Sock | FdKind::Ipv4ServSock => b'4',
            FdKind::Ipv6Sock | FdKind::Ipv6ServSock => b'6',
            FdKind::Fifo => b'p',
            FdKind::UnixSock => b'u',
            FdKind::Event => b'e',
            FdKind::Signalfd => b's',
            FdKind::Eventpoll => b'l',
            FdKind::Inotify => b'i',
            FdKind::Timerfd => b't',
            FdKind::Netlink => b'n',
            FdKind::Bpf => b'b',
            FdKind::Userfaultfd => b'u',
            FdKind::IoUring => b'r',
            FdKind::Memfd => b'm',
            FdKind::Pidfd => b'P',
            FdKind::Unknown | FdKind::Unsupported => b'o',
        }
    }

    /// `fd.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4Sock | FdKind::Ipv4ServSock => "ipv4",
            FdKind::Ipv6Sock | FdKind::Ipv6ServSock => "ipv6",
            FdKind::Fifo => "pipe",
            FdKind::UnixSock => "unix",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::Pidfd => "pidfd",
            FdKind::Unknown | FdKind::Unsupported => "unknown",
        }
    }

    pub fn is_inet(self) -> bool {
        matches!(
            self,
            FdKind::Ipv4Sock | FdKind::Ipv6Sock | FdKind::Ipv4ServSock | FdKind::Ipv6ServSock
        )
    }

    pub fn is_server(self) -> bool {
        matches!(self, FdKind::Ipv4ServSock | FdKind::Ipv6ServSock)
    }

    /// A connection socket (not a listening one): the kinds with a full tuple.
    pub fn is_connection(self) -> bool {
        matches!(self, FdKind::Ipv4Sock | FdKind::Ipv6Sock)
    }
}

/// Which end of its connection a socket is (libsinsp's fd role flags): set by bind,
/// accept, connect and the first datagram; `None` until then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    None,
    Client,
    Server,
}

/// Layer-4 protocol of a socket (scap numbering).
pub mod l4 {
    pub const UNKNOWN: u8 = 0;
    pub const NA: u8 = 1;
    pub const TCP: u8 = 2;
    pub const UDP: u8 = 3;
    pub const ICMP: u8 = 4;
    pub const RAW: u8 = 5;

    /// `fd.l4proto` string.
    pub fn name(p: u8) -> &'static str {
        match p {
            TCP => "tcp",
            UDP => "udp",
            ICMP => "icmp",
            RAW => "raw",
            _ => "<NA>",
        }
    }

    /// Letter appended to the type char in fd renderings (`<4t>`).
    pub fn letter(p: u8) -> Option<u8> {
        match p {
            TCP => Some(b't'),
            UDP => Some(b'u'),
            ICMP => Some(b'i'),
            RAW => Some(b'r'),
            _ => None,
        }
    }
}

/// One open file descriptor.
#[derive(Clone, Debug, Default)]
pub struct Fd {
    pub kind: FdKind,
    /// Path, socket tuple rendering, pipe name...
    pub name: Vec<u8>,
    /// Name as passed by the process (before path resolution).
    pub name_raw: Vec<u8>,
    pub open_flags: u32,
    pub ino: u64,
    pub dev: u32,
    /// Connection sockets: the tuple `sip:sport->dip:dport` as libsinsp keeps it (`None` is
    /// the zero address of the socket's family). Listening sockets: the bound address in
    /// `sip`/`sport`.
    pub sip: Option<IpAddr>,
    pub dip: Option<IpAddr>,
    pub sport: u16,
    pub dport: u16,
    pub l4proto: u8,
    pub unix_source: u64,
    pub unix_dest: u64,
    /// Set when a socket's name changed with this event (connect/accept...).
    pub name_changed: bool,
    pub cloexec: bool,
    pub role: Role,
}

impl Fd {
    /// The layer-4 protocol libsinsp reports (`fd.l4proto`, the letter in `<4t>`): a
    /// connection socket shows none until it has a role, raw sockets excepted.
    pub fn shown_l4proto(&self) -> u8 {
        match self.kind {
            FdKind::Ipv4Sock | FdKind::Ipv6Sock if self.l4proto == l4::RAW => l4::RAW,
            FdKind::Ipv4Sock | FdKind::Ipv6Sock if self.role == Role::None => l4::NA,
            FdKind::Ipv4Sock | FdKind::Ipv6Sock | FdKind::Ipv4ServSock | FdKind::Ipv6ServSock => {
                self.l4proto
            }
            _ => l4::NA,
        }
    }

    pub fn is_tcp(&self) -> bool {
        self.kind.is_connection() && self.l4proto == l4::TCP
    }
}

/// The fd table of one process (shared by its threads).
#[derive(Clone, Debug, Default)]
pub struct FdTable {
    pub fds: FxHashMap<i64, Fd>,
    /// Threads referring to this table.
    pub refs: u32,
}

/// One thread (the process is the thread whose tid equals its pid).
#[derive(Clone, Debug, Default)]
pub struct Thread {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub pgid: i64,
    pub vtid: i64,
    pub vpid: i64,
    pub comm: Vec<u8>,
    /// argv[0].
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    /// argv[1..], NUL-separated (each item NUL-terminated).
    pub args: Vec<u8>,
    pub env: Vec<u8>,
    /// Working directory, always with a trailing `/`.
    pub cwd: Vec<u8>,
    pub root: Vec<u8>,
    pub cgroups: Vec<u8>,
    pub container_id: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub loginuid: u32,
    pub tty: u32,
    pub fdlimit: i64,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub exe_writable: bool,
    pub exe_upper_layer: bool,
    pub exe_lower_layer: bool,
    pub exe_from_memfd: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime: u64,
    pub exe_ino_mtime: u64,
    pub pidns_init_start_ts: u64,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    /// Creation time (clone) in ns; 0 when the thread came from the process list.
    pub clone_ts: u64,
    /// Time of the last execve (or clone) in ns.
    pub exec_ts: u64,
    pub exited: bool,
    /// Created on the fly for an event of a thread the state did not know (libsinsp's
    /// incomplete thread: name and exe `<NA>`, ids unknown).
    pub stub: bool,
    /// Copy of the last enter event of this thread (old layouts keep arguments there).
    pub last_enter: Vec<u8>,
    /// The thread's last event fd (libsinsp's `lastevent_fd`): the fd its last enter event
    /// named (-1 if none) or the one its last syscall created; 0 for a thread not seen
    /// entering a syscall yet.
    pub last_fd: i64,
}

impl Thread {
    pub fn is_main(&self) -> bool {
        self.tid == self.pid
    }
}

/// A user or group known to the state.
#[derive(Clone, Debug, Default)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub name: Vec<u8>,
    pub home: Vec<u8>,
    pub shell: Vec<u8>,
}

/// Metadata of one container (from the capture's container events).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    pub id: Vec<u8>,
    pub full_id: Vec<u8>,
    pub name: Vec<u8>,
    pub image: Vec<u8>,
    pub image_id: Vec<u8>,
    pub image_repository: Vec<u8>,
    pub image_tag: Vec<u8>,
    pub image_digest: Vec<u8>,
    pub type_name: &'static str,
    pub privileged: Option<bool>,
    pub ip: Vec<u8>,
    pub created_time: i64,
    /// (source, destination, mode, rw, propagation)
    pub mounts: Vec<Mount>,
    pub labels: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One container mount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    pub source: Vec<u8>,
    pub dest: Vec<u8>,
    pub mode: Vec<u8>,
    pub rw: bool,
    pub propagation: Vec<u8>,
}
