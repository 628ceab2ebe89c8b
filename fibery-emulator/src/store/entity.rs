//! A stored entity in a compact form: values keyed by interned field names (4-byte ids into a
//! process-wide table) in a vector, instead of a JSON object with its own copy of every field
//! name and a hash table per entity. Field names are few (the schema's) and shared by every
//! entity, so the table stays small. Entities serialise as plain JSON objects.

use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, PoisonError, RwLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An interned field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Name(u32);

/// The process-wide name table. Names are never removed: a workspace has a few hundred.
#[derive(Default)]
struct Names {
    ids: HashMap<&'static str, u32>,
    names: Vec<&'static str>,
}

fn table() -> &'static RwLock<Names> {
    static NAMES: OnceLock<RwLock<Names>> = OnceLock::new();
    NAMES.get_or_init(RwLock::default)
}

impl Name {
    /// The name's id, interning it on first use.
    pub fn intern(s: &str) -> Name {
        if let Some(n) = Name::find(s) {
            return n;
        }
        let mut t = table().write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = t.ids.get(s) {
            return Name(i);
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let i = t.names.len() as u32;
        t.names.push(leaked);
        t.ids.insert(leaked, i);
        Name(i)
    }

    /// The name's id if it was ever interned (no entity holds a name that was not).
    pub fn find(s: &str) -> Option<Name> {
        let t = table().read().unwrap_or_else(PoisonError::into_inner);
        t.ids.get(s).map(|&i| Name(i))
    }

    /// The field name.
    pub fn as_str(self) -> &'static str {
        let t = table().read().unwrap_or_else(PoisonError::into_inner);
        t.names[self.0 as usize]
    }
}

/// One stored entity: field -> stored value, in insertion order. Single refs are stored as the
/// target id (or null), collections as arrays of ids, rich text as the document secret.
#[derive(Clone, Default)]
pub(crate) struct Entity {
    fields: Vec<(Name, Value)>,
}

impl Entity {
    /// An entity without fields.
    pub fn new() -> Self {
        Entity::default()
    }

    /// An entity with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Entity {
            fields: Vec::with_capacity(n),
        }
    }

    /// The value of field `k`.
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.get_name(Name::find(k)?)
    }

    /// The value of an interned field.
    pub fn get_name(&self, n: Name) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == n).map(|(_, v)| v)
    }

    /// The value of field `k`, mutable.
    pub fn get_mut(&mut self, k: &str) -> Option<&mut Value> {
        let n = Name::find(k)?;
        self.fields
            .iter_mut()
            .find(|(x, _)| *x == n)
            .map(|(_, v)| v)
    }

    /// Whether field `k` is present (possibly null).
    pub fn contains_key(&self, k: &str) -> bool {
        self.get(k).is_some()
    }

    /// Sets field `k`; returns the previous value.
    pub fn insert(&mut self, k: impl AsRef<str>, v: Value) -> Option<Value> {
        self.insert_name(Name::intern(k.as_ref()), v)
    }

    /// Sets an interned field; returns the previous value.
    pub fn insert_name(&mut self, n: Name, v: Value) -> Option<Value> {
        match self.fields.iter_mut().find(|(x, _)| *x == n) {
            Some((_, old)) => Some(std::mem::replace(old, v)),
            None => {
                self.fields.push((n, v));
                None
            }
        }
    }

    /// The slot of field `k`, for `or_insert` / `or_insert_with` (as on a JSON object).
    pub fn entry(&mut self, k: impl AsRef<str>) -> Slot<'_> {
        Slot {
            e: self,
            n: Name::intern(k.as_ref()),
        }
    }

    /// Removes field `k`; returns its value.
    pub fn remove(&mut self, k: &str) -> Option<Value> {
        let n = Name::find(k)?;
        let i = self.fields.iter().position(|(x, _)| *x == n)?;
        Some(self.fields.remove(i).1)
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of fields.
    fn len(&self) -> usize {
        self.fields.len()
    }

    /// Releases spare capacity (entities are built once and rarely grow).
    pub fn shrink_to_fit(&mut self) {
        self.fields.shrink_to_fit();
    }

    /// The entity as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Bytes this entity takes on the heap (its vector and the values' own allocations),
    /// an estimate for the store's byte limit.
    pub fn heap_bytes(&self) -> usize {
        self.fields.capacity() * std::mem::size_of::<(Name, Value)>()
            + self
                .fields
                .iter()
                .map(|(_, v)| value_heap(v))
                .sum::<usize>()
    }
}

/// A field slot of an entity (see [`Entity::entry`]).
pub(crate) struct Slot<'a> {
    e: &'a mut Entity,
    n: Name,
}

impl<'a> Slot<'a> {
    /// The value, set to `v` first if absent.
    pub fn or_insert(self, v: Value) -> &'a mut Value {
        self.or_insert_with(|| v)
    }

    /// The value, set to `make()` first if absent.
    pub fn or_insert_with(self, make: impl FnOnce() -> Value) -> &'a mut Value {
        let fields = &mut self.e.fields;
        let i = match fields.iter().position(|(x, _)| *x == self.n) {
            Some(i) => i,
            None => {
                fields.push((self.n, make()));
                fields.len() - 1
            }
        };
        &mut fields[i].1
    }
}

/// Heap bytes of a JSON value's own allocations (strings, arrays, objects), estimated.
pub(crate) fn value_heap(v: &Value) -> usize {
    match v {
        Value::String(s) => s.capacity(),
        Value::Array(a) => {
            a.capacity() * std::mem::size_of::<Value>() + a.iter().map(value_heap).sum::<usize>()
        }
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| k.capacity() + 2 * std::mem::size_of::<Value>() + value_heap(v))
            .sum(),
        _ => 0,
    }
}

impl<K: AsRef<str>> Extend<(K, Value)> for Entity {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Entity {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut e = Entity::new();
        e.extend(iter);
        e.shrink_to_fit();
        e
    }
}

impl From<Map<String, Value>> for Entity {
    fn from(m: Map<String, Value>) -> Self {
        m.into_iter().collect()
    }
}

impl From<&Entity> for Value {
    fn from(e: &Entity) -> Self {
        Value::Object(e.to_map())
    }
}

/// Equal when they hold the same fields and values, in any order (as JSON objects compare).
impl PartialEq for Entity {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .fields
                .iter()
                .all(|(k, v)| other.get_name(*k) == Some(v))
    }
}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Entity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Entity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(d).map(Entity::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_writes_and_removes_fields_in_insertion_order() {
        let mut e = Entity::new();
        assert_eq!(e.insert("b/x", json!(1)), None);
        e.insert("a/y", json!("s"));
        assert_eq!(e.insert("b/x", json!(2)), Some(json!(1)));
        assert_eq!(e.get("b/x"), Some(&json!(2)));
        assert_eq!(e.get("never/interned-name"), None);
        let keys: Vec<&str> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b/x", "a/y"]);
        assert_eq!(e.remove("b/x"), Some(json!(2)));
        assert!(!e.contains_key("b/x"));
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn serialises_as_a_json_object_and_back() {
        let e: Entity = [("k/a", json!([1, 2])), ("k/b", json!(null))]
            .into_iter()
            .collect();
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text, r#"{"k/a":[1,2],"k/b":null}"#);
        let back: Entity = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(Value::from(&back), json!({"k/a": [1, 2], "k/b": null}));
    }
}
