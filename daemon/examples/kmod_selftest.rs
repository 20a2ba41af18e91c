//! Checks, inside a VM with the falco module loaded, that the driver refuses what it must:
//! unknown ioctls, unsupported interest bits, out-of-range snaplen, bad pointers, mappings
//! of the wrong size or offset, writable mappings of the producer side, a second open of a
//! device. Prints one `PASS name` / `FAIL name: detail` line per check (the VM test collects
//! them) and exits 1 if any failed.
//!
//!
//! With `--udp PORT` it instead exchanges datagrams on 127.0.0.1 through sendto/recvfrom and
//! sendmsg/recvmsg (the workload whose records the VM test checks) and exits. With
//! `--stats` it prints the driver's counters since load, summed over CPUs (the benchmark's
//! drop figures): `STATS events=N drops_full=N drops_fault=N truncated=N`.
//!
//! ```text
//! kmod_selftest [--dev DIR] [--stats] | --udp PORT
//! ```

use std::ffi::CString;

use falco::source::abi::{self, falco_interest, falco_ring_info};

struct Checker {
    failed: usize,
}

impl Checker {
    fn check(&mut self, name: &str, ok: bool, detail: String) {
        if ok {
            println!("PASS {name}");
        } else {
            self.failed += 1;
            println!("FAIL {name}: {detail}");
        }
    }

    /// Expects `rc` to be -1 with `errno`.
    fn errno(&mut self, name: &str, rc: libc::c_long, expected: i32) {
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        self.check(
            name,
            rc == -1 && err == expected,
            format!("rc {rc}, errno {err}, expected errno {expected}"),
        );
    }
}

fn open_dev(path: &str) -> libc::c_int {
    let c = CString::new(path).unwrap_or_default();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }
}

/// Datagrams to 127.0.0.1:`port` from an unconnected socket: sendto + recvfrom, then
/// sendmsg + recvmsg with an address and two iovecs.
fn udp_exchange(port: u16) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let server = std::net::UdpSocket::bind(("127.0.0.1", port))?;
    let client = std::net::UdpSocket::bind("127.0.0.1:0")?;
    client.send_to(b"datagram1", ("127.0.0.1", port))?;
    let mut buf = [0u8; 64];
    let (n, from) = server.recv_from(&mut buf)?;
    println!("recvfrom {n} bytes from {from}");
    // SAFETY: msghdr/iovec/sockaddr_in point to live locals for the duration of the calls.
    unsafe {
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let (a, b) = (b"data".to_vec(), b"gram2".to_vec());
        let mut iov = [
            libc::iovec {
                iov_base: a.as_ptr() as *mut libc::c_void,
                iov_len: a.len(),
            },
            libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            },
        ];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = &mut addr as *mut _ as *mut libc::c_void;
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 2;
        if libc::sendmsg(client.as_raw_fd(), &msg, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut from: libc::sockaddr_in = std::mem::zeroed();
        let mut riov = [libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        }];
        let mut rmsg: libc::msghdr = std::mem::zeroed();
        rmsg.msg_name = &mut from as *mut _ as *mut libc::c_void;
        rmsg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
        rmsg.msg_iov = riov.as_mut_ptr();
        rmsg.msg_iovlen = 1;
        let n = libc::recvmsg(server.as_raw_fd(), &mut rmsg, 0);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        println!("recvmsg {n} bytes");
    }
    Ok(())
}

/// Prints the driver's cumulative counters over every device.
fn print_stats(dev_dir: &str) -> Result<(), String> {
    let source = falco::source::kmod::KmodSource::open(&falco::source::kmod::KmodOptions {
        device_dir: dev_dir.into(),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let (mut events, mut full, mut fault, mut truncated) = (0u64, 0u64, 0u64, 0u64);
    for s in source.driver_stats().map_err(|e| e.to_string())? {
        events += s.events;
        full += s.drops_full;
        fault += s.drops_fault;
        truncated += s.truncated;
    }
    println!("STATS events={events} drops_full={full} drops_fault={fault} truncated={truncated}");
    Ok(())
}

fn main() {
    let mut dev_dir = String::from("/dev");
    let mut stats = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--stats" {
            stats = true;
            continue;
        }
        match (a.as_str(), args.next()) {
            ("--dev", Some(d)) => dev_dir = d,
            ("--udp", Some(p)) => {
                let code = match p
                    .parse::<u16>()
                    .map_err(|e| e.to_string())
                    .and_then(|port| udp_exchange(port).map_err(|e| e.to_string()))
                {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("kmod_selftest --udp: {e}");
                        1
                    }
                };
                std::process::exit(code);
            }
            _ => {
                eprintln!("usage: kmod_selftest [--dev DIR] [--stats] | --udp PORT");
                std::process::exit(2);
            }
        }
    }
    if stats {
        if let Err(e) = print_stats(&dev_dir) {
            eprintln!("kmod_selftest --stats: {e}");
            std::process::exit(1);
        }
        return;
    }
    let path = format!("{dev_dir}/falco0");
    let fd = open_dev(&path);
    if fd < 0 {
        println!("FAIL open: {path}: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    }
    let mut c = Checker { failed: 0 };

    // SAFETY (all ioctl/mmap calls below): fd is an open device; pointer arguments point to
    // live values of the size the request encodes, or are deliberately invalid addresses
    // the kernel must reject without touching our memory.
    unsafe {
        let second = open_dev(&path);
        c.errno("second-open-ebusy", second as libc::c_long, libc::EBUSY);
        if second >= 0 {
            libc::close(second);
        }

        let unknown = (1u32 << 30) | ((b'f' as u32) << 8) | 99 | (4 << 16);
        c.errno(
            "unknown-ioctl-enotty",
            libc::ioctl(fd, unknown as _, 0usize) as libc::c_long,
            libc::ENOTTY,
        );
        let foreign = (2u32 << 30) | ((b'T' as u32) << 8) | 1 | (4 << 16);
        c.errno(
            "foreign-magic-enotty",
            libc::ioctl(fd, foreign as _, 0usize) as libc::c_long,
            libc::ENOTTY,
        );

        let mut supported = falco_interest::default();
        let rc = libc::ioctl(fd, abi::IOCTL_SUPPORTED as _, &mut supported);
        c.check(
            "supported-ioctl",
            rc == 0 && supported.bits.iter().any(|w| *w != 0),
            format!("rc {rc}"),
        );
        // Bit 2 is open's enter event: the driver records exits only.
        let mut bad = supported;
        bad.bits[0] |= 1 << 2;
        c.errno(
            "interest-unsupported-bit-einval",
            libc::ioctl(fd, abi::IOCTL_SET_INTEREST as _, &mut bad) as libc::c_long,
            libc::EINVAL,
        );
        let mut top = falco_interest::default();
        top.bits[abi::FALCO_INTEREST_WORDS as usize - 1] = 1 << 63;
        c.errno(
            "interest-top-bit-einval",
            libc::ioctl(fd, abi::IOCTL_SET_INTEREST as _, &mut top) as libc::c_long,
            libc::EINVAL,
        );
        c.errno(
            "interest-null-efault",
            libc::ioctl(fd, abi::IOCTL_SET_INTEREST as _, 0usize) as libc::c_long,
            libc::EFAULT,
        );
        c.errno(
            "interest-kernel-pointer-efault",
            libc::ioctl(fd, abi::IOCTL_SET_INTEREST as _, 0xffff_8000_0000_0000usize)
                as libc::c_long,
            libc::EFAULT,
        );
        let mut good = supported;
        let rc = libc::ioctl(fd, abi::IOCTL_SET_INTEREST as _, &mut good);
        c.check("interest-supported-set-ok", rc == 0, format!("rc {rc}"));

        for (name, v) in [
            ("snaplen-zero-einval", 0u32),
            ("snaplen-too-big-einval", 65001),
        ] {
            let mut v = v;
            c.errno(
                name,
                libc::ioctl(fd, abi::IOCTL_SET_SNAPLEN as _, &mut v) as libc::c_long,
                libc::EINVAL,
            );
        }
        let mut v = 256u32;
        let rc = libc::ioctl(fd, abi::IOCTL_SET_SNAPLEN as _, &mut v);
        c.check("snaplen-valid-ok", rc == 0, format!("rc {rc}"));
        c.errno(
            "api-version-null-efault",
            libc::ioctl(fd, abi::IOCTL_API_VERSION as _, 0usize) as libc::c_long,
            libc::EFAULT,
        );

        let mut info = falco_ring_info::default();
        let rc = libc::ioctl(fd, abi::IOCTL_RING_INFO as _, &mut info);
        c.check(
            "ring-info",
            rc == 0 && info.data_size.is_power_of_two() && info.nr_devices >= 1,
            format!("rc {rc}, data_size {}", info.data_size),
        );
        let page = info.page_size as usize;
        let data = info.data_size as usize;
        let map = |len: usize, prot: libc::c_int, off: usize| {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd,
                off as libc::off_t,
            )
        };
        let failed_with = |p: *mut libc::c_void| {
            if p == libc::MAP_FAILED {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
            } else {
                0
            }
        };
        let rw = libc::PROT_READ | libc::PROT_WRITE;

        let p = map(2 * page, rw, 0);
        let e = failed_with(p);
        c.check(
            "mmap-consumer-wrong-length-einval",
            e == libc::EINVAL,
            format!("errno {e}"),
        );
        if e == 0 {
            libc::munmap(p, 2 * page);
        }
        let p = map(page + 2 * data, rw, page);
        let e = failed_with(p);
        c.check(
            "mmap-producer-writable-eperm",
            e == libc::EPERM,
            format!("errno {e}"),
        );
        if e == 0 {
            libc::munmap(p, page + 2 * data);
        }
        let p = map(page, libc::PROT_READ, 2 * page);
        let e = failed_with(p);
        c.check(
            "mmap-bad-offset-einval",
            e == libc::EINVAL,
            format!("errno {e}"),
        );
        if e == 0 {
            libc::munmap(p, page);
        }
        let p = map(page + 2 * data, libc::PROT_READ, page);
        let e = failed_with(p);
        c.check("mmap-producer-readonly-ok", e == 0, format!("errno {e}"));
        if e == 0 {
            let rc = libc::mprotect(p, page, rw);
            let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            c.check(
                "mprotect-producer-writable-refused",
                rc == -1 && err == libc::EACCES,
                format!("rc {rc}, errno {err}"),
            );
            libc::munmap(p, page + 2 * data);
        }
        let p = map(page, rw, 0);
        let e = failed_with(p);
        c.check("mmap-consumer-ok", e == 0, format!("errno {e}"));
        if e == 0 {
            libc::munmap(p, page);
        }
        libc::close(fd);
    }
    std::process::exit(if c.failed == 0 { 0 } else { 1 });
}
