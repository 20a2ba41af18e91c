//! The syntax tree of a condition, with the byte offset of every node in the condition text,
//! and a printer whose output parses back to the same tree.

use std::fmt;

/// A parsed condition. Offsets are byte offsets into the text given to [`super::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Ast {
    pub root: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>, usize),
    Or(Vec<Expr>, usize),
    Not(Box<Expr>, usize),
    /// A bare identifier: a macro reference.
    Macro(String, usize),
    Check(Box<Check>),
}

/// `lhs op rhs`, or `lhs exists`.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub lhs: Operand,
    pub op: Op,
    pub rhs: Rhs,
    pub offset: usize,
}

/// A field, possibly wrapped in transformers: `tolower(proc.name)`, `val(proc.pname)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Field(FieldRef),
    Transform(Transformer, Box<Operand>, usize),
}

/// A field reference as written: `proc.aname` with `arg` `Some("2")` for `proc.aname[2]`.
/// Dotted arguments (`evt.arg.flags`) stay in `name`; the registry splits them.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    pub name: String,
    pub arg: Option<String>,
    pub offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    /// `val(field)`: the field's value itself, only on the right-hand side.
    Val,
}

impl Transformer {
    pub fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Val => "val",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    Pmatch,
    Exists,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Pmatch => "pmatch",
            Op::Exists => "exists",
        }
    }

    /// Operators whose right-hand side is a list.
    pub fn is_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::Pmatch)
    }

    /// Operators whose right-hand side is a number.
    pub fn is_numeric(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// The right-hand side of a check.
#[derive(Clone, Debug, PartialEq)]
pub enum Rhs {
    /// `exists` has none.
    None,
    /// A single value (bare, quoted, or a number), already unescaped.
    Value(Value),
    /// `(a, b, "c d")`.
    List(Vec<Value>, usize),
    /// A list operator followed by an identifier: `proc.name in shell_binaries`.
    ListRef(String, usize),
    /// `val(field)` or a transformed field.
    Operand(Operand),
}

/// A literal value. `quoted` records whether it was written in quotes: list names are only
/// expanded from bare items, as Falco substitutes them textually.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub text: String,
    pub quoted: bool,
    pub offset: usize,
}

impl Ast {
    /// `a and b`, for callers composing conditions (exceptions, appends).
    pub fn and(self, other: Ast) -> Ast {
        Ast {
            root: Expr::And(vec![self.root, other.root], 0),
        }
    }

    /// `not a`.
    pub fn negate(self) -> Ast {
        Ast {
            root: Expr::Not(Box::new(self.root), 0),
        }
    }

    /// Every macro name referenced directly by this tree, in order of appearance.
    pub fn macro_refs(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![&self.root];
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(v, _) | Expr::Or(v, _) => stack.extend(v.iter().rev()),
                Expr::Not(e, _) => stack.push(e),
                Expr::Macro(m, _) => out.push(m.as_str()),
                Expr::Check(_) => {}
            }
        }
        out
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(v, _) | Expr::Or(v, _) => {
                let sep = if matches!(self, Expr::And(..)) {
                    " and "
                } else {
                    " or "
                };
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    // Parenthesise every compound child: keeps the tree shape on reparse.
                    if matches!(e, Expr::And(..) | Expr::Or(..)) {
                        write!(f, "({e})")?;
                    } else {
                        write!(f, "{e}")?;
                    }
                }
                Ok(())
            }
            Expr::Not(e, _) => write!(f, "not ({e})"),
            Expr::Macro(m, _) => f.write_str(m),
            Expr::Check(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.op.as_str())?;
        match &self.rhs {
            Rhs::None => Ok(()),
            Rhs::Value(v) => {
                if self.op.is_numeric() {
                    write!(f, " {}", v.text)
                } else {
                    write!(f, " {}", ValueText(v))
                }
            }
            Rhs::List(items, _) => {
                f.write_str(" (")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", ValueText(v))?;
                }
                f.write_str(")")
            }
            Rhs::ListRef(name, _) => write!(f, " {name}"),
            Rhs::Operand(o) => match o {
                Operand::Field(fr) => write!(f, " val({fr})"),
                Operand::Transform(..) => write!(f, " {o}"),
            },
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(fr) => write!(f, "{fr}"),
            Operand::Transform(t, inner, _) => write!(f, "{}({inner})", t.name()),
        }
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arg) = &self.arg {
            if !arg.is_empty() && arg.bytes().all(is_field_arg_bare) {
                write!(f, "[{arg}]")?;
            } else {
                write!(f, "[{}]", Quoted(arg))?;
            }
        }
        Ok(())
    }
}

struct ValueText<'a>(&'a Value);

impl fmt::Display for ValueText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if !v.quoted && is_printable_bare(&v.text) {
            f.write_str(&v.text)
        } else {
            write!(f, "{}", Quoted(&v.text))
        }
    }
}

/// A bare value prints as itself only if the lexer reads it back as the same bare string.
fn is_printable_bare(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(is_bare_str)
        // A bare value starting like a transformer would be read as one.
        && !["tolower(", "toupper(", "b64(", "basename(", "val("]
            .iter()
            .any(|t| s.starts_with(t))
}

/// Characters of a bare value: anything but blanks, quotes, `(`, `)`, `,` and `=`.
pub(crate) fn is_bare_str(b: u8) -> bool {
    !matches!(
        b,
        b'(' | b')' | b'"' | b'\'' | b'=' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
    )
}

/// Characters of a bare field argument: anything but blanks, quotes and brackets.
pub(crate) fn is_field_arg_bare(b: u8) -> bool {
    !matches!(
        b,
        b'[' | b']' | b'"' | b'\'' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
    )
}

/// A double-quoted string with libsinsp escapes. A trailing backslash is written `\ `,
/// the one spelling of a backslash the lexer accepts right before the closing quote.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let s = self.0;
        for (i, c) in s.char_indices() {
            match c {
                '\\' if i + 1 == s.len() => f.write_str("\\ ")?,
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\u{8}' => f.write_str("\\b")?,
                '\u{c}' => f.write_str("\\f")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}
