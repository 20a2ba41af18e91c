use super::*;
use crate::fields::{FieldArg, FieldId, Values};
use crate::format;

/// An event with a type and a process name.
struct Ev {
    etype: u16,
    name: &'static str,
    extracted: usize,
}

impl Extractor for Ev {
    fn event_type(&self) -> u16 {
        self.etype
    }
    fn extract(&mut self, id: u16, _arg: &FieldArg, out: &mut Values) {
        self.extracted += 1;
        if id == FieldId::ProcName as u16 {
            out.push_str(self.name.as_bytes());
        }
    }
}

fn name_is(x: &mut dyn Extractor, want: &str) -> bool {
    let mut v = Values::new();
    x.extract(FieldId::ProcName as u16, &FieldArg::None, &mut v);
    v.get(0) == Some(crate::fields::Value::Str(want.as_bytes()))
}

fn rule(
    name: &str,
    types: Option<Vec<u16>>,
    f: impl Fn(&mut dyn Extractor) -> bool + Send + Sync + 'static,
) -> EngineRule {
    EngineRule::new(
        name,
        Priority::Warning,
        "syscall",
        &["b".to_string(), "a".to_string(), "b".to_string()],
        format::compile("proc=%proc.name").unwrap(),
        Box::new(FnCondition { types, f }),
    )
}

fn fired(engine: &mut Engine, etype: u16, name: &'static str) -> Vec<String> {
    let mut ev = Ev {
        etype,
        name,
        extracted: 0,
    };
    let mut out = Vec::new();
    engine.process(&mut ev, &mut |i, r, _| {
        assert_eq!(engine_rule_name(i), r.name.to_string());
        out.push(r.name.to_string())
    });
    out
}

fn sample(matching: RuleMatching) -> Engine {
    Engine::new(
        vec![
            rule("open_cat", Some(vec![2, 3]), |x| name_is(x, "cat")),
            rule("any_cat", None, |x| name_is(x, "cat")),
            rule("exec_any", Some(vec![293]), |_| true),
            rule("open_any", Some(vec![3, 2, 3]), |_| true),
        ],
        matching,
    )
}

#[test]
fn first_match_wins_in_load_order() {
    let mut e = sample(RuleMatching::First);
    assert_eq!(fired(&mut e, 3, "cat"), ["open_cat"]);
    assert_eq!(fired(&mut e, 3, "ls"), ["open_any"]);
    assert_eq!(fired(&mut e, 293, "cat"), ["any_cat"]);
    assert_eq!(fired(&mut e, 293, "ls"), ["exec_any"]);
    assert_eq!(fired(&mut e, 5, "ls"), Vec::<String>::new());
    assert_eq!(e.match_counts(), [1, 1, 1, 1]);
}

#[test]
fn all_matching_rules_fire_with_rule_matching_all() {
    let mut e = sample(RuleMatching::All);
    assert_eq!(fired(&mut e, 2, "cat"), ["open_cat", "any_cat", "open_any"]);
    assert_eq!(fired(&mut e, 293, "cat"), ["any_cat", "exec_any"]);
}

#[test]
fn only_rules_for_the_event_type_are_evaluated() {
    let e = sample(RuleMatching::All);
    assert_eq!(e.rules_for_type(2), 3);
    assert_eq!(e.rules_for_type(293), 2);
    assert_eq!(e.rules_for_type(100), 1);
    // Out-of-table types still see the unrestricted rules.
    assert_eq!(e.rules_for_type(u16::MAX), 1);
    let mut e = Engine::new(
        vec![rule("exec_only", Some(vec![293]), |x| name_is(x, "cat"))],
        RuleMatching::All,
    );
    let mut ev = Ev {
        etype: 3,
        name: "cat",
        extracted: 0,
    };
    e.process(&mut ev, &mut |_, _, _| panic!("no rule for open"));
    assert_eq!(ev.extracted, 0, "the condition must not even run");
}

#[test]
fn interest_set_is_the_union_of_rule_types() {
    let e = Engine::new(
        vec![
            rule("a", Some(vec![3, 2]), |_| true),
            rule("b", Some(vec![293, 9999]), |_| true),
        ],
        RuleMatching::First,
    );
    assert_eq!(e.interest_set(), [2, 3, 293]);
    let e = sample(RuleMatching::First);
    assert_eq!(e.interest_set().len(), EVENT_TYPE_COUNT);
    let e = Engine::new(Vec::new(), RuleMatching::First);
    assert!(e.interest_set().is_empty());
}

#[test]
fn tags_are_sorted_and_unique() {
    let r = rule("r", None, |_| true);
    assert_eq!(&r.tags[..], ["a", "b"]);
}

fn engine_rule_name(i: usize) -> String {
    ["open_cat", "any_cat", "exec_any", "open_any"][i].to_string()
}
