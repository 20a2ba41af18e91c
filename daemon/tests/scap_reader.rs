//! Reads every sample capture of shared/compat/scap and checks block/event counts against
//! the inventory in SCAP-FORMAT.md §7; feeds corrupted variants and checks the errors.

use std::path::PathBuf;

use falco::source::scap::Reader;

fn shared() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn count(path: &str) -> (usize, usize, usize, (u16, u16)) {
    let p = shared().join("compat/scap").join(path);
    let mut r = Reader::open(&p).unwrap_or_else(|e| panic!("{e}"));
    let threads = r.threads.len();
    let fds_threads = {
        let mut t: Vec<i64> = r.fds.iter().map(|f| f.tid).collect();
        t.dedup();
        t.len()
    };
    let version = r.version;
    let mut n = 0;
    while let Some(_ev) = r.next_event().unwrap_or_else(|e| panic!("{e}")) {
        n += 1;
    }
    (n, threads, fds_threads, version)
}

#[test]
fn sample_captures_have_the_inventoried_event_counts() {
    let cases: &[(&str, usize, (u16, u16))] = &[
        ("falco/cat_write.scap", 345, (1, 0)),
        ("falco/connect_localhost.scap", 374, (1, 0)),
        ("falco/empty.scap", 143, (1, 2)),
        ("falco/legacy/empty_2016.scap", 83, (1, 0)),
        ("falco/open-multiple-files.scap", 1272, (1, 0)),
        ("falco/ping_sendto.scap", 1526, (1, 2)),
        ("falco/psp/privileged.scap", 2059, (1, 2)),
        ("falco/psp/run_as_user_0_container.scap", 4143, (1, 2)),
        ("falco/psp/run_as_user_65534_container.scap", 241, (1, 2)),
        ("falco/psp/write_tmp_test.scap", 229, (1, 2)),
        ("falco/syscall.scap", 368, (1, 1)),
        ("libs/curl_google.scap", 1536, (1, 0)),
        ("libs/sample.scap", 572, (1, 2)),
        ("libs/single_ipv6_conn.scap", 1728, (1, 2)),
        ("libs/test_ipv6_client.scap", 326, (1, 0)),
    ];
    for (path, events, version) in cases {
        let (n, _threads, _fdl, v) = count(path);
        assert_eq!(n, *events, "{path}");
        assert_eq!(v, *version, "{path}");
    }
}

#[test]
fn process_and_fd_lists_are_read() {
    let p = shared().join("compat/scap/libs/sample.scap");
    let r = Reader::open(&p).unwrap();
    let systemd = r.threads.iter().find(|t| t.tid == 1).expect("tid 1");
    assert_eq!(systemd.comm, b"systemd");
    assert_eq!(systemd.exe, b"/sbin/init");
    assert_eq!(systemd.exepath, b"/usr/lib/systemd/systemd");
    assert_eq!(r.threads.len(), 94);
    assert!(r.fds.iter().any(|f| f.name == b"/dev/null"));
    assert!(!r.users.is_empty());
    assert!(r.users.iter().any(|u| u.uid == 0 && u.name == b"root"));
    assert!(r.machine.is_some());
}

#[test]
fn comments_capture_with_shb_options_is_read() {
    // libs 0.21+ skips SHB options; so do we (sysdig 0.29 cannot open this file).
    let (n, ..) = count("libs/curl_google_comments.scap");
    assert_eq!(n, 1536);
}

fn decompress(path: &str) -> Vec<u8> {
    use std::io::Read;
    let f = std::fs::File::open(shared().join("compat/scap").join(path)).unwrap();
    let mut d = flate2::read::MultiGzDecoder::new(f);
    let mut v = Vec::new();
    d.read_to_end(&mut v).unwrap();
    v
}

fn read_all(bytes: Vec<u8>) -> (usize, Result<(), falco::source::scap::ScapError>) {
    let input: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(bytes));
    let mut r = match Reader::from_reader(input, "mem.scap".into()) {
        Ok(r) => r,
        Err(e) => return (0, Err(e)),
    };
    let mut n = 0;
    loop {
        match r.next_event() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return (n, Ok(())),
            Err(e) => return (n, Err(e)),
        }
    }
}

#[test]
fn truncated_file_reports_offset_after_delivering_events() {
    let bytes = decompress("falco/cat_write.scap");
    let cut = bytes.len() - 10;
    let (n, res) = read_all(bytes[..cut].to_vec());
    assert_eq!(n, 344);
    let e = res.unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(e.offset().unwrap() > 0);
}

#[test]
fn corrupt_block_length_is_an_error_not_an_allocation() {
    let mut bytes = decompress("falco/syscall.scap");
    // SHB is 28 bytes; the next block's length field follows its type.
    bytes[32..36].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let (_, res) = read_all(bytes);
    let e = res.unwrap_err();
    assert_eq!(e.offset(), Some(32));
    assert!(e.to_string().contains("exceeds"), "{e}");
}

#[test]
fn garbage_is_rejected_cleanly() {
    let (_, res) = read_all(b"not a capture file at all, just text".to_vec());
    assert!(res.unwrap_err().to_string().contains("not a scap capture"));
    let (_, res) = read_all(Vec::new());
    assert!(res.unwrap_err().to_string().contains("empty"));
}
