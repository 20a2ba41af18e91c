//! Field extraction for "the current event + state": every field of Falco's syscall source
//! (`evt.*`, `proc.*`, `thread.*`, `user.*`, `group.*`, `fd.*`, `fs.path.*`, `container.*`)
//! computed the way libsinsp does, so values match what sysdig prints.
//!
//! Field names are resolved once into [`Field`] (by [`Field::parse`]); per event
//! [`EventFields`] (from [`State::extractor`]) appends values to a reusable
//! [`Values`] buffer without allocating in steady state.

use std::io::Write;
use std::net::IpAddr;

use crate::event::decode;
use crate::event::render;
use crate::event::table::{self, open_flags, ParamType};
use crate::event::Event;
use crate::fields::{Extractor, FieldArg, Values};

use super::thread::{l4, Fd, FdKind, Mount, Role, Thread};
use super::State;

/// A field of the syscall source, resolved from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltime,
    EvtType,
    EvtTypeIsSyscall,
    EvtDir,
    EvtArgs,
    EvtInfo,
    EvtArg,
    EvtRawarg,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIsWait,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtIsOpenCreate,
    EvtCpu,
    EvtSource,
    EvtHostname,
    EvtBuflen,
    EvtCategory,
    EvtPluginname,
    EvtIsAsync,
    EvtAsynctype,
    ProcPid,
    ProcExe,
    ProcName,
    ProcArgs,
    ProcEnv,
    ProcCmdline,
    ProcExeline,
    ProcCwd,
    ProcNthreads,
    ProcNchilds,
    ProcPpid,
    ProcPname,
    ProcPcmdline,
    ProcPexe,
    ProcPexepath,
    ProcAname,
    ProcApid,
    ProcAexe,
    ProcAexepath,
    ProcAcmdline,
    ProcLoginshellid,
    ProcDuration,
    ProcTty,
    ProcExepath,
    ProcSid,
    ProcSname,
    ProcSidExe,
    ProcSidExepath,
    ProcVpgid,
    ProcVpgidName,
    ProcVpid,
    ProcPvpid,
    ProcIsSidLeader,
    ProcIsVpgidLeader,
    ProcIsExeWritable,
    ProcIsExeUpperLayer,
    ProcIsExeLowerLayer,
    ProcIsExeFromMemfd,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    ProcExeInoCtimeDurationPidnsStart,
    ProcPidnsInitStartTs,
    ProcIsContainerHealthcheck,
    ProcIsContainerLivenessProbe,
    ProcIsContainerReadinessProbe,
    ProcCmdnargs,
    ProcCmdlenargs,
    ProcPpidDuration,
    ProcStartTs,
    ProcPgid,
    ThreadTid,
    ThreadVtid,
    ThreadIsmain,
    ThreadCapPermitted,
    ThreadCapEffective,
    ThreadCapInheritable,
    ThreadExectime,
    ThreadTotexectime,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdNameraw,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdUid,
    FdContainername,
    FdContainerdirectory,
    FdProto,
    FdCproto,
    FdSproto,
    FdLproto,
    FdRproto,
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    FdConnected,
    FdNameChanged,
    FdDev,
    FdDevMajor,
    FdDevMinor,
    FdIno,
    FdCipName,
    FdSipName,
    FdLipName,
    FdRipName,
    FsPathName,
    FsPathNameraw,
    FsPathSource,
    FsPathSourceraw,
    FsPathTarget,
    FsPathTargetraw,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageId,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerType,
    ContainerPrivileged,
    ContainerMounts,
    ContainerMount,
    ContainerMountSource,
    ContainerMountDest,
    ContainerMountMode,
    ContainerMountRw,
    ContainerMountPropagation,
    ContainerIp,
    ContainerInfo,
    ContainerStartTs,
    ContainerDuration,
    ContainerLabel,
    ContainerLabels,
    SyscallType,
    EvtTypeIs,
    EvtBuffer,
    EvtCount,
    EvtCountError,
    EvtLatency,
    EvtLatencyS,
    EvtLatencyNs,
    EvtLatencyHuman,
    EvtDeltatime,
    EvtDeltatimeS,
    EvtDeltatimeNs,
    EvtReltimeS,
    EvtReltimeNs,
    EvtAbspath,
    EvtAbspathSrc,
    EvtAbspathDst,
    EvtIoDir,
    EvtIsSyslog,
    ProcFdlimit,
    ProcFdopencount,
    ProcPidTs,
    ProcPpidTs,
    ProcVmrss,
    ProcVmsize,
    ProcVmswap,
    ProcVpgidExe,
    ProcVpgidExepath,
    ThreadCgroup,
    ThreadCgroups,
    ThreadNametid,
    FdTypes,
    /// Fields of other sources (k8s.*, k8smeta...) that the state cannot know: no value.
    Unavailable,
}

impl Field {
    /// Resolves a field name (without its `[arg]`); `None` if the name is unknown.
    pub fn parse(name: &str) -> Option<Field> {
        use Field::*;
        Some(match name {
            "evt.num" => EvtNum,
            "evt.time" => EvtTime,
            "evt.time.s" => EvtTimeS,
            "evt.time.iso8601" => EvtTimeIso8601,
            "evt.datetime" => EvtDatetime,
            "evt.datetime.s" => EvtDatetimeS,
            "evt.rawtime" => EvtRawtime,
            "evt.rawtime.s" => EvtRawtimeS,
            "evt.rawtime.ns" => EvtRawtimeNs,
            "evt.reltime" => EvtReltime,
            "evt.type" => EvtType,
            "evt.type.is_syscall" => EvtTypeIsSyscall,
            "evt.dir" => EvtDir,
            "evt.args" => EvtArgs,
            "evt.info" => EvtInfo,
            "evt.arg" => EvtArg,
            "evt.rawarg" => EvtRawarg,
            "evt.res" => EvtRes,
            "evt.rawres" => EvtRawres,
            "evt.failed" => EvtFailed,
            "evt.is_io" => EvtIsIo,
            "evt.is_io_read" => EvtIsIoRead,
            "evt.is_io_write" => EvtIsIoWrite,
            "evt.is_wait" => EvtIsWait,
            "evt.is_open_read" => EvtIsOpenRead,
            "evt.is_open_write" => EvtIsOpenWrite,
            "evt.is_open_exec" => EvtIsOpenExec,
            "evt.is_open_create" => EvtIsOpenCreate,
            "evt.cpu" => EvtCpu,
            "evt.source" => EvtSource,
            "evt.hostname" => EvtHostname,
            "evt.buflen" => EvtBuflen,
            "evt.category" => EvtCategory,
            "evt.pluginname" => EvtPluginname,
            "evt.is_async" => EvtIsAsync,
            "evt.asynctype" => EvtAsynctype,
            "proc.pid" => ProcPid,
            "proc.exe" => ProcExe,
            "proc.name" => ProcName,
            "proc.args" => ProcArgs,
            "proc.env" => ProcEnv,
            "proc.cmdline" => ProcCmdline,
            "proc.exeline" => ProcExeline,
            "proc.cwd" => ProcCwd,
            "proc.nthreads" => ProcNthreads,
            "proc.nchilds" => ProcNchilds,
            "proc.ppid" => ProcPpid,
            "proc.pname" => ProcPname,
            "proc.pcmdline" => ProcPcmdline,
            "proc.pexe" => ProcPexe,
            "proc.pexepath" => ProcPexepath,
            "proc.aname" => ProcAname,
            "proc.apid" => ProcApid,
            "proc.aexe" => ProcAexe,
            "proc.aexepath" => ProcAexepath,
            "proc.acmdline" => ProcAcmdline,
            "proc.loginshellid" => ProcLoginshellid,
            "proc.duration" => ProcDuration,
            "proc.tty" => ProcTty,
            "proc.exepath" => ProcExepath,
            "proc.sid" => ProcSid,
            "proc.sname" => ProcSname,
            "proc.sid.exe" => ProcSidExe,
            "proc.sid.exepath" => ProcSidExepath,
            "proc.vpgid" => ProcVpgid,
            "proc.vpgid.name" => ProcVpgidName,
            "proc.vpid" => ProcVpid,
            "proc.pvpid" => ProcPvpid,
            "proc.is_sid_leader" => ProcIsSidLeader,
            "proc.is_vpgid_leader" => ProcIsVpgidLeader,
            "proc.is_exe_writable" => ProcIsExeWritable,
            "proc.is_exe_upper_layer" => ProcIsExeUpperLayer,
            "proc.is_exe_lower_layer" => ProcIsExeLowerLayer,
            "proc.is_exe_from_memfd" => ProcIsExeFromMemfd,
            "proc.exe_ino" => ProcExeIno,
            "proc.exe_ino.ctime" => ProcExeInoCtime,
            "proc.exe_ino.mtime" => ProcExeInoMtime,
            "proc.exe_ino.ctime_duration_proc_start" => ProcExeInoCtimeDurationProcStart,
            "proc.exe_ino.ctime_duration_pidns_start" => ProcExeInoCtimeDurationPidnsStart,
            "proc.pidns_init_start_ts" => ProcPidnsInitStartTs,
            "proc.is_container_healthcheck" => ProcIsContainerHealthcheck,
            "proc.is_container_liveness_probe" => ProcIsContainerLivenessProbe,
            "proc.is_container_readiness_probe" => ProcIsContainerReadinessProbe,
            "proc.cmdnargs" => ProcCmdnargs,
            "proc.cmdlenargs" => ProcCmdlenargs,
            "proc.ppid.duration" => ProcPpidDuration,
            "proc.start_ts" => ProcStartTs,
            "proc.pgid" => ProcPgid,
            "thread.tid" => ThreadTid,
            "thread.vtid" => ThreadVtid,
            "thread.ismain" => ThreadIsmain,
            "thread.cap_permitted" => ThreadCapPermitted,
            "thread.cap_effective" => ThreadCapEffective,
            "thread.cap_inheritable" => ThreadCapInheritable,
            "thread.exectime" => ThreadExectime,
            "thread.totexectime" => ThreadTotexectime,
            "user.uid" => UserUid,
            "user.name" => UserName,
            "user.homedir" => UserHomedir,
            "user.shell" => UserShell,
            "user.loginuid" => UserLoginuid,
            "user.loginname" => UserLoginname,
            "group.gid" => GroupGid,
            "group.name" => GroupName,
            "fd.num" => FdNum,
            "fd.type" => FdType,
            "fd.typechar" => FdTypechar,
            "fd.name" => FdName,
            "fd.nameraw" => FdNameraw,
            "fd.directory" => FdDirectory,
            "fd.filename" => FdFilename,
            "fd.ip" => FdIp,
            "fd.cip" => FdCip,
            "fd.sip" => FdSip,
            "fd.lip" => FdLip,
            "fd.rip" => FdRip,
            "fd.port" => FdPort,
            "fd.cport" => FdCport,
            "fd.sport" => FdSport,
            "fd.lport" => FdLport,
            "fd.rport" => FdRport,
            "fd.l4proto" => FdL4proto,
            "fd.sockfamily" => FdSockfamily,
            "fd.is_server" => FdIsServer,
            "fd.uid" => FdUid,
            "fd.containername" => FdContainername,
            "fd.containerdirectory" => FdContainerdirectory,
            "fd.proto" => FdProto,
            "fd.cproto" => FdCproto,
            "fd.sproto" => FdSproto,
            "fd.lproto" => FdLproto,
            "fd.rproto" => FdRproto,
            "fd.net" => FdNet,
            "fd.cnet" => FdCnet,
            "fd.snet" => FdSnet,
            "fd.lnet" => FdLnet,
            "fd.rnet" => FdRnet,
            "fd.connected" => FdConnected,
            "fd.name_changed" => FdNameChanged,
            "fd.dev" => FdDev,
            "fd.dev.major" => FdDevMajor,
            "fd.dev.minor" => FdDevMinor,
            "fd.ino" => FdIno,
            "fd.cip.name" => FdCipName,
            "fd.sip.name" => FdSipName,
            "fd.lip.name" => FdLipName,
            "fd.rip.name" => FdRipName,
            "fs.path.name" => FsPathName,
            "fs.path.nameraw" => FsPathNameraw,
            "fs.path.source" => FsPathSource,
            "fs.path.sourceraw" => FsPathSourceraw,
            "fs.path.target" => FsPathTarget,
            "fs.path.targetraw" => FsPathTargetraw,
            "container.id" => ContainerId,
            "container.full_id" => ContainerFullId,
            "container.name" => ContainerName,
            "container.image" => ContainerImage,
            "container.image.id" => ContainerImageId,
            "container.image.repository" => ContainerImageRepository,
            "container.image.tag" => ContainerImageTag,
            "container.image.digest" => ContainerImageDigest,
            "container.type" => ContainerType,
            "container.privileged" => ContainerPrivileged,
            "container.mounts" => ContainerMounts,
            "container.mount" => ContainerMount,
            "container.mount.source" => ContainerMountSource,
            "container.mount.dest" => ContainerMountDest,
            "container.mount.mode" => ContainerMountMode,
            "container.mount.rdwr" => ContainerMountRw,
            "container.mount.propagation" => ContainerMountPropagation,
            "container.ip" => ContainerIp,
            "container.info" => ContainerInfo,
            "container.start_ts" => ContainerStartTs,
            "container.duration" => ContainerDuration,
            "container.label" => ContainerLabel,
            "container.labels" => ContainerLabels,
            "syscall.type" => SyscallType,
            "evt.type.is" => EvtTypeIs,
            "evt.buffer" => EvtBuffer,
            "evt.count" => EvtCount,
            "evt.count.error" => EvtCountError,
            "evt.latency" => EvtLatency,
            "evt.latency.s" => EvtLatencyS,
            "evt.latency.ns" => EvtLatencyNs,
            "evt.latency.human" => EvtLatencyHuman,
            "evt.deltatime" => EvtDeltatime,
            "evt.deltatime.s" => EvtDeltatimeS,
            "evt.deltatime.ns" => EvtDeltatimeNs,
            "evt.reltime.s" => EvtReltimeS,
            "evt.reltime.ns" => EvtReltimeNs,
            "evt.abspath" => EvtAbspath,
            "evt.abspath.src" => EvtAbspathSrc,
            "evt.abspath.dst" => EvtAbspathDst,
            "evt.io_dir" => EvtIoDir,
            "evt.is_syslog" => EvtIsSyslog,
            "proc.fdlimit" => ProcFdlimit,
            "proc.fdopencount" => ProcFdopencount,
            "proc.pid.ts" => ProcPidTs,
            "proc.ppid.ts" => ProcPpidTs,
            "proc.vmrss" => ProcVmrss,
            "proc.vmsize" => ProcVmsize,
            "proc.vmswap" => ProcVmswap,
            "proc.vpgid.exe" => ProcVpgidExe,
            "proc.vpgid.exepath" => ProcVpgidExepath,
            "thread.cgroup" => ThreadCgroup,
            "thread.cgroups" => ThreadCgroups,
            "thread.nametid" => ThreadNametid,
            "fd.types" => FdTypes,
            n if n.starts_with("k8s.")
                || n.starts_with("evt.count.")
                || n == "evt.wait_latency"
                || n == "evt.plugininfo"
                || n == "proc.aenv"
                || n == "proc.fdusage"
                || n.starts_with("container.host_")
                || n.starts_with("container.healthcheck")
                || n.starts_with("container.liveness_probe")
                || n.starts_with("container.readiness_probe")
                || n.starts_with("container.cni")
                || n.starts_with("fdlist.") =>
            {
                Unavailable
            }
            _ => return None,
        })
    }
}

/// Extraction view over one event and the state (after [`State::process`]).
pub struct EventFields<'s, 'e> {
    pub state: &'s State,
    pub ev: &'s Event<'e>,
    /// CPU the event came from (capture files record it).
    pub cpu: u16,
    /// Timestamp of the first event (for `evt.reltime`).
    pub first_ts: u64,
    buf: Vec<u8>,
    /// Render times as text (print mode) instead of raw nanoseconds (engine mode, where the
    /// output formatter renders them).
    text_times: bool,
    /// Registry id → field, filled by [`EventFields::with_ids`].
    ids: &'s [Option<Field>],
    /// See [`Extractor::memo_key`]: a fresh key per extractor, and the pipeline makes one
    /// extractor per event.
    memo_key: u64,
}

/// Source of [`EventFields::memo_key`] values (never 0: 0 means "do not remember").
static NEXT_MEMO_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl State {
    /// Field extractor for `ev` (which must just have been passed to [`State::process`]).
    pub fn extractor<'s, 'e>(&'s self, ev: &'s Event<'e>) -> EventFields<'s, 'e> {
        EventFields {
            state: self,
            ev,
            cpu: 0,
            first_ts: 0,
            buf: Vec::new(),
            text_times: false,
            ids: registry_map(),
            memo_key: NEXT_MEMO_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

fn errno_of(v: i64) -> Option<&'static str> {
    render::errno_name(v.checked_neg()?)
}

fn push_joined(items: &[u8], out: &mut Vec<u8>) {
    let mut first = true;
    for a in decode::string_list(items) {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(a);
    }
}

/// The ends of a socket as the fd fields show them (libsinsp's rules): client and server
/// of a connection once it has a role, local and remote by which end is an address of
/// this machine.
struct Ends {
    client: Option<(IpAddr, u16)>,
    /// A listening socket shows its port but (until bound by an event) not its address.
    server_ip: Option<IpAddr>,
    server_port: Option<u16>,
    local: Option<(IpAddr, u16)>,
    remote: Option<(IpAddr, u16)>,
}

fn zero_of(kind: FdKind) -> IpAddr {
    match kind {
        FdKind::Ipv6Sock | FdKind::Ipv6ServSock => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    }
}

impl<'s, 'e> EventFields<'s, 'e> {
    /// Uses `buf` as scratch space (hand it back with [`EventFields::into_buf`] so the
    /// next event reuses its capacity instead of allocating).
    pub fn with_buf(mut self, mut buf: Vec<u8>) -> Self {
        buf.clear();
        self.buf = buf;
        self
    }

    /// The scratch buffer, for the next event's [`EventFields::with_buf`].
    pub fn into_buf(self) -> Vec<u8> {
        self.buf
    }

    /// Uses `ids[id]` to map the engine's registry ids to fields.
    pub fn with_ids(mut self, ids: &'s [Option<Field>]) -> Self {
        self.ids = ids;
        self
    }

    /// Times as text (`evt.time` → `HH:MM:SS.nnnnnnnnn`), as sysdig prints them.
    pub fn with_text_times(mut self) -> Self {
        self.text_times = true;
        self
    }

    /// Timestamp of the matching enter event for an exit (for latency).
    fn enter_ts(&self) -> Option<u64> {
        if self.ev.is_enter() {
            return None;
        }
        let t = self.thread()?;
        let en = Event::parse(&t.last_enter).ok()?;
        (en.event_type() + 1 == self.ev.event_type()).then(|| en.ts())
    }

    pub fn with_cpu(mut self, cpu: u16) -> Self {
        self.cpu = cpu;
        self
    }

    pub fn with_first_ts(mut self, ts: u64) -> Self {
        self.first_ts = ts;
        self
    }

    fn thread(&self) -> Option<&'s Thread> {
        self.state.threads.get(&self.ev.tid())
    }

    fn parent_of(&self, t: &Thread) -> Option<&'s Thread> {
        if t.ptid == t.tid {
            return None;
        }
        self.state.threads.get(&t.ptid)
    }

    fn main_thread(&self, t: &'s Thread) -> &'s Thread {
        self.state.threads.get(&t.pid).unwrap_or(t)
    }

    /// Whether `ip` is an address of this machine for the event's thread.
    fn is_local_ip(&self, ip: IpAddr) -> bool {
        self.state.is_local_ip(self.ev.tid(), ip)
    }

    /// Client, server, local and remote ends of inet socket `f` (only the ones `field`
    /// needs are worked out: locality looks at the interfaces and containers).
    fn socket_ends(&self, f: &Fd, field: Field) -> Ends {
        use Field::*;
        let zero = zero_of(f.kind);
        let (src, dst) = (
            (f.sip.unwrap_or(zero), f.sport),
            (f.dip.unwrap_or(zero), f.dport),
        );
        let connection = f.kind.is_connection();
        let known = f.role != Role::None;
        let listening = f.kind.is_server();
        let mut e = Ends {
            client: (connection && known).then_some(src),
            server_ip: match () {
                _ if !known => None,
                _ if listening => Some(src.0),
                _ => Some(dst.0),
            },
            server_port: match () {
                _ if listening => Some(src.1),
                _ if known => Some(dst.1),
                _ => None,
            },
            local: None,
            remote: None,
        };
        if connection
            && known
            && matches!(field, FdLip | FdLnet | FdRip | FdRnet | FdLport | FdRport)
        {
            let (l, r) = if self.is_local_ip(src.0) {
                (src, dst)
            } else {
                (dst, src)
            };
            e.local = Some(l);
            e.remote = Some(r);
        }
        e
    }

    fn fd(&self) -> Option<&'s Fd> {
        let fd = self.state.current_fd().filter(|f| *f >= 0)?;
        self.state.fd(self.ev.tid(), fd)
    }

    /// The return value of an exit event (first parameter if it is a result).
    fn rawres(&self) -> Option<i64> {
        if self.ev.is_enter() {
            return None;
        }
        let info = self.ev.info()?;
        let p = info.params.first()?;
        let is_result = matches!(p.name, "res" | "fd")
            && !matches!(
                p.ptype,
                ParamType::CharBuf
                    | ParamType::ByteBuf
                    | ParamType::SockTuple
                    | ParamType::SockAddr
            );
        if !is_result {
            return None;
        }
        self.ev.param_i64(0)
    }

    fn open_flags(&self) -> Option<(u32, u32)> {
        let name = table::name_of(self.ev.event_type());
        if !matches!(
            name,
            "open" | "openat" | "openat2" | "open_by_handle_at" | "creat"
        ) {
            return None;
        }
        if self.ev.is_enter() && self.ev.event_type() != 102 {
            return None;
        }
        let flags = if name == "creat" {
            open_flags::O_CREAT | open_flags::O_WRONLY
        } else {
            self.ev
                .param_index("flags")
                .and_then(|i| self.ev.param_u64(i))
                .unwrap_or(0) as u32
        };
        let mode = self
            .ev
            .param_index("mode")
            .and_then(|i| self.ev.param_u64(i))
            .unwrap_or(0) as u32;
        Some((flags, mode))
    }

    fn param_index_for(&self, arg: &FieldArg) -> Option<usize> {
        match arg {
            FieldArg::Index(i) => {
                let i = *i as usize;
                (i < self.ev.nparams() as usize).then_some(i)
            }
            FieldArg::Key(k) => self.ev.param_index(k),
            FieldArg::None => None,
        }
    }

    fn ancestors(&self, t: &'s Thread) -> impl Iterator<Item = &'s Thread> + 's {
        ancestors(self.state, t)
    }

    fn push_cmdline(t: &Thread, out: &mut Values, buf: &mut Vec<u8>) {
        buf.clear();
        buf.extend_from_slice(&t.comm);
        if !t.args.is_empty() {
            buf.push(b' ');
            push_joined(&t.args, buf);
        }
        out.push_str(buf);
    }

    fn push_time(&mut self, ts: u64, kind: Field, out: &mut Values) {
        use chrono::{DateTime, Utc};
        let secs = (ts / 1_000_000_000) as i64;
        let nanos = (ts % 1_000_000_000) as u32;
        let Some(dt) = DateTime::<Utc>::from_timestamp(secs, nanos) else {
            return;
        };
        self.buf.clear();
        let _ = match kind {
            Field::EvtTime => write!(self.buf, "{}.{:09}", dt.format("%H:%M:%S"), nanos),
            Field::EvtTimeS => write!(self.buf, "{}", dt.format("%H:%M:%S")),
            Field::EvtTimeIso8601 => {
                write!(self.buf, "{}.{:09}Z", dt.format("%Y-%m-%dT%H:%M:%S"), nanos)
            }
            Field::EvtDatetime => {
                write!(self.buf, "{}.{:09}", dt.format("%Y-%m-%d %H:%M:%S"), nanos)
            }
            _ => write!(self.buf, "{}", dt.format("%Y-%m-%d %H:%M:%S")),
        };
        out.push_str(&self.buf);
    }

    /// Appends the values of `field` for the current event.
    pub fn extract_field(&mut self, field: Field, arg: &FieldArg, out: &mut Values) {
        use Field::*;
        let ev = self.ev;
        let state = self.state;
        let thread = self.thread();
        match field {
            EvtNum => out.push_uint(state.evt_num),
            EvtTime | EvtTimeS | EvtTimeIso8601 | EvtDatetime | EvtDatetimeS => {
                if self.text_times {
                    self.push_time(ev.ts(), field, out)
                } else {
                    out.push_uint(ev.ts())
                }
            }
            SyscallType => {
                let t = ev.event_type();
                // Tracepoint and meta events are not system calls.
                if !super::is_meta_event(t) && !matches!(t, 16 | 146 | 152 | 186 | 232 | 290) {
                    self.extract_field(EvtType, arg, out);
                }
            }
            EvtTypeIs => {
                if let FieldArg::Index(n) = arg {
                    out.push_uint((ev.event_type() as u32 == *n) as u64)
                }
            }
            EvtBuffer => {
                if let Some(d) = ev.param_index("data").and_then(|i| ev.param(i)) {
                    out.push_str(d)
                }
            }
            EvtCount => out.push_uint(1),
            EvtCountError => out.push_uint(self.rawres().is_some_and(|r| r < 0) as u64),
            EvtLatency | EvtLatencyS | EvtLatencyNs | EvtLatencyHuman => {
                let Some(ets) = self.enter_ts() else {
                    if field != EvtLatencyHuman {
                        out.push_uint(0)
                    }
                    return;
                };
                let l = ev.ts().saturating_sub(ets);
                match field {
                    EvtLatency => out.push_uint(l),
                    EvtLatencyS => out.push_uint(l / 1_000_000_000),
                    EvtLatencyNs => out.push_uint(l % 1_000_000_000),
                    _ => {
                        self.buf.clear();
                        let _ = if l >= 1_000_000_000 {
                            write!(self.buf, "{:.2}s", l as f64 / 1e9)
                        } else if l >= 1_000_000 {
                            write!(self.buf, "{:.2}ms", l as f64 / 1e6)
                        } else if l >= 1_000 {
                            write!(self.buf, "{:.2}us", l as f64 / 1e3)
                        } else {
                            write!(self.buf, "{l}ns")
                        };
                        out.push_str(&self.buf);
                    }
                }
            }
            EvtDeltatime | EvtDeltatimeS | EvtDeltatimeNs => {
                let d = ev.ts().saturating_sub(state.prev_ts);
                out.push_uint(match field {
                    EvtDeltatime => d,
                    EvtDeltatimeS => d / 1_000_000_000,
                    _ => d % 1_000_000_000,
                })
            }
            EvtReltimeS => out.push_uint(ev.ts().saturating_sub(self.first_ts) / 1_000_000_000),
            EvtReltimeNs => out.push_uint(ev.ts().saturating_sub(self.first_ts) % 1_000_000_000),
            EvtAbspath | EvtAbspathSrc | EvtAbspathDst => {
                let names: &[&str] = match field {
                    EvtAbspath => &["path", "name", "filename", "pathname"],
                    EvtAbspathSrc => &["oldpath", "target"],
                    _ => &["newpath", "linkpath"],
                };
                let Some(i) = names.iter().find_map(|n| ev.param_index(n)) else {
                    return;
                };
                let Some(p) = ev.param_str(i) else { return };
                let dirfd = ev
                    .info()
                    .and_then(|inf| inf.params.get(i))
                    .and_then(|pi| pi.dirfd_param)
                    .and_then(|d| ev.param_i64(d as usize));
                self.buf.clear();
                state.resolve_path(ev.tid(), dirfd, p, &mut self.buf);
                out.push_str(&self.buf);
            }
            EvtIoDir => {
                let name = table::name_of(ev.event_type());
                if matches!(
                    name,
                    "read" | "recv" | "recvfrom" | "recvmsg" | "readv" | "pread" | "preadv"
                ) {
                    out.push_str(b"r")
                } else if matches!(
                    name,
                    "write" | "send" | "sendto" | "sendmsg" | "writev" | "pwrite" | "pwritev"
                ) {
                    out.push_str(b"w")
                }
            }
            EvtIsSyslog => out.push_bool(self.fd().is_some_and(|f| f.name == b"/dev/log")),
            EvtRawtime => out.push_uint(ev.ts()),
            EvtRawtimeS => out.push_uint(ev.ts() / 1_000_000_000),
            EvtRawtimeNs => out.push_uint(ev.ts() % 1_000_000_000),
            EvtReltime => out.push_uint(ev.ts().saturating_sub(self.first_ts)),
            EvtType => {
                let t = ev.event_type();
                if t <= 1 {
                    let code = ev.param_u64(0).unwrap_or(0) as u16;
                    out.push_str(table::generic_name(code).as_bytes());
                } else {
                    out.push_str(table::name_of(t).as_bytes());
                }
            }
            EvtTypeIsSyscall => out.push_bool(ev.info().is_some_and(|i| {
                !matches!(
                    i.name,
                    "procexit"
                        | "switch"
                        | "signaldeliver"
                        | "procinfo"
                        | "container"
                        | "useradded"
                        | "groupadded"
                        | "userdeleted"
                        | "groupdeleted"
                        | "drop"
                        | "scapevent"
                        | "page_fault"
                        | "cpu_hotplug"
                        | "notification"
                        | "infra"
                        | "k8s"
                        | "mesos"
                        | "pluginevent"
                        | "asyncevent"
                )
            })),
            EvtDir => out.push_str(if ev.is_enter() { b">" } else { b"<" }),
            EvtArgs | EvtInfo => {
                self.buf.clear();
                state.render_args(ev, &mut self.buf);
                out.push_str(&self.buf);
            }
            EvtArg => {
                let Some(i) = self.param_index_for(arg) else {
                    return;
                };
                self.buf.clear();
                let ctx = state.render_context(ev.tid());
                if !render::param_value(ev, i, &ctx, &mut self.buf) {
                    return;
                }
                // evt.arg.* gives the resolved form when there is one: `3(<f>/x)` → `<f>/x`.
                let resolvable = ev.param_type(i).is_some_and(|t| {
                    !matches!(
                        t,
                        ParamType::CharBuf
                            | ParamType::ByteBuf
                            | ParamType::SockTuple
                            | ParamType::SockAddr
                    )
                });
                if resolvable && self.buf.ends_with(b")") {
                    if let Some(open) = memchr::memchr(b'(', &self.buf) {
                        let inner = self.buf[open + 1..self.buf.len() - 1].to_vec();
                        out.push_str(&inner);
                        return;
                    }
                }
                out.push_str(&self.buf);
            }
            EvtRawarg => {
                let Some(i) = self.param_index_for(arg) else {
                    return;
                };
                let Some(raw) = ev.param(i) else { return };
                match ev.param_type(i) {
                    Some(
                        ParamType::Int8
                        | ParamType::Int16
                        | ParamType::Int32
                        | ParamType::Int64
                        | ParamType::Errno
                        | ParamType::Fd
                        | ParamType::Pid
                        | ParamType::Fd32
                        | ParamType::Pid32,
                    ) => {
                        if let Some(v) = decode::int(raw) {
                            out.push_int(v)
                        }
                    }
                    Some(ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath) => {
                        out.push_str(decode::cstr(raw))
                    }
                    Some(ParamType::ByteBuf | ParamType::SockAddr | ParamType::SockTuple) => {
                        out.push_str(raw)
                    }
                    _ => {
                        if let Some(v) = decode::uint(raw) {
                            out.push_uint(v)
                        }
                    }
                }
            }
            EvtRes => {
                if let Some(r) = self.rawres() {
                    if r >= 0 {
                        out.push_str(b"SUCCESS");
                    } else if let Some(n) = errno_of(r) {
                        out.push_str(n.as_bytes());
                    } else {
                        self.buf.clear();
                        let _ = write!(self.buf, "{r}");
                        out.push_str(&self.buf);
                    }
                }
            }
            EvtRawres => {
                if let Some(r) = self.rawres() {
                    out.push_int(r)
                }
            }
            EvtFailed => out.push_bool(self.rawres().is_some_and(|r| r < 0)),
            EvtIsIo | EvtIsIoRead | EvtIsIoWrite => {
                let name = table::name_of(ev.event_type());
                let read = matches!(
                    name,
                    "read"
                        | "recv"
                        | "recvfrom"
                        | "recvmsg"
                        | "readv"
                        | "pread"
                        | "preadv"
                        | "recvmmsg"
                );
                let write = matches!(
                    name,
                    "write"
                        | "send"
                        | "sendto"
                        | "sendmsg"
                        | "writev"
                        | "pwrite"
                        | "pwritev"
                        | "sendmmsg"
                        | "sendfile"
                );
                out.push_bool(match field {
                    EvtIsIo => read || write,
                    EvtIsIoRead => read,
                    _ => write,
                });
            }
            EvtIsWait => {
                let name = table::name_of(ev.event_type());
                out.push_bool(matches!(
                    name,
                    "epoll_wait" | "poll" | "ppoll" | "select" | "nanosleep"
                ));
            }
            EvtIsOpenRead | EvtIsOpenWrite | EvtIsOpenExec | EvtIsOpenCreate => {
                let Some((flags, mode)) = self.open_flags() else {
                    out.push_bool(false);
                    return;
                };
                let v = match field {
                    EvtIsOpenRead => flags & open_flags::O_RDONLY != 0,
                    EvtIsOpenWrite => flags & open_flags::O_WRONLY != 0,
                    EvtIsOpenExec => {
                        flags & (open_flags::O_CREAT | open_flags::O_TMPFILE) != 0
                            && mode & 0o111 != 0
                    }
                    _ => {
                        flags & open_flags::O_F_CREATED != 0
                            || (flags & open_flags::O_TMPFILE != 0
                                && ev.param_i64(0).is_some_and(|f| f >= 0))
                    }
                };
                out.push_bool(v);
            }
            EvtCpu => out.push_uint(self.cpu as u64),
            EvtSource => out.push_str(b"syscall"),
            EvtHostname => out.push_str(state.hostname.as_bytes()),
            EvtBuflen => {
                if let Some(i) = ev.param_index("data") {
                    if let Some(r) = self.rawres().filter(|r| *r >= 0) {
                        let _ = i;
                        out.push_uint(r as u64);
                    }
                }
            }
            EvtCategory => {}
            EvtPluginname | EvtAsynctype => {}
            EvtIsAsync => out.push_bool(false),
            Unavailable => {}
            ContainerInfo => {}
            // Known from the event even when the state has no thread for it.
            ThreadTid => out.push_int(ev.tid()),
            _ => {
                if let Some(t) = thread {
                    self.thread_field(field, arg, t, out);
                }
            }
        }
    }

    fn thread_field(&mut self, field: Field, arg: &FieldArg, t: &'s Thread, out: &mut Values) {
        use Field::*;
        let state = self.state;
        let ev = self.ev;
        let main = self.main_thread(t);
        match field {
            ProcPid => out.push_int(t.pid),
            ProcExe => out.push_str(&t.exe),
            ProcName => out.push_str(&t.comm),
            ProcArgs => {
                self.buf.clear();
                push_joined(&t.args, &mut self.buf);
                out.push_str(&self.buf);
            }
            ProcEnv => {
                self.buf.clear();
                push_joined(&t.env, &mut self.buf);
                out.push_str(&self.buf);
            }
            ProcCmdline => Self::push_cmdline(t, out, &mut self.buf),
            ProcExeline => {
                self.buf.clear();
                self.buf.extend_from_slice(&t.exe);
                self.buf.push(b' ');
                push_joined(&t.args, &mut self.buf);
                out.push_str(&self.buf);
            }
            ProcCwd => out.push_str(self.state.cwd_of(t.tid)),
            ProcNthreads => {
                let pid = t.pid;
                let n = state.fdtables.get(&pid).map(|f| f.refs).unwrap_or(0);
                out.push_uint(n as u64);
            }
            ProcNchilds => {}
            // libsinsp reports the main thread's recorded parent tid, -1 when unknown.
            ProcPpid => out.push_int(main.ptid),
            // Unlike proc.ppid, libsinsp takes these from the thread's own parent.
            ProcPname | ProcPcmdline | ProcPexe | ProcPexepath | ProcPvpid | ProcPpidDuration => {
                let Some(p) = self.parent_of(t) else {
                    return;
                };
                match field {
                    ProcPname => out.push_str(&p.comm),
                    ProcPcmdline => Self::push_cmdline(p, out, &mut self.buf),
                    ProcPexe => out.push_str(&p.exe),
                    ProcPexepath => out.push_str(&p.exepath),
                    ProcPvpid => out.push_int(p.vpid),
                    _ => {
                        if p.clone_ts != 0 {
                            out.push_uint(ev.ts().saturating_sub(p.clone_ts))
                        }
                    }
                }
            }
            ProcAname | ProcApid | ProcAexe | ProcAexepath | ProcAcmdline => {
                let push = |a: &Thread, out: &mut Values, buf: &mut Vec<u8>| match field {
                    ProcAname => out.push_str(&a.comm),
                    ProcApid => out.push_int(a.pid),
                    ProcAexe => out.push_str(&a.exe),
                    ProcAexepath => out.push_str(&a.exepath),
                    _ => Self::push_cmdline(a, out, buf),
                };
                match arg {
                    FieldArg::Index(0) => push(main, out, &mut self.buf),
                    FieldArg::Index(n) => {
                        if let Some(a) = self.ancestors(main).nth(*n as usize - 1) {
                            push(a, out, &mut self.buf);
                        }
                    }
                    _ => {
                        let anc: Vec<&Thread> = self.ancestors(main).collect();
                        for a in anc {
                            push(a, out, &mut self.buf);
                        }
                    }
                }
            }
            ProcLoginshellid => {
                let mut shell = None;
                for a in std::iter::once(main).chain(self.ancestors(main)) {
                    if a.comm.ends_with(b"sh") {
                        shell = Some(a.pid);
                    }
                }
                if let Some(p) = shell {
                    out.push_int(p)
                }
            }
            ProcDuration => {
                if main.clone_ts != 0 {
                    out.push_uint(ev.ts().saturating_sub(main.clone_ts))
                }
            }
            ProcStartTs => {
                if main.clone_ts != 0 {
                    out.push_uint(main.clone_ts)
                }
            }
            ProcTty => out.push_uint(t.tty as u64),
            ProcExepath => out.push_str(&t.exepath),
            ProcSid => out.push_int(t.sid),
            ProcSname | ProcSidExe | ProcSidExepath => {
                // The session leader: the eldest ancestor still in the same session.
                let mut leader = main;
                for a in self.ancestors(main) {
                    if a.sid != main.sid {
                        break;
                    }
                    leader = a;
                }
                if let Some(s) = Some(leader) {
                    match field {
                        ProcSname => out.push_str(&s.comm),
                        ProcSidExe => out.push_str(&s.exe),
                        _ => out.push_str(&s.exepath),
                    }
                }
            }
            ProcVpgid => out.push_int(t.vpgid),
            ProcVpgidName => {
                if let Some(s) = state.threads.get(&t.vpgid) {
                    out.push_str(&s.comm)
                }
            }
            ProcPgid => out.push_int(t.pgid),
            ProcVpid => {
                if t.vpid >= 0 {
                    out.push_int(t.vpid)
                }
            }
            ProcIsSidLeader => out.push_bool(t.sid == t.vpid),
            ProcIsVpgidLeader => out.push_bool(t.vpgid == t.vpid),
            ProcIsExeWritable => out.push_bool(t.exe_writable),
            ProcIsExeUpperLayer => out.push_bool(t.exe_upper_layer),
            ProcIsExeLowerLayer => out.push_bool(t.exe_lower_layer),
            ProcIsExeFromMemfd => out.push_bool(t.exe_from_memfd),
            ProcExeIno => out.push_uint(t.exe_ino),
            ProcExeInoCtime => out.push_uint(t.exe_ino_ctime),
            ProcExeInoMtime => out.push_uint(t.exe_ino_mtime),
            ProcExeInoCtimeDurationProcStart => {
                if t.exe_ino_ctime != 0 && main.clone_ts != 0 {
                    out.push_uint(main.clone_ts.saturating_sub(t.exe_ino_ctime))
                }
            }
            ProcExeInoCtimeDurationPidnsStart => {
                if t.exe_ino_ctime != 0 && t.pidns_init_start_ts != 0 {
                    out.push_uint(t.exe_ino_ctime.saturating_sub(t.pidns_init_start_ts))
                }
            }
            ProcPidnsInitStartTs => out.push_uint(t.pidns_init_start_ts),
            ProcIsContainerHealthcheck
            | ProcIsContainerLivenessProbe
            | ProcIsContainerReadinessProbe => out.push_bool(false),
            ProcCmdnargs => out.push_uint(decode::string_list(&t.args).count() as u64),
            ProcCmdlenargs => out.push_uint(
                decode::string_list(&t.args)
                    .map(|a| a.len() as u64)
                    .sum::<u64>()
                    + decode::string_list(&t.args).count().saturating_sub(1) as u64,
            ),
            ThreadTid => out.push_int(t.tid),
            ThreadVtid => {
                if t.vtid >= 0 {
                    out.push_int(t.vtid)
                }
            }
            ThreadIsmain => out.push_bool(t.tid == t.pid),
            ThreadCapPermitted | ThreadCapEffective | ThreadCapInheritable => {
                let caps = match field {
                    ThreadCapPermitted => t.cap_permitted,
                    ThreadCapEffective => t.cap_effective,
                    _ => t.cap_inheritable,
                };
                self.buf.clear();
                cap_names(caps, &mut self.buf);
                out.push_str(&self.buf);
            }
            ThreadExectime | ThreadTotexectime => {}
            ProcFdlimit => out.push_int(t.fdlimit),
            ProcFdopencount => {
                out.push_uint(state.fdtables.get(&t.pid).map(|f| f.fds.len()).unwrap_or(0) as u64)
            }
            ProcPidTs => {
                if main.clone_ts != 0 {
                    out.push_uint(main.clone_ts)
                }
            }
            ProcPpidTs => {
                if let Some(p) = self.parent_of(main).filter(|p| p.clone_ts != 0) {
                    out.push_uint(p.clone_ts)
                }
            }
            ProcVmrss => out.push_uint(t.vmrss_kb as u64),
            ProcVmsize => out.push_uint(t.vmsize_kb as u64),
            ProcVmswap => out.push_uint(t.vmswap_kb as u64),
            ProcVpgidExe | ProcVpgidExepath => {
                if let Some(s) = state.threads.get(&t.vpgid) {
                    out.push_str(if field == ProcVpgidExe {
                        &s.exe
                    } else {
                        &s.exepath
                    })
                }
            }
            ThreadCgroups => {
                self.buf.clear();
                push_joined(&t.cgroups, &mut self.buf);
                out.push_str(&self.buf);
            }
            ThreadCgroup => {
                if let FieldArg::Key(k) = arg {
                    for e in decode::string_list(&t.cgroups) {
                        if let Some(i) = memchr::memchr(b'=', e) {
                            if &e[..i] == k.as_bytes() {
                                out.push_str(&e[i + 1..]);
                                return;
                            }
                        }
                    }
                }
            }
            ThreadNametid => {
                self.buf.clear();
                self.buf.extend_from_slice(&t.comm);
                let _ = write!(self.buf, "{}", t.tid);
                out.push_str(&self.buf);
            }
            FdTypes => {
                if let Some(tab) = state.fdtables.get(&t.pid) {
                    let mut seen: Vec<&'static str> = Vec::new();
                    for f in tab.fds.values() {
                        let n = f.kind.type_name();
                        if !seen.contains(&n) {
                            seen.push(n);
                        }
                    }
                    seen.sort_unstable();
                    for n in seen {
                        out.push_str(n.as_bytes());
                    }
                }
            }
            UserUid => out.push_uint(t.uid as u64),
            UserName | UserHomedir | UserShell => {
                if let Some(u) = state.users.get(&t.uid) {
                    match field {
                        UserName => out.push_str(&u.name),
                        UserHomedir => out.push_str(&u.home),
                        _ => out.push_str(&u.shell),
                    }
                }
            }
            UserLoginuid => out.push_int(if t.loginuid == u32::MAX {
                -1
            } else {
                t.loginuid as i64
            }),
            UserLoginname => {
                if t.loginuid != u32::MAX {
                    if let Some(u) = state.users.get(&t.loginuid) {
                        out.push_str(&u.name)
                    }
                }
            }
            GroupGid => out.push_uint(t.gid as u64),
            GroupName => {
                if let Some(g) = state.groups.get(&t.gid) {
                    out.push_str(g)
                }
            }
            ContainerId => out.push_str(if t.container_id.is_empty() {
                b"host"
            } else {
                &t.container_id
            }),
            ContainerName
            | ContainerImage
            | ContainerImageId
            | ContainerImageRepository
            | ContainerImageTag
            | ContainerImageDigest
            | ContainerType
            | ContainerPrivileged
            | ContainerMounts
            | ContainerMount
            | ContainerMountSource
            | ContainerMountDest
            | ContainerMountMode
            | ContainerMountRw
            | ContainerMountPropagation
            | ContainerIp
            | ContainerFullId
            | ContainerStartTs
            | ContainerDuration
            | ContainerLabel
            | ContainerLabels => self.container_field(field, arg, t, out),
            _ => self.fd_field(field, out),
        }
    }

    fn container_field(&mut self, field: Field, arg: &FieldArg, t: &Thread, out: &mut Values) {
        use Field::*;
        if t.container_id.is_empty() {
            match field {
                ContainerName => out.push_str(b"host"),
                ContainerType => out.push_str(b"host"),
                ContainerFullId => out.push_str(b"host"),
                _ => {}
            }
            return;
        }
        let Some(c) = self.state.containers.get(&t.container_id) else {
            return;
        };
        match field {
            ContainerName => out.push_str(&c.name),
            ContainerFullId => out.push_str(&c.full_id),
            ContainerImage => out.push_str(&c.image),
            ContainerImageId => out.push_str(&c.image_id),
            ContainerImageRepository => out.push_str(&c.image_repository),
            ContainerImageTag => out.push_str(&c.image_tag),
            ContainerImageDigest => out.push_str(&c.image_digest),
            ContainerType => out.push_str(c.type_name.as_bytes()),
            ContainerPrivileged => {
                if let Some(p) = c.privileged {
                    out.push_bool(p)
                }
            }
            ContainerIp => out.push_str(&c.ip),
            ContainerStartTs if c.created_time > 0 => {
                out.push_uint(c.created_time as u64 * 1_000_000_000)
            }
            ContainerDuration if c.created_time > 0 => out.push_uint(
                self.ev
                    .ts()
                    .saturating_sub(c.created_time as u64 * 1_000_000_000),
            ),
            ContainerMounts => {
                self.buf.clear();
                for (i, m) in c.mounts.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    push_mount(&mut self.buf, m);
                }
                out.push_str(&self.buf);
            }
            ContainerMount
            | ContainerMountSource
            | ContainerMountDest
            | ContainerMountMode
            | ContainerMountRw
            | ContainerMountPropagation => {
                let m = match arg {
                    FieldArg::Index(i) => c.mounts.get(*i as usize),
                    FieldArg::Key(k) => mount_by_key(&c.mounts, field, k.as_bytes()),
                    FieldArg::None => None,
                };
                let Some(m) = m else { return };
                match field {
                    ContainerMountSource => out.push_str(&m.source),
                    ContainerMountDest => out.push_str(&m.dest),
                    ContainerMountMode => out.push_str(&m.mode),
                    ContainerMountRw => out.push_str(if m.rw { b"true" } else { b"false" }),
                    ContainerMountPropagation => out.push_str(&m.propagation),
                    _ => {
                        self.buf.clear();
                        push_mount(&mut self.buf, m);
                        out.push_str(&self.buf);
                    }
                }
            }
            ContainerLabel => {
                if let FieldArg::Key(k) = arg {
                    if let Some((_, v)) = c.labels.iter().find(|(lk, _)| lk == k.as_bytes()) {
                        out.push_str(v)
                    }
                }
            }
            ContainerLabels => {
                self.buf.clear();
                for (i, (k, v)) in c.labels.iter().enumerate() {
                    if i > 0 {
                        self.buf.extend_from_slice(b", ");
                    }
                    self.buf.extend_from_slice(k);
                    self.buf.push(b':');
                    self.buf.extend_from_slice(v);
                }
                out.push_str(&self.buf);
            }
            _ => {}
        }
    }

    fn fd_field(&mut self, field: Field, out: &mut Values) {
        use Field::*;
        let ev = self.ev;
        match field {
            FsPathName | FsPathNameraw | FsPathSource | FsPathSourceraw | FsPathTarget
            | FsPathTargetraw => {
                self.fs_path(field, out);
                return;
            }
            FdNum => {
                if let Some(fd) = self.state.current_fd() {
                    out.push_int(fd)
                }
                return;
            }
            FdNameChanged => {
                out.push_bool(self.state.current_fd_name_changed());
                return;
            }
            // libsinsp chains the thread id and the event's fd, known to the table or not.
            FdUid => {
                let (Some(t), Some(fd)) = (self.thread(), self.state.current_fd()) else {
                    return;
                };
                self.buf.clear();
                let _ = write!(self.buf, "{}{}", t.tid, fd);
                out.push_str(&self.buf);
                return;
            }
            _ => {}
        }
        // A failed connect is named by the tuple it reports, whatever the fd holds.
        if matches!(field, FdName | FdContainername)
            && table::name_of(ev.event_type()) == "connect"
            && self.rawres().is_some_and(|r| r < 0)
        {
            self.buf.clear();
            if field == FdContainername {
                if let Some(t) = self.thread() {
                    self.buf.extend_from_slice(&t.container_id);
                }
                self.buf.push(b':');
            }
            if let Some(i) = ev.param_index("tuple") {
                let ctx = self.state.render_context(ev.tid());
                render::param_value(ev, i, &ctx, &mut self.buf);
            }
            out.push_str(&self.buf);
            return;
        }
        let Some(f) = self.fd() else {
            self.unknown_fd_field(field, out);
            return;
        };
        let inet = f.kind.is_inet();
        let ends = if inet {
            self.socket_ends(f, field)
        } else {
            Ends {
                client: None,
                server_ip: None,
                server_port: None,
                local: None,
                remote: None,
            }
        };
        let zero = zero_of(f.kind);
        let (src, dst) = (
            (f.sip.unwrap_or(zero), f.sport),
            (f.dip.unwrap_or(zero), f.dport),
        );
        match field {
            FdType => out.push_str(f.kind.type_name().as_bytes()),
            FdTypechar => out.push_str(&[f.kind.typechar()]),
            FdName => out.push_str(&f.name),
            FdNameraw => out.push_str(if f.name_raw.is_empty() {
                &f.name
            } else {
                &f.name_raw
            }),
            FdDirectory => match f.kind {
                FdKind::Directory => out.push_str(&f.name),
                FdKind::File => {
                    let d = match memchr::memrchr(b'/', &f.name) {
                        Some(0) => &b"/"[..],
                        Some(i) => &f.name[..i],
                        None => &f.name[..],
                    };
                    out.push_str(d)
                }
                _ => {}
            },
            FdFilename => {
                if f.kind == FdKind::File {
                    let n = match memchr::memrchr(b'/', &f.name) {
                        Some(i) => &f.name[i + 1..],
                        None => &f.name[..],
                    };
                    out.push_str(n)
                }
            }
            FdIp | FdNet | FdPort => {
                let ends: &[(IpAddr, u16)] = match f.kind {
                    FdKind::Ipv4Sock | FdKind::Ipv6Sock => &[src, dst],
                    FdKind::Ipv4ServSock | FdKind::Ipv6ServSock => &[src],
                    _ => &[],
                };
                for (ip, port) in ends {
                    if field == FdPort {
                        out.push_uint(*port as u64)
                    } else {
                        out.push_ip(*ip)
                    }
                }
            }
            FdCip | FdCnet => ends.client.into_iter().for_each(|(ip, _)| out.push_ip(ip)),
            FdSip | FdSnet => ends.server_ip.into_iter().for_each(|ip| out.push_ip(ip)),
            FdLip | FdLnet => ends.local.into_iter().for_each(|(ip, _)| out.push_ip(ip)),
            FdRip | FdRnet => ends.remote.into_iter().for_each(|(ip, _)| out.push_ip(ip)),
            FdCport => ends
                .client
                .into_iter()
                .for_each(|(_, p)| out.push_uint(p as u64)),
            FdSport => ends
                .server_port
                .into_iter()
                .for_each(|p| out.push_uint(p as u64)),
            FdLport => ends
                .local
                .into_iter()
                .for_each(|(_, p)| out.push_uint(p as u64)),
            FdRport => ends
                .remote
                .into_iter()
                .for_each(|(_, p)| out.push_uint(p as u64)),
            FdL4proto => {
                if inet {
                    out.push_str(l4::name(f.shown_l4proto()).as_bytes())
                }
            }
            FdSockfamily => match f.kind {
                FdKind::Ipv4Sock
                | FdKind::Ipv4ServSock
                | FdKind::Ipv6Sock
                | FdKind::Ipv6ServSock => out.push_str(b"ip"),
                FdKind::UnixSock => out.push_str(b"unix"),
                _ => {}
            },
            // A connection is the server end when its destination is this machine.
            FdIsServer => out.push_bool(match f.kind {
                FdKind::Ipv4ServSock | FdKind::Ipv6ServSock => true,
                FdKind::Ipv4Sock | FdKind::Ipv6Sock => self.is_local_ip(dst.0),
                _ => false,
            }),
            FdContainername | FdContainerdirectory => {
                let Some(t) = self.thread() else { return };
                self.buf.clear();
                self.buf.extend_from_slice(&t.container_id);
                self.buf.push(b':');
                if field == FdContainername {
                    self.buf.extend_from_slice(&f.name);
                } else {
                    let d = match memchr::memrchr(b'/', &f.name) {
                        Some(0) => &b"/"[..],
                        Some(i) => &f.name[..i],
                        None => &f.name[..],
                    };
                    self.buf.extend_from_slice(d);
                }
                out.push_str(&self.buf);
            }
            FdProto | FdCproto | FdSproto | FdLproto | FdRproto => {}
            // Any fd has the flag (false for all but a connected socket).
            FdConnected => out.push_bool(
                (inet || f.kind == FdKind::UnixSock) && (f.dip.is_some() || f.unix_dest != 0),
            ),
            FdDev => out.push_uint(f.dev as u64),
            FdDevMajor => out.push_uint(((f.dev >> 20) & 0xfff) as u64),
            FdDevMinor => out.push_uint((f.dev & 0xfffff) as u64),
            FdIno => out.push_uint(f.ino),
            FdCipName | FdSipName | FdLipName | FdRipName => {}
            _ => {
                let _ = ev;
            }
        }
    }

    /// What libsinsp reports for an fd event whose fd is not in the table: the type char
    /// the syscall suggests, and on the exit the name the syscall's arguments give (a
    /// failed open's path, a failed accept/connect's tuple, else empty).
    fn unknown_fd_field(&mut self, field: Field, out: &mut Values) {
        use Field::*;
        if self.state.current_fd().is_none() {
            return;
        }
        let ev = self.ev;
        let syscall = table::name_of(ev.event_type());
        if field == FdTypechar {
            let c = match syscall {
                "open" | "openat" | "openat2" | "creat" => b'f',
                // libsinsp guesses IPv4 for any socket.
                "socket" | "accept" | "accept4" => b'4',
                "pipe" | "pipe2" => b'p',
                "eventfd" | "eventfd2" => b'e',
                "signalfd" | "signalfd4" => b's',
                "timerfd_create" => b't',
                "inotify_init" | "inotify_init1" => b'i',
                _ => b'o',
            };
            out.push_str(&[c]);
            return;
        }
        if ev.is_enter()
            || !matches!(
                field,
                FdName | FdNameraw | FdContainername | FdDirectory | FdContainerdirectory
            )
        {
            return;
        }
        let mut name = std::mem::take(&mut self.buf);
        name.clear();
        match syscall {
            "open" | "openat" | "openat2" | "creat" => {
                name.extend_from_slice(self.state.failed_open_path().unwrap_or_default())
            }
            "accept" | "accept4" | "connect" | "open_by_handle_at" => {
                let param = if syscall == "open_by_handle_at" {
                    "path"
                } else {
                    "tuple"
                };
                if let Some(i) = ev.param_index(param) {
                    let ctx = self.state.render_context(ev.tid());
                    render::param_value(ev, i, &ctx, &mut name);
                }
            }
            _ => {}
        }
        if matches!(field, FdDirectory | FdContainerdirectory) {
            match memchr::memrchr(b'/', &name) {
                Some(i) if i != 0 && i < name.len() - 1 => name.truncate(i),
                Some(i) if i != 0 => {}
                _ => {
                    name.clear();
                    name.push(b'/');
                }
            }
        }
        if matches!(field, FdContainername | FdContainerdirectory) {
            let id = self
                .thread()
                .map(|t| &t.container_id[..])
                .unwrap_or_default();
            name.splice(0..0, id.iter().copied().chain([b':']));
        }
        out.push_str(&name);
        self.buf = name;
    }

    fn fs_path(&mut self, field: Field, out: &mut Values) {
        use Field::*;
        let ev = self.ev;
        if ev.is_enter() {
            return;
        }
        let name = table::name_of(ev.event_type());
        let (raw_name, src, dst) = match name {
            "mkdir" | "mkdirat" | "rmdir" | "unlink" | "unlinkat" | "chmod" | "fchmodat"
            | "mknod" | "mknodat" => (true, "", ""),
            "rename" | "renameat" | "renameat2" | "link" | "linkat" => {
                (false, "oldpath", "newpath")
            }
            "symlink" | "symlinkat" => (false, "target", "linkpath"),
            _ => return,
        };
        let idx = |n: &str| ev.param_index(n);
        let pick = match field {
            FsPathName | FsPathNameraw if raw_name => ["path", "name", "filename", "pathname"]
                .iter()
                .find_map(|n| idx(n)),
            FsPathSource | FsPathSourceraw if !raw_name => idx(src),
            FsPathTarget | FsPathTargetraw if !raw_name => idx(dst),
            _ => None,
        };
        let Some(i) = pick else { return };
        let Some(p) = ev.param_str(i) else { return };
        if matches!(field, FsPathNameraw | FsPathSourceraw | FsPathTargetraw) {
            out.push_str(p);
            return;
        }
        self.buf.clear();
        let dirfd = ev
            .info()
            .and_then(|inf| inf.params.get(i))
            .and_then(|pi| pi.dirfd_param)
            .and_then(|d| ev.param_i64(d as usize));
        self.state.resolve_path(ev.tid(), dirfd, p, &mut self.buf);
        out.push_str(&self.buf);
    }
}

/// Registry id → [`Field`] for every field of [`crate::fields::FIELDS`].
pub fn registry_map() -> &'static [Option<Field>] {
    static MAP: std::sync::OnceLock<Vec<Option<Field>>> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        crate::fields::FIELDS
            .iter()
            .map(|f| Field::parse(f.name))
            .collect()
    })
}

/// The ancestors of process `t` (parent first), bounded against cycles.
pub fn ancestors<'s>(state: &'s State, t: &'s Thread) -> impl Iterator<Item = &'s Thread> + 's {
    let mut cur = Some(t);
    let mut n = 0;
    std::iter::from_fn(move || {
        let c = cur?;
        n += 1;
        if n > 64 {
            return None;
        }
        let main = state.threads.get(&c.pid).unwrap_or(c);
        cur = if main.ptid == main.tid {
            None
        } else {
            state.threads.get(&main.ptid)
        };
        cur
    })
}

/// Appends Linux capability names of a capability mask (`CAP_CHOWN CAP_KILL ...`).
pub fn cap_names(mask: u64, out: &mut Vec<u8>) {
    const CAPS: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let mut first = true;
    for (i, n) in CAPS.iter().enumerate() {
        if mask & (1u64 << i) != 0 {
            if !first {
                out.push(b' ');
            }
            first = false;
            out.extend_from_slice(n.as_bytes());
        }
    }
}

impl Extractor for EventFields<'_, '_> {
    fn event_type(&self) -> u16 {
        self.ev.event_type()
    }

    fn extract(&mut self, id: u16, arg: &FieldArg, out: &mut Values) {
        if let Some(Some(f)) = self.ids.get(id as usize) {
            self.extract_field(*f, arg, out);
        }
    }

    fn memo_key(&self) -> u64 {
        self.memo_key
    }
}

/// Renders one value list as sysdig prints a field (`<NA>` when empty; several values
/// joined by spaces).
pub fn render_values(v: &Values, out: &mut Vec<u8>) {
    use crate::fields::Value;
    if v.is_empty() {
        out.extend_from_slice(b"<NA>");
        return;
    }
    for (i, val) in v.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let _ = match val {
            Value::Int(x) => write!(out, "{x}"),
            Value::UInt(x) => write!(out, "{x}"),
            Value::Bool(b) => write!(out, "{b}"),
            Value::Ip(ip) => write!(out, "{ip}"),
            Value::Str(s) => {
                out.extend_from_slice(s);
                Ok(())
            }
        };
    }
}

/// One mount as libsinsp shows it in `container.mount` and `container.mounts`:
/// `source:dest:mode:rw:propagation`.
fn push_mount(buf: &mut Vec<u8>, m: &Mount) {
    buf.extend_from_slice(&m.source);
    buf.push(b':');
    buf.extend_from_slice(&m.dest);
    buf.push(b':');
    buf.extend_from_slice(&m.mode);
    buf.push(b':');
    buf.extend_from_slice(if m.rw { b"true" } else { b"false" });
    buf.push(b':');
    buf.extend_from_slice(&m.propagation);
}

/// The first mount a `container.mount*[KEY]` names: KEY is a glob (fnmatch, `*` crossing
/// `/`) on the mount's destination for `container.mount.source`, on its source for the others
/// (`container.mount.dest[/etc*]`: where any host path below /etc is mounted), as libsinsp's
/// `mount_by_dest` / `mount_by_source` match them.
fn mount_by_key<'c>(mounts: &'c [Mount], field: Field, key: &[u8]) -> Option<&'c Mount> {
    let by_dest = field == Field::ContainerMountSource;
    mounts.iter().find(|m| {
        let path = if by_dest { &m.dest } else { &m.source };
        crate::filter::glob::fnmatch(key, path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_field_is_known_to_the_extractor() {
        let missing: Vec<&str> = crate::fields::FIELDS
            .iter()
            .zip(registry_map())
            .filter(|(_, m)| m.is_none())
            .map(|(f, _)| f.name)
            .collect();
        assert!(missing.is_empty(), "fields without extraction: {missing:?}");
    }

    /// `container.mount*[KEY]`: an index, or a glob on the source (on the destination for
    /// `container.mount.source`); the first mount that matches.
    #[test]
    fn container_mount_keys_are_globs() {
        use crate::state::{Container, Limits, Thread};
        let mount = |source: &str, dest: &str, rw: bool| Mount {
            source: source.as_bytes().to_vec(),
            dest: dest.as_bytes().to_vec(),
            mode: b"z".to_vec(),
            rw,
            propagation: b"rprivate".to_vec(),
        };
        let mut s = State::new(Limits::default());
        s.add_thread(Thread {
            tid: 7,
            pid: 7,
            container_id: b"5f7a2c1e9d3b".to_vec(),
            last_fd: -1,
            ..Thread::default()
        });
        s.containers.insert(
            b"5f7a2c1e9d3b".to_vec(),
            Container {
                id: b"5f7a2c1e9d3b".to_vec(),
                mounts: vec![
                    mount("/srv/data", "/data", false),
                    mount("/etc/kubernetes/pki", "/pki", true),
                    mount("/var/run/docker.sock", "/run/docker.sock", true),
                ],
                ..Container::default()
            },
        );
        let rec = crate::event::encode(1, 7, 25, &[&0i64.to_le_bytes(), &3i64.to_le_bytes()]);
        let ev = Event::parse(&rec).unwrap();
        let get = |name: &str, arg: FieldArg| {
            let mut v = Values::new();
            s.extractor(&ev)
                .extract_field(Field::parse(name).unwrap(), &arg, &mut v);
            let mut out = Vec::new();
            render_values(&v, &mut out);
            String::from_utf8(out).unwrap()
        };
        let key = |k: &str| FieldArg::Key(k.into());
        // Exact, glob crossing '/', classes and '?'.
        assert_eq!(get("container.mount.dest", key("/srv/data")), "/data");
        assert_eq!(get("container.mount.dest", key("/etc*")), "/pki");
        assert_eq!(
            get("container.mount.dest", key("/var/run/*.sock")),
            "/run/docker.sock"
        );
        assert_eq!(get("container.mount.dest", key("/srv/dat?")), "/data");
        assert_eq!(get("container.mount.dest", key("/[es]*")), "/data");
        // The first match wins.
        assert_eq!(get("container.mount.dest", key("/*")), "/data");
        // Keys name the source: a destination is no key for .dest, and no prefix matching.
        assert_eq!(get("container.mount.dest", key("/data")), "<NA>");
        assert_eq!(get("container.mount.dest", key("/etc")), "<NA>");
        // container.mount.source is keyed by destination.
        assert_eq!(
            get("container.mount.source", key("/pk*")),
            "/etc/kubernetes/pki"
        );
        assert_eq!(get("container.mount.source", key("/srv/data")), "<NA>");
        assert_eq!(get("container.mount.rdwr", key("/etc/*")), "true");
        assert_eq!(get("container.mount.mode", key("/srv/*")), "z");
        assert_eq!(
            get("container.mount.propagation", key("/srv/*")),
            "rprivate"
        );
        assert_eq!(
            get("container.mount", key("*docker*")),
            "/var/run/docker.sock:/run/docker.sock:z:true:rprivate"
        );
        assert_eq!(get("container.mount.dest", FieldArg::Index(1)), "/pki");
        assert_eq!(get("container.mount.dest", FieldArg::Index(3)), "<NA>");
    }
}
