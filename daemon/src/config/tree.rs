//! The raw configuration tree: YAML documents loaded into a `serde_json::Value`, Falco's
//! `-o key=value` path syntax applied to it, `${VAR}` expansion, and lenient scalar reading
//! (Falco reads every scalar through yaml-cpp's `as<T>()`, so `"true"` given with `-o` is a
//! boolean and `"5"` a number).

use serde_json::{Map, Value};

/// One step of a key path: `a.b[2].c[]` is `Key(a) Key(b) Index(2) Key(c) Append`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    Append,
}

/// Why a key path or an override could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("empty key")]
    Empty,
    #[error("malformed key '{0}': expected names separated by '.', each optionally followed by [n] or []")]
    Malformed(String),
    #[error(
        "index {index} is out of range in '{key}' (the list has {len} elements; use [] to append)"
    )]
    OutOfRange {
        key: String,
        index: usize,
        len: usize,
    },
}

/// Parses Falco's key syntax (`engine.kind`, `rules[].disable.rule`, `plugins[0].name`).
pub fn parse_path(key: &str) -> Result<Vec<Step>, PathError> {
    if key.trim().is_empty() {
        return Err(PathError::Empty);
    }
    let malformed = || PathError::Malformed(key.to_string());
    let mut steps = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() || name.contains(']') {
            return Err(malformed());
        }
        steps.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(malformed)?;
            if !rest.starts_with('[') {
                return Err(malformed());
            }
            let inner = &rest[1..close];
            if inner.is_empty() {
                steps.push(Step::Append);
            } else {
                let n: usize = inner.trim().parse().map_err(|_| malformed())?;
                steps.push(Step::Index(n));
            }
            rest = &rest[close + 1..];
        }
    }
    Ok(steps)
}

/// Reads the node at `steps` (no `[]` allowed: it names no existing node).
pub fn get<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut node = root;
    for step in steps {
        node = match step {
            Step::Key(k) => node.as_object()?.get(k)?,
            Step::Index(i) => node.as_array()?.get(*i)?,
            Step::Append => return None,
        };
    }
    Some(node)
}

/// Reads a dotted key such as `webserver.listen_port`.
pub fn get_key<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    let steps = parse_path(key).ok()?;
    get(root, &steps)
}

/// Sets the node at `steps` to `value`, creating maps and list elements on the way as
/// yaml-cpp does (a scalar or list indexed by name becomes a map).
pub fn set(root: &mut Value, key: &str, steps: &[Step], value: Value) -> Result<(), PathError> {
    let mut node = root;
    for step in steps {
        node = match step {
            Step::Key(k) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                let Value::Object(map) = node else {
                    unreachable!("just made an object")
                };
                map.entry(k.clone()).or_insert(Value::Null)
            }
            Step::Index(i) => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let Value::Array(list) = node else {
                    unreachable!("just made an array")
                };
                let len = list.len();
                if *i > len {
                    return Err(PathError::OutOfRange {
                        key: key.to_string(),
                        index: *i,
                        len,
                    });
                }
                if *i == len {
                    list.push(Value::Null);
                }
                &mut list[*i]
            }
            Step::Append => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let Value::Array(list) = node else {
                    unreachable!("just made an array")
                };
                list.push(Value::Null);
                let last = list.len() - 1;
                &mut list[last]
            }
        };
    }
    *node = value;
    Ok(())
}

/// Replaces `${VAR}` by the variable's value (or nothing when unset) and `$${VAR}` by a
/// literal `${VAR}`, as Falco does for every scalar it reads.
pub fn expand_env(s: &str) -> String {
    expand_env_with(s, |name| std::env::var(name).ok())
}

fn expand_env_with(s: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    if !s.contains('$') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(body) = tail.strip_prefix("$${") {
            match body.find('}') {
                Some(end) => {
                    out.push_str("${");
                    out.push_str(&body[..=end]);
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else if let Some(body) = tail.strip_prefix("${") {
            match body.find('}') {
                Some(end) => {
                    if let Some(v) = lookup(&body[..end]) {
                        out.push_str(&v);
                    }
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Applies [`expand_env`] to every string in the tree.
pub fn expand_env_in_tree(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = expand_env(s),
        Value::Array(items) => items.iter_mut().for_each(expand_env_in_tree),
        Value::Object(map) => map.values_mut().for_each(expand_env_in_tree),
        _ => {}
    }
}

/// A scalar read as a boolean the way yaml-cpp converts it.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Some(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A scalar read as a non-negative integer.
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => {
            let t = s.trim();
            if let Some(hex) = t.strip_prefix("0x") {
                u64::from_str_radix(hex, 16).ok()
            } else {
                t.parse().ok()
            }
        }
        _ => None,
    }
}

/// A scalar read as a signed integer.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A scalar read as a floating-point number (`.1` and `1e3` included).
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            let t = t.strip_prefix('+').unwrap_or(t);
            t.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        _ => None,
    }
}

/// A scalar read as text (numbers and booleans print as YAML wrote them).
pub fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A short rendering of a node for error messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "an empty value".to_string(),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a map".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_falco_key_syntax() {
        assert_eq!(
            parse_path("rules[].disable.rule").unwrap(),
            vec![
                Step::Key("rules".into()),
                Step::Append,
                Step::Key("disable".into()),
                Step::Key("rule".into())
            ]
        );
        assert_eq!(
            parse_path("plugins[1].init_config").unwrap(),
            vec![
                Step::Key("plugins".into()),
                Step::Index(1),
                Step::Key("init_config".into())
            ]
        );
        assert_eq!(
            parse_path("a[0][]").unwrap(),
            vec![Step::Key("a".into()), Step::Index(0), Step::Append]
        );
        for bad in ["", "a..b", "a[x]", "a[1", ".a", "a]"] {
            assert!(parse_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn set_creates_and_appends() {
        let mut root = json!({"rules": [{"enable": {"rule": "x"}}], "engine": {"kind": "kmod"}});
        let key = "rules[].disable.rule";
        set(&mut root, key, &parse_path(key).unwrap(), json!("*")).unwrap();
        set(&mut root, key, &parse_path(key).unwrap(), json!("y")).unwrap();
        let k2 = "engine.replay.capture_file";
        set(&mut root, k2, &parse_path(k2).unwrap(), json!("f.scap")).unwrap();
        assert_eq!(
            root,
            json!({"rules": [{"enable": {"rule": "x"}}, {"disable": {"rule": "*"}},
                   {"disable": {"rule": "y"}}],
                   "engine": {"kind": "kmod", "replay": {"capture_file": "f.scap"}}})
        );
        let k3 = "rules[7].x";
        assert!(matches!(
            set(&mut root, k3, &parse_path(k3).unwrap(), json!(1)),
            Err(PathError::OutOfRange { len: 3, .. })
        ));
        // A list indexed by name turns into a map, as yaml-cpp does.
        let mut r2 = json!({"append_output": [{"suggested_output": true}]});
        let k4 = "append_output.suggested_output";
        set(&mut r2, k4, &parse_path(k4).unwrap(), json!("false")).unwrap();
        assert_eq!(r2, json!({"append_output": {"suggested_output": "false"}}));
    }

    #[test]
    fn expands_env_like_falco() {
        let look = |n: &str| match n {
            "HOME" => Some("/root".to_string()),
            _ => None,
        };
        assert_eq!(expand_env_with("${HOME}/.falco/x", look), "/root/.falco/x");
        assert_eq!(expand_env_with("a${NOPE}b", look), "ab");
        assert_eq!(expand_env_with("$${HOME}", look), "${HOME}");
        assert_eq!(expand_env_with("cost $5 ${HOME", look), "cost $5 ${HOME");
        assert_eq!(expand_env_with("x$", look), "x$");
    }

    #[test]
    fn lenient_scalars() {
        assert_eq!(as_bool(&json!("yes")), Some(true));
        assert_eq!(as_bool(&json!("OFF")), Some(false));
        assert_eq!(as_bool(&json!("maybe")), None);
        assert_eq!(as_u64(&json!("42")), Some(42));
        assert_eq!(as_u64(&json!(-1)), None);
        assert_eq!(as_f64(&json!(".1")), Some(0.1));
        assert_eq!(as_f64(&json!("nan")), None);
        assert_eq!(as_string(&json!(8765)).as_deref(), Some("8765"));
    }
}
