//! Entity writes: validation of written values, create, update, delete.

use fibery_core::error::FiberyError;
use fibery_core::schema::TypeDef;
use serde_json::{Map, Value, json};

use super::layout::FieldLayout;
use super::schema::{Kind, find_field, find_type, inverse, is_system_readonly, kind_of};
use super::values::normalize_primitive;
use super::{Effect, Entity, Store};
use crate::error;

/// Validated write values: primitives to store and single references to set.
pub(super) struct Prepared {
    prims: Vec<(String, Value)>,
    refs: Vec<(String, Option<String>)>,
}

/// A single-reference value: `{"fibery/id": "x"}`, `{"fibery/id": null}` or `null`.
fn ref_id(v: &Value) -> Option<Option<String>> {
    match v {
        Value::Null => Some(None),
        Value::Object(o) => match o.get("fibery/id") {
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(Value::Null) => Some(None),
            _ => None,
        },
        _ => None,
    }
}

/// Why a field cannot be written directly, as Fibery names it.
fn not_writable(ty: &str, field: &str, kind: &Kind) -> Option<FiberyError> {
    let (name, message) = match kind {
        Kind::Collection(_) => (
            "entity.error/collection-field-update-not-supported",
            format!("\"{field}\" is a collection field: use fibery.entity/add-collection-items."),
        ),
        Kind::RichText => (
            "entity.error/document-field-update-not-supported",
            format!("\"{field}\" is a rich-text field: write it through /api/documents."),
        ),
        _ => return None,
    };
    Some(error::new(name, message).with_data(json!({"type": ty, "field": field})))
}

impl Store {
    /// The live, non-primitive type `ty`.
    pub(super) fn writable_type(&self, ty: &str) -> Result<&TypeDef, FiberyError> {
        match find_type(&self.schema, ty) {
            Some(t) if !t.meta.primitive => Ok(t),
            _ => Err(error::type_not_found(ty)),
        }
    }

    /// Validates write values (everything but `fibery/id`).
    pub(super) fn prepare(
        &self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<Prepared, FiberyError> {
        let t = self.writable_type(ty)?;
        let mut out = Prepared {
            prims: vec![],
            refs: vec![],
        };
        for (k, v) in fields.iter().filter(|(k, _)| *k != "fibery/id") {
            let f = find_field(t, k).ok_or_else(|| error::field_not_found(ty, k))?;
            if is_system_readonly(f) || f.meta.formula || f.meta.lookup || f.meta.readonly {
                return Err(error::field_readonly(ty, k));
            }
            let kind = kind_of(&self.schema, f);
            if let Some(e) = not_writable(ty, k, &kind) {
                return Err(e);
            }
            match kind {
                Kind::Single(target) => {
                    let r = ref_id(v).ok_or_else(|| {
                        error::parse_field(ty, k, "Expected {\"fibery/id\": \"<id>\"} or null.")
                    })?;
                    if let Some(id) = &r
                        && self.entity(&target, id).is_none()
                    {
                        return Err(error::new(
                            "entity.error/entity-not-found",
                            format!("\"{target}\" entity with id \"{id}\" was not found."),
                        )
                        .with_data(json!({"type": target, "id": id})));
                    }
                    out.refs.push((k.clone(), r));
                }
                Kind::Primitive(p) => {
                    let nv = normalize_primitive(&p, v)
                        .map_err(|why| error::parse_field(ty, k, &why))?;
                    out.prims.push((k.clone(), nv));
                }
                Kind::Collection(_) | Kind::RichText => {}
            }
        }
        Ok(out)
    }

    /// The id of a new entity: the client's (a UUID) or a fresh one.
    fn new_id(&self, ty: &str, fields: &Map<String, Value>) -> Result<String, FiberyError> {
        let id = match fields.get("fibery/id") {
            None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => s.clone(),
            Some(_) => {
                return Err(error::parse_field(
                    ty,
                    "fibery/id",
                    "Expected a UUID string.",
                ));
            }
        };
        if self.entity(ty, &id).is_some() {
            return Err(error::new(
                "entity.error/entity-already-exists",
                format!("\"{ty}\" entity with id \"{id}\" already exists."),
            )
            .with_data(json!({"type": ty, "id": id})));
        }
        Ok(id)
    }

    /// A new entity's stored values before the written ones: empty collections, a fresh
    /// document per rich-text field, primitive defaults, a rank after the last entity.
    fn initial_values(&mut self, ty: &str, layout: &[FieldLayout], id: &str) -> Entity {
        let mut e = Entity::with_capacity(layout.len() + 1);
        e.insert("fibery/id", json!(id));
        for f in layout {
            let v = match &f.kind {
                Kind::Collection(_) => json!([]),
                Kind::RichText => {
                    let secret = uuid::Uuid::new_v4().to_string();
                    self.touch_doc(&secret);
                    self.documents.insert(secret.clone(), String::new());
                    json!(secret)
                }
                Kind::Primitive(_) if f.name == "fibery/id" => continue,
                Kind::Primitive(p) if p == "fibery/rank" => json!(0),
                Kind::Primitive(p) => match &f.default {
                    Some(Value::String(s)) if s == "$now" => Value::Null,
                    Some(v) if !v.is_object() => normalize_primitive(p, v).unwrap_or(Value::Null),
                    _ => Value::Null,
                },
                Kind::Single(_) => Value::Null,
            };
            if e.get_name(f.key).is_none() {
                e.insert_name(f.key, v);
            }
        }
        if e.contains_key("fibery/rank") {
            let n = self.types.get(ty).map(|t| t.entities.len()).unwrap_or(0) as i64;
            e.insert("fibery/rank", json!(n * 1_000_000));
        }
        e
    }

    /// Single-reference defaults not written by the client: `{"fibery/id": "$my-id"}` and
    /// option ids, when the target exists.
    fn default_refs(
        &self,
        layout: &[FieldLayout],
        written: &[(String, Option<String>)],
    ) -> Vec<(String, Option<String>)> {
        let mut out = vec![];
        for f in layout {
            if let Kind::Single(target) = &f.kind
                && !written.iter().any(|(k, _)| k == &f.name)
                && let Some(Value::Object(o)) = &f.default
                && let Some(Value::String(d)) = o.get("fibery/id")
            {
                let d = if d == "$my-id" { &self.me } else { d };
                if self.entity(target, d).is_some() {
                    out.push((f.name.clone(), Some(d.clone())));
                }
            }
        }
        out
    }

    /// `fibery.entity/create`: the create view and its webhook effect.
    pub fn create(
        &mut self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<(Value, Effect), FiberyError> {
        self.check_limits()?;
        let Prepared { prims, mut refs } = self.prepare(ty, fields)?;
        let id = self.new_id(ty, fields)?;
        self.check_unique(ty, &prims, None)?;
        let layout = self.layout(ty).ok_or_else(|| error::type_not_found(ty))?;
        let mut e = self.initial_values(ty, &layout, &id);
        e.extend(prims);
        let id = self.insert_raw(ty, e);
        refs.extend(self.default_refs(&layout, &refs));
        for (k, r) in refs {
            self.set_single(ty, &id, &k, r);
        }
        let view = self.view(ty, &id);
        let effect = Effect::new("fibery.entity/create", ty, id, view.clone(), Value::Null);
        Ok((view, effect))
    }

    /// Fails when a written value clashes with another entity's on a unique field.
    fn check_unique(
        &mut self,
        ty: &str,
        prims: &[(String, Value)],
        except: Option<&str>,
    ) -> Result<(), FiberyError> {
        let Some(t) = find_type(&self.schema, ty) else {
            return Ok(());
        };
        let mut checks = vec![];
        for (k, v) in prims {
            let Some(f) = find_field(t, k) else { continue };
            let ci = f
                .meta
                .extra
                .get("fibery/case-insensitive-text-unique?")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if (f.meta.unique || ci) && !v.is_null() {
                checks.push((k.clone(), v.clone(), ci && v.is_string()));
            }
        }
        for (k, v, ci) in checks {
            let clash = self
                .lookup(ty, &k, ci, &v)
                .iter()
                .any(|id| Some(id.as_str()) != except);
            if clash {
                return Err(error::new(
                    "entity.error/unique-constraint-violation",
                    format!(
                        "\"{k}\" field of \"{ty}\" database must be unique: {v} already exists."
                    ),
                )
                .with_data(json!({"type": ty, "field": k})));
            }
        }
        Ok(())
    }

    /// `fibery.entity/update`: the update view and an effect with the changed fields only.
    pub fn update(
        &mut self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<(Value, Effect), FiberyError> {
        let id = fields
            .get("fibery/id")
            .and_then(Value::as_str)
            .ok_or_else(|| error::bad_args("entity must contain \"fibery/id\""))?
            .to_string();
        let Prepared { prims, refs } = self.prepare(ty, fields)?;
        let before = self
            .entity(ty, &id)
            .cloned()
            .ok_or_else(|| error::not_found(ty, &id))?;
        self.check_unique(ty, &prims, Some(&id))?;
        let now = self.now();
        let before_view = self.render(ty, &before);
        self.index_remove(ty, &id, &before);
        if let Some(e) = self.entity_mut(ty, &id) {
            e.extend(prims);
            e.insert("fibery/modification-date", json!(now));
        }
        if let Some(e) = self.entity(ty, &id).cloned() {
            self.index_add(ty, &id, &e);
            self.bytes.entity(&id, &before, false);
            self.bytes.entity(&id, &e, true);
        }
        for (k, r) in refs {
            self.set_single(ty, &id, &k, r);
        }
        let view = self.view(ty, &id);
        let (mut values, mut values_before) = (Map::new(), Map::new());
        if let (Value::Object(a), Value::Object(b)) = (&view, &before_view) {
            for (k, v) in a.iter().filter(|(k, v)| b.get(*k) != Some(*v)) {
                values.insert(k.clone(), v.clone());
                values_before.insert(k.clone(), b.get(k).cloned().unwrap_or(Value::Null));
            }
        }
        let effect = Effect::new(
            "fibery.entity/update",
            ty,
            id,
            Value::Object(values),
            Value::Object(values_before),
        );
        Ok((view, effect))
    }

    /// `fibery.entity/delete`: detaches the entity from every relation and removes its
    /// documents.
    pub fn delete(&mut self, ty: &str, id: &str) -> Result<Effect, FiberyError> {
        self.writable_type(ty)?;
        let layout = self.layout(ty).ok_or_else(|| error::type_not_found(ty))?;
        let e = self
            .entity(ty, id)
            .cloned()
            .ok_or_else(|| error::not_found(ty, id))?;
        let view = self.render(ty, &e);
        for f in layout.iter() {
            match &f.kind {
                Kind::Single(_) => self.set_single(ty, id, &f.name, None),
                Kind::Collection(_) => {
                    for it in ids_in(e.get(&f.name)) {
                        self.remove_item(ty, id, &f.name, &it);
                    }
                }
                Kind::RichText => {
                    if let Some(s) = e.get(&f.name).and_then(Value::as_str) {
                        self.touch_doc(s);
                        self.documents.remove(s);
                    }
                }
                Kind::Primitive(_) => {}
            }
        }
        self.clear_one_way_refs(ty, id);
        self.touch(ty, id);
        self.index_remove(ty, id, &e);
        self.bytes.entity(id, &e, false);
        if let Some(s) = self.types.get_mut(ty) {
            s.entities.remove(id);
        }
        Ok(Effect::new(
            "fibery.entity/delete",
            ty,
            id.into(),
            Value::Null,
            view,
        ))
    }

    /// Clears references to a deleted entity from fields without an inverse end.
    fn clear_one_way_refs(&mut self, ty: &str, id: &str) {
        let mut holders: Vec<(String, String)> = vec![];
        for other in self.schema.types.iter().filter(|t| !t.deleted) {
            for f in other
                .fields
                .iter()
                .filter(|f| !f.deleted && f.type_name == ty)
            {
                if f.meta.relation.is_none() || inverse(&self.schema, &other.name, f).is_none() {
                    holders.push((other.name.clone(), f.name.clone()));
                }
            }
        }
        for (oty, fname) in holders {
            let points_here = |v: Option<&Value>| match v {
                Some(Value::String(s)) => s == id,
                Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(id)),
                _ => false,
            };
            let hits: Vec<String> = self
                .types
                .get(&oty)
                .map(|s| {
                    s.entities
                        .iter()
                        .filter(|(_, oe)| points_here(oe.get(&fname)))
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default();
            for oid in hits {
                if let Some(oe) = self.entity_mut(&oty, &oid) {
                    match oe.get_mut(&fname) {
                        Some(Value::Array(a)) => a.retain(|x| x.as_str() != Some(id)),
                        _ => {
                            oe.insert(fname.clone(), Value::Null);
                        }
                    }
                }
            }
        }
    }

    /// The create/update view of a stored entity.
    pub(super) fn view(&self, ty: &str, id: &str) -> Value {
        match self.entity(ty, id) {
            Some(e) => self.render(ty, e),
            None => self.render(ty, &Entity::new()),
        }
    }
}

/// The ids in a stored collection value.
pub(super) fn ids_in(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
