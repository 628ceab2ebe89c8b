//! Typed items into pipeline items: the struct's validator rules, then its encoding.

use fibery_core::entity::FiberyEntity;
use fibery_core::validate::{Rule, Violation};
use validator::{Validate, ValidationError};

use super::prepare::Item;

/// Each item checked by its validator rules and encoded; an item failing either carries
/// all of its violations (it is reported, never sent).
pub(crate) fn encode_items<T: FiberyEntity + Validate>(items: &[T]) -> Vec<Item> {
    items
        .iter()
        .map(|it| {
            let mut violations = validator_violations(it);
            match it.encode() {
                Ok(e) if violations.is_empty() => Ok(e),
                Ok(_) => Err(violations),
                Err(e) => {
                    violations.push(Violation {
                        field: e.field,
                        rule: Rule::WrongType,
                        reason: e.reason,
                    });
                    Err(violations)
                }
            }
        })
        .collect()
}

/// The failed validator rules of `item`, by Fibery field name, sorted by field.
fn validator_violations<T: FiberyEntity + Validate>(item: &T) -> Vec<Violation> {
    let Err(errs) = item.validate() else {
        return Vec::new();
    };
    let mut violations = Vec::new();
    for (field, list) in errs.field_errors() {
        let fibery = T::FIELDS
            .iter()
            .find(|m| m.rust_name == field.as_ref())
            .map(|m| m.fibery_name)
            .unwrap_or(field.as_ref());
        for e in list {
            violations.push(Violation {
                field: fibery.to_owned(),
                rule: Rule::Validator,
                reason: reason(e),
            });
        }
    }
    violations.sort_by(|a, b| a.field.cmp(&b.field));
    violations
}

/// The rule's own message, or one naming its bounds and the value, e.g.
/// "length must be 1..200, got 0".
fn reason(e: &ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    let bounds = match (param("min"), param("max"), param("equal")) {
        (_, _, Some(eq)) => Some(eq),
        (Some(lo), Some(hi), _) => Some(format!("{lo}..{hi}")),
        (Some(lo), None, _) => Some(format!(">= {lo}")),
        (None, Some(hi), _) => Some(format!("<= {hi}")),
        (None, None, _) => None,
    };
    let value = e.params.get("value");
    let got = match (e.code.as_ref(), value) {
        ("length", Some(serde_json::Value::String(s))) => Some(s.chars().count().to_string()),
        ("length", Some(serde_json::Value::Array(a))) => Some(a.len().to_string()),
        (_, Some(v)) => Some(v.to_string()),
        (_, None) => None,
    };
    match (bounds, got) {
        (Some(b), Some(g)) => format!("{} must be {b}, got {g}", e.code),
        (Some(b), None) => format!("{} must be {b}", e.code),
        (None, Some(g)) => format!("rule `{}` failed (value: {g})", e.code),
        (None, None) => format!("rule `{}` failed", e.code),
    }
}
