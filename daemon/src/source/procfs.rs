//! The live system's starting state, read from `/proc` and `/etc` when the live source
//! opens: every thread (ids, names, argv, cwd, credentials, cgroups...), every open fd (files,
//! directories, pipes, sockets with their tuples from `/proc/net`), users, groups and the
//! machine. It fills the same tables a capture file's process, fd, user and group lists do
//! (a [`Reader`] with no events), so state tracking starts from it exactly as it starts from
//! a capture, and processes that existed before the daemon have names and parents.
//!
//! The scan is bounded (threads, fds per process, bytes per string) and never fails on a
//! process that exits while it is read: that process is simply left out.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::scap::{FdEntry, FdKind, GroupEntry, MachineInfo, Reader, ThreadEntry, UserEntry};

/// Where to read and how much.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The procfs mount (`/proc`).
    pub proc_root: PathBuf,
    /// Where `passwd` and `group` live (`/etc`).
    pub etc_root: PathBuf,
    /// Threads read at most (the rest are counted in [`ScanStats::threads_skipped`]).
    pub max_threads: usize,
    /// Fds read per process at most.
    pub max_fds_per_process: usize,
    /// Bytes read from one file (cmdline, environ, one passwd line...) at most.
    pub max_str: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            proc_root: PathBuf::from("/proc"),
            etc_root: PathBuf::from("/etc"),
            max_threads: 131_072,
            max_fds_per_process: 4096,
            max_str: 16 * 1024,
        }
    }
}

/// What the scan left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub threads: usize,
    pub fds: usize,
    /// Threads over `max_threads`.
    pub threads_skipped: usize,
    /// Fds over `max_fds_per_process`.
    pub fds_skipped: usize,
    /// Processes that vanished or could not be read.
    pub unreadable: usize,
}

/// The scanned system.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub machine: MachineInfo,
    pub users: Vec<UserEntry>,
    pub groups: Vec<GroupEntry>,
    pub threads: Vec<ThreadEntry>,
    pub fds: Vec<FdEntry>,
    pub stats: ScanStats,
}

impl Snapshot {
    /// The snapshot as a capture reader with tables and no events, for
    /// `State::from_reader`.
    pub fn into_reader(self) -> Reader {
        Reader::from_tables(
            "live system".to_string(),
            self.machine,
            self.users,
            self.groups,
            self.threads,
            self.fds,
        )
    }
}

/// Scans the system. Only the proc root itself being unreadable is an error.
pub fn scan(opts: &ScanOptions) -> std::io::Result<Snapshot> {
    let mut snap = Snapshot {
        machine: machine_info(opts),
        users: parse_passwd(
            &read_limited(&opts.etc_root.join("passwd"), 1 << 22).unwrap_or_default(),
        ),
        groups: parse_group(
            &read_limited(&opts.etc_root.join("group"), 1 << 22).unwrap_or_default(),
        ),
        ..Snapshot::default()
    };
    let sockets = SocketTable::read(&opts.proc_root, opts.max_str);
    let mut pids: Vec<i64> = numeric_entries(&opts.proc_root)?;
    pids.sort_unstable();
    for pid in pids {
        let pdir = opts.proc_root.join(pid.to_string());
        let mut tids = numeric_entries(&pdir.join("task")).unwrap_or_default();
        tids.sort_unstable();
        if tids.is_empty() {
            snap.stats.unreadable += 1;
            continue;
        }
        let mut main_seen = false;
        for tid in tids {
            if snap.threads.len() >= opts.max_threads {
                snap.stats.threads_skipped += 1;
                continue;
            }
            let tdir = pdir.join("task").join(tid.to_string());
            match read_thread(opts, &pdir, &tdir, pid, tid) {
                Some(t) => {
                    main_seen |= tid == pid;
                    snap.threads.push(t);
                }
                None => snap.stats.unreadable += 1,
            }
        }
        if main_seen {
            read_fds(opts, &pdir, pid, &sockets, &mut snap);
        }
    }
    snap.stats.threads = snap.threads.len();
    snap.stats.fds = snap.fds.len();
    Ok(snap)
}

fn numeric_entries(dir: &Path) -> std::io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i64>().ok())
        {
            out.push(n);
        }
    }
    Ok(out)
}

/// Reads at most `max` bytes of a file.
fn read_limited(path: &Path, max: usize) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(max as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn read_link(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::read_link(path)
        .ok()
        .map(|p| p.as_os_str().as_bytes().to_vec())
}

fn machine_info(opts: &ScanOptions) -> MachineInfo {
    let text = |p: &str| {
        read_limited(&opts.proc_root.join(p), 4096)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let meminfo = text("meminfo");
    let mem_kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let btime = text("stat")
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    MachineInfo {
        num_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        memory_size_bytes: mem_kb * 1024,
        max_pid: text("sys/kernel/pid_max").parse().unwrap_or(0),
        hostname: text("sys/kernel/hostname"),
        boot_ts_epoch: btime.saturating_mul(1_000_000_000),
        flags: 0,
    }
}

/// `name:x:uid:gid:gecos:home:shell` lines; malformed lines are skipped.
pub fn parse_passwd(text: &[u8]) -> Vec<UserEntry> {
    let mut users = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        if f.len() < 7 || f[0].is_empty() || f[0].starts_with(b"#") {
            continue;
        }
        let (Some(uid), Some(gid)) = (num::<u32>(f[2]), num::<u32>(f[3])) else {
            continue;
        };
        users.push(UserEntry {
            uid,
            gid,
            name: f[0].to_vec(),
            homedir: f[5].to_vec(),
            shell: f[6].to_vec(),
        });
    }
    users
}

/// `name:x:gid:members` lines; malformed lines are skipped.
pub fn parse_group(text: &[u8]) -> Vec<GroupEntry> {
    let mut groups = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        if f.len() < 3 || f[0].is_empty() || f[0].starts_with(b"#") {
            continue;
        }
        let Some(gid) = num::<u32>(f[2]) else {
            continue;
        };
        groups.push(GroupEntry {
            gid,
            name: f[0].to_vec(),
        });
    }
    groups
}

fn num<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// The fields of `/proc/PID/stat` after the command (which may contain spaces and
/// parentheses): index 0 is the state (field 3 of proc(5)).
fn stat_fields(stat: &[u8]) -> Option<Vec<i64>> {
    let close = memchr::memrchr(b')', stat)?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    Some(
        rest.split_whitespace()
            .map(|f| f.parse::<i64>().unwrap_or(0))
            .collect(),
    )
}

fn status_value<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|v| v.strip_prefix(':'))
            .map(str::trim)
    })
}

fn status_nth(status: &str, key: &str, n: usize) -> Option<u64> {
    status_value(status, key)?
        .split_whitespace()
        .nth(n)?
        .parse()
        .ok()
}

fn status_last(status: &str, key: &str) -> Option<i64> {
    status_value(status, key)?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

fn status_hex(status: &str, key: &str) -> u64 {
    status_value(status, key)
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or(0)
}

fn status_kb(status: &str, key: &str) -> u32 {
    status_value(status, key)
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |v| v.min(u64::from(u32::MAX)) as u32)
}

/// `/proc/PID/cgroup` as scap's NUL-separated `subsys=path` list. A cgroup v2 line
/// (`0::/path`) is listed under the controller names the v1 hierarchies would have, as the
/// driver reports it.
fn cgroups(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let names: Vec<&[u8]> = if controllers.is_empty() {
            vec![b"cpuset", b"cpu", b"cpuacct", b"memory", b"pids"]
        } else {
            controllers.split(|&b| b == b',').collect()
        };
        for name in names {
            out.extend_from_slice(name);
            out.push(b'=');
            out.extend_from_slice(path);
            out.push(0);
        }
    }
    out
}

fn read_thread(
    opts: &ScanOptions,
    pdir: &Path,
    tdir: &Path,
    pid: i64,
    tid: i64,
) -> Option<ThreadEntry> {
    let stat = read_limited(&tdir.join("stat"), 4096)?;
    let fields = stat_fields(&stat)?;
    let status_bytes = read_limited(&tdir.join("status"), 16384)?;
    let status = String::from_utf8_lossy(&status_bytes);
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    let cmdline = read_limited(&pdir.join("cmdline"), opts.max_str).unwrap_or_default();
    let (exe, args) = match memchr::memchr(0, &cmdline) {
        Some(i) => (cmdline[..i].to_vec(), cmdline[i + 1..].to_vec()),
        None => (cmdline.clone(), Vec::new()),
    };
    let mut comm = read_limited(&tdir.join("comm"), 64).unwrap_or_default();
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    let exepath = read_link(&pdir.join("exe")).unwrap_or_default();
    let exe_meta = std::fs::metadata(pdir.join("exe")).ok();
    let fdlimit = read_limited(&pdir.join("limits"), 4096)
        .and_then(|b| {
            let text = String::from_utf8_lossy(&b).into_owned();
            let line = text
                .lines()
                .find(|l| l.starts_with("Max open files"))?
                .to_string();
            line["Max open files".len()..]
                .split_whitespace()
                .next()?
                .parse::<i64>()
                .ok()
        })
        .unwrap_or(0);
    let loginuid = read_limited(&pdir.join("loginuid"), 32)
        .and_then(|b| num::<u32>(&b))
        .unwrap_or(u32::MAX);
    let exe_ino_ctime = exe_meta.as_ref().map_or(0, |m| {
        (m.ctime() as u64).saturating_mul(1_000_000_000) + m.ctime_nsec() as u64
    });
    let exe_ino_mtime = exe_meta.as_ref().map_or(0, |m| {
        (m.mtime() as u64).saturating_mul(1_000_000_000) + m.mtime_nsec() as u64
    });
    let ppid = status_value(&status, "PPid")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ThreadEntry {
        tid,
        pid,
        ptid: ppid,
        // stat: 0 state, 1 ppid, 2 pgrp, 3 session, 4 tty_nr, ..., 7 minflt, 9 majflt
        pgid: field(2),
        sid: field(3),
        tty: field(4) as u32,
        pfminor: field(7).max(0) as u64,
        pfmajor: field(9).max(0) as u64,
        vpgid: status_last(&status, "NSpgid").unwrap_or(field(2)),
        vtid: status_last(&status, "NSpid").unwrap_or(tid),
        vpid: status_last(&status, "NStgid").unwrap_or(pid),
        comm,
        exe,
        exepath,
        args,
        cwd: read_link(&pdir.join("cwd")).unwrap_or_default(),
        root: read_link(&pdir.join("root")).unwrap_or_default(),
        fdlimit,
        uid: status_nth(&status, "Uid", 1).unwrap_or(0) as u32,
        gid: status_nth(&status, "Gid", 1).unwrap_or(0) as u32,
        vmsize_kb: status_kb(&status, "VmSize"),
        vmrss_kb: status_kb(&status, "VmRSS"),
        vmswap_kb: status_kb(&status, "VmSwap"),
        env: read_limited(&pdir.join("environ"), opts.max_str).unwrap_or_default(),
        cgroups: cgroups(&read_limited(&pdir.join("cgroup"), opts.max_str).unwrap_or_default()),
        loginuid,
        cap_inheritable: status_hex(&status, "CapInh"),
        cap_permitted: status_hex(&status, "CapPrm"),
        cap_effective: status_hex(&status, "CapEff"),
        exe_ino: exe_meta.as_ref().map_or(0, |m| m.ino()),
        exe_ino_ctime,
        exe_ino_mtime,
        ..ThreadEntry::default()
    })
}

/// Linux open flags (octal `flags:` of fdinfo) as PPM file flags (as the driver converts).
pub fn ppm_open_flags(flags: u32) -> u32 {
    let mut res = match flags & 0o3 {
        0o1 => 2,
        0o2 => 3,
        _ => 1,
    };
    let map: [(u32, u32); 11] = [
        (libc::O_CREAT as u32, 4),
        (libc::O_APPEND as u32, 8),
        (libc::O_DSYNC as u32, 16),
        (libc::O_EXCL as u32, 32),
        (libc::O_NONBLOCK as u32, 64),
        (libc::O_TRUNC as u32, 256),
        (libc::O_DIRECT as u32, 512),
        (libc::O_LARGEFILE as u32, 2048),
        (libc::O_CLOEXEC as u32, 4096),
        // O_SYNC includes O_DSYNC's bit; test the extra one.
        ((libc::O_SYNC & !libc::O_DSYNC) as u32, 128),
        (libc::O_DIRECTORY as u32, 1024),
    ];
    for (linux, ppm) in map {
        if flags & linux != 0 {
            res |= ppm;
        }
    }
    res
}

/// The sockets of `/proc/net`, by inode.
#[derive(Default)]
struct SocketTable {
    inet: HashMap<u64, InetSocket>,
    unix: HashMap<u64, (u64, Vec<u8>)>,
    netlink: std::collections::HashSet<u64>,
}

struct InetSocket {
    local: (IpAddr, u16),
    remote: (IpAddr, u16),
    listening: bool,
    l4proto: u8,
}

/// scap's l4 protocol numbers.
const L4_TCP: u8 = 2;
const L4_UDP: u8 = 3;
const L4_RAW: u8 = 5;

impl SocketTable {
    fn read(proc_root: &Path, _max_str: usize) -> SocketTable {
        let mut t = SocketTable::default();
        let net = proc_root.join("self/net");
        for (file, l4, v6) in [
            ("tcp", L4_TCP, false),
            ("tcp6", L4_TCP, true),
            ("udp", L4_UDP, false),
            ("udp6", L4_UDP, true),
            ("raw", L4_RAW, false),
            ("raw6", L4_RAW, true),
        ] {
            let Some(text) = read_limited(&net.join(file), 64 << 20) else {
                continue;
            };
            for line in String::from_utf8_lossy(&text).lines().skip(1) {
                if let Some((ino, s)) = parse_inet_line(line, l4, v6) {
                    t.inet.insert(ino, s);
                }
            }
        }
        if let Some(text) = read_limited(&net.join("unix"), 64 << 20) {
            for line in String::from_utf8_lossy(&text).lines().skip(1) {
                // Num RefCount Protocol Flags Type St Inode [Path]
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 7 {
                    continue;
                }
                let addr = u64::from_str_radix(f[0].trim_end_matches(':'), 16).unwrap_or(0);
                let Ok(ino) = f[6].parse::<u64>() else {
                    continue;
                };
                let path = f.get(7).map_or(Vec::new(), |p| p.as_bytes().to_vec());
                t.unix.insert(ino, (addr, path));
            }
        }
        if let Some(text) = read_limited(&net.join("netlink"), 64 << 20) {
            for line in String::from_utf8_lossy(&text).lines().skip(1) {
                if let Some(ino) = line.split_whitespace().nth(9).and_then(|v| v.parse().ok()) {
                    t.netlink.insert(ino);
                }
            }
        }
        t
    }
}

/// One line of /proc/net/{tcp,udp,raw}[6]: `sl local rem st ... uid timeout inode`.
fn parse_inet_line(line: &str, l4proto: u8, v6: bool) -> Option<(u64, InetSocket)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return None;
    }
    let local = parse_endpoint(f[1], v6)?;
    let remote = parse_endpoint(f[2], v6)?;
    let state = u8::from_str_radix(f[3], 16).ok()?;
    let ino = f[9].parse::<u64>().ok()?;
    // TCP_LISTEN = 0x0a; an unconnected UDP socket (remote port 0) also serves.
    let listening = match l4proto {
        L4_TCP => state == 0x0a,
        L4_UDP => remote.1 == 0,
        _ => false,
    };
    Some((
        ino,
        InetSocket {
            local,
            remote,
            listening,
            l4proto,
        },
    ))
}

/// `0100007F:1F90` (IPv4: one little-endian u32) or 32 hex digits (IPv6: four u32 words,
/// each in host order) and a hex port.
fn parse_endpoint(s: &str, v6: bool) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        if addr.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for w in 0..4 {
            let word = u32::from_str_radix(&addr[w * 8..w * 8 + 8], 16).ok()?;
            bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        let v6 = Ipv6Addr::from(bytes);
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }
    } else {
        let word = u32::from_str_radix(addr, 16).ok()?;
        IpAddr::V4(Ipv4Addr::from(word.to_le_bytes()))
    };
    Some((ip, port))
}

fn read_fds(opts: &ScanOptions, pdir: &Path, pid: i64, sockets: &SocketTable, snap: &mut Snapshot) {
    let Ok(mut fds) = numeric_entries(&pdir.join("fd")) else {
        return;
    };
    fds.sort_unstable();
    for (n, fd) in fds.into_iter().enumerate() {
        if n >= opts.max_fds_per_process {
            snap.stats.fds_skipped += 1;
            continue;
        }
        let link_path = pdir.join("fd").join(fd.to_string());
        let Some(link) = read_link(&link_path) else {
            continue;
        };
        let info = read_limited(&pdir.join("fdinfo").join(fd.to_string()), 4096)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0);
        let mut e = FdEntry {
            tid: pid,
            fd,
            name: link.clone(),
            open_flags: ppm_open_flags(flags),
            ..FdEntry::default()
        };
        if link.starts_with(b"/") {
            let meta = std::fs::metadata(&link_path).ok();
            e.kind = if meta.as_ref().is_some_and(|m| m.is_dir()) {
                FdKind::Directory
            } else if link.starts_with(b"/memfd:") {
                FdKind::Memfd
            } else {
                FdKind::File
            };
            if let Some(m) = meta {
                e.ino = m.ino();
                e.dev = m.dev() as u32;
            }
        } else if let Some(ino) = bracketed(&link, b"socket:[") {
            e.ino = ino;
            if let Some(s) = sockets.inet.get(&ino) {
                let v4 = s.local.0.is_ipv4();
                e.kind = match (s.listening, v4) {
                    (true, true) => FdKind::Ipv4ServSock,
                    (true, false) => FdKind::Ipv6ServSock,
                    (false, true) => FdKind::Ipv4Sock,
                    (false, false) => FdKind::Ipv6Sock,
                };
                e.sip = Some(s.local.0);
                e.sport = s.local.1;
                if !s.listening {
                    e.dip = Some(s.remote.0);
                    e.dport = s.remote.1;
                }
                e.l4proto = s.l4proto;
            } else if let Some((addr, path)) = sockets.unix.get(&ino) {
                e.kind = FdKind::UnixSock;
                e.unix_source = *addr;
                e.name = path.clone();
            } else if sockets.netlink.contains(&ino) {
                e.kind = FdKind::Netlink;
            } else {
                e.kind = FdKind::Unsupported;
            }
        } else if let Some(ino) = bracketed(&link, b"pipe:[") {
            e.kind = FdKind::Fifo;
            e.ino = ino;
        } else if let Some(what) = link.strip_prefix(b"anon_inode:") {
            let what = what.strip_prefix(b"[").unwrap_or(what);
            e.kind = if what.starts_with(b"eventfd") {
                FdKind::Event
            } else if what.starts_with(b"signalfd") {
                FdKind::Signalfd
            } else if what.starts_with(b"eventpoll") {
                FdKind::Eventpoll
            } else if what.starts_with(b"inotify") {
                FdKind::Inotify
            } else if what.starts_with(b"timerfd") {
                FdKind::Timerfd
            } else if what.starts_with(b"bpf") {
                FdKind::Bpf
            } else if what.starts_with(b"userfaultfd") {
                FdKind::Userfaultfd
            } else if what.starts_with(b"io_uring") {
                FdKind::IoUring
            } else if what.starts_with(b"pidfd") {
                FdKind::Pidfd
            } else {
                FdKind::Unsupported
            };
        } else {
            e.kind = FdKind::Unsupported;
        }
        snap.fds.push(e);
    }
}

/// The number in `prefix1234]`.
fn bracketed(link: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = link.strip_prefix(prefix)?;
    num(rest.strip_suffix(b"]")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn passwd_and_group_skip_malformed_lines() {
        let users = parse_passwd(
            b"root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nbad:x:notanumber:0:::\n\
              daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        );
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].name, b"root");
        assert_eq!(users[0].homedir, b"/root");
        assert_eq!(users[1].uid, 1);
        assert_eq!(users[1].shell, b"/usr/sbin/nologin");
        let groups = parse_group(b"root:x:0:\nadm:x:4:syslog,me\n:x:5:\nx:y\n");
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[1].gid, &groups[1].name[..]), (4, &b"adm"[..]));
    }

    #[test]
    fn proc_net_endpoints_decode() {
        let (ip, port) = parse_endpoint("0100007F:1F90", false).expect("v4");
        assert_eq!((ip, port), (IpAddr::V4(Ipv4Addr::LOCALHOST), 8080));
        let (ip, port) = parse_endpoint("00000000000000000000000001000000:0016", true).expect("v6");
        assert_eq!((ip, port), (IpAddr::V6(Ipv6Addr::LOCALHOST), 22));
        let (ip, _) =
            parse_endpoint("0000000000000000FFFF00000100007F:0050", true).expect("mapped");
        assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(parse_endpoint("zz:1", false).is_none());
        assert!(parse_endpoint("0100007F", false).is_none());
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0";
        let (ino, s) = parse_inet_line(line, L4_TCP, false).expect("line");
        assert_eq!(ino, 12345);
        assert!(s.listening);
        assert!(parse_inet_line("garbage", L4_TCP, false).is_none());
    }

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let f = stat_fields(b"42 (a) b (c)) S 1 42 42 34816 42 4194304 100 0 7 0").expect("stat");
        assert_eq!(&f[1..5], &[1, 42, 42, 34816]);
        assert_eq!(f[7], 100);
        assert_eq!(f[9], 7);
    }

    #[test]
    fn cgroup_v1_and_v2_lines_become_subsys_paths() {
        let v = cgroups(b"0::/system.slice/x.service\n");
        assert!(v.starts_with(b"cpuset=/system.slice/x.service\0cpu=/system.slice/x.service\0"));
        let v = cgroups(b"4:cpu,cpuacct:/docker/abc\n1:name=systemd:/init\n");
        assert_eq!(
            v,
            b"cpu=/docker/abc\0cpuacct=/docker/abc\0name=systemd=/init\0".to_vec()
        );
    }

    #[test]
    fn open_flags_convert_like_the_driver() {
        assert_eq!(ppm_open_flags(0), 1);
        assert_eq!(
            ppm_open_flags((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u32),
            2 | 4 | 256
        );
        assert_eq!(
            ppm_open_flags((libc::O_RDWR | libc::O_CLOEXEC) as u32),
            3 | 4096
        );
    }

    #[test]
    fn scanning_this_process_finds_it_its_files_and_its_listener() {
        let dir = std::env::temp_dir().join(format!("falco-procfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("open-file");
        let mut file = std::fs::File::create(&path).expect("create");
        file.write_all(b"x").expect("write");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        std::fs::write(dir.join("passwd"), "me:x:1234:1234::/home/me:/bin/sh\n").expect("passwd");
        std::fs::write(dir.join("group"), "me:x:1234:\n").expect("group");
        let opts = ScanOptions {
            etc_root: dir.clone(),
            ..ScanOptions::default()
        };
        let snap = scan(&opts).expect("scan");
        let me = std::process::id() as i64;
        let t = snap
            .threads
            .iter()
            .find(|t| t.tid == me)
            .expect("this process is in the snapshot");
        assert_eq!(t.pid, me);
        assert_eq!(t.ptid, std::os::unix::process::parent_id() as i64);
        let exe = std::env::current_exe().expect("exe");
        assert_eq!(t.exepath, exe.to_string_lossy().as_bytes());
        assert!(!t.comm.is_empty());
        assert!(t.cwd.starts_with(b"/"));
        // Test threads are threads of this process.
        assert!(snap.threads.iter().filter(|t| t.pid == me).count() >= 1);
        let name = path.to_string_lossy().into_owned();
        let f = snap
            .fds
            .iter()
            .find(|f| f.tid == me && f.name == name.as_bytes())
            .expect("the open file is in the fd list");
        assert_eq!(f.kind, FdKind::File);
        assert_eq!(f.open_flags & 3, 2, "opened write-only");
        let l = snap
            .fds
            .iter()
            .find(|f| f.tid == me && f.kind == FdKind::Ipv4ServSock && f.sport == port)
            .expect("the listener is in the fd list");
        assert_eq!(l.sip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(l.l4proto, L4_TCP);
        assert_eq!(snap.users.len(), 1);
        assert_eq!(snap.users[0].uid, 1234);
        assert_eq!(snap.groups[0].name, b"me");
        assert!(snap.machine.num_cpus >= 1);
        assert_eq!(snap.stats.threads, snap.threads.len());
        drop(listener);
        drop(file);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_snapshot_seeds_the_state_tracker() {
        let snap = scan(&ScanOptions::default()).expect("scan");
        let threads = snap.threads.len();
        let state = crate::state::State::from_reader(&snap.into_reader());
        let me = std::process::id() as i64;
        let t = state.thread(me).expect("this process is tracked");
        assert_eq!(t.ptid, std::os::unix::process::parent_id() as i64);
        assert!(t.cwd.ends_with(b"/"));
        assert!(state.threads.len() <= threads);
        assert!(state.threads.len() > threads / 2);
    }

    #[test]
    fn limits_bound_the_scan() {
        let opts = ScanOptions {
            max_threads: 1,
            max_fds_per_process: 1,
            ..ScanOptions::default()
        };
        let snap = scan(&opts).expect("scan");
        assert_eq!(snap.threads.len(), 1);
        assert!(snap.stats.threads_skipped > 0);
        assert!(snap.fds.len() <= 1);
    }

    #[test]
    fn a_missing_proc_root_is_an_error() {
        let opts = ScanOptions {
            proc_root: PathBuf::from("/nonexistent-proc-root"),
            ..ScanOptions::default()
        };
        assert!(scan(&opts).is_err());
    }
}
