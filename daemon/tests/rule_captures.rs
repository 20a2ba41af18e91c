//! The packaged rules on captures recorded with our own driver in the VM
//! (scripts/record-rule-captures.sh): for every case of tests/rules/expected.txt, the
//! positive capture raises exactly its rule, with the listed output fields, and the negative
//! capture (the near miss) raises nothing. Every packaged rule has a case or is listed there
//! as not recordable, with the reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

struct Case {
    name: String,
    rule: String,
    fields: Vec<(String, String)>,
}

/// Parses expected.txt: `case | rule | field=value; field=value` lines, and `! rule | reason` for
/// rules without a recordable workload.
fn expectations() -> (Vec<Case>, Vec<String>) {
    let path = repo("tests/rules/expected.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut cases = Vec::new();
    let mut unrecordable = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if let Some(rule) = parts[0].strip_prefix('!') {
            assert!(
                parts.len() == 2 && !parts[1].is_empty(),
                "{}:{}: `! rule | reason`",
                path.display(),
                n + 1
            );
            unrecordable.push(rule.trim().to_string());
            continue;
        }
        assert_eq!(
            parts.len(),
            3,
            "{}:{}: `case | rule | fields`",
            path.display(),
            n + 1
        );
        let fields = parts[2]
            .split(';')
            .map(str::trim)
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}:{}: field=value", path.display(), n + 1));
                (k.to_string(), v.to_string())
            })
            .collect();
        cases.push(Case {
            name: parts[0].to_string(),
            rule: parts[1].to_string(),
            fields,
        });
    }
    (cases, unrecordable)
}

/// The daemon configuration the replays share, written once per test process: the tests run
/// in parallel, and rewriting the file for every replay let one test's write truncate it
/// while another test's daemon was reading it (an empty config: text alerts, none parsed).
fn config_file() -> &'static Path {
    static CONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("falco-rule-captures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("falco.yaml");
        std::fs::write(
            &config,
            "json_output: true\nrule_matching: all\nstdout_output:\n  enabled: true\n",
        )
        .unwrap();
        config
    })
}

/// The JSON alerts of the packaged rules (every matching rule, not only the first) on a capture.
fn alerts(capture: &Path) -> Vec<serde_json::Value> {
    let config = config_file();
    let out = Command::new(env!("CARGO_BIN_EXE_falco"))
        .arg("-c")
        .arg(config)
        .arg("-r")
        .arg(repo("packaging/rules/falco_rules.yaml"))
        .arg("-e")
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("rule").is_some())
        .collect()
}

fn field_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn capture(case: &str, variant: &str) -> PathBuf {
    repo(&format!("tests/rules/captures/{case}.{variant}.scap"))
}

#[test]
fn positive_captures_raise_exactly_their_rule() {
    let (cases, _) = expectations();
    let mut failures = Vec::new();
    for case in &cases {
        let found = alerts(&capture(&case.name, "pos"));
        let rules: BTreeSet<String> = found.iter().map(|a| field_text(&a["rule"])).collect();
        if rules != BTreeSet::from([case.rule.clone()]) {
            failures.push(format!(
                "{}: expected only '{}', got {rules:?}",
                case.name, case.rule
            ));
            continue;
        }
        let matching = found.iter().any(|a| {
            case.fields
                .iter()
                .all(|(k, v)| field_text(&a["output_fields"][k.as_str()]) == *v)
        });
        if !matching {
            let seen: Vec<&serde_json::Value> = found.iter().map(|a| &a["output_fields"]).collect();
            failures.push(format!(
                "{}: no alert with {:?}; output fields seen: {seen:?}",
                case.name, case.fields
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn negative_captures_raise_nothing() {
    let (cases, _) = expectations();
    let mut failures = Vec::new();
    for case in &cases {
        let found = alerts(&capture(&case.name, "neg"));
        if !found.is_empty() {
            let outputs: Vec<String> = found.iter().map(|a| field_text(&a["output"])).collect();
            failures.push(format!("{}: {outputs:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_packaged_rule_has_a_case_or_a_reason() {
    let (cases, unrecordable) = expectations();
    let rules = std::fs::read_to_string(repo("packaging/rules/falco_rules.yaml")).unwrap();
    for name in rules.lines().filter_map(|l| l.strip_prefix("- rule: ")) {
        let name = name.trim();
        let covered = cases.iter().any(|c| c.rule == name);
        let excused = unrecordable.iter().any(|r| r == name);
        assert!(
            covered || excused,
            "rule '{name}' has no capture case in tests/rules/expected.txt"
        );
    }
    for case in &cases {
        for variant in ["pos", "neg"] {
            assert!(
                capture(&case.name, variant).is_file(),
                "{}: capture missing (scripts/record-rule-captures.sh)",
                case.name
            );
        }
    }
}

/// The captures are real scap files for other readers too: sysdig (the oracle
/// scripts/setup.sh installs) opens each one, and sees in the positive capture of the
/// tutorial's first scenario `cat`, child of `dash`, opening /etc/shadow.
#[test]
fn sysdig_reads_the_captures() {
    let (cases, _) = expectations();
    let sysdig = |file: &Path, args: &[&str]| {
        let out = Command::new("sysdig")
            .arg("-r")
            .arg(file)
            .args(args)
            .output()
            .expect("sysdig is not installed (scripts/setup.sh installs it)");
        assert!(
            out.status.success(),
            "sysdig -r {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let containers = container_cases();
    for case in cases.iter().filter(|c| !containers.contains(&c.name)) {
        for variant in ["pos", "neg"] {
            let file = capture(&case.name, variant);
            let events = sysdig(&file, &["-p", "%evt.num"]).lines().count();
            assert!(
                events > 100,
                "{}: sysdig printed {events} events",
                file.display()
            );
        }
    }
    let shadow = sysdig(
        &capture("read_sensitive_file", "pos"),
        &[
            "-p",
            "%proc.name %proc.pname %fd.name",
            "evt.type=openat and evt.dir=< and fd.name=/etc/shadow",
        ],
    );
    assert_eq!(shadow.trim(), "cat dash /etc/shadow");
}

/// The cases recorded in the booted image (tests/rules/guest/container-cases.sh).
fn container_cases() -> Vec<String> {
    let text = std::fs::read_to_string(repo("tests/rules/guest/container-cases.sh")).unwrap();
    let list = text
        .lines()
        .find_map(|l| l.strip_prefix("CONTAINER_CASES="))
        .expect("CONTAINER_CASES= in container-cases.sh");
    list.trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// libsinsp reads the container events our recorder writes the way we do: sysdig sees the
/// privileged flag, name, image and mounts podman gave, on the container's execve. sysdig
/// 0.29.3 (the oracle) predates the fd types 17-21 (bpf, userfaultfd, io_uring, memfd, pidfd)
/// that the booted system's snapshot holds (systemd's bpf fds), so it reads a copy without
/// those fds; events and the container metadata are copied as they are. (It also predates the
/// podman container type, 11: its container.type says host, so that is not compared. The
/// format's `*` prints a line even with a field not available.)
#[test]
fn sysdig_reads_our_container_events() {
    use falco::source::scap::{FdKind, Reader};
    use falco::source::scap_write::{Tables, Writer};

    let dir = std::env::temp_dir().join(format!("falco-rule-containers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for case in container_cases() {
        let mut r = Reader::open(capture(&case, "pos")).unwrap();
        let fds: Vec<_> = r
            .fds
            .iter()
            .filter(|f| {
                !matches!(
                    f.kind,
                    FdKind::Bpf
                        | FdKind::Userfaultfd
                        | FdKind::IoUring
                        | FdKind::Memfd
                        | FdKind::Pidfd
                )
            })
            .cloned()
            .collect();
        let copy = dir.join(format!("{case}.scap"));
        let tables = Tables {
            fds: &fds,
            ..Tables::of(&r)
        };
        let mut w = Writer::new(
            std::io::BufWriter::new(std::fs::File::create(&copy).unwrap()),
            tables,
        )
        .unwrap();
        let mut container_events = 0;
        while let Some(meta) = r.advance().unwrap() {
            let ev = r.current().unwrap();
            container_events += usize::from(ev.event_type() == 324);
            w.write_event(meta.cpu, ev.raw()).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(container_events, 1, "{case}: one container event");
        let out = Command::new("sysdig")
            .arg("-r")
            .arg(&copy)
            .args([
                "-p",
                "*%container.name %container.image.repository \
                 privileged=%container.privileged mount=%container.mount.dest[/etc]",
                "evt.type=execve and evt.dir=< and container.id!=host and proc.vpid=1",
            ])
            .output()
            .expect("sysdig is not installed (scripts/setup.sh installs it)");
        assert!(
            out.status.success(),
            "sysdig -r {}: {}",
            copy.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let want = match case.as_str() {
            "privileged_container" => {
                "rule-privileged localhost/falco-demo privileged=true mount=<NA>"
            }
            "sensitive_mount_container" => {
                "rule-etc-mount localhost/falco-demo privileged=false mount=/host/etc"
            }
            "sensitive_mount_below_container" => {
                "rule-ssh-mount localhost/falco-demo privileged=false mount=<NA>"
            }
            other => panic!("no sysdig expectation for {other}"),
        };
        assert!(
            text.lines().any(|l| l == want),
            "{case}: sysdig printed {text:?}, expected a line {want:?}"
        );
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(checked, 3);
}
