use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::*;
use crate::fields::FieldId;
use crate::priority::Priority;

/// Owned value for the fake extractor.
#[derive(Clone, Debug)]
enum V {
    I(i64),
    U(u64),
    B(bool),
    Ip(IpAddr),
    S(Vec<u8>),
}

/// An extractor answering from a table: (field, arg) → values.
#[derive(Default)]
struct Fake {
    table: HashMap<(u16, FieldArg), Vec<V>>,
    calls: usize,
}

impl Fake {
    fn with(mut self, id: FieldId, arg: FieldArg, vals: Vec<V>) -> Self {
        self.table.insert((id as u16, arg), vals);
        self
    }
    fn s(self, id: FieldId, v: &str) -> Self {
        self.with(id, FieldArg::None, vec![V::S(v.as_bytes().to_vec())])
    }
}

impl Extractor for Fake {
    fn event_type(&self) -> u16 {
        3
    }
    fn extract(&mut self, id: u16, arg: &FieldArg, out: &mut Values) {
        self.calls += 1;
        if let Some(vs) = self.table.get(&(id, arg.clone())) {
            for v in vs {
                match v {
                    V::I(n) => out.push_int(*n),
                    V::U(n) => out.push_uint(*n),
                    V::B(b) => out.push_bool(*b),
                    V::Ip(ip) => out.push_ip(*ip),
                    V::S(s) => out.push_str(s),
                }
            }
        }
    }
}

fn render(fmt: &str, x: &mut Fake) -> String {
    compile(fmt).unwrap().render_string(x)
}

#[test]
fn plain_fields_and_missing_values() {
    let mut x = Fake::default()
        .s(FieldId::ProcCmdline, "cat /dev/null")
        .s(FieldId::FdName, "/etc/shadow");
    assert_eq!(
        render(
            "An open was seen (command=%proc.cmdline file=%fd.name)",
            &mut x
        ),
        "An open was seen (command=cat /dev/null file=/etc/shadow)"
    );
    assert_eq!(render("cport=%fd.cport", &mut x), "cport=<NA>");
}

#[test]
fn longest_registered_prefix_ends_the_field() {
    let mut x = Fake::default()
        .s(FieldId::FdName, "/etc/shadow")
        .s(FieldId::ProcName, "cat")
        .s(FieldId::FdNameraw, "raw");
    // A trailing period and unrelated letters stay literal text, as in libsinsp.
    assert_eq!(render("file %fd.name.", &mut x), "file /etc/shadow.");
    assert_eq!(render("%proc.names", &mut x), "cats");
    assert_eq!(render("%fd.nameraw", &mut x), "raw");
    assert_eq!(render("(%proc.name)", &mut x), "(cat)");
}

#[test]
fn arguments_in_brackets_and_dotted_keys() {
    let mut x = Fake::default()
        .with(
            FieldId::ProcAname,
            FieldArg::Index(2),
            vec![V::S(b"bash".to_vec())],
        )
        .with(
            FieldId::EvtArg,
            FieldArg::Key("flags".into()),
            vec![V::S(b"O_RDONLY".to_vec())],
        )
        .with(
            FieldId::EvtArg,
            FieldArg::Index(0),
            vec![V::S(b"3".to_vec())],
        )
        .with(
            FieldId::ContainerMountDest,
            FieldArg::Key("/var/run/docker.sock".into()),
            vec![V::S(b"/var/run/docker.sock".to_vec())],
        );
    let f = compile(
        "gp=%proc.aname[2] flags=%evt.arg.flags. a0=%evt.arg[0] m=%container.mount.dest[/var/run/docker.sock]",
    )
    .unwrap();
    assert_eq!(
        f.render_string(&mut x),
        "gp=bash flags=O_RDONLY. a0=3 m=/var/run/docker.sock"
    );
    let keys: Vec<&str> = f.field_names().collect();
    assert_eq!(
        keys,
        [
            "proc.aname[2]",
            "evt.arg.flags",
            "evt.arg[0]",
            "container.mount.dest[/var/run/docker.sock]"
        ]
    );
}

#[test]
fn unknown_fields_are_errors_worded_as_falco() {
    let e = compile("An open was seen %not_a_real_field").unwrap_err();
    assert_eq!(e.message, "invalid formatting token not_a_real_field");
    assert_eq!(e.offset, 18);
    let e = compile("x %proc.nosuch y").unwrap_err();
    // `proc.nosuch` has no registered prefix longer than... none: the whole rest is quoted.
    assert_eq!(e.message, "invalid formatting token proc.nosuch y");
    assert!(compile("ends with %").is_err());
    assert!(compile("ends with %12").is_err());
    assert!(compile("%proc.aname[2").is_err());
    assert!(compile("%proc.aname[x]").is_err());
    assert!(compile("%evt.arg").is_err());
    assert!(compile("%tolower(proc.name").is_err());
}

#[test]
fn container_info_and_extra_output() {
    let f = compile("shell in %container.info (id=%container.id)").unwrap();
    assert_eq!(
        f.text(),
        "shell in container_id=%container.id container_name=%container.name (id=%container.id)"
    );
    let opts = CompileOptions {
        extra: "k8s_ns=%k8s.ns.name".into(),
        replace_container_info: true,
    };
    let f = compile_with("shell in %container.info", &opts).unwrap();
    assert_eq!(f.text(), "shell in k8s_ns=%k8s.ns.name");
    let opts = CompileOptions {
        extra: "vpid=%proc.vpid".into(),
        replace_container_info: false,
    };
    let f = compile_with("  *open %fd.name\n", &opts).unwrap();
    assert_eq!(f.text(), "open %fd.name vpid=%proc.vpid");
}

#[test]
fn width_transformers_and_lists() {
    let mut x = Fake::default()
        .s(FieldId::ProcName, "Bash")
        .s(FieldId::FdName, "/usr/bin/Tool")
        .with(
            FieldId::FdTypes,
            FieldArg::None,
            vec![V::S(b"file".to_vec()), V::S(b"ipv4".to_vec())],
        );
    assert_eq!(render("[%6proc.name]", &mut x), "[Bash  ]");
    assert_eq!(render("[%2proc.name]", &mut x), "[Ba]");
    assert_eq!(render("%tolower(proc.name)", &mut x), "bash");
    assert_eq!(render("%toupper(basename(fd.name))", &mut x), "TOOL");
    assert_eq!(render("%fd.types", &mut x), "(file,ipv4)");
}

#[test]
fn event_data_cannot_forge_a_line() {
    let mut x = Fake::default().with(
        FieldId::ProcCmdline,
        FieldArg::None,
        vec![V::S(
            b"sh -c a\n12:00:00.000000000: Critical forged\x1b[31m\xff".to_vec(),
        )],
    );
    let f = compile("cmd=%proc.cmdline").unwrap();
    let s = f.render_string(&mut x);
    assert!(!s.contains('\n') && !s.contains('\x1b'), "{s}");
    assert_eq!(
        s,
        "cmd=sh -c a\\n12:00:00.000000000: Critical forged\\x1b[31m\\xff"
    );
    // JSON keeps the exact (valid) characters and escapes only the invalid byte.
    let m = f.output_fields(&mut x);
    assert_eq!(
        m["proc.cmdline"],
        "sh -c a\n12:00:00.000000000: Critical forged\x1b[31m\\xff"
    );
}

#[test]
fn fd_names_lose_their_control_characters_as_in_libsinsp() {
    let name = "/tmp/a\nb\x1b[31m\tc\x7f\u{e9}";
    let mut x = Fake::default()
        .s(FieldId::FdName, name)
        .s(FieldId::FdDirectory, "/tmp/d\r")
        .s(FieldId::FdFilename, "a\nb")
        .s(FieldId::ProcCmdline, "echo \x1b");
    let f = compile("file=%fd.name dir=%fd.directory base=%fd.filename cmd=%proc.cmdline").unwrap();
    assert_eq!(
        f.render_string(&mut x),
        "file=/tmp/ab[31mc\u{e9} dir=/tmp/d base=ab cmd=echo \\x1b"
    );
    let m = f.output_fields(&mut x);
    assert_eq!(m["fd.name"], "/tmp/ab[31mc\u{e9}");
    assert_eq!(m["fd.directory"], "/tmp/d");
    assert_eq!(
        m["proc.cmdline"], "echo \x1b",
        "other fields stay exact in JSON"
    );
    // Transformers see the sanitized value; a missing value stays <NA> / null.
    let f = compile("%toupper(fd.name) %fd.containername").unwrap();
    assert_eq!(f.render_string(&mut x), "/TMP/AB[31MC\u{e9} <NA>");
    assert_eq!(
        f.output_fields(&mut x)["fd.containername"],
        serde_json::Value::Null
    );
}

#[test]
fn output_fields_are_typed() {
    let mut x = Fake::default()
        .s(FieldId::ProcName, "cat")
        .with(FieldId::ProcPid, FieldArg::None, vec![V::I(42)])
        .with(FieldId::EvtNum, FieldArg::None, vec![V::U(7)])
        .with(
            FieldId::FdSip,
            FieldArg::None,
            vec![V::Ip("10.0.0.1".parse().unwrap())],
        )
        .with(FieldId::FdNameChanged, FieldArg::None, vec![V::B(true)])
        .with(
            FieldId::EvtTime,
            FieldArg::None,
            vec![V::U(1_470_327_477_881_781_397)],
        );
    let f = compile("%proc.name %proc.pid %evt.num %fd.sip %fd.name_changed %fd.cport %evt.time")
        .unwrap();
    let m = f.output_fields(&mut x);
    assert_eq!(m["proc.name"], "cat");
    assert_eq!(m["proc.pid"], 42);
    assert_eq!(m["evt.num"], 7);
    assert_eq!(m["fd.sip"], "10.0.0.1");
    assert_eq!(m["fd.name_changed"], true);
    assert_eq!(m["fd.cport"], serde_json::Value::Null);
    assert_eq!(m["evt.time"], 1_470_327_477_881_781_397u64);
    // Text renders the time field as a time of day.
    let text = f.render_string(&mut x);
    let parts: Vec<&str> = text.split(' ').collect();
    assert_eq!(parts[..6], ["cat", "42", "7", "10.0.0.1", "true", "<NA>"]);
    assert!(
        parts[6].ends_with(".881781397") && parts[6].len() == 18,
        "{text}"
    );
}

fn rule_info<'a>(
    name: &'a Arc<str>,
    source: &'a Arc<str>,
    tags: &'a Arc<[String]>,
    output: &'a OutputFormat,
) -> alert::RuleInfo<'a> {
    alert::RuleInfo {
        name,
        priority: Priority::Warning,
        source,
        tags,
        output,
    }
}

#[test]
fn json_alert_matches_falcos_document() {
    let out = compile("An open was seen (command=%proc.cmdline)").unwrap();
    let name: Arc<str> = Arc::from("open_from_cat");
    let source: Arc<str> = Arc::from("syscall");
    let tags: Arc<[String]> = Arc::from(vec![
        "filesystem".to_string(),
        "process".to_string(),
        "testing".to_string(),
    ]);
    let mut x = Fake::default().s(FieldId::ProcCmdline, "cat /dev/null");
    let settings = AlertSettings {
        json_output: true,
        time_format_iso_8601: true,
        json_include_output_property: true,
        json_include_tags_property: true,
        json_include_message_property: false,
        hostname: Arc::from("test-falco-hostname"),
    };
    let mut fmt = AlertFormatter::new(settings.clone());
    let ts = 1_470_327_477_881_781_397;
    let a = fmt.format(ts, rule_info(&name, &source, &tags, &out), &mut x);
    let golden = r#"{"hostname":"test-falco-hostname","output":"2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)","priority":"Warning","rule":"open_from_cat","source":"syscall","tags":["filesystem","process","testing"],"time":"2016-08-04T16:17:57.881781397Z", "output_fields": {"evt.time.iso8601":1470327477881781397,"proc.cmdline":"cat /dev/null"}}"#;
    let got: serde_json::Value = serde_json::from_str(&a.line).unwrap();
    let want: serde_json::Value = serde_json::from_str(golden).unwrap();
    assert_eq!(got, want);
    // 0.39 layout: compact, keys sorted.
    assert!(a
        .line
        .starts_with(r#"{"hostname":"test-falco-hostname","output":"#));
    assert_eq!(&*a.rule, "open_from_cat");
    assert_eq!(a.priority, Priority::Warning);

    let mut fmt = AlertFormatter::new(AlertSettings {
        json_include_output_property: false,
        json_include_tags_property: false,
        json_include_message_property: true,
        time_format_iso_8601: false,
        ..settings
    });
    let a = fmt.format(ts, rule_info(&name, &source, &tags, &out), &mut x);
    let got: serde_json::Value = serde_json::from_str(&a.line).unwrap();
    assert!(got.get("output").is_none());
    assert!(got.get("tags").is_none());
    assert_eq!(got["message"], "An open was seen (command=cat /dev/null)");
    assert_eq!(got["output_fields"]["evt.time"], ts);
}

#[test]
fn text_alert_line() {
    let out = compile("An open was seen (command=%proc.cmdline)").unwrap();
    let name: Arc<str> = Arc::from("r");
    let source: Arc<str> = Arc::from("syscall");
    let tags: Arc<[String]> = Arc::from(Vec::new());
    let mut x = Fake::default().s(FieldId::ProcCmdline, "cat /dev/null");
    let mut fmt = AlertFormatter::new(AlertSettings {
        time_format_iso_8601: true,
        ..AlertSettings::default()
    });
    let a = fmt.format(
        1_470_327_477_881_781_397,
        rule_info(&name, &source, &tags, &out),
        &mut x,
    );
    assert_eq!(
        a.line,
        "2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)"
    );
    let mut fmt = AlertFormatter::new(AlertSettings::default());
    let a = fmt.format(
        1_470_327_477_881_781_397,
        rule_info(&name, &source, &tags, &out),
        &mut x,
    );
    let (time, rest) = a.line.split_once(": ").unwrap();
    assert_eq!(time.len(), 18);
    assert!(time.ends_with(".881781397"));
    assert_eq!(rest, "Warning An open was seen (command=cat /dev/null)");
}

#[test]
fn k8s_labels_for_metrics() {
    let out = compile("pod=%k8s.pod.name ns=%k8s.ns.name").unwrap();
    let name: Arc<str> = Arc::from("r");
    let source: Arc<str> = Arc::from("syscall");
    let tags: Arc<[String]> = Arc::from(Vec::new());
    let mut x = Fake::default()
        .s(FieldId::K8sPodName, "web-1")
        .s(FieldId::K8sNsName, "prod");
    let mut fmt = AlertFormatter::new(AlertSettings::default());
    let a = fmt.format(1, rule_info(&name, &source, &tags, &out), &mut x);
    assert_eq!(a.k8s_pod_name.as_deref(), Some("web-1"));
    assert_eq!(a.k8s_ns_name.as_deref(), Some("prod"));
}

#[test]
fn compile_never_panics_on_garbage() {
    for s in [
        "%",
        "%%",
        "%[",
        "%.",
        "%1",
        "%99999999999999999999proc.name",
        "%proc.aname[",
        "%evt.arg.",
        "%evt.arg[]",
        "%tolower(",
        "%tolower()",
        "%b64(b64(proc.name))",
        "%é",
        "é%proc.name",
        "%proc.name\u{0}",
        "%container.mount.dest[]",
    ] {
        let _ = compile(s);
    }
    let f = compile("%99999999proc.name").unwrap();
    let mut x = Fake::default().s(FieldId::ProcName, "x");
    // Width is capped.
    assert!(f.render_string(&mut x).len() <= 4096);
}
