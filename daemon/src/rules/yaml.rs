//! A small YAML document tree with a source position on every node, built from the events of
//! granit-parser (the parser under serde-saphyr).
//!
//! Rules files need the line and column of every item, key and value for their diagnostics, and
//! need yaml-cpp's view of scalars (everything is text; `~`, `null` and empty values are null),
//! so the loader works on this tree rather than on typed serde structures.

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError};

/// Nodes nested deeper than this are refused: no rules file needs it, and it bounds the stack
/// used when the tree is cloned or dropped.
pub const MAX_DEPTH: usize = 256;
/// Total nodes (after alias expansion) a file may produce; bounds "billion laughs" documents.
pub const MAX_NODES: usize = 1_000_000;

/// A position in the source, 0-based like yaml-cpp's marks (what Falco reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// Offset in characters from the start of the content.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub mark: Mark,
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.kind, Kind::Seq(_))
    }

    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping (the first one when a key is repeated, as yaml-cpp does).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether a mapping has `key` (even with a null value).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn seq(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The text of a scalar as yaml-cpp's `as<std::string>()` gives it; `None` for collections.
    /// A null node reads as `~`/`null` text would, i.e. its source spelling is lost: "" here.
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            Kind::Null => Some(""),
            _ => None,
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub mark: Mark,
    /// yaml-cpp's wording where one exists ("illegal map value"), the parser's otherwise.
    pub message: String,
}

impl YamlError {
    /// The text Falco reports for a parse error.
    pub fn falco_message(&self) -> String {
        format!(
            "yaml-cpp: error at line {}, column {}: {}",
            self.mark.line + 1,
            self.mark.column + 1,
            self.message
        )
    }
}

fn mark_of(m: &granit_parser::Marker) -> Mark {
    Mark {
        offset: m.index(),
        line: m.line().saturating_sub(1),
        column: m.col(),
    }
}

/// yaml-cpp's message for the error kinds users hit most, so messages read like Falco's.
fn yaml_cpp_wording(e: &ScanError) -> String {
    match e.kind() {
        ErrorKind::MappingValueNotAllowed | ErrorKind::InvalidColonPlacement => {
            "illegal map value".to_string()
        }
        ErrorKind::UnclosedQuotedScalar => "end of string not found".to_string(),
        ErrorKind::UnexpectedEofFlowSequence | ErrorKind::UnclosedFlowCollection { .. } => {
            "end of sequence flow not found".to_string()
        }
        ErrorKind::UnexpectedEofFlowMapping => "end of map flow not found".to_string(),
        ErrorKind::ExpectedBlockMappingKey => "end of map not found".to_string(),
        ErrorKind::ExpectedBlockSequenceEntry => "end of sequence not found".to_string(),
        ErrorKind::UnknownAnchor => "the referenced anchor is not defined".to_string(),
        ErrorKind::TabInIndentation | ErrorKind::TabInBlockIndentation => {
            "illegal tab when looking for indentation".to_string()
        }
        other => other.to_string(),
    }
}

fn is_null_scalar(text: &str, style: ScalarStyle) -> bool {
    style == ScalarStyle::Plain && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

enum Frame {
    Seq(Mark, Vec<Node>, usize),
    Map(Mark, Vec<(Node, Node)>, Option<Node>, usize),
}

/// Parses every document of `text`. A stream with no document yields an empty vector; an empty
/// document is a `Null` node.
pub fn load_all(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut nodes = 0usize;
    let mut doc_root: Option<Node> = None;
    let mut pending_anchor: Vec<usize> = Vec::new();

    let too_big = |mark: Mark, what: &str| YamlError {
        mark,
        message: format!("document too large: {what}"),
    };

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            mark: mark_of(e.marker()),
            message: yaml_cpp_wording(&e),
        })?;
        let mark = mark_of(&span.start);
        let completed: Option<(Node, usize)> = match event {
            Event::StreamStart => None,
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                anchors.clear();
                doc_root = None;
                None
            }
            Event::DocumentEnd => {
                docs.push(doc_root.take().unwrap_or(Node {
                    kind: Kind::Null,
                    mark,
                }));
                None
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or(YamlError {
                    mark,
                    message: "the referenced anchor is not defined".to_string(),
                })?;
                nodes = nodes.saturating_add(count_nodes(&node));
                if nodes > MAX_NODES {
                    return Err(too_big(mark, "too many nodes after alias expansion"));
                }
                Some((node, 0))
            }
            Event::Scalar(value, style, anchor, _tag) => {
                nodes += 1;
                let kind = if is_null_scalar(&value, style) {
                    Kind::Null
                } else {
                    Kind::Scalar(value.into_owned())
                };
                Some((Node { kind, mark }, anchor))
            }
            Event::SequenceStart(_, anchor, _) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(too_big(mark, "nesting too deep"));
                }
                pending_anchor.push(anchor);
                stack.push(Frame::Seq(mark, Vec::new(), anchor));
                None
            }
            Event::MappingStart(_, anchor, _) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(too_big(mark, "nesting too deep"));
                }
                pending_anchor.push(anchor);
                stack.push(Frame::Map(mark, Vec::new(), None, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(m, items, anchor)) => {
                    pending_anchor.pop();
                    Some((
                        Node {
                            kind: Kind::Seq(items),
                            mark: m,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(YamlError {
                        mark,
                        message: "end of sequence not found".to_string(),
                    })
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(m, entries, _, anchor)) => {
                    pending_anchor.pop();
                    Some((
                        Node {
                            kind: Kind::Map(entries),
                            mark: m,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(YamlError {
                        mark,
                        message: "end of map not found".to_string(),
                    })
                }
            },
            #[allow(unreachable_patterns)]
            _ => None,
        };
        if nodes > MAX_NODES {
            return Err(too_big(mark, "too many nodes"));
        }
        let Some((node, anchor)) = completed else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
            None => doc_root = Some(node),
        }
    }
    Ok(docs)
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        Kind::Null | Kind::Scalar(_) => 1,
        Kind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

/// yaml-cpp's boolean spellings.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_positions() {
        let docs = load_all("- rule: a\n  desc: b\n- list: l\n  items: [x, y]\n").unwrap();
        assert_eq!(docs.len(), 1);
        let items = docs[0].seq();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].get("rule").unwrap().scalar(), Some("a"));
        assert_eq!(items[1].mark.line, 2);
        let list_items = items[1].get("items").unwrap().seq();
        assert_eq!(list_items[1].scalar(), Some("y"));
        assert_eq!(list_items[1].mark.line, 3);
        assert_eq!(list_items[1].mark.column, 13);
    }

    #[test]
    fn null_spellings_and_empty_values_are_null() {
        let docs = load_all("a:\nb: ~\nc: null\nd: ''\ne: \"null\"\n").unwrap();
        let m = &docs[0];
        assert!(m.get("a").unwrap().is_null());
        assert!(m.get("b").unwrap().is_null());
        assert!(m.get("c").unwrap().is_null());
        assert_eq!(m.get("d").unwrap().scalar(), Some(""));
        assert_eq!(m.get("e").unwrap().scalar(), Some("null"));
    }

    #[test]
    fn several_documents() {
        let docs = load_all("- a\n---\n- b\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[2].is_null());
    }

    #[test]
    fn parse_errors_use_yaml_cpp_wording_and_position() {
        let e = load_all("this : is : not : yaml").unwrap_err();
        assert_eq!(
            e.falco_message(),
            "yaml-cpp: error at line 1, column 11: illegal map value"
        );
    }

    #[test]
    fn aliases_are_expanded_and_bounded() {
        let docs = load_all("- &a [x, y]\n- *a\n").unwrap();
        assert_eq!(docs[0].seq()[1].seq().len(), 2);
        let mut bomb = String::from("a: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = load_all(&bomb).unwrap_err();
        assert!(e.message.contains("too large"), "{e:?}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(load_all(&text).is_err());
    }

    #[test]
    fn yaml_cpp_booleans() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
