//! Fuzz target: arbitrary text as one or two rules files (split at a line `#---file`), loaded
//! the way `falco -V` loads them, with the text and JSON reports rendered (snippets, positions).
//! Any panic, hang or out-of-memory is a bug.
#![no_main]

use falco::rules::{cli, load_contents, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files: Vec<(String, String)> = text
        .splitn(2, "\n#---file\n")
        .enumerate()
        .map(|(i, part)| (format!("f{i}.yaml"), part.to_string()))
        .collect();
    let result = load_contents(&files, &LoadOptions::default(), false);
    let _ = cli::validation_text(&result);
    let _ = cli::validation_json(&result).to_string();
    if let Some(rs) = &result.ruleset {
        let mut sink = Vec::new();
        let _ = cli::describe(&mut sink, rs, None, false);
    }
});
