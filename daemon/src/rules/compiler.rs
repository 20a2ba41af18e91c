//! Compiles what the collector holds: lists expanded (a list sees the lists defined before
//! it), macro conditions parsed and their references checked (a macro sees the macros defined
//! before it), rule conditions (with exceptions folded in) compiled by [`crate::filter`], outputs
//! checked, and Falco's warnings: unused macros and lists, rules without an event-type
//! restriction, unknown fields skipped with `skip-if-unknown-filter`.

use std::collections::{HashMap, HashSet};

use super::collector::{fail, Collector, Fail, RuleInfo};
use super::exceptions;
use super::result::{Context, ErrorCode, LoadWarning, WarningCode};
use crate::filter::{self, Ast, CompileErrorKind, Definitions, Expr};
use crate::format::{self, OutputFormat};

/// Lists and parsed macros, as seen from a given point of the load order.
struct Defs<'a> {
    macros: &'a HashMap<String, (Ast, u32)>,
    lists: &'a HashMap<String, Vec<String>>,
    /// Only macros first defined before this point are visible.
    visibility: u32,
}

impl Definitions for Defs<'_> {
    fn macro_ast(&self, name: &str) -> Option<&Ast> {
        self.macros
            .get(name)
            .filter(|(_, index)| *index < self.visibility)
            .map(|(ast, _)| ast)
    }

    fn list_items(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }
}

/// A compiled rule.
pub struct CompiledRule {
    pub name: String,
    pub condition: String,
    /// The output with `%container.info` and `-p` applied.
    pub output: String,
    /// `output` compiled by the formatter alerts are rendered with (validated at load).
    pub output_format: OutputFormat,
    pub filter: filter::Filter,
}

/// What compiling the collection gives: compiled rules (in definition order) and warnings.
pub struct Output {
    pub rules: Vec<CompiledRule>,
}

const DELIMS: &[char] = &[' ', '\t', '\n', '\r', '(', ')', ',', '='];

/// Whether `word` occurs in `text` delimited by blanks, parentheses, commas, `=` or the ends:
/// Falco's test for a list being used by a condition.
fn mentions(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let start = from + i;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .map_or(true, |c| DELIMS.contains(&c));
        let after_ok = text[end..]
            .chars()
            .next()
            .map_or(true, |c| DELIMS.contains(&c));
        if before_ok && after_ok {
            return true;
        }
        from = start + word.len().max(1);
        if from > text.len() {
            break;
        }
    }
    false
}

/// Expands the items of every list: an item naming a list defined before (by first
/// definition) the referring list's last change is replaced by that list's items.
fn expand_lists(col: &Collector, used: &mut HashSet<String>) -> HashMap<String, Vec<String>> {
    fn expand(
        col: &Collector,
        name: &str,
        memo: &mut HashMap<String, Vec<String>>,
        stack: &mut Vec<String>,
        used: &mut HashSet<String>,
    ) -> Vec<String> {
        if let Some(items) = memo.get(name) {
            return items.clone();
        }
        let Some(info) = col.lists.get(name) else {
            return Vec::new();
        };
        stack.push(name.to_string());
        let mut out = Vec::new();
        for item in &info.items {
            match col.lists.get(item) {
                Some(r) if r.index < info.visibility && !stack.contains(&r.name) => {
                    used.insert(r.name.clone());
                    out.extend(expand(col, &r.name, memo, stack, used));
                }
                _ => out.push(item.clone()),
            }
        }
        stack.pop();
        memo.insert(name.to_string(), out.clone());
        out
    }
    let mut memo = HashMap::new();
    for l in col.lists.iter() {
        let mut stack = Vec::new();
        expand(col, &l.name, &mut memo, &mut stack, used);
    }
    memo
}

/// Macro references of a condition tree, with their offsets.
fn macro_refs(ast: &Ast) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![&ast.root];
    while let Some(e) = stack.pop() {
        match e {
            Expr::And(v, _) | Expr::Or(v, _) => stack.extend(v.iter().rev()),
            Expr::Not(inner, _) => stack.push(inner),
            Expr::Macro(name, off) => out.push((name.clone(), *off)),
            Expr::Check(_) => {}
        }
    }
    out
}

fn parse(cond: &str, cond_ctx: &Context) -> Result<Ast, Fail> {
    filter::parse(cond).map_err(|e| {
        fail(
            ErrorCode::CompileCondition,
            e.message,
            &cond_ctx.in_condition(cond, e.offset),
        )
    })
}

/// What `%container.info` stands for in outputs when no `-p` option replaces it.
pub const CONTAINER_INFO: &str = "container_id=%container.id container_name=%container.name";
const PRINT_CONTAINER: &str = "container_id=%container.id container_image=%container.image.repository container_image_tag=%container.image.tag container_name=%container.name";
const PRINT_K8S: &str = "k8s_ns=%k8s.ns.name k8s_pod_name=%k8s.pod.name";
const PRINT_PIDS: &str = "vpid=%proc.vpid vtid=%thread.vtid";

/// A rule's output as alerts render it: `%container.info` expanded, and `-p/--print` applied
/// (`c`/`container` and `k`/`kubernetes` replace `%container.info` or are appended, with a
/// trailing `g` adding the namespace pids; any other text is appended verbatim).
pub fn expand_output(output: &str, print: Option<&str>) -> String {
    let (format, replace) = match print {
        None | Some("") => return output.replace("%container.info", CONTAINER_INFO),
        Some(p) => {
            let (base, pids) = match p.strip_suffix('g') {
                Some(b) if matches!(b, "c" | "container" | "k" | "kubernetes") => (b, true),
                _ => (p, false),
            };
            let mut f = match base {
                "c" | "container" => PRINT_CONTAINER.to_string(),
                "k" | "kubernetes" => format!("{PRINT_K8S} {PRINT_CONTAINER}"),
                _ => return format!("{} {p}", output.replace("%container.info", CONTAINER_INFO)),
            };
            if pids {
                f = format!("{f} {PRINT_PIDS}");
            }
            (f, true)
        }
    };
    if replace && output.contains("%container.info") {
        output.replace("%container.info", &format)
    } else {
        format!("{output} {format}")
    }
}

fn is_unknown_filter(kind: &CompileErrorKind) -> bool {
    matches!(
        kind,
        CompileErrorKind::UnknownField(_) | CompileErrorKind::UnknownEventType(_)
    )
}

fn warning(code: WarningCode, message: impl Into<String>, ctx: &Context) -> LoadWarning {
    LoadWarning {
        code,
        message: message.into(),
        context: ctx.clone(),
        snippet: String::new(),
    }
}

/// Compiles everything collected. The first error stops compilation (no unused warnings then).
pub fn compile(
    col: &Collector,
    print: Option<&str>,
    warnings: &mut Vec<LoadWarning>,
) -> Result<Output, Fail> {
    let mut used_lists: HashSet<String> = HashSet::new();
    let lists = expand_lists(col, &mut used_lists);

    // Macros: parse each condition and check its references against the macros before it.
    let mut macros: HashMap<String, (Ast, u32)> = HashMap::new();
    let mut used_macros: HashSet<String> = HashSet::new();
    for m in col.macros.iter() {
        let ast = parse(&m.cond, &m.cond_ctx)?;
        macros.insert(m.name.clone(), (ast, m.index));
    }
    for m in col.macros.iter() {
        let Some((ast, _)) = macros.get(&m.name) else {
            continue;
        };
        for (name, off) in macro_refs(ast) {
            match col.macros.get(&name) {
                Some(r) if r.index < m.visibility => {
                    used_macros.insert(name);
                }
                _ => {
                    return Err(fail(
                        ErrorCode::Validate,
                        format!("Undefined macro '{name}' used in filter."),
                        &m.ctx.in_condition(&m.cond, off),
                    ))
                }
            }
        }
        for l in col.lists.iter() {
            if mentions(&m.cond, &l.name) {
                used_lists.insert(l.name.clone());
            }
        }
    }

    let defs = Defs {
        macros: &macros,
        lists: &lists,
        visibility: u32::MAX,
    };
    let mut rules = Vec::new();
    for r in col.rules.iter() {
        if r.unknown_source {
            continue;
        }
        if let Some(rule) = compile_rule(
            r,
            col,
            &defs,
            print,
            warnings,
            &mut used_macros,
            &mut used_lists,
        )? {
            rules.push(rule);
        }
    }

    for m in col.macros.iter() {
        if !used_macros.contains(&m.name) {
            warnings.push(warning(
                WarningCode::UnusedMacro,
                "Macro not referred to by any other rule/macro",
                &m.ctx,
            ));
        }
    }
    for l in col.lists.iter() {
        if !used_lists.contains(&l.name) {
            warnings.push(warning(
                WarningCode::UnusedList,
                "List not referred to by any other rule/macro",
                &l.ctx,
            ));
        }
    }
    Ok(Output { rules })
}

fn compile_rule(
    r: &RuleInfo,
    col: &Collector,
    defs: &Defs<'_>,
    print: Option<&str>,
    warnings: &mut Vec<LoadWarning>,
    used_macros: &mut HashSet<String>,
    used_lists: &mut HashSet<String>,
) -> Result<Option<CompiledRule>, Fail> {
    // Falco parenthesizes the condition only when it has exceptions to fold in.
    let condition = if r.exceptions.is_empty() {
        r.cond.clone()
    } else {
        exceptions::fold(&r.cond, &r.exceptions)?
    };
    let output = expand_output(&r.output, print);
    let output_format = match format::compile(&output) {
        Ok(f) => f,
        Err(e) => {
            // Falco skips the rule only for an unknown field; bad syntax stays an error.
            if r.skip_if_unknown_filter && e.message.starts_with("invalid formatting token") {
                warnings.push(warning(
                    WarningCode::UnknownFilter,
                    e.message,
                    &r.output_ctx,
                ));
                return Ok(None);
            }
            return Err(fail(ErrorCode::CompileOutput, e.message, &r.output_ctx));
        }
    };
    let ast = parse(&condition, &r.cond_ctx)?;
    for (name, off) in macro_refs(&ast) {
        if col.macros.get(&name).is_none() {
            return Err(fail(
                ErrorCode::Validate,
                format!("Undefined macro '{name}' used in filter."),
                &r.ctx.in_condition(&condition, off),
            ));
        }
    }
    for l in col.lists.iter() {
        if mentions(&condition, &l.name) {
            used_lists.insert(l.name.clone());
        }
    }
    let compiled = match filter::compile(&ast, defs) {
        Ok(c) => c,
        Err(e) => {
            let ctx = r.cond_ctx.in_condition(&condition, e.offset.unwrap_or(0));
            if r.skip_if_unknown_filter && is_unknown_filter(&e.kind) {
                warnings.push(warning(WarningCode::UnknownFilter, e.message, &ctx));
                return Ok(None);
            }
            let code = match e.kind {
                CompileErrorKind::UndefinedMacro(_) | CompileErrorKind::CircularMacro(_) => {
                    ErrorCode::Validate
                }
                _ => ErrorCode::CompileCondition,
            };
            return Err(fail(code, e.message, &ctx));
        }
    };
    used_macros.extend(compiled.used_macros.iter().cloned());
    if r.source == "syscall" && r.warn_evttypes {
        let too_many = match compiled.filter.event_types() {
            None => true,
            Some(types) => types.is_empty() || types.len() > 100,
        };
        if too_many {
            warnings.push(warning(
                WarningCode::NoEvttype,
                "Rule matches too many evt.type values. This has a significant performance penalty.",
                &r.ctx,
            ));
        }
    }
    Ok(Some(CompiledRule {
        name: r.name.clone(),
        condition,
        output,
        output_format,
        filter: compiled.filter,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_mentions_need_delimiters() {
        assert!(mentions("proc.name in (shell_binaries)", "shell_binaries"));
        assert!(mentions(
            "proc.name in (a,shell_binaries,b)",
            "shell_binaries"
        ));
        assert!(mentions("shell_binaries", "shell_binaries"));
        assert!(!mentions(
            "proc.name in (known_shell_binaries)",
            "shell_binaries"
        ));
        assert!(!mentions(
            "proc.name in (shell_binaries_x)",
            "shell_binaries"
        ));
        assert!(mentions("x=shell_binaries", "shell_binaries"));
    }

    #[test]
    fn outputs_expand_container_info_and_print_formats() {
        assert_eq!(
            expand_output("a %container.info b", None),
            format!("a {CONTAINER_INFO} b")
        );
        assert_eq!(
            expand_output("a %container.info", Some("c")),
            format!("a {PRINT_CONTAINER}")
        );
        assert_eq!(
            expand_output("a", Some("c")),
            format!("a {PRINT_CONTAINER}")
        );
        assert_eq!(
            expand_output("a", Some("kg")),
            format!("a {PRINT_K8S} {PRINT_CONTAINER} {PRINT_PIDS}")
        );
        assert_eq!(
            expand_output("a", Some("extra=%proc.pid")),
            "a extra=%proc.pid"
        );
    }
}
