//! Per-type field layouts: each live field's name, kind and default, resolved once from the
//! schema and shared by every write and create view, instead of re-resolving (or cloning) the
//! type definition per entity. Cached per schema version and dropped with the indexes
//! whenever the schema changes ([`super::Store::clear_index`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use fibery_core::schema::Schema;
use serde_json::Value;

use super::Name;
use super::schema::{Kind, find_type, kind_of};

/// One live field of a type.
#[derive(Debug)]
pub(crate) struct FieldLayout {
    pub name: String,
    pub key: Name,
    pub kind: Kind,
    pub default: Option<Value>,
}

/// The live fields of a type, in schema order.
pub(crate) type Layout = Arc<[FieldLayout]>;

/// Layouts by type name, valid for one schema version.
#[derive(Debug, Default)]
pub(crate) struct Layouts(Mutex<(u64, HashMap<String, Layout>)>);

/// A copy starts empty: layouts are recomputed on first use.
impl Clone for Layouts {
    fn clone(&self) -> Self {
        Layouts::default()
    }
}

impl Layouts {
    /// The layout of live type `ty`, if it exists.
    pub fn get(&self, schema: &Schema, ty: &str) -> Option<Layout> {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if g.0 != schema.version {
            *g = (schema.version, HashMap::new());
        }
        if let Some(l) = g.1.get(ty) {
            return Some(l.clone());
        }
        let t = find_type(schema, ty)?;
        let l: Layout = t
            .fields
            .iter()
            .filter(|f| !f.deleted)
            .map(|f| FieldLayout {
                name: f.name.clone(),
                key: Name::intern(&f.name),
                kind: kind_of(schema, f),
                default: f.meta.default_value.clone(),
            })
            .collect();
        g.1.insert(ty.to_string(), l.clone());
        Some(l)
    }

    /// Forgets every layout.
    pub fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clear();
    }
}
