//! Event table: event type ids (PPME_*) with their names, directions, flags and parameter
//! schemas, plus the flag/enum name tables used to render and match flag parameters.
//!
//! Ids are the ones of the scap format (see shared/compat/SCAP-FORMAT.md): even = enter,
//! odd = exit; several ids share one `evt.type` name. The table itself is the data file
//! `events.tbl` (one line per id), parsed once on first use.

use std::sync::OnceLock;

mod syscalls;
pub use syscalls::SYSCALL_NAMES;

/// One past the largest event type id this build knows.
pub const EVENT_TYPE_COUNT: usize = 430;

/// Id of the generic syscall enter event (its `evt.type` is the syscall named by param 0).
pub const GENERIC_E: u16 = 0;
/// Id of the generic syscall exit event.
pub const GENERIC_X: u16 = 1;

/// Wire type of a parameter (`enum ppm_param_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    None,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    CharBuf,
    ByteBuf,
    Errno,
    SockAddr,
    SockTuple,
    Fd,
    Pid,
    FdList,
    FsPath,
    SyscallId,
    SigType,
    RelTime,
    AbsTime,
    Port,
    L4Proto,
    SockFamily,
    Bool,
    Ipv4Addr,
    Dyn,
    Flags8,
    Flags16,
    Flags32,
    Uid,
    Gid,
    Double,
    SigSet,
    CharBufArray,
    CharBufPairArray,
    Ipv4Net,
    Ipv6Addr,
    Ipv6Net,
    IpAddr,
    IpNet,
    Mode,
    FsRelPath,
    EnumFlags8,
    EnumFlags16,
    EnumFlags32,
    Fd32,
    Pid32,
}

impl ParamType {
    fn parse(s: &str) -> Option<ParamType> {
        use ParamType::*;
        Some(match s {
            "INT8" => Int8,
            "INT16" => Int16,
            "INT32" => Int32,
            "INT64" => Int64,
            "UINT8" => Uint8,
            "UINT16" => Uint16,
            "UINT32" => Uint32,
            "UINT64" => Uint64,
            "CHARBUF" => CharBuf,
            "BYTEBUF" => ByteBuf,
            "ERRNO" => Errno,
            "SOCKADDR" => SockAddr,
            "SOCKTUPLE" => SockTuple,
            "FD" => Fd,
            "PID" => Pid,
            "FDLIST" => FdList,
            "FSPATH" => FsPath,
            "SYSCALLID" => SyscallId,
            "SIGTYPE" => SigType,
            "RELTIME" => RelTime,
            "ABSTIME" => AbsTime,
            "PORT" => Port,
            "L4PROTO" => L4Proto,
            "SOCKFAMILY" => SockFamily,
            "BOOL" => Bool,
            "IPV4ADDR" => Ipv4Addr,
            "DYN" => Dyn,
            "FLAGS8" => Flags8,
            "FLAGS16" => Flags16,
            "FLAGS32" => Flags32,
            "UID" => Uid,
            "GID" => Gid,
            "DOUBLE" => Double,
            "SIGSET" => SigSet,
            "CHARBUFARRAY" => CharBufArray,
            "CHARBUF_PAIR_ARRAY" => CharBufPairArray,
            "IPV6ADDR" => Ipv6Addr,
            "IPADDR" => IpAddr,
            "MODE" => Mode,
            "FSRELPATH" => FsRelPath,
            "ENUMFLAGS8" => EnumFlags8,
            "ENUMFLAGS16" => EnumFlags16,
            "ENUMFLAGS32" => EnumFlags32,
            "FD32" => Fd32,
            "PID32" => Pid32,
            _ => return Option::None,
        })
    }

    /// True for the flag types rendered by walking a bit table.
    pub fn is_flags(self) -> bool {
        matches!(
            self,
            ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 | ParamType::Mode
        )
    }

    /// True for the enum types rendered by exact match.
    pub fn is_enum(self) -> bool {
        matches!(
            self,
            ParamType::EnumFlags8 | ParamType::EnumFlags16 | ParamType::EnumFlags32
        )
    }
}

/// How a numeric parameter is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintFormat {
    Dec,
    Hex,
    Oct,
}

/// Value table of a dynamic (PT_DYN) parameter: the index byte selects the value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynTable {
    Ptrace,
    Sockopt,
    Bpf,
}

impl DynTable {
    /// The type of a PT_DYN value given its index byte.
    pub fn type_of(self, index: u8) -> Option<ParamType> {
        use ParamType::*;
        match (self, index) {
            (DynTable::Ptrace, 0) => Some(Uint64),
            (DynTable::Ptrace, 1) => Some(SigType),
            (DynTable::Sockopt, 0) => Some(ByteBuf),
            (DynTable::Sockopt, 1) => Some(Errno),
            (DynTable::Sockopt, 2) => Some(Uint32),
            (DynTable::Sockopt, 3) => Some(Uint64),
            (DynTable::Sockopt, 4) => Some(RelTime),
            (DynTable::Bpf, 0) => Some(Fd),
            (DynTable::Bpf, 1) => Some(Errno),
            _ => Option::None,
        }
    }
}

/// Schema of one parameter.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    pub name: &'static str,
    pub ptype: ParamType,
    pub format: PrintFormat,
    /// Name table for flags/enums.
    pub names: Option<&'static [(&'static str, u32)]>,
    pub dyn_table: Option<DynTable>,
    /// For FSRELPATH: index of the dirfd parameter it is relative to.
    pub dirfd_param: Option<u8>,
}

/// Event flags (subset of `EF_*` a reader needs).
pub mod flags {
    pub const OLD_VERSION: u8 = 1;
    pub const UNUSED: u8 = 2;
    pub const LARGE_PAYLOAD: u8 = 4;
    pub const CREATES_FD: u8 = 8;
    pub const DESTROYS_FD: u8 = 16;
    pub const USES_FD: u8 = 32;
    pub const MODIFIES_STATE: u8 = 64;
}

/// Direction of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Enter,
    Exit,
}

impl Direction {
    /// `>` for enter, `<` for exit, as `evt.dir` renders it.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Enter => ">",
            Direction::Exit => "<",
        }
    }
}

/// Schema of one event type.
#[derive(Clone, Debug)]
pub struct EventInfo {
    pub id: u16,
    pub name: &'static str,
    pub flags: u8,
    pub params: Vec<ParamInfo>,
}

impl EventInfo {
    pub fn direction(&self) -> Direction {
        direction_of(self.id)
    }

    pub fn has_flag(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Whether parameter lengths are u32 (EF_LARGE_PAYLOAD) instead of u16.
    pub fn large_payload(&self) -> bool {
        self.has_flag(flags::LARGE_PAYLOAD)
    }

    /// Index of the first parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

/// Direction of event type `id`: even ids are enters.
pub fn direction_of(id: u16) -> Direction {
    if id & 1 == 0 {
        Direction::Enter
    } else {
        Direction::Exit
    }
}

const TABLE_SOURCE: &str = include_str!("events.tbl");

fn table() -> &'static [EventInfo] {
    static TABLE: OnceLock<Vec<EventInfo>> = OnceLock::new();
    TABLE.get_or_init(|| match parse_table(TABLE_SOURCE) {
        Ok(t) => t,
        // The table is compiled in and checked by a unit test; an error here is a build bug.
        Err(e) => panic!("events.tbl: {e}"),
    })
}

fn parse_table(src: &'static str) -> Result<Vec<EventInfo>, String> {
    let mut out: Vec<EventInfo> = Vec::with_capacity(EVENT_TYPE_COUNT);
    for (lineno, line) in src.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        let err = |what: &str| format!("line {}: {what}", lineno + 1);
        let id: u16 = words
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| err("bad id"))?;
        if id as usize != out.len() {
            return Err(err("ids must be dense and in order"));
        }
        let name = words.next().ok_or_else(|| err("missing name"))?;
        let flag_word = words.next().ok_or_else(|| err("missing flags"))?;
        let mut fl = 0u8;
        for c in flag_word.chars() {
            fl |= match c {
                'o' => flags::OLD_VERSION,
                'u' => flags::UNUSED,
                'L' => flags::LARGE_PAYLOAD,
                'C' => flags::CREATES_FD,
                'D' => flags::DESTROYS_FD,
                'U' => flags::USES_FD,
                'M' => flags::MODIFIES_STATE,
                '-' => 0,
                _ => return Err(err("unknown flag")),
            };
        }
        let mut params = Vec::new();
        for w in words {
            let (pname, rest) = w.split_once(':').ok_or_else(|| err("param without type"))?;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                if matches!(c, '@' | '/' | '^') {
                    end = i;
                    break;
                }
            }
            let ptype = ParamType::parse(&rest[..end]).ok_or_else(|| err("unknown type"))?;
            let mut p = ParamInfo {
                name: pname,
                ptype,
                format: PrintFormat::Dec,
                names: None,
                dyn_table: None,
                dirfd_param: None,
            };
            let mut suffix = &rest[end..];
            while !suffix.is_empty() {
                let kind = &suffix[..1];
                let body_end = suffix[1..]
                    .find(['@', '/', '^'])
                    .map(|i| i + 1)
                    .unwrap_or(suffix.len());
                let body = &suffix[1..body_end];
                match kind {
                    "/" => {
                        p.format = match body {
                            "x" => PrintFormat::Hex,
                            "o" => PrintFormat::Oct,
                            _ => return Err(err("bad format")),
                        }
                    }
                    "^" => p.dirfd_param = Some(body.parse().map_err(|_| err("bad dirfd"))?),
                    _ => match body {
                        "ptrace_dyn" => p.dyn_table = Some(DynTable::Ptrace),
                        "sockopt_dyn" => p.dyn_table = Some(DynTable::Sockopt),
                        "bpf_dyn" => p.dyn_table = Some(DynTable::Bpf),
                        t => p.names = Some(name_table(t).ok_or_else(|| err("unknown table"))?),
                    },
                }
                suffix = &suffix[body_end..];
            }
            params.push(p);
        }
        out.push(EventInfo {
            id,
            name,
            flags: fl,
            params,
        });
    }
    if out.len() != EVENT_TYPE_COUNT {
        return Err(format!("{} events, expected {EVENT_TYPE_COUNT}", out.len()));
    }
    Ok(out)
}

/// Schema of event type `id`, or `None` for ids this build does not know.
pub fn info(id: u16) -> Option<&'static EventInfo> {
    table().get(id as usize)
}

/// The `evt.type` name of event type `id` (generic events: see [`generic_name`]).
pub fn name_of(id: u16) -> &'static str {
    info(id).map(|i| i.name).unwrap_or("unknown")
}

/// The name of a generic event's syscall, from its PPM_SC code.
pub fn generic_name(code: u16) -> &'static str {
    match SYSCALL_NAMES.get(code as usize) {
        Some(n) if !n.is_empty() && code != 0 => n,
        _ => "<unknown>",
    }
}

/// The event type ids whose `evt.type` name is `name` (both directions, every version).
/// Syscalls without a dedicated event map to the generic event ids.
/// Empty when the name is unknown.
pub fn ids_for_name(name: &str) -> Vec<u16> {
    let ids: Vec<u16> = table()
        .iter()
        .filter(|e| e.name == name && !e.has_flag(flags::UNUSED))
        .map(|e| e.id)
        .collect();
    if !ids.is_empty() {
        return ids;
    }
    if SYSCALL_NAMES
        .iter()
        .skip(1)
        .any(|n| !n.is_empty() && *n == name)
    {
        return vec![GENERIC_E, GENERIC_X];
    }
    Vec::new()
}

/// Whether `name` is an event or syscall name known to this build (for rule validation).
pub fn is_known_name(name: &str) -> bool {
    !ids_for_name(name).is_empty()
}

/// Flag/enum name tables by the names the event table uses. Order matters: rendering walks
/// them in this order.
pub fn name_table(name: &str) -> Option<&'static [(&'static str, u32)]> {
    Some(match name {
        "file_flags" => FILE_FLAGS,
        "clone_flags" => CLONE_FLAGS,
        "chmod_mode" => CHMOD_MODE,
        "prot_flags" => PROT_FLAGS,
        "mmap_flags" => MMAP_FLAGS,
        "ptrace_requests" => PTRACE_REQUESTS,
        "socket_families" => SOCKET_FAMILIES,
        "mount_flags" => MOUNT_FLAGS,
        "umount_flags" => UMOUNT_FLAGS,
        "access_flags" => ACCESS_FLAGS,
        "unlinkat_flags" => &[("AT_REMOVEDIR", 0x200)],
        "linkat_flags" => &[("AT_SYMLINK_FOLLOW", 0x400), ("AT_EMPTY_PATH", 0x1000)],
        "renameat2_flags" => &[
            ("RENAME_NOREPLACE", 1),
            ("RENAME_EXCHANGE", 2),
            ("RENAME_WHITEOUT", 4),
        ],
        "openat2_flags" => &[
            ("RESOLVE_BENEATH", 1),
            ("RESOLVE_IN_ROOT", 2),
            ("RESOLVE_NO_MAGICLINKS", 4),
            ("RESOLVE_NO_SYMLINKS", 8),
            ("RESOLVE_NO_XDEV", 0x10),
            ("RESOLVE_CACHED", 0x20),
        ],
        "execve_flags" => &[
            ("EXE_WRITABLE", 1),
            ("EXE_UPPER_LAYER", 2),
            ("EXE_FROM_MEMFD", 4),
            ("EXE_LOWER_LAYER", 8),
        ],
        "execveat_flags" => &[("AT_EMPTY_PATH", 1), ("AT_SYMLINK_NOFOLLOW", 2)],
        "fchownat_flags" => &[("AT_SYMLINK_NOFOLLOW", 0x400), ("AT_EMPTY_PATH", 0x1000)],
        "memfd_create_flags" => &[
            ("MFD_CLOEXEC", 1),
            ("MFD_ALLOW_SEALING", 2),
            ("MFD_HUGETLB", 4),
        ],
        "creat_flags" => &[("FD_UPPER_LAYER_CREAT", 1), ("FD_LOWER_LAYER_CREAT", 2)],
        "shutdown_how" => &[("SHUT_RD", 0), ("SHUT_WR", 1), ("SHUT_RDWR", 2)],
        "lseek_whence" => &[("SEEK_END", 2), ("SEEK_CUR", 1), ("SEEK_SET", 0)],
        "flock_flags" => &[
            ("LOCK_SH", 1),
            ("LOCK_EX", 2),
            ("LOCK_NB", 4),
            ("LOCK_UN", 8),
        ],
        "futex_operations" => FUTEX_OPERATIONS,
        "fcntl_commands" => FCNTL_COMMANDS,
        "rlimit_resources" => RLIMIT_RESOURCES,
        _ => return None,
    })
}

pub const FILE_FLAGS: &[(&str, u32)] = &[
    ("O_LARGEFILE", 0x800),
    ("O_DIRECTORY", 0x400),
    ("O_DIRECT", 0x200),
    ("O_TRUNC", 0x100),
    ("O_SYNC", 0x80),
    ("O_NONBLOCK", 0x40),
    ("O_EXCL", 0x20),
    ("O_DSYNC", 0x10),
    ("O_APPEND", 0x8),
    ("O_CREAT", 0x4),
    ("O_RDWR", 0x3),
    ("O_WRONLY", 0x2),
    ("O_RDONLY", 0x1),
    ("O_CLOEXEC", 0x1000),
    ("O_NONE", 0),
    ("O_TMPFILE", 0x2000),
    ("O_F_CREATED", 0x4000),
    ("FD_UPPER_LAYER", 0x8000),
    ("FD_LOWER_LAYER", 0x10000),
];

/// PPM open-flag bits the state tracker tests.
pub mod open_flags {
    pub const O_RDONLY: u32 = 1;
    pub const O_WRONLY: u32 = 2;
    pub const O_CREAT: u32 = 4;
    pub const O_DIRECTORY: u32 = 0x400;
    pub const O_TMPFILE: u32 = 0x2000;
    pub const O_F_CREATED: u32 = 0x4000;
}

/// PPM clone-flag bits the state tracker tests.
pub mod clone_flags {
    pub const CLONE_FILES: u32 = 0x1;
    pub const CLONE_FS: u32 = 0x2;
    pub const CLONE_THREAD: u32 = 0x2000;
    pub const CLONE_VM: u32 = 0x8000;
    pub const CLONE_INVERTED: u32 = 0x10000;
    pub const CLONE_NEWPID: u32 = 0x40;
    pub const CLONE_CHILD_IN_PIDNS: u32 = 0x2000_0000;
}

pub const CLONE_FLAGS: &[(&str, u32)] = &[
    ("CLONE_FILES", 0x1),
    ("CLONE_FS", 0x2),
    ("CLONE_IO", 0x4),
    ("CLONE_NEWIPC", 0x8),
    ("CLONE_NEWNET", 0x10),
    ("CLONE_NEWNS", 0x20),
    ("CLONE_NEWPID", 0x40),
    ("CLONE_NEWUTS", 0x80),
    ("CLONE_PARENT", 0x100),
    ("CLONE_PARENT_SETTID", 0x200),
    ("CLONE_PTRACE", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_SYSVSEM", 0x1000),
    ("CLONE_THREAD", 0x2000),
    ("CLONE_UNTRACED", 0x4000),
    ("CLONE_VM", 0x8000),
    ("CLONE_INVERTED", 0x10000),
    ("NAME_CHANGED", 0x20000),
    ("CLOSED", 0x40000),
    ("CLONE_NEWUSER", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_SETTLS", 0x2000000),
    ("CLONE_STOPPED", 0x4000000),
    ("CLONE_VFORK", 0x8000000),
    ("CLONE_NEWCGROUP", 0x10000000),
];

pub const CHMOD_MODE: &[(&str, u32)] = &[
    ("S_IXOTH", 0o1),
    ("S_IWOTH", 0o2),
    ("S_IROTH", 0o4),
    ("S_IXGRP", 0o10),
    ("S_IWGRP", 0o20),
    ("S_IRGRP", 0o40),
    ("S_IXUSR", 0o100),
    ("S_IWUSR", 0o200),
    ("S_IRUSR", 0o400),
    ("S_ISVTX", 0o1000),
    ("S_ISGID", 0o2000),
    ("S_ISUID", 0o4000),
];

pub const PROT_FLAGS: &[(&str, u32)] = &[
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
    ("PROT_EXEC", 4),
    ("PROT_SEM", 8),
    ("PROT_GROWSDOWN", 0x10),
    ("PROT_GROWSUP", 0x20),
    ("PROT_SAO", 0x40),
    ("PROT_NONE", 0),
];

pub const MMAP_FLAGS: &[(&str, u32)] = &[
    ("MAP_SHARED", 0x1),
    ("MAP_PRIVATE", 0x2),
    ("MAP_FIXED", 0x4),
    ("MAP_ANONYMOUS", 0x8),
    ("MAP_32BIT", 0x10),
    ("MAP_RENAME", 0x20),
    ("MAP_NORESERVE", 0x40),
    ("MAP_POPULATE", 0x80),
    ("MAP_NONBLOCK", 0x100),
    ("MAP_GROWSDOWN", 0x200),
    ("MAP_DENYWRITE", 0x400),
    ("MAP_EXECUTABLE", 0x800),
    ("MAP_INHERIT", 0x1000),
    ("MAP_FILE", 0x2000),
    ("MAP_LOCKED", 0x4000),
];

pub const PTRACE_REQUESTS: &[(&str, u32)] = &[
    ("PTRACE_SINGLEBLOCK", 38),
    ("PTRACE_SYSEMU_SINGLESTEP", 37),
    ("PTRACE_SYSEMU", 36),
    ("PTRACE_ARCH_PRCTL", 35),
    ("PTRACE_SET_THREAD_AREA", 34),
    ("PTRACE_GET_THREAD_AREA", 33),
    ("PTRACE_OLDSETOPTIONS", 32),
    ("PTRACE_SETFPXREGS", 31),
    ("PTRACE_GETFPXREGS", 30),
    ("PTRACE_SETFPREGS", 29),
    ("PTRACE_GETFPREGS", 28),
    ("PTRACE_SETREGS", 27),
    ("PTRACE_GETREGS", 26),
    ("PTRACE_SETSIGMASK", 25),
    ("PTRACE_GETSIGMASK", 24),
    ("PTRACE_PEEKSIGINFO", 23),
    ("PTRACE_LISTEN", 22),
    ("PTRACE_INTERRUPT", 21),
    ("PTRACE_SEIZE", 20),
    ("PTRACE_SETREGSET", 19),
    ("PTRACE_GETREGSET", 18),
    ("PTRACE_SETSIGINFO", 17),
    ("PTRACE_GETSIGINFO", 16),
    ("PTRACE_GETEVENTMSG", 15),
    ("PTRACE_SETOPTIONS", 14),
    ("PTRACE_SYSCALL", 13),
    ("PTRACE_DETACH", 12),
    ("PTRACE_ATTACH", 11),
    ("PTRACE_SINGLESTEP", 10),
    ("PTRACE_KILL", 9),
    ("PTRACE_CONT", 8),
    ("PTRACE_POKEUSR", 7),
    ("PTRACE_POKEDATA", 6),
    ("PTRACE_POKETEXT", 5),
    ("PTRACE_PEEKUSR", 4),
    ("PTRACE_PEEKDATA", 3),
    ("PTRACE_PEEKTEXT", 2),
    ("PTRACE_TRACEME", 1),
    ("PTRACE_UNKNOWN", 0),
];

pub const SOCKET_FAMILIES: &[(&str, u32)] = &[
    ("AF_NFC", 39),
    ("AF_ALG", 38),
    ("AF_CAIF", 37),
    ("AF_IEEE802154", 36),
    ("AF_PHONET", 35),
    ("AF_ISDN", 34),
    ("AF_RXRPC", 33),
    ("AF_IUCV", 32),
    ("AF_BLUETOOTH", 31),
    ("AF_TIPC", 30),
    ("AF_CAN", 29),
    ("AF_LLC", 26),
    ("AF_WANPIPE", 25),
    ("AF_PPPOX", 24),
    ("AF_IRDA", 23),
    ("AF_SNA", 22),
    ("AF_RDS", 21),
    ("AF_ATMSVC", 20),
    ("AF_ECONET", 19),
    ("AF_ASH", 18),
    ("AF_PACKET", 17),
    ("AF_ROUTE", 16),
    ("AF_NETLINK", 16),
    ("AF_KEY", 15),
    ("AF_SECURITY", 14),
    ("AF_NETBEUI", 13),
    ("AF_DECnet", 12),
    ("AF_ROSE", 11),
    ("AF_INET6", 10),
    ("AF_X25", 9),
    ("AF_ATMPVC", 8),
    ("AF_BRIDGE", 7),
    ("AF_NETROM", 6),
    ("AF_APPLETALK", 5),
    ("AF_IPX", 4),
    ("AF_AX25", 3),
    ("AF_INET", 2),
    ("AF_LOCAL", 1),
    ("AF_UNIX", 1),
    ("AF_UNSPEC", 0),
];

pub const MOUNT_FLAGS: &[(&str, u32)] = &[
    ("RDONLY", 0x1),
    ("NOSUID", 0x2),
    ("NODEV", 0x4),
    ("NOEXEC", 0x8),
    ("SYNCHRONOUS", 0x10),
    ("REMOUNT", 0x20),
    ("MANDLOCK", 0x40),
    ("DIRSYNC", 0x80),
    ("NOATIME", 0x400),
    ("NODIRATIME", 0x800),
    ("BIND", 0x1000),
    ("MOVE", 0x2000),
    ("REC", 0x4000),
    ("SILENT", 0x8000),
    ("POSIXACL", 0x10000),
    ("UNBINDABLE", 0x20000),
    ("PRIVATE", 0x40000),
    ("SLAVE", 0x80000),
    ("SHARED", 0x100000),
    ("RELATIME", 0x200000),
    ("KERNMOUNT", 0x400000),
    ("I_VERSION", 0x800000),
    ("STRICTATIME", 0x1000000),
    ("LAZYTIME", 0x2000000),
    ("NOSEC", 0x10000000),
    ("BORN", 0x20000000),
    ("ACTIVE", 0x40000000),
    ("NOUSER", 0x80000000),
];

pub const UMOUNT_FLAGS: &[(&str, u32)] =
    &[("FORCE", 1), ("DETACH", 2), ("EXPIRE", 4), ("NOFOLLOW", 8)];

pub const ACCESS_FLAGS: &[(&str, u32)] = &[("F_OK", 0), ("R_OK", 4), ("W_OK", 2), ("X_OK", 1)];

pub const FUTEX_OPERATIONS: &[(&str, u32)] = &[
    ("FUTEX_CLOCK_REALTIME", 256),
    ("FUTEX_PRIVATE_FLAG", 128),
    ("FUTEX_CMP_REQUEUE_PI", 12),
    ("FUTEX_WAIT_REQUEUE_PI", 11),
    ("FUTEX_WAKE_BITSET", 10),
    ("FUTEX_WAIT_BITSET", 9),
    ("FUTEX_TRYLOCK_PI", 8),
    ("FUTEX_UNLOCK_PI", 7),
    ("FUTEX_LOCK_PI", 6),
    ("FUTEX_WAKE_OP", 5),
    ("FUTEX_CMP_REQUEUE", 4),
    ("FUTEX_REQUEUE", 3),
    ("FUTEX_FD", 2),
    ("FUTEX_WAKE", 1),
    ("FUTEX_WAIT", 0),
];

pub const FCNTL_COMMANDS: &[(&str, u32)] = &[
    ("F_GETPIPE_SZ", 29),
    ("F_SETPIPE_SZ", 28),
    ("F_NOTIFY", 27),
    ("F_DUPFD_CLOEXEC", 26),
    ("F_CANCELLK", 25),
    ("F_GETLEASE", 24),
    ("F_SETLEASE", 23),
    ("F_GETOWN_EX", 22),
    ("F_SETOWN_EX", 21),
    ("F_SETLKW64", 19),
    ("F_SETLK64", 18),
    ("F_GETLK64", 17),
    ("F_GETSIG", 15),
    ("F_SETSIG", 13),
    ("F_GETOWN", 12),
    ("F_SETOWN", 10),
    ("F_SETLKW", 9),
    ("F_SETLK", 8),
    ("F_GETLK", 6),
    ("F_SETFL", 5),
    ("F_GETFL", 4),
    ("F_SETFD", 3),
    ("F_GETFD", 2),
    ("F_DUPFD", 1),
    ("F_OFD_GETLK", 30),
    ("F_OFD_SETLK", 31),
    ("F_OFD_SETLKW", 32),
    ("UNKNOWN", 0),
];

pub const RLIMIT_RESOURCES: &[(&str, u32)] = &[
    ("RLIMIT_UNKNOWN", 255),
    ("RLIMIT_RTTIME", 15),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_AS", 9),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_CPU", 0),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_ids_are_dense() {
        let t = parse_table(TABLE_SOURCE).unwrap();
        assert_eq!(t.len(), EVENT_TYPE_COUNT);
        assert_eq!(t[234].name, "procinfo");
        assert_eq!(t[222].name, "clone");
        assert_eq!(t[292].name, "execve");
        assert_eq!(t[306].name, "openat");
        assert_eq!(t[388].name, "accept4");
        assert_eq!(t[324].name, "container");
        assert!(t[324].large_payload());
        assert_eq!(t[404].name, "memfd_create");
        assert_eq!(t[426].name, "setreuid");
    }

    #[test]
    fn names_map_to_all_versions() {
        let mut execve = ids_for_name("execve");
        execve.sort();
        assert_eq!(
            execve,
            vec![12, 13, 154, 155, 172, 173, 214, 215, 230, 231, 282, 283, 288, 289, 292, 293]
        );
        assert_eq!(
            ids_for_name("accept"),
            vec![26, 27, 56, 57, 246, 247, 248, 249]
        );
        assert_eq!(ids_for_name("madvise"), vec![GENERIC_E, GENERIC_X]);
        assert!(ids_for_name("no_such_syscall").is_empty());
        assert!(ids_for_name("NA").is_empty());
    }

    #[test]
    fn param_schema_details() {
        let open_x = info(3).unwrap();
        assert_eq!(open_x.direction(), Direction::Exit);
        let flags = &open_x.params[2];
        assert_eq!(flags.name, "flags");
        assert_eq!(flags.ptype, ParamType::Flags32);
        assert!(flags.names.is_some());
        assert_eq!(open_x.params[3].format, PrintFormat::Oct);
        let openat_x = info(307).unwrap();
        assert_eq!(openat_x.params[2].dirfd_param, Some(1));
        assert_eq!(
            info(169).unwrap().params[1].dyn_table,
            Some(DynTable::Ptrace)
        );
        assert_eq!(generic_name(139), "madvise");
        assert_eq!(generic_name(0), "<unknown>");
    }
}
