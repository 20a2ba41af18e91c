//! `falco --print-events FORMAT -e FILE`: replays a capture through the state tracker and
//! prints one line per event with `%field` tokens expanded, like `sysdig -r FILE -p FORMAT`.
//! Used by the sysdig oracle test; also handy to inspect captures.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use super::extract::{render_values, Field};
use super::State;
use crate::fields::{FieldArg, Values};
use crate::source::scap::Reader;

/// One piece of an output format.
#[derive(Clone, Debug)]
pub enum Token {
    Text(String),
    Field(Field, FieldArg),
}

/// Parses a `%field` format (`%evt.arg.name`, `%proc.aname[2]`, `%evt.arg[0]`).
pub fn parse_format(fmt: &str) -> anyhow::Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut text = String::new();
    let b = fmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            let ch = fmt[i..].chars().next().unwrap_or(' ');
            text.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_') {
            j += 1;
        }
        let name = &fmt[start..j];
        let mut arg = FieldArg::None;
        if j < b.len() && b[j] == b'[' {
            let Some(end) = fmt[j..].find(']') else {
                bail!("format column {}: unterminated '[' after %{name}", j + 1);
            };
            let inner = &fmt[j + 1..j + end];
            arg = match inner.parse::<u32>() {
                Ok(n) => FieldArg::Index(n),
                Err(_) => FieldArg::Key(inner.to_string()),
            };
            j += end + 1;
        }
        let field = match Field::parse(name) {
            Some(f) => f,
            None => {
                let (prefix, key) = ["evt.arg.", "evt.rawarg.", "container.label."]
                    .iter()
                    .find_map(|p| name.strip_prefix(p).map(|k| (*p, k)))
                    .with_context(|| format!("format column {}: unknown field %{name}", start))?;
                arg = FieldArg::Key(key.to_string());
                Field::parse(prefix.trim_end_matches('.'))
                    .with_context(|| format!("unknown field %{name}"))?
            }
        };
        if !text.is_empty() {
            out.push(Token::Text(std::mem::take(&mut text)));
        }
        out.push(Token::Field(field, arg));
        i = j;
    }
    if !text.is_empty() {
        out.push(Token::Text(text));
    }
    Ok(out)
}

/// Event types sysdig does not print: its internal category (scapevent, container JSON, procinfo,
/// user/group added/deleted), shown only with `sysdig -D`.
pub fn is_hidden(etype: u16) -> bool {
    matches!(etype, 196 | 234 | 272 | 324 | 354 | 356 | 358 | 360)
}

/// Prints every event of `path` with `format` to `out`.
pub fn print_events(path: &Path, format: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let tokens = parse_format(format)?;
    print_reader(Reader::open(path)?, &tokens, out)
}

/// Prints every event `reader` yields with the parsed format `tokens` to `out`.
pub fn print_reader(
    mut reader: Reader,
    tokens: &[Token],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut state = State::from_reader(&reader);
    let mut values = Values::new();
    let mut line = Vec::with_capacity(4096);
    let mut first_ts = None;
    while let Some(meta) = reader.advance()? {
        if meta.new_section {
            state.load_tables(&reader);
        }
        let Some(ev) = reader.current() else {
            anyhow::bail!("the reader returned no event after advancing");
        };
        state.process(&ev);
        let first = *first_ts.get_or_insert(ev.ts());
        if is_hidden(ev.event_type()) {
            continue;
        }
        let mut x = state
            .extractor(&ev)
            .with_cpu(meta.cpu)
            .with_text_times()
            .with_first_ts(first);
        line.clear();
        for t in tokens {
            match t {
                Token::Text(s) => line.extend_from_slice(s.as_bytes()),
                Token::Field(f, a) => {
                    values.clear();
                    x.extract_field(*f, a, &mut values);
                    let start = line.len();
                    render_values(&values, &mut line);
                    // libsinsp prints fd names without their control characters (a
                    // unix socket name read from /proc may end in '\n').
                    if !matches!(
                        f,
                        Field::FdName
                            | Field::FdNameraw
                            | Field::FdContainername
                            | Field::FdDirectory
                            | Field::FdContainerdirectory
                            | Field::FdFilename
                    ) {
                        continue;
                    }
                    let mut kept = start;
                    for i in start..line.len() {
                        let c = line[i];
                        if c >= 0x20 && c != 0x7f {
                            line[kept] = c;
                            kept += 1;
                        }
                    }
                    line.truncate(kept);
                }
            }
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// CLI entry: `falco --print-events FORMAT -e FILE`; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let (Some(fmt), Some(file)) = (
        args.first(),
        args.iter()
            .position(|a| a == "-e")
            .and_then(|i| args.get(i + 1)),
    ) else {
        eprintln!("usage: falco --print-events FORMAT -e CAPTURE_FILE");
        return 1;
    };
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    match print_events(Path::new(file), fmt, &mut lock) {
        Ok(()) => {
            let _ = lock.flush();
            0
        }
        Err(e) => {
            let _ = lock.flush();
            eprintln!("falco: {e:#}");
            1
        }
    }
}
