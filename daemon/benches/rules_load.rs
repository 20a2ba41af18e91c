//! Load + compile time of the upstream rulesets (stable + incubating + sandbox, as `falco -V`
//! loads them: each file compiled with everything before it), against a peer measured in the
//! same run: parsing the same files into a generic YAML value with serde-saphyr (the YAML work
//! alone). Prints the median of several runs and the ratio.
//!
//!     cargo bench --bench rules_load          (SHARED=/path/to/shared to locate the rules)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use falco::rules::{load_contents, read_files, LoadOptions};

fn shared() -> PathBuf {
    std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
            eprintln!("rules_load: {e} (set SHARED to the shared/ folder)");
            std::process::exit(2);
        }
    };
    let runs = 15;
    let mut ours = Vec::with_capacity(runs);
    let mut rules = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = load_contents(&contents, &LoadOptions::default(), false);
        ours.push(t.elapsed());
        assert!(r.successful(), "upstream rules failed to load");
        rules = r.ruleset.map(|rs| rs.rules.len()).unwrap_or(0);
    }
    let mut peer = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        for (_, text) in &contents {
            let docs: Vec<serde_json::Value> =
                serde_saphyr::from_multiple(text).expect("yaml parses");
            std::hint::black_box(docs);
        }
        peer.push(t.elapsed());
    }
    let (o, p) = (median(ours), median(peer));
    println!(
        "rules_load: stable+incubating+sandbox ({rules} rules) load+compile {:.2} ms; \
         peer serde-saphyr YAML parse only {:.2} ms; ratio {:.2}",
        o.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        o.as_secs_f64() / p.as_secs_f64()
    );
}
