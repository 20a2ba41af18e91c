//! Writer of `.scap` capture files (format 1.2, the layout libscap's dumper writes today): a
//! section header, machine info, interface list (IL v2), user/group list (UL v2), one process
//! list (PL V9), one fd list (FDL v2) per thread, then one event block per record (EV_V2, or
//! EV_V2_LARGE for bodies over 64 KiB).
//!
//! The metadata comes from the same tables the reader fills ([`super::scap::Reader`]), so a live
//! recording carries the procfs snapshot the live source starts from (`proc.pname`,
//! `proc.aname`, open fds work on replay), and a capture read back and written again keeps its
//! tables. Events are written as they are: records in the scap v2 layout, as the driver and the
//! reader produce them; container meta events ([`Writer::write_container_json`]) carry what a
//! live recording learned about containers from outside the event stream.

use std::io::{self, Write};

use super::scap::{
    FdEntry, FdKind, GroupEntry, Interface, MachineInfo, Reader, ThreadEntry, UserEntry,
};
use crate::event::Event;

const SHB: u32 = 0x0A0D_0D0A;
const MI: u32 = 0x201;
const IL_V2: u32 = 0x219;
const UL_V2: u32 = 0x220;
const PL_V9: u32 = 0x215;
const FDL_V2: u32 = 0x218;
const EV_V2: u32 = 0x216;
const EV_V2_LARGE: u32 = 0x221;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// PPME_CONTAINER_JSON_2_E: the container meta event with a u32-length (large) payload.
const CONTAINER_JSON_2_E: u16 = 324;
/// Largest body of a non-large event block the reader accepts (libscap's READER_BUF_SIZE).
const MAX_EVENT_BLOCK_BODY: usize = 65536;
/// The reader's limits on metadata strings: longer values are cut to them, not rejected.
const MAX_PATH_STR: usize = 1024;
const MAX_LIST_STR: usize = 4096;
const MAX_USER_STR: usize = 255;

/// The metadata of a capture: what the reader exposes after the section's metadata blocks, or
/// the live system's procfs snapshot. `Default` is a capture with no tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tables<'a> {
    pub machine: Option<&'a MachineInfo>,
    pub interfaces: &'a [Interface],
    pub users: &'a [UserEntry],
    pub groups: &'a [GroupEntry],
    pub threads: &'a [ThreadEntry],
    pub fds: &'a [FdEntry],
}

impl<'a> Tables<'a> {
    /// The tables a reader holds (a capture's, or a snapshot's through
    /// [`super::procfs::Snapshot::into_reader`]).
    pub fn of(reader: &'a Reader) -> Tables<'a> {
        Tables {
            machine: reader.machine.as_ref(),
            interfaces: &reader.interfaces,
            users: &reader.users,
            groups: &reader.groups,
            threads: &reader.threads,
            fds: &reader.fds,
        }
    }
}

/// Streams a capture into `out`: the metadata at creation, then events.
pub struct Writer<W: Write> {
    out: W,
    block: Vec<u8>,
    events: u64,
}

impl<W: Write> Writer<W> {
    /// Writes the section header and the metadata blocks.
    pub fn new(out: W, tables: Tables<'_>) -> io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            block: Vec::with_capacity(1 << 16),
            events: 0,
        };
        w.write_metadata(tables)?;
        Ok(w)
    }

    /// Appends one event record (scap v2 layout, as [`Event::raw`] gives it) captured on `cpu`.
    /// A record that does not parse is an error: a file must never hold a block its reader
    /// rejects.
    pub fn write_event(&mut self, cpu: u16, record: &[u8]) -> io::Result<()> {
        let ev = Event::parse(record)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("record: {e}")))?;
        self.block.clear();
        self.block.extend_from_slice(&cpu.to_le_bytes());
        self.block.extend_from_slice(ev.raw());
        let kind = if self.block.len() > MAX_EVENT_BLOCK_BODY {
            EV_V2_LARGE
        } else {
            EV_V2
        };
        let body = std::mem::take(&mut self.block);
        let res = self.write_block(kind, &body);
        self.block = body;
        res?;
        self.events += 1;
        Ok(())
    }

    /// Appends a container meta event (PPME_CONTAINER_JSON_2_E) carrying `json`, libsinsp's
    /// `{"container": {...}}` document (`state::container::container_to_json`), stamped `ts`
    /// on `cpu`. Its thread id is -1: it describes a container, not a thread's call. A replay
    /// knows the container from this event on, so it goes before the container's events.
    pub fn write_container_json(&mut self, cpu: u16, ts: u64, json: &[u8]) -> io::Result<()> {
        let mut payload = Vec::with_capacity(json.len() + 1);
        payload.extend_from_slice(json);
        payload.push(0);
        let record = crate::event::encode(ts, -1, CONTAINER_JSON_2_E, &[&payload]);
        self.write_event(cpu, &record)
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let padding = (4 - body.len() % 4) % 4;
        let total = u32::try_from(8 + body.len() + padding + 4).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("block {kind:#x} of {} bytes is too large", body.len()),
            )
        })?;
        self.out.write_all(&kind.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&[0u8; 3][..padding])?;
        self.out.write_all(&total.to_le_bytes())
    }

    fn write_metadata(&mut self, t: Tables<'_>) -> io::Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        self.write_block(SHB, &b)?;

        let default_machine = MachineInfo::default();
        self.write_block(MI, &machine_block(t.machine.unwrap_or(&default_machine)))?;
        if !t.interfaces.is_empty() {
            self.write_block(IL_V2, &interface_block(t.interfaces))?;
        }
        self.write_block(UL_V2, &user_block(t.users, t.groups))?;
        let mut pl = Vec::new();
        for th in t.threads {
            thread_entry(&mut pl, th);
        }
        self.write_block(PL_V9, &pl)?;
        // One fd list per thread, even an empty one, as libscap's dumper does; then the fds
        // of threads the process list lacks (a capture may carry them), so none is lost.
        let listed: std::collections::HashSet<i64> = t.threads.iter().map(|th| th.tid).collect();
        let mut orphans: Vec<i64> = t
            .fds
            .iter()
            .map(|f| f.tid)
            .filter(|tid| !listed.contains(tid))
            .collect();
        orphans.sort_unstable();
        orphans.dedup();
        let tids = t.threads.iter().map(|th| th.tid).chain(orphans);
        for tid in tids {
            let mut b = Vec::new();
            b.extend_from_slice(&tid.to_le_bytes());
            for fd in t.fds.iter().filter(|f| f.tid == tid) {
                fd_entry(&mut b, fd);
            }
            self.write_block(FDL_V2, &b)?;
        }
        Ok(())
    }
}

fn str16(b: &mut Vec<u8>, s: &[u8], max: usize) {
    let s = &s[..s.len().min(max)];
    b.extend_from_slice(&(s.len() as u16).to_le_bytes());
    b.extend_from_slice(s);
}

fn machine_block(m: &MachineInfo) -> Vec<u8> {
    let mut b = Vec::with_capacity(180);
    b.extend_from_slice(&m.num_cpus.to_le_bytes());
    b.extend_from_slice(&m.memory_size_bytes.to_le_bytes());
    b.extend_from_slice(&m.max_pid.to_le_bytes());
    let mut host = [0u8; 128];
    let name = m.hostname.as_bytes();
    let n = name.len().min(127);
    host[..n].copy_from_slice(&name[..n]);
    b.extend_from_slice(&host);
    b.extend_from_slice(&m.boot_ts_epoch.to_le_bytes());
    b.extend_from_slice(&m.flags.to_le_bytes());
    b.extend_from_slice(&[0u8; 16]);
    b
}

fn interface_block(interfaces: &[Interface]) -> Vec<u8> {
    use std::net::IpAddr;
    let mut b = Vec::new();
    // IPv4 entries first, then IPv6, as libscap writes them.
    for want_v4 in [true, false] {
        for i in interfaces.iter().filter(|i| i.addr.is_ipv4() == want_v4) {
            let mut e = Vec::new();
            let name = &i.name.as_bytes()[..i.name.len().min(u16::MAX as usize)];
            match (i.addr, i.netmask) {
                (IpAddr::V4(a), IpAddr::V4(m)) => {
                    let bcast = u32::from(a) | !u32::from(m);
                    e.extend_from_slice(&1u16.to_le_bytes());
                    e.extend_from_slice(&(name.len() as u16).to_le_bytes());
                    e.extend_from_slice(&a.octets());
                    e.extend_from_slice(&m.octets());
                    e.extend_from_slice(&bcast.to_be_bytes());
                }
                (a, m) => {
                    let v6 = |ip: IpAddr| match ip {
                        IpAddr::V6(v) => v.octets(),
                        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
                    };
                    e.extend_from_slice(&2u16.to_le_bytes());
                    e.extend_from_slice(&(name.len() as u16).to_le_bytes());
                    e.extend_from_slice(&v6(a));
                    e.extend_from_slice(&v6(m));
                    e.extend_from_slice(&[0u8; 16]);
                }
            }
            e.extend_from_slice(&0u64.to_le_bytes());
            e.extend_from_slice(name);
            // IL v2's entry length does not count itself (unlike PL/FDL/UL v2).
            b.extend_from_slice(&(e.len() as u32).to_le_bytes());
            b.extend_from_slice(&e);
        }
    }
    b
}

fn user_block(users: &[UserEntry], groups: &[GroupEntry]) -> Vec<u8> {
    let mut b = Vec::new();
    let mut push = |e: Vec<u8>| {
        b.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
        b.extend_from_slice(&e);
    };
    for u in users {
        let mut e = vec![0u8];
        e.extend_from_slice(&u.uid.to_le_bytes());
        e.extend_from_slice(&u.gid.to_le_bytes());
        str16(&mut e, &u.name, MAX_USER_STR);
        str16(&mut e, &u.homedir, MAX_USER_STR);
        str16(&mut e, &u.shell, MAX_USER_STR);
        push(e);
    }
    for g in groups {
        let mut e = vec![1u8];
        e.extend_from_slice(&g.gid.to_le_bytes());
        str16(&mut e, &g.name, MAX_USER_STR);
        push(e);
    }
    b
}

fn thread_entry(b: &mut Vec<u8>, t: &ThreadEntry) {
    let start = b.len();
    b.extend_from_slice(&0u32.to_le_bytes());
    for v in [t.tid, t.pid, t.ptid, t.sid, t.vpgid] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    str16(b, &t.comm, MAX_PATH_STR);
    str16(b, &t.exe, MAX_PATH_STR);
    str16(b, &t.exepath, MAX_PATH_STR);
    str16(b, &t.args, MAX_LIST_STR);
    str16(b, &t.cwd, MAX_PATH_STR);
    b.extend_from_slice(&t.fdlimit.to_le_bytes());
    for v in [t.flags, t.uid, t.gid, t.vmsize_kb, t.vmrss_kb, t.vmswap_kb] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&t.pfmajor.to_le_bytes());
    b.extend_from_slice(&t.pfminor.to_le_bytes());
    str16(b, &t.env, MAX_LIST_STR);
    b.extend_from_slice(&t.vtid.to_le_bytes());
    b.extend_from_slice(&t.vpid.to_le_bytes());
    str16(b, &t.cgroups, MAX_LIST_STR);
    str16(b, &t.root, MAX_PATH_STR);
    b.extend_from_slice(&t.pidns_init_start_ts.to_le_bytes());
    b.extend_from_slice(&t.tty.to_le_bytes());
    b.extend_from_slice(&t.loginuid.to_le_bytes());
    b.push(u8::from(t.exe_writable));
    for v in [t.cap_inheritable, t.cap_permitted, t.cap_effective] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.push(u8::from(t.exe_upper_layer));
    for v in [t.exe_ino, t.exe_ino_ctime, t.exe_ino_mtime] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.push(u8::from(t.exe_from_memfd));
    b.push(u8::from(t.exe_lower_layer));
    b.extend_from_slice(&t.pgid.to_le_bytes());
    let len = (b.len() - start) as u32;
    b[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn fd_type(kind: FdKind) -> u8 {
    match kind {
        FdKind::Unknown => 0,
        // Regular files are written as FILE_V2 (open flags and dev), see fd_entry.
        FdKind::File => 16,
        FdKind::Directory => 2,
        FdKind::Ipv4Sock => 3,
        FdKind::Ipv6Sock => 4,
        FdKind::Ipv4ServSock => 5,
        FdKind::Ipv6ServSock => 6,
        FdKind::Fifo => 7,
        FdKind::UnixSock => 8,
        FdKind::Event => 9,
        FdKind::Unsupported => 10,
        FdKind::Signalfd => 11,
        FdKind::Eventpoll => 12,
        FdKind::Inotify => 13,
        FdKind::Timerfd => 14,
        FdKind::Netlink => 15,
        FdKind::Bpf => 17,
        FdKind::Userfaultfd => 18,
        FdKind::IoUring => 19,
        FdKind::Memfd => 20,
        FdKind::Pidfd => 21,
    }
}

fn fd_entry(b: &mut Vec<u8>, f: &FdEntry) {
    use std::net::IpAddr;
    let v4 = |ip: Option<IpAddr>| match ip {
        Some(IpAddr::V4(a)) => a.octets(),
        _ => [0; 4],
    };
    let v6 = |ip: Option<IpAddr>| match ip {
        Some(IpAddr::V6(a)) => a.octets(),
        Some(IpAddr::V4(a)) => a.to_ipv6_mapped().octets(),
        None => [0; 16],
    };
    let start = b.len();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&f.fd.to_le_bytes());
    b.extend_from_slice(&f.ino.to_le_bytes());
    let t = fd_type(f.kind);
    b.push(t);
    match f.kind {
        FdKind::Unknown => {}
        FdKind::File => {
            b.extend_from_slice(&f.open_flags.to_le_bytes());
            str16(b, &f.name, MAX_LIST_STR);
            b.extend_from_slice(&f.dev.to_le_bytes());
        }
        FdKind::Ipv4Sock => {
            b.extend_from_slice(&v4(f.sip));
            b.extend_from_slice(&v4(f.dip));
            b.extend_from_slice(&f.sport.to_le_bytes());
            b.extend_from_slice(&f.dport.to_le_bytes());
            b.push(f.l4proto);
        }
        FdKind::Ipv6Sock => {
            b.extend_from_slice(&v6(f.sip));
            b.extend_from_slice(&v6(f.dip));
            b.extend_from_slice(&f.sport.to_le_bytes());
            b.extend_from_slice(&f.dport.to_le_bytes());
            b.push(f.l4proto);
        }
        FdKind::Ipv4ServSock => {
            b.extend_from_slice(&v4(f.sip));
            b.extend_from_slice(&f.sport.to_le_bytes());
            b.push(f.l4proto);
        }
        FdKind::Ipv6ServSock => {
            b.extend_from_slice(&v6(f.sip));
            b.extend_from_slice(&f.sport.to_le_bytes());
            b.push(f.l4proto);
        }
        FdKind::UnixSock => {
            b.extend_from_slice(&f.unix_source.to_le_bytes());
            b.extend_from_slice(&f.unix_dest.to_le_bytes());
            str16(b, &f.name, MAX_LIST_STR);
        }
        _ => str16(b, &f.name, MAX_LIST_STR),
    }
    let len = (b.len() - start) as u32;
    b[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

#[cfg(test)]
mod tests;
