//! Fuzz target: arbitrary text as a condition — parse, print and reparse, compile against a
//! few macros and lists, compute the event types and evaluate on a small fake event.
//! Any panic, hang or out-of-memory is a bug.
#![no_main]

use std::collections::HashMap;

use falco::fields::{Extractor, FieldArg, Values};
use falco::filter::{compile, parse, Ast, Definitions};
use libfuzzer_sys::fuzz_target;

struct Defs {
    macros: HashMap<&'static str, Ast>,
    lists: HashMap<&'static str, Vec<String>>,
}

impl Definitions for Defs {
    fn macro_ast(&self, name: &str) -> Option<&Ast> {
        self.macros.get(name)
    }
    fn list_items(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(|v| v.as_slice())
    }
}

fn defs() -> Defs {
    let mut macros = HashMap::new();
    for (name, cond) in [
        ("spawned_process", "evt.type in (execve, execveat) and evt.dir=<"),
        ("loop_a", "proc.name=a or loop_b"),
        ("loop_b", "loop_a"),
        ("open_write", "evt.type in (open, openat) and evt.is_open_write=true and fd.num>=0"),
    ] {
        if let Ok(ast) = parse(cond) {
            macros.insert(name, ast);
        }
    }
    let mut lists = HashMap::new();
    lists.insert("shell_binaries", vec!["sh".into(), "bash".into(), "\"a b\"".into()]);
    lists.insert("nets", vec!["\"10.0.0.0/8\"".into(), "::1".into()]);
    Defs { macros, lists }
}

/// Every field has one string value, a number or an address depending on its id.
struct FakeEvent;

impl Extractor for FakeEvent {
    fn event_type(&self) -> u16 {
        2
    }
    fn extract(&mut self, id: u16, _arg: &FieldArg, out: &mut Values) {
        match id % 4 {
            0 => out.push_str(b"/home/user/.ssh/id_rsa"),
            1 => out.push_int(-3),
            2 => {
                out.push_str(b"bash");
                out.push_str(b"sh");
            }
            _ => out.push_ip(std::net::IpAddr::from([10, 1, 2, 3])),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ast) = parse(text) else {
        return;
    };
    let printed = ast.to_string();
    let again = parse(&printed).expect("a printed condition parses again");
    assert_eq!(printed, again.to_string(), "printing is stable");
    thread_local! {
        static DEFS: Defs = defs();
    }
    DEFS.with(|d| {
        if let Ok(c) = compile(&ast, d) {
            let _ = c.filter.event_types();
            let _ = c.filter.matches(&mut FakeEvent);
        }
    });
});
