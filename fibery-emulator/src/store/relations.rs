//! Relations: single references and collections, kept consistent on both ends.

use fibery_core::command::names;
use fibery_core::error::FiberyError;
use serde_json::{Value, json};

use super::schema::{Kind, field as field_def, find_field, find_type, inverse, kind_of};
use super::{Effect, Store};
use crate::error;

impl Store {
    fn raw_set(&mut self, ty: &str, id: &str, field: &str, v: Value) {
        self.index.add_value(ty, field, id, &v);
        if let Some(e) = self.entity_mut(ty, id) {
            e.insert(field, v);
        }
    }

    /// Appends `item` without looking for it first: callers know it is absent (a collection
    /// just checked, or the other end of a link just made, which a consistent store cannot
    /// already hold). A look-up would cost the size of the collection on every create.
    fn raw_append(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        if let Some(e) = self.entity_mut(ty, id) {
            match e.entry(field).or_insert(json!([])) {
                Value::Array(a) => a.push(json!(item)),
                other => *other = json!([item]),
            }
        }
    }

    fn raw_pull(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        if let Some(Value::Array(a)) = self.entity_mut(ty, id).and_then(|e| e.get_mut(field)) {
            a.retain(|x| x.as_str() != Some(item));
        }
    }

    /// The id a stored single reference points at.
    fn single_ref(&self, ty: &str, id: &str, field: &str) -> Option<String> {
        self.entity(ty, id)?
            .get(field)?
            .as_str()
            .map(str::to_string)
    }

    /// The other end of the relation (ty, field), if it has one.
    fn inv_of(&self, ty: &str, field: &str) -> Option<(String, String, bool)> {
        let t = find_type(&self.schema, ty)?;
        let f = find_field(t, field)?;
        inverse(&self.schema, ty, f)
    }

    /// Sets a single reference keeping the inverse side consistent.
    pub fn set_single(&mut self, ty: &str, id: &str, field: &str, new: Option<String>) {
        let old = self.single_ref(ty, id, field);
        if old == new {
            return;
        }
        let inv = self.inv_of(ty, field);
        if let (Some(o), Some((tt, inv_f, inv_coll))) = (&old, &inv) {
            if *inv_coll {
                self.raw_pull(tt, o, inv_f, id);
            } else {
                self.raw_set(tt, o, inv_f, Value::Null);
            }
        }
        self.raw_set(
            ty,
            id,
            field,
            new.clone().map(Value::String).unwrap_or(Value::Null),
        );
        if let (Some(n), Some((tt, inv_f, inv_coll))) = (&new, &inv) {
            if *inv_coll {
                self.raw_append(tt, n, inv_f, id);
            } else {
                // One-to-one: the target's previous partner loses its link.
                let prev = self.single_ref(tt, n, inv_f);
                if let Some(p) = prev
                    && p != id
                {
                    self.raw_set(ty, &p, field, Value::Null);
                }
                self.raw_set(tt, n, inv_f, json!(id));
            }
        }
    }

    /// Adds an item to a collection keeping the inverse side consistent (idempotent).
    pub fn add_item(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        let present = self
            .entity(ty, id)
            .and_then(|e| e.get(field))
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(item)));
        if present {
            return;
        }
        match self.inv_of(ty, field) {
            Some((tt, inv_f, false)) => {
                // Inverse is single: the item moves from its previous owner.
                let prev = self.single_ref(&tt, item, &inv_f);
                if let Some(p) = prev {
                    self.raw_pull(ty, &p, field, item);
                }
                self.raw_set(&tt, item, &inv_f, json!(id));
            }
            Some((tt, inv_f, true)) => self.raw_append(&tt, item, &inv_f, id),
            None => {}
        }
        self.raw_append(ty, id, field, item);
    }

    /// Removes an item from a collection keeping the inverse side consistent (idempotent).
    pub fn remove_item(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        match self.inv_of(ty, field) {
            Some((tt, inv_f, false)) => {
                let cur = self.single_ref(&tt, item, &inv_f);
                if cur.as_deref() == Some(id) {
                    self.raw_set(&tt, item, &inv_f, Value::Null);
                }
            }
            Some((tt, inv_f, true)) => self.raw_pull(&tt, item, &inv_f, id),
            None => {}
        }
        self.raw_pull(ty, id, field, item);
    }

    /// `add-collection-items` / `remove-collection-items`: each parent's `field` collection
    /// gets (or loses) the items. Nothing changes if a parent or an added item is missing.
    pub fn collection_items(
        &mut self,
        ty: &str,
        field: &str,
        parents: &[(String, Vec<String>)],
        add: bool,
    ) -> Result<Vec<Effect>, FiberyError> {
        self.writable_type(ty)?;
        let f = field_def(&self.schema, ty, field)?;
        let Kind::Collection(target) = kind_of(&self.schema, f) else {
            return Err(error::new(
                "entity.error/not-a-collection-field",
                format!("\"{field}\" field of \"{ty}\" database is not a collection."),
            )
            .with_data(json!({"type": ty, "field": field})));
        };
        if f.meta.formula || f.meta.lookup {
            return Err(error::field_readonly(ty, field));
        }
        for (pid, ids) in parents {
            if self.entity(ty, pid).is_none() {
                return Err(error::not_found(ty, pid));
            }
            if let Some(i) = ids
                .iter()
                .find(|i| add && self.entity(&target, i).is_none())
            {
                return Err(error::not_found(&target, i));
            }
        }
        let now = self.now();
        let mut effects = vec![];
        for (pid, ids) in parents {
            for i in ids {
                if add {
                    self.add_item(ty, pid, field, i);
                } else {
                    self.remove_item(ty, pid, field, i);
                }
            }
            if let Some(e) = self.entity_mut(ty, pid) {
                e.insert("fibery/modification-date", json!(now));
            }
            let name = if add {
                names::ADD_COLLECTION_ITEMS
            } else {
                names::REMOVE_COLLECTION_ITEMS
            };
            let items: Vec<Value> = ids.iter().map(|i| json!({"fibery/id": i})).collect();
            effects.push(Effect::new(
                name,
                ty,
                pid.clone(),
                json!({ field: items }),
                Value::Null,
            ));
        }
        Ok(effects)
    }

    /// The ids in a stored entity's collection (`None` when the entity does not exist).
    pub fn items_of(&self, ty: &str, id: &str, field: &str) -> Option<Vec<String>> {
        Some(super::write::ids_in(self.entity(ty, id)?.get(field)))
    }
}
