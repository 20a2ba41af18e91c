//! Rendering of parameters the way libsinsp/sysdig print them (`evt.args`, `evt.arg.NAME`):
//! `fd=3(<f>/etc/passwd)`, `flags=4097(O_RDONLY|O_CLOEXEC)`, `res=-2(ENOENT)`, tuples as
//! `sip:sport->dip:dport`. State-dependent parts (fd names, thread names, user names, the
//! cwd for relative paths) come from a [`RenderContext`].

use std::io::Write;

use super::decode::{self, SockAddr, SockTuple};
use super::table::{ParamInfo, ParamType, PrintFormat};
use super::Event;

/// Longest rendering of a data buffer before it is cut with `...` (libsinsp's default).
pub const MAX_BUFFER_RENDER: usize = 80;

/// What rendering needs from the system state.
pub trait RenderContext {
    /// Writes `<typechar>name` of `fd` for the event's thread; false if the fd is unknown.
    fn fd_desc(&self, fd: i64, out: &mut Vec<u8>) -> bool;
    /// Type character of `fd`, if known (for fd lists).
    fn fd_typechar(&self, fd: i64) -> Option<u8>;
    /// The comm of thread `tid`, if known.
    fn thread_comm(&self, tid: i64) -> Option<&[u8]>;
    fn user_name(&self, uid: u32) -> Option<&[u8]>;
    fn group_name(&self, gid: u32) -> Option<&[u8]>;
    /// The event thread's working directory (for relative paths), with a trailing `/`.
    fn cwd(&self) -> Option<&[u8]>;
    /// The directory a dirfd refers to (for FSRELPATH), with a trailing `/`.
    fn dirfd_path(&self, dirfd: i64, out: &mut Vec<u8>) -> bool;
}

/// A context with no state: numbers and names only.
pub struct NoState;

impl RenderContext for NoState {
    fn fd_desc(&self, _: i64, _: &mut Vec<u8>) -> bool {
        false
    }
    fn fd_typechar(&self, _: i64) -> Option<u8> {
        None
    }
    fn thread_comm(&self, _: i64) -> Option<&[u8]> {
        None
    }
    fn user_name(&self, _: u32) -> Option<&[u8]> {
        None
    }
    fn group_name(&self, _: u32) -> Option<&[u8]> {
        None
    }
    fn cwd(&self) -> Option<&[u8]> {
        None
    }
    fn dirfd_path(&self, _: i64, _: &mut Vec<u8>) -> bool {
        false
    }
}

/// Linux errno names by number.
pub fn errno_name(e: i64) -> Option<&'static str> {
    const NAMES: [&str; 134] = [
        "",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
        "",
        "ENOMSG",
        "EIDRM",
        "ECHRNG",
        "EL2NSYNC",
        "EL3HLT",
        "EL3RST",
        "ELNRNG",
        "EUNATCH",
        "ENOCSI",
        "EL2HLT",
        "EBADE",
        "EBADR",
        "EXFULL",
        "ENOANO",
        "EBADRQC",
        "EBADSLT",
        "",
        "EBFONT",
        "ENOSTR",
        "ENODATA",
        "ETIME",
        "ENOSR",
        "ENONET",
        "ENOPKG",
        "EREMOTE",
        "ENOLINK",
        "EADV",
        "ESRMNT",
        "ECOMM",
        "EPROTO",
        "EMULTIHOP",
        "EDOTDOT",
        "EBADMSG",
        "EOVERFLOW",
        "ENOTUNIQ",
        "EBADFD",
        "EREMCHG",
        "ELIBACC",
        "ELIBBAD",
        "ELIBSCN",
        "ELIBMAX",
        "ELIBEXEC",
        "EILSEQ",
        "ERESTART",
        "ESTRPIPE",
        "EUSERS",
        "ENOTSOCK",
        "EDESTADDRREQ",
        "EMSGSIZE",
        "EPROTOTYPE",
        "ENOPROTOOPT",
        "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT",
        "EOPNOTSUPP",
        "EPFNOSUPPORT",
        "EAFNOSUPPORT",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "ECONNABORTED",
        "ECONNRESET",
        "ENOBUFS",
        "EISCONN",
        "ENOTCONN",
        "ESHUTDOWN",
        "ETOOMANYREFS",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "EALREADY",
        "EINPROGRESS",
        "ESTALE",
        "EUCLEAN",
        "ENOTNAM",
        "ENAVAIL",
        "EISNAM",
        "EREMOTEIO",
        "EDQUOT",
        "ENOMEDIUM",
        "EMEDIUMTYPE",
        "ECANCELED",
        "ENOKEY",
        "EKEYEXPIRED",
        "EKEYREVOKED",
        "EKEYREJECTED",
        "EOWNERDEAD",
        "ENOTRECOVERABLE",
        "ERFKILL",
        "EHWPOISON",
    ];
    let n = usize::try_from(e).ok()?;
    match n {
        512 => Some("ERESTARTSYS"),
        513 => Some("ERESTARTNOINTR"),
        514 => Some("ERESTARTNOHAND"),
        515 => Some("ENOIOCTLCMD"),
        516 => Some("ERESTART_RESTARTBLOCK"),
        _ => NAMES.get(n).copied().filter(|s| !s.is_empty()),
    }
}

/// Signal names by number.
pub fn signal_name(s: u64) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(s as usize).copied().filter(|s| !s.is_empty())
}

/// Appends the names of `value` in a flags table, libsinsp's walk: entries in table order,
/// each matching entry's bits are removed; stops when an entry equals the whole value.
pub fn flag_names(value: u32, names: &[(&str, u32)], out: &mut Vec<u8>) -> bool {
    let mut remaining = value;
    let mut any = false;
    for (name, v) in names {
        let matches = if *v == 0 {
            value == 0
        } else {
            remaining & v == *v
        };
        if matches {
            if any {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            any = true;
            remaining &= !v;
        }
        if *v == value {
            break;
        }
    }
    any
}

/// Appends every name of an enum table equal to `value`, joined with `|`.
pub fn enum_names(value: u32, names: &[(&str, u32)], out: &mut Vec<u8>) -> bool {
    let mut any = false;
    for (name, v) in names {
        if *v == value {
            if any {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            any = true;
        }
    }
    any
}

/// Appends bytes as libsinsp prints buffers: printable ASCII kept, the rest as `.`.
pub fn printable(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        out.push(if (0x20..0x7f).contains(&c) { c } else { b'.' });
    }
}

fn buffer(b: &[u8], out: &mut Vec<u8>) {
    if b.len() > MAX_BUFFER_RENDER {
        printable(&b[..MAX_BUFFER_RENDER - 3], out);
        out.extend_from_slice(b"...");
    } else {
        printable(b, out);
    }
}

fn number(v: u64, signed: Option<i64>, fmt: PrintFormat, out: &mut Vec<u8>) {
    let _ = match (fmt, signed) {
        (PrintFormat::Hex, _) => write!(out, "{v:X}"),
        (PrintFormat::Oct, _) if v == 0 => write!(out, "0"),
        (PrintFormat::Oct, _) => write!(out, "0{v:o}"),
        (PrintFormat::Dec, Some(s)) => write!(out, "{s}"),
        (PrintFormat::Dec, None) => write!(out, "{v}"),
    };
}

/// Appends an address as libsinsp prints it (IPv6 compressed).
pub fn ip(addr: &std::net::IpAddr, out: &mut Vec<u8>) {
    let _ = write!(out, "{addr}");
}

/// Appends `sip:sport->dip:dport` (or the unix form `src->dst path`); the decoder already
/// made a tuple of two IPv4-mapped addresses IPv4 ([`decode::unmapped_pair`]).
pub fn socktuple(t: &SockTuple<'_>, out: &mut Vec<u8>) {
    match t {
        SockTuple::Inet {
            sip,
            sport,
            dip,
            dport,
        } => {
            ip(sip, out);
            let _ = write!(out, ":{sport}->");
            ip(dip, out);
            let _ = write!(out, ":{dport}");
        }
        SockTuple::Unix { source, dest, path } => {
            let _ = write!(out, "{source:x}->{dest:x} ");
            sanitized(path, out);
        }
        SockTuple::Other(_) => {}
    }
}

/// Appends a PT_SOCKADDR as libsinsp prints it: `ip:port`, a unix path, or the family.
pub fn sockaddr(raw: &[u8], out: &mut Vec<u8>) {
    match decode::sockaddr(raw) {
        Some(SockAddr::Inet(a, p)) => {
            ip(&a, out);
            let _ = write!(out, ":{p}");
        }
        Some(SockAddr::Unix(path)) => sanitized(path, out),
        Some(SockAddr::Other(f)) => {
            let _ = write!(out, "family {f}");
        }
        None => {}
    }
}

/// Appends a unix socket path without its control characters (libsinsp sanitizes them
/// away: a path read past its end often carries a newline or garbage).
fn sanitized(path: &[u8], out: &mut Vec<u8>) {
    out.extend(path.iter().copied().filter(|&c| survives_sanitizing(c)));
}

/// Whether libsinsp's string sanitizer keeps byte `c`: it drops the ASCII control characters
/// (below 0x20, and DEL); every byte of a multibyte UTF-8 character stays.
pub fn survives_sanitizing(c: u8) -> bool {
    c >= 0x20 && c != 0x7f
}

/// Joins a relative path onto a base directory and normalizes `.`/`..` like libsinsp.
pub fn concat_path(base: &[u8], rel: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    if rel.first() == Some(&b'/') {
        out.extend_from_slice(rel);
    } else {
        out.extend_from_slice(base);
        if !base.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(rel);
    }
    normalize_path(out, start);
}

/// Normalizes the absolute path in `buf[start..]` in place: collapses `//`, removes `.`
/// components and resolves `..`.
pub fn normalize_path(buf: &mut Vec<u8>, start: usize) {
    let path = buf.split_off(start);
    let mut comps: Vec<&[u8]> = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                comps.pop();
            }
            c => comps.push(c),
        }
    }
    if comps.is_empty() {
        buf.push(b'/');
        return;
    }
    for c in comps {
        buf.push(b'/');
        buf.extend_from_slice(c);
    }
}

/// Appends the rendering of parameter `idx` of `ev` (value only, without `name=`).
/// Returns false if the event has no such parameter.
pub fn param_value(ev: &Event<'_>, idx: usize, ctx: &dyn RenderContext, out: &mut Vec<u8>) -> bool {
    let Some(raw) = ev.param_raw(idx) else {
        return false;
    };
    let Some(info) = ev.info().and_then(|i| i.params.get(idx)) else {
        buffer(raw, out);
        return true;
    };
    value(ev, info, raw, ctx, out);
    true
}

/// The `*at` syscalls' "relative to the working directory" directory fd.
const AT_FDCWD: i64 = -100;

fn value(ev: &Event<'_>, info: &ParamInfo, raw: &[u8], ctx: &dyn RenderContext, out: &mut Vec<u8>) {
    if raw.is_empty() {
        if matches!(info.ptype, ParamType::SockAddr | ParamType::SockTuple) {
            out.extend_from_slice(b"NULL");
        }
        return;
    }
    match info.ptype {
        ParamType::Fd | ParamType::Fd32 => {
            let fd = decode::int(raw).unwrap_or(0);
            let _ = write!(out, "{fd}");
            if fd == AT_FDCWD {
                // A directory fd (openat's dirfd...) meaning "the working directory": sysdig
                // names it rather than reading it as the errno 100.
                out.extend_from_slice(b"(AT_FDCWD)");
            } else if fd < 0 {
                if let Some(n) = errno_name(-fd) {
                    let _ = write!(out, "({n})");
                }
            } else {
                let mark = out.len();
                out.push(b'(');
                if ctx.fd_desc(fd, out) {
                    out.push(b')');
                } else {
                    out.truncate(mark);
                }
            }
        }
        ParamType::Errno => {
            let v = decode::int(raw).unwrap_or(0);
            if v < 0 {
                let _ = write!(out, "{v}");
                // checked: i64::MIN has no positive counterpart (fuzz input).
                if let Some(n) = v.checked_neg().and_then(errno_name) {
                    let _ = write!(out, "({n})");
                }
            } else {
                number(v as u64, Some(v), info.format, out);
            }
        }
        ParamType::Pid | ParamType::Pid32 => {
            let v = decode::int(raw).unwrap_or(0);
            let _ = write!(out, "{v}");
            if let Some(comm) = ctx.thread_comm(v) {
                out.push(b'(');
                out.extend_from_slice(comm);
                out.push(b')');
            }
        }
        ParamType::Int8 | ParamType::Int16 | ParamType::Int32 | ParamType::Int64 => {
            let v = decode::int(raw).unwrap_or(0);
            number(v as u64, Some(v), info.format, out);
        }
        ParamType::Uint8
        | ParamType::Uint16
        | ParamType::Uint32
        | ParamType::Uint64
        | ParamType::Port
        | ParamType::L4Proto
        | ParamType::SockFamily
        | ParamType::Bool
        | ParamType::SigSet
        | ParamType::AbsTime => {
            number(decode::uint(raw).unwrap_or(0), None, info.format, out);
        }
        ParamType::SyscallId => {
            let code = decode::uint(raw).unwrap_or(0) as u16;
            out.extend_from_slice(super::table::generic_name(code).as_bytes());
        }
        ParamType::SigType => {
            let v = decode::uint(raw).unwrap_or(0);
            let _ = write!(out, "{v}");
            if let Some(n) = signal_name(v) {
                let _ = write!(out, "({n})");
            }
        }
        ParamType::RelTime => {
            let v = decode::uint(raw).unwrap_or(0);
            let _ = write!(out, "{v}({}s)", v as f64 / 1e9);
        }
        ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 | ParamType::Mode => {
            let v = decode::uint(raw).unwrap_or(0) as u32;
            number(
                v as u64,
                None,
                if info.ptype == ParamType::Mode {
                    PrintFormat::Oct
                } else {
                    PrintFormat::Dec
                },
                out,
            );
            if let Some(names) = info.names {
                let mark = out.len();
                out.push(b'(');
                if flag_names(v, names, out) {
                    out.push(b')');
                } else {
                    out.truncate(mark);
                }
            }
        }
        ParamType::EnumFlags8 | ParamType::EnumFlags16 | ParamType::EnumFlags32 => {
            let v = decode::uint(raw).unwrap_or(0) as u32;
            let _ = write!(out, "{v}");
            if let Some(names) = info.names {
                let mark = out.len();
                out.push(b'(');
                if enum_names(v, names, out) {
                    out.push(b')');
                } else {
                    out.truncate(mark);
                }
            }
        }
        ParamType::Uid | ParamType::Gid => {
            let v = decode::uint(raw).unwrap_or(0) as u32;
            // The "no id" value prints as -1 (libsinsp).
            if v == u32::MAX {
                out.extend_from_slice(b"-1(<NONE>)");
                return;
            }
            let _ = write!(out, "{v}");
            let name = if info.ptype == ParamType::Uid {
                ctx.user_name(v)
            } else {
                ctx.group_name(v)
            };
            match name {
                Some(n) => {
                    out.push(b'(');
                    out.extend_from_slice(n);
                    out.push(b')');
                }
                None => out.extend_from_slice(b"(<NA>)"),
            }
        }
        ParamType::CharBuf => out.extend_from_slice(decode::cstr(raw)),
        ParamType::FsPath | ParamType::FsRelPath => {
            let path = decode::cstr(raw);
            out.extend_from_slice(path);
            if !path.is_empty() && path[0] != b'/' {
                let mut base = Vec::new();
                let have_base = match info.dirfd_param.and_then(|d| ev.param_i64(d as usize)) {
                    Some(dirfd) if dirfd != -100 => ctx.dirfd_path(dirfd, &mut base),
                    _ => ctx.cwd().map(|c| base.extend_from_slice(c)).is_some(),
                };
                if have_base {
                    out.push(b'(');
                    concat_path(&base, path, out);
                    out.push(b')');
                }
            }
        }
        ParamType::ByteBuf | ParamType::CharBufArray | ParamType::CharBufPairArray => {
            buffer(raw, out)
        }
        ParamType::SockAddr => sockaddr(raw, out),
        ParamType::SockTuple => {
            if let Some(t) = decode::socktuple(raw) {
                socktuple(&t, out);
            }
        }
        ParamType::FdList => {
            let mut first = true;
            for (fd, flags) in decode::fdlist(raw) {
                if !first {
                    out.push(b' ');
                }
                first = false;
                // fd, type char ('?' for an fd the state does not know), flags in hex
                // (the i16 widened as libsinsp does).
                let _ = write!(out, "{fd}:");
                out.push(ctx.fd_typechar(fd).unwrap_or(b'?'));
                let _ = write!(out, "{:x}", flags as i32 as u32);
            }
        }
        ParamType::Ipv4Addr => {
            if raw.len() == 4 {
                let _ = write!(out, "{}.{}.{}.{}", raw[0], raw[1], raw[2], raw[3]);
            }
        }
        ParamType::Ipv6Addr | ParamType::IpAddr => {
            if let Ok(a) = <[u8; 16]>::try_from(raw) {
                let _ = write!(out, "{}", std::net::Ipv6Addr::from(a));
            } else if raw.len() == 4 {
                let _ = write!(out, "{}.{}.{}.{}", raw[0], raw[1], raw[2], raw[3]);
            }
        }
        ParamType::Dyn => {
            let inner = info
                .dyn_table
                .and_then(|t| t.type_of(raw[0]))
                .unwrap_or(ParamType::ByteBuf);
            let sub = ParamInfo {
                name: info.name,
                ptype: inner,
                format: info.format,
                names: None,
                dyn_table: None,
                dirfd_param: None,
            };
            value(ev, &sub, &raw[1..], ctx, out);
        }
        ParamType::Double => {
            if let Ok(a) = <[u8; 8]>::try_from(raw) {
                let _ = write!(out, "{}", f64::from_le_bytes(a));
            }
        }
        ParamType::None | ParamType::Ipv4Net | ParamType::Ipv6Net | ParamType::IpNet => {
            buffer(raw, out)
        }
    }
}

/// Appends `evt.args`: `name=value ` for every parameter of the event (generic events show
/// none), as sysdig prints it.
pub fn args(ev: &Event<'_>, ctx: &dyn RenderContext, out: &mut Vec<u8>) {
    let Some(info) = ev.info() else { return };
    if ev.event_type() <= 1 {
        return;
    }
    for (i, p) in info.params.iter().enumerate().take(ev.nparams() as usize) {
        out.extend_from_slice(p.name.as_bytes());
        out.push(b'=');
        param_value(ev, i, ctx, out);
        out.push(b' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::encode;

    #[test]
    fn flags_render_like_libsinsp() {
        let t = crate::event::table::FILE_FLAGS;
        let mut o = Vec::new();
        flag_names(4097, t, &mut o);
        assert_eq!(o, b"O_RDONLY|O_CLOEXEC");
        o.clear();
        flag_names(3, t, &mut o);
        assert_eq!(o, b"O_RDWR");
        o.clear();
        flag_names(0, t, &mut o);
        assert_eq!(o, b"O_NONE");
        o.clear();
        enum_names(1, crate::event::table::SOCKET_FAMILIES, &mut o);
        assert_eq!(o, b"AF_LOCAL|AF_UNIX");
    }

    #[test]
    fn open_exit_args() {
        let rec = encode(
            0,
            1,
            3,
            &[
                &(-2i64).to_le_bytes(),
                b"/etc/x\0",
                &4097u32.to_le_bytes(),
                &0o644u32.to_le_bytes(),
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        let mut o = Vec::new();
        args(&ev, &NoState, &mut o);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "fd=-2(ENOENT) name=/etc/x flags=4097(O_RDONLY|O_CLOEXEC) mode=0644 "
        );
    }

    #[test]
    fn fd_lists_print_type_chars_and_hex_flags() {
        let mut fds = 2u16.to_le_bytes().to_vec();
        fds.extend(4i64.to_le_bytes());
        fds.extend(0x204i16.to_le_bytes());
        fds.extend(5i64.to_le_bytes());
        fds.extend((-1i16).to_le_bytes());
        let rec = encode(0, 1, 80, &[&fds, &0i64.to_le_bytes()]);
        let mut o = Vec::new();
        args(&Event::parse(&rec).unwrap(), &NoState, &mut o);
        assert_eq!(o, b"fds=4:?204 5:?ffffffff timeout=0 ");
    }

    #[test]
    fn no_id_and_mapped_tuples_print_like_libsinsp() {
        let rec = encode(0, 1, 198, &[&u32::MAX.to_le_bytes()]);
        let mut o = Vec::new();
        args(&Event::parse(&rec).unwrap(), &NoState, &mut o);
        assert_eq!(o, b"uid=-1(<NONE>) ");
        let rec = encode(0, 1, 198, &[&7u32.to_le_bytes()]);
        o.clear();
        args(&Event::parse(&rec).unwrap(), &NoState, &mut o);
        assert_eq!(o, b"uid=7(<NA>) ");
        o.clear();
        let v6 = |s: &str, d: &str| decode::test_bytes::inet6_tuple(s, 1, d, 2);
        let tuple = |raw: &[u8], o: &mut Vec<u8>| {
            socktuple(&decode::socktuple(raw).unwrap(), o);
        };
        tuple(&v6("::ffff:10.0.0.1", "::ffff:10.0.0.2"), &mut o);
        assert_eq!(o, b"10.0.0.1:1->10.0.0.2:2");
        o.clear();
        tuple(&v6("::ffff:10.0.0.1", "::1"), &mut o);
        assert_eq!(o, b"::ffff:10.0.0.1:1->::1:2");
        o.clear();
        socktuple(
            &SockTuple::Unix {
                source: 0,
                dest: 0xff,
                path: b"/run/x.sock\n",
            },
            &mut o,
        );
        assert_eq!(o, b"0->ff /run/x.sock");
    }

    #[test]
    fn a_dirfd_of_the_working_directory_is_named_as_sysdig_names_it() {
        // openat exit: fd, dirfd, name, flags, mode, dev (as our driver records it).
        let rec = encode(
            0,
            1,
            307,
            &[
                &5i64.to_le_bytes(),
                &(-100i64).to_le_bytes(),
                b"/proc/stat\0",
                &4097u32.to_le_bytes(),
                &0u32.to_le_bytes(),
                &14u32.to_le_bytes(),
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        assert_eq!(crate::event::table::name_of(307), "openat");
        let mut o = Vec::new();
        args(&ev, &NoState, &mut o);
        let text = String::from_utf8(o).unwrap();
        assert!(
            text.starts_with("fd=5 dirfd=-100(AT_FDCWD) name=/proc/stat "),
            "{text}"
        );
    }

    #[test]
    fn paths_normalize() {
        let mut o = Vec::new();
        concat_path(b"/", b".", &mut o);
        assert_eq!(o, b"/");
        o.clear();
        concat_path(b"/home/u/", b"../x//y/./z", &mut o);
        assert_eq!(o, b"/home/x/y/z");
    }
}
