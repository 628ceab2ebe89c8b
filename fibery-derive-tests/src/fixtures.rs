//! What the derive tests share: the core schema fixtures and the query row an encoded entity
//! comes back as.

use fibery_core::entity::EncodedEntity;
use fibery_core::schema::Schema;
use serde_json::{Value, json};

/// The schema fixture `name` of `fibery-core/tests/fixtures` (`<name>.json`).
pub fn fixture(name: &str) -> Schema {
    let path = format!(
        "{}/../fibery-core/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Schema::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The row a query with the entity's `select()` returns, with documents substituted (the
/// shape `FiberyEntity::decode` documents), built from what `encode` produced, plus the
/// `readonly` fields a workspace computes.
pub fn row_from(encoded: &EncodedEntity, readonly: &[(&str, Value)]) -> Value {
    let mut row = serde_json::Map::new();
    for (k, v) in &encoded.fields {
        row.insert(k.clone(), v.clone());
    }
    for (k, ids) in &encoded.collections {
        let items: Vec<Value> = ids.iter().map(|i| json!({"fibery/id": i})).collect();
        row.insert(k.clone(), Value::Array(items));
    }
    for (k, names, multi) in &encoded.enums {
        let items: Vec<Value> = names.iter().map(|n| json!({"enum/name": n})).collect();
        let v = if *multi {
            Value::Array(items)
        } else {
            items.into_iter().next().unwrap_or(Value::Null)
        };
        row.insert(k.clone(), v);
    }
    for (k, _, content) in &encoded.rich_text {
        row.insert(k.clone(), Value::String(content.clone()));
    }
    for (k, v) in readonly {
        row.insert((*k).to_owned(), v.clone());
    }
    Value::Object(row)
}
