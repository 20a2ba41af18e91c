//! Building an engine from a configuration: rules files → rules loader → engine rules. Used at
//! start and by reloads, which build the new engine while the old one keeps running.

use std::path::PathBuf;

use super::LoadedEngine;
use crate::cli::Options;
use crate::config::{Config, EngineKind};
use crate::engine::{Condition, Engine, EngineRule};
use crate::fields::Extractor;
use crate::format::AlertSettings;
use crate::logger;
use crate::web::{LoadedFile, RunInfo};

impl Condition for crate::filter::Filter {
    fn matches(&self, x: &mut dyn Extractor) -> bool {
        crate::filter::Filter::matches(self, x)
    }
    fn event_types(&self) -> Option<Vec<u16>> {
        crate::filter::Filter::event_types(self)
    }
}

/// The event source rules are matched against in this build.
pub const SYSCALL_SOURCE: &str = "syscall";

/// Loads the configured rules and builds the engine; the error is the text to report.
pub fn build_engine(cfg: &Config, opts: &Options) -> Result<LoadedEngine, String> {
    let paths = cfg.effective_rules_files(&opts.rules_files)?;
    let files = crate::rules::expand_paths(&paths);
    for f in &files {
        logger::info(&format!("Loading rules from file {}", f.display()));
    }
    let load_opts = crate::rules::cli::load_options(cfg, opts);
    let result = crate::rules::load_files(&paths, &load_opts)?;
    for f in &result.files {
        if f.successful() && f.has_warnings() {
            logger::warning(&f.as_text());
        }
    }
    let successful = result.successful();
    let ruleset = match result.ruleset {
        Some(rs) if successful => rs,
        _ => {
            let text: Vec<String> = result
                .files
                .iter()
                .filter(|f| !f.successful())
                .map(|f| f.as_text())
                .collect();
            return Err(text.join("\n"));
        }
    };
    let mut rules = Vec::with_capacity(ruleset.rules.len());
    for r in ruleset.rules {
        if !r.enabled || r.source != SYSCALL_SOURCE {
            continue;
        }
        // Compiled by the loader (`%container.info` and `-p` applied): one validation.
        rules.push(EngineRule::new(
            &r.name,
            r.priority,
            &r.source,
            &r.tags,
            r.output_format,
            Box::new(r.filter),
        ));
    }
    logger::debug(&format!(
        "{} rules enabled for the {SYSCALL_SOURCE} source",
        rules.len()
    ));
    Ok(LoadedEngine {
        engine: Engine::new(rules, cfg.rule_matching),
        alert_settings: AlertSettings::from_config(cfg),
        rules_files: files,
    })
}

/// What `/metrics` reports about the run.
pub fn run_info(cfg: &Config, kind: EngineKind, rules_files: &[PathBuf]) -> RunInfo {
    RunInfo {
        engine_name: kind.name().to_string(),
        event_sources: vec![SYSCALL_SOURCE.to_string()],
        rules_files: rules_files
            .iter()
            .filter_map(|p| LoadedFile::from_path(p))
            .collect(),
        config_files: cfg
            .loaded_files
            .iter()
            .filter_map(|p| LoadedFile::from_path(p))
            .collect(),
    }
}
