//! `fibery.entity.batch/create-or-update`: create, or update the latest duplicate on a conflict
//! field, with Fibery's in-batch duplicate rules.

use std::collections::HashMap;

use fibery_core::command::{ConflictAction, Upsert};
use fibery_core::error::FiberyError;
use serde_json::{Map, Value, json};

use super::schema::field;
use super::values::normalize_primitive;
use super::{Effect, Entity, Store};
use crate::error;

/// Fields an `update-latest` never copies onto the duplicate.
const KEPT_ON_UPDATE: &[&str] = &[
    "fibery/id",
    "fibery/public-id",
    "fibery/rank",
    "fibery/creation-date",
];

impl Store {
    /// Runs an upsert; returns the per-entity result items and the webhook effects.
    pub fn upsert(&mut self, u: &Upsert) -> Result<(Value, Vec<Effect>), FiberyError> {
        let (ty, cf) = (u.type_name.as_str(), u.conflict_field.as_str());
        self.writable_type(ty)?;
        let update = match &u.conflict_action {
            ConflictAction::UpdateLatest => true,
            ConflictAction::SkipCreate => false,
            other => {
                return Err(error::bad_args(format!(
                    "unknown conflict-action \"{}\"; expected skip-create or update-latest",
                    other.as_str()
                )));
            }
        };
        let ftype = field(&self.schema, ty, cf)?.type_name.clone();
        if !matches!(ftype.as_str(), "fibery/text" | "fibery/int" | "fibery/date") {
            return Err(error::new(
                "entity.error/conflict-field-type-not-supported",
                format!(
                    "Conflict field \"{cf}\" must be of type fibery/text, fibery/int or fibery/date, not {ftype}."
                ),
            ));
        }
        for o in &u.entities {
            if !o.get("fibery/id").is_some_and(Value::is_string) {
                return Err(error::bad_args(
                    "every entity needs \"fibery/id\" for create-or-update",
                ));
            }
            self.prepare(ty, o)?;
        }
        let keys: Vec<Option<Value>> = u
            .entities
            .iter()
            .map(|o| {
                o.get(cf)
                    .filter(|v| !v.is_null())
                    .map(|v| normalize_primitive(&ftype, v).unwrap_or(v.clone()))
            })
            .collect();
        let winner = winners(&keys, update);
        let mut results = vec![];
        let mut effects = vec![];
        for (i, o) in u.entities.iter().enumerate() {
            let key = &keys[i];
            if let Some(w) = key.as_ref().map(|k| winner[&k.to_string()])
                && w != i
            {
                let dup = Value::Object(u.entities[w].clone());
                results.push(json!({"action": "prefer-duplicate-found-in-the-batch", "entity": Value::Object(o.clone()), "duplicate": dup}));
                continue;
            }
            let dup = match key {
                Some(k) => self.latest_with(ty, cf, k),
                None => None,
            };
            results.push(self.upsert_one(ty, o, dup, update, &mut effects)?);
        }
        Ok((Value::Array(results), effects))
    }

    /// Creates `o`, or (with a duplicate) skips it or copies its fields onto the duplicate.
    fn upsert_one(
        &mut self,
        ty: &str,
        o: &Map<String, Value>,
        dup: Option<Entity>,
        update: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<Value, FiberyError> {
        let entity = Value::Object(o.clone());
        let Some(d) = dup else {
            let (created, eff) = self.create(ty, o)?;
            effects.push(eff);
            return Ok(json!({"action": "create", "created": created}));
        };
        let dview = self.render(ty, &d);
        if !update {
            return Ok(json!({"action": "skip-create", "entity": entity, "duplicate": dview}));
        }
        let mut upd: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| !KEPT_ON_UPDATE.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        upd.insert(
            "fibery/id".into(),
            d.get("fibery/id").cloned().unwrap_or(Value::Null),
        );
        let (updated, eff) = self.update(ty, &upd)?;
        effects.push(eff);
        Ok(
            json!({"action": "update-latest", "entity": entity, "duplicate": dview, "updated": updated}),
        )
    }

    /// The stored entity with this conflict value and the latest creation date.
    fn latest_with(&mut self, ty: &str, cf: &str, key: &Value) -> Option<Entity> {
        let ids = self.lookup(ty, cf, false, key);
        let order = |e: &&Entity| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
            (s("fibery/creation-date"), s("fibery/id"))
        };
        ids.iter()
            .filter_map(|i| self.entity(ty, i))
            .max_by_key(order)
            .cloned()
    }
}

/// Which batch item wins each conflict value: the first for `skip-create`, the last for
/// `update-latest`.
fn winners(keys: &[Option<Value>], keep_last: bool) -> HashMap<String, usize> {
    let mut winner = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let Some(k) = k {
            let ks = k.to_string();
            if keep_last || !winner.contains_key(&ks) {
                winner.insert(ks, i);
            }
        }
    }
    winner
}
