//! Folds a rule's exceptions into its condition the way Falco does, by rewriting the text:
//! `(<condition>) and not ((f1 c1 v1 and f2 c2 v2) or (...))` for each exception, so the rule
//! matches unless some exception tuple matches.

use super::collector::{fail, ExceptionInfo, Fail, LIST_OPERATORS};
use super::result::ErrorCode;

/// Quotes a value holding a space unless it is already quoted.
fn quote_item(e: &str) -> String {
    if e.contains(' ') && !e.starts_with('"') && !e.starts_with('\'') {
        format!("\"{e}\"")
    } else {
        e.to_string()
    }
}

fn paren_item(e: &str) -> String {
    if e.starts_with('(') {
        e.to_string()
    } else {
        format!("({e})")
    }
}

/// The condition with every exception folded in. Exceptions without values add nothing.
pub fn fold(condition: &str, exceptions: &[ExceptionInfo]) -> Result<String, Fail> {
    let mut out = format!("({condition})");
    for ex in exceptions {
        let mut icond = String::new();
        if !ex.fields.is_list {
            for val in &ex.values {
                if val.is_list {
                    return Err(fail(
                        ErrorCode::Validate,
                        "Expected values array to contain a list of strings",
                        &ex.ctx,
                    ));
                }
                if icond.is_empty() {
                    icond = format!("({} {} (", ex.fields.item, ex.comps.item);
                } else {
                    icond.push_str(", ");
                }
                icond.push_str(&quote_item(&val.item));
            }
            if !icond.is_empty() {
                icond.push_str("))");
            }
        } else {
            let mut alternatives = Vec::new();
            for values in &ex.values {
                if ex.fields.items.len() != values.items.len() {
                    return Err(fail(
                        ErrorCode::Validate,
                        "Fields and values lists must have equal length",
                        &ex.ctx,
                    ));
                }
                let mut terms = Vec::new();
                for (k, field) in ex.fields.items.iter().enumerate() {
                    let comp = ex
                        .comps
                        .items
                        .get(k)
                        .map(|c| c.item.as_str())
                        .unwrap_or("=");
                    let value = &values.items[k];
                    let rhs = if value.is_list {
                        let inner: Vec<String> =
                            value.items.iter().map(|v| quote_item(&v.item)).collect();
                        format!("({})", inner.join(", "))
                    } else if LIST_OPERATORS.contains(&comp) {
                        paren_item(&value.item)
                    } else {
                        quote_item(&value.item)
                    };
                    terms.push(format!("{} {} {}", field.item, comp, rhs));
                }
                alternatives.push(format!("({})", terms.join(" and ")));
            }
            if !alternatives.is_empty() {
                icond = format!("({})", alternatives.join(" or "));
            }
        }
        if !icond.is_empty() {
            out.push_str(" and not ");
            out.push_str(&icond);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::collector::Entry;
    use super::super::result::Context;
    use super::*;

    fn list(items: &[&str]) -> Entry {
        Entry {
            is_list: true,
            item: String::new(),
            items: items.iter().map(|s| Entry::scalar(s)).collect(),
        }
    }

    fn ex(fields: Entry, comps: Entry, values: Vec<Entry>) -> ExceptionInfo {
        ExceptionInfo {
            name: "e".into(),
            fields,
            comps,
            values,
            ctx: Context::file("f"),
        }
    }

    #[test]
    fn tuples_become_and_terms_or_ed_together() {
        let e = ex(
            list(&["proc.name", "fd.name"]),
            list(&["=", "startswith"]),
            vec![list(&["cat", "/tmp dir"]), list(&["dog", "/var"])],
        );
        assert_eq!(
            fold("evt.type=open", &[e]).unwrap(),
            "(evt.type=open) and not ((proc.name = cat and fd.name startswith \"/tmp dir\") or (proc.name = dog and fd.name startswith /var))"
        );
    }

    #[test]
    fn list_elements_and_list_operators() {
        let mut tuple = list(&["x"]);
        tuple.items[0] = list(&["a", "b c"]);
        let e = ex(list(&["proc.name"]), list(&["in"]), vec![tuple]);
        assert_eq!(
            fold("c", &[e]).unwrap(),
            "(c) and not ((proc.name in (a, \"b c\")))"
        );
        let e = ex(
            list(&["proc.name"]),
            list(&["in"]),
            vec![list(&["my_list"])],
        );
        assert_eq!(
            fold("c", &[e]).unwrap(),
            "(c) and not ((proc.name in (my_list)))"
        );
    }

    #[test]
    fn single_field_form_and_empty_values() {
        let e = ex(
            Entry::scalar("proc.name"),
            Entry::scalar("in"),
            vec![Entry::scalar("cat"), Entry::scalar("my cat")],
        );
        assert_eq!(
            fold("c", &[e]).unwrap(),
            "(c) and not (proc.name in (cat, \"my cat\"))"
        );
        let e = ex(Entry::scalar("proc.name"), Entry::scalar("in"), vec![]);
        assert_eq!(fold("c", &[e]).unwrap(), "(c)");
        let e = ex(list(&["proc.name"]), list(&["="]), vec![]);
        assert_eq!(fold("c", &[e]).unwrap(), "(c)");
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let e = ex(
            list(&["proc.name", "fd.name"]),
            list(&["=", "="]),
            vec![list(&["cat"])],
        );
        assert_eq!(
            fold("c", &[e]).unwrap_err().message,
            "Fields and values lists must have equal length"
        );
    }
}
