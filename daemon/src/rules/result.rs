//! Load results as Falco reports them: per file, errors and warnings with Falco's codes, each
//! with a context (the chain of items it happened in, with file, line and column), the quoted
//! source line, and the text and JSON renderings `falco -V` prints.

use serde_json::{json, Value};

use super::yaml::Mark;

/// Falco's error codes (`falco_load_result.h`), in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    FileRead,
    YamlParse,
    YamlValidate,
    CompileCondition,
    CompileOutput,
    Validate,
    Extension,
}

impl ErrorCode {
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "LOAD_ERR_FILE_READ",
            ErrorCode::YamlParse => "LOAD_ERR_YAML_PARSE",
            ErrorCode::YamlValidate => "LOAD_ERR_YAML_VALIDATE",
            ErrorCode::CompileCondition => "LOAD_ERR_COMPILE_CONDITION",
            ErrorCode::CompileOutput => "LOAD_ERR_COMPILE_OUTPUT",
            ErrorCode::Validate => "LOAD_ERR_VALIDATE",
            ErrorCode::Extension => "LOAD_ERR_EXTENSION",
        }
    }

    /// The short description (Falco prints it in text and, as `codedesc`, in JSON).
    pub fn desc(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "File read error",
            ErrorCode::YamlParse => "YAML parse error",
            ErrorCode::YamlValidate => "Error validating internal structure of YAML file",
            ErrorCode::CompileCondition => "Error compiling condition",
            ErrorCode::CompileOutput => "Error compiling output",
            ErrorCode::Validate => "Error validating rule/macro/list/exception objects",
            ErrorCode::Extension => "Error in extension item",
        }
    }
}

/// Falco's warning codes, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningCode {
    UnknownSource,
    UnsafeNaCheck,
    NoEvttype,
    UnknownFilter,
    UnusedMacro,
    UnusedList,
    UnknownItem,
    DeprecatedItem,
    Extension,
    AppendNoValues,
    ExceptionNameNotUnique,
    InvalidMacroName,
    InvalidListName,
    CompileCondition,
}

impl WarningCode {
    pub fn code(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "LOAD_UNKNOWN_SOURCE",
            WarningCode::UnsafeNaCheck => "LOAD_UNSAFE_NA_CHECK",
            WarningCode::NoEvttype => "LOAD_NO_EVTTYPE",
            WarningCode::UnknownFilter => "LOAD_UNKNOWN_FILTER",
            WarningCode::UnusedMacro => "LOAD_UNUSED_MACRO",
            WarningCode::UnusedList => "LOAD_UNUSED_LIST",
            WarningCode::UnknownItem => "LOAD_UNKNOWN_ITEM",
            WarningCode::DeprecatedItem => "LOAD_DEPRECATED_ITEM",
            WarningCode::Extension => "LOAD_WARNING_EXTENSION",
            WarningCode::AppendNoValues => "LOAD_APPEND_NO_VALUES",
            WarningCode::ExceptionNameNotUnique => "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
            WarningCode::InvalidMacroName => "LOAD_INVALID_MACRO_NAME",
            WarningCode::InvalidListName => "LOAD_INVALID_LIST_NAME",
            WarningCode::CompileCondition => "LOAD_COMPILE_CONDITION",
        }
    }

    pub fn desc(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "Unknown event source",
            WarningCode::UnsafeNaCheck => "Unsafe <NA> comparison in condition",
            WarningCode::NoEvttype => "Condition has no event-type restriction",
            WarningCode::UnknownFilter => "Unknown field or event-type in condition or output",
            WarningCode::UnusedMacro => "Unused macro",
            WarningCode::UnusedList => "Unused list",
            WarningCode::UnknownItem => "Unknown rules file item",
            WarningCode::DeprecatedItem => "Used deprecated item",
            WarningCode::Extension => "Warning in extension item",
            WarningCode::AppendNoValues => "Overriding/appending with no values",
            WarningCode::ExceptionNameNotUnique => "Multiple exceptions defined with the same name",
            WarningCode::InvalidMacroName => "Invalid macro name",
            WarningCode::InvalidListName => "Invalid list name",
            WarningCode::CompileCondition => "Warning in rule condition",
        }
    }
}

/// What a location points at (Falco's `item_type` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    ValueFor,
    Exceptions,
    Exception,
    ExceptionValues,
    ExceptionValue,
    RulesContent,
    RulesContentItem,
    RequiredEngineVersion,
    RequiredPluginVersions,
    RequiredPluginVersionsEntry,
    RequiredPluginVersionsAlternative,
    List,
    ListItem,
    Macro,
    MacroCondition,
    Rule,
    RuleCondition,
    ConditionExpression,
    RuleOutput,
    RuleOutputExpression,
    RulePriority,
    Overrides,
    ExtensionItem,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::ValueFor => "value for",
            ItemType::Exceptions => "exceptions",
            ItemType::Exception => "exception",
            ItemType::ExceptionValues => "exception values",
            ItemType::ExceptionValue => "exception value",
            ItemType::RulesContent => "rules content",
            ItemType::RulesContentItem => "rules content item",
            ItemType::RequiredEngineVersion => "required_engine_version",
            ItemType::RequiredPluginVersions => "required plugin versions",
            ItemType::RequiredPluginVersionsEntry => "required plugin versions entry",
            ItemType::RequiredPluginVersionsAlternative => "required plugin versions alternative",
            ItemType::List => "list",
            ItemType::ListItem => "list item",
            ItemType::Macro => "macro",
            ItemType::MacroCondition => "macro condition",
            ItemType::Rule => "rule",
            ItemType::RuleCondition => "rule condition",
            ItemType::ConditionExpression => "condition expression",
            ItemType::RuleOutput => "rule output",
            ItemType::RuleOutputExpression => "rule output expression",
            ItemType::RulePriority => "rule priority",
            ItemType::Overrides => "overrides",
            ItemType::ExtensionItem => "extension item",
        }
    }
}

/// One step of a context: a named source (file, or a condition's first characters), a position
/// in it, and the item found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub name: String,
    pub pos: Mark,
    pub item_type: ItemType,
    pub item_name: String,
}

/// Where a diagnostic happened: the chain from the file down to the offending node. When the last
/// step is inside a condition, `alt_content` holds the condition text (the snippet comes from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub locations: Vec<Location>,
    pub alt_content: Option<String>,
}

impl Context {
    /// The context of a whole file.
    pub fn file(name: &str) -> Context {
        Context {
            locations: vec![Location {
                name: name.to_string(),
                pos: Mark::default(),
                item_type: ItemType::RulesContent,
                item_name: String::new(),
            }],
            alt_content: None,
        }
    }

    /// A child context at `pos` in the same source as this one.
    pub fn child(&self, pos: Mark, item_type: ItemType, item_name: &str) -> Context {
        let mut c = self.clone();
        let name = c.file_name().to_string();
        c.alt_content = None;
        c.locations.push(Location {
            name,
            pos,
            item_type,
            item_name: item_name.to_string(),
        });
        c
    }

    /// A context inside `condition` (which starts at this context's last position) at byte
    /// offset `at`: Falco names such a location after the condition's first 20 characters.
    pub fn in_condition(&self, condition: &str, at: usize) -> Context {
        let mut c = self.clone();
        let mut name: String = if condition.chars().count() > 20 {
            let head: String = condition.chars().take(17).collect();
            format!("\"{head}...\"")
        } else {
            format!("\"{condition}\"")
        };
        name = name.replace(['\n', '\r'], " ");
        let at = at.min(condition.len());
        let before = condition.get(..at).unwrap_or(condition);
        let line = before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => before[nl + 1..].chars().count(),
            None => before.chars().count(),
        };
        let parent = self.locations.last().map(|l| l.pos).unwrap_or_default();
        c.locations.push(Location {
            name,
            pos: Mark {
                offset: parent.offset + before.chars().count(),
                line: parent.line + line,
                column: parent.column + col + 1,
            },
            item_type: ItemType::ConditionExpression,
            item_name: String::new(),
        });
        c.alt_content = Some(condition.to_string());
        c
    }

    /// The file this context belongs to.
    pub fn file_name(&self) -> &str {
        self.locations
            .first()
            .map(|l| l.name.as_str())
            .unwrap_or("")
    }

    pub fn last(&self) -> Option<&Location> {
        self.locations.last()
    }

    /// Falco's "In rule 'x': (file:3:2)" lines.
    pub fn as_text(&self) -> String {
        let mut out = String::new();
        for (i, loc) in self.locations.iter().enumerate() {
            out.push_str(if i == 0 { "In " } else { "    " });
            out.push_str(loc.item_type.as_str());
            if !loc.item_name.is_empty() {
                out.push_str(&format!(" '{}'", loc.item_name));
            }
            out.push_str(&format!(
                ": ({}:{}:{})\n",
                loc.name, loc.pos.line, loc.pos.column
            ));
        }
        out
    }

    pub fn as_json(&self) -> Value {
        let locations: Vec<Value> = self
            .locations
            .iter()
            .map(|loc| {
                json!({
                    "item_type": loc.item_type.as_str(),
                    "item_name": loc.item_name,
                    "position": {
                        "name": loc.name,
                        "line": loc.pos.line,
                        "column": loc.pos.column,
                        "offset": loc.pos.offset,
                    }
                })
            })
            .collect();
        json!({ "locations": locations })
    }

    /// The source line holding the last location, with a `^` under the position (at most
    /// `width` characters around it), as Falco quotes the offending text.
    pub fn snippet(&self, file_content: &str) -> String {
        let content: Vec<char> = match &self.alt_content {
            Some(alt) => alt.chars().collect(),
            None => file_content.chars().collect(),
        };
        let Some(loc) = self.locations.last() else {
            return "<No context available>\n".to_string();
        };
        let offset = if self.alt_content.is_some() {
            // Positions inside a condition are relative to the condition text.
            let parent = self
                .locations
                .len()
                .checked_sub(2)
                .and_then(|i| self.locations.get(i))
                .map(|l| l.pos.offset)
                .unwrap_or(0);
            loc.pos.offset.saturating_sub(parent)
        } else {
            loc.pos.offset
        };
        snippet_at(&content, offset, 160)
    }
}

fn snippet_at(content: &[char], offset: usize, width: usize) -> String {
    if content.is_empty() {
        return "<No context available>\n".to_string();
    }
    let half = width / 2;
    let mut pos = offset;
    while pos > 0 && (pos >= content.len() || content[pos] == '\n') {
        pos -= 1;
    }
    let mut from = pos;
    while from > 0 && content[from] != '\n' && pos - from < half {
        from -= 1;
    }
    let mut to = pos;
    while to + 1 < content.len() && content[to] != '\n' && to - pos < half {
        to += 1;
    }
    if content[from] == '\n' {
        from += 1;
    }
    if to < content.len() && content[to] == '\n' && to > 0 {
        to -= 1;
    }
    if from > to {
        return "<No context available>\n".to_string();
    }
    // Elided on characters, not bytes: a cut inside a multi-byte character is no string.
    let mut line: Vec<char> = content[from..=to].to_vec();
    if line.is_empty() {
        return "<No context available>\n".to_string();
    }
    if pos - from >= half && line.len() >= 3 {
        line[..3].fill('.');
    }
    if to - pos >= half && line.len() >= 3 {
        let n = line.len();
        line[n - 3..].fill('.');
    }
    let mut out: String = line.into_iter().collect();
    out.push('\n');
    out.push_str(&" ".repeat(pos.saturating_sub(from)));
    out.push_str("^\n");
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic<C> {
    pub code: C,
    pub message: String,
    pub context: Context,
    /// The quoted source text (from [`Context::snippet`]).
    pub snippet: String,
}

pub type LoadError = Diagnostic<ErrorCode>;
pub type LoadWarning = Diagnostic<WarningCode>;

/// The result of loading one rules file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub name: String,
    pub errors: Vec<LoadError>,
    pub warnings: Vec<LoadWarning>,
}

impl FileReport {
    pub fn new(name: &str) -> FileReport {
        FileReport {
            name: name.to_string(),
            ..FileReport::default()
        }
    }

    pub fn successful(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn has_warnings(&self) -> bool {
        !self.warnings.is_empty()
    }

    /// Falco's verbose rendering: `name: Ok` / `name: Invalid`, then each error and warning with
    /// its context lines, the quoted source line and `CODE (desc): message`.
    pub fn as_text(&self) -> String {
        let mut os = String::new();
        if !self.name.is_empty() {
            os.push_str(&self.name);
            os.push_str(": ");
        }
        if self.successful() {
            os.push_str("Ok");
            if self.has_warnings() {
                os.push_str(", with warnings");
            }
        } else {
            os.push_str("Invalid");
        }
        if !self.errors.is_empty() {
            os.push_str(&format!("\n{} Errors:\n", self.errors.len()));
            for e in &self.errors {
                os.push_str(&e.context.as_text());
                os.push_str("------\n");
                os.push_str(&e.snippet);
                os.push_str("------\n");
                os.push_str(&format!(
                    "{} ({}): {}\n",
                    e.code.code(),
                    e.code.desc(),
                    e.message
                ));
            }
        }
        if !self.warnings.is_empty() {
            os.push_str(&format!("\n{} Warnings:\n", self.warnings.len()));
            for w in &self.warnings {
                os.push_str(&w.context.as_text());
                os.push_str("------\n");
                os.push_str(&w.snippet);
                os.push_str("------\n");
                os.push_str(&format!(
                    "{} ({}): {}\n",
                    w.code.code(),
                    w.code.desc(),
                    w.message
                ));
            }
        }
        os
    }

    /// One entry of `falco_load_results`.
    pub fn as_json(&self) -> Value {
        fn diag<C: Copy>(
            d: &Diagnostic<C>,
            code: impl Fn(C) -> &'static str,
            desc: impl Fn(C) -> &'static str,
        ) -> Value {
            let mut context = d.context.as_json();
            context["snippet"] = Value::String(d.snippet.clone());
            json!({
                "code": code(d.code),
                "codedesc": desc(d.code),
                "message": d.message,
                "context": context,
            })
        }
        json!({
            "name": self.name,
            "successful": self.successful(),
            "errors": self.errors.iter().map(|e| diag(e, ErrorCode::code, ErrorCode::desc)).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(|w| diag(w, WarningCode::code, WarningCode::desc)).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(offset: usize, line: usize, column: usize) -> Mark {
        Mark {
            offset,
            line,
            column,
        }
    }

    #[test]
    fn context_text_lists_every_step() {
        let ctx = Context::file("r.yaml").child(mark(10, 2, 2), ItemType::Rule, "my rule");
        assert_eq!(
            ctx.as_text(),
            "In rules content: (r.yaml:0:0)\n    rule 'my rule': (r.yaml:2:2)\n"
        );
        let j = ctx.as_json();
        assert_eq!(j["locations"][1]["item_type"], "rule");
        assert_eq!(j["locations"][1]["item_name"], "my rule");
        assert_eq!(j["locations"][1]["position"]["line"], 2);
        assert_eq!(j["locations"][1]["position"]["name"], "r.yaml");
    }

    #[test]
    fn snippet_quotes_the_line_with_a_caret() {
        let content = "- rule: a\n  condition: evt.type=open and\n";
        let ctx = Context::file("f").child(mark(12, 1, 2), ItemType::RuleCondition, "");
        assert_eq!(
            ctx.snippet(content),
            "  condition: evt.type=open and\n  ^\n"
        );
    }

    #[test]
    fn long_lines_are_elided_on_character_boundaries() {
        // Found by the rules_loader fuzz target: eliding cut a two-byte character in half.
        let line = format!("{}{}", "{".repeat(80), "\u{45e}".repeat(200));
        let content: Vec<char> = line.chars().collect();
        let snip = snippet_at(&content, 160, 160);
        let first = snip.lines().next().unwrap();
        assert!(
            first.starts_with("...") && first.ends_with("..."),
            "{first}"
        );
        assert_eq!(first.chars().count(), 161);
        assert_eq!(snip.lines().nth(1).unwrap(), format!("{}^", " ".repeat(80)));
        let crash = "- list: l\n  items: [a, b]\n- {{{{{{{{{{{{line{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\
             {{{{{{{{{{{{{{{{{{{codedes{`{{{{{{{{{{{{{{{{{7{{{dedes{{{{{{{{{{{{{{{{{{{{{{\
             {{{{{{-/A/A-J- la$\"a\u{45e}J% la$\"a\u{45e}( b\"(`b-J- la$\"a\u{45e}J% la$\"\
             {{{{{{{{{{{{{{{{{{{{{{{{{{{{a\u{45e}(- la$\"a\u{45e}J% la$\"a\u{45e}( b\"(`b\
             -J- la$\"a\u{45e}J% la$\"a\u{45e}( b\"{{{ b\"(]`b\"\n";
        let files = vec![("f.yaml".to_string(), crash.to_string())];
        let result =
            super::super::load_contents(&files, &super::super::LoadOptions::default(), false);
        assert!(!super::super::cli::validation_text(&result).is_empty());
    }

    #[test]
    fn condition_contexts_name_the_condition_and_quote_it() {
        let cond = "evt.type=open and and proc.name=cat";
        let ctx = Context::file("f")
            .child(mark(30, 3, 13), ItemType::RuleCondition, "")
            .in_condition(cond, 18);
        let last = ctx.last().unwrap();
        assert_eq!(last.name, "\"evt.type=open and...\"");
        assert_eq!(last.item_type, ItemType::ConditionExpression);
        assert_eq!(last.pos.line, 3);
        assert_eq!(last.pos.column, 13 + 18 + 1);
        let snip = ctx.snippet("ignored");
        assert_eq!(snip, format!("{cond}\n{}^\n", " ".repeat(18)));
    }

    #[test]
    fn report_text_and_json_follow_falco() {
        let mut r = FileReport::new("x.yaml");
        assert_eq!(r.as_text(), "x.yaml: Ok");
        r.warnings.push(Diagnostic {
            code: WarningCode::UnusedMacro,
            message: "Macro not referred to by any other rule/macro".into(),
            context: Context::file("x.yaml"),
            snippet: "- macro: m\n^\n".into(),
        });
        assert!(r
            .as_text()
            .starts_with("x.yaml: Ok, with warnings\n1 Warnings:\n"));
        r.errors.push(Diagnostic {
            code: ErrorCode::Validate,
            message: "boom".into(),
            context: Context::file("x.yaml"),
            snippet: String::new(),
        });
        let t = r.as_text();
        assert!(t.starts_with("x.yaml: Invalid\n1 Errors:\n"), "{t}");
        assert!(t.contains(
            "LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception objects): boom\n"
        ));
        let j = r.as_json();
        assert_eq!(j["successful"], false);
        assert_eq!(j["errors"][0]["code"], "LOAD_ERR_VALIDATE");
        assert_eq!(j["warnings"][0]["code"], "LOAD_UNUSED_MACRO");
        assert_eq!(
            j["warnings"][0]["context"]["locations"][0]["item_type"],
            "rules content"
        );
    }
}
