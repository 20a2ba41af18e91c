//! The definitions collected from rules files before compilation: lists, macros and rules in
//! definition order, with Falco's define / append / selective-replace / enable semantics, and
//! the checks Falco makes when an item is collected (exceptions' shape, unknown sources,
//! engine and plugin version requirements).

use std::collections::{BTreeSet, HashMap};

use super::result::{Context, ErrorCode, LoadError, LoadWarning, WarningCode};
use crate::priority::Priority;

/// Definitions indexed by name, kept in first-definition order.
#[derive(Clone, Debug)]
pub struct Indexed<T> {
    items: Vec<T>,
    by_name: HashMap<String, usize>,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed {
            items: Vec::new(),
            by_name: HashMap::new(),
        }
    }
}

impl<T> Indexed<T> {
    pub fn get(&self, name: &str) -> Option<&T> {
        self.by_name.get(name).map(|&i| &self.items[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        match self.by_name.get(name) {
            Some(&i) => self.items.get_mut(i),
            None => None,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn insert(&mut self, name: &str, item: T) {
        self.by_name.insert(name.to_string(), self.items.len());
        self.items.push(item);
    }
}

/// `index`: when the name was first defined (its place in the load order); `visibility`: the
/// last time it was (re)defined or changed. A list or macro sees only names whose `index` is
/// below its own `visibility`.
#[derive(Clone, Debug)]
pub struct ListInfo {
    pub name: String,
    pub items: Vec<String>,
    pub ctx: Context,
    pub index: u32,
    pub visibility: u32,
}

#[derive(Clone, Debug)]
pub struct MacroInfo {
    pub name: String,
    pub cond: String,
    pub ctx: Context,
    pub cond_ctx: Context,
    pub index: u32,
    pub visibility: u32,
}

/// A `fields`, `comps` or `values` entry of an exception: a string, or a list of entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub is_list: bool,
    pub item: String,
    pub items: Vec<Entry>,
}

impl Entry {
    pub fn scalar(s: &str) -> Entry {
        Entry {
            is_list: false,
            item: s.to_string(),
            items: Vec::new(),
        }
    }

    /// Whether the entry was given (Falco treats an empty one as absent).
    pub fn is_valid(&self) -> bool {
        if self.is_list {
            !self.items.is_empty()
        } else {
            !self.item.is_empty()
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExceptionInfo {
    pub name: String,
    pub fields: Entry,
    pub comps: Entry,
    pub values: Vec<Entry>,
    pub ctx: Context,
}

#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub name: String,
    pub cond: String,
    pub cond_ctx: Context,
    pub output: String,
    pub output_ctx: Context,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub tags: BTreeSet<String>,
    pub exceptions: Vec<ExceptionInfo>,
    pub enabled: bool,
    pub warn_evttypes: bool,
    pub skip_if_unknown_filter: bool,
    pub unknown_source: bool,
    pub ctx: Context,
    pub index: u32,
    pub visibility: u32,
}

/// An `append`/`override` item for an existing rule: only the keys given are set.
#[derive(Clone, Debug)]
pub struct RuleUpdate {
    pub name: String,
    pub ctx: Context,
    pub cond: Option<String>,
    pub cond_ctx: Option<Context>,
    pub output: Option<String>,
    pub desc: Option<String>,
    pub tags: Option<BTreeSet<String>>,
    pub exceptions: Option<Vec<ExceptionInfo>>,
    pub priority: Option<Priority>,
    pub enabled: Option<bool>,
    pub warn_evttypes: Option<bool>,
    pub skip_if_unknown_filter: Option<bool>,
}

impl RuleUpdate {
    pub fn new(name: &str, ctx: Context) -> RuleUpdate {
        RuleUpdate {
            name: name.to_string(),
            ctx,
            cond: None,
            cond_ctx: None,
            output: None,
            desc: None,
            tags: None,
            exceptions: None,
            priority: None,
            enabled: None,
            warn_evttypes: None,
            skip_if_unknown_filter: None,
        }
    }

    fn has_any_value(&self) -> bool {
        self.cond.as_ref().is_some_and(|c| !c.is_empty())
            || self.output.as_ref().is_some_and(|c| !c.is_empty())
            || self.desc.as_ref().is_some_and(|c| !c.is_empty())
            || self.tags.is_some()
            || self.exceptions.is_some()
            || self.priority.is_some()
            || self.enabled.is_some()
            || self.warn_evttypes.is_some()
            || self.skip_if_unknown_filter.is_some()
    }
}

/// A `major.minor.patch` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let core = s.split(['-', '+']).next().unwrap_or(s);
        let mut parts = core.split('.');
        let mut num = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let v = Version(num()?, num()?, num()?);
        if parts.next().is_some() {
            return None;
        }
        Some(v)
    }

    /// libsinsp's rule: same major, and at least the requested version.
    pub fn compatible_with(self, requested: Version) -> bool {
        self.0 == requested.0 && self >= requested
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The comparison operators a condition accepts (an exception's `comps` must be one of them).
pub const OPERATORS: &[&str] = &[
    "=",
    "==",
    "!=",
    "<=",
    ">=",
    "<",
    ">",
    "contains",
    "icontains",
    "bcontains",
    "glob",
    "iglob",
    "bstartswith",
    "startswith",
    "endswith",
    "in",
    "intersects",
    "pmatch",
    "exists",
    "regex",
];

/// Operators whose right-hand side is a list.
pub const LIST_OPERATORS: &[&str] = &["in", "intersects", "pmatch"];

/// The state shared by all files of one load: what was defined, in order.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    pub lists: Indexed<ListInfo>,
    pub macros: Indexed<MacroInfo>,
    pub rules: Indexed<RuleInfo>,
    pub required_engine_version: Option<Version>,
    pub required_plugin_versions: Vec<Vec<(String, String)>>,
    next_index: u32,
}

/// What collecting one item can report besides success.
pub type Fail = Box<LoadError>;

pub fn fail(code: ErrorCode, message: impl Into<String>, ctx: &Context) -> Fail {
    Box::new(LoadError {
        code,
        message: message.into(),
        context: ctx.clone(),
        snippet: String::new(),
    })
}

fn invalid(message: impl Into<String>, ctx: &Context) -> Fail {
    fail(ErrorCode::Validate, message, ctx)
}

/// Whether `field` names a field of the source (`is_field_defined`): the registry's names and
/// their argument forms.
pub fn is_field_defined(field: &str) -> bool {
    let (name, bracket) = match field.find('[') {
        Some(i) if field.ends_with(']') => (&field[..i], Some(&field[i + 1..field.len() - 1])),
        _ => (field, None),
    };
    crate::fields::registry::resolve(name, bracket).is_ok()
}

/// Checks an exception's shape and fills in Falco's default comparisons.
pub fn validate_exception(ex: &mut ExceptionInfo, known_source: bool) -> Result<(), Fail> {
    if ex.fields.is_list {
        if !ex.comps.is_valid() {
            ex.comps.is_list = true;
            ex.comps.items = ex.fields.items.iter().map(|_| Entry::scalar("=")).collect();
        }
        if ex.fields.items.len() != ex.comps.items.len() {
            return Err(invalid(
                "Fields and comps lists must have equal length",
                &ex.ctx,
            ));
        }
        for comp in &ex.comps.items {
            if !OPERATORS.contains(&comp.item.as_str()) {
                return Err(invalid(
                    format!("'{}' is not a supported comparison operator", comp.item),
                    &ex.ctx,
                ));
            }
        }
        if known_source {
            for field in &ex.fields.items {
                if !is_field_defined(&field.item) {
                    return Err(invalid(
                        format!("'{}' is not a supported filter field", field.item),
                        &ex.ctx,
                    ));
                }
            }
        }
    } else {
        if !ex.comps.is_valid() {
            ex.comps = Entry::scalar("in");
        }
        if ex.comps.is_list {
            return Err(invalid("Fields and comps must both be strings", &ex.ctx));
        }
        if !LIST_OPERATORS.contains(&ex.comps.item.as_str()) {
            return Err(invalid(
                "When fields is a single value, comps must be one of (in, pmatch, intersects)",
                &ex.ctx,
            ));
        }
        if known_source && !is_field_defined(&ex.fields.item) {
            return Err(invalid(
                format!("'{}' is not a supported filter field", ex.fields.item),
                &ex.ctx,
            ));
        }
    }
    Ok(())
}

/// The event sources rules can be written for in this build.
pub fn is_known_source(source: &str) -> bool {
    source == "syscall"
}

impl Collector {
    fn next(&mut self) -> u32 {
        let i = self.next_index;
        self.next_index += 1;
        i
    }

    pub fn define_engine_version(
        &mut self,
        required: Version,
        engine: Version,
        ctx: &Context,
    ) -> Result<(), Fail> {
        if !engine.compatible_with(required) {
            return Err(invalid(
                format!("Rules require engine version {required}, but engine version is {engine}"),
                ctx,
            ));
        }
        if self.required_engine_version.map_or(true, |v| v < required) {
            self.required_engine_version = Some(required);
        }
        Ok(())
    }

    pub fn define_plugin_versions(
        &mut self,
        alternatives: Vec<(String, String)>,
        ctx: &Context,
    ) -> Result<(), Fail> {
        let mut seen = std::collections::HashSet::new();
        for (name, version) in &alternatives {
            if Version::parse(version).is_none() {
                return Err(invalid(
                    format!("Invalid required version '{version}' for plugin '{name}'"),
                    ctx,
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(invalid(
                    format!(
                        "Defined multiple alternative version requirements for plugin '{name}'"
                    ),
                    ctx,
                ));
            }
        }
        self.required_plugin_versions.push(alternatives);
        Ok(())
    }

    pub fn define_list(&mut self, mut info: ListInfo) {
        let id = self.next();
        match self.lists.get_mut(&info.name.clone()) {
            Some(prev) => {
                info.index = prev.index;
                info.visibility = id;
                *prev = info;
            }
            None => {
                info.index = id;
                info.visibility = id;
                let name = info.name.clone();
                self.lists.insert(&name, info);
            }
        }
    }

    pub fn append_list(&mut self, info: ListInfo) -> Result<(), Fail> {
        let id = self.next();
        let Some(prev) = self.lists.get_mut(&info.name) else {
            return Err(invalid(
                "List uses 'append' or 'override.items: append' but no list by that name already exists",
                &info.ctx,
            ));
        };
        prev.items.extend(info.items);
        prev.visibility = id;
        Ok(())
    }

    pub fn define_macro(&mut self, mut info: MacroInfo) {
        let id = self.next();
        match self.macros.get_mut(&info.name.clone()) {
            Some(prev) => {
                info.index = prev.index;
                info.visibility = id;
                *prev = info;
            }
            None => {
                info.index = id;
                info.visibility = id;
                let name = info.name.clone();
                self.macros.insert(&name, info);
            }
        }
    }

    pub fn append_macro(&mut self, info: MacroInfo) -> Result<(), Fail> {
        let id = self.next();
        let Some(prev) = self.macros.get_mut(&info.name) else {
            return Err(invalid(
                "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
                &info.ctx,
            ));
        };
        prev.cond.push(' ');
        prev.cond.push_str(&info.cond);
        prev.visibility = id;
        Ok(())
    }

    pub fn define_rule(
        &mut self,
        mut info: RuleInfo,
        warnings: &mut Vec<LoadWarning>,
    ) -> Result<(), Fail> {
        if let Some(prev) = self.rules.get(&info.name) {
            if prev.source != info.source {
                return Err(invalid(
                    "Rule has been re-defined with a different source",
                    &info.ctx,
                ));
            }
        }
        let known = is_known_source(&info.source);
        if !known {
            info.unknown_source = true;
            warnings.push(LoadWarning {
                code: WarningCode::UnknownSource,
                message: format!("Unknown source {}, skipping", info.source),
                context: info.ctx.clone(),
                snippet: String::new(),
            });
        }
        for ex in &mut info.exceptions {
            if !ex.fields.is_valid() {
                return Err(invalid(
                    "Rule exception item must have fields property with a list of fields",
                    &ex.ctx,
                ));
            }
            validate_exception(ex, known)?;
        }
        let id = self.next();
        match self.rules.get_mut(&info.name.clone()) {
            Some(prev) => {
                info.index = prev.index;
                info.visibility = id;
                *prev = info;
            }
            None => {
                info.index = id;
                info.visibility = id;
                let name = info.name.clone();
                self.rules.insert(&name, info);
            }
        }
        Ok(())
    }

    pub fn append_rule(&mut self, update: RuleUpdate) -> Result<(), Fail> {
        let id = self.next();
        let Some(prev) = self.rules.get_mut(&update.name) else {
            return Err(invalid(
                "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
                &update.ctx,
            ));
        };
        if !update.has_any_value() {
            return Err(invalid(
                "Appended rule must have exceptions or condition property",
                &update.ctx,
            ));
        }
        let known = !prev.unknown_source;
        if let Some(cond) = update.cond.filter(|c| !c.is_empty()) {
            prev.cond.push(' ');
            prev.cond.push_str(&cond);
        }
        if let Some(output) = update.output.filter(|c| !c.is_empty()) {
            prev.output.push(' ');
            prev.output.push_str(&output);
        }
        if let Some(desc) = update.desc.filter(|c| !c.is_empty()) {
            prev.desc.push(' ');
            prev.desc.push_str(&desc);
        }
        if let Some(tags) = update.tags {
            prev.tags.extend(tags);
        }
        if let Some(exceptions) = update.exceptions {
            for mut ex in exceptions {
                match prev.exceptions.iter_mut().find(|p| p.name == ex.name) {
                    None => {
                        if !ex.fields.is_valid() {
                            return Err(invalid(
                                "Rule exception must have fields property with a list of fields",
                                &ex.ctx,
                            ));
                        }
                        if ex.values.is_empty() {
                            return Err(invalid(
                                "Rule exception must have values property with a list of values",
                                &ex.ctx,
                            ));
                        }
                        validate_exception(&mut ex, known)?;
                        prev.exceptions.push(ex);
                    }
                    Some(existing) => {
                        if ex.fields.is_valid() {
                            return Err(invalid(
                                "Can not append exception fields to existing exception, only values",
                                &ex.ctx,
                            ));
                        }
                        if ex.comps.is_valid() {
                            return Err(invalid(
                                "Can not append exception comps to existing exception, only values",
                                &ex.ctx,
                            ));
                        }
                        existing.values.extend(ex.values);
                    }
                }
            }
        }
        prev.visibility = id;
        Ok(())
    }

    pub fn replace_rule(&mut self, update: RuleUpdate) -> Result<(), Fail> {
        let id = self.next();
        let Some(prev) = self.rules.get_mut(&update.name) else {
            return Err(invalid(
                "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
                &update.ctx,
            ));
        };
        if !update.has_any_value() {
            return Err(invalid(
                "The rule must have at least one field that can be replaced",
                &update.ctx,
            ));
        }
        let known = !prev.unknown_source;
        if let Some(cond) = update.cond {
            prev.cond = cond;
            if let Some(c) = update.cond_ctx {
                prev.cond_ctx = c;
            }
        }
        if let Some(output) = update.output {
            prev.output = output;
        }
        if let Some(desc) = update.desc {
            prev.desc = desc;
        }
        if let Some(tags) = update.tags {
            prev.tags = tags;
        }
        if let Some(mut exceptions) = update.exceptions {
            for ex in &mut exceptions {
                if !ex.fields.is_valid() {
                    return Err(invalid(
                        "Rule exception must have fields property with a list of fields",
                        &ex.ctx,
                    ));
                }
                validate_exception(ex, known)?;
            }
            prev.exceptions = exceptions;
        }
        if let Some(p) = update.priority {
            prev.priority = p;
        }
        if let Some(e) = update.enabled {
            prev.enabled = e;
        }
        if let Some(w) = update.warn_evttypes {
            prev.warn_evttypes = w;
        }
        if let Some(s) = update.skip_if_unknown_filter {
            prev.skip_if_unknown_filter = s;
        }
        prev.visibility = id;
        Ok(())
    }

    /// A rule item with only `rule` and `enabled`.
    pub fn enable_rule(&mut self, name: &str, enabled: bool, ctx: &Context) -> Result<(), Fail> {
        let Some(prev) = self.rules.get_mut(name) else {
            return Err(invalid(
                "Rule has 'enabled' key but no rule by that name already exists",
                ctx,
            ));
        };
        prev.enabled = enabled;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_compare_like_libsinsp() {
        let engine = Version::parse("0.43.0").unwrap();
        assert!(engine.compatible_with(Version(0, 31, 0)));
        assert!(engine.compatible_with(Version(0, 43, 0)));
        assert!(!engine.compatible_with(Version(0, 9999999, 0)));
        assert!(!engine.compatible_with(Version(1, 0, 0)));
        assert_eq!(Version::parse("not-a-number"), None);
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("1.2.3-rc1"), Some(Version(1, 2, 3)));
    }

    fn exception(fields: Entry, comps: Entry) -> ExceptionInfo {
        ExceptionInfo {
            name: "ex1".into(),
            fields,
            comps,
            values: vec![],
            ctx: Context::file("f"),
        }
    }

    fn list(items: &[&str]) -> Entry {
        Entry {
            is_list: true,
            item: String::new(),
            items: items.iter().map(|s| Entry::scalar(s)).collect(),
        }
    }

    #[test]
    fn exception_defaults_and_checks() {
        let mut ex = exception(list(&["proc.name", "fd.name"]), Entry::default());
        validate_exception(&mut ex, true).unwrap();
        assert_eq!(ex.comps, list(&["=", "="]));

        let mut ex = exception(Entry::scalar("proc.name"), Entry::default());
        validate_exception(&mut ex, true).unwrap();
        assert_eq!(ex.comps, Entry::scalar("in"));

        let mut ex = exception(list(&["proc.name"]), list(&["=", "="]));
        let e = validate_exception(&mut ex, true).unwrap_err();
        assert_eq!(e.message, "Fields and comps lists must have equal length");

        let mut ex = exception(list(&["proc.name"]), list(&["no-comp"]));
        let e = validate_exception(&mut ex, true).unwrap_err();
        assert_eq!(
            e.message,
            "'no-comp' is not a supported comparison operator"
        );

        let mut ex = exception(list(&["not.exist"]), Entry::default());
        let e = validate_exception(&mut ex, true).unwrap_err();
        assert_eq!(e.message, "'not.exist' is not a supported filter field");
        // Fields of unknown sources are not checked.
        let mut ex = exception(list(&["not.exist"]), Entry::default());
        validate_exception(&mut ex, false).unwrap();

        let mut ex = exception(Entry::scalar("proc.name"), Entry::scalar("="));
        let e = validate_exception(&mut ex, true).unwrap_err();
        assert!(e.message.starts_with("When fields is a single value"));

        assert!(is_field_defined("proc.aname[2]"));
        assert!(is_field_defined("evt.arg.flags"));
        assert!(is_field_defined(
            "container.mount.dest[/var/run/docker.sock]"
        ));
    }

    fn rule(name: &str, cond: &str) -> RuleInfo {
        RuleInfo {
            name: name.into(),
            cond: cond.into(),
            cond_ctx: Context::file("f"),
            output: "out".into(),
            output_ctx: Context::file("f"),
            desc: "d".into(),
            priority: Priority::Warning,
            source: "syscall".into(),
            tags: BTreeSet::new(),
            exceptions: vec![],
            enabled: true,
            warn_evttypes: true,
            skip_if_unknown_filter: false,
            unknown_source: false,
            ctx: Context::file("f"),
            index: 0,
            visibility: 0,
        }
    }

    #[test]
    fn append_replace_and_enable() {
        let mut c = Collector::default();
        let mut w = vec![];
        c.define_rule(rule("r", "evt.type=open"), &mut w).unwrap();
        let mut up = RuleUpdate::new("r", Context::file("f"));
        up.cond = Some("and proc.name=cat".into());
        up.tags = Some(["a".to_string()].into());
        c.append_rule(up).unwrap();
        assert_eq!(
            c.rules.get("r").unwrap().cond,
            "evt.type=open and proc.name=cat"
        );

        let mut up = RuleUpdate::new("r", Context::file("f"));
        up.priority = Some(Priority::Debug);
        up.tags = Some(["b".to_string()].into());
        c.replace_rule(up).unwrap();
        let r = c.rules.get("r").unwrap();
        assert_eq!(r.priority, Priority::Debug);
        assert_eq!(r.tags.iter().collect::<Vec<_>>(), vec!["b"]);

        c.enable_rule("r", false, &Context::file("f")).unwrap();
        assert!(!c.rules.get("r").unwrap().enabled);

        let e = c
            .append_rule(RuleUpdate::new("r", Context::file("f")))
            .unwrap_err();
        assert_eq!(
            e.message,
            "Appended rule must have exceptions or condition property"
        );
        let e = c
            .append_rule(RuleUpdate::new("missing", Context::file("f")))
            .unwrap_err();
        assert!(e.message.contains("no rule by that name already exists"));
        assert!(c.enable_rule("missing", true, &Context::file("f")).is_err());

        // Redefinition replaces but keeps the original position.
        c.define_rule(rule("r2", "evt.type=close"), &mut w).unwrap();
        c.define_rule(rule("r", "evt.type=exec"), &mut w).unwrap();
        let names: Vec<_> = c.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["r", "r2"]);
        assert_eq!(c.rules.get("r").unwrap().cond, "evt.type=exec");
    }

    #[test]
    fn unknown_sources_are_warned_and_marked() {
        let mut c = Collector::default();
        let mut w = vec![];
        let mut r = rule("ct", "ct.name=x");
        r.source = "aws_cloudtrail".into();
        c.define_rule(r, &mut w).unwrap();
        assert_eq!(w[0].code, WarningCode::UnknownSource);
        assert_eq!(w[0].message, "Unknown source aws_cloudtrail, skipping");
        assert!(c.rules.get("ct").unwrap().unknown_source);
    }

    #[test]
    fn exception_values_append_to_existing_exceptions() {
        let mut c = Collector::default();
        let mut w = vec![];
        let mut r = rule("r", "evt.type=open");
        let mut ex = exception(list(&["proc.name"]), Entry::default());
        ex.values = vec![list(&["cat"])];
        r.exceptions.push(ex);
        c.define_rule(r, &mut w).unwrap();
        let mut up = RuleUpdate::new("r", Context::file("f"));
        let mut more = exception(Entry::default(), Entry::default());
        more.values = vec![list(&["dog"])];
        up.exceptions = Some(vec![more]);
        c.append_rule(up).unwrap();
        assert_eq!(c.rules.get("r").unwrap().exceptions[0].values.len(), 2);

        let mut up = RuleUpdate::new("r", Context::file("f"));
        let mut new_ex = exception(Entry::default(), Entry::default());
        new_ex.name = "ex2".into();
        new_ex.values = vec![list(&["x"])];
        up.exceptions = Some(vec![new_ex]);
        let e = c.append_rule(up).unwrap_err();
        assert_eq!(
            e.message,
            "Rule exception must have fields property with a list of fields"
        );
    }
}
