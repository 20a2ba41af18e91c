//! Fuzzes the capture reader (`source::scap`) and what replay does with its events: any byte
//! string, plain or gzip, must give events or a clear error, never a panic, a hang or an
//! unbounded allocation. Every event returned is decoded parameter by parameter and rendered
//! (`evt.args`), and replayed through the state tracker with a broad set of fields extracted,
//! as `falco --print-events` does.
#![no_main]

use std::io::Read;
use std::sync::OnceLock;

use falco::event::render;
use falco::source::scap::Reader;
use falco::state::print::{parse_format, print_reader, Token};
use libfuzzer_sys::fuzz_target;

/// Events read per input at most (bounds the time one input may take).
const MAX_EVENTS: usize = 100_000;

const FORMAT: &str = "%evt.num %evt.type %evt.dir %evt.args %evt.info %evt.res %evt.arg.fd \
    %evt.arg[0] %proc.pid %proc.exe %proc.cmdline %proc.cwd %proc.pname %proc.aname[3] \
    %proc.sname %proc.tty %proc.loginshellid %proc.env %thread.tid %user.name %group.name \
    %fd.num %fd.type %fd.name %fd.directory %fd.filename %fd.cip %fd.sip %fd.lport %fd.rport \
    %fd.l4proto %fd.sockfamily %fd.is_server %container.id %container.name %container.image";

fn tokens() -> &'static [Token] {
    static TOKENS: OnceLock<Vec<Token>> = OnceLock::new();
    TOKENS.get_or_init(|| parse_format(FORMAT).unwrap_or_default())
}

fn reader(bytes: &[u8]) -> Option<Reader> {
    Reader::from_reader(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        "fuzz-input".to_string(),
    )
    .ok()
}

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
    let Some(mut r) = reader(&bytes) else {
        return;
    };
    let mut line = Vec::new();
    for _ in 0..MAX_EVENTS {
        match r.next_event() {
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
    if let Some(r) = reader(&bytes) {
        let _ = print_reader(r, tokens(), &mut std::io::sink());
    }
});
