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
    /// Looked up by scanning: no key to build (and allocate) per extraction.
    pub fields: Vec<((u16, FieldArg), Vec<Val>)>,
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
        let key = (info.id as u16, arg);
        self.fields.retain(|(k, _)| *k != key);
        self.fields.push((key, vals.to_vec()));
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
        if let Some((_, vals)) = self.fields.iter().find(|((i, a), _)| *i == id && a == arg) {
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
fn list_name_as_single_value_is_substituted() {
    let defs = Defs::default()
        .list("cat_binaries", &["cat"])
        .list("spaced", &["cat /dev/null"])
        .list("opens", &["open"])
        .list("shells", &["sh", "bash"])
        .list("empty", &[]);
    let cat = || FakeEvent::new().set("proc.name", &[Val::S("cat")]);
    for cond in [
        "proc.name=cat_binaries",
        "proc.name= cat_binaries",
        "proc.name = cat_binaries",
    ] {
        let c = compile(&parse(cond).unwrap(), &defs).unwrap();
        assert!(c.filter.matches(&mut cat()), "{cond}");
        assert_eq!(c.used_lists, ["cat_binaries"], "{cond}");
    }
    assert!(!filter_with("proc.name=\"cat_binaries\"", &defs).matches(&mut cat()));
    assert!(!filter_with("proc.name!=cat_binaries", &defs).matches(&mut cat()));
    assert!(filter_with("proc.name startswith cat_binaries", &defs).matches(&mut cat()));
    // An item holding a space is one value, as Falco quotes it when substituting.
    let f = filter_with("proc.cmdline=spaced", &defs);
    assert!(f.matches(&mut FakeEvent::new().set("proc.cmdline", &[Val::S("cat /dev/null")])));
    let f = filter_with("proc.cmdline in (spaced)", &defs);
    assert!(f.matches(&mut FakeEvent::new().set("proc.cmdline", &[Val::S("cat /dev/null")])));
    // The substituted value also selects the event types.
    let f = filter_with("evt.type=opens", &defs);
    let mut open_ids = table::ids_for_name("open").to_vec();
    open_ids.sort_unstable();
    let mut got = f.event_types().expect("restricted to open");
    got.sort_unstable();
    assert_eq!(got, open_ids);
    // Zero or several items do not make one value.
    for (cond, n) in [("proc.name=shells", 2), ("proc.name=empty", 0)] {
        let e = compile_err(cond, &defs);
        assert_eq!(e.kind, CompileErrorKind::BadValue, "{cond}");
        assert!(
            e.message.contains(&format!("has {n} items")),
            "{}",
            e.message
        );
        assert_eq!(e.offset, Some(10), "{cond}");
    }
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

mod properties {
    use super::*;
    use proptest::prelude::*;

    const FIELDS: &[&str] = &[
        "proc.name",
        "fd.name",
        "evt.type",
        "proc.aname[2]",
        "evt.arg.flags",
        "evt.arg[0]",
        "container.mount.dest[/var/run/docker.sock]",
        "fd.num",
        "fd.sip",
        "fd.snet",
        "evt.buffer",
        "container.privileged",
        "proc.env[\"A B\"]",
    ];

    fn value_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z/._*-]{1,8}",
            "[ -~]{0,8}",
            Just("\\".to_string()),
            Just("a\\".to_string()),
            Just("\"'".to_string()),
            "\\PC{0,4}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        (value_text(), any::<bool>()).prop_map(|(text, quoted)| {
            let printable_bare = !text.is_empty() && text.bytes().all(ast::is_bare_str);
            Value {
                quoted: quoted || !printable_bare,
                text,
                offset: 0,
            }
        })
    }

    fn field() -> impl Strategy<Value = FieldRef> {
        prop::sample::select(FIELDS).prop_map(|f| {
            let ast = parse(&format!("{f} exists")).expect("field parses");
            match ast.root {
                Expr::Check(c) => match c.lhs {
                    Operand::Field(mut fr) => {
                        fr.offset = 0;
                        fr
                    }
                    _ => unreachable!(),
                },
                _ => unreachable!(),
            }
        })
    }

    fn operand() -> impl Strategy<Value = Operand> {
        let leaf = field().prop_map(Operand::Field);
        leaf.prop_recursive(3, 4, 1, |inner| {
            (
                prop::sample::select(vec![
                    Transformer::ToLower,
                    Transformer::ToUpper,
                    Transformer::B64,
                    Transformer::Basename,
                ]),
                inner,
            )
                .prop_map(|(t, o)| Operand::Transform(t, Box::new(o), 0))
        })
    }

    fn check() -> impl Strategy<Value = Expr> {
        let ops = vec![
            Op::Eq,
            Op::Ne,
            Op::Contains,
            Op::IContains,
            Op::BContains,
            Op::StartsWith,
            Op::BStartsWith,
            Op::EndsWith,
            Op::Glob,
            Op::IGlob,
            Op::Regex,
        ];
        prop_oneof![
            (operand(), prop::sample::select(ops), value()).prop_map(|(lhs, op, v)| {
                Expr::Check(Box::new(Check {
                    lhs,
                    op,
                    rhs: Rhs::Value(v),
                    offset: 0,
                }))
            }),
            (
                operand(),
                prop::sample::select(vec![Op::Lt, Op::Le, Op::Gt, Op::Ge]),
                prop_oneof!["-?[0-9]{1,5}", "0x[0-9a-f]{1,4}", "[0-9]{1,3}\\.[0-9]{1,2}"]
            )
                .prop_map(|(lhs, op, n)| {
                    Expr::Check(Box::new(Check {
                        lhs,
                        op,
                        rhs: Rhs::Value(Value {
                            text: n,
                            quoted: false,
                            offset: 0,
                        }),
                        offset: 0,
                    }))
                }),
            (
                operand(),
                prop::sample::select(vec![Op::In, Op::Intersects, Op::Pmatch]),
                prop::collection::vec(value(), 0..4)
            )
                .prop_map(|(lhs, op, items)| {
                    Expr::Check(Box::new(Check {
                        lhs,
                        op,
                        rhs: Rhs::List(items, 0),
                        offset: 0,
                    }))
                }),
            (operand(), field()).prop_map(|(lhs, f)| {
                Expr::Check(Box::new(Check {
                    lhs,
                    op: Op::Eq,
                    rhs: Rhs::Operand(Operand::Transform(
                        Transformer::Val,
                        Box::new(Operand::Field(f)),
                        0,
                    )),
                    offset: 0,
                }))
            }),
            operand().prop_map(|lhs| Expr::Check(Box::new(Check {
                lhs,
                op: Op::Exists,
                rhs: Rhs::None,
                offset: 0
            }))),
            "[a-z][a-z0-9_]{0,6}"
                .prop_filter("not a keyword", |s| !matches!(
                    s.as_str(),
                    "and" | "or" | "not"
                ))
                .prop_map(|m| Expr::Macro(m, 0)),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        check().prop_recursive(5, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::And(v, 0)),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::Or(v, 0)),
                inner.prop_map(|e| Expr::Not(Box::new(e), 0)),
            ]
        })
    }

    /// Seeds for mutation: conditions in the style of the bundled rules.
    const SEEDS: &[&str] = &[
        "evt.type in (open, openat, openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0",
        "spawned_process and proc.name in (shell_binaries) and not proc.pname in (sh, bash) and container.id != host",
        "(fd.name contains '/.ssh/' and fd.name glob '/home/*/.ssh/*') or fd.name pmatch (/etc, /usr/lib)",
        "tolower(proc.name) = val(proc.pname) and b64(evt.buffer) bcontains cafebabe and not proc.aname[2] exists",
        "evt.rawres < 0 and evt.arg.flags contains O_CREAT and fd.snet in (\"10.0.0.0/8\") and fd.sport >= 0x10",
        "container.mount.dest[/var/run/docker.sock] exists and proc.env[HOME] startswith /root or not(evt.dir=<)",
    ];

    const TOKENS: &[&str] = &[
        "(",
        ")",
        "(",
        ")",
        " and ",
        " or ",
        "not ",
        "not(",
        "=",
        "!=",
        " in ",
        " exists",
        " glob ",
        " pmatch ",
        "'",
        "\"",
        "\\",
        ",",
        "[",
        "]",
        "0x",
        "-",
        ".",
        "val(",
        "tolower(",
        " ",
        "\n",
        "proc.name",
        "evt.type",
        "fd.num",
        "macro_x",
        "list_y",
        "<",
        ">=",
        "é",
    ];

    fn mutated() -> impl Strategy<Value = String> {
        (
            prop::sample::select(SEEDS),
            prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    0usize..3,
                    prop::sample::select(TOKENS),
                ),
                1..6,
            ),
        )
            .prop_map(|(seed, edits)| {
                let mut s = seed.to_string();
                for (at, kind, tok) in edits {
                    let mut i = at.index(s.len() + 1);
                    while !s.is_char_boundary(i) {
                        i -= 1;
                    }
                    match kind {
                        0 => s.insert_str(i, tok),
                        1 => {
                            let mut j = (i + tok.len()).min(s.len());
                            while !s.is_char_boundary(j) {
                                j -= 1;
                            }
                            s.replace_range(i..j, "");
                        }
                        _ => {
                            let mut j = (i + 1).min(s.len());
                            while !s.is_char_boundary(j) {
                                j += 1;
                            }
                            s.replace_range(i..j, tok);
                        }
                    }
                }
                s
            })
    }

    fn stress_defs() -> Defs {
        Defs::default()
            .macro_(
                "spawned_process",
                "evt.type in (execve, execveat) and evt.dir=<",
            )
            .macro_("macro_x", "proc.name=x or macro_x")
            .list("shell_binaries", &["sh", "bash", "\"a b\""])
            .list("list_y", &["1", "2"])
    }

    /// Parses, compiles and evaluates arbitrary text; returns whether it compiled.
    fn exercise(text: &str, defs: &Defs) -> bool {
        let Ok(ast) = parse(text) else {
            return false;
        };
        let reprinted = ast.to_string();
        let again = parse(&reprinted).expect("a printed tree parses");
        assert_eq!(
            strip(ast.root.clone()),
            strip(again.root),
            "{text:?} -> {reprinted:?}"
        );
        let Ok(c) = compile(&ast, defs) else {
            return false;
        };
        let _ = c.filter.event_types();
        let mut ev = FakeEvent::new()
            .of_type("open")
            .set("proc.name", &[Val::S("bash")])
            .set("proc.pname", &[Val::S("sh")])
            .set("fd.name", &[Val::S("/home/a/.ssh/id")])
            .set("fd.num", &[Val::I(3)])
            .set("evt.buffer", &[Val::B(vec![0xca, 0xfe])]);
        let _ = c.filter.matches(&mut ev);
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn printed_tree_reparses_to_the_same_tree(e in expr()) {
            let printed = e.to_string();
            let parsed = parse(&printed).map_err(|err| TestCaseError::fail(format!("{printed:?}: {err:?}")))?;
            prop_assert_eq!(strip(parsed.root.clone()), strip(e), "{}", printed);
            prop_assert_eq!(parsed.to_string(), printed);
        }

        #[test]
        fn mutated_conditions_never_panic(text in mutated()) {
            exercise(&text, &stress_defs());
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
            exercise(&text, &stress_defs());
        }

        #[test]
        fn precedence_matches_evaluation(a in any::<bool>(), b in any::<bool>(), c in any::<bool>(), d in any::<bool>()) {
            // Each letter is a check on its own field; compare with Rust's own precedence.
            let mut ev = FakeEvent::new()
                .set("proc.name", &[Val::S(if a { "y" } else { "n" })])
                .set("proc.pname", &[Val::S(if b { "y" } else { "n" })])
                .set("proc.exe", &[Val::S(if c { "y" } else { "n" })])
                .set("proc.cwd", &[Val::S(if d { "y" } else { "n" })]);
            let cond = "proc.name=y or not proc.pname=y and proc.exe=y or proc.cwd=y and not not proc.pname=y";
            let want = a || (!b && c) || (d && b);
            prop_assert_eq!(m(cond, &mut ev), want);
            let cond = "not (proc.name=y or proc.pname=y) and (proc.exe=y or proc.cwd=y)";
            prop_assert_eq!(m(cond, &mut ev), !(a || b) && (c || d));
        }
    }

    #[test]
    fn some_mutations_compile() {
        // Guard against a stress test that only ever exercises the error paths.
        assert!(SEEDS.iter().all(|s| exercise(s, &stress_defs())));
    }
}

#[test]
fn transformers_and_rhs_fields() {
    let mut ev = FakeEvent::new()
        .set("proc.name", &[Val::S("Bash")])
        .set("proc.pname", &[Val::S("bash")])
        .set("proc.exe", &[Val::S("/usr/bin/Bash")])
        .set("proc.cmdline", &[Val::S("aGVsbG8gd29ybGQ=")])
        .set("proc.args", &[Val::S("not base64!")])
        .set("fd.num", &[Val::I(3)])
        .set("proc.pid", &[Val::I(3)]);
    for (cond, want) in [
        ("tolower(proc.name) = bash", true),
        ("toupper(proc.name) = BASH", true),
        ("proc.name = bash", false),
        ("basename(proc.exe) = Bash", true),
        ("tolower(basename(proc.exe)) = bash", true),
        ("b64(proc.cmdline) = 'hello world'", true),
        ("b64(proc.cmdline) contains world", true),
        ("b64(proc.args) exists", false),
        ("tolower(proc.name) = val(proc.pname)", true),
        ("proc.name = val(proc.pname)", false),
        ("proc.name != val(proc.pname)", true),
        ("proc.pname = tolower(proc.name)", true),
        ("proc.pname in tolower(proc.name)", true),
        ("fd.num = val(proc.pid)", true),
        ("fd.num < val(proc.pid)", false),
        ("proc.name = val(proc.cwd)", false),
    ] {
        assert_eq!(m(cond, &mut ev), want, "{cond}");
    }
    for (cond, kind) in [
        ("tolower(fd.num) = 1", CompileErrorKind::BadOperator),
        ("b64(fd.sip) = x", CompileErrorKind::BadOperator),
        ("fd.num = val(proc.name)", CompileErrorKind::BadOperator),
        (
            "proc.name pmatch val(proc.pname)",
            CompileErrorKind::BadOperator,
        ),
        ("fd.snet = val(fd.sip)", CompileErrorKind::BadOperator),
    ] {
        assert_eq!(compile_err(cond, &Defs::default()).kind, kind, "{cond}");
    }
}

#[test]
fn multi_valued_fields_compare_like_libsinsp() {
    // proc.aname without index: every ancestor; any one may match.
    let mut ev = FakeEvent::new()
        .set(
            "proc.aname",
            &[Val::S("sh"), Val::S("sshd"), Val::S("systemd")],
        )
        .set("proc.aname[1]", &[Val::S("sh")]);
    for (cond, want) in [
        ("proc.aname = sshd", true),
        ("proc.aname in (cron, systemd)", true),
        ("proc.aname startswith ssh", true),
        ("proc.aname = cron", false),
        ("proc.aname != sh", true),
        ("proc.aname[1] = sh", true),
        ("proc.aname[1] = sshd", false),
        ("proc.aname[2] exists", false),
    ] {
        assert_eq!(m(cond, &mut ev), want, "{cond}");
    }
}

#[test]
fn dynamic_rawarg_compares_by_extracted_kind() {
    let mut ev = FakeEvent::new()
        .set("evt.rawarg.res", &[Val::I(-2)])
        .set("evt.rawarg.name", &[Val::S("/etc/passwd")]);
    for (cond, want) in [
        ("evt.rawarg.res < 0", true),
        ("evt.rawarg.res = -2", true),
        ("evt.rawarg.res in (-2, -13)", true),
        ("evt.rawarg.res > -2", false),
        ("evt.rawarg.name = /etc/passwd", true),
        ("evt.rawarg.name startswith /etc", true),
        ("evt.rawarg.name in (/etc/passwd)", true),
    ] {
        assert_eq!(m(cond, &mut ev), want, "{cond}");
    }
}

#[test]
fn bad_values_and_operators_are_errors() {
    for cond in [
        "fd.num = abc",
        "fd.num >= 1.5",
        "fd.sport = 70000",
        "evt.cpu = 40000",
        "container.privileged = yes",
        "fd.sip = 300.1.1.1",
        "fd.snet = 10.0.0.0/40",
        "fd.sip in (1.1.1.1, nope)",
        "evt.buffer bcontains xyz",
        "evt.buffer bcontains abc",
        "proc.name regex '('",
    ] {
        let e = compile_err(cond, &Defs::default());
        assert_eq!(e.kind, CompileErrorKind::BadValue, "{cond}: {e:?}");
        assert!(e.offset.is_some());
    }
    for cond in [
        "fd.num contains 1",
        "fd.num glob 1",
        "container.privileged > 0",
        "proc.name bcontains 41",
        "fd.sip startswith 1",
        "fd.types = file",
        "fd.num pmatch (1)",
    ] {
        let e = compile_err(cond, &Defs::default());
        assert_eq!(e.kind, CompileErrorKind::BadOperator, "{cond}: {e:?}");
    }
}

#[test]
fn empty_lists_match_nothing() {
    let mut ev = FakeEvent::new().set("proc.name", &[Val::S("x")]);
    assert!(!m("proc.name in ()", &mut ev));
    assert!(m("not proc.name in ()", &mut ev));
    let defs = Defs::default().list("empty", &[]);
    assert!(!filter_with("proc.name in (empty)", &defs).matches(&mut ev));
    assert!(filter_with("proc.name in (empty, x)", &defs).matches(&mut ev));
}

#[test]
fn compile_depth_is_bounded_through_macros() {
    // Each macro nests the next: expansion depth grows past the bound without parser help.
    let mut defs = Defs::default();
    for i in 0..300 {
        defs = defs.macro_(
            &format!("m{i}"),
            &format!("proc.name=a and (proc.pid=1 or m{})", i + 1),
        );
    }
    defs = defs.macro_("m300", "proc.name=b");
    let e = compile_err("m0", &defs);
    assert_eq!(e.kind, CompileErrorKind::TooDeep);
    assert_eq!(e.offset, Some(0));
    assert!(compile(&parse("m250").unwrap(), &defs).is_ok());
}

/// Counts heap allocations per thread, to check that matching allocates nothing.
mod alloc_count {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    fn bump() {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    }

    // SAFETY: forwards to the system allocator; the counter is a const-initialised
    // thread-local without destructor, so touching it cannot allocate or recurse.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            bump();
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            bump();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            bump();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static COUNTING: Counting = Counting;

    pub fn allocations() -> u64 {
        ALLOCATIONS.with(|c| c.get())
    }
}

#[test]
fn matching_allocates_nothing_in_steady_state() {
    let defs = Defs::default()
        .macro_("open_write", "evt.type in (open, openat) and fd.num >= 0")
        .list("shells", &["sh", "bash", "zsh"])
        .list("dirs", &["/etc", "/usr/lib", "/home/*/.ssh"]);
    let cond = "open_write and proc.name in (shells) and fd.name pmatch (dirs) \
        and fd.name icontains SSH and fd.name glob '/home/*' and fd.name regex '/home/[a-z]+/.*' \
        and tolower(proc.exe) endswith /bash and tolower(basename(proc.exe)) = val(proc.name) \
        and proc.aname in (sshd, systemd) and fd.snet in (\"10.0.0.0/8\") and not fd.sport in (80, 443) \
        and b64(proc.cmdline) contains world and evt.arg.flags contains O_CREAT";
    let f = filter_with(cond, &defs);
    let mut ev = FakeEvent::new()
        .of_type("open")
        .set("fd.num", &[Val::I(3)])
        .set("proc.name", &[Val::S("bash")])
        .set("fd.name", &[Val::S("/home/bob/.ssh/id_rsa")])
        .set("proc.exe", &[Val::S("/usr/bin/BASH")])
        .set("proc.aname", &[Val::S("sshd"), Val::S("systemd")])
        .set("fd.snet", &[Val::Ip("10.2.3.4")])
        .set("fd.sport", &[Val::U(22)])
        .set("proc.cmdline", &[Val::S("aGVsbG8gd29ybGQ=")])
        .set("evt.arg.flags", &[Val::S("O_RDWR|O_CREAT")]);
    let mut ev2 = FakeEvent::new()
        .of_type("open")
        .set("fd.num", &[Val::I(-1)]);
    // Warm-up: scratch buffers grow to size, the regex cache fills.
    assert!(f.matches(&mut ev));
    assert!(!f.matches(&mut ev2));
    let before = alloc_count::allocations();
    let mut hits = 0;
    for _ in 0..1000 {
        hits += f.matches(&mut ev) as u32;
        hits += f.matches(&mut ev2) as u32;
    }
    let after = alloc_count::allocations();
    assert_eq!(hits, 1000);
    assert_eq!(after - before, 0, "allocations while matching");
}

/// A [`FakeEvent`] that counts extractions and offers a memo key, as the state's extractor
/// does (one fresh key per event).
struct CountingEvent {
    inner: FakeEvent,
    key: u64,
    extractions: usize,
}

impl Extractor for CountingEvent {
    fn event_type(&self) -> u16 {
        self.inner.event_type()
    }
    fn extract(&mut self, id: u16, arg: &FieldArg, out: &mut Values) {
        self.extractions += 1;
        self.inner.extract(id, arg, out);
    }
    fn memo_key(&self) -> u64 {
        self.key
    }
}

#[test]
fn a_macro_shared_by_rules_is_evaluated_once_per_event() {
    // The macro name is this test's own: memo slots are shared by name across the process.
    let defs = Defs::default().macro_("memo_test_is_cat", "proc.name = cat");
    let a = filter_with("memo_test_is_cat and fd.name = /etc/shadow", &defs);
    let b = filter_with("memo_test_is_cat and not fd.name = /etc/passwd", &defs);
    let c = filter_with("not memo_test_is_cat", &defs);
    let mut x = CountingEvent {
        inner: FakeEvent::new()
            .set("proc.name", &[Val::S("cat")])
            .set("fd.name", &[Val::S("/etc/shadow")]),
        key: u64::MAX - 1,
        extractions: 0,
    };
    assert!(a.matches(&mut x));
    assert!(b.matches(&mut x));
    assert!(!c.matches(&mut x));
    assert_eq!(x.extractions, 3, "proc.name once, fd.name once per rule");

    // The next event has a new key: the macro is evaluated afresh.
    x.inner = std::mem::take(&mut x.inner).set("proc.name", &[Val::S("vi")]);
    x.key = u64::MAX;
    x.extractions = 0;
    assert!(!a.matches(&mut x));
    assert!(!b.matches(&mut x));
    assert!(c.matches(&mut x));
    assert_eq!(x.extractions, 1);

    // Without a key nothing is remembered.
    x.key = 0;
    x.extractions = 0;
    assert!(!a.matches(&mut x));
    assert!(!b.matches(&mut x));
    assert!(c.matches(&mut x));
    assert_eq!(x.extractions, 3);
}
