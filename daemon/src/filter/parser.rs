//! Recursive-descent parser for the condition language, following libsinsp's grammar
//! (`not` > `and` > `or`, `not(`/`and(`/`or(` glued to a parenthesis, operators matched as
//! prefixes in libsinsp's order) and its error messages, so `-V` output reads the same.
//!
//! Recursion is bounded by [`MAX_DEPTH`] guarded calls (Falco's rule loader uses 1000), so a
//! deeply nested condition is an error, never a stack overflow.

use super::ast::{Ast, Check, Expr, FieldRef, Op, Operand, Rhs, Transformer, Value};

/// Depth limit on guarded parser calls; Falco sets the same on its parser.
pub const MAX_DEPTH: u32 = 1000;

/// A syntax error at byte `offset` of the condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses a condition into a tree.
pub fn parse(condition: &str) -> Result<Ast, ParseError> {
    if condition.is_empty() {
        return Err(ParseError {
            offset: 0,
            message: "filter input string is empty".into(),
        });
    }
    let mut p = Parser {
        s: condition.as_bytes(),
        src: condition,
        pos: 0,
        depth: 0,
        last_token: String::new(),
    };
    let root = p.parse_or()?;
    if p.pos != p.s.len() {
        return Err(p.err(format!(
            "unexpected token after '{}', expecting 'or', 'and'",
            p.last_token
        )));
    }
    Ok(Ast { root })
}

/// Parses the text of one list item the way Falco reads it once substituted into a
/// condition: a quoted or bare value, or several separated by commas (`a, b, "c d"`).
/// Blanks also separate values, as Falco 0.31 read `a b` (its rules have such an item).
pub fn parse_list_items(text: &str) -> Result<Vec<Value>, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        src: text,
        pos: 0,
        depth: 0,
        last_token: String::new(),
    };
    let mut out = Vec::new();
    p.lex_blank();
    if p.pos == p.s.len() {
        return Ok(out);
    }
    loop {
        out.push(p.parse_plain_value()?);
        let blank = p.lex_blank();
        if p.pos == p.s.len() {
            return Ok(out);
        }
        if !p.lex_str(",") && !blank {
            return Err(p.err(format!("unexpected token after '{}'", p.last_token)));
        }
    }
}

const UNARY_OPS: &[(&str, Op)] = &[("exists", Op::Exists)];
const NUM_OPS: &[(&str, Op)] = &[("<=", Op::Le), ("<", Op::Lt), (">=", Op::Ge), (">", Op::Gt)];
// libsinsp wants a space after the word operators.
const STR_OPS: &[(&str, Op)] = &[
    ("==", Op::Eq),
    ("=", Op::Eq),
    ("!=", Op::Ne),
    ("glob ", Op::Glob),
    ("iglob ", Op::IGlob),
    ("contains ", Op::Contains),
    ("icontains ", Op::IContains),
    ("bcontains ", Op::BContains),
    ("startswith ", Op::StartsWith),
    ("bstartswith ", Op::BStartsWith),
    ("endswith ", Op::EndsWith),
    ("regex ", Op::Regex),
];
const LIST_OPS: &[(&str, Op)] = &[
    ("intersects", Op::Intersects),
    ("in", Op::In),
    ("pmatch", Op::Pmatch),
];
const TRANSFORMERS: &[(&str, Transformer)] = &[
    ("tolower(", Transformer::ToLower),
    ("toupper(", Transformer::ToUpper),
    ("b64(", Transformer::B64),
    ("basename(", Transformer::Basename),
];

const ALL_OPS: &str = "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', \
'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'";
const ALL_TRANSFORMERS: &str = "'val', 'tolower', 'toupper', 'b64', 'basename'";

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: u32,
    last_token: String,
}

impl Parser<'_> {
    fn err(&self, message: String) -> ParseError {
        ParseError {
            offset: self.pos,
            message,
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("exceeded max depth limit of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.enter()?;
        let r = f(self);
        self.leave();
        r
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn rest(&self) -> &[u8] {
        &self.s[self.pos..]
    }

    fn set_token(&mut self, start: usize) {
        self.last_token.clear();
        self.last_token.push_str(&self.src[start..self.pos]);
    }

    fn lex_blank(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | 0x08 | b'\r' | b'\n')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn lex_str(&mut self, tok: &str) -> bool {
        if self.rest().starts_with(tok.as_bytes()) {
            let start = self.pos;
            self.pos += tok.len();
            self.set_token(start);
            true
        } else {
            false
        }
    }

    fn lex_one_of<T: Copy>(&mut self, list: &[(&str, T)]) -> Option<T> {
        list.iter()
            .find(|(tok, _)| self.lex_str(tok))
            .map(|(_, v)| *v)
    }

    /// `not` followed by at least one space character.
    fn lex_not_blank(&mut self) -> bool {
        let r = self.rest();
        if r.starts_with(b"not") && r.get(3).is_some_and(|c| is_space(*c)) {
            let start = self.pos;
            self.pos += 3;
            while self.peek().is_some_and(is_space) {
                self.pos += 1;
            }
            self.set_token(start);
            true
        } else {
            false
        }
    }

    /// `[a-zA-Z]+[a-zA-Z0-9_]*`, returning the end offset without consuming.
    fn ident_end(&self, at: usize) -> Option<usize> {
        if !self.s.get(at).is_some_and(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let mut i = at + 1;
        while self
            .s
            .get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            i += 1;
        }
        Some(i)
    }

    fn lex_identifier(&mut self) -> bool {
        match self.ident_end(self.pos) {
            Some(end) => {
                let start = self.pos;
                self.pos = end;
                self.set_token(start);
                true
            }
            None => false,
        }
    }

    /// An identifier followed by one or more `.identifier` parts.
    fn lex_field_name(&mut self) -> bool {
        let Some(mut end) = self.ident_end(self.pos) else {
            return false;
        };
        let mut parts = 0;
        while self.s.get(end) == Some(&b'.') {
            match self.ident_end(end + 1) {
                Some(e) => {
                    end = e;
                    parts += 1;
                }
                None => break,
            }
        }
        if parts == 0 {
            return false;
        }
        let start = self.pos;
        self.pos = end;
        self.set_token(start);
        true
    }

    fn lex_while(&mut self, ok: impl Fn(u8) -> bool) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(&ok) {
            self.pos += 1;
        }
        if self.pos > start {
            // Stops on ASCII bytes only, so the slice boundary is a char boundary.
            self.set_token(start);
            true
        } else {
            false
        }
    }

    fn lex_hex_num(&mut self) -> bool {
        let r = self.rest();
        if r.len() > 2
            && r[0] == b'0'
            && (r[1] == b'x' || r[1] == b'X')
            && r[2].is_ascii_alphanumeric()
        {
            let start = self.pos;
            self.pos += 2;
            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            self.set_token(start);
            true
        } else {
            false
        }
    }

    /// `[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?`
    fn lex_num(&mut self) -> bool {
        let s = self.s;
        let mut i = self.pos;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = |mut i: usize| {
            while s.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            i
        };
        let j = digits(i);
        if j == i {
            return false;
        }
        i = j;
        if s.get(i) == Some(&b'.') {
            i = digits(i + 1);
        }
        if matches!(s.get(i), Some(b'e' | b'E')) && matches!(s.get(i + 1), Some(b'+' | b'-')) {
            let k = digits(i + 2);
            if k > i + 2 {
                i = k;
            }
        }
        let start = self.pos;
        self.pos = i;
        self.set_token(start);
        true
    }

    /// A quoted string; the closing quote is the first one not preceded by a backslash,
    /// as in libsinsp. Sets `last_token` to the unescaped text.
    fn lex_quoted_str(&mut self) -> Result<bool, ParseError> {
        let Some(delim @ (b'"' | b'\'')) = self.peek() else {
            return Ok(false);
        };
        let start = self.pos;
        let mut prev = b'\\';
        let mut i = self.pos;
        while let Some(&c) = self.s.get(i) {
            if c == delim && prev != b'\\' {
                self.pos = i + 1;
                let raw = &self.src[start..self.pos];
                let text = unescape(raw).map_err(|m| ParseError {
                    offset: self.pos,
                    message: m,
                })?;
                self.last_token = text;
                return Ok(true);
            }
            prev = c;
            i += 1;
        }
        Ok(false)
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            let pos = p.pos;
            let mut children = Vec::new();
            p.lex_blank();
            children.push(p.parse_and()?);
            p.lex_blank();
            while p.lex_str("or") {
                let child = if !p.lex_blank() {
                    if p.lex_str("(") {
                        p.parse_embedded_remainder()?
                    } else {
                        return Err(p.err("expected blank or '(' after 'or'".into()));
                    }
                } else {
                    p.parse_and()?
                };
                children.push(child);
                p.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::Or(children, pos)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            let pos = p.pos;
            let mut children = Vec::new();
            p.lex_blank();
            children.push(p.parse_not()?);
            p.lex_blank();
            while p.lex_str("and") {
                let child = if !p.lex_blank() {
                    if p.lex_str("(") {
                        p.parse_embedded_remainder()?
                    } else {
                        return Err(p.err("expected blank or '(' after 'and'".into()));
                    }
                } else {
                    p.parse_not()?
                };
                children.push(child);
                p.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::And(children, pos)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            let pos = p.pos;
            let mut negate = false;
            p.lex_blank();
            while p.lex_not_blank() {
                negate = !negate;
            }
            let child = if p.lex_str("not(") {
                negate = !negate;
                p.parse_embedded_remainder()?
            } else {
                p.parse_check()?
            };
            Ok(if negate {
                Expr::Not(Box::new(child), pos)
            } else {
                child
            })
        })
    }

    /// After a `(`: an expression and the closing `)`.
    fn parse_embedded_remainder(&mut self) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let child = p.parse_or()?;
            p.lex_blank();
            if !p.lex_str(")") {
                return Err(p.err("expected a ')' token".into()));
            }
            Ok(child)
        })
    }

    fn parse_check(&mut self) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if p.lex_str("(") {
                return p.parse_embedded_remainder();
            }
            if p.lex_field_name() {
                let name = p.last_token.clone();
                let left = Operand::Field(p.parse_field_remainder(name, pos)?);
                return p.parse_condition(left, pos);
            }
            if let Some(t) = p.lex_one_of(TRANSFORMERS) {
                p.lex_blank();
                let left = p.parse_transformer_remainder(t, pos)?;
                return p.parse_condition(left, pos);
            }
            if p.lex_identifier() {
                return Ok(Expr::Macro(p.last_token.clone(), pos));
            }
            Err(p.err("expected a '(' token, a field check, or an identifier".into()))
        })
    }

    fn parse_field_remainder(&mut self, name: String, pos: usize) -> Result<FieldRef, ParseError> {
        self.guarded(|p| {
            let mut arg = None;
            if p.lex_str("[") {
                if !(p.lex_quoted_str()? || p.lex_while(super::ast::is_field_arg_bare)) {
                    return Err(p.err(
                        "expected a valid field argument: a quoted string or a bare string".into(),
                    ));
                }
                arg = Some(p.last_token.clone());
                if !p.lex_str("]") {
                    return Err(p.err("expected a ']' token".into()));
                }
            }
            Ok(FieldRef {
                name,
                arg,
                offset: pos,
            })
        })
    }

    /// After `tolower(` and friends: a field or a nested transformer, then `)`.
    fn parse_transformer_remainder(
        &mut self,
        t: Transformer,
        pos: usize,
    ) -> Result<Operand, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let arg_pos = p.pos;
            let child = if let Some(inner) = p.lex_one_of(TRANSFORMERS) {
                p.lex_blank();
                p.parse_transformer_remainder(inner, arg_pos)?
            } else if p.lex_field_name() {
                let name = p.last_token.clone();
                Operand::Field(p.parse_field_remainder(name, arg_pos)?)
            } else {
                return Err(p.err(format!(
                    "expected a field or a nested valid transformer: {ALL_TRANSFORMERS}"
                )));
            };
            p.lex_blank();
            if !p.lex_str(")") {
                return Err(p.err("expected a ')' token closing the transformer".into()));
            }
            Ok(Operand::Transform(t, Box::new(child), pos))
        })
    }

    fn parse_condition(&mut self, lhs: Operand, pos: usize) -> Result<Expr, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            if let Some(op) = p.lex_one_of(UNARY_OPS) {
                return Ok(check(lhs, op, Rhs::None, pos));
            }
            p.lex_blank();
            let (op, rhs) = if let Some(op) = p.lex_one_of(NUM_OPS) {
                (op, p.parse_num_value_or_transformer()?)
            } else if let Some(op) = p.lex_one_of(STR_OPS) {
                (op, p.parse_str_value_or_transformer()?)
            } else if let Some(op) = p.lex_one_of(LIST_OPS) {
                (op, p.parse_list_value_or_transformer()?)
            } else {
                return Err(p.err(format!("expected a valid check operator: one of {ALL_OPS}")));
            };
            Ok(check(lhs, op, rhs, pos))
        })
    }

    fn parse_num_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if p.lex_hex_num() || p.lex_num() {
                return Ok(Rhs::Value(Value {
                    text: p.last_token.clone(),
                    quoted: false,
                    offset: pos,
                }));
            }
            Err(p.err(format!(
                "expected a number value or a field with a valid transformer: {ALL_TRANSFORMERS}"
            )))
        })
    }

    fn parse_str_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            match p.try_plain_value()? {
                Some(v) => Ok(Rhs::Value(v)),
                None => Err(p.err(format!(
                    "expected a string value or a field with a valid transformer: {ALL_TRANSFORMERS}"
                ))),
            }
        })
    }

    /// A quoted or bare string (no transformer).
    fn try_plain_value(&mut self) -> Result<Option<Value>, ParseError> {
        let pos = self.pos;
        if self.lex_quoted_str()? {
            return Ok(Some(Value {
                text: self.last_token.clone(),
                quoted: true,
                offset: pos,
            }));
        }
        if self.lex_while(super::ast::is_bare_str) {
            return Ok(Some(Value {
                text: self.last_token.clone(),
                quoted: false,
                offset: pos,
            }));
        }
        Ok(None)
    }

    fn parse_plain_value(&mut self) -> Result<Value, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            match p.try_plain_value()? {
                Some(v) => Ok(v),
                None => Err(p.err("expected a string value".into())),
            }
        })
    }

    fn parse_list_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if p.lex_str("(") {
                let mut values = Vec::new();
                p.lex_blank();
                // An empty list is allowed: a first value that fails to lex means `()`.
                let first = p.pos;
                match p.try_plain_value()? {
                    Some(v) => {
                        values.push(v);
                        p.lex_blank();
                        while p.lex_str(",") {
                            values.push(p.parse_plain_value()?);
                            p.lex_blank();
                        }
                    }
                    None => p.pos = first,
                }
                if !p.lex_str(")") {
                    return Err(p.err("expected a ')' token".into()));
                }
                return Ok(Rhs::List(values, pos));
            }
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if p.lex_identifier() {
                return Ok(Rhs::ListRef(p.last_token.clone(), pos));
            }
            Err(p.err(format!(
                "expected a list, an identifier, or a field with a valid transformer: {ALL_TRANSFORMERS}"
            )))
        })
    }

    fn try_parse_transformer_or_val(&mut self) -> Result<Option<Operand>, ParseError> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if p.lex_str("val(") {
                p.lex_blank();
                let field_pos = p.pos;
                if !p.lex_field_name() {
                    return Err(p.err("expected a field within 'val' transformer".into()));
                }
                let name = p.last_token.clone();
                let field = p.parse_field_remainder(name, field_pos)?;
                p.lex_blank();
                if !p.lex_str(")") {
                    return Err(p.err("expected a ')' token closing the transformer".into()));
                }
                return Ok(Some(Operand::Transform(
                    Transformer::Val,
                    Box::new(Operand::Field(field)),
                    pos,
                )));
            }
            if let Some(t) = p.lex_one_of(TRANSFORMERS) {
                p.lex_blank();
                return p.parse_transformer_remainder(t, pos).map(Some);
            }
            Ok(None)
        })
    }
}

fn check(lhs: Operand, op: Op, rhs: Rhs, offset: usize) -> Expr {
    Expr::Check(Box::new(Check {
        lhs,
        op,
        rhs,
        offset,
    }))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Removes the quotes of `raw` and resolves libsinsp's escapes (`\b \f \n \r \t \\ \/`, the
/// string's own quote, and `\ ` which libsinsp reads as a backslash).
fn unescape(raw: &str) -> Result<String, String> {
    let delim = raw.as_bytes()[0];
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if !escaped {
            if c == '\\' {
                escaped = true;
            } else {
                out.push(c);
            }
            continue;
        }
        escaped = false;
        match c {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            ' ' | '\\' => out.push('\\'),
            '/' => out.push('/'),
            '"' if delim == b'"' => out.push('"'),
            '"' => return Err("invalid \\\" escape in '-quoted string".into()),
            '\'' if delim == b'\'' => out.push('\''),
            '\'' => return Err("invalid \\' escape in \"-quoted string".into()),
            c => return Err(format!("unsupported string escape sequence: \\{c}")),
        }
    }
    Ok(out)
}
