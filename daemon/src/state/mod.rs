//! System state rebuilt from events, as libsinsp keeps it for Falco: the thread table
//! (seeded from the capture's process list, kept by clone/fork/vfork/clone3/execve/procexit),
//! one fd table per process (files, directories, pipes, sockets with their tuples...), the
//! user and group tables and the containers (id from cgroups, metadata from container
//! events, or on a live source from the runtime's files: [`container_runtime`]).
//!
//! Drive it with [`State::process`] for every event before evaluating rules, then extract
//! fields through [`State::extractor`]. Memory is bounded by [`Limits`]; exited threads and
//! closed fds are dropped, and what the limits refused is counted in [`StateStats`].
//!
//! Old capture layouts keep syscall arguments in the enter event: each thread keeps a copy
//! of its last enter event, and exit handling falls back to it for missing parameters.

pub mod container;
pub mod container_runtime;
pub mod extract;
pub mod print;
pub mod thread;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::event::decode::{self, SockAddr, SockTuple};
use crate::event::render::{self, RenderContext};
use crate::event::table::{self, clone_flags, flags as ef, open_flags};
use crate::event::Event;
use crate::source::scap::Reader;

use thread::l4;
pub use thread::{Container, Fd, FdKind, FdTable, Thread, User};

/// Table size limits (libsinsp's defaults are in the same range).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_threads: usize,
    pub max_fds_per_process: usize,
    /// Largest enter event kept per thread for old-layout exits.
    pub max_enter_event: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_threads: 131_072,
            max_fds_per_process: 32_768,
            max_enter_event: 65_536,
        }
    }
}

/// Counters for stats/metrics.
#[derive(Clone, Debug, Default)]
pub struct StateStats {
    pub events: u64,
    pub threads_added: u64,
    pub threads_removed: u64,
    pub threads_dropped_limit: u64,
    pub fds_added: u64,
    pub fds_removed: u64,
    pub fds_dropped_limit: u64,
    pub enter_events_too_large: u64,
}

/// What kind of state change an event type makes (precomputed per id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    None,
    Open,
    Socket,
    SocketPair,
    Connect,
    Accept,
    Bind,
    Close,
    Dup,
    Fcntl,
    Pipe,
    NewFd(FdKind),
    Clone,
    Execve,
    ProcExit,
    Chdir,
    Fchdir,
    Setuid,
    Setresuid,
    Setreuid,
    Setgid,
    Setresgid,
    Setregid,
    Setsid,
    Chroot,
    ContainerJson,
    ContainerOld,
    UserAdded,
    GroupAdded,
}

fn kind_of(id: u16) -> Kind {
    let Some(info) = table::info(id) else {
        return Kind::None;
    };
    let exit = id & 1 == 1;
    if !exit {
        return match info.name {
            "procexit" => Kind::ProcExit,
            "container" if id == 228 => Kind::ContainerOld,
            "container" => Kind::ContainerJson,
            "useradded" => Kind::UserAdded,
            "groupadded" => Kind::GroupAdded,
            _ => Kind::None,
        };
    }
    match info.name {
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => Kind::Open,
        "socket" => Kind::Socket,
        "socketpair" => Kind::SocketPair,
        "connect" => Kind::Connect,
        "accept" | "accept4" => Kind::Accept,
        "bind" => Kind::Bind,
        "close" => Kind::Close,
        "dup" | "dup2" | "dup3" => Kind::Dup,
        "fcntl" => Kind::Fcntl,
        "pipe" | "pipe2" => Kind::Pipe,
        "eventfd" | "eventfd2" => Kind::NewFd(FdKind::Event),
        "signalfd" | "signalfd4" => Kind::NewFd(FdKind::Signalfd),
        "timerfd_create" => Kind::NewFd(FdKind::Timerfd),
        "inotify_init" | "inotify_init1" => Kind::NewFd(FdKind::Inotify),
        "epoll_create" | "epoll_create1" => Kind::NewFd(FdKind::Eventpoll),
        "userfaultfd" => Kind::NewFd(FdKind::Userfaultfd),
        "io_uring_setup" => Kind::NewFd(FdKind::IoUring),
        "memfd_create" => Kind::NewFd(FdKind::Memfd),
        "pidfd_open" | "pidfd_getfd" => Kind::NewFd(FdKind::Pidfd),
        "bpf" => Kind::NewFd(FdKind::Bpf),
        "clone" | "fork" | "vfork" | "clone3" => Kind::Clone,
        "execve" | "execveat" => Kind::Execve,
        "chdir" => Kind::Chdir,
        "fchdir" => Kind::Fchdir,
        "setuid" => Kind::Setuid,
        "setresuid" => Kind::Setresuid,
        "setreuid" => Kind::Setreuid,
        "setgid" => Kind::Setgid,
        "setresgid" => Kind::Setresgid,
        "setregid" => Kind::Setregid,
        "setsid" => Kind::Setsid,
        "chroot" => Kind::Chroot,
        _ => Kind::None,
    }
}

fn kinds() -> &'static [Kind] {
    static K: std::sync::OnceLock<Vec<Kind>> = std::sync::OnceLock::new();
    K.get_or_init(|| (0..table::EVENT_TYPE_COUNT as u16).map(kind_of).collect())
}

/// Index of the `fd` parameter of each event type (looked up by name once, not per event).
fn fd_param_index(etype: u16) -> Option<usize> {
    static FD: std::sync::OnceLock<Vec<Option<u8>>> = std::sync::OnceLock::new();
    FD.get_or_init(|| {
        (0..table::EVENT_TYPE_COUNT as u16)
            .map(|t| {
                table::info(t)
                    .and_then(|i| i.param_index("fd"))
                    .and_then(|i| u8::try_from(i).ok())
            })
            .collect()
    })
    .get(etype as usize)
    .copied()
    .flatten()
    .map(usize::from)
}

/// An exit event together with the matching enter event of its thread (if stored), for
/// parameter lookup by name with fallback to the enter.
pub struct Args<'a> {
    pub ev: Event<'a>,
    pub enter: Option<Event<'a>>,
}

impl<'a> Args<'a> {
    fn find(&self, name: &str) -> Option<&'a [u8]> {
        if let Some(i) = self.ev.param_index(name) {
            if let Some(p) = self.ev.param(i) {
                return Some(p);
            }
        }
        let en = self.enter.as_ref()?;
        en.param(en.param_index(name)?)
    }
    pub fn i64(&self, name: &str) -> Option<i64> {
        decode::int(self.find(name)?)
    }
    pub fn u64(&self, name: &str) -> Option<u64> {
        decode::uint(self.find(name)?)
    }
    pub fn str(&self, name: &str) -> Option<&'a [u8]> {
        self.find(name).map(decode::cstr)
    }
    pub fn bytes(&self, name: &str) -> Option<&'a [u8]> {
        self.find(name)
    }
    /// Only the exit event's own parameter.
    pub fn own(&self, name: &str) -> Option<&'a [u8]> {
        self.ev.param(self.ev.param_index(name)?)
    }
}

fn basename(p: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', p) {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

fn with_trailing_slash(mut v: Vec<u8>) -> Vec<u8> {
    if !v.ends_with(b"/") {
        v.push(b'/');
    }
    v
}

/// Containers kept with runtime metadata at once (live sources).
const MAX_LIVE_CONTAINERS: usize = 4096;

/// The system state.
pub struct State {
    pub threads: FxHashMap<i64, Thread>,
    /// fd tables by process id.
    pub fdtables: FxHashMap<i64, FdTable>,
    pub users: FxHashMap<u32, User>,
    pub groups: FxHashMap<u32, Vec<u8>>,
    pub containers: HashMap<Vec<u8>, Container>,
    /// Live sources only: finds metadata of containers no container event described.
    pub container_resolver: Option<container_runtime::ContainerResolver>,
    pub hostname: String,
    pub limits: Limits,
    pub stats: StateStats,
    /// 1-based number of the current event.
    pub evt_num: u64,
    /// Timestamp of the previous event (for `evt.deltatime`).
    pub prev_ts: u64,
    cur_ts: u64,
    pending_fd_removal: Option<(i64, i64)>,
    pending_thread_removal: Option<i64>,
    /// The current event's thread and fd (for extraction).
    cur_tid: i64,
    cur_fd: Option<i64>,
    cur_name_changed: bool,
    cur_state_only: bool,
    /// Resolved path of the current event when it is an open that failed (no fd to name).
    cur_failed_open: bool,
    failed_open_path: Vec<u8>,
    scratch: Vec<u8>,
}

impl Default for State {
    fn default() -> Self {
        State::new(Limits::default())
    }
}

impl State {
    pub fn new(limits: Limits) -> State {
        State {
            threads: FxHashMap::default(),
            fdtables: FxHashMap::default(),
            users: FxHashMap::default(),
            groups: FxHashMap::default(),
            containers: HashMap::new(),
            container_resolver: None,
            hostname: String::new(),
            limits,
            stats: StateStats::default(),
            evt_num: 0,
            prev_ts: 0,
            cur_ts: 0,
            pending_fd_removal: None,
            pending_thread_removal: None,
            cur_tid: -1,
            cur_fd: None,
            cur_name_changed: false,
            cur_state_only: false,
            cur_failed_open: false,
            failed_open_path: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// A state seeded from a capture's metadata (process list, fd lists, users, groups,
    /// machine info).
    pub fn from_reader(r: &Reader) -> State {
        let mut s = State::default();
        s.load_tables(r);
        s
    }

    /// Replaces the tables with a capture's metadata (also after a new section started).
    pub fn load_tables(&mut self, r: &Reader) {
        self.threads.clear();
        self.fdtables.clear();
        if let Some(m) = &r.machine {
            self.hostname = m.hostname.clone();
        }
        for u in &r.users {
            self.users.insert(
                u.uid,
                User {
                    uid: u.uid,
                    gid: u.gid,
                    name: u.name.clone(),
                    home: u.homedir.clone(),
                    shell: u.shell.clone(),
                },
            );
        }
        for g in &r.groups {
            self.groups.insert(g.gid, g.name.clone());
        }
        for t in &r.threads {
            let th = Thread {
                tid: t.tid,
                pid: t.pid,
                ptid: t.ptid,
                sid: t.sid,
                vpgid: t.vpgid,
                pgid: t.pgid,
                vtid: t.vtid,
                vpid: t.vpid,
                comm: t.comm.clone(),
                exe: t.exe.clone(),
                exepath: t.exepath.clone(),
                args: t.args.clone(),
                env: t.env.clone(),
                cwd: with_trailing_slash(t.cwd.clone()),
                root: t.root.clone(),
                cgroups: t.cgroups.clone(),
                container_id: container::container_id_from_cgroups(&t.cgroups)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default(),
                uid: t.uid,
                gid: t.gid,
                loginuid: t.loginuid,
                tty: t.tty,
                fdlimit: t.fdlimit,
                cap_inheritable: t.cap_inheritable,
                cap_permitted: t.cap_permitted,
                cap_effective: t.cap_effective,
                exe_writable: t.exe_writable,
                exe_upper_layer: t.exe_upper_layer,
                exe_lower_layer: t.exe_lower_layer,
                exe_from_memfd: t.exe_from_memfd,
                exe_ino: t.exe_ino,
                exe_ino_ctime: t.exe_ino_ctime,
                exe_ino_mtime: t.exe_ino_mtime,
                pidns_init_start_ts: t.pidns_init_start_ts,
                vmsize_kb: t.vmsize_kb,
                vmrss_kb: t.vmrss_kb,
                vmswap_kb: t.vmswap_kb,
                pfmajor: t.pfmajor,
                pfminor: t.pfminor,
                last_fd: -1,
                ..Thread::default()
            };
            self.add_thread(th);
        }
        for f in &r.fds {
            let pid = self.threads.get(&f.tid).map(|t| t.pid).unwrap_or(f.tid);
            let kind = f.kind;
            let mut fd = Fd {
                kind,
                name: f.name.clone(),
                name_raw: f.name.clone(),
                open_flags: f.open_flags,
                ino: f.ino,
                dev: f.dev,
                sip: f.sip,
                dip: f.dip,
                sport: f.sport,
                dport: f.dport,
                l4proto: f.l4proto,
                unix_source: f.unix_source,
                unix_dest: f.unix_dest,
                name_changed: false,
                cloexec: f.open_flags & 0x1000 != 0,
                server_role: matches!(kind, FdKind::Ipv4ServSock | FdKind::Ipv6ServSock),
            };
            if kind.is_inet() {
                let mut name = Vec::new();
                socket_name(&fd, &mut name);
                fd.name = name;
            }
            self.insert_fd(pid, f.fd, fd);
        }
    }

    fn add_stub_thread(&mut self, tid: i64) {
        self.add_thread(Thread {
            tid,
            pid: tid,
            ptid: -1,
            sid: -1,
            vpgid: -1,
            pgid: -1,
            vtid: -1,
            vpid: -1,
            comm: b"<NA>".to_vec(),
            exe: b"<NA>".to_vec(),
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            last_fd: -1,
            stub: true,
            ..Thread::default()
        });
    }

    fn add_thread(&mut self, th: Thread) -> bool {
        if !self.threads.contains_key(&th.tid) && self.threads.len() >= self.limits.max_threads {
            self.stats.threads_dropped_limit += 1;
            return false;
        }
        let pid = th.pid;
        if let Some(old) = self.threads.insert(th.tid, th) {
            self.release_fdtable(old.pid);
        }
        self.fdtables.entry(pid).or_default().refs += 1;
        self.stats.threads_added += 1;
        true
    }

    fn release_fdtable(&mut self, pid: i64) {
        if let Some(t) = self.fdtables.get_mut(&pid) {
            t.refs = t.refs.saturating_sub(1);
            if t.refs == 0 {
                self.fdtables.remove(&pid);
            }
        }
    }

    fn remove_thread(&mut self, tid: i64) {
        if let Some(old) = self.threads.remove(&tid) {
            self.stats.threads_removed += 1;
            self.release_fdtable(old.pid);
        }
    }

    fn insert_fd(&mut self, pid: i64, fd: i64, info: Fd) {
        let max = self.limits.max_fds_per_process;
        let table = self.fdtables.entry(pid).or_default();
        if !table.fds.contains_key(&fd) && table.fds.len() >= max {
            self.stats.fds_dropped_limit += 1;
            return;
        }
        table.fds.insert(fd, info);
        self.stats.fds_added += 1;
    }

    /// The thread of the current event.
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// The fd `fd` of thread `tid`'s process.
    pub fn fd(&self, tid: i64, fd: i64) -> Option<&Fd> {
        let pid = self.threads.get(&tid)?.pid;
        self.fdtables.get(&pid)?.fds.get(&fd)
    }

    fn fd_mut(&mut self, tid: i64, fd: i64) -> Option<&mut Fd> {
        let pid = self.threads.get(&tid)?.pid;
        self.fdtables.get_mut(&pid)?.fds.get_mut(&fd)
    }

    /// fd number the current event refers to, if any.
    pub fn current_fd(&self) -> Option<i64> {
        self.cur_fd
    }

    /// The path a failed open of the current event named (resolved against cwd/dirfd).
    pub fn failed_open_path(&self) -> Option<&[u8]> {
        self.cur_failed_open.then_some(&self.failed_open_path[..])
    }

    /// Whether the current event changed its fd's name (connect, accept...).
    pub fn current_fd_name_changed(&self) -> bool {
        self.cur_name_changed
    }

    /// Marks the current event as state-only (EVF flag): rules must not see it.
    pub fn set_state_only(&mut self, v: bool) {
        self.cur_state_only = v;
    }

    pub fn is_state_only(&self) -> bool {
        self.cur_state_only
    }

    fn apply_pending(&mut self) {
        if let Some((pid, fd)) = self.pending_fd_removal.take() {
            if let Some(t) = self.fdtables.get_mut(&pid) {
                if t.fds.remove(&fd).is_some() {
                    self.stats.fds_removed += 1;
                }
            }
        }
        if let Some(tid) = self.pending_thread_removal.take() {
            self.remove_thread(tid);
        }
    }

    /// Updates the state with one event; call before evaluating rules on it.
    pub fn process(&mut self, ev: &Event<'_>) {
        self.apply_pending();
        self.evt_num += 1;
        self.stats.events += 1;
        self.prev_ts = if self.cur_ts == 0 {
            ev.ts()
        } else {
            self.cur_ts
        };
        self.cur_ts = ev.ts();
        self.cur_tid = ev.tid();
        self.cur_fd = None;
        self.cur_failed_open = false;
        self.cur_name_changed = false;
        let etype = ev.event_type();
        let Some(info) = ev.info() else { return };
        let kind = kinds().get(etype as usize).copied().unwrap_or(Kind::None);
        // libsinsp makes no thread for the idle task (tid 0) nor for an unknown task seen
        // only being switched out by the scheduler.
        if ev.tid() > 0
            && !matches!(etype, 146 | 152)
            && !self.threads.contains_key(&ev.tid())
            && !is_meta_event(etype)
        {
            self.add_stub_thread(ev.tid());
        }
        if ev.is_enter() {
            let fd = if info.has_flag(ef::USES_FD) {
                fd_param_index(etype).and_then(|i| ev.param_i64(i))
            } else {
                None
            };
            self.cur_fd = fd;
            let max = self.limits.max_enter_event;
            if let Some(th) = self.threads.get_mut(&ev.tid()) {
                th.last_fd = fd.unwrap_or(-1);
                th.last_enter.clear();
                if ev.raw().len() <= max {
                    th.last_enter.extend_from_slice(ev.raw());
                } else {
                    self.stats.enter_events_too_large += 1;
                }
            }
            match kind {
                Kind::ProcExit => self.pending_thread_removal = Some(ev.tid()),
                Kind::ContainerJson => {
                    if let Some(c) = ev.param_str(0).and_then(container::parse_container_json) {
                        self.containers.insert(c.id.clone(), c);
                    }
                }
                Kind::ContainerOld => {
                    let c = Container {
                        id: ev.param_str(0).unwrap_or_default().to_vec(),
                        name: ev.param_str(2).unwrap_or_default().to_vec(),
                        image: ev.param_str(3).unwrap_or_default().to_vec(),
                        ..Container::default()
                    };
                    self.containers.insert(c.id.clone(), c);
                }
                Kind::UserAdded if ev.param_str(5).map_or(true, |c| c.is_empty()) => {
                    let uid = ev.param_u64(0).unwrap_or(0) as u32;
                    self.users.insert(
                        uid,
                        User {
                            uid,
                            gid: ev.param_u64(1).unwrap_or(0) as u32,
                            name: ev.param_str(2).unwrap_or_default().to_vec(),
                            home: ev.param_str(3).unwrap_or_default().to_vec(),
                            shell: ev.param_str(4).unwrap_or_default().to_vec(),
                        },
                    );
                }
                Kind::GroupAdded if ev.param_str(2).map_or(true, |c| c.is_empty()) => {
                    let gid = ev.param_u64(0).unwrap_or(0) as u32;
                    self.groups
                        .insert(gid, ev.param_str(1).unwrap_or_default().to_vec());
                }
                _ => {}
            }
            return;
        }

        // Exit: borrow the thread's stored enter event (moved out, put back after).
        let (enter_buf, last_fd) = self
            .threads
            .get_mut(&ev.tid())
            .map(|t| (std::mem::take(&mut t.last_enter), t.last_fd))
            .unwrap_or((Vec::new(), -1));
        let enter = Event::parse(&enter_buf)
            .ok()
            .filter(|e| e.event_type() + 1 == etype);
        let args = Args { ev: *ev, enter };
        if info.has_flag(ef::USES_FD) || info.has_flag(ef::DESTROYS_FD) {
            self.cur_fd = fd_param_index(etype)
                .and_then(|i| ev.param_i64(i))
                .or((last_fd >= 0).then_some(last_fd));
        }
        if info.has_flag(ef::CREATES_FD) && kind != Kind::Clone {
            if let Some(fd) = ev.param_i64(0).filter(|f| *f >= 0) {
                if matches!(kind, Kind::Pipe) {
                    // libsinsp names a pipe event by its read end.
                    self.cur_fd = args.own("fd1").and_then(decode::int);
                } else {
                    self.cur_fd = Some(fd);
                }
            }
        }
        self.apply_exit(kind, &args);
        if self.container_resolver.is_some() {
            self.resolve_live_container(ev.tid(), ev.ts());
        }
        if let Some(th) = self.threads.get_mut(&ev.tid()) {
            if th.last_enter.is_empty() {
                th.last_enter = enter_buf;
            }
        }
    }

    /// Looks the runtime's metadata up for the container of `tid` when no container event
    /// described it yet (live sources: see [`container_runtime`]).
    fn resolve_live_container(&mut self, tid: i64, ts: u64) {
        let Some(th) = self.threads.get(&tid) else {
            return;
        };
        if th.container_id.is_empty() || self.containers.contains_key(&th.container_id) {
            return;
        }
        let Some(full_id) = container::full_container_id_from_cgroups(&th.cgroups) else {
            return;
        };
        let Some(resolver) = self.container_resolver.as_mut() else {
            return;
        };
        if let Some(c) = resolver.resolve(full_id, ts) {
            if self.containers.len() >= MAX_LIVE_CONTAINERS {
                // Bounded: forget one container; its threads' fields are looked up again.
                if let Some(k) = self.containers.keys().next().cloned() {
                    self.containers.remove(&k);
                }
            }
            self.containers.insert(c.id.clone(), c);
        }
    }

    fn apply_exit(&mut self, kind: Kind, a: &Args<'_>) {
        let ev = &a.ev;
        let tid = ev.tid();
        let res = ev.param_i64(0);
        match kind {
            Kind::None | Kind::ProcExit | Kind::ContainerJson | Kind::ContainerOld => {}
            Kind::UserAdded | Kind::GroupAdded => {}
            Kind::Open => self.on_open(a),
            Kind::Socket => {
                let Some(fd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let domain = a.u64("domain").unwrap_or(0);
                let stype = a.u64("type").unwrap_or(0) & 0xf;
                let proto = a.u64("proto").unwrap_or(0);
                let kind = match domain {
                    2 => FdKind::Ipv4Sock,
                    10 => FdKind::Ipv6Sock,
                    1 => FdKind::UnixSock,
                    16 => FdKind::Netlink,
                    _ => FdKind::Unsupported,
                };
                let l4proto = if kind.is_inet() {
                    match (stype, proto) {
                        (_, 1) | (_, 58) => l4::ICMP,
                        (1, _) => l4::TCP,
                        (2, _) => l4::UDP,
                        (3, _) => l4::RAW,
                        _ => l4::UNKNOWN,
                    }
                } else {
                    l4::NA
                };
                self.new_fd(
                    tid,
                    fd,
                    Fd {
                        kind,
                        l4proto,
                        ..Fd::default()
                    },
                );
            }
            Kind::SocketPair => {
                if res != Some(0) {
                    return;
                }
                let src = a.u64("source").unwrap_or(0);
                let peer = a.u64("peer").unwrap_or(0);
                for p in ["fd1", "fd2"] {
                    if let Some(fd) = a.i64(p) {
                        self.new_fd(
                            tid,
                            fd,
                            Fd {
                                kind: FdKind::UnixSock,
                                l4proto: l4::NA,
                                unix_source: src,
                                unix_dest: peer,
                                ..Fd::default()
                            },
                        );
                    }
                }
            }
            Kind::Connect => {
                let Some(fd) = self.cur_fd else { return };
                let tuple = a.own("tuple").and_then(decode::socktuple);
                match tuple {
                    Some(t) => self.set_tuple(tid, fd, &t, false),
                    None => {
                        // No tuple: keep what the enter's address says about the peer.
                        if let Some(SockAddr::Inet(ip, port)) =
                            a.bytes("addr").and_then(decode::sockaddr)
                        {
                            if let Some(f) = self.fd_mut(tid, fd) {
                                f.dip = Some(ip);
                                f.dport = port;
                            }
                        }
                    }
                }
            }
            Kind::Accept => {
                let Some(fd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let Some(t) = a.own("tuple").and_then(decode::socktuple) else {
                    self.new_fd(
                        tid,
                        fd,
                        Fd {
                            kind: FdKind::Unknown,
                            ..Fd::default()
                        },
                    );
                    return;
                };
                self.new_fd(
                    tid,
                    fd,
                    Fd {
                        server_role: true,
                        ..Fd::default()
                    },
                );
                self.set_tuple(tid, fd, &t, true);
            }
            Kind::Bind => {
                if res != Some(0) {
                    return;
                }
                let Some(fd) = self.cur_fd else { return };
                let addr = a.own("addr").and_then(decode::sockaddr);
                if let Some(f) = self.fd_mut(tid, fd) {
                    let name;
                    match addr {
                        Some(SockAddr::Inet(ip, port)) => {
                            f.kind = if ip.is_ipv4() && f.kind != FdKind::Ipv6Sock {
                                FdKind::Ipv4ServSock
                            } else {
                                FdKind::Ipv6ServSock
                            };
                            f.sip = Some(ip);
                            f.sport = port;
                            f.server_role = true;
                            if f.l4proto == l4::UNKNOWN {
                                f.l4proto = l4::TCP;
                            }
                            name = socket_name(f, &mut Vec::new()).to_vec();
                        }
                        Some(SockAddr::Unix(p)) => name = p.to_vec(),
                        _ => return,
                    }
                    f.name = name;
                    f.name_changed = true;
                    self.cur_name_changed = true;
                }
            }
            Kind::Close => {
                if res != Some(0) {
                    return;
                }
                if let (Some(fd), Some(th)) = (self.cur_fd, self.threads.get(&tid)) {
                    self.pending_fd_removal = Some((th.pid, fd));
                }
            }
            Kind::Dup => {
                let Some(newfd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let oldfd = a
                    .i64("oldfd")
                    .or(a.enter.as_ref().and_then(|e| e.param_i64(0)));
                let Some(oldfd) = oldfd else { return };
                if oldfd == newfd {
                    return;
                }
                if let Some(mut f) = self.fd(tid, oldfd).cloned() {
                    f.cloexec = a.u64("flags").is_some_and(|v| v & 0x1000 != 0);
                    self.new_fd(tid, newfd, f);
                }
                self.cur_fd = Some(newfd);
            }
            Kind::Fcntl => {
                let cmd = a.u64("cmd").unwrap_or(0);
                // F_DUPFD and F_DUPFD_CLOEXEC create a copy.
                if cmd != 1 && cmd != 26 {
                    return;
                }
                let Some(newfd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let Some(oldfd) = a.i64("fd") else { return };
                if let Some(mut f) = self.fd(tid, oldfd).cloned() {
                    f.cloexec = cmd == 26;
                    self.new_fd(tid, newfd, f);
                }
            }
            Kind::Pipe => {
                if res != Some(0) {
                    return;
                }
                let ino = a.u64("ino").unwrap_or(0);
                let cloexec = a.u64("flags").is_some_and(|v| v & 0x1000 != 0);
                for p in ["fd1", "fd2"] {
                    if let Some(fd) = a.i64(p) {
                        self.new_fd(
                            tid,
                            fd,
                            Fd {
                                kind: FdKind::Fifo,
                                ino,
                                cloexec,
                                ..Fd::default()
                            },
                        );
                    }
                }
            }
            Kind::NewFd(k) => {
                let Some(fd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let mut f = Fd {
                    kind: k,
                    ..Fd::default()
                };
                if k == FdKind::Memfd {
                    f.name = b"memfd:".to_vec();
                    f.name.extend_from_slice(a.str("name").unwrap_or_default());
                }
                self.new_fd(tid, fd, f);
            }
            Kind::Clone => self.on_clone(a),
            Kind::Execve => self.on_execve(a),
            Kind::Chdir => {
                if res != Some(0) {
                    return;
                }
                let Some(path) = a.str("path") else { return };
                if let Some(th) = self.threads.get_mut(&tid) {
                    let mut cwd = Vec::new();
                    render::concat_path(&th.cwd, path, &mut cwd);
                    th.cwd = with_trailing_slash(cwd);
                }
            }
            Kind::Fchdir => {
                if res != Some(0) {
                    return;
                }
                let Some(fd) = self.cur_fd else { return };
                if let Some(name) = self.fd(tid, fd).map(|f| f.name.clone()) {
                    if let Some(th) = self.threads.get_mut(&tid) {
                        th.cwd = with_trailing_slash(name);
                    }
                }
            }
            Kind::Setuid | Kind::Setresuid | Kind::Setreuid => {
                if res != Some(0) {
                    return;
                }
                let uid = match kind {
                    Kind::Setuid => a.u64("uid"),
                    _ => a.u64("euid"),
                };
                if let (Some(uid), Some(th)) = (uid, self.threads.get_mut(&tid)) {
                    if uid as u32 != u32::MAX {
                        th.uid = uid as u32;
                    }
                }
            }
            Kind::Setgid | Kind::Setresgid | Kind::Setregid => {
                if res != Some(0) {
                    return;
                }
                let gid = match kind {
                    Kind::Setgid => a.u64("gid"),
                    _ => a.u64("egid"),
                };
                if let (Some(gid), Some(th)) = (gid, self.threads.get_mut(&tid)) {
                    if gid as u32 != u32::MAX {
                        th.gid = gid as u32;
                    }
                }
            }
            Kind::Setsid => {
                if let (Some(sid), Some(th)) = (res.filter(|r| *r >= 0), self.threads.get_mut(&tid))
                {
                    th.sid = sid;
                }
            }
            Kind::Chroot => {
                if res != Some(0) {
                    return;
                }
                if let (Some(p), Some(th)) = (a.str("path"), self.threads.get_mut(&tid)) {
                    th.root = p.to_vec();
                }
            }
        }
    }

    fn new_fd(&mut self, tid: i64, fd: i64, info: Fd) {
        let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
            return;
        };
        self.insert_fd(pid, fd, info);
    }

    fn set_tuple(&mut self, tid: i64, fd: i64, t: &SockTuple<'_>, accepted: bool) {
        if self.fd(tid, fd).is_none() {
            self.new_fd(tid, fd, Fd::default());
        }
        let Some(f) = self.fd_mut(tid, fd) else {
            return;
        };
        match *t {
            SockTuple::Inet {
                sip,
                sport,
                dip,
                dport,
            } => {
                f.kind = match (f.kind, sip) {
                    (FdKind::Ipv6Sock, _) => FdKind::Ipv6Sock,
                    (_, std::net::IpAddr::V4(_)) => FdKind::Ipv4Sock,
                    _ => FdKind::Ipv6Sock,
                };
                if f.l4proto == l4::UNKNOWN || f.l4proto == l4::NA {
                    f.l4proto = if accepted { l4::TCP } else { l4::UNKNOWN };
                }
                f.sip = Some(sip);
                f.sport = sport;
                f.dip = Some(dip);
                f.dport = dport;
                let mut name = std::mem::take(&mut f.name);
                name.clear();
                render::socktuple(t, &mut name);
                f.name = name;
            }
            SockTuple::Unix { source, dest, path } => {
                f.kind = FdKind::UnixSock;
                f.l4proto = l4::NA;
                f.unix_source = source;
                f.unix_dest = dest;
                f.name.clear();
                f.name.extend_from_slice(path);
            }
            SockTuple::Other(_) => return,
        }
        f.name_changed = true;
        self.cur_name_changed = true;
    }

    /// Absolute path for `path` as seen by thread `tid` (relative to `dirfd` if given).
    fn resolve_path(&self, tid: i64, dirfd: Option<i64>, path: &[u8], out: &mut Vec<u8>) {
        if path.first() == Some(&b'/') {
            render::concat_path(b"/", path, out);
            return;
        }
        let base: &[u8] = match dirfd {
            Some(d) if d != -100 => match self.fd(tid, d) {
                Some(f) => &f.name,
                None => b"",
            },
            _ => self.threads.get(&tid).map(|t| &t.cwd[..]).unwrap_or(b"/"),
        };
        if base.is_empty() {
            out.extend_from_slice(path);
            return;
        }
        render::concat_path(base, path, out);
    }

    fn on_open(&mut self, a: &Args<'_>) {
        let ev = &a.ev;
        let tid = ev.tid();
        let name = a.str("name").or_else(|| a.str("path")).unwrap_or_default();
        let Some(fd) = ev.param_i64(0).filter(|f| *f >= 0) else {
            let mut path = std::mem::take(&mut self.failed_open_path);
            path.clear();
            self.resolve_path(tid, a.i64("dirfd"), name, &mut path);
            self.failed_open_path = path;
            self.cur_failed_open = true;
            return;
        };
        let is_creat = table::name_of(ev.event_type()) == "creat";
        let flags = if is_creat {
            open_flags::O_CREAT | open_flags::O_WRONLY | 0x100
        } else {
            a.u64("flags").unwrap_or(0) as u32
        };
        let dirfd = a.i64("dirfd");
        let mut resolved = std::mem::take(&mut self.scratch);
        resolved.clear();
        self.resolve_path(tid, dirfd, name, &mut resolved);
        let kind = if flags & open_flags::O_DIRECTORY != 0 {
            FdKind::Directory
        } else {
            FdKind::File
        };
        let f = Fd {
            kind,
            name: resolved.clone(),
            name_raw: name.to_vec(),
            open_flags: flags,
            dev: a.u64("dev").unwrap_or(0) as u32,
            ino: a.u64("ino").unwrap_or(0),
            cloexec: flags & 0x1000 != 0,
            l4proto: l4::NA,
            ..Fd::default()
        };
        self.scratch = resolved;
        self.new_fd(tid, fd, f);
    }

    fn on_clone(&mut self, a: &Args<'_>) {
        let ev = &a.ev;
        let Some(res) = ev.param_i64(0) else { return };
        if res < 0 {
            return;
        }
        let flags = a.u64("flags").unwrap_or(0) as u32;
        let caller_tid = ev.tid();
        let (child_tid, child_side) = if res == 0 {
            (caller_tid, true)
        } else {
            (res, false)
        };
        let p_tid = a.i64("tid").unwrap_or(caller_tid);
        let p_pid = a.i64("pid").unwrap_or(caller_tid);
        let p_ptid = a.i64("ptid").unwrap_or(-1);
        let thread_flag = flags & clone_flags::CLONE_THREAD != 0;
        if !child_side && self.threads.get(&child_tid).is_some_and(|t| !t.stub) {
            // The child's own exit arrived first and created it already.
            return;
        }
        let (pid, ptid) = if child_side || thread_flag {
            (p_pid, p_ptid)
        } else {
            (child_tid, p_tid)
        };
        // The parent thread (to inherit what the event does not carry).
        let parent_tid = if child_side { ptid } else { caller_tid };
        let parent = self.threads.get(&parent_tid).or_else(|| {
            // Thread clones: the parent is the caller thread of the same process.
            self.threads.get(&pid)
        });
        let mut th = match (child_side, self.threads.get(&child_tid)) {
            (true, Some(existing)) if !existing.stub => existing.clone(),
            _ => parent.cloned().unwrap_or_default(),
        };
        th.stub = false;
        th.last_enter = Vec::new();
        th.last_fd = -1;
        th.tid = child_tid;
        th.pid = pid;
        th.ptid = ptid;
        th.exited = false;
        if let Some(exe) = a.own("exe") {
            th.exe = decode::cstr(exe).to_vec();
        }
        if let Some(args) = a.own("args") {
            th.args = args.to_vec();
        }
        // libsinsp takes the cwd from the parent, not from the (often empty) parameter.
        if th.cwd.is_empty() {
            if let Some(cwd) = a.own("cwd").map(decode::cstr).filter(|c| !c.is_empty()) {
                th.cwd = with_trailing_slash(cwd.to_vec());
            }
        }
        if let Some(comm) = a.own("comm").map(decode::cstr) {
            th.comm = comm.to_vec();
        } else if th.comm.is_empty() {
            th.comm = basename(&th.exe).to_vec();
        }
        if let Some(cg) = a.own("cgroups") {
            th.cgroups = cg.to_vec();
            th.container_id = container::container_id_from_cgroups(cg)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
        }
        if let Some(v) = a.own("fdlimit").and_then(decode::int) {
            th.fdlimit = v;
        }
        if let Some(v) = a.own("uid").and_then(decode::uint) {
            th.uid = v as u32;
        }
        if let Some(v) = a.own("gid").and_then(decode::uint) {
            th.gid = v as u32;
        }
        if let Some(v) = a.own("pidns_init_start_ts").and_then(decode::uint) {
            th.pidns_init_start_ts = v;
        }
        let in_ns = flags & clone_flags::CLONE_CHILD_IN_PIDNS != 0;
        if child_side {
            if let Some(v) = a.own("vtid").and_then(decode::int) {
                th.vtid = v;
            }
            if let Some(v) = a.own("vpid").and_then(decode::int) {
                th.vpid = v;
            }
        } else {
            let parent_in_ns = parent.is_some_and(|p| p.vpid >= 0 && p.vpid != p.pid);
            if !parent_in_ns && !in_ns && flags & clone_flags::CLONE_NEWPID == 0 {
                th.vtid = child_tid;
                th.vpid = pid;
            } else {
                th.vtid = -1;
                th.vpid = -1;
            }
        }
        if th.clone_ts == 0 || !child_side {
            th.clone_ts = ev.ts();
        }
        th.exec_ts = parent.map(|p| p.exec_ts).unwrap_or(0);
        let new_process = !thread_flag && pid == child_tid;
        let parent_pid = parent.map(|p| p.pid);
        let existed = self.threads.contains_key(&child_tid);
        if !self.add_thread(th) {
            return;
        }
        if new_process && !existed {
            if let Some(ppid) = parent_pid {
                if let Some(src) = self.fdtables.get(&ppid).map(|t| t.fds.clone()) {
                    let refs = self.fdtables.get(&pid).map(|t| t.refs).unwrap_or(1);
                    self.fdtables.insert(pid, FdTable { fds: src, refs });
                }
            }
        }
    }

    fn on_execve(&mut self, a: &Args<'_>) {
        let ev = &a.ev;
        let Some(res) = ev.param_i64(0) else { return };
        if res < 0 {
            return;
        }
        let tid = ev.tid();
        if !self.threads.contains_key(&tid) {
            let th = Thread {
                tid,
                pid: a.i64("pid").unwrap_or(tid),
                ptid: a.i64("ptid").unwrap_or(-1),
                sid: -1,
                vpgid: -1,
                pgid: -1,
                vtid: -1,
                vpid: -1,
                loginuid: u32::MAX,
                uid: u32::MAX,
                gid: u32::MAX,
                last_fd: -1,
                ..Thread::default()
            };
            if !self.add_thread(th) {
                return;
            }
        } else if let Some(th) = self.threads.get_mut(&tid).filter(|t| t.stub) {
            // First seen on this event, `process` added a stub: the exit carries the process
            // and parent ids (what sysdig shows as proc.ppid/pname for such a thread).
            th.stub = false;
            if let Some(ptid) = a.i64("ptid") {
                th.ptid = ptid;
            }
            let stub_pid = th.pid;
            if let Some(pid) = a.i64("pid").filter(|&p| p != stub_pid) {
                th.pid = pid;
                self.release_fdtable(stub_pid);
                self.fdtables.entry(pid).or_default().refs += 1;
            }
        }
        let filename = a
            .str("filename")
            .or_else(|| a.str("pathname"))
            .map(<[u8]>::to_vec);
        let Some(th) = self.threads.get_mut(&tid) else {
            return;
        };
        if let Some(exe) = a.own("exe") {
            th.exe = decode::cstr(exe).to_vec();
        }
        th.args = a.own("args").map(<[u8]>::to_vec).unwrap_or_default();
        th.comm = match a.own("comm") {
            Some(c) => decode::cstr(c).to_vec(),
            None => basename(&th.exe).to_vec(),
        };
        if let Some(env) = a.own("env").filter(|e| !e.is_empty()) {
            th.env = env.to_vec();
        }
        if let Some(cg) = a.own("cgroups") {
            th.cgroups = cg.to_vec();
            th.container_id = container::container_id_from_cgroups(cg)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
        }
        if let Some(v) = a.own("fdlimit").and_then(decode::int) {
            th.fdlimit = v;
        }
        if let Some(v) = a.own("tty").and_then(decode::uint) {
            th.tty = v as u32;
        }
        if let Some(i) = ev.param_index("pgid") {
            if let Some(v) = ev.param_i64(i) {
                th.vpgid = v;
            }
        }
        if let Some(v) = a.own("loginuid").and_then(decode::uint) {
            th.loginuid = v as u32;
        }
        if let Some(v) = a.own("flags").and_then(decode::uint) {
            th.exe_writable = v & 1 != 0;
            th.exe_upper_layer = v & 2 != 0;
            th.exe_from_memfd = v & 4 != 0;
            th.exe_lower_layer = v & 8 != 0;
        }
        if let Some(v) = a.own("cap_inheritable").and_then(decode::uint) {
            th.cap_inheritable = v;
        }
        if let Some(v) = a.own("cap_permitted").and_then(decode::uint) {
            th.cap_permitted = v;
        }
        if let Some(v) = a.own("cap_effective").and_then(decode::uint) {
            th.cap_effective = v;
        }
        if let Some(v) = a.own("exe_ino").and_then(decode::uint) {
            th.exe_ino = v;
        }
        if let Some(v) = a.own("exe_ino_ctime").and_then(decode::uint) {
            th.exe_ino_ctime = v;
        }
        if let Some(v) = a.own("exe_ino_mtime").and_then(decode::uint) {
            th.exe_ino_mtime = v;
        }
        if let Some(v) = a.own("uid").and_then(decode::uint) {
            th.uid = v as u32;
        }
        if let Some(v) = a.own("gid").and_then(decode::uint) {
            th.gid = v as u32;
        }
        let trusted = a
            .own("trusted_exepath")
            .map(decode::cstr)
            .filter(|p| !p.is_empty());
        th.exepath = match (trusted, filename) {
            (Some(t), _) => t.to_vec(),
            (None, Some(f)) if !f.is_empty() => {
                let mut out = Vec::new();
                if f.first() == Some(&b'/') {
                    out = f;
                } else {
                    render::concat_path(&th.cwd, &f, &mut out);
                }
                out
            }
            _ => Vec::new(),
        };
        th.exec_ts = ev.ts();
        let pid = th.pid;
        // execve closes the fds opened with O_CLOEXEC.
        if let Some(t) = self.fdtables.get_mut(&pid) {
            let before = t.fds.len();
            t.fds.retain(|_, f| !f.cloexec);
            self.stats.fds_removed += (before - t.fds.len()) as u64;
        }
    }

    /// Render context for the current event's thread.
    pub fn render_context(&self, tid: i64) -> StateRender<'_> {
        StateRender { state: self, tid }
    }

    /// `evt.args` of `ev` rendered with this state's fd/thread/user names.
    pub fn render_args(&self, ev: &Event<'_>, out: &mut Vec<u8>) {
        render::args(ev, &self.render_context(ev.tid()), out);
    }
}

/// Events that describe the system rather than a thread's syscall (no thread entry is
/// created for their tid).
pub(crate) fn is_meta_event(etype: u16) -> bool {
    matches!(
        etype,
        148 | 149
            | 196
            | 228
            | 234
            | 244
            | 260
            | 270
            | 272
            | 280
            | 286
            | 322
            | 324
            | 354
            | 356
            | 358
            | 360
            | 402
    )
}

/// `name` of an inet socket: `sip:sport->dip:dport`, or `ip:port` for a server socket.
fn socket_name<'b>(f: &Fd, out: &'b mut Vec<u8>) -> &'b [u8] {
    use std::io::Write;
    match (f.sip, f.dip) {
        (Some(s), Some(d)) if !f.kind.is_server() => {
            render::socktuple(
                &SockTuple::Inet {
                    sip: s,
                    sport: f.sport,
                    dip: d,
                    dport: f.dport,
                },
                out,
            );
        }
        (Some(s), _) => {
            render::ip(&s, out);
            let _ = write!(out, ":{}", f.sport);
        }
        _ => {}
    }
    out
}

/// [`RenderContext`] over the state for one thread.
pub struct StateRender<'s> {
    state: &'s State,
    tid: i64,
}

impl RenderContext for StateRender<'_> {
    fn fd_desc(&self, fd: i64, out: &mut Vec<u8>) -> bool {
        let Some(f) = self.state.fd(self.tid, fd) else {
            return false;
        };
        out.push(b'<');
        out.push(f.kind.typechar());
        if f.kind.is_inet() && !f.name.is_empty() {
            if let Some(c) = l4::letter(f.l4proto) {
                out.push(c);
            }
        }
        out.push(b'>');
        out.extend_from_slice(&f.name);
        true
    }
    fn fd_typechar(&self, fd: i64) -> Option<u8> {
        self.state.fd(self.tid, fd).map(|f| f.kind.typechar())
    }
    fn thread_comm(&self, tid: i64) -> Option<&[u8]> {
        self.state.threads.get(&tid).map(|t| &t.comm[..])
    }
    fn user_name(&self, uid: u32) -> Option<&[u8]> {
        self.state.users.get(&uid).map(|u| &u.name[..])
    }
    fn group_name(&self, gid: u32) -> Option<&[u8]> {
        self.state.groups.get(&gid).map(|g| &g[..])
    }
    fn cwd(&self) -> Option<&[u8]> {
        self.state.threads.get(&self.tid).map(|t| &t.cwd[..])
    }
    fn dirfd_path(&self, dirfd: i64, out: &mut Vec<u8>) -> bool {
        match self.state.fd(self.tid, dirfd) {
            Some(f) => {
                out.extend_from_slice(&f.name);
                out.push(b'/');
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::encode;
    use crate::fields::{FieldArg, Values};
    use extract::Field;

    fn i64b(v: i64) -> [u8; 8] {
        v.to_le_bytes()
    }

    fn seeded() -> State {
        let mut s = State::default();
        s.add_thread(Thread {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"bash".to_vec(),
            exe: b"/bin/bash".to_vec(),
            exepath: b"/bin/bash".to_vec(),
            cwd: b"/home/u/".to_vec(),
            last_fd: -1,
            ..Thread::default()
        });
        s.add_thread(Thread {
            tid: 1,
            pid: 1,
            ptid: 0,
            comm: b"systemd".to_vec(),
            last_fd: -1,
            ..Thread::default()
        });
        s
    }

    fn field(s: &State, ev: &Event<'_>, name: &str, arg: FieldArg) -> String {
        let mut v = Values::new();
        let f = Field::parse(name).unwrap();
        s.extractor(ev).extract_field(f, &arg, &mut v);
        let mut out = Vec::new();
        extract::render_values(&v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn execve_of_a_thread_first_seen_takes_its_ids_from_the_exit() {
        let mut s = seeded();
        let rec = encode(
            1_000,
            300,
            293,
            &[
                &i64b(0),
                b"cat\0",
                b"/dev/null\0",
                &i64b(300),
                &i64b(300),
                &i64b(100),
                b"/\0",
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(field(&s, &ev, "proc.name", FieldArg::None), "cat");
        assert_eq!(field(&s, &ev, "proc.ppid", FieldArg::None), "100");
        assert_eq!(field(&s, &ev, "proc.pname", FieldArg::None), "bash");
        assert!(!s.thread(300).unwrap().stub);
        // A thread of another process (exit pid 310): its fd table is the process's.
        let rec = encode(
            2_000,
            311,
            293,
            &[
                &i64b(0),
                b"cat\0",
                b"\0",
                &i64b(311),
                &i64b(310),
                &i64b(100),
                b"/\0",
            ],
        );
        s.process(&Event::parse(&rec).unwrap());
        let th = s.thread(311).unwrap();
        assert_eq!((th.pid, th.ptid), (310, 100));
        assert!(
            !s.fdtables.contains_key(&311),
            "the stub's own table is released"
        );
        assert_eq!(s.fdtables.get(&310).map(|t| t.refs), Some(1));
    }

    #[test]
    fn clone_execve_open_close() {
        let mut s = seeded();
        // fork in the parent: res = child tid 200 (CLONE_20_X, no CLONE_THREAD).
        let mut p: Vec<Vec<u8>> = vec![
            i64b(200).to_vec(),
            b"/bin/bash\0".to_vec(),
            b"-c\0ls\0".to_vec(),
            i64b(100).to_vec(),
            i64b(100).to_vec(),
            i64b(1).to_vec(),
            b"\0".to_vec(),
            i64b(1024).to_vec(),
        ];
        p.extend([i64b(0).to_vec(), i64b(0).to_vec()]);
        p.extend(std::iter::repeat_n(0u32.to_le_bytes().to_vec(), 3));
        p.push(b"bash\0".to_vec());
        p.push(b"cpuset=/\0".to_vec());
        p.push(0u32.to_le_bytes().to_vec());
        p.push(0u32.to_le_bytes().to_vec());
        p.push(0u32.to_le_bytes().to_vec());
        let refs: Vec<&[u8]> = p.iter().map(|v| &v[..]).collect();
        let rec = encode(1_000, 100, 223, &refs);
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        let child = s.thread(200).unwrap();
        assert_eq!(child.pid, 200);
        assert_eq!(child.ptid, 100);
        assert_eq!(child.cwd, b"/home/u/");

        // execve enter + exit in the child (EXECVE_19, old-layout exit without filename).
        let rec = encode(2_000, 200, 292, &[b"/usr/bin/cat\0"]);
        s.process(&Event::parse(&rec).unwrap());
        let rec = encode(
            2_100,
            200,
            293,
            &[
                &i64b(0),
                b"cat\0",
                b"/etc/shadow\0",
                &i64b(200),
                &i64b(200),
                &i64b(100),
                b"\0",
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(field(&s, &ev, "proc.name", FieldArg::None), "cat");
        assert_eq!(
            field(&s, &ev, "proc.cmdline", FieldArg::None),
            "cat /etc/shadow"
        );
        assert_eq!(
            field(&s, &ev, "proc.exepath", FieldArg::None),
            "/usr/bin/cat"
        );
        assert_eq!(field(&s, &ev, "proc.pname", FieldArg::None), "bash");
        assert_eq!(field(&s, &ev, "proc.aname", FieldArg::Index(2)), "systemd");
        assert_eq!(field(&s, &ev, "proc.duration", FieldArg::None), "1100");

        // openat relative to the cwd, old layout: arguments in the enter event.
        let rec = encode(
            3_000,
            200,
            102,
            &[
                &i64b(-100),
                b"../x/f.txt\0",
                &4097u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        s.process(&Event::parse(&rec).unwrap());
        let rec = encode(3_100, 200, 103, &[&i64b(5)]);
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(field(&s, &ev, "fd.name", FieldArg::None), "/home/x/f.txt");
        assert_eq!(field(&s, &ev, "fd.directory", FieldArg::None), "/home/x");
        assert_eq!(field(&s, &ev, "fd.filename", FieldArg::None), "f.txt");
        assert_eq!(field(&s, &ev, "fd.num", FieldArg::None), "5");
        assert_eq!(field(&s, &ev, "fd.typechar", FieldArg::None), "f");

        // close: fd info still visible on the exit, gone afterwards.
        let rec = encode(4_000, 200, 4, &[&i64b(5)]);
        s.process(&Event::parse(&rec).unwrap());
        let rec = encode(4_100, 200, 5, &[&i64b(0)]);
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(field(&s, &ev, "fd.name", FieldArg::None), "/home/x/f.txt");
        let rec = encode(4_200, 200, 186, &[&i64b(0)]);
        s.process(&Event::parse(&rec).unwrap());
        assert!(s.fd(200, 5).is_none());
        // procexit: the thread is dropped once the next event comes.
        let rec = encode(4_300, 100, 6, &[&i64b(0), &0u32.to_le_bytes()]);
        s.process(&Event::parse(&rec).unwrap());
        assert!(s.thread(200).is_none());
        assert_eq!(s.stats.threads_removed, 1);
    }

    #[test]
    fn sockets_and_limits() {
        let mut s = seeded();
        let rec = encode(
            1,
            100,
            18,
            &[
                &2u32.to_le_bytes(),
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        s.process(&Event::parse(&rec).unwrap());
        let rec = encode(2, 100, 19, &[&i64b(3)]);
        s.process(&Event::parse(&rec).unwrap());
        let rec = encode(3, 100, 22, &[&i64b(3)]);
        s.process(&Event::parse(&rec).unwrap());
        let tuple = [2u8, 10, 0, 0, 1, 0x39, 0x30, 8, 8, 8, 8, 0x35, 0];
        let rec = encode(4, 100, 23, &[&i64b(0), &tuple]);
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(
            field(&s, &ev, "fd.name", FieldArg::None),
            "10.0.0.1:12345->8.8.8.8:53"
        );
        assert_eq!(field(&s, &ev, "fd.rip", FieldArg::None), "8.8.8.8");
        assert_eq!(field(&s, &ev, "fd.lport", FieldArg::None), "12345");
        assert_eq!(field(&s, &ev, "fd.l4proto", FieldArg::None), "tcp");
        assert_eq!(field(&s, &ev, "fd.typechar", FieldArg::None), "4");
        assert_eq!(field(&s, &ev, "fd.name_changed", FieldArg::None), "true");

        let mut small = State::new(Limits {
            max_threads: 1,
            max_fds_per_process: 1,
            max_enter_event: 16,
        });
        assert!(small.add_thread(Thread {
            tid: 1,
            pid: 1,
            ..Thread::default()
        }));
        assert!(!small.add_thread(Thread {
            tid: 2,
            pid: 2,
            ..Thread::default()
        }));
        assert_eq!(small.stats.threads_dropped_limit, 1);
        small.insert_fd(1, 0, Fd::default());
        small.insert_fd(1, 1, Fd::default());
        assert_eq!(small.stats.fds_dropped_limit, 1);
    }
}
