//! Tests of the condition language end to end: parse, compile, match on a fake extractor.

use std::collections::HashMap;

use super::*;
use crate::event::table;
use crate::fields::registry::{self, FieldId};
use crate::fields::{Extractor, FieldArg, Values};

/// A test extractor: field id (+arg) → values.
#[derive(Default)]
pub(super) struct FakeEvent {
    pub evt_type: u16,
    pub fields: HashMap<(u16, FieldArg), Vec<Val>>,
}

#[derive(Clone, Debug)]
pub(super) enum Val {
    S(&'static str),
    B(Vec<u8>),
    I(i64),
    U(u64),
    T(bool),
    Ip(&'static str),
}

impl FakeEvent {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` (a field reference as written, e.g. `proc.aname[2]`) to `vals`.
    pub fn set(mut self, name: &str, vals: &[Val]) -> Self {
        let (n, arg) = match name.find('[') {
            Some(i) => (&name[..i], Some(&name[i + 1..name.len() - 1])),
            None => (name, None),
        };
        let (info, arg) = registry::resolve(n, arg).expect("known field");
        self.fields.insert((info.id as u16, arg), vals.to_vec());
        self
    }

    pub fn of_type(mut self, name: &str) -> Self {
        self.evt_type = table::ids_for_name(name)[0];
        let evt_name = table::name_of(self.evt_type);
        self.set("evt.type", &[Val::S(evt_name)])
    }
}

impl Extractor for FakeEvent {
    fn event_type(&self) -> u16 {
        self.evt_type
    }

    fn extract(&mut self, id: u16, arg: &FieldArg, out: &mut Values) {
        if let Some(vals) = self.fields.get(&(id, arg.clone())) {
            for v in vals {
                match v {
                    Val::S(s) => out.push_str(s.as_bytes()),
                    Val::B(b) => out.push_str(b),
                    Val::I(i) => out.push_int(*i),
                    Val::U(u) => out.push_uint(*u),
                    Val::T(b) => out.push_bool(*b),
                    Val::Ip(s) => out.push_ip(s.parse().expect("ip")),
                }
            }
        }
    }
}

/// Macros and lists for tests.
#[derive(Default)]
pub(super) struct Defs {
    pub macros: HashMap<String, Ast>,
    pub lists: HashMap<String, Vec<String>>,
}

impl Defs {
    pub fn macro_(mut self, name: &str, cond: &str) -> Self {
        self.macros
            .insert(name.into(), parse(cond).expect("macro parses"));
        self
    }
    pub fn list(mut self, name: &str, items: &[&str]) -> Self {
        self.lists
            .insert(name.into(), items.iter().map(|s| s.to_string()).collect());
        self
    }
}

impl Definitions for Defs {
    fn macro_ast(&self, name: &str) -> Option<&Ast> {
        self.macros.get(name)
    }
    fn list_items(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(|v| v.as_slice())
    }
}

pub(super) fn filter(cond: &str) -> Filter {
    filter_with(cond, &Defs::default())
}

pub(super) fn filter_with(cond: &str, defs: &Defs) -> Filter {
    let ast = parse(cond).unwrap_or_else(|e| panic!("parse {cond:?}: {e:?}"));
    compile(&ast, defs)
        .unwrap_or_else(|e| panic!("compile {cond:?}: {e:?}"))
        .filter
}

pub(super) fn compile_err(cond: &str, defs: &Defs) -> CompileError {
    let ast = parse(cond).unwrap_or_else(|e| panic!("parse {cond:?}: {e:?}"));
    match compile(&ast, defs) {
        Ok(_) => panic!("{cond:?} compiled"),
        Err(e) => e,
    }
}

fn m(cond: &str, ev: &mut FakeEvent) -> bool {
    filter(cond).matches(ev)
}

fn strip(mut e: Expr) -> Expr {
    fn operand(o: &mut Operand) {
        match o {
            Operand::Field(f) => f.offset = 0,
            Operand::Transform(_, inner, off) => {
                *off = 0;
                operand(inner);
            }
        }
    }
    match &mut e {
        Expr::And(v, o) | Expr::Or(v, o) => {
            *o = 0;
            let taken = std::mem::take(v);
            *v = taken.into_iter().map(strip).collect();
        }
        Expr::Not(inner, o) => {
            *o = 0;
            let taken = std::mem::replace(inner.as_mut(), Expr::Macro(String::new(), 0));
            **inner = strip(taken);
        }
        Expr::Macro(_, o) => *o = 0,
        Expr::Check(c) => {
            c.offset = 0;
            operand(&mut c.lhs);
            match &mut c.rhs {
                Rhs::Value(v) => v.offset = 0,
                Rhs::List(items, o) => {
                    *o = 0;
                    for v in items {
                        v.offset = 0;
                    }
                }
                Rhs::ListRef(_, o) => *o = 0,
                Rhs::Operand(op) => operand(op),
                Rhs::None => {}
            }
        }
    }
    e
}

#[test]
fn precedence_not_and_or() {
    let ast = parse("a or b and not c").unwrap();
    match &ast.root {
        Expr::Or(v, _) => {
            assert!(matches!(&v[0], Expr::Macro(n, 0) if n == "a"));
            match &v[1] {
                Expr::And(w, _) => {
                    assert!(matches!(&w[0], Expr::Macro(n, _) if n == "b"));
                    assert!(
                        matches!(&w[1], Expr::Not(inner, _) if matches!(**inner, Expr::Macro(ref n, _) if n == "c"))
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // Parentheses override.
    let ast = parse("(a or b) and c").unwrap();
    assert!(matches!(&ast.root, Expr::And(v, _) if matches!(v[0], Expr::Or(..))));
    // `not not x` cancels; `not(` glued.
    assert!(matches!(parse("not not a").unwrap().root, Expr::Macro(..)));
    assert!(matches!(parse("not(a)").unwrap().root, Expr::Not(..)));
    assert!(matches!(
        parse("a and(b or c)").unwrap().root,
        Expr::And(..)
    ));
}

#[test]
fn parses_checks_values_and_offsets() {
    let ast = parse("proc.name = cat and fd.name startswith '/etc/' and evt.dir=<").unwrap();
    let Expr::And(v, _) = &ast.root else { panic!() };
    let Expr::Check(c) = &v[0] else { panic!() };
    assert_eq!(c.offset, 0);
    assert_eq!(c.op, Op::Eq);
    assert!(
        matches!(&c.rhs, Rhs::Value(Value { text, quoted: false, offset: 12 }) if text == "cat")
    );
    let Expr::Check(c) = &v[1] else { panic!() };
    assert_eq!(c.offset, 20);
    assert_eq!(c.op, Op::StartsWith);
    assert!(matches!(&c.rhs, Rhs::Value(Value { text, quoted: true, .. }) if text == "/etc/"));
    let Expr::Check(c) = &v[2] else { panic!() };
    assert!(matches!(&c.rhs, Rhs::Value(Value { text, .. }) if text == "<"));

    let ast = parse(r#"proc.aname[2] in (sh, "ba sh", 'z\'q') and container.mount.dest[/var/run/docker.sock] exists"#).unwrap();
    let Expr::And(v, _) = &ast.root else { panic!() };
    let Expr::Check(c) = &v[0] else { panic!() };
    assert!(
        matches!(&c.lhs, Operand::Field(FieldRef { name, arg: Some(a), .. }) if name == "proc.aname" && a == "2")
    );
    let Rhs::List(items, _) = &c.rhs else {
        panic!()
    };
    let texts: Vec<&str> = items.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts, ["sh", "ba sh", "z'q"]);
    let Expr::Check(c) = &v[1] else { panic!() };
    assert_eq!(c.op, Op::Exists);
    assert!(
        matches!(&c.lhs, Operand::Field(FieldRef { arg: Some(a), .. }) if a == "/var/run/docker.sock")
    );
}

#[test]
fn parses_transformers_and_numbers() {
    let ast = parse(
        "tolower(basename(proc.exe)) = val(proc.name) and fd.num >= 0x10 and evt.rawres < -1",
    )
    .unwrap();
    let Expr::And(v, _) = &ast.root else { panic!() };
    let Expr::Check(c) = &v[0] else { panic!() };
    assert!(
        matches!(&c.lhs, Operand::Transform(Transformer::ToLower, inner, _) if matches!(**inner, Operand::Transform(Transformer::Basename, ..)))
    );
    assert!(matches!(
        &c.rhs,
        Rhs::Operand(Operand::Transform(Transformer::Val, ..))
    ));
    let Expr::Check(c) = &v[1] else { panic!() };
    assert!(matches!(&c.rhs, Rhs::Value(Value { text, .. }) if text == "0x10"));
    let Expr::Check(c) = &v[2] else { panic!() };
    assert!(matches!(&c.rhs, Rhs::Value(Value { text, .. }) if text == "-1"));
}

#[test]
fn parse_errors_name_the_place() {
    let e = parse("evt.type=execve foo").unwrap_err();
    assert_eq!(
        e.message,
        "unexpected token after 'execve', expecting 'or', 'and'"
    );
    assert_eq!(e.offset, 16);
    let e = parse("(proc.name=a").unwrap_err();
    assert_eq!(e.message, "expected a ')' token");
    assert_eq!(e.offset, 12);
    let e = parse("proc.name bogus x").unwrap_err();
    assert!(
        e.message.starts_with("expected a valid check operator"),
        "{e:?}"
    );
    assert_eq!(e.offset, 10);
    assert!(parse("").is_err());
    assert!(parse("proc.name in (a, b").is_err());
    assert!(parse("proc.name = 'abc").is_err());
    assert!(parse("proc.name = \"a\\qb\"")
        .unwrap_err()
        .message
        .contains("escape"));
    assert!(parse("a andb").is_err());
    assert!(parse("proc.name[x = 1").is_err());
    assert!(parse("tolower(proc.name = 1").is_err());
    assert!(parse("fd.num > abc").is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}proc.name=a{}", "(".repeat(100_000), ")".repeat(100_000));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("max depth"), "{e:?}");
    let nots = "not ".repeat(100_000) + "a";
    assert!(parse(&nots).is_ok());
    let ok = format!("{}proc.name=a{}", "(".repeat(150), ")".repeat(150));
    assert!(parse(&ok).is_ok());
    let long_or = vec!["proc.name=a"; 50_000].join(" or ");
    let f = filter(&long_or);
    assert!(f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("a")])));
}

#[test]
fn round_trip_fixed_cases() {
    for cond in [
        "a or b and not c",
        "proc.name in (a, \"b c\", 'd') and not fd.name pmatch (/etc, /usr/lib)",
        "tolower(proc.name) = val(proc.pname) or b64(evt.buffer) bcontains 414243",
        r#"proc.cmdline contains "a\"b\\c" and proc.args = "" and fd.name = "x\ ""#,
        "evt.type in () and fd.num >= 0x10 and evt.rawres < -1.5e+3",
        "container.mount.dest[/var/run/docker.sock] exists and proc.aname[2] = sh",
        "proc.env[\"A B\"] = x and not (a or (b and c))",
        "proc.name in shell_binaries",
    ] {
        let a = parse(cond).unwrap();
        let printed = a.to_string();
        let b = parse(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e:?}"));
        assert_eq!(
            strip(a.root.clone()),
            strip(b.root.clone()),
            "{cond} -> {printed}"
        );
        assert_eq!(printed, b.to_string());
    }
}

#[test]
fn matches_strings() {
    let mut ev = FakeEvent::new()
        .set("proc.name", &[Val::S("bash")])
        .set("fd.name", &[Val::S("/etc/Shadow")]);
    assert!(m("proc.name = bash", &mut ev));
    assert!(m("proc.name == bash", &mut ev));
    assert!(!m("proc.name != bash", &mut ev));
    assert!(m("proc.name != sh", &mut ev));
    assert!(m("fd.name contains Sha", &mut ev));
    assert!(!m("fd.name contains sha", &mut ev));
    assert!(m("fd.name icontains SHA", &mut ev));
    assert!(m("fd.name startswith /etc", &mut ev));
    assert!(m("fd.name endswith dow", &mut ev));
    assert!(m("fd.name glob '/etc/*'", &mut ev));
    assert!(!m("fd.name glob '/etc/s*'", &mut ev));
    assert!(m("fd.name iglob '/ETC/s*'", &mut ev));
    assert!(m("fd.name regex '/etc/[A-Z].*'", &mut ev));
    assert!(!m("fd.name regex 'etc'", &mut ev));
    assert!(m("proc.name in (sh, bash)", &mut ev));
    assert!(m("proc.name intersects (sh, bash)", &mut ev));
    assert!(!m("proc.name in (sh, zsh)", &mut ev));
    assert!(m("fd.name pmatch (/etc, /usr)", &mut ev));
    assert!(!m("fd.name pmatch (/et, /usr)", &mut ev));
    let mut num = FakeEvent::new().set("proc.name", &[Val::S("5")]);
    assert!(m(
        "proc.name < 6 and proc.name > 4 and proc.name <= 5 and proc.name >= 5",
        &mut num
    ));
    assert!(!m("proc.name < 10", &mut num), "string order: '5' > '10'");
    assert!(m("proc.name exists", &mut ev));
    assert!(!m("proc.cwd exists", &mut ev));
    assert!(
        !m("proc.cwd != x", &mut ev),
        "a missing value matches nothing"
    );
    assert!(m("not proc.cwd = x", &mut ev));
}

#[test]
fn macros_and_lists() {
    let defs = Defs::default()
        .macro_(
            "open_read",
            "evt.type in (open, openat) and fd.name startswith /etc",
        )
        .macro_("outer", "open_read and proc.name in (shells)")
        .list("shells", &["sh", "bash"])
        .list("more_shells", &["zsh", "shells"])
        .list("quoted", &["\"75-system-updat\"", "'a b'"]);
    let ast = parse("outer and not proc.name in (more_shells, fish)").unwrap();
    let c = compile(&ast, &defs).unwrap();
    assert_eq!(c.used_macros, ["outer", "open_read"]);
    assert_eq!(c.used_lists, ["shells", "more_shells"]);
    let mut ev = FakeEvent::new()
        .of_type("open")
        .set("fd.name", &[Val::S("/etc/passwd")])
        .set("proc.name", &[Val::S("bash")]);
    // List items come expanded from the loader: the item "shells" of more_shells is a value.
    assert!(c.filter.matches(&mut ev));
    ev = ev.set("proc.name", &[Val::S("zsh")]);
    assert!(!c.filter.matches(&mut ev), "zsh is not in shells");
    let f = filter_with("proc.name in (quoted)", &defs);
    assert!(f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("75-system-updat")])));
    assert!(f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("a b")])));
    // A quoted item naming a list is a plain value.
    let f = filter_with("proc.name in (\"shells\")", &defs);
    assert!(f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("shells")])));
    assert!(!f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("sh")])));
    // A list name after a list operator.
    let f = filter_with("proc.name in shells", &defs);
    assert!(f.matches(&mut FakeEvent::new().set("proc.name", &[Val::S("sh")])));
}

#[test]
fn macro_errors() {
    let defs = Defs::default()
        .macro_("a", "b and proc.name=x")
        .macro_("b", "c")
        .macro_("c", "a")
        .macro_("bad", "proc.nobody = 1");
    let e = compile_err("proc.name=x and nope", &defs);
    assert_eq!(e.kind, CompileErrorKind::UndefinedMacro("nope".into()));
    assert_eq!(e.message, "Undefined macro 'nope' used in filter.");
    assert_eq!(e.offset, Some(16));
    let e = compile_err("proc.pid=1 or a", &defs);
    assert!(
        matches!(e.kind, CompileErrorKind::CircularMacro(_)),
        "{e:?}"
    );
    assert_eq!(e.offset, Some(14));
    let e = compile_err("proc.pid=1 or bad", &defs);
    assert_eq!(e.kind, CompileErrorKind::UnknownField("proc.nobody".into()));
    assert_eq!(
        e.message,
        "filter_check called with nonexistent field proc.nobody"
    );
}

#[test]
fn event_types_follow_libsinsp() {
    let ids = |n: &str| {
        let mut v = table::ids_for_name(n);
        v.sort();
        v
    };
    let et = |c: &str| filter(c).event_types();
    assert_eq!(et("proc.name=bash"), None);
    assert_eq!(et("evt.type=open"), Some(ids("open")));
    let mut both = ids("open");
    both.extend(ids("execve"));
    both.sort();
    assert_eq!(et("evt.type in (open, execve)"), Some(both.clone()));
    assert_eq!(et("evt.type=open or evt.type=execve"), Some(both.clone()));
    assert_eq!(et("evt.type=open and proc.name=x"), Some(ids("open")));
    assert_eq!(et("evt.type=open and not proc.name=x"), Some(ids("open")));
    assert_eq!(et("evt.type=open or proc.name=x"), None);
    assert_eq!(et("evt.type=open and evt.type=execve"), Some(vec![]));
    let ne = et("evt.type!=open").expect("restricted");
    assert!(!ne.iter().any(|i| ids("open").contains(i)));
    assert!(ne.contains(&ids("execve")[0]));
    assert_eq!(et("not evt.type!=open"), Some(ids("open")));
    assert_eq!(et("not (evt.type!=open or proc.name=x)"), Some(ids("open")));
    assert_eq!(
        et("not evt.type in (open, execve)"),
        et("evt.type!=open and evt.type!=execve")
    );
    let e = compile_err("evt.type=some_invalid_event", &Defs::default());
    assert_eq!(
        e.kind,
        CompileErrorKind::UnknownEventType("some_invalid_event".into())
    );
    assert_eq!(e.message, "unknown event type some_invalid_event");
}

#[test]
fn unknown_field_errors() {
    let e = compile_err("proc.nobody = x", &Defs::default());
    assert_eq!(e.kind, CompileErrorKind::UnknownField("proc.nobody".into()));
    assert_eq!(e.offset, Some(0));
    let e = compile_err("proc.name = x and proc.name[1] = y", &Defs::default());
    assert_eq!(e.kind, CompileErrorKind::BadFieldArg);
    assert_eq!(e.offset, Some(18));
}

#[test]
fn field_ids_are_registry_ids() {
    let f = filter("proc.name = x");
    let Some(id) = first_field(&f) else { panic!() };
    assert_eq!(id, FieldId::ProcName as u16);
}

fn first_field(f: &Filter) -> Option<u16> {
    match &f.root {
        eval::Node::Check(c) => Some(c.lhs.id),
        _ => None,
    }
}

#[test]
fn matches_typed_fields() {
    let mut ev = FakeEvent::new()
        .set("fd.num", &[Val::I(3)])
        .set("evt.rawres", &[Val::I(-2)])
        .set("proc.tty", &[Val::U(34816)])
        .set("container.privileged", &[Val::T(true)])
        .set("fd.sip", &[Val::Ip("10.1.2.3")])
        .set("fd.ip", &[Val::Ip("192.168.0.1"), Val::Ip("10.1.2.3")])
        .set("fd.snet", &[Val::Ip("10.1.2.3")])
        .set("fd.sport", &[Val::U(443)])
        .set("evt.buffer", &[Val::B(vec![0xca, 0xfe, 0xba, 0xbe, 0, 1])])
        .set("fd.types", &[Val::S("file"), Val::S("ipv4")]);
    for (cond, want) in [
        ("fd.num >= 0", true),
        ("fd.num > 3", false),
        ("fd.num = 3", true),
        ("fd.num != 3", false),
        ("fd.num < 0x4", true),
        ("fd.num <= 2", false),
        ("fd.num in (1, 2, 3)", true),
        ("fd.num intersects (4, 5)", false),
        ("evt.rawres < 0", true),
        ("evt.rawres = -2", true),
        ("proc.tty != 0", true),
        ("container.privileged = true", true),
        ("container.privileged != true", false),
        ("container.privileged in (false)", false),
        ("fd.sip = 10.1.2.3", true),
        ("fd.sip != 10.1.2.3", false),
        ("fd.sip in (1.1.1.1, 10.1.2.3)", true),
        ("fd.ip = 10.1.2.3", true),
        ("fd.ip != 10.1.2.3", false),
        ("fd.ip != 8.8.8.8", true),
        ("fd.snet = 10.0.0.0/8", true),
        ("fd.snet != 10.0.0.0/8", false),
        ("fd.snet in (\"192.168.0.0/16\", \"10.0.0.0/8\")", true),
        ("fd.sport = 443", true),
        ("fd.sport in (80, 443)", true),
        ("evt.buffer bcontains cafebabe", true),
        ("evt.buffer bcontains CAFEBABF", false),
        ("evt.buffer bstartswith cafe", true),
        ("evt.buffer exists", true),
        ("fd.types in (file, ipv4, ipv6)", true),
        ("fd.types in (file)", false),
        ("fd.types intersects (ipv4)", true),
        ("fd.types intersects (unix)", false),
    ] {
        assert_eq!(m(cond, &mut ev), want, "{cond}");
    }
}
