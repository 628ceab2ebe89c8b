//! Typed items into pipeline items: the struct's validator rules, then its encoding.

use fibery_core::entity::FiberyEntity;
use fibery_core::validate::{Rule, Violation};
use validator::Validate;

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
                reason: crate::validator_reason::reason(e),
            });
        }
    }
    violations.sort_by(|a, b| a.field.cmp(&b.field));
    violations
}
