//! Reads the items of one rules file (YAML documents of sequences of maps) into the
//! [`Collector`], with Falco's checks and messages for each key. The first error stops the file,
//! as in Falco; warnings accumulate.

use std::collections::BTreeSet;

use super::collector::{
    fail, Collector, Entry, ExceptionInfo, Fail, ListInfo, MacroInfo, RuleInfo, RuleUpdate, Version,
};
use super::result::{Context, ErrorCode, ItemType, LoadWarning, WarningCode};
use super::yaml::{self, Node};
use crate::priority::Priority;

const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "source",
    "enabled",
    "tags",
    "exceptions",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "append",
    "override",
    // Newer Falco versions (capture on match); accepted so such files load.
    "capture",
    "capture_duration",
];
const EXCEPTION_KEYS: &[&str] = &["name", "fields", "comps", "values"];
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

const WARNING_APPEND: &str = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const WARNING_ENABLED: &str = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
const ERROR_OVERRIDE_APPEND: &str = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

fn yv(message: impl Into<String>, ctx: &Context) -> Fail {
    fail(ErrorCode::YamlValidate, message, ctx)
}

/// Reading state for one file.
pub struct Reader<'a> {
    pub collector: &'a mut Collector,
    pub warnings: &'a mut Vec<LoadWarning>,
    pub engine_version: Version,
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_bare_string(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '(' | ')' | '"' | '\'' | '=' | ',') || c.is_whitespace())
}

/// A required or optional scalar, with Falco's messages for missing, empty and non-scalar values.
fn decode_str(
    item: &Node,
    key: &str,
    ctx: &Context,
    optional: bool,
) -> Result<Option<String>, Fail> {
    let Some(val) = item.get(key) else {
        if optional {
            return Ok(None);
        }
        return Err(yv(format!("Item has no mapping for key '{key}'"), ctx));
    };
    if val.is_null() {
        return Err(yv(format!("Mapping for key '{key}' is empty"), ctx));
    }
    let valctx = ctx.child(val.mark, ItemType::ValueFor, key);
    let Some(text) = val.scalar() else {
        return Err(yv("Value is not a scalar value", &valctx));
    };
    if text.is_empty() {
        return Err(yv("Value must be non-empty", &valctx));
    }
    Ok(Some(text.to_string()))
}

fn required_str(item: &Node, key: &str, ctx: &Context) -> Result<String, Fail> {
    Ok(decode_str(item, key, ctx, false)?.unwrap_or_default())
}

fn decode_bool(
    item: &Node,
    key: &str,
    ctx: &Context,
    optional: bool,
) -> Result<Option<bool>, Fail> {
    let Some(text) = decode_str(item, key, ctx, optional)? else {
        return Ok(None);
    };
    match yaml::parse_bool(&text) {
        Some(b) => Ok(Some(b)),
        None => {
            let valctx = ctx.child(
                item.get(key).map(|v| v.mark).unwrap_or_default(),
                ItemType::ValueFor,
                key,
            );
            Err(yv("Can't decode YAML scalar value", &valctx))
        }
    }
}

/// A sequence of scalars (`items`, `tags`).
fn decode_seq(
    item: &Node,
    key: &str,
    ctx: &Context,
    optional: bool,
) -> Result<Option<Vec<String>>, Fail> {
    let Some(val) = item.get(key) else {
        if optional {
            return Ok(None);
        }
        return Err(yv(format!("Item has no mapping for key '{key}'"), ctx));
    };
    let valctx = ctx.child(val.mark, ItemType::ValueFor, key);
    if !val.is_seq() {
        return Err(yv("Value is not a sequence", &valctx));
    }
    let mut out = Vec::with_capacity(val.seq().len());
    for v in val.seq() {
        match v.scalar() {
            Some(s) => out.push(s.to_string()),
            None => {
                let ictx = valctx.child(v.mark, ItemType::ListItem, "");
                return Err(yv("sequence value is not scalar", &ictx));
            }
        }
    }
    Ok(Some(out))
}

fn decode_priority(item: &Node, ctx: &Context) -> Result<Priority, Fail> {
    let text = required_str(item, "priority", ctx)?;
    let mark = item.get("priority").map(|v| v.mark).unwrap_or_default();
    text.parse::<Priority>().map_err(|_| {
        yv(
            "Invalid priority",
            &ctx.child(mark, ItemType::RulePriority, ""),
        )
    })
}

/// `override: {key: append|replace}`, checked against what the item kind allows.
fn decode_overrides(
    item: &Node,
    appendable: &[&str],
    replaceable: &[&str],
    ctx: &Context,
) -> Result<(BTreeSet<String>, BTreeSet<String>), Fail> {
    let mut append = BTreeSet::new();
    let mut replace = BTreeSet::new();
    let Some(val) = item.get("override") else {
        return Ok((append, replace));
    };
    let overridectx = ctx.child(item.mark, ItemType::Overrides, "");
    if val.is_null() {
        return Ok((append, replace));
    }
    if !val.is_map() {
        return Err(yv(
            "Value of override must be a mapping of keys to 'append' or 'replace'",
            &overridectx.child(val.mark, ItemType::ValueFor, "override"),
        ));
    }
    for (k, v) in val.entries() {
        let key = k.as_text().unwrap_or_default().to_string();
        let keyctx = overridectx.child(k.mark, ItemType::Overrides, &key);
        let can_append = appendable.contains(&key.as_str());
        let can_replace = replaceable.contains(&key.as_str());
        match v.scalar() {
            Some("append") => {
                if !can_append {
                    return Err(yv(
                        format!("Key '{key}' cannot be appended to, use 'replace' instead"),
                        &keyctx,
                    ));
                }
                append.insert(key);
            }
            Some("replace") => {
                if !can_replace {
                    return Err(yv(format!("Key '{key}' cannot be replaced"), &keyctx));
                }
                replace.insert(key);
            }
            other => {
                let mut msg = format!(
                    "Invalid override operation for key '{key}': '{}'. Allowed values are: ",
                    other.unwrap_or("")
                );
                if can_append {
                    msg.push_str("append ");
                }
                if can_replace {
                    msg.push_str("replace ");
                }
                return Err(yv(
                    msg,
                    &overridectx.child(v.mark, ItemType::ValueFor, &key),
                ));
            }
        }
    }
    Ok((append, replace))
}

/// One `fields`/`comps`/`values` entry of an exception.
fn decode_entry(val: &Node, key: &str, ctx: &Context) -> Result<Entry, Fail> {
    let valctx = ctx.child(val.mark, ItemType::ValueFor, key);
    let mut out = Entry::default();
    if let Some(s) = val.scalar() {
        if s.is_empty() {
            return Err(yv("Value must be non-empty", &valctx));
        }
        out.item = s.to_string();
    } else if val.is_seq() {
        out.is_list = true;
        for v in val.seq() {
            let lctx = valctx.child(v.mark, ItemType::Exception, "");
            out.items.push(decode_entry(v, "", &lctx)?);
        }
    }
    Ok(out)
}

impl Reader<'_> {
    fn warn(&mut self, code: WarningCode, message: impl Into<String>, ctx: &Context) {
        self.warnings.push(LoadWarning {
            code,
            message: message.into(),
            context: ctx.clone(),
            snippet: String::new(),
        });
    }

    fn warn_unknown_keys(&mut self, item: &Node, known: &[&str], kind: &str, ctx: &Context) {
        for (k, _) in item.entries() {
            let key = k.as_text().unwrap_or_default();
            if !known.contains(&key) {
                let kctx = ctx.child(k.mark, ItemType::ValueFor, key);
                self.warn(
                    WarningCode::UnknownItem,
                    format!("Unknown key '{key}' in {kind} definition; it is ignored"),
                    &kctx,
                );
            }
        }
    }

    /// Reads every document of a file. Returns the first error, if any; items read before it
    /// stay collected (as in Falco).
    pub fn read(&mut self, docs: &[Node], file_ctx: &Context) -> Result<(), Fail> {
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            if !doc.is_map() && !doc.is_seq() {
                return Err(yv("Rules content is not yaml", file_ctx));
            }
            if !doc.is_seq() {
                return Err(yv("Rules content is not yaml array of objects", file_ctx));
            }
            for item in doc.seq() {
                if !item.is_null() {
                    self.read_item(item, file_ctx)?;
                }
            }
        }
        Ok(())
    }

    fn read_item(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        if !item.is_map() {
            let tmp = parent.child(item.mark, ItemType::RulesContentItem, "");
            return Err(yv(
                "Unexpected element type. Each element should be a yaml associative array.",
                &tmp,
            ));
        }
        if item.has("required_engine_version") {
            self.read_engine_version(item, parent)
        } else if item.has("required_plugin_versions") {
            self.read_plugin_versions(item, parent)
        } else if item.has("list") {
            self.read_list(item, parent)
        } else if item.has("macro") {
            self.read_macro(item, parent)
        } else if item.has("rule") {
            self.read_rule(item, parent)
        } else {
            let ctx = parent.child(item.mark, ItemType::RulesContentItem, "");
            self.warn(WarningCode::UnknownItem, "Unknown top level item", &ctx);
            Ok(())
        }
    }

    fn read_engine_version(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        let ctx = parent.child(item.mark, ItemType::RequiredEngineVersion, "");
        let text = required_str(item, "required_engine_version", &ctx)?;
        let version = match text.trim().parse::<u32>() {
            Ok(n) => Version(0, n as u64, 0),
            Err(_) => Version::parse(&text).ok_or_else(|| {
                yv(
                    format!("Unable to parse engine version '{text}' as a semver string. Expected \"x.y.z\" semver format."),
                    &ctx,
                )
            })?,
        };
        self.collector
            .define_engine_version(version, self.engine_version, &ctx)
    }

    fn read_plugin_versions(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        let Some(reqs) = item.get("required_plugin_versions") else {
            return Ok(());
        };
        let ctx = parent.child(reqs.mark, ItemType::RequiredPluginVersions, "");
        if !reqs.is_seq() {
            return Err(yv(
                "Value of required_plugin_versions must be a sequence",
                &ctx,
            ));
        }
        for plugin in reqs.seq() {
            let tmp = ctx.child(plugin.mark, ItemType::RequiredPluginVersionsEntry, "");
            if !plugin.is_map() {
                return Err(yv("Plugin version must be a mapping", &tmp));
            }
            let name = required_str(plugin, "name", &tmp)?;
            let pctx = ctx.child(plugin.mark, ItemType::RequiredPluginVersionsEntry, &name);
            let version = required_str(plugin, "version", &pctx)?;
            let mut alternatives = vec![(name, version)];
            if let Some(alts) = plugin.get("alternatives") {
                if !alts.is_seq() {
                    return Err(yv(
                        "Value of plugin version alternatives must be a sequence",
                        &pctx,
                    ));
                }
                for alt in alts.seq() {
                    let tmp = pctx.child(alt.mark, ItemType::RequiredPluginVersionsAlternative, "");
                    if !alt.is_map() {
                        return Err(yv("Plugin version alternative must be a mapping", &tmp));
                    }
                    let name = required_str(alt, "name", &tmp)?;
                    let actx =
                        pctx.child(alt.mark, ItemType::RequiredPluginVersionsAlternative, &name);
                    let version = required_str(alt, "version", &actx)?;
                    alternatives.push((name, version));
                }
            }
            self.collector.define_plugin_versions(alternatives, &pctx)?;
        }
        Ok(())
    }

    fn read_list(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        let tmp = parent.child(item.mark, ItemType::List, "");
        let name = required_str(item, "list", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::List, &name);
        if !is_bare_string(&name) {
            self.warn(
                WarningCode::InvalidListName,
                "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)",
                &ctx,
            );
        }
        self.warn_unknown_keys(item, LIST_KEYS, "list", &ctx);
        let items = decode_seq(item, "items", &ctx, false)?.unwrap_or_default();
        let mut append = decode_bool(item, "append", &ctx, true)?.unwrap_or(false);
        if append {
            self.warn(WarningCode::DeprecatedItem, WARNING_APPEND, &ctx);
        }
        let (ov_append, ov_replace) = decode_overrides(item, &["items"], &["items"], &ctx)?;
        if append && (!ov_append.is_empty() || !ov_replace.is_empty()) {
            return Err(yv(ERROR_OVERRIDE_APPEND, &ctx));
        }
        append |= ov_append.contains("items");
        let info = ListInfo {
            name,
            items,
            ctx,
            index: 0,
            visibility: 0,
        };
        if append {
            self.collector.append_list(info)
        } else {
            self.collector.define_list(info);
            Ok(())
        }
    }

    fn read_macro(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        let tmp = parent.child(item.mark, ItemType::Macro, "");
        let name = required_str(item, "macro", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::Macro, &name);
        if !is_identifier(&name) {
            self.warn(
                WarningCode::InvalidMacroName,
                "Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)",
                &ctx,
            );
        }
        self.warn_unknown_keys(item, MACRO_KEYS, "macro", &ctx);
        let cond = required_str(item, "condition", &ctx)?;
        let cond_mark = item.get("condition").map(|v| v.mark).unwrap_or_default();
        let cond_ctx = ctx.child(cond_mark, ItemType::MacroCondition, "");
        let mut append = decode_bool(item, "append", &ctx, true)?.unwrap_or(false);
        if append {
            self.warn(WarningCode::DeprecatedItem, WARNING_APPEND, &ctx);
        }
        let (ov_append, ov_replace) = decode_overrides(item, &["condition"], &["condition"], &ctx)?;
        if append && (!ov_append.is_empty() || !ov_replace.is_empty()) {
            return Err(yv(ERROR_OVERRIDE_APPEND, &ctx));
        }
        append |= ov_append.contains("condition");
        let info = MacroInfo {
            name,
            cond,
            ctx,
            cond_ctx,
            index: 0,
            visibility: 0,
        };
        if append {
            self.collector.append_macro(info)
        } else {
            self.collector.define_macro(info);
            Ok(())
        }
    }

    fn read_exceptions(
        &mut self,
        item: &Node,
        parent: &Context,
        append: bool,
    ) -> Result<Vec<ExceptionInfo>, Fail> {
        let mut out: Vec<ExceptionInfo> = Vec::new();
        let Some(exs) = item.get("exceptions") else {
            return Ok(out);
        };
        if exs.is_null() {
            return Ok(out);
        }
        let exes_ctx = parent.child(exs.mark, ItemType::Exceptions, "");
        if !exs.is_seq() {
            return Err(yv("Rule exceptions must be a sequence", &exes_ctx));
        }
        for ex in exs.seq() {
            let tmp = exes_ctx.child(ex.mark, ItemType::Exception, "");
            if !ex.is_map() {
                return Err(yv("Rule exception must be a mapping", &tmp));
            }
            let name = required_str(ex, "name", &tmp)?;
            let ex_ctx = parent.child(ex.mark, ItemType::Exception, &name);
            if out.iter().any(|e| e.name == name) {
                return Err(yv(
                    "Exceptions names in the same object must be unique",
                    &ex_ctx,
                ));
            }
            self.warn_unknown_keys(ex, EXCEPTION_KEYS, "exception", &ex_ctx);
            let fields = match ex.get("fields") {
                Some(v) => decode_entry(v, "fields", &ex_ctx)?,
                None if append => Entry::default(),
                None => return Err(yv("Item has no mapping for key 'fields'", &ex_ctx)),
            };
            let comps = match ex.get("comps") {
                Some(v) => decode_entry(v, "comps", &ex_ctx)?,
                None => Entry::default(),
            };
            let mut values = Vec::new();
            match ex.get("values") {
                Some(vals) => {
                    let vals_ctx = ex_ctx.child(vals.mark, ItemType::ExceptionValues, "");
                    if !vals.is_seq() {
                        return Err(yv("Rule exception values must be a sequence", &vals_ctx));
                    }
                    for val in vals.seq() {
                        let vctx = vals_ctx.child(val.mark, ItemType::ExceptionValue, "");
                        values.push(decode_entry(val, "", &vctx)?);
                    }
                }
                None if append => self.warn(
                    WarningCode::AppendNoValues,
                    "Overriding/appending exception with no values",
                    &ex_ctx,
                ),
                None => {}
            }
            out.push(ExceptionInfo {
                name,
                fields,
                comps,
                values,
                ctx: ex_ctx,
            });
        }
        Ok(out)
    }

    fn read_rule(&mut self, item: &Node, parent: &Context) -> Result<(), Fail> {
        let tmp = parent.child(item.mark, ItemType::Rule, "");
        let name = required_str(item, "rule", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::Rule, &name);
        self.warn_unknown_keys(item, RULE_KEYS, "rule", &ctx);
        let has_append_flag = decode_bool(item, "append", &ctx, true)?.unwrap_or(false);
        if has_append_flag {
            self.warn(WarningCode::DeprecatedItem, WARNING_APPEND, &ctx);
        }
        let (ov_append, ov_replace) =
            decode_overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, &ctx)?;
        let has_overrides = !ov_append.is_empty() || !ov_replace.is_empty();
        if has_append_flag && has_overrides {
            return Err(yv(ERROR_OVERRIDE_APPEND, &ctx));
        }
        let cond_ctx_of = |ctx: &Context| {
            ctx.child(
                item.get("condition").map(|v| v.mark).unwrap_or_default(),
                ItemType::RuleCondition,
                "",
            )
        };

        if has_overrides {
            let mut expected: BTreeSet<&str> = RULE_APPENDABLE
                .iter()
                .chain(RULE_REPLACEABLE)
                .copied()
                .filter(|k| item.has(k))
                .collect();
            for (set, kind, is_append) in [
                (&ov_append, "append", true),
                (&ov_replace, "replace", false),
            ] {
                if set.is_empty() {
                    continue;
                }
                let mut up = RuleUpdate::new(&name, ctx.clone());
                for key in set {
                    if !expected.remove(key.as_str()) {
                        return Err(yv(
                            format!("An {kind} override for '{key}' was specified but '{key}' is not defined"),
                            &ctx,
                        ));
                    }
                    match key.as_str() {
                        "condition" => {
                            up.cond = Some(required_str(item, "condition", &ctx)?);
                            up.cond_ctx = Some(cond_ctx_of(&ctx));
                        }
                        "exceptions" => {
                            up.exceptions = Some(self.read_exceptions(item, &ctx, true)?)
                        }
                        "output" => {
                            up.output = Some(required_str(item, "output", &ctx)?.trim().to_string())
                        }
                        "desc" => up.desc = Some(required_str(item, "desc", &ctx)?),
                        "tags" => {
                            up.tags = Some(
                                decode_seq(item, "tags", &ctx, true)?
                                    .unwrap_or_default()
                                    .into_iter()
                                    .collect(),
                            )
                        }
                        "priority" => up.priority = Some(decode_priority(item, &ctx)?),
                        "enabled" => up.enabled = decode_bool(item, "enabled", &ctx, false)?,
                        "warn_evttypes" => {
                            up.warn_evttypes = decode_bool(item, "warn_evttypes", &ctx, false)?
                        }
                        "skip-if-unknown-filter" => {
                            up.skip_if_unknown_filter =
                                decode_bool(item, "skip-if-unknown-filter", &ctx, false)?
                        }
                        _ => {}
                    }
                }
                if is_append {
                    self.collector.append_rule(up)?;
                } else {
                    self.collector.replace_rule(up)?;
                }
            }
            if let Some(key) = expected.into_iter().next() {
                let mark = item.get(key).map(|v| v.mark).unwrap_or_default();
                return Err(yv(
                    format!("Unexpected key '{key}': no corresponding entry under 'override' is defined."),
                    &ctx.child(mark, ItemType::Overrides, key),
                ));
            }
            return Ok(());
        }

        if has_append_flag {
            let mut up = RuleUpdate::new(&name, ctx.clone());
            if item.has("condition") {
                up.cond = Some(required_str(item, "condition", &ctx)?);
                up.cond_ctx = Some(cond_ctx_of(&ctx));
            }
            if item.has("exceptions") {
                up.exceptions = Some(self.read_exceptions(item, &ctx, true)?);
            }
            return self.collector.append_rule(up);
        }

        if !item.has("condition")
            && !item.has("output")
            && !item.has("desc")
            && !item.has("priority")
        {
            let enabled = decode_bool(item, "enabled", &ctx, false)?.unwrap_or(true);
            self.warn(WarningCode::DeprecatedItem, WARNING_ENABLED, &ctx);
            return self.collector.enable_rule(&name, enabled, &ctx);
        }

        let cond = required_str(item, "condition", &ctx)?;
        let cond_ctx = cond_ctx_of(&ctx);
        let output = required_str(item, "output", &ctx)?.trim().to_string();
        let output_mark = item.get("output").map(|v| v.mark).unwrap_or_default();
        let output_ctx = ctx.child(output_mark, ItemType::RuleOutput, "");
        let desc = required_str(item, "desc", &ctx)?;
        let priority = decode_priority(item, &ctx)?;
        let source = decode_str(item, "source", &ctx, true)?.unwrap_or_else(|| "syscall".into());
        let enabled = decode_bool(item, "enabled", &ctx, true)?.unwrap_or(true);
        let warn_evttypes = decode_bool(item, "warn_evttypes", &ctx, true)?.unwrap_or(true);
        let skip_if_unknown_filter =
            decode_bool(item, "skip-if-unknown-filter", &ctx, true)?.unwrap_or(false);
        let tags = decode_seq(item, "tags", &ctx, true)?
            .unwrap_or_default()
            .into_iter()
            .collect();
        let exceptions = self.read_exceptions(item, &ctx, false)?;
        let info = RuleInfo {
            name,
            cond,
            cond_ctx,
            output,
            output_ctx,
            desc,
            priority,
            source,
            tags,
            exceptions,
            enabled,
            warn_evttypes,
            skip_if_unknown_filter,
            unknown_source: false,
            ctx,
            index: 0,
            visibility: 0,
        };
        self.collector.define_rule(info, self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Collector, Vec<LoadWarning>, Result<(), Fail>) {
        let mut c = Collector::default();
        let mut w = Vec::new();
        let docs = yaml::load_all(text).unwrap();
        let r = Reader {
            collector: &mut c,
            warnings: &mut w,
            engine_version: Version(0, 43, 0),
        }
        .read(&docs, &Context::file("t.yaml"));
        (c, w, r)
    }

    fn err(text: &str) -> Fail {
        read(text).2.unwrap_err()
    }

    #[test]
    fn reads_lists_macros_and_rules() {
        let (c, w, r) = read(
            "- required_engine_version: 10\n- list: l\n  items: [a, \"b c\"]\n- macro: m\n  condition: proc.name in (l)\n- rule: r\n  desc: d\n  condition: evt.type=open and m\n  output: \"  o %proc.name  \"\n  priority: info\n  tags: [b, a]\n",
        );
        r.unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.lists.get("l").unwrap().items, vec!["a", "b c"]);
        assert_eq!(c.macros.get("m").unwrap().cond, "proc.name in (l)");
        let rule = c.rules.get("r").unwrap();
        assert_eq!(rule.output, "o %proc.name");
        assert_eq!(rule.priority, Priority::Informational);
        assert_eq!(rule.tags.iter().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(rule.ctx.last().unwrap().pos.line, 5);
        assert_eq!(c.required_engine_version, Some(Version(0, 10, 0)));
    }

    #[test]
    fn structural_errors_use_falcos_messages() {
        assert_eq!(
            err("foo: bar").message,
            "Rules content is not yaml array of objects"
        );
        assert_eq!(err("This is not yaml").message, "Rules content is not yaml");
        let e = err("- foo\n");
        assert_eq!(
            e.context.last().unwrap().item_type,
            ItemType::RulesContentItem
        );
        assert_eq!(
            err("- list:\n  items: [foo]").message,
            "Mapping for key 'list' is empty"
        );
        let e = err("- list: bad_list\n");
        assert_eq!(e.message, "Item has no mapping for key 'items'");
        assert_eq!(e.context.last().unwrap().item_name, "bad_list");
        assert_eq!(e.code, ErrorCode::YamlValidate);
        let e = err(
            "- rule: no output rule\n  desc: d\n  condition: evt.type=open\n  priority: INFO\n",
        );
        assert_eq!(e.message, "Item has no mapping for key 'output'");
        let e = err("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: loud\n");
        assert_eq!(e.message, "Invalid priority");
        assert_eq!(e.context.last().unwrap().item_type, ItemType::RulePriority);
        let e = err("- required_engine_version: not-a-number\n");
        assert_eq!(e.message, "Unable to parse engine version 'not-a-number' as a semver string. Expected \"x.y.z\" semver format.");
        let e = err("- required_engine_version: 9999999\n");
        assert_eq!(e.code, ErrorCode::Validate);
        assert_eq!(
            e.message,
            "Rules require engine version 0.9999999.0, but engine version is 0.43.0"
        );
        let e =
            err("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  tags: x\n");
        assert_eq!(e.message, "Value is not a sequence");
        let e = err("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  enabled: maybe\n");
        assert_eq!(e.message, "Can't decode YAML scalar value");
    }

    #[test]
    fn append_and_override() {
        let base = "- list: l\n  items: [a]\n- macro: m\n  condition: a\n- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  tags: [t1]\n";
        let (c, w, r) = read(&format!(
            "{base}- list: l\n  items: [b]\n  override:\n    items: append\n- macro: m\n  condition: or b\n  append: true\n- rule: r\n  condition: and x\n  tags: [t2]\n  priority: debug\n  override:\n    condition: append\n    tags: append\n    priority: replace\n"
        ));
        r.unwrap();
        assert_eq!(c.lists.get("l").unwrap().items, vec!["a", "b"]);
        assert_eq!(c.macros.get("m").unwrap().cond, "a or b");
        let rule = c.rules.get("r").unwrap();
        assert_eq!(rule.cond, "c and x");
        assert_eq!(rule.priority, Priority::Debug);
        assert_eq!(rule.tags.len(), 2);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, WarningCode::DeprecatedItem);

        let e = err(&format!(
            "{base}- rule: r\n  condition: x\n  override:\n    priority: append\n"
        ));
        assert_eq!(
            e.message,
            "Key 'priority' cannot be appended to, use 'replace' instead"
        );
        let e = err(&format!(
            "{base}- rule: r\n  condition: x\n  desc: y\n  override:\n    condition: append\n"
        ));
        assert_eq!(
            e.message,
            "Unexpected key 'desc': no corresponding entry under 'override' is defined."
        );
        let e = err(&format!(
            "{base}- rule: r\n  override:\n    condition: append\n"
        ));
        assert_eq!(
            e.message,
            "An append override for 'condition' was specified but 'condition' is not defined"
        );
        let e = err(&format!(
            "{base}- rule: r\n  condition: x\n  append: true\n  override:\n    condition: append\n"
        ));
        assert_eq!(e.message, ERROR_OVERRIDE_APPEND);
        let e = err(&format!(
            "{base}- rule: r\n  condition: x\n  override:\n    condition: merge\n"
        ));
        assert!(e
            .message
            .starts_with("Invalid override operation for key 'condition': 'merge'"));
        let e = err("- rule: no condition rule\n  append: true\n");
        assert!(e.message.contains("no rule by that name already exists"));
        let (c, _, r) = read(&format!("{base}- rule: r\n  enabled: false\n"));
        r.unwrap();
        assert!(!c.rules.get("r").unwrap().enabled);
    }

    #[test]
    fn exceptions_forms() {
        let (c, _, r) = read(
            "- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  exceptions:\n  - name: ex1\n    fields: [proc.name, fd.name]\n    comps: [=, startswith]\n    values:\n    - [cat, /tmp]\n    - [[a, b], /var]\n  - name: ex2\n    fields: proc.name\n    values: [x, y]\n",
        );
        r.unwrap();
        let exs = &c.rules.get("r").unwrap().exceptions;
        assert_eq!(exs.len(), 2);
        assert!(exs[0].fields.is_list);
        assert!(exs[0].values[1].items[0].is_list);
        assert_eq!(exs[1].comps.item, "in");
        assert_eq!(exs[1].values.len(), 2);

        let e = err("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  exceptions:\n  - fields: [proc.name]\n");
        assert_eq!(e.message, "Item has no mapping for key 'name'");
        assert_eq!(e.context.last().unwrap().item_type, ItemType::Exception);
        let e = err("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  exceptions:\n  - name: ex1\n");
        assert_eq!(e.message, "Item has no mapping for key 'fields'");
        assert_eq!(e.context.last().unwrap().item_name, "ex1");
    }

    #[test]
    fn unknown_items_and_keys_are_warnings() {
        let (_, w, r) = read("- foo: bar\n- list: l\n  items: []\n  colour: red\n");
        r.unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].message, "Unknown top level item");
        assert_eq!(w[0].code, WarningCode::UnknownItem);
        assert!(w[1].message.contains("'colour'"));
    }
}
