//! Rules files: loading (YAML items with positions), Falco's define/append/override semantics
//! across files, exceptions folded into conditions, compilation of conditions and outputs,
//! validation results with Falco's codes (`-V`), rule listing (`-L`, `-l`, `--list`) and rule
//! selection (`priority`, `rules[]` enable/disable by name glob or tag, `-t/-T/-D`).
//!
//! Pipeline per file, as in Falco: read the items into the [`collector::Collector`] (shared by
//! all files, so later files append to or replace earlier definitions), then compile everything
//! collected so far; the first error stops the file.

pub mod cli;
pub mod collector;
pub mod compiler;
pub mod exceptions;
pub mod reader;
pub mod result;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use collector::{Collector, Version};
use reader::Reader;
use result::{Context, ErrorCode, FileReport, LoadError};

pub use crate::config::{RuleSelection, RuleSelector};
use crate::priority::Priority;

/// How rules are loaded.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Rules less severe than this are not loaded (`priority` in falco.yaml).
    pub min_priority: Priority,
    /// `rules:` entries and the `-t/-T/-D` flags, applied in order after loading.
    pub selection: Vec<RuleSelection>,
    /// The engine version `required_engine_version` is checked against.
    pub engine_version: Version,
    /// `-p/--print`: extra output for every rule.
    pub print_format: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            min_priority: Priority::Debug,
            selection: Vec::new(),
            engine_version: engine_version(),
            print_format: None,
        }
    }
}

/// This build's engine version ([`crate::cli::ENGINE_VERSION`]).
pub fn engine_version() -> Version {
    Version::parse(crate::cli::ENGINE_VERSION).unwrap_or(Version(0, 43, 0))
}

/// A loaded rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub desc: String,
    pub priority: Priority,
    /// Sorted, as Falco keeps them.
    pub tags: Vec<String>,
    pub source: String,
    /// Where the rule is defined: the rules file and its 1-based line (for `-L`).
    pub defined_in: String,
    pub defined_at_line: usize,
    pub enabled: bool,
    pub output_text: String,
    /// The output alerts render: `%container.info` and `-p` applied.
    pub output_format_text: String,
    /// `output_format_text` compiled at load: what alerts are rendered with.
    pub output_format: crate::format::OutputFormat,
    /// The condition as written (after `append`s).
    pub condition_text: String,
    /// The condition with the exceptions folded in: what is compiled.
    pub compiled_condition_text: String,
    /// The compiled condition.
    pub filter: crate::filter::Filter,
}

/// The rules of a successful load, in definition order, with the lists and macros they were
/// built from (for `-L` with JSON output).
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
    /// Lists as defined (items not expanded).
    pub lists: Vec<(String, Vec<String>)>,
    /// Macros with their conditions as written.
    pub macros: Vec<(String, String)>,
    /// The highest `required_engine_version` of the files, if any.
    pub required_engine_version: Option<Version>,
}

/// Everything a load produced: the ruleset (when every file loaded) and one report per file.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    pub ruleset: Option<Ruleset>,
    pub files: Vec<FileReport>,
}

impl LoadResult {
    pub fn successful(&self) -> bool {
        self.files.iter().all(FileReport::successful)
    }
}

/// Expands `rules_files` entries: a directory stands for its regular files in lexicographic
/// order (not recursive); entries that do not exist are skipped, as Falco does.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let Ok(meta) = std::fs::metadata(p) else {
            continue;
        };
        if meta.is_dir() {
            let Ok(entries) = std::fs::read_dir(p) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|path| path.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Reads rules files as text; a file that cannot be read is an error naming it.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let bytes = std::fs::read(p)
            .map_err(|e| format!("Could not open file {} for reading: {e}", p.display()))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        out.push((p.display().to_string(), text));
    }
    Ok(out)
}

/// Loads rules files (directories expanded, missing entries skipped), stopping at the first
/// file with an error, as Falco does when starting.
pub fn load_files(paths: &[PathBuf], opts: &LoadOptions) -> Result<LoadResult, String> {
    let contents = read_files(&expand_paths(paths))?;
    Ok(load_contents(&contents, opts, true))
}

/// Loads `(name, content)` pairs in order. With `stop_at_error`, files after a failing one are
/// not loaded (Falco's start-up); without it every file gets a report (`-V`).
pub fn load_contents(
    files: &[(String, String)],
    opts: &LoadOptions,
    stop_at_error: bool,
) -> LoadResult {
    let mut loader = Loader::new(opts.clone());
    let mut result = LoadResult::default();
    for (name, content) in files {
        let report = loader.load(name, content);
        let ok = report.successful();
        result.files.push(report);
        if !ok && stop_at_error {
            return result;
        }
    }
    if result.successful() {
        result.ruleset = Some(loader.ruleset());
    }
    result
}

/// Loads files one after the other into one collection of definitions.
pub struct Loader {
    opts: LoadOptions,
    collector: Collector,
    contents: HashMap<String, String>,
    last: Ruleset,
}

impl Loader {
    pub fn new(opts: LoadOptions) -> Loader {
        Loader {
            opts,
            collector: Collector::default(),
            contents: HashMap::new(),
            last: Ruleset::default(),
        }
    }

    /// Reads one file into the collection and compiles everything collected so far.
    pub fn load(&mut self, name: &str, content: &str) -> FileReport {
        self.contents.insert(name.to_string(), content.to_string());
        let mut report = FileReport::new(name);
        let file_ctx = Context::file(name);
        match yaml::load_all(content) {
            Err(e) => {
                let ctx = file_ctx.child(e.mark, result::ItemType::ValueFor, "");
                report.errors.push(LoadError {
                    code: ErrorCode::YamlParse,
                    message: e.falco_message(),
                    context: ctx,
                    snippet: String::new(),
                });
            }
            Ok(docs) => {
                let outcome = Reader {
                    collector: &mut self.collector,
                    warnings: &mut report.warnings,
                    engine_version: self.opts.engine_version,
                }
                .read(&docs, &file_ctx);
                match outcome {
                    Err(e) => report.errors.push(*e),
                    Ok(()) => self.compile(&mut report),
                }
            }
        }
        self.fill_snippets(&mut report);
        report
    }

    /// Compiles everything collected and builds the ruleset (priority filter and selection
    /// applied); errors and warnings go to `report`.
    fn compile(&mut self, report: &mut FileReport) {
        let output = match compiler::compile(
            &self.collector,
            self.opts.print_format.as_deref(),
            &mut report.warnings,
        ) {
            Ok(o) => o,
            Err(e) => {
                report.errors.push(*e);
                return;
            }
        };
        let mut rules = Vec::with_capacity(output.rules.len());
        for compiled in output.rules {
            let Some(info) = self.collector.rules.get(&compiled.name) else {
                continue;
            };
            if info.priority > self.opts.min_priority {
                continue;
            }
            rules.push(Rule {
                name: info.name.clone(),
                desc: info.desc.clone(),
                priority: info.priority,
                tags: info.tags.iter().cloned().collect(),
                source: info.source.clone(),
                defined_in: info.ctx.file_name().to_string(),
                defined_at_line: info.ctx.last().map_or(0, |l| l.pos.line + 1),
                enabled: info.enabled,
                output_text: info.output.clone(),
                output_format_text: compiled.output,
                output_format: compiled.output_format,
                condition_text: info.cond.clone(),
                compiled_condition_text: compiled.condition,
                filter: compiled.filter,
            });
        }
        let mut ruleset = Ruleset {
            rules,
            lists: self
                .collector
                .lists
                .iter()
                .map(|l| (l.name.clone(), l.items.clone()))
                .collect(),
            macros: self
                .collector
                .macros
                .iter()
                .map(|m| (m.name.clone(), m.cond.clone()))
                .collect(),
            required_engine_version: self.collector.required_engine_version,
        };
        apply_selection(&mut ruleset, &self.opts.selection);
        self.last = ruleset;
    }

    fn fill_snippets(&self, report: &mut FileReport) {
        let contents = &self.contents;
        let snip = |ctx: &Context| {
            let file = ctx
                .last()
                .map(|l| l.name.as_str())
                .unwrap_or(ctx.file_name());
            let text = contents
                .get(file)
                .or_else(|| contents.get(ctx.file_name()))
                .map(String::as_str)
                .unwrap_or("");
            ctx.snippet(text)
        };
        for e in &mut report.errors {
            if e.snippet.is_empty() {
                e.snippet = snip(&e.context);
            }
        }
        for w in &mut report.warnings {
            if w.snippet.is_empty() {
                w.snippet = snip(&w.context);
            }
        }
    }

    /// The ruleset of the last successful compilation.
    pub fn ruleset(&self) -> Ruleset {
        self.last.clone()
    }
}

/// fnmatch(3) with flags 0, as libsinsp's rule-name wildcards use it.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (Ok(p), Ok(n)) = (
        std::ffi::CString::new(pattern),
        std::ffi::CString::new(name),
    ) else {
        return false;
    };
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(p.as_ptr(), n.as_ptr(), 0) == 0 }
}

/// Applies `rules:` selections in order: by name (glob) or by tag, enable or disable.
pub fn apply_selection(ruleset: &mut Ruleset, selection: &[RuleSelection]) {
    for sel in selection {
        for rule in &mut ruleset.rules {
            let hit = match &sel.target {
                RuleSelector::Rule(pattern) => wildcard_match(pattern, &rule.name),
                RuleSelector::Tag(tag) => rule.tags.iter().any(|t| t == tag),
            };
            if hit {
                rule.enabled = sel.enable;
            }
        }
    }
}

/// The selections Falco 0.38 derived from the removed flags, after the configured ones:
/// `-D substring` disables rules whose name contains it, `-T tag` disables a tag, and `-t tag`
/// first disables everything then enables the tag.
pub fn selection_from_flags(
    configured: &[RuleSelection],
    disable_substrings: &[String],
    disable_tags: &[String],
    enable_tags: &[String],
) -> Vec<RuleSelection> {
    let mut out = configured.to_vec();
    for s in disable_substrings {
        out.push(RuleSelection {
            enable: false,
            target: RuleSelector::Rule(format!("*{s}*")),
        });
    }
    for t in disable_tags {
        out.push(RuleSelection {
            enable: false,
            target: RuleSelector::Tag(t.clone()),
        });
    }
    if !enable_tags.is_empty() {
        out.push(RuleSelection {
            enable: false,
            target: RuleSelector::Rule("*".into()),
        });
        for t in enable_tags {
            out.push(RuleSelection {
                enable: true,
                target: RuleSelector::Tag(t.clone()),
            });
        }
    }
    out
}

/// The path as Falco names a rules file in its reports.
pub fn display_name(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests;
