//! Rule output strings: compiled once at load ([`compile`]), rendered per alert.
//!
//! Grammar (libsinsp's event formatter, as Falco 0.39 uses it): literal text with `%` tokens.
//! A token is `%` [width digits] [transformer `(`]… field [`)`]…, where the field is the longest
//! registered field name that prefixes the text after `%` (so `%fd.name.` is `fd.name` followed
//! by a literal `.`), plus its argument: `[arg]` (`proc.aname[2]`,
//! `container.mount.dest[/var/run/docker.sock]`, `evt.arg[0]`) or, for fields taking a dotted
//! key, `.key` (`evt.arg.flags`, `k8s.pod.label.app`). A width pads or cuts the value to that
//! many bytes. A leading `*` is dropped (Falco always renders missing values as `<NA>`).
//! `%container.info` is replaced before parsing (see [`CompileOptions`]).
//!
//! Rendering never fails: a field without a value renders `<NA>` in text and `null` in JSON.
//! The fd name fields lose their control characters, as libsinsp sanitizes them when it
//! formats an output (conditions see them unchanged). Other values are escaped in text
//! ([`escape`]) so event data (a command line with a newline or a terminal escape, invalid
//! UTF-8) cannot forge an alert line; JSON values stay exact where they are valid UTF-8.
//! [`AlertFormatter`] builds the complete text line or JSON document.

mod alert;
pub mod escape;
mod time;

pub use alert::{AlertFormatter, AlertSettings, RuleInfo};
pub use time::{render_time, TimeStyle};

use std::fmt;

use crate::event::render;
use crate::fields::registry::{self, ArgKind, Display, FieldError, FieldInfo};
use crate::fields::{Extractor, FieldArg, FieldId, Value, Values};

/// What `%container.info` becomes when no `-p` option replaces it (Falco's default).
pub const DEFAULT_CONTAINER_INFO: &str =
    "container_id=%container.id container_name=%container.name";

/// A format string that does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormatError {
    /// Byte offset in the output string (after `%container.info` substitution) of the token.
    pub offset: usize,
    /// Falco's wording: `invalid formatting token <rest of the string>`.
    pub message: String,
}

/// Output rewriting done at compile time, as Falco's rule compiler does with `-p`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Text appended to every output (`-p <text>`, `-pk`...); empty for none.
    pub extra: String,
    /// When true `%container.info` is replaced by `extra` (and `extra` is not appended);
    /// otherwise it becomes [`DEFAULT_CONTAINER_INFO`].
    pub replace_container_info: bool,
}

/// An optional transformation applied to a field value before rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
}

impl Transformer {
    const ALL: [(&'static str, Transformer); 4] = [
        ("tolower", Transformer::ToLower),
        ("toupper", Transformer::ToUpper),
        ("b64", Transformer::B64),
        ("basename", Transformer::Basename),
    ];
}

/// Fields whose values libsinsp 0.18 strips of control characters when it formats an output
/// (its fd filterchecks' `sanitize_strings`); comparisons in conditions see the raw value.
const SANITIZED_FIELDS: [FieldId; 5] = [
    FieldId::FdName,
    FieldId::FdDirectory,
    FieldId::FdFilename,
    FieldId::FdContainername,
    FieldId::FdContainerdirectory,
];

/// One `%field` token.
#[derive(Clone, Debug)]
struct FieldToken {
    /// The token as written, without width: the `output_fields` key (`proc.aname[2]`).
    key: Box<str>,
    info: &'static FieldInfo,
    arg: FieldArg,
    /// Pad/cut to this many bytes; 0 = as is.
    width: usize,
    transformers: Vec<Transformer>,
    /// Control characters are dropped from the value (see [`SANITIZED_FIELDS`]).
    sanitized: bool,
}

impl FieldToken {
    /// Sets `s` to the value as text before escaping: `<NA>` when missing, sanitized,
    /// transformed.
    fn text(&self, values: &Values, s: &mut Vec<u8>) {
        s.clear();
        render_text(self.info.display, values, s);
        if self.sanitized {
            s.retain(|&c| render::survives_sanitizing(c));
        }
        apply_transformers(&self.transformers, s);
    }
}

#[derive(Clone, Debug)]
enum Token {
    Text(Box<str>),
    Field(FieldToken),
}

/// A compiled output string.
#[derive(Clone, Debug)]
pub struct OutputFormat {
    text: String,
    tokens: Vec<Token>,
}

/// Compiles `output` with Falco's default `%container.info` substitution.
pub fn compile(output: &str) -> Result<OutputFormat, FormatError> {
    compile_with(output, &CompileOptions::default())
}

/// Compiles `output` applying `opts` (`-p` handling).
pub fn compile_with(output: &str, opts: &CompileOptions) -> Result<OutputFormat, FormatError> {
    let mut text = output.trim().to_string();
    if let Some(rest) = text.strip_prefix('*') {
        text = rest.to_string();
    }
    const CONTAINER_INFO: &str = "%container.info";
    if text.contains(CONTAINER_INFO) {
        if opts.replace_container_info {
            text = text.replace(CONTAINER_INFO, &opts.extra);
        } else {
            text = text.replace(CONTAINER_INFO, DEFAULT_CONTAINER_INFO);
            append_extra(&mut text, &opts.extra);
        }
    } else {
        append_extra(&mut text, &opts.extra);
    }
    let tokens = parse(&text)?;
    Ok(OutputFormat { text, tokens })
}

fn append_extra(text: &mut String, extra: &str) {
    if !extra.is_empty() {
        text.push(' ');
        text.push_str(extra);
    }
}

fn is_field_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

fn invalid_token(fmt: &str, at: usize) -> FormatError {
    FormatError {
        offset: at,
        message: format!("invalid formatting token {}", &fmt[at..]),
    }
}

fn parse(fmt: &str) -> Result<Vec<Token>, FormatError> {
    let b = fmt.as_bytes();
    let mut tokens = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        let percent = i;
        if literal_start < percent {
            tokens.push(Token::Text(fmt[literal_start..percent].into()));
        }
        if percent + 1 == b.len() {
            return Err(FormatError {
                offset: percent,
                message: "invalid formatting syntax: formatting cannot end with a %".into(),
            });
        }
        let mut j = percent + 1;
        let digits_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == b.len() {
            return Err(FormatError {
                offset: percent,
                message: "invalid formatting syntax: formatting cannot end with a number".into(),
            });
        }
        let width = fmt[digits_start..j].parse::<usize>().unwrap_or(0).min(4096);
        let mut transformers = Vec::new();
        'outer: loop {
            for (name, t) in Transformer::ALL {
                if fmt[j..].starts_with(name) && b.get(j + name.len()) == Some(&b'(') {
                    transformers.push(t);
                    j += name.len() + 1;
                    continue 'outer;
                }
            }
            break;
        }
        let field_start = j;
        let (info, arg, end) = parse_field(fmt, field_start)?;
        j = end;
        for _ in &transformers {
            if b.get(j) != Some(&b')') {
                return Err(FormatError {
                    offset: j,
                    message: format!("missing closing transformer parenthesis: {}", &fmt[j..]),
                });
            }
            j += 1;
        }
        tokens.push(Token::Field(FieldToken {
            key: fmt[field_start..end].into(),
            sanitized: SANITIZED_FIELDS.contains(&info.id),
            info,
            arg,
            width,
            transformers,
        }));
        i = j;
        literal_start = j;
    }
    if literal_start < b.len() {
        tokens.push(Token::Text(fmt[literal_start..].into()));
    }
    Ok(tokens)
}

/// Parses the field reference starting at `start`; returns the field, its argument and the
/// byte offset just after the reference.
fn parse_field(
    fmt: &str,
    start: usize,
) -> Result<(&'static FieldInfo, FieldArg, usize), FormatError> {
    let b = fmt.as_bytes();
    let mut run_end = start;
    while run_end < b.len() && is_field_char(b[run_end]) {
        run_end += 1;
    }
    // The longest registered name that prefixes the text (libsinsp matches raw prefixes).
    let mut base = None;
    for len in (1..=run_end - start).rev() {
        if let Some(info) = registry::by_name(&fmt[start..start + len]) {
            base = Some((info, start + len));
            break;
        }
    }
    let Some((info, name_end)) = base else {
        return Err(invalid_token(fmt, start));
    };
    let name = info.name;
    let field_error = |e: FieldError| FormatError {
        offset: start,
        message: format!("{e}"),
    };
    if info.arg != ArgKind::None && b.get(name_end) == Some(&b'[') {
        let Some(close) = fmt[name_end..].find(']') else {
            return Err(FormatError {
                offset: name_end,
                message: format!(
                    "missing closing bracket in formatting token {}",
                    &fmt[start..]
                ),
            });
        };
        let inner = &fmt[name_end + 1..name_end + close];
        let (info, arg) = registry::resolve(name, Some(inner)).map_err(field_error)?;
        return Ok((info, arg, name_end + close + 1));
    }
    if info.arg == ArgKind::DottedKey && b.get(name_end) == Some(&b'.') {
        let mut key_end = run_end;
        while key_end > name_end + 1 && b[key_end - 1] == b'.' {
            key_end -= 1;
        }
        if key_end > name_end + 1 {
            let key = &fmt[name_end + 1..key_end];
            return Ok((info, FieldArg::Key(key.to_string()), key_end));
        }
    }
    let (info, arg) = registry::resolve(name, None).map_err(field_error)?;
    Ok((info, arg, name_end))
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl OutputFormat {
    /// The output string after substitutions, as compiled.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The fields referenced, as written (`output_fields` keys), in order of appearance.
    pub fn field_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.tokens.iter().filter_map(|t| match t {
            Token::Field(f) => Some(&*f.key),
            Token::Text(_) => None,
        })
    }

    /// Whether the output references `id` (with any argument).
    pub fn uses_field(&self, id: FieldId) -> bool {
        self.tokens
            .iter()
            .any(|t| matches!(t, Token::Field(f) if f.info.id == id))
    }

    /// Appends the rendered output to `out` (`<NA>` for missing values; values escaped).
    pub fn render(&self, x: &mut dyn Extractor, out: &mut Vec<u8>) {
        let mut values = Values::new();
        let mut scratch = Vec::new();
        for t in &self.tokens {
            match t {
                Token::Text(s) => out.extend_from_slice(s.as_bytes()),
                Token::Field(f) => {
                    values.clear();
                    x.extract(f.info.id as u16, &f.arg, &mut values);
                    f.text(&values, &mut scratch);
                    let start = out.len();
                    escape::escape_text(&scratch, out);
                    if f.width > 0 {
                        pad_or_cut(out, start, f.width);
                    }
                }
            }
        }
    }

    /// The rendered output as a `String`.
    pub fn render_string(&self, x: &mut dyn Extractor) -> String {
        let mut out = Vec::new();
        self.render(x, &mut out);
        // render only emits valid UTF-8 (escape_text guarantees it for field values).
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// `output_fields` of the JSON alert: each field as written → its typed value (numbers,
    /// booleans, strings; an array for several values; `null` when missing).
    pub fn output_fields(
        &self,
        x: &mut dyn Extractor,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        self.add_output_fields(x, &mut map);
        map
    }

    /// Adds this format's fields to `map` (see [`OutputFormat::output_fields`]).
    pub fn add_output_fields(
        &self,
        x: &mut dyn Extractor,
        map: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        let mut values = Values::new();
        for t in &self.tokens {
            let Token::Field(f) = t else { continue };
            values.clear();
            x.extract(f.info.id as u16, &f.arg, &mut values);
            let v = if f.transformers.is_empty() && !f.sanitized {
                json_value(&values)
            } else if values.is_empty() {
                serde_json::Value::Null
            } else {
                let mut s = Vec::new();
                f.text(&values, &mut s);
                serde_json::Value::String(escape::lossless_utf8(&s))
            };
            map.insert(f.key.to_string(), v);
        }
    }

    /// The first value of field `id` as text, if the output references it (for the metrics
    /// labels `k8s.ns.name` / `k8s.pod.name`).
    pub fn field_text(&self, id: FieldId, x: &mut dyn Extractor) -> Option<String> {
        let f = self.tokens.iter().find_map(|t| match t {
            Token::Field(f) if f.info.id == id => Some(f),
            _ => None,
        })?;
        let mut values = Values::new();
        x.extract(f.info.id as u16, &f.arg, &mut values);
        if values.is_empty() {
            return None;
        }
        let mut s = Vec::new();
        render_text(f.info.display, &values, &mut s);
        Some(escape::lossless_utf8(&s))
    }
}

/// Renders the values of one field as Falco prints it in text: `<NA>` when missing, times per
/// the field's display, several values as `(a,b)`. Raw bytes (escaping happens later).
pub fn render_text(display: Display, values: &Values, out: &mut Vec<u8>) {
    use std::io::Write;
    match values.len() {
        0 => out.extend_from_slice(b"<NA>"),
        1 => {
            if let Some(v) = values.get(0) {
                render_value(display, v, out)
            }
        }
        _ => {
            out.push(b'(');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                render_value(display, v, out);
            }
            out.push(b')');
        }
    }
    fn render_value(display: Display, v: Value<'_>, out: &mut Vec<u8>) {
        let _ = match v {
            Value::UInt(ts) if display != Display::Default => {
                let style = match display {
                    Display::TimeOfDay => TimeStyle::TimeOfDay,
                    Display::TimeOfDaySeconds => TimeStyle::TimeOfDaySeconds,
                    Display::Iso8601 => TimeStyle::Iso8601,
                    Display::DateTime => TimeStyle::DateTime,
                    _ => TimeStyle::DateTimeSeconds,
                };
                render_time(ts, style, out);
                Ok(())
            }
            Value::Int(n) => write!(out, "{n}"),
            Value::UInt(n) => write!(out, "{n}"),
            Value::Bool(b) => write!(out, "{b}"),
            Value::Ip(ip) => write!(out, "{ip}"),
            Value::Str(s) => {
                out.extend_from_slice(s);
                Ok(())
            }
        };
    }
}

fn json_scalar(v: Value<'_>) -> serde_json::Value {
    match v {
        Value::Int(n) => n.into(),
        Value::UInt(n) => n.into(),
        Value::Bool(b) => b.into(),
        Value::Ip(ip) => ip.to_string().into(),
        Value::Str(s) => escape::lossless_utf8(s).into(),
    }
}

fn json_value(values: &Values) -> serde_json::Value {
    match values.len() {
        0 => serde_json::Value::Null,
        1 => values.get(0).map(json_scalar).unwrap_or_default(),
        _ => serde_json::Value::Array(values.iter().map(json_scalar).collect()),
    }
}

fn apply_transformers(ts: &[Transformer], s: &mut Vec<u8>) {
    // Innermost first: `tolower(basename(x))` applies basename, then tolower.
    for t in ts.iter().rev() {
        match t {
            Transformer::ToLower => s.make_ascii_lowercase(),
            Transformer::ToUpper => s.make_ascii_uppercase(),
            Transformer::Basename => {
                if let Some(p) = memchr::memrchr(b'/', s) {
                    s.drain(..=p);
                }
            }
            Transformer::B64 => {
                let decoded = escape::base64_decode(s);
                if let Some(d) = decoded {
                    *s = d;
                }
            }
        }
    }
}

/// Pads with spaces or cuts `out[start..]` to `width` bytes (on a char boundary).
fn pad_or_cut(out: &mut Vec<u8>, start: usize, width: usize) {
    let len = out.len() - start;
    if len < width {
        out.resize(start + width, b' ');
    } else if len > width {
        let mut end = start + width;
        while end > start && (out[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        out.truncate(end);
    }
}

#[cfg(test)]
mod tests;
