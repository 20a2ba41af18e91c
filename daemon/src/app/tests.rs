use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::drops::{DropMonitor, DropSettings};
use super::pipeline::Pipeline;
use super::source::EventSource;
use super::*;
use crate::engine::{Engine, EngineRule, FnCondition, RuleMatching};
use crate::event::table::ids_for_name;
use crate::fields::{Extractor, FieldArg, FieldId, Value, Values};
use crate::outputs::{Alert, Channel, ChannelKind, OutputStats, OutputsSettings};

fn compat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat")
}

fn capture(name: &str) -> PathBuf {
    compat().join("scap/falco").join(name)
}

/// A channel keeping every line it receives.
struct Collect(Arc<Mutex<Vec<String>>>);

impl Channel for Collect {
    fn emit(&mut self, _a: &Alert, line: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().push(line.to_string());
        Ok(())
    }
}

fn collecting_outputs(json: bool) -> (Outputs, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let settings = OutputsSettings {
        json_output: json,
        buffered: true,
        ..OutputsSettings::default()
    };
    let channels: Vec<(ChannelKind, Box<dyn Channel>)> =
        vec![(ChannelKind::Stdout, Box::new(Collect(lines.clone())))];
    let out = Outputs::start_with_channels(&settings, channels, Arc::new(OutputStats::default()))
        .unwrap();
    (out, lines)
}

fn str_field_is(x: &mut dyn Extractor, id: FieldId, want: &str) -> bool {
    let mut v = Values::new();
    x.extract(id as u16, &FieldArg::None, &mut v);
    v.get(0) == Some(Value::Str(want.as_bytes()))
}

fn types(names: &[&str]) -> Option<Vec<u16>> {
    Some(names.iter().flat_map(|n| ids_for_name(n)).collect())
}

/// The rules of the upstream fixture single_rule.yaml, written as engine rules.
fn cat_rules() -> Vec<EngineRule> {
    vec![
        EngineRule::new(
            "open_from_cat",
            Priority::Warning,
            "syscall",
            &["filesystem".into(), "process".into(), "testing".into()],
            crate::format::compile("An open was seen (command=%proc.cmdline)").unwrap(),
            Box::new(FnCondition {
                types: types(&["open"]),
                f: |x: &mut dyn Extractor| str_field_is(x, FieldId::ProcName, "cat"),
            }),
        ),
        EngineRule::new(
            "exec_from_cat",
            Priority::Error,
            "syscall",
            &[],
            crate::format::compile("An exec was seen (command=%proc.cmdline)").unwrap(),
            Box::new(FnCondition {
                types: types(&["execve"]),
                f: |x: &mut dyn Extractor| {
                    str_field_is(x, FieldId::ProcName, "cat")
                        && str_field_is(x, FieldId::EvtDir, "<")
                },
            }),
        ),
    ]
}

fn json_settings() -> crate::format::AlertSettings {
    crate::format::AlertSettings {
        json_output: true,
        time_format_iso_8601: true,
        json_include_output_property: true,
        json_include_tags_property: true,
        json_include_message_property: false,
        hostname: Arc::from("test-falco-hostname"),
    }
}

#[test]
fn replaying_cat_write_produces_falcos_alerts() {
    let (mut src, state) = EventSource::replay(&capture("cat_write.scap")).unwrap();
    let (outputs, lines) = collecting_outputs(true);
    let engine = Engine::new(cat_rules(), RuleMatching::First);
    let mut p = Pipeline::new(state, engine, json_settings(), outputs.handle(), None);
    let end = run_loop(&mut src, &mut p, &mut LoopControl::none());
    assert!(matches!(end, LoopEnd::Finished), "{end:?}");
    outputs.shutdown();
    let lines = lines.lock().unwrap();
    assert_eq!(p.alerts(), 9);
    assert_eq!(
        p.summary().to_string(),
        "Events detected: 9\nRule counts by severity:\n   ERROR: 1\n   WARNING: 8\n\
         Triggered rules by rule name:\n   open_from_cat: 8\n   exec_from_cat: 1\n"
    );
    // The open alerts are, line for line, the upstream golden output.
    let golden = std::fs::read_to_string(compat().join(
        "testing-fixtures/outputs/SingleRuleWithCatWriteJSON__single_rule_with_cat_write.json",
    ))
    .unwrap();
    let opens: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"rule\":\"open_from_cat\""))
        .collect();
    let golden: Vec<&str> = golden.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(opens.len(), golden.len());
    for (got, want) in opens.iter().zip(&golden) {
        let got: serde_json::Value = serde_json::from_str(got).unwrap();
        let want: serde_json::Value = serde_json::from_str(want).unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn rule_matching_all_fires_every_matching_rule() {
    let mut rules = cat_rules();
    rules.push(EngineRule::new(
        "any_open",
        Priority::Notice,
        "syscall",
        &[],
        crate::format::compile("open %fd.name").unwrap(),
        Box::new(FnCondition {
            types: types(&["open"]),
            f: |_: &mut dyn Extractor| true,
        }),
    ));
    for (matching, any_open) in [(RuleMatching::First, 0), (RuleMatching::All, 8)] {
        let (mut src, state) = EventSource::replay(&capture("cat_write.scap")).unwrap();
        let (outputs, _lines) = collecting_outputs(false);
        let mut p = Pipeline::new(
            state,
            Engine::new(
                rules
                    .iter()
                    .map(|r| clone_rule(r, matches!(r.name.as_ref(), "any_open")))
                    .collect(),
                matching,
            ),
            crate::format::AlertSettings::default(),
            outputs.handle(),
            None,
        );
        run_loop(&mut src, &mut p, &mut LoopControl::none());
        outputs.shutdown();
        assert_eq!(p.engine().match_counts(), [8, 1, any_open], "{matching:?}");
    }
}

/// Rebuilds one of the test rules (conditions are not Clone).
fn clone_rule(r: &EngineRule, any: bool) -> EngineRule {
    if any {
        return EngineRule::new(
            "any_open",
            Priority::Notice,
            "syscall",
            &[],
            crate::format::compile("open %fd.name").unwrap(),
            Box::new(FnCondition {
                types: types(&["open"]),
                f: |_: &mut dyn Extractor| true,
            }),
        );
    }
    cat_rules().into_iter().find(|c| c.name == r.name).unwrap()
}

#[test]
fn stop_after_uses_event_time_in_replay() {
    let (mut src, state) = EventSource::replay(&capture("ping_sendto.scap")).unwrap();
    let (outputs, _lines) = collecting_outputs(false);
    let mut p = Pipeline::new(
        state,
        Engine::new(Vec::new(), RuleMatching::First),
        crate::format::AlertSettings::default(),
        outputs.handle(),
        None,
    );
    let mut ctl = LoopControl::none();
    ctl.stop_after = Some(Duration::from_secs(3));
    let end = run_loop(&mut src, &mut p, &mut ctl);
    outputs.shutdown();
    assert!(matches!(end, LoopEnd::TimeLimit), "{end:?}");
    let (first, last) = p.time_span();
    // The capture spans about ten seconds; nothing after the first three was processed.
    assert!(last - first <= 3_000_000_000, "{}", last - first);
    assert!(last - first > 2_000_000_000, "{}", last - first);
}

fn drop_run(actions: &[&str]) -> (LoopEnd, drops::DropSummary, Vec<String>) {
    let actions: Vec<String> = actions.iter().map(|s| s.to_string()).collect();
    let mut monitor =
        DropMonitor::new(DropSettings::new(0.1, &actions, 0.03333, 10.0, true).unwrap());
    let (mut src, state) = EventSource::replay(&capture("ping_sendto.scap")).unwrap();
    let (outputs, lines) = collecting_outputs(false);
    let handle = outputs.handle();
    let mut p = Pipeline::new(
        state,
        Engine::new(Vec::new(), RuleMatching::First),
        crate::format::AlertSettings::default(),
        handle.clone(),
        None,
    );
    let end = {
        let mut ctl = LoopControl::none();
        ctl.drops = Some(&mut monitor);
        ctl.internal = Some((&handle, false));
        run_loop(&mut src, &mut p, &mut ctl)
    };
    drop(handle);
    outputs.shutdown();
    let lines = lines.lock().unwrap().clone();
    (end, monitor.summary(), lines)
}

#[test]
fn simulated_drops_raise_internal_alerts_or_exit() {
    let (end, summary, lines) = drop_run(&["alert"]);
    assert!(matches!(end, LoopEnd::Finished));
    assert_eq!((summary.detections, summary.actions_taken), (9, 9));
    assert_eq!(lines.len(), 9);
    assert!(
        lines[0].contains(
            "Debug Falco internal: syscall event drop. 1 system calls dropped in last second."
        ),
        "{}",
        lines[0]
    );
    let (end, summary, lines) = drop_run(&["ignore"]);
    assert!(matches!(end, LoopEnd::Finished));
    assert_eq!((summary.detections, summary.actions_taken), (9, 9));
    assert!(lines.is_empty());
    let (end, summary, _) = drop_run(&["exit"]);
    assert!(matches!(end, LoopEnd::DropExit));
    assert_eq!((summary.detections, summary.actions_taken), (1, 1));
}

#[test]
fn a_corrupt_capture_ends_with_an_error_after_delivering_earlier_alerts() {
    let bytes = std::fs::read(capture("cat_write.scap")).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain)
        .unwrap_or_else(|_| {
            plain = bytes.clone();
            plain.len()
        });
    // Cut the file in the middle of the last event block.
    plain.truncate(plain.len() - 10);
    let dir = std::env::temp_dir().join(format!("falco-app-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("truncated.scap");
    std::fs::write(&path, &plain).unwrap();
    let (mut src, state) = EventSource::replay(&path).unwrap();
    let (outputs, lines) = collecting_outputs(false);
    let mut p = Pipeline::new(
        state,
        Engine::new(cat_rules(), RuleMatching::First),
        crate::format::AlertSettings::default(),
        outputs.handle(),
        None,
    );
    let end = run_loop(&mut src, &mut p, &mut LoopControl::none());
    outputs.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    let LoopEnd::Error(e) = end else {
        panic!("expected an error, got {end:?}")
    };
    assert!(e.to_string().contains("offset"), "{e}");
    assert!(!lines.lock().unwrap().is_empty());
}
