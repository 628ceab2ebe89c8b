//! Splitting an untyped field map into the parts Fibery writes in separate steps.

use fibery_core::entity::{DocFormat, EncodedEntity};
use fibery_core::schema::{FieldType, Schema};
use fibery_core::validate::{Rule, Violation};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Splits `map` by the field types of `type_name`: option names to `enums`, collection ids
/// to `collections`, rich-text strings to `rich_text` (Markdown), everything else to
/// `fields` (where the schema check judges it; unknown fields stay there too).
pub(crate) fn split(
    schema: &Schema,
    type_name: &str,
    map: Map<String, Value>,
) -> Result<EncodedEntity, Vec<Violation>> {
    let mut e = EncodedEntity::default();
    let mut violations = Vec::new();
    for (name, value) in map {
        let Some(ft) = schema.field_type(type_name, &name) else {
            e.fields.insert(name, value);
            continue;
        };
        match (ft, value) {
            (FieldType::RichText, Value::String(s)) => e.rich_text.push((name, DocFormat::Md, s)),
            (FieldType::RichText, Value::Null) => {}
            (
                FieldType::SingleSelect { .. } | FieldType::WorkflowState { .. },
                Value::String(s),
            ) if Uuid::parse_str(&s).is_err() => {
                e.enums.push((name, vec![s], false));
            }
            (FieldType::MultiSelect { .. }, Value::Array(a))
                if a.iter().all(Value::is_string) && !a.iter().all(is_id) =>
            {
                let names = a.into_iter().filter_map(string).collect();
                e.enums.push((name, names, true));
            }
            (ft, Value::Array(a)) if ft.is_collection() => match ids(&a) {
                Some(ids) => e.collections.push((name, ids)),
                None => violations.push(Violation {
                    field: name,
                    rule: Rule::BadReference,
                    reason: "collection items must be ids or {\"fibery/id\": ..}".into(),
                }),
            },
            (ft, Value::String(s)) if ft.is_reference() && !ft.is_collection() => {
                let v = match Uuid::parse_str(&s) {
                    Ok(_) => serde_json::json!({ "fibery/id": s }),
                    Err(_) => Value::String(s),
                };
                e.fields.insert(name, v);
            }
            (_, value) => {
                e.fields.insert(name, value);
            }
        }
    }
    if violations.is_empty() {
        Ok(e)
    } else {
        Err(violations)
    }
}

fn string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn is_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok())
}

/// The ids of collection items given as id strings or `{"fibery/id": ..}` objects.
fn ids(items: &[Value]) -> Option<Vec<Uuid>> {
    items
        .iter()
        .map(|v| {
            let s = v.as_str().or_else(|| v.get("fibery/id")?.as_str())?;
            Uuid::parse_str(s).ok()
        })
        .collect()
}
