//! Value indexes: for a (type, field), the ids of the entities holding each value. An index is
//! built on first use (a unique check, an upsert conflict field, or a query's top-level `=` /
//! `q/in` on a text-like field or a single reference), by one scan of the type, and every
//! write after that adds to it. Only fields actually looked up pay the memory (about 100 bytes
//! per entity per indexed field), which keeps a store of plain entities within its budget.
//!
//! Answers are candidates: writes that move a value away leave the old entry until it is
//! removed or the index is rebuilt, so readers re-check every candidate (queries apply the
//! full filter to each row anyway). Ids may repeat under a key; answers are deduplicated.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use super::{Entity, TypeStore};

/// (type, field, case-insensitive)
type IndexKey = (String, String, bool);

/// Value key -> ids.
type FieldIndex = HashMap<String, Vec<String>>;

/// The store's indexes, shared by readers (queries build missing ones under a short lock).
#[derive(Debug, Default)]
pub(crate) struct Indexes(Mutex<HashMap<IndexKey, FieldIndex>>);

/// A copy starts empty: indexes rebuild from the entities on first use.
impl Clone for Indexes {
    fn clone(&self) -> Self {
        Indexes::default()
    }
}

/// The index key of a value: text as is (or lower-cased), other scalars as JSON; none for null.
pub(super) fn value_key(v: &Value, ci: bool) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if ci => Some(format!("s:{}", s.to_lowercase())),
        Value::String(s) => Some(format!("s:{s}")),
        other => Some(other.to_string()),
    }
}

impl Indexes {
    fn map(&mut self) -> &mut HashMap<IndexKey, FieldIndex> {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ids of `ty` entities whose `field` may equal one of `vals` (building the index from
    /// `types` if missing), sorted and without duplicates.
    pub fn candidates(
        &self,
        types: &BTreeMap<String, TypeStore>,
        (ty, field, ci): (&str, &str, bool),
        vals: &[&Value],
    ) -> Vec<String> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (ty.to_string(), field.to_string(), ci);
        let m = all
            .entry(key)
            .or_insert_with(|| build(types.get(ty), field, ci));
        let mut out: Vec<String> = vals
            .iter()
            .filter_map(|v| value_key(v, ci))
            .filter_map(|k| m.get(&k))
            .flatten()
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Records a stored entity in every index of its type.
    pub fn add(&mut self, ty: &str, id: &str, e: &Entity) {
        for ((t, f, ci), m) in self.map().iter_mut() {
            if t == ty
                && let Some(k) = e.get(f).and_then(|x| value_key(x, *ci))
            {
                m.entry(k).or_default().push(id.to_string());
            }
        }
    }

    /// Records one new field value (relation writes set single fields directly).
    pub fn add_value(&mut self, ty: &str, field: &str, id: &str, v: &Value) {
        for ((t, f, ci), m) in self.map().iter_mut() {
            if t == ty
                && f == field
                && let Some(k) = value_key(v, *ci)
            {
                m.entry(k).or_default().push(id.to_string());
            }
        }
    }

    /// Forgets an entity's current values.
    pub fn remove(&mut self, ty: &str, id: &str, e: &Entity) {
        for ((t, f, ci), m) in self.map().iter_mut() {
            if t == ty
                && let Some(k) = e.get(f).and_then(|x| value_key(x, *ci))
                && let Some(ids) = m.get_mut(&k)
            {
                ids.retain(|x| x != id);
                if ids.is_empty() {
                    m.remove(&k);
                }
            }
        }
    }

    /// Forgets every index (after rollbacks and schema changes that rewrite values).
    pub fn clear(&mut self) {
        self.map().clear();
    }
}

fn build(ts: Option<&TypeStore>, field: &str, ci: bool) -> FieldIndex {
    let mut m: FieldIndex = HashMap::new();
    for (id, e) in ts.iter().flat_map(|t| &t.entities) {
        if let Some(k) = e.get(field).and_then(|x| value_key(x, ci)) {
            m.entry(k).or_default().push(id.clone());
        }
    }
    m
}
