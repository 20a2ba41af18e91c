use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::event::encode;

fn fd(tid: i64, fd: i64, kind: FdKind, name: &str) -> FdEntry {
    FdEntry {
        tid,
        fd,
        ino: 7,
        kind,
        name: name.as_bytes().to_vec(),
        ..FdEntry::default()
    }
}

/// Owned tables for [`Tables`] to borrow.
struct Owned {
    machine: MachineInfo,
    interfaces: Vec<Interface>,
    users: Vec<UserEntry>,
    groups: Vec<GroupEntry>,
    threads: Vec<ThreadEntry>,
    fds: Vec<FdEntry>,
}

fn sample_tables() -> Owned {
    let machine = MachineInfo {
        num_cpus: 2,
        memory_size_bytes: 1 << 30,
        max_pid: 4_194_304,
        hostname: "falco-vm".into(),
        boot_ts_epoch: 1_700_000_000_000_000_000,
        flags: 0,
    };
    let interfaces = vec![
        Interface {
            name: "lo".into(),
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            netmask: IpAddr::V4(Ipv4Addr::new(255, 0, 0, 0)),
        },
        Interface {
            name: "lo".into(),
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            netmask: IpAddr::V6(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0)),
        },
    ];
    let users = vec![UserEntry {
        uid: 0,
        gid: 0,
        name: b"root".to_vec(),
        homedir: b"/root".to_vec(),
        shell: b"/bin/sh".to_vec(),
    }];
    let groups = vec![GroupEntry {
        gid: 0,
        name: b"root".to_vec(),
    }];
    let init = ThreadEntry {
        tid: 1,
        pid: 1,
        ptid: 0,
        sid: 1,
        vpgid: 1,
        pgid: 1,
        comm: b"init".to_vec(),
        exe: b"/init".to_vec(),
        exepath: b"/init".to_vec(),
        args: Vec::new(),
        cwd: b"/".to_vec(),
        fdlimit: 1024,
        uid: 0,
        gid: 0,
        env: b"HOME=/root\0PATH=/usr/bin\0".to_vec(),
        vtid: 1,
        vpid: 1,
        cgroups: b"cpu=/\0".to_vec(),
        root: b"/".to_vec(),
        tty: 34816,
        loginuid: 0,
        cap_effective: 0x1ff_ffff_ffff,
        exe_ino: 12,
        ..ThreadEntry::default()
    };
    let shell = ThreadEntry {
        tid: 42,
        pid: 42,
        ptid: 1,
        comm: b"sh".to_vec(),
        exe: b"/bin/sh".to_vec(),
        exepath: b"/bin/dash".to_vec(),
        args: b"-c\0echo hi\0".to_vec(),
        ..init.clone()
    };
    let mut file = fd(42, 3, FdKind::File, "/etc/passwd");
    file.open_flags = 1;
    file.dev = 0x801;
    let mut tcp = fd(42, 4, FdKind::Ipv4Sock, "");
    tcp.sip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    tcp.dip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
    tcp.sport = 40000;
    tcp.dport = 443;
    tcp.l4proto = 2;
    let mut tcp6 = fd(42, 5, FdKind::Ipv6Sock, "");
    tcp6.sip = Some(IpAddr::V6(Ipv6Addr::LOCALHOST));
    tcp6.dip = Some(IpAddr::V6(Ipv6Addr::LOCALHOST));
    tcp6.sport = 1;
    tcp6.dport = 2;
    tcp6.l4proto = 2;
    let mut listen = fd(1, 6, FdKind::Ipv4ServSock, "");
    listen.sip = Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    listen.sport = 22;
    listen.l4proto = 2;
    let mut listen6 = fd(1, 7, FdKind::Ipv6ServSock, "");
    listen6.sip = Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    listen6.sport = 22;
    listen6.l4proto = 2;
    let mut unix = fd(1, 8, FdKind::UnixSock, "/run/sock");
    unix.unix_source = 0xffff_0001;
    unix.unix_dest = 0xffff_0002;
    let fds = vec![
        fd(1, 0, FdKind::Directory, "/"),
        listen,
        listen6,
        unix,
        fd(1, 9, FdKind::Fifo, "pipe:[1]"),
        fd(1, 10, FdKind::Eventpoll, "anon_inode:[eventpoll]"),
        fd(1, 11, FdKind::Memfd, "memfd:x"),
        file,
        tcp,
        tcp6,
        // A thread the process list lacks keeps its fds.
        fd(99, 3, FdKind::File, "/orphan"),
    ];
    Owned {
        machine,
        interfaces,
        users,
        groups,
        threads: vec![init, shell],
        fds,
    }
}

#[test]
fn written_tables_and_events_read_back_the_same() {
    let Owned {
        machine,
        interfaces,
        users,
        groups,
        threads,
        fds,
    } = sample_tables();
    let tables = Tables {
        machine: Some(&machine),
        interfaces: &interfaces,
        users: &users,
        groups: &groups,
        threads: &threads,
        fds: &fds,
    };
    let events = vec![
        (0u16, encode(100, 42, 306, &[b"/etc/shadow\0"])),
        (
            1u16,
            encode(
                200,
                42,
                307,
                &[
                    &3i64.to_le_bytes(),
                    b"/etc/shadow\0",
                    &1u32.to_le_bytes(),
                    &0u32.to_le_bytes(),
                    &0x801u32.to_le_bytes(),
                    &99u64.to_le_bytes(),
                ],
            ),
        ),
        // A body over 64 KiB goes into a large block.
        (
            1u16,
            encode(
                300,
                42,
                9,
                &[&5i64.to_le_bytes(), &vec![b'x'; 60000], &vec![b'y'; 10000]],
            ),
        ),
    ];
    let mut w = Writer::new(Vec::new(), tables).unwrap();
    for (cpu, e) in &events {
        w.write_event(*cpu, e).unwrap();
    }
    assert_eq!(w.events(), 3);
    let bytes = w.finish().unwrap();
    assert_eq!(bytes.len() % 4, 0);

    let mut r = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "mem".into()).unwrap();
    assert_eq!(r.version, (1, 2));
    assert_eq!(format!("{:?}", r.machine), format!("{:?}", Some(&machine)));
    assert_eq!(format!("{:?}", r.interfaces), format!("{interfaces:?}"));
    assert_eq!(format!("{:?}", r.users), format!("{users:?}"));
    assert_eq!(format!("{:?}", r.groups), format!("{groups:?}"));
    assert_eq!(format!("{:?}", r.threads), format!("{threads:?}"));
    let mut read_fds = r.fds.clone();
    let mut want_fds = fds.clone();
    read_fds.sort_by_key(|f| (f.tid, f.fd));
    want_fds.sort_by_key(|f| (f.tid, f.fd));
    assert_eq!(format!("{read_fds:?}"), format!("{want_fds:?}"));
    for (cpu, e) in &events {
        let meta = r.advance().unwrap().expect("an event");
        assert_eq!(meta.cpu, *cpu);
        assert_eq!(r.current().expect("current event").raw(), &e[..]);
    }
    assert!(r.advance().unwrap().is_none());
    assert_eq!(r.stats.events, 3);
}

#[test]
fn over_long_strings_are_cut_to_the_reader_limits() {
    let mut t = ThreadEntry {
        tid: 5,
        pid: 5,
        comm: vec![b'c'; 5000],
        args: vec![b'a'; 10000],
        ..ThreadEntry::default()
    };
    let users = vec![UserEntry {
        name: vec![b'u'; 300],
        ..UserEntry::default()
    }];
    let tables = Tables {
        users: &users,
        threads: std::slice::from_ref(&t),
        ..Tables::default()
    };
    let mut w = Writer::new(Vec::new(), tables).unwrap();
    w.write_event(0, &encode(1, 5, 306, &[b"/x\0"])).unwrap();
    let bytes = w.finish().unwrap();
    let r = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "mem".into()).unwrap();
    t.comm.truncate(MAX_PATH_STR);
    t.args.truncate(MAX_LIST_STR);
    assert_eq!(r.threads[0].comm, t.comm);
    assert_eq!(r.threads[0].args, t.args);
    assert_eq!(r.users[0].name.len(), MAX_USER_STR);
}

#[test]
fn a_record_that_does_not_parse_is_refused() {
    let tables = Tables::default();
    let mut w = Writer::new(Vec::new(), tables).unwrap();
    let mut bad = encode(1, 5, 306, &[b"/x\0"]);
    bad.truncate(20);
    let err = w.write_event(0, &bad).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(w.events(), 0);
}

#[test]
fn container_json_event_reads_back_as_a_large_payload_event() {
    let tables = Tables::default();
    let json = br#"{"container":{"id":"3f1e2d3c4b5a","privileged":true}}"#;
    let mut w = Writer::new(Vec::new(), tables).unwrap();
    w.write_container_json(1, 77, json).unwrap();
    let bytes = w.finish().unwrap();
    let mut r = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), "mem".into()).unwrap();
    let meta = r.advance().unwrap().expect("the container event");
    assert_eq!(meta.cpu, 1);
    let ev = r.current().expect("current event");
    assert_eq!(ev.event_type(), 324);
    assert_eq!(ev.ts(), 77);
    assert_eq!(ev.tid(), -1);
    assert_eq!(ev.param_str(0), Some(&json[..]));
    assert!(r.advance().unwrap().is_none());
}
