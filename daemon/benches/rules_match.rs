//! Cost of matching one event against all loaded rules (stable + incubating + sandbox), for a
//! mix of event types typical of a busy host (opens, execs, connects, closes, reads), on a
//! synthetic event whose fields hold plausible values. Rules are indexed by the event types
//! their condition can match (what the engine does); the peer in the same run tests every rule
//! on every event (no index). Prints ns/event for both and the ratio.
//!
//!     cargo bench --bench rules_match          (SHARED=/path/to/shared to locate the rules)

use std::path::PathBuf;
use std::time::Instant;

use falco::event::table;
use falco::fields::{Extractor, FieldArg, Values, FIELDS};
use falco::rules::{load_contents, read_files, LoadOptions};

fn shared() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

struct FakeEvent {
    ty: u16,
    exe: bool,
}

impl Extractor for FakeEvent {
    fn event_type(&self) -> u16 {
        self.ty
    }

    fn extract(&mut self, id: u16, _arg: &FieldArg, out: &mut Values) {
        let Some(f) = FIELDS.get(id as usize) else {
            return;
        };
        match f.name {
            "proc.name" | "proc.aname" => out.push_str(if self.exe { b"bash" } else { b"nginx" }),
            "proc.pname" => out.push_str(b"sshd"),
            "proc.cmdline" => out.push_str(b"bash -c ls /tmp"),
            "proc.exepath" | "proc.exe" => out.push_str(b"/usr/bin/bash"),
            "proc.args" => out.push_str(b"-c ls /tmp"),
            "proc.tty" => out.push_int(0),
            "proc.pid" | "proc.vpid" => out.push_int(4242),
            "fd.name" => out.push_str(b"/etc/ld.so.cache"),
            "fd.directory" => out.push_str(b"/etc"),
            "fd.filename" => out.push_str(b"ld.so.cache"),
            "fd.typechar" => out.push_str(b"f"),
            "fd.type" => out.push_str(b"file"),
            "fd.num" => out.push_int(3),
            "user.name" => out.push_str(b"www-data"),
            "user.uid" | "user.loginuid" => out.push_uint(33),
            "container.id" => out.push_str(b"host"),
            "container.image.repository" => out.push_str(b""),
            "evt.dir" => out.push_str(b"<"),
            "evt.res" => out.push_str(b"SUCCESS"),
            "evt.rawres" => out.push_int(3),
            "evt.arg.flags" => out.push_str(b"O_RDONLY|O_CLOEXEC"),
            "evt.is_open_read" => out.push_bool(true),
            "evt.is_open_write" => out.push_bool(false),
            _ => {}
        }
    }
}

fn main() {
    let dir = shared().join("compat/rules");
    let paths: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect();
    let contents = match read_files(&paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rules_match: {e} (set SHARED to the shared/ folder)");
            std::process::exit(2);
        }
    };
    let result = load_contents(&contents, &LoadOptions::default(), false);
    let ruleset = result.ruleset.expect("upstream rules load");
    let filters: Vec<_> = ruleset.rules.iter().map(|r| &r.filter).collect();

    // Index by event type, as the engine does.
    let max_type = 1024usize;
    let mut index: Vec<Vec<usize>> = vec![Vec::new(); max_type];
    for (i, f) in filters.iter().enumerate() {
        match f.event_types() {
            Some(types) => {
                for t in types {
                    if let Some(v) = index.get_mut(t as usize) {
                        v.push(i);
                    }
                }
            }
            None => index.iter_mut().for_each(|v| v.push(i)),
        }
    }

    let mix: Vec<(&str, bool, usize)> = vec![
        ("openat", false, 40),
        ("read", false, 20),
        ("close", false, 15),
        ("execve", true, 5),
        ("connect", false, 10),
        ("accept", false, 5),
        ("clone", true, 5),
    ];
    let mut events = Vec::new();
    for (name, exe, weight) in mix {
        let ids = table::ids_for_name(name);
        // Exit events (odd ids) are where most rules match.
        let Some(&id) = ids.iter().find(|i| *i % 2 == 1).or(ids.first()) else {
            continue;
        };
        for _ in 0..weight {
            events.push(FakeEvent { ty: id, exe });
        }
    }

    let rounds = 2000;
    let mut hits = 0u64;
    let t = Instant::now();
    for _ in 0..rounds {
        for ev in events.iter_mut() {
            if let Some(rules) = index.get(ev.ty as usize) {
                for &i in rules {
                    hits += filters[i].matches(ev) as u64;
                }
            }
        }
    }
    let indexed = t.elapsed().as_nanos() as f64 / (rounds * events.len()) as f64;
    let t = Instant::now();
    for _ in 0..rounds {
        for ev in events.iter_mut() {
            for f in &filters {
                hits += f.matches(ev) as u64;
            }
        }
    }
    let all = t.elapsed().as_nanos() as f64 / (rounds * events.len()) as f64;
    std::hint::black_box(hits);
    println!(
        "rules_match: {} rules, {} event mix: indexed {:.0} ns/event; peer (every rule on every event) {:.0} ns/event; ratio {:.2}",
        filters.len(),
        events.len(),
        indexed,
        all,
        indexed / all
    );
}
