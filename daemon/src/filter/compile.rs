//! Compilation of a condition tree into a [`Filter`]: fields resolved to registry ids once,
//! macros inlined, list names expanded, values parsed and checked against the field type,
//! `in` lists as hash sets, `pmatch` as a prefix tree, regexes compiled, and the set of event
//! types the filter can match computed the way libsinsp does.

use rustc_hash::FxHashSet;
use std::net::IpAddr;

use crate::event::table;
use crate::fields::registry::{self, Comparison, FieldError, FieldId, FieldType};
use crate::fields::FieldArg;

use super::ast::{Ast, Check, Expr, FieldRef, Op, Operand, Rhs, Transformer, Value};
use super::eval::{CheckNode, FieldOperand, IpNet, Node, RhsMatcher};
use super::parser::parse_list_items;
use super::pmatch::PrefixSet;

/// Macros and lists known to the loader.
pub trait Definitions {
    /// The parsed condition of macro `name`.
    fn macro_ast(&self, name: &str) -> Option<&Ast>;
    /// The items of list `name`, with list references already expanded.
    fn list_items(&self, name: &str) -> Option<&[String]>;
}

/// No macros, no lists.
pub struct NoDefinitions;

impl Definitions for NoDefinitions {
    fn macro_ast(&self, _: &str) -> Option<&Ast> {
        None
    }
    fn list_items(&self, _: &str) -> Option<&[String]> {
        None
    }
}

/// A compiled condition and the definitions it used.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub filter: Filter,
    /// Macros referenced, directly or through other macros, in first-use order.
    pub used_macros: Vec<String>,
    /// Lists expanded, directly or through macros, in first-use order.
    pub used_lists: Vec<String>,
}

/// A compiled condition, ready to match events.
#[derive(Clone, Debug)]
pub struct Filter {
    pub(crate) root: Node,
    event_types: Option<Vec<u16>>,
}

impl Filter {
    /// Event type ids this filter can match; `None` = any event type (no `evt.type`
    /// restriction).
    pub fn event_types(&self) -> Option<Vec<u16>> {
        self.event_types.clone()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The field does not exist (`skip-if-unknown-filter` applies).
    UnknownField(String),
    /// An `evt.type` comparison names no known event (`skip-if-unknown-filter` applies).
    UnknownEventType(String),
    UndefinedMacro(String),
    CircularMacro(String),
    /// A known field used with a wrong or missing argument.
    BadFieldArg,
    BadOperator,
    BadValue,
    TooDeep,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// Byte offset in the compiled condition (for errors inside a macro: of the reference to
    /// the outermost macro).
    pub offset: Option<usize>,
    pub message: String,
    pub kind: CompileErrorKind,
}

/// Bound on nested expressions after macro expansion; keeps compilation and evaluation
/// recursion far from the stack limit of any thread. One parsed condition nests at most
/// about 200 levels (the parser's bound); real rules stay under 50 with their macros.
pub const MAX_COMPILE_DEPTH: usize = 256;

/// Compiles `ast`, resolving macros and lists through `defs`.
pub fn compile(ast: &Ast, defs: &dyn Definitions) -> Result<Compiled, CompileError> {
    let mut cx = Cx {
        defs,
        macro_stack: Vec::new(),
        outer_offset: None,
        depth: 0,
        used_macros: Vec::new(),
        used_lists: Vec::new(),
    };
    let root = cx.expr(&ast.root)?;
    let universe = EvtSet::universe();
    let set = evt_set(&root, false, &universe);
    let event_types = if set == universe {
        None
    } else {
        Some(set.ids())
    };
    Ok(Compiled {
        filter: Filter { root, event_types },
        used_macros: cx.used_macros,
        used_lists: cx.used_lists,
    })
}

struct Cx<'d> {
    defs: &'d dyn Definitions,
    macro_stack: Vec<String>,
    /// Offset of the outermost macro reference being expanded.
    outer_offset: Option<usize>,
    depth: usize,
    used_macros: Vec<String>,
    used_lists: Vec<String>,
}

impl Cx<'_> {
    fn error(&self, offset: usize, kind: CompileErrorKind, message: String) -> CompileError {
        CompileError {
            offset: Some(self.outer_offset.unwrap_or(offset)),
            message,
            kind,
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<Node, CompileError> {
        self.depth += 1;
        if self.depth > MAX_COMPILE_DEPTH {
            let offset = expr_offset(e);
            return Err(self.error(
                offset,
                CompileErrorKind::TooDeep,
                format!("condition too deeply nested (more than {MAX_COMPILE_DEPTH} levels after macro expansion)"),
            ));
        }
        let r = self.expr_inner(e);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr) -> Result<Node, CompileError> {
        match e {
            Expr::And(children, _) => {
                let mut out = Vec::with_capacity(children.len());
                for c in children {
                    match self.expr(c)? {
                        Node::And(inner) => out.extend(inner),
                        n => out.push(n),
                    }
                }
                Ok(Node::And(out))
            }
            Expr::Or(children, _) => {
                let mut out = Vec::with_capacity(children.len());
                for c in children {
                    match self.expr(c)? {
                        Node::Or(inner) => out.extend(inner),
                        n => out.push(n),
                    }
                }
                Ok(Node::Or(out))
            }
            Expr::Not(inner, _) => Ok(match self.expr(inner)? {
                Node::Not(n) => *n,
                n => Node::Not(Box::new(n)),
            }),
            Expr::Macro(name, offset) => self.macro_ref(name, *offset),
            Expr::Check(c) => self.check(c),
        }
    }

    fn macro_ref(&mut self, name: &str, offset: usize) -> Result<Node, CompileError> {
        let Some(ast) = self.defs.macro_ast(name) else {
            return Err(self.error(
                offset,
                CompileErrorKind::UndefinedMacro(name.to_string()),
                format!("Undefined macro '{name}' used in filter."),
            ));
        };
        if self.macro_stack.iter().any(|m| m == name) {
            return Err(self.error(
                offset,
                CompileErrorKind::CircularMacro(name.to_string()),
                format!(
                    "Circular macro reference: {} -> {name}",
                    self.macro_stack.join(" -> ")
                ),
            ));
        }
        if !self.used_macros.iter().any(|m| m == name) {
            self.used_macros.push(name.to_string());
        }
        self.macro_stack.push(name.to_string());
        let outermost = self.outer_offset.is_none();
        if outermost {
            self.outer_offset = Some(offset);
        }
        let r = self
            .expr(&ast.root)
            .map(|n| Node::Memo(super::eval::memo_slot(name), Box::new(n)));
        if outermost {
            self.outer_offset = None;
        }
        self.macro_stack.pop();
        r
    }

    fn operand(&self, o: &Operand, rhs: bool) -> Result<FieldOperand, CompileError> {
        match o {
            Operand::Field(f) => self.field(f),
            Operand::Transform(t, inner, offset) => {
                if *t == Transformer::Val && !rhs {
                    return Err(self.error(
                        *offset,
                        CompileErrorKind::BadOperator,
                        "'val' can only be used on the right-hand side of a comparison".into(),
                    ));
                }
                let mut f = self.operand(inner, rhs)?;
                if *t == Transformer::Val {
                    return Ok(f);
                }
                let ok = match t {
                    Transformer::B64 => matches!(f.ty, FieldType::CharBuf | FieldType::ByteBuf),
                    _ => f.ty == FieldType::CharBuf,
                };
                if !ok || f.is_list {
                    return Err(self.error(
                        *offset,
                        CompileErrorKind::BadOperator,
                        format!(
                            "field type '{}' is not supported by '{}' transformer",
                            f.ty.falco_name(),
                            t.name()
                        ),
                    ));
                }
                f.transforms.push(*t);
                Ok(f)
            }
        }
    }

    fn field(&self, f: &FieldRef) -> Result<FieldOperand, CompileError> {
        let (info, arg) = registry::resolve(&f.name, f.arg.as_deref()).map_err(|e| {
            let kind = match &e {
                FieldError::Unknown(n) => CompileErrorKind::UnknownField(n.clone()),
                _ => CompileErrorKind::BadFieldArg,
            };
            self.error(f.offset, kind, e.to_string())
        })?;
        // Lists of values and "match either side" fields, as libsinsp compares them.
        let is_list = info.id == FieldId::FdTypes;
        let ne_needs_all = matches!(
            info.id,
            FieldId::FdIp | FieldId::FdPort | FieldId::FdNet | FieldId::FdProto
        );
        Ok(FieldOperand {
            id: info.id as u16,
            name: info.name,
            arg,
            ty: info.ty,
            transforms: Vec::new(),
            is_list,
            ne_needs_all,
        })
    }

    fn check(&mut self, c: &Check) -> Result<Node, CompileError> {
        let lhs = self.operand(&c.lhs, false)?;
        self.check_op_allowed(&lhs, c.op, c.offset)?;
        let evt_type = lhs.id == FieldId::EvtType as u16 && lhs.transforms.is_empty();
        let mut evt_names: Option<Vec<String>> = None;
        let rhs = match &c.rhs {
            Rhs::None => {
                if c.op != Op::Exists {
                    return Err(self.error(
                        c.offset,
                        CompileErrorKind::BadOperator,
                        format!("operator '{}' needs a value", c.op.as_str()),
                    ));
                }
                RhsMatcher::None
            }
            _ if c.op == Op::Exists => {
                return Err(self.error(
                    c.offset,
                    CompileErrorKind::BadOperator,
                    "operator 'exists' takes no value".into(),
                ))
            }
            Rhs::Operand(o) => {
                let r = self.operand(o, true)?;
                if matches!(c.op, Op::Pmatch | Op::Regex) {
                    return Err(self.error(
                        c.offset,
                        CompileErrorKind::BadOperator,
                        format!(
                            "operator '{}' doesn't support right-hand side fields",
                            c.op.as_str()
                        ),
                    ));
                }
                let (lc, rc) = (lhs.ty.comparison(), r.ty.comparison());
                if matches!(lc, Comparison::IpNet | Comparison::Dynamic)
                    || matches!(rc, Comparison::IpNet | Comparison::Dynamic)
                    || lc != rc
                {
                    return Err(self.error(
                        c.offset,
                        CompileErrorKind::BadOperator,
                        format!(
                            "field '{}' ({}) can't be compared with right-hand side field '{}' ({})",
                            lhs.name,
                            lhs.ty.falco_name(),
                            r.name,
                            r.ty.falco_name()
                        ),
                    ));
                }
                RhsMatcher::Field(Box::new(r))
            }
            Rhs::Value(v) => {
                if c.op.is_list() {
                    // Built by hand; treat as a one-item list.
                    let items = vec![v.clone()];
                    if evt_type {
                        evt_names = Some(items.iter().map(|v| v.text.clone()).collect());
                    }
                    self.list_matcher(&lhs, c.op, &items)?
                } else {
                    let v = self.substitute_scalar_list(v)?;
                    if evt_type && matches!(c.op, Op::Eq | Op::Ne) {
                        evt_names = Some(vec![v.text.clone()]);
                    }
                    self.scalar_matcher(&lhs, c.op, &v)?
                }
            }
            Rhs::List(items, _) => {
                let items = self.expand_lists(items)?;
                if evt_type {
                    evt_names = Some(items.iter().map(|v| v.text.clone()).collect());
                }
                self.list_matcher(&lhs, c.op, &items)?
            }
            Rhs::ListRef(name, offset) => {
                let item = Value {
                    text: name.clone(),
                    quoted: false,
                    offset: *offset,
                };
                let items = self.expand_lists(std::slice::from_ref(&item))?;
                if evt_type {
                    evt_names = Some(items.iter().map(|v| v.text.clone()).collect());
                }
                self.list_matcher(&lhs, c.op, &items)?
            }
        };
        let mut evt_ids = None;
        if let Some(names) = evt_names {
            if matches!(c.op, Op::Eq | Op::Ne | Op::In | Op::Intersects) {
                let mut set = EvtSet::empty();
                for n in &names {
                    let ids = table::ids_for_name(n);
                    if ids.is_empty() {
                        return Err(self.error(
                            c.offset,
                            CompileErrorKind::UnknownEventType(n.clone()),
                            format!("unknown event type {n}"),
                        ));
                    }
                    for id in ids {
                        set.insert(id);
                    }
                }
                evt_ids = Some(set);
            }
        }
        if matches!(rhs, RhsMatcher::Never) {
            // `in ()`: no value can be in an empty list.
            return Ok(Node::Const(false));
        }
        Ok(Node::Check(Box::new(CheckNode {
            lhs,
            op: c.op,
            rhs,
            evt_ids,
        })))
    }

    /// A bare single value naming a list stands for the list's items, as after Falco's textual
    /// substitution of list names (`proc.name=my_list` with `my_list: [cat]` is `proc.name=cat`).
    /// Only a one-item list gives a valid condition; Falco's parser rejects the text otherwise.
    fn substitute_scalar_list(&mut self, v: &Value) -> Result<Value, CompileError> {
        let mut items = self.expand_lists(std::slice::from_ref(v))?;
        match items.len() {
            1 => Ok(items.remove(0)),
            n => Err(self.error(
                v.offset,
                CompileErrorKind::BadValue,
                format!(
                    "list '{}' used as a single value has {n} items (a comparison takes one value; use 'in ({})')",
                    v.text, v.text
                ),
            )),
        }
    }

    /// Replaces bare items naming a list with the list's items, parsed as Falco does after
    /// substituting them into the condition text.
    fn expand_lists(&mut self, items: &[Value]) -> Result<Vec<Value>, CompileError> {
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            let list = if v.quoted {
                None
            } else {
                self.defs.list_items(&v.text)
            };
            let Some(list) = list else {
                out.push(v.clone());
                continue;
            };
            if !self.used_lists.contains(&v.text) {
                self.used_lists.push(v.text.clone());
            }
            for item in list {
                // Falco quotes an item holding a space before substituting it into the text.
                let quoted;
                let item = if item.contains(' ') && !item.starts_with(['"', '\'']) {
                    quoted = format!("\"{item}\"");
                    &quoted
                } else {
                    item
                };
                let values = parse_list_items(item).map_err(|e| {
                    self.error(
                        v.offset,
                        CompileErrorKind::BadValue,
                        format!("bad item {item:?} in list '{}': {}", v.text, e.message),
                    )
                })?;
                out.extend(values.into_iter().map(|mut x| {
                    x.offset = v.offset;
                    x
                }));
            }
        }
        Ok(out)
    }

    fn check_op_allowed(
        &self,
        lhs: &FieldOperand,
        op: Op,
        offset: usize,
    ) -> Result<(), CompileError> {
        if op == Op::Exists {
            return Ok(());
        }
        let (ok, what) = if lhs.is_list {
            (matches!(op, Op::In | Op::Intersects), "list")
        } else {
            match lhs.ty.comparison() {
                Comparison::Numeric => (
                    matches!(
                        op,
                        Op::Eq
                            | Op::Ne
                            | Op::Lt
                            | Op::Le
                            | Op::Gt
                            | Op::Ge
                            | Op::In
                            | Op::Intersects
                    ),
                    "numeric",
                ),
                Comparison::Bool => (
                    matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects),
                    "numeric",
                ),
                Comparison::String => (!matches!(op, Op::BContains | Op::BStartsWith), "string"),
                Comparison::Bytes => (
                    matches!(
                        op,
                        Op::Eq
                            | Op::Ne
                            | Op::Contains
                            | Op::In
                            | Op::StartsWith
                            | Op::EndsWith
                            | Op::Intersects
                            | Op::BContains
                            | Op::BStartsWith
                    ),
                    "buffer",
                ),
                Comparison::Ip | Comparison::IpNet => (
                    matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects),
                    "ip address and network",
                ),
                Comparison::Dynamic => (!matches!(op, Op::BContains | Op::BStartsWith), "dynamic"),
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.error(
                offset,
                CompileErrorKind::BadOperator,
                format!(
                    "'{}' operator not supported for {what} filters (field '{}')",
                    op.as_str(),
                    lhs.name
                ),
            ))
        }
    }

    fn bad_value(&self, v: &Value, lhs: &FieldOperand, why: &str) -> CompileError {
        self.error(
            v.offset,
            CompileErrorKind::BadValue,
            format!(
                "invalid value '{}' for field '{}' of type {}: {why}",
                v.text,
                lhs.name,
                lhs.ty.falco_name()
            ),
        )
    }

    fn scalar_matcher(
        &self,
        lhs: &FieldOperand,
        op: Op,
        v: &Value,
    ) -> Result<RhsMatcher, CompileError> {
        let text = v.text.as_bytes();
        Ok(match lhs.ty.comparison() {
            Comparison::Numeric => {
                if lhs.ty == FieldType::Double {
                    RhsMatcher::Float(
                        parse_float(&v.text)
                            .ok_or_else(|| self.bad_value(v, lhs, "not a number"))?,
                    )
                } else {
                    RhsMatcher::Num(
                        parse_int(&v.text, lhs.ty).map_err(|w| self.bad_value(v, lhs, w))?,
                    )
                }
            }
            Comparison::Bool => RhsMatcher::Bool(
                parse_bool(&v.text)
                    .ok_or_else(|| self.bad_value(v, lhs, "expected 'true' or 'false'"))?,
            ),
            Comparison::Ip => RhsMatcher::Ip(
                parse_ip(&v.text).ok_or_else(|| self.bad_value(v, lhs, "not an IP address"))?,
            ),
            Comparison::IpNet => RhsMatcher::Net(
                IpNet::parse(&v.text).ok_or_else(|| self.bad_value(v, lhs, "not an IP network"))?,
            ),
            Comparison::Dynamic => RhsMatcher::Dyn {
                text: text.into(),
                num: parse_int(&v.text, FieldType::Int64).ok(),
            },
            Comparison::String | Comparison::Bytes => match op {
                Op::Contains => {
                    RhsMatcher::Contains(memchr::memmem::Finder::new(text).into_owned())
                }
                Op::BContains => {
                    let bytes = hex_bytes(&v.text)
                        .ok_or_else(|| self.bad_value(v, lhs, "bcontains needs a hex string"))?;
                    RhsMatcher::Contains(memchr::memmem::Finder::new(&bytes).into_owned())
                }
                Op::BStartsWith => RhsMatcher::Bytes(
                    hex_bytes(&v.text)
                        .ok_or_else(|| self.bad_value(v, lhs, "bstartswith needs a hex string"))?
                        .into(),
                ),
                Op::IContains => {
                    let lower = text.to_ascii_lowercase();
                    RhsMatcher::IContains(memchr::memmem::Finder::new(&lower).into_owned())
                }
                Op::Glob | Op::IGlob => RhsMatcher::Bytes(text.into()),
                Op::Regex => {
                    let re = regex::bytes::RegexBuilder::new(&format!("^(?:{})$", v.text))
                        .size_limit(1 << 22)
                        .build()
                        .map_err(|e| self.bad_value(v, lhs, &format!("invalid regex: {e}")))?;
                    RhsMatcher::Regex(Box::new(re))
                }
                _ => RhsMatcher::Bytes(text.into()),
            },
        })
    }

    fn list_matcher(
        &self,
        lhs: &FieldOperand,
        op: Op,
        items: &[Value],
    ) -> Result<RhsMatcher, CompileError> {
        if items.is_empty() {
            return Ok(RhsMatcher::Never);
        }
        if op == Op::Pmatch {
            if !matches!(
                lhs.ty.comparison(),
                Comparison::String | Comparison::Dynamic
            ) {
                return Err(self.error(
                    items[0].offset,
                    CompileErrorKind::BadOperator,
                    format!(
                        "'pmatch' operator not supported for field '{}' of type {}",
                        lhs.name,
                        lhs.ty.falco_name()
                    ),
                ));
            }
            let mut set = PrefixSet::new();
            for v in items {
                set.insert(v.text.as_bytes());
            }
            return Ok(RhsMatcher::Pmatch(Box::new(set)));
        }
        Ok(match lhs.ty.comparison() {
            Comparison::Numeric if lhs.ty == FieldType::Double => {
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    out.push(
                        parse_float(&v.text)
                            .ok_or_else(|| self.bad_value(v, lhs, "not a number"))?,
                    );
                }
                RhsMatcher::FloatSet(out)
            }
            Comparison::Numeric => {
                let mut out = FxHashSet::with_capacity_and_hasher(items.len(), Default::default());
                for v in items {
                    out.insert(parse_int(&v.text, lhs.ty).map_err(|w| self.bad_value(v, lhs, w))?);
                }
                RhsMatcher::NumSet(out)
            }
            Comparison::Bool => {
                let mut out = [false; 2];
                for v in items {
                    let b = parse_bool(&v.text)
                        .ok_or_else(|| self.bad_value(v, lhs, "expected 'true' or 'false'"))?;
                    out[b as usize] = true;
                }
                RhsMatcher::BoolSet(out)
            }
            Comparison::Ip => {
                let mut out = FxHashSet::with_capacity_and_hasher(items.len(), Default::default());
                for v in items {
                    out.insert(
                        parse_ip(&v.text)
                            .ok_or_else(|| self.bad_value(v, lhs, "not an IP address"))?,
                    );
                }
                RhsMatcher::IpSet(out)
            }
            Comparison::IpNet => {
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    out.push(
                        IpNet::parse(&v.text)
                            .ok_or_else(|| self.bad_value(v, lhs, "not an IP network"))?,
                    );
                }
                RhsMatcher::NetList(out)
            }
            Comparison::Dynamic => {
                let strs = items.iter().map(|v| v.text.as_bytes().into()).collect();
                let nums = items
                    .iter()
                    .filter_map(|v| parse_int(&v.text, FieldType::Int64).ok())
                    .collect();
                RhsMatcher::DynSet { strs, nums }
            }
            Comparison::String | Comparison::Bytes => {
                RhsMatcher::StrSet(items.iter().map(|v| v.text.as_bytes().into()).collect())
            }
        })
    }
}

fn expr_offset(e: &Expr) -> usize {
    match e {
        Expr::And(_, o) | Expr::Or(_, o) | Expr::Not(_, o) | Expr::Macro(_, o) => *o,
        Expr::Check(c) => c.offset,
    }
}

/// Decimal (optionally signed) or `0x` hexadecimal, within the range of `ty`.
pub(crate) fn parse_int(text: &str, ty: FieldType) -> Result<i128, &'static str> {
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).map_err(|_| "not a number")?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<u64>().map_err(|_| "number out of range")?
    } else {
        return Err("not a number");
    };
    let v = if neg {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    let (lo, hi): (i128, i128) = match ty {
        FieldType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        FieldType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        FieldType::Int64 => (i64::MIN.into(), i64::MAX.into()),
        FieldType::UInt32 => (i32::MIN.into(), u32::MAX.into()),
        FieldType::Port => (0, u16::MAX.into()),
        // Unsigned 64-bit fields: libsinsp's parser wraps negative input, keep it comparable.
        _ => (i64::MIN.into(), u64::MAX.into()),
    };
    if v < lo || v > hi {
        return Err("number out of range");
    }
    Ok(v)
}

fn parse_float(text: &str) -> Option<f64> {
    let v: f64 = text.parse().ok()?;
    v.is_finite().then_some(v)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// A set of event type ids.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct EvtSet {
    bits: Vec<u64>,
}

impl EvtSet {
    fn empty() -> Self {
        EvtSet {
            bits: vec![0; table::EVENT_TYPE_COUNT.div_ceil(64)],
        }
    }

    /// Every event type in use.
    fn universe() -> Self {
        let mut s = Self::empty();
        for id in 0..table::EVENT_TYPE_COUNT as u16 {
            if table::info(id).is_some_and(|i| !i.has_flag(table::flags::UNUSED)) {
                s.insert(id);
            }
        }
        s
    }

    fn insert(&mut self, id: u16) {
        if let Some(w) = self.bits.get_mut(id as usize / 64) {
            *w |= 1 << (id % 64);
        }
    }

    fn ids(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for (i, w) in self.bits.iter().enumerate() {
            for b in 0..64 {
                if w & (1 << b) != 0 {
                    out.push((i * 64 + b) as u16);
                }
            }
        }
        out
    }

    fn and(&self, o: &Self) -> Self {
        EvtSet {
            bits: self.bits.iter().zip(&o.bits).map(|(a, b)| a & b).collect(),
        }
    }

    fn or(&self, o: &Self) -> Self {
        EvtSet {
            bits: self.bits.iter().zip(&o.bits).map(|(a, b)| a | b).collect(),
        }
    }

    fn minus(&self, o: &Self) -> Self {
        EvtSet {
            bits: self.bits.iter().zip(&o.bits).map(|(a, b)| a & !b).collect(),
        }
    }
}

/// The event types `node` can match, libsinsp's way: negation is pushed down to the leaves
/// (De Morgan), `evt.type` comparisons give their ids (or the complement), every other check
/// gives all types.
fn evt_set(node: &Node, negated: bool, universe: &EvtSet) -> EvtSet {
    match node {
        Node::And(v) | Node::Or(v) => {
            let intersect = matches!(node, Node::And(_)) != negated;
            let mut acc: Option<EvtSet> = None;
            for c in v {
                let s = evt_set(c, negated, universe);
                acc = Some(match acc {
                    None => s,
                    Some(a) if intersect => a.and(&s),
                    Some(a) => a.or(&s),
                });
            }
            acc.unwrap_or_else(|| universe.clone())
        }
        Node::Not(n) => evt_set(n, !negated, universe),
        Node::Memo(_, n) => evt_set(n, negated, universe),
        Node::Const(_) => universe.clone(),
        Node::Check(c) => match &c.evt_ids {
            None => universe.clone(),
            Some(ids) => {
                let positive = c.op != Op::Ne;
                if positive != negated {
                    ids.and(universe)
                } else {
                    universe.minus(ids)
                }
            }
        },
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Filter>();
    let _ = FieldArg::None;
}
