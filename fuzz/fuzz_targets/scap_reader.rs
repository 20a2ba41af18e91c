//! Fuzzes the capture reader (`source::scap`): any byte string, plain or gzip, must give
//! events or a clear error, never a panic, a hang or an unbounded allocation. Every event
//! returned is decoded parameter by parameter and rendered, as replay would.
#![no_main]

use std::io::Read;

use falco::event::render;
use falco::source::scap::Reader;
use libfuzzer_sys::fuzz_target;

/// Events read per input at most (bounds the time one input may take).
const MAX_EVENTS: usize = 100_000;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(&[0x1f, 0x8b]) {
        // Bounded inflate: a small input must not expand without limit.
        let mut out = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(data);
        if decoder.take(16 << 20).read_to_end(&mut out).is_err() {
            return;
        }
        out
    } else {
        data.to_vec()
    };
    let Ok(mut reader) = Reader::from_reader(
        Box::new(std::io::Cursor::new(bytes)),
        "fuzz-input".to_string(),
    ) else {
        return;
    };
    let mut line = Vec::new();
    for _ in 0..MAX_EVENTS {
        match reader.next_event() {
            Ok(Some(ev)) => {
                for i in 0..ev.nparams() as usize {
                    let _ = ev.param(i);
                }
                line.clear();
                render::args(&ev, &render::NoState, &mut line);
            }
            Ok(None) | Err(_) => break,
        }
    }
});
