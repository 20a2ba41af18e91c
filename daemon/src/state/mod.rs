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
pub mod socket;
pub mod thread;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::event::decode::{self, SockAddr};
use crate::event::render::{self, RenderContext};
use crate::event::table::{self, clone_flags, flags as ef, open_flags};
use crate::event::Event;
use crate::source::scap::{FdEntry, Reader};

use thread::l4;
pub use thread::{Container, Fd, FdKind, FdTable, Role, Thread, User};

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
    /// open-family exits (`creat` implies its flags).
    Open {
        creat: bool,
    },
    Socket,
    SocketPair,
    ConnectEnter,
    Connect,
    SendToEnter,
    /// sendto/sendmsg exits: a datagram's destination names an unconnected socket.
    SendTo,
    /// recvfrom/recvmsg exits: a datagram's source names an unconnected socket.
    RecvFrom,
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
    /// copy_file_range exit: the event's fd is the output one.
    CopyFileRange,
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
            "connect" => Kind::ConnectEnter,
            "sendto" => Kind::SendToEnter,
            _ => Kind::None,
        };
    }
    match info.name {
        "open" | "openat" | "openat2" | "open_by_handle_at" => Kind::Open { creat: false },
        "creat" => Kind::Open { creat: true },
        "socket" => Kind::Socket,
        "socketpair" => Kind::SocketPair,
        "connect" => Kind::Connect,
        "sendto" | "sendmsg" => Kind::SendTo,
        "recvfrom" | "recvmsg" => Kind::RecvFrom,
        "copy_file_range" => Kind::CopyFileRange,
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

/// Index of the `fd` parameter of each event type (looked up once, not per event): the one
/// named `fd`, else a leading FD parameter (copy_file_range's `fdin`).
fn fd_param_index(etype: u16) -> Option<usize> {
    static FD: std::sync::OnceLock<Vec<Option<u8>>> = std::sync::OnceLock::new();
    FD.get_or_init(|| {
        (0..table::EVENT_TYPE_COUNT as u16)
            .map(|t| {
                table::info(t)
                    .and_then(|i| {
                        i.param_index("fd").or_else(|| {
                            (i.params.first()?.ptype == table::ParamType::Fd).then_some(0)
                        })
                    })
                    .and_then(|i| u8::try_from(i).ok())
            })
            .collect()
    })
    .get(etype as usize)
    .copied()
    .flatten()
    .map(usize::from)
}

/// Keeps a copy of enter event `ev` and the fd it names in its thread for the exit; false
/// when the event is larger than `max` (then only the fd is kept).
fn keep_enter(th: &mut Thread, ev: &Event<'_>, fd: i64, max: usize) -> bool {
    th.last_fd = fd;
    th.last_enter.clear();
    if ev.raw().len() > max {
        return false;
    }
    th.last_enter.extend_from_slice(ev.raw());
    true
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

/// An environment buffer up to where only NUL padding is left (libsinsp stops reading
/// there: a process list's fixed-size environment is not a list of empty variables).
fn env_items(env: &[u8]) -> &[u8] {
    let mut at = 0;
    while at < env.len() {
        if env[at] == 0 && env[at..].iter().all(|&b| b == 0) {
            return &env[..at];
        }
        at += memchr::memchr(0, &env[at..]).map_or(env.len() - at, |i| i + 1);
    }
    env
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
    pub interfaces: socket::Interfaces,
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
            interfaces: socket::Interfaces::default(),
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
        // Every libscap capture lists at least the loopback interfaces; one with no list at
        // all (written from a procfs snapshot) gets those, so 127.0.0.1 and ::1 stay local.
        self.interfaces = if r.interfaces.is_empty() {
            socket::Interfaces::loopback()
        } else {
            socket::Interfaces::new(&r.interfaces)
        };
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
                env: env_items(&t.env).to_vec(),
                // One working directory per process, kept by its main thread.
                cwd: if t.tid == t.pid {
                    with_trailing_slash(t.cwd.clone())
                } else {
                    Vec::new()
                },
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
                last_fd: 0,
                ..Thread::default()
            };
            self.add_thread(th);
        }
        self.load_fds(&r.fds);
    }

    /// Adds the capture's fd lists (after the threads they belong to).
    fn load_fds(&mut self, fds: &[FdEntry]) {
        let mut listening_ports = Vec::new();
        for f in fds {
            let pid = self.threads.get(&f.tid).map(|t| t.pid).unwrap_or(f.tid);
            let mut fd = Fd {
                kind: f.kind,
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
                cloexec: f.open_flags & 0x1000 != 0,
                ..Fd::default()
            };
            match f.kind {
                FdKind::Ipv6Sock => {
                    if let (Some(s), Some(d)) = (f.sip, f.dip) {
                        let (kind, s, d) = socket::inet_tuple(s, d);
                        (fd.kind, fd.sip, fd.dip) = (kind, Some(s), Some(d));
                    }
                }
                FdKind::Ipv4ServSock | FdKind::Ipv6ServSock => listening_ports.push(f.sport),
                // A unix socket listed with a path is the listening (server) end.
                FdKind::UnixSock => {
                    fd.role = if f.name.is_empty() {
                        Role::Client
                    } else {
                        Role::Server
                    }
                }
                _ => {}
            }
            if fd.kind.is_inet() {
                let mut name = Vec::new();
                socket::inet_name(&fd, &mut name);
                fd.name = name;
            }
            self.insert_fd(pid, f.fd, fd);
        }
        // The process list says nothing of who connected: like libsinsp, an IPv4 connection
        // from a port some socket listens on is the server end (its tuple turned to
        // client->server), any other the client end.
        for table in self.fdtables.values_mut() {
            for f in table.fds.values_mut() {
                if f.kind != FdKind::Ipv4Sock {
                    continue;
                }
                if listening_ports.contains(&f.sport) {
                    socket::swap_ends(f);
                    f.role = Role::Server;
                    let mut name = std::mem::take(&mut f.name);
                    socket::inet_name(f, &mut name);
                    f.name = name;
                } else {
                    f.role = Role::Client;
                }
            }
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
            last_fd: 0,
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

    /// Whether `ip` is an address of this machine as libsinsp judges it for thread `tid`:
    /// an IPv4 address of its container (or, when the container's own address is unknown,
    /// of any container) or of an interface; an IPv6 address only outside containers, in
    /// the /64 of an interface.
    pub fn is_local_ip(&self, tid: i64, ip: std::net::IpAddr) -> bool {
        let container = self
            .threads
            .get(&tid)
            .map(|t| &t.container_id[..])
            .unwrap_or_default();
        let container_ip = |c: &Container| {
            std::str::from_utf8(&c.ip)
                .ok()
                .and_then(|s| s.parse::<std::net::Ipv4Addr>().ok())
                .filter(|a| !a.is_unspecified())
        };
        match ip {
            std::net::IpAddr::V4(a) => {
                if let Some(c) = self
                    .containers
                    .get(container)
                    .filter(|_| !container.is_empty())
                {
                    let hit = match container_ip(c) {
                        Some(own) => own == a,
                        None => self.containers.values().any(|o| container_ip(o) == Some(a)),
                    };
                    if hit {
                        return true;
                    }
                }
                self.interfaces.has_v4(a)
            }
            std::net::IpAddr::V6(a) => container.is_empty() && self.interfaces.has_v6_net(a),
        }
    }

    /// The working directory of thread `tid`: its process's, kept by the main thread (as
    /// libsinsp keeps it; `./` when the main thread is unknown).
    pub fn cwd_of(&self, tid: i64) -> &[u8] {
        match self.threads.get(&tid) {
            Some(t) if t.tid == t.pid => &t.cwd,
            Some(t) => self.threads.get(&t.pid).map_or(b"./", |m| &m.cwd[..]),
            None => b"./",
        }
    }

    /// chdir/fchdir: the process's working directory becomes `path` resolved against the
    /// calling thread's own one (what libsinsp's `update_cwd` does).
    fn change_cwd(&mut self, tid: i64, path: &[u8]) {
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        let mut cwd = Vec::new();
        render::concat_path(&t.cwd, path, &mut cwd);
        let (cwd, pid) = (with_trailing_slash(cwd), t.pid);
        if let Some(main) = self.threads.get_mut(&pid) {
            main.cwd = cwd;
        }
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
        // only being switched out by the scheduler. The stub is made where the path below
        // looks its thread up anyway (one lookup per event on the common path).
        let needs_stub = ev.tid() > 0 && !matches!(etype, 146 | 152) && !is_meta_event(etype);
        // The fd fields of an fd event show the thread's last event fd (libsinsp's
        // `lastevent_fd`): set by an enter that names one, by whatever creates one.
        let fd_event = info.has_flag(ef::USES_FD)
            || info.has_flag(ef::CREATES_FD)
            || info.has_flag(ef::DESTROYS_FD);
        if ev.is_enter() {
            let fd = if info.has_flag(ef::USES_FD) {
                fd_param_index(etype)
                    .and_then(|i| ev.param_i64(i))
                    .unwrap_or(-1)
            } else {
                -1
            };
            let max = self.limits.max_enter_event;
            // Scheduler and other tracepoint events do not interrupt a syscall: the
            // thread keeps its enter event (libsinsp's EF_SKIPPARSERESET).
            let kept = if skips_parse_reset(etype) {
                if needs_stub && !self.threads.contains_key(&ev.tid()) {
                    self.add_stub_thread(ev.tid());
                }
                None
            } else {
                match self.threads.get_mut(&ev.tid()) {
                    Some(th) => Some(keep_enter(th, ev, fd, max)),
                    None if needs_stub => {
                        self.add_stub_thread(ev.tid());
                        self.threads
                            .get_mut(&ev.tid())
                            .map(|th| keep_enter(th, ev, fd, max))
                    }
                    None => None,
                }
            };
            if let Some(kept) = kept {
                self.cur_fd = fd_event.then_some(fd);
                if !kept {
                    self.stats.enter_events_too_large += 1;
                }
            }
            match kind {
                Kind::ProcExit => self.pending_thread_removal = Some(ev.tid()),
                Kind::ConnectEnter => self.on_connect_enter(ev),
                Kind::SendToEnter => self.on_sendto_enter(ev),
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

        if kind == Kind::None {
            // Most exits (read, write, mmap...) change no state: of the stored enter only
            // its fd is wanted, so the enter is neither taken out nor parsed.
            let last_fd = match self.threads.get(&ev.tid()) {
                Some(th) => Some(th.last_fd),
                None if needs_stub => {
                    self.add_stub_thread(ev.tid());
                    self.threads.get(&ev.tid()).map(|th| th.last_fd)
                }
                None => None,
            };
            if self.container_resolver.is_some() {
                self.resolve_live_container(ev.tid(), ev.ts());
            }
            self.cur_fd = last_fd.filter(|_| fd_event);
            return;
        }
        // Exit: borrow the thread's stored enter event (moved out, put back after).
        let fd_out = (kind == Kind::CopyFileRange)
            .then(|| ev.param_i64(1))
            .flatten();
        let taken = self.threads.get_mut(&ev.tid()).map(|t| {
            if let Some(out) = fd_out {
                t.last_fd = out;
            }
            (std::mem::take(&mut t.last_enter), Some(t.last_fd))
        });
        let (enter_buf, last_fd) = match taken {
            Some(taken) => taken,
            None if needs_stub => {
                self.add_stub_thread(ev.tid());
                let last_fd = self.threads.get_mut(&ev.tid()).map(|t| {
                    if let Some(out) = fd_out {
                        t.last_fd = out;
                    }
                    t.last_fd
                });
                (Vec::new(), last_fd)
            }
            None => (Vec::new(), None),
        };
        let enter = Event::parse(&enter_buf)
            .ok()
            .filter(|e| e.event_type() + 1 == etype);
        let args = Args { ev: *ev, enter };
        // The exit refers to the enter's fd (whatever its own parameters say), its
        // parsers to what they create.
        self.cur_fd = last_fd;
        self.apply_exit(kind, &args);
        if self.container_resolver.is_some() {
            self.resolve_live_container(ev.tid(), ev.ts());
        }
        if let Some(th) = self.threads.get_mut(&ev.tid()) {
            if th.last_enter.is_empty() {
                th.last_enter = enter_buf;
            }
            self.cur_fd = fd_event.then_some(th.last_fd);
        } else {
            self.cur_fd = None;
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
            Kind::ConnectEnter | Kind::SendToEnter | Kind::CopyFileRange => {}
            Kind::UserAdded | Kind::GroupAdded => {}
            Kind::Open { creat } => self.on_open(a, creat),
            Kind::Socket => {
                let Some(fd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                let domain = a.u64("domain").unwrap_or(0);
                let stype = a.u64("type").unwrap_or(0);
                let proto = a.u64("proto").unwrap_or(0);
                self.new_fd(tid, fd, new_socket(domain, stype, proto));
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
                                unix_source: src,
                                unix_dest: peer,
                                ..Fd::default()
                            },
                        );
                    }
                }
            }
            Kind::Connect => self.on_connect_exit(a),
            Kind::SendTo | Kind::RecvFrom => self.on_datagram_exit(kind == Kind::RecvFrom, a),
            Kind::Accept => {
                let Some(fd) = res.filter(|f| *f >= 0) else {
                    return;
                };
                if let Some(th) = self.threads.get_mut(&tid) {
                    th.last_fd = fd;
                }
                let Some(t) = a.own("tuple").and_then(decode::socktuple) else {
                    return;
                };
                let mut f = Fd {
                    role: Role::Server,
                    l4proto: l4::TCP,
                    ..Fd::default()
                };
                match socket::apply_reported(&mut f, &t, false) {
                    socket::Applied::Inet(_) => {
                        let mut name = Vec::new();
                        socket::inet_name(&f, &mut name);
                        f.name = name;
                    }
                    socket::Applied::Unix => f.l4proto = l4::UNKNOWN,
                    socket::Applied::Other => return,
                }
                self.new_fd(tid, fd, f);
                self.cur_name_changed = true;
            }
            Kind::Bind => {
                if res.map_or(true, |r| r < 0) {
                    return;
                }
                let Some(fd) = self.cur_fd else { return };
                let Some(raw) = a.own("addr").filter(|p| !p.is_empty()) else {
                    return;
                };
                let Some(f) = self.fd_mut(tid, fd) else {
                    return;
                };
                // A port makes it a listening socket; the name is the address either way.
                if let Some(SockAddr::Inet(ip, port)) = decode::sockaddr(raw) {
                    if port > 0 {
                        f.kind = if ip.is_ipv4() {
                            FdKind::Ipv4ServSock
                        } else {
                            FdKind::Ipv6ServSock
                        };
                        f.sip = Some(ip);
                        f.sport = port;
                        f.role = Role::Server;
                    }
                }
                f.name.clear();
                render::sockaddr(raw, &mut f.name);
                f.name_changed = true;
                self.cur_name_changed = true;
            }
            Kind::Close => {
                if res != Some(0) {
                    return;
                }
                // The exit's own fd when it has one: a driver that sends exits only (ours)
                // leaves the thread's last event fd at whatever the previous call made
                // (rm: fcntl(3, F_DUPFD)=4 then close(3) must drop 3, not 4).
                let fd = fd_param_index(a.ev.event_type())
                    .and_then(|i| a.ev.param_i64(i))
                    .or(self.cur_fd);
                if let (Some(fd), Some(th)) = (fd, self.threads.get(&tid)) {
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
                self.change_cwd(tid, path);
            }
            Kind::Fchdir => {
                if res != Some(0) {
                    return;
                }
                let Some(fd) = self.cur_fd else { return };
                if let Some(name) = self.fd(tid, fd).map(|f| f.name.clone()) {
                    self.change_cwd(tid, &name);
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

    /// Adds an fd a syscall created; it becomes the thread's last event fd.
    fn new_fd(&mut self, tid: i64, fd: i64, info: Fd) {
        let Some(th) = self.threads.get_mut(&tid) else {
            return;
        };
        th.last_fd = fd;
        let pid = th.pid;
        self.cur_fd = Some(fd);
        self.insert_fd(pid, fd, info);
    }

    /// connect enter: the destination address is known before the exit reports the tuple.
    fn on_connect_enter(&mut self, ev: &Event<'_>) {
        let Some(fd) = self.cur_fd else { return };
        let addr = ev
            .param_index("addr")
            .map(|i| ev.param(i).unwrap_or_default());
        let Some(f) = self.fd_mut(ev.tid(), fd) else {
            return;
        };
        match addr {
            // Old layouts carry no address: the destination is unknown again.
            None => {
                if f.kind.is_connection() {
                    f.dip = None;
                    f.dport = 0;
                }
                let mut name = std::mem::take(&mut f.name);
                socket::tuple_name(f, &mut name);
                f.name = name;
            }
            Some(raw) => match decode::sockaddr(raw) {
                Some(SockAddr::Inet(ip, port)) => {
                    f.kind = if ip.is_ipv4() {
                        FdKind::Ipv4Sock
                    } else {
                        FdKind::Ipv6Sock
                    };
                    f.dip = Some(ip);
                    f.dport = port;
                }
                Some(SockAddr::Unix(path)) => {
                    f.name.clear();
                    f.name.extend_from_slice(path);
                }
                _ => {}
            },
        }
    }

    /// connect exit: a successful (or in-progress) connect reports the tuple; the socket is
    /// the client end unless it already had a role.
    fn on_connect_exit(&mut self, a: &Args<'_>) {
        let tid = a.ev.tid();
        let Some(fd) = self.cur_fd else { return };
        // Without the enter the fd's data may be stale: the tuple replaces it entirely.
        let overwrite = a.enter.is_none();
        let res = a.ev.param_i64(0).unwrap_or(0);
        if res < 0 && res != -115 {
            return;
        }
        let Some(raw) = a.own("tuple").filter(|t| !t.is_empty()) else {
            return;
        };
        let Some(t) = decode::socktuple(raw) else {
            return;
        };
        let Some(f) = self.fd_mut(tid, fd) else {
            return;
        };
        if let socket::Applied::Inet(changed) = socket::apply_reported(f, &t, overwrite) {
            // A datagram server connecting to its peer: keep it the server end.
            if changed && f.role == Role::Server && f.l4proto == l4::UDP {
                socket::swap_ends(f);
            }
            let mut name = std::mem::take(&mut f.name);
            socket::tuple_name(f, &mut name);
            f.name = name;
        }
        if f.role == Role::None {
            f.role = Role::Client;
        }
        f.name_changed = true;
        self.cur_name_changed = true;
    }

    /// sendto enter on an fd the state does not know: libsinsp assumes a UDP socket of the
    /// destination's family.
    fn on_sendto_enter(&mut self, ev: &Event<'_>) {
        let Some(fd) = self.cur_fd.filter(|f| *f >= 0) else {
            return;
        };
        if self.fd(ev.tid(), fd).is_some() {
            return;
        }
        let domain = match ev
            .param_index("tuple")
            .and_then(|i| ev.param(i))
            .and_then(|t| t.first())
        {
            Some(2) => 2,
            Some(10) => 10,
            _ => return,
        };
        self.new_fd(ev.tid(), fd, new_socket(domain, 2, 17));
    }

    /// sendto/sendmsg/recvfrom/recvmsg exits: the datagram's tuple names a socket that
    /// has no name yet (or is not TCP); its role is guessed from the process's ports.
    fn on_datagram_exit(&mut self, incoming: bool, a: &Args<'_>) {
        let tid = a.ev.tid();
        if a.ev.param_i64(0).map_or(true, |r| r < 0) {
            return;
        }
        let Some(fd) = self.cur_fd else { return };
        let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
            return;
        };
        let Some(table) = self.fdtables.get_mut(&pid) else {
            return;
        };
        let Some(f) = table.fds.get_mut(&fd) else {
            return;
        };
        // A named TCP socket keeps its tuple (checked first: most traffic).
        if !f.name.is_empty() && f.is_tcp() {
            return;
        }
        // sendto names its destination in the enter event, recvfrom its source in the exit.
        let raw = if incoming {
            a.own("tuple")
        } else {
            a.enter
                .as_ref()
                .and_then(|e| e.param(e.param_index("tuple")?))
                .or_else(|| a.own("tuple"))
        };
        let Some(t) = raw.filter(|r| !r.is_empty()).and_then(decode::socktuple) else {
            return;
        };
        match socket::apply_reported(f, &t, false) {
            socket::Applied::Inet(true) => {
                if f.l4proto == l4::UNKNOWN {
                    f.l4proto = l4::UDP;
                }
                self.interfaces.complete(f);
                if f.role == Role::None {
                    let role = socket::guessed_role(table, fd, incoming);
                    if let Some(f) = table.fds.get_mut(&fd) {
                        f.role = role;
                    }
                }
                let Some(f) = table.fds.get_mut(&fd) else {
                    return;
                };
                // Kept client->server: a send from a server or a receive by a client is the
                // tuple seen from the other end.
                if (f.role == Role::Server) != incoming {
                    socket::swap_ends(f);
                }
                let mut name = std::mem::take(&mut f.name);
                socket::tuple_name(f, &mut name);
                f.name = name;
            }
            socket::Applied::Unix => {}
            socket::Applied::Inet(false) | socket::Applied::Other => return,
        }
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
            _ if self.threads.contains_key(&tid) => self.cwd_of(tid),
            _ => b"/",
        };
        if base.is_empty() {
            out.extend_from_slice(path);
            return;
        }
        render::concat_path(base, path, out);
    }

    /// open-family exits; `creat` has no flags parameter (its flags are implied).
    fn on_open(&mut self, a: &Args<'_>, creat: bool) {
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
        let flags = if creat {
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
        // A child in another pid namespace: the caller sees its namespace pid, not its
        // tid; libsinsp leaves it to the child's own exit (as for CLONE_PARENT).
        const CLONE_PARENT: u32 = 0x100;
        let caller_vtid = match self.threads.get(&caller_tid).filter(|t| !t.stub) {
            Some(t) => t.vtid,
            None => a.own("vtid").and_then(decode::int).unwrap_or(caller_tid),
        };
        // Process lists older than PL v4 carry no vtid (and 0 is no thread): the tid then.
        let caller_vtid = if caller_vtid <= 0 {
            caller_tid
        } else {
            caller_vtid
        };
        if !child_side
            && (flags
                & (clone_flags::CLONE_CHILD_IN_PIDNS | clone_flags::CLONE_NEWPID | CLONE_PARENT)
                != 0
                || caller_tid != caller_vtid)
        {
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
        th.last_fd = 0;
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
        // libsinsp takes the cwd from the parent, not from the (often empty) parameter; a
        // thread has none of its own (its process's is used).
        if thread_flag {
            th.cwd.clear();
        } else if let Some(cwd) = parent.map(|p| self.cwd_of(p.tid)).filter(|c| !c.is_empty()) {
            th.cwd = cwd.to_vec();
        }
        if th.cwd.is_empty() && !thread_flag {
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
        let existed = self.threads.get(&child_tid).is_some_and(|t| !t.stub);
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
                last_fd: 0,
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
            th.env = env_items(env).to_vec();
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

/// Events that leave the thread's syscall state alone: context switches, drops, procinfo,
/// cpu hotplug, infrastructure events, page faults.
fn skips_parse_reset(etype: u16) -> bool {
    matches!(etype, 146 | 148 | 149 | 152 | 234 | 244 | 286 | 290)
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

/// A socket as socket() makes it (libsinsp's `add_socket`): family and layer-4 protocol
/// from the arguments, no tuple, no role.
fn new_socket(domain: u64, stype: u64, proto: u64) -> Fd {
    const SOCK_STREAM: u64 = 1;
    const SOCK_DGRAM: u64 = 2;
    const SOCK_RAW: u64 = 3;
    let kind = match domain {
        1 => FdKind::UnixSock,
        2 => FdKind::Ipv4Sock,
        10 => FdKind::Ipv6Sock,
        16 => FdKind::Netlink,
        _ => FdKind::Unknown,
    };
    let raw_or = |p| if stype == SOCK_RAW { l4::RAW } else { p };
    let l4proto = if kind.is_inet() {
        match proto {
            6 => raw_or(l4::TCP),
            17 => raw_or(l4::UDP),
            1 => raw_or(l4::ICMP),
            255 => l4::RAW,
            // IPPROTO_IP: the socket type says (flags masked off).
            0 => match stype & 0xff {
                SOCK_STREAM => l4::TCP,
                SOCK_DGRAM => l4::UDP,
                _ => l4::UNKNOWN,
            },
            _ => l4::UNKNOWN,
        }
    } else {
        l4::UNKNOWN
    };
    Fd {
        kind,
        l4proto,
        ..Fd::default()
    }
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
        if let Some(c) = l4::letter(f.shown_l4proto()) {
            out.push(c);
        }
        out.push(b'>');
        // libsinsp prints the name without its control characters (`tostring_clean`).
        out.extend(f.name.iter().copied().filter(|&c| c >= 0x20 && c != 0x7f));
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
        self.state
            .threads
            .contains_key(&self.tid)
            .then(|| self.state.cwd_of(self.tid))
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
    use crate::event::decode::test_bytes::{inet6_sockaddr, inet6_tuple};
    use crate::event::encode;
    use crate::fields::{FieldArg, Values};
    use extract::Field;

    /// A record of event `etype` with the named parameters set and every other one zero
    /// (integers of their width, empty strings), so that a test names only what it is about.
    pub(super) fn record(ts: u64, tid: i64, etype: u16, set: &[(&str, &[u8])]) -> Vec<u8> {
        use table::ParamType as T;
        let info = table::info(etype).expect("a known event type");
        let params: Vec<Vec<u8>> = info
            .params
            .iter()
            .map(|p| match set.iter().find(|(name, _)| *name == p.name) {
                Some((_, v)) => v.to_vec(),
                None => match p.ptype {
                    T::CharBuf | T::FsPath | T::FsRelPath => vec![0],
                    T::Int8 | T::Uint8 | T::Flags8 | T::EnumFlags8 | T::SigType => vec![0; 1],
                    T::Int16 | T::Uint16 | T::Flags16 | T::EnumFlags16 | T::Port => vec![0; 2],
                    T::Int32 | T::Uint32 | T::Flags32 | T::EnumFlags32 | T::Mode => vec![0; 4],
                    T::Uid | T::Gid | T::Fd32 | T::Pid32 | T::Bool => vec![0; 4],
                    T::Int64 | T::Uint64 | T::Errno | T::Fd | T::Pid => vec![0; 8],
                    T::RelTime | T::AbsTime | T::Double => vec![0; 8],
                    _ => Vec::new(),
                },
            })
            .collect();
        let refs: Vec<&[u8]> = params.iter().map(|v| &v[..]).collect();
        encode(ts, tid, etype, &refs)
    }

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
        let p = clone_exit(200, (100, 100, 1), 0, 100);
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
        let rec = record(
            3_000,
            200,
            102,
            &[
                ("dirfd", &i64b(-100)),
                ("name", b"../x/f.txt\0"),
                ("flags", &4097u32.to_le_bytes()),
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

    fn interfaces(list: &[&str]) -> socket::Interfaces {
        let v: Vec<crate::source::scap::Interface> = list
            .iter()
            .map(|a| crate::source::scap::Interface {
                name: "eth0".into(),
                addr: a.parse().unwrap(),
                netmask: if a.contains(':') {
                    "ffff:ffff:ffff:ffff::".parse().unwrap()
                } else {
                    "255.255.255.0".parse().unwrap()
                },
            })
            .collect();
        socket::Interfaces::new(&v)
    }

    /// Processes an event and returns the listed fields of it, space-separated.
    fn run(s: &mut State, tid: i64, etype: u16, params: &[&[u8]], fields: &str) -> String {
        let rec = encode(1, tid, etype, params);
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        let mut args = Vec::new();
        s.render_args(&ev, &mut args);
        let mut out = vec![String::from_utf8(args).unwrap().trim_end().to_string()];
        for f in fields.split_whitespace() {
            out.push(field(s, &ev, f, FieldArg::None));
        }
        out.join(" | ")
    }

    /// socket() enter and exit in thread 100: `fd` of (domain, type, proto); returns the
    /// exit's fields.
    fn socket(s: &mut State, fd: i64, args: (u32, u32, u32), fields: &str) -> String {
        let (d, t, p) = (
            args.0.to_le_bytes(),
            args.1.to_le_bytes(),
            args.2.to_le_bytes(),
        );
        run(s, 100, 18, &[&d, &t, &p], "");
        run(s, 100, 19, &[&i64b(fd)], fields)
    }

    const NET: &str =
        "fd.name fd.is_server fd.l4proto fd.lip fd.lport fd.rip fd.rport fd.cip fd.cport";

    #[test]
    fn an_unconnected_datagram_socket_is_named_by_its_first_send() {
        let mut s = seeded();
        s.interfaces = interfaces(&["::1", "2600:1f18::d29e"]);
        // No role yet: no protocol shown, no ends; `::` is in the /64 of `::1`.
        assert_eq!(
            socket(&mut s, 3, (10, 2, 0), NET),
            "fd=3(<6>) |  | true | <NA> | <NA> | <NA> | <NA> | <NA> | <NA> | <NA>"
        );
        let dest = inet6_tuple("::", 0, "::1", 2345);
        run(&mut s, 100, 30, &[&i64b(3), &6u32.to_le_bytes(), &dest], "");
        // The send names it (source completed from the interfaces) and makes it a client.
        assert_eq!(
            run(&mut s, 100, 31, &[&i64b(6), b"Testme"], NET),
            "res=6 data=Testme | ::1:0->::1:2345 | true | udp | ::1 | 0 | ::1 | 2345 | ::1 | 0"
        );
        assert_eq!(
            run(
                &mut s,
                100,
                22,
                &[&i64b(3), &inet6_sockaddr("::1", 2345)],
                "fd.name"
            ),
            "fd=3(<6u>::1:0->::1:2345) addr=::1:2345 | ::1:0->::1:2345"
        );
        let t = inet6_tuple("::1", 38255, "::1", 2345);
        assert_eq!(
            run(&mut s, 100, 23, &[&i64b(0), &t], "fd.name"),
            "res=0 tuple=::1:38255->::1:2345 | ::1:38255->::1:2345"
        );
        // An old-layout connect enter (no address) forgets the destination; the exit's
        // tuple then fills it.
        assert_eq!(
            run(&mut s, 100, 22, &[&i64b(3)], ""),
            "fd=3(<6u>::1:38255->:::0)"
        );
        let t = inet6_tuple("::1", 38255, "2001:4860:4860::8888", 53);
        assert_eq!(
            run(&mut s, 100, 23, &[&i64b(0), &t], "fd.name fd.sport"),
            "res=0 tuple=::1:38255->2001:4860:4860::8888:53 | ::1:38255->2001:4860:4860::8888:53 | 53"
        );
        // A later send to elsewhere keeps the known destination.
        let dest = inet6_tuple("::1", 38255, "::1", 9);
        run(&mut s, 100, 30, &[&i64b(3), &6u32.to_le_bytes(), &dest], "");
        assert_eq!(
            run(&mut s, 100, 31, &[&i64b(6), b"Testme"], "fd.name"),
            "res=6 data=Testme | ::1:38255->2001:4860:4860::8888:53"
        );
    }

    #[test]
    fn bind_listen_accept_and_a_failed_connect() {
        let mut s = seeded();
        s.interfaces = interfaces(&["2001:db8::3", "2001:db8::4"]);
        socket(&mut s, 3, (10, 1, 6), "");
        run(&mut s, 100, 20, &[&i64b(3)], "");
        assert_eq!(
            run(
                &mut s,
                100,
                21,
                &[&i64b(0), &inet6_sockaddr("2001:db8::3", 1234)],
                NET
            ),
            "res=0 addr=2001:db8::3:1234 | 2001:db8::3:1234 | true | tcp | <NA> | <NA> | <NA> \
             | <NA> | <NA> | <NA>"
        );
        // Bound to port 0: only the name changes, the socket stays without a role.
        socket(&mut s, 4, (10, 1, 6), "");
        run(&mut s, 100, 20, &[&i64b(4)], "");
        assert_eq!(
            run(
                &mut s,
                100,
                21,
                &[&i64b(0), &inet6_sockaddr("2001:db8::4", 0)],
                "fd.name fd.l4proto fd.lip"
            ),
            "res=0 addr=2001:db8::4:0 | 2001:db8::4:0 | <NA> | <NA>"
        );
        assert_eq!(
            run(
                &mut s,
                100,
                22,
                &[&i64b(4), &inet6_sockaddr("2001:db8::3", 1234)],
                ""
            ),
            "fd=4(<6>2001:db8::4:0) addr=2001:db8::3:1234"
        );
        // Accepted: the server end; local is whichever end is ours, here the client's
        // address (both are) — libsinsp looks at the source end first.
        run(&mut s, 100, 246, &[], "");
        let t = inet6_tuple("2001:db8::4", 54405, "2001:db8::3", 1234);
        assert_eq!(
            run(
                &mut s,
                100,
                247,
                &[
                    &i64b(5),
                    &t,
                    &[0u8],
                    &0u32.to_le_bytes(),
                    &1u32.to_le_bytes()
                ],
                "fd.name fd.lip fd.lport fd.rport fd.sport fd.is_server"
            )
            .split(" | ")
            .skip(1)
            .collect::<Vec<_>>(),
            [
                "2001:db8::4:54405->2001:db8::3:1234",
                "2001:db8::4",
                "54405",
                "1234",
                "1234",
                "true"
            ]
        );
        // A unix connect that failed is named by the tuple it reports.
        socket(&mut s, 6, (1, 1, 0), "");
        run(&mut s, 100, 22, &[&i64b(6)], "");
        let mut t = vec![1u8];
        t.extend(0u64.to_le_bytes());
        t.extend(0xffff94dc817b9400u64.to_le_bytes());
        t.extend(b"/var/run/nscd/socket\0");
        assert_eq!(
            run(&mut s, 100, 23, &[&i64b(-2), &t], "fd.name fd.containername"),
            "res=-2(ENOENT) tuple=0->ffff94dc817b9400 /var/run/nscd/socket \
             | 0->ffff94dc817b9400 /var/run/nscd/socket | :0->ffff94dc817b9400 /var/run/nscd/socket"
        );
    }

    #[test]
    fn process_list_connections_are_oriented_by_the_listening_ports() {
        use crate::source::scap::FdKind as K;
        let mut s = seeded();
        s.interfaces = interfaces(&["10.0.2.15"]);
        let e = |fd: i64, kind: K, sip: &str, sport: u16, dip: Option<&str>, dport: u16| FdEntry {
            tid: 100,
            fd,
            kind,
            sip: Some(sip.parse().unwrap()),
            dip: dip.map(|d| d.parse().unwrap()),
            sport,
            dport,
            l4proto: l4::TCP,
            ..FdEntry::default()
        };
        s.load_fds(&[
            e(3, K::Ipv4Sock, "10.0.2.15", 22, Some("10.0.2.2"), 49289),
            e(4, K::Ipv4ServSock, "0.0.0.0", 22, None, 0),
            e(5, K::Ipv4Sock, "10.0.2.15", 40000, Some("1.2.3.4"), 443),
            FdEntry {
                tid: 100,
                fd: 6,
                kind: K::UnixSock,
                name: b"/run/x.sock".to_vec(),
                ..FdEntry::default()
            },
        ]);
        let f = |fd: i64| s.fd(100, fd).unwrap().clone();
        assert_eq!(f(3).name, b"10.0.2.2:49289->10.0.2.15:22");
        assert_eq!(f(3).role, Role::Server);
        assert_eq!(f(5).name, b"10.0.2.15:40000->1.2.3.4:443");
        assert_eq!(f(5).role, Role::Client);
        assert_eq!(f(6).role, Role::Server, "a unix socket with a path listens");
        assert_eq!(f(4).role, Role::None);
        let read = |s: &mut State, fd: i64| {
            run(
                s,
                100,
                6,
                &[&i64b(fd), &8u32.to_le_bytes()],
                "fd.cip fd.sip fd.sport fd.lip fd.rport fd.is_server",
            )
        };
        assert_eq!(
            read(&mut s, 3),
            "fd=3(<4t>10.0.2.2:49289->10.0.2.15:22) size=8 | 10.0.2.2 | 10.0.2.15 | 22 | 10.0.2.15 \
             | 49289 | true"
        );
        // A listening socket from the list has no role: its port shows, its address not.
        assert_eq!(
            read(&mut s, 4),
            "fd=4(<4t>0.0.0.0:22) size=8 | <NA> | <NA> | 22 | <NA> | <NA> | true"
        );
    }

    /// A clone exit (CLONE_20 layout) of `tid` returning `res`, with the given ids and flags.
    fn clone_exit(res: i64, ids: (i64, i64, i64), flags: u32, vtid: i64) -> Vec<Vec<u8>> {
        let mut p: Vec<Vec<u8>> = vec![
            i64b(res).to_vec(),
            b"/bin/bash\0".to_vec(),
            b"\0".to_vec(),
            i64b(ids.0).to_vec(),
            i64b(ids.1).to_vec(),
            i64b(ids.2).to_vec(),
            b"/elsewhere\0".to_vec(),
            i64b(1024).to_vec(),
        ];
        p.extend([i64b(0).to_vec(), i64b(0).to_vec()]);
        p.extend(std::iter::repeat_n(0u32.to_le_bytes().to_vec(), 3));
        p.push(b"bash\0".to_vec());
        p.push(b"cpuset=/\0".to_vec());
        p.push(flags.to_le_bytes().to_vec());
        p.push(0u32.to_le_bytes().to_vec());
        p.push(0u32.to_le_bytes().to_vec());
        p.push(i64b(vtid).to_vec());
        p.push(i64b(vtid).to_vec());
        p
    }

    #[test]
    fn a_child_in_another_pid_namespace_comes_from_its_own_clone_exit() {
        let mut s = seeded();
        s.insert_fd(
            100,
            7,
            Fd {
                kind: FdKind::File,
                name: b"/dev/pts/0".to_vec(),
                ..Fd::default()
            },
        );
        // The caller sees the child's namespace pid (6): no thread 6 is made.
        let p = clone_exit(6, (100, 100, 1), clone_flags::CLONE_CHILD_IN_PIDNS, 100);
        let refs: Vec<&[u8]> = p.iter().map(|v| &v[..]).collect();
        run(&mut s, 100, 223, &refs, "");
        assert!(s.thread(6).is_none());
        // The child's own exit, its first event: a process with the parent's fds.
        let p = clone_exit(0, (300, 300, 100), clone_flags::CLONE_CHILD_IN_PIDNS, 6);
        let refs: Vec<&[u8]> = p.iter().map(|v| &v[..]).collect();
        run(&mut s, 300, 223, &refs, "");
        assert_eq!(s.fd(300, 7).map(|f| &f.name[..]), Some(&b"/dev/pts/0"[..]));
        assert_eq!(
            s.thread(300).map(|t| (t.pid, t.ptid, t.vtid)),
            Some((300, 100, 6))
        );
    }

    #[test]
    fn a_context_switch_does_not_lose_the_syscall_enter() {
        let mut s = seeded();
        run(&mut s, 100, 292, &[b"/bin/ls\0"], "");
        let switch = [
            &i64b(0)[..],
            &0u64.to_le_bytes(),
            &0u64.to_le_bytes(),
            &0u32.to_le_bytes(),
            &0u32.to_le_bytes(),
            &0u32.to_le_bytes(),
        ];
        run(&mut s, 100, 152, &switch, "");
        let rec = encode(
            1,
            100,
            293,
            &[
                &i64b(0),
                b"ls\0",
                b"\0",
                &i64b(100),
                &i64b(100),
                &i64b(1),
                b"/\0",
            ],
        );
        let ev = Event::parse(&rec).unwrap();
        s.process(&ev);
        assert_eq!(field(&s, &ev, "proc.exepath", FieldArg::None), "/bin/ls");
    }

    #[test]
    fn threads_share_their_process_working_directory() {
        let mut s = seeded();
        // Thread 101 of bash (pid 100), clone seen in the child: the event's ptid is the
        // caller's parent, its cwd parameter is not the thread's.
        let p = clone_exit(
            0,
            (101, 100, 1),
            clone_flags::CLONE_THREAD | clone_flags::CLONE_FS,
            101,
        );
        let refs: Vec<&[u8]> = p.iter().map(|v| &v[..]).collect();
        assert_eq!(
            run(&mut s, 101, 223, &refs, "proc.cwd proc.pname")
                .split(" | ")
                .skip(1)
                .collect::<Vec<_>>(),
            ["/home/u/", "systemd"]
        );
        // The thread's chdir moves the whole process.
        run(&mut s, 101, 94, &[], "");
        run(&mut s, 101, 95, &[&i64b(0), b"/tmp\0"], "");
        assert_eq!(s.cwd_of(100), b"/tmp/");
        assert_eq!(s.cwd_of(101), b"/tmp/");
        // ...and relative opens of the main thread resolve against it.
        let rec = record(1, 100, 102, &[("dirfd", &i64b(-100)), ("name", b"f\0")]);
        s.process(&Event::parse(&rec).unwrap());
        assert_eq!(
            run(&mut s, 100, 103, &[&i64b(7)], "fd.name")
                .split(" | ")
                .nth(1),
            Some("/tmp/f")
        );
    }

    #[test]
    fn fd_fields_follow_the_last_event_fd() {
        let mut s = seeded();
        s.insert_fd(
            100,
            0,
            Fd {
                kind: FdKind::File,
                name: b"/dev/pts/0".to_vec(),
                ..Fd::default()
            },
        );
        s.threads.get_mut(&100).unwrap().last_fd = 0;
        const F: &str = "fd.num fd.name fd.typechar fd.directory";
        // An exit seen without its enter: the thread's last event fd (0 for a thread of
        // the process list) names it.
        assert_eq!(
            run(&mut s, 100, 9, &[&i64b(3), b"abc"], F),
            "res=3 data=abc | 0 | /dev/pts/0 | f | /dev/pts"
        );
        // fd.uid chains the thread id and the fd; any fd but a connected socket is not
        // connected.
        assert_eq!(
            run(&mut s, 100, 9, &[&i64b(3), b"abc"], "fd.uid fd.connected"),
            "res=3 data=abc | 1000 | false"
        );
        // An open enter has no fd yet: -1, and the type the syscall promises.
        assert_eq!(
            run(
                &mut s,
                100,
                2,
                &[b"x\0", &0u32.to_le_bytes(), &0u32.to_le_bytes()],
                F
            ),
            "name=x(/home/u/x) flags=0(O_NONE) mode=0 | -1 | <NA> | f | <NA>"
        );
        // ...a failed one names the path it asked for.
        assert_eq!(
            run(&mut s, 100, 3, &[&i64b(-2)], F),
            "fd=-2(ENOENT) | -1 | /home/u/x | f | /home/u"
        );
        // A write to an fd the table does not know: type `o`, an empty name in `/`.
        run(&mut s, 100, 8, &[&i64b(9), &3u32.to_le_bytes()], "");
        assert_eq!(run(&mut s, 100, 9, &[&i64b(3)], F), "res=3 | 9 |  | o | /");
        // pipe: the write end is the event's fd.
        run(&mut s, 100, 60, &[], "");
        assert_eq!(
            run(
                &mut s,
                100,
                61,
                &[&i64b(0), &i64b(3), &i64b(4), &7u64.to_le_bytes()],
                "fd.num fd.type"
            ),
            "res=0 fd1=3(<p>) fd2=4(<p>) ino=7 | 4 | pipe"
        );
        // Events without fds have no fd fields.
        assert_eq!(run(&mut s, 100, 94, &[], "fd.num"), " | <NA>");
    }

    #[test]
    fn a_zero_padded_environment_ends_at_its_padding() {
        assert_eq!(env_items(b"A=1\0B=2\0\0\0\0"), b"A=1\0B=2\0");
        assert_eq!(env_items(&[0u8; 83]), b"");
        // An empty variable followed by more is kept.
        assert_eq!(env_items(b"A=1\0\0B=2\0"), b"A=1\0\0B=2\0");
        assert_eq!(env_items(b""), b"");
    }

    #[test]
    fn a_capture_without_interfaces_keeps_loopback_local() {
        let r = Reader::from_tables(
            "t".into(),
            Default::default(),
            vec![],
            vec![],
            vec![],
            vec![],
        );
        let s = State::from_reader(&r);
        assert!(s.is_local_ip(1, "127.0.0.1".parse().unwrap()));
        assert!(!s.is_local_ip(1, "10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn sockets_and_limits() {
        let mut s = seeded();
        s.interfaces = interfaces(&["10.0.0.1"]);
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
#[cfg(test)]
/// Streams of exit records only, as our driver sends them.
mod exit_only_stream {
    use super::tests::record;
    use super::*;
    use crate::event::encode;
    fn i(v: i64) -> [u8; 8] {
        v.to_le_bytes()
    }
    #[test]
    fn close_after_fcntl_dup_drops_its_own_fd_not_the_duplicate() {
        let mut s = State::default();
        s.add_thread(Thread {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"rm".to_vec(),
            cwd: b"/".to_vec(),
            last_fd: -1,
            ..Thread::default()
        });
        let open = |ts| {
            record(
                ts,
                100,
                307,
                &[
                    ("fd", &i(3)),
                    ("dirfd", &i(-100)),
                    ("name", b"/tmp/rmt\0"),
                    ("flags", &0x10000u32.to_le_bytes()),
                ],
            )
        };
        // rm -rf DIR: open DIR twice (checking flags in between), dup it, close the original,
        // then remove entries relative to the duplicate.
        let recs: Vec<Vec<u8>> = vec![
            open(1),
            encode(2, 100, 151, &[&i(0x38800), &i(3), &[4u8]]),
            encode(3, 100, 151, &[&i(0), &i(3), &[3u8]]),
            encode(4, 100, 5, &[&i(0), &i(3)]),
            open(5),
            encode(6, 100, 151, &[&i(0x38800), &i(3), &[4u8]]),
            encode(7, 100, 151, &[&i(0), &i(3), &[3u8]]),
            encode(8, 100, 151, &[&i(4), &i(3), &[26u8]]),
            encode(9, 100, 5, &[&i(0), &i(3)]),
        ];
        for r in &recs {
            s.process(&Event::parse(r).unwrap());
        }
        let f = s
            .fd(100, 4)
            .map(|f| String::from_utf8_lossy(&f.name).to_string());
        assert_eq!(f.as_deref(), Some("/tmp/rmt"));
        let u = encode(
            10,
            100,
            303,
            &[&i(0), &i(4), b"bin\0", &0x200u32.to_le_bytes()],
        );
        let ev = Event::parse(&u).unwrap();
        s.process(&ev);
        assert!(s.fd(100, 4).is_some(), "the duplicate stays open");
        assert!(s.fd(100, 3).is_none(), "the closed original is gone");
        let mut v = crate::fields::Values::new();
        let fld = extract::Field::parse("evt.arg").unwrap();
        s.extractor(&ev)
            .extract_field(fld, &crate::fields::FieldArg::Key("name".into()), &mut v);
        let mut out = Vec::new();
        extract::render_values(&v, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "/tmp/rmt/bin");
    }

    #[test]
    fn creat_opens_for_writing_and_creation_without_a_flags_parameter() {
        let mut s = State::default();
        s.add_stub_thread(100);
        let creat = record(1, 100, 59, &[("fd", &i(5)), ("name", b"/tmp/c\0")]);
        s.process(&Event::parse(&creat).unwrap());
        let open = record(2, 100, 3, &[("fd", &i(6)), ("name", b"/tmp/o\0")]);
        s.process(&Event::parse(&open).unwrap());
        let flags = |fd| s.fd(100, fd).map(|f| f.open_flags);
        let implied = open_flags::O_CREAT | open_flags::O_WRONLY | 0x100;
        assert_eq!(flags(5), Some(implied));
        assert_eq!(
            flags(6),
            Some(0),
            "open's own flags (O_RDONLY), not creat's"
        );
    }
}
