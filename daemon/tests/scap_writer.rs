//! The capture writer against the reader on every sample capture of shared/compat/scap
//! (format 1.0 to 1.2, process list V5 to V9, fd list v1/v2, v1 and v2 events): a capture
//! read, written again with `source::scap_write` and read back has the same tables and the
//! same events (v1 events come back in the v2 layout the reader gives them).

use std::path::PathBuf;

use falco::source::scap::Reader;
use falco::source::scap_write::{Tables, Writer};

fn shared() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Every table of a reader as text, fds in a stable order (the writer groups them by thread).
fn tables_text(r: &Reader) -> Vec<String> {
    let mut fds: Vec<String> = r.fds.iter().map(|f| format!("{f:?}")).collect();
    fds.sort();
    vec![
        format!("{:?}", r.machine),
        format!("{:?}", r.interfaces),
        format!("{:?}", r.users),
        format!("{:?}", r.groups),
        format!("{:?}", r.threads),
        fds.join("\n"),
    ]
}

fn events(r: &mut Reader) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(meta) = r.advance().unwrap_or_else(|e| panic!("{e}")) {
        assert!(!meta.new_section, "the samples have one section each");
        let event = r.current().expect("current event after advance");
        out.push((meta.cpu, event.raw().to_vec()));
    }
    out
}

#[test]
fn sample_captures_survive_a_write_and_read_back() {
    let samples = [
        "falco/cat_write.scap",
        "falco/connect_localhost.scap",
        "falco/empty.scap",
        "falco/legacy/empty_2016.scap",
        "falco/open-multiple-files.scap",
        "falco/ping_sendto.scap",
        "falco/psp/privileged.scap",
        "falco/syscall.scap",
        "libs/curl_google.scap",
        "libs/sample.scap",
        "libs/single_ipv6_conn.scap",
        "libs/test_ipv6_client.scap",
    ];
    for name in samples {
        let path = shared().join("compat/scap").join(name);
        let mut original = Reader::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let tables = tables_text(&original);
        let mut written = Writer::new(Vec::new(), Tables::of(&original)).unwrap();
        let evs = events(&mut original);
        for (cpu, ev) in &evs {
            written.write_event(*cpu, ev).unwrap();
        }
        assert_eq!(written.events(), evs.len() as u64);
        let bytes = written.finish().unwrap();
        let mut back = Reader::from_reader(Box::new(std::io::Cursor::new(bytes)), name.into())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.version, (1, 2), "{name}");
        let back_tables = tables_text(&back);
        for (i, (a, b)) in tables.iter().zip(&back_tables).enumerate() {
            assert!(a == b, "{name}: table {i} differs after the round trip");
        }
        let back_events = events(&mut back);
        assert_eq!(back_events.len(), evs.len(), "{name}");
        for (i, (a, b)) in evs.iter().zip(&back_events).enumerate() {
            assert!(a == b, "{name}: event {i} differs after the round trip");
        }
    }
}
