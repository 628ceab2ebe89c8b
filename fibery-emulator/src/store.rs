//! The in-memory workspace: schema, entities, documents, files, webhooks; entity writes.

use std::collections::{BTreeMap, HashMap};

use fibery_core::schema::Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::model::{
    FErr, Kind, find_field, find_type, format_ts, inverse, is_system_readonly, kind_of,
    normalize_primitive,
};

/// One stored entity: field name -> stored value. Single refs are stored as the target id
/// (or null), collections as arrays of ids, rich text as the document secret.
pub(crate) type Entity = Map<String, Value>;

/// Entities of one type.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct TypeStore {
    pub entities: HashMap<String, Entity>,
    pub next_public_id: u64,
}

/// A stored file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileBlob {
    pub id: String,
    pub name: String,
    pub content_type: String,
    /// Hex-encoded bytes (keeps the data file plain JSON).
    pub hex: String,
}

/// A webhook subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Webhook {
    pub id: u64,
    pub url: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub runs: Vec<Value>,
}

/// The whole workspace state (what `--data` persists).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Store {
    pub schema: Schema,
    pub types: BTreeMap<String, TypeStore>,
    pub documents: HashMap<String, String>,
    pub files: HashMap<String, FileBlob>,
    pub webhooks: Vec<Webhook>,
    pub next_webhook_id: u64,
    pub me: String,
    #[serde(default)]
    pub last_ts: i128,
    #[serde(default)]
    pub sequence: u64,
    /// Undo log of the running all-or-nothing command, if any.
    #[serde(skip)]
    journal: Option<Journal>,
    /// Lazily built value -> ids indexes for unique and conflict-field lookups.
    #[serde(skip)]
    index: HashMap<IndexKey, HashMap<String, Vec<String>>>,
}

/// (type, field, case-insensitive)
type IndexKey = (String, String, bool);

/// What an all-or-nothing command changed, to undo it without cloning the store.
#[derive(Debug, Clone, Default)]
struct Journal {
    entities: HashMap<(String, String), Option<Entity>>,
    public_ids: HashMap<String, u64>,
    docs: HashMap<String, Option<String>>,
}

fn index_key(v: &Value, ci: bool) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if ci => Some(format!("s:{}", s.to_lowercase())),
        Value::String(s) => Some(format!("s:{s}")),
        other => Some(other.to_string()),
    }
}

/// A change produced by a write, for webhooks.
#[derive(Debug, Clone)]
pub(crate) struct Effect {
    pub effect: &'static str,
    pub id: String,
    pub type_name: String,
    pub values: Value,
    pub values_before: Value,
}

pub(crate) fn hex_encode(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

pub(crate) fn hex_decode(s: &str) -> Vec<u8> {
    let v = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    };
    s.as_bytes()
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (v(c[0]) << 4) | v(c[1]))
        .collect()
}

fn ref_id(v: &Value) -> Option<Option<String>> {
    // Accept `{"fibery/id": "x"}`, `{"fibery/id": null}` and `null`.
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

impl Store {
    pub fn new(schema: Schema) -> Self {
        let mut s = Store {
            schema,
            types: BTreeMap::new(),
            documents: HashMap::new(),
            files: HashMap::new(),
            webhooks: vec![],
            next_webhook_id: 1,
            me: uuid::Uuid::new_v4().to_string(),
            last_ts: 0,
            sequence: 0,
            journal: None,
            index: HashMap::new(),
        };
        crate::model::ensure_system_types(&mut s.schema);
        let me = s.me.clone();
        let mut user = Map::new();
        user.insert("fibery/id".into(), json!(me));
        user.insert("user/name".into(), json!("Emulator User"));
        user.insert("user/email".into(), json!("emulator@localhost"));
        user.insert("fibery/active?".into(), json!(true));
        user.insert("fibery/admin?".into(), json!(true));
        let _ = s.insert_raw("fibery/user", user);
        s
    }

    /// A strictly increasing timestamp (ms resolution), so creation order is total.
    pub fn now(&mut self) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let ms = if now <= self.last_ts {
            self.last_ts + 1
        } else {
            now
        };
        self.last_ts = ms;
        let t = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        format_ts(t)
    }

    /// Creates Open / In Progress / Done in an empty workflow enum and, when the holder's
    /// `workflow/state` field has no default, makes Open the default.
    pub fn default_workflow_states(&mut self, enum_type: &str) {
        if find_type(&self.schema, enum_type).is_none()
            || self
                .types
                .get(enum_type)
                .is_some_and(|t| !t.entities.is_empty())
        {
            return;
        }
        let has_final = find_type(&self.schema, enum_type)
            .and_then(|t| find_field(t, "workflow/Final"))
            .is_some();
        let mut first = None;
        for (i, (name, fin)) in [("Open", false), ("In Progress", false), ("Done", true)]
            .iter()
            .enumerate()
        {
            let mut e = Map::new();
            e.insert("enum/name".into(), json!(name));
            e.insert("fibery/rank".into(), json!(i as i64 * 1_000_000));
            if has_final {
                e.insert("workflow/Final".into(), json!(fin));
            }
            let id = self.insert_raw(enum_type, e);
            first.get_or_insert(id);
        }
        let holder = enum_type.trim_start_matches("workflow/state_").to_string();
        if let (Some(first), Some(t)) = (
            first,
            crate::model::find_type_mut(&mut self.schema, &holder),
        ) && let Some(f) = t
            .fields
            .iter_mut()
            .find(|f| f.name == "workflow/state" && !f.deleted)
            && f.meta.default_value.is_none()
        {
            f.meta.default_value = Some(json!({"fibery/id": first}));
        }
    }

    /// Starts an undo log; returns false if one is already running (the outer owner
    /// commits or rolls back).
    pub fn begin(&mut self) -> bool {
        if self.journal.is_some() {
            return false;
        }
        self.journal = Some(Journal::default());
        true
    }

    /// Drops the undo log, keeping the changes.
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes everything since [`Store::begin`].
    pub fn rollback(&mut self) {
        let Some(j) = self.journal.take() else { return };
        for ((ty, id), old) in j.entities {
            let ts = self.types.entry(ty).or_default();
            match old {
                Some(e) => {
                    ts.entities.insert(id, e);
                }
                None => {
                    ts.entities.remove(&id);
                }
            }
        }
        for (ty, n) in j.public_ids {
            self.types.entry(ty).or_default().next_public_id = n;
        }
        for (secret, old) in j.docs {
            match old {
                Some(c) => {
                    self.documents.insert(secret, c);
                }
                None => {
                    self.documents.remove(&secret);
                }
            }
        }
        self.index.clear();
    }

    /// Records the current state of an entity in the undo log (first touch only).
    fn touch(&mut self, ty: &str, id: &str) {
        if let Some(j) = &mut self.journal {
            let key = (ty.to_string(), id.to_string());
            if let std::collections::hash_map::Entry::Vacant(slot) = j.entities.entry(key) {
                slot.insert(self.types.get(ty).and_then(|t| t.entities.get(id)).cloned());
            }
        }
    }

    fn touch_doc(&mut self, secret: &str) {
        if let Some(j) = &mut self.journal
            && !j.docs.contains_key(secret)
        {
            j.docs
                .insert(secret.to_string(), self.documents.get(secret).cloned());
        }
    }

    /// Forgets every index (after schema changes that rewrite values).
    pub fn clear_index(&mut self) {
        self.index.clear();
    }

    /// Ids of `ty` entities whose `field` equals `v` (case-insensitively for text if `ci`).
    fn lookup(&mut self, ty: &str, field: &str, ci: bool, v: &Value) -> Vec<String> {
        let Some(k) = index_key(v, ci) else {
            return vec![];
        };
        let key = (ty.to_string(), field.to_string(), ci);
        if !self.index.contains_key(&key) {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            if let Some(ts) = self.types.get(ty) {
                for (id, e) in &ts.entities {
                    if let Some(k) = e.get(field).and_then(|x| index_key(x, ci)) {
                        m.entry(k).or_default().push(id.clone());
                    }
                }
            }
            self.index.insert(key.clone(), m);
        }
        self.index
            .get(&key)
            .and_then(|m| m.get(&k))
            .cloned()
            .unwrap_or_default()
    }

    fn index_add(&mut self, ty: &str, id: &str, e: &Entity) {
        for ((t, f, ci), m) in self.index.iter_mut() {
            if t == ty
                && let Some(k) = e.get(f).and_then(|x| index_key(x, *ci))
            {
                m.entry(k).or_default().push(id.to_string());
            }
        }
    }

    fn index_remove(&mut self, ty: &str, id: &str, e: &Entity) {
        for ((t, f, ci), m) in self.index.iter_mut() {
            if t == ty
                && let Some(k) = e.get(f).and_then(|x| index_key(x, *ci))
                && let Some(ids) = m.get_mut(&k)
            {
                ids.retain(|x| x != id);
            }
        }
    }

    pub fn entity(&self, ty: &str, id: &str) -> Option<&Entity> {
        self.types.get(ty)?.entities.get(id)
    }

    fn entity_mut(&mut self, ty: &str, id: &str) -> Option<&mut Entity> {
        self.touch(ty, id);
        self.types.get_mut(ty)?.entities.get_mut(id)
    }

    pub fn count_entities(&self) -> usize {
        self.types.values().map(|t| t.entities.len()).sum()
    }

    /// Inserts system/seed data bypassing validation (ids, dates, public id filled in).
    pub fn insert_raw(&mut self, ty: &str, mut e: Entity) -> String {
        let id = e
            .get("fibery/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let now = self.now();
        self.touch(ty, &id);
        let next = {
            let ts = self.types.entry(ty.to_string()).or_default();
            if let Some(j) = &mut self.journal {
                j.public_ids
                    .entry(ty.to_string())
                    .or_insert(ts.next_public_id);
            }
            ts.next_public_id += 1;
            ts.next_public_id
        };
        e.insert("fibery/id".into(), json!(id));
        let mut fill = |k: &str, v: Value| {
            if e.get(k).is_none_or(Value::is_null) {
                e.insert(k.to_string(), v);
            }
        };
        fill("fibery/public-id", json!(next.to_string()));
        fill("fibery/creation-date", json!(now));
        fill("fibery/modification-date", json!(now));
        self.index_add(ty, &id, &e);
        self.types
            .entry(ty.to_string())
            .or_default()
            .entities
            .insert(id.clone(), e);
        id
    }

    /// The create/update result view: primitives, single refs as `{"fibery/id"}`.
    pub fn render(&self, ty: &str, e: &Entity) -> Value {
        let mut out = Map::new();
        let Some(t) = find_type(&self.schema, ty) else {
            return Value::Object(e.clone());
        };
        for f in t.fields.iter().filter(|f| !f.deleted) {
            let v = e.get(&f.name).cloned().unwrap_or(Value::Null);
            match kind_of(&self.schema, f) {
                Kind::Primitive(_) => {
                    out.insert(f.name.clone(), v);
                }
                Kind::Single(_) => {
                    let r = match v {
                        Value::String(s) => json!({"fibery/id": s}),
                        _ => Value::Null,
                    };
                    out.insert(f.name.clone(), r);
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    fn check_type(&self, ty: &str) -> Result<(), FErr> {
        match find_type(&self.schema, ty) {
            Some(t) if !t.meta.primitive => Ok(()),
            _ => Err(FErr::type_not_found(ty)),
        }
    }

    /// Validates write values; returns (primitives, single refs) to apply.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<(Vec<(String, Value)>, Vec<(String, Option<String>)>), FErr> {
        self.check_type(ty)?;
        let t = find_type(&self.schema, ty).ok_or_else(|| FErr::type_not_found(ty))?;
        let mut prims = vec![];
        let mut refs = vec![];
        for (k, v) in fields {
            if k == "fibery/id" {
                continue;
            }
            let f = find_field(t, k).ok_or_else(|| FErr::field_not_found(ty, k))?;
            if is_system_readonly(f) || f.meta.formula || f.meta.lookup || f.meta.readonly {
                return Err(FErr::new(
                    "entity.error/field-readonly",
                    format!("\"{k}\" field of \"{ty}\" database is read-only."),
                )
                .with_data(json!({"type": ty, "field": k})));
            }
            match kind_of(&self.schema, f) {
                Kind::Primitive(p) => {
                    let nv =
                        normalize_primitive(&p, v).map_err(|why| FErr::parse_field(ty, k, &why))?;
                    prims.push((k.clone(), nv));
                }
                Kind::Single(target) => {
                    let r = ref_id(v).ok_or_else(|| {
                        FErr::parse_field(ty, k, "Expected {\"fibery/id\": \"<id>\"} or null.")
                    })?;
                    if let Some(id) = &r
                        && self.entity(&target, id).is_none()
                    {
                        return Err(FErr::new(
                            "entity.error/entity-not-found",
                            format!("\"{target}\" entity with id \"{id}\" was not found."),
                        )
                        .with_data(json!({"type": target, "id": id})));
                    }
                    refs.push((k.clone(), r));
                }
                Kind::Collection(_) => {
                    return Err(FErr::new(
                        "entity.error/collection-field-update-not-supported",
                        format!(
                            "\"{k}\" is a collection field: use fibery.entity/add-collection-items."
                        ),
                    )
                    .with_data(json!({"type": ty, "field": k})));
                }
                Kind::RichText => {
                    return Err(FErr::new(
                        "entity.error/document-field-update-not-supported",
                        format!("\"{k}\" is a rich-text field: write it through /api/documents."),
                    )
                    .with_data(json!({"type": ty, "field": k})));
                }
            }
        }
        Ok((prims, refs))
    }

    pub fn create(
        &mut self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<(Value, Effect), FErr> {
        let (prims, refs) = self.prepare(ty, fields)?;
        let id = match fields.get("fibery/id") {
            None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => s.clone(),
            Some(_) => {
                return Err(FErr::parse_field(
                    ty,
                    "fibery/id",
                    "Expected a UUID string.",
                ));
            }
        };
        if self.entity(ty, &id).is_some() {
            return Err(FErr::new(
                "entity.error/entity-already-exists",
                format!("\"{ty}\" entity with id \"{id}\" already exists."),
            )
            .with_data(json!({"type": ty, "id": id})));
        }
        self.check_unique(ty, &prims, None)?;
        let t = find_type(&self.schema, ty)
            .ok_or_else(|| FErr::type_not_found(ty))?
            .clone();
        let mut e = Map::new();
        e.insert("fibery/id".into(), json!(id));
        for f in t.fields.iter().filter(|f| !f.deleted) {
            match kind_of(&self.schema, f) {
                Kind::Collection(_) => {
                    e.insert(f.name.clone(), json!([]));
                }
                Kind::RichText => {
                    let secret = uuid::Uuid::new_v4().to_string();
                    self.touch_doc(&secret);
                    self.documents.insert(secret.clone(), String::new());
                    e.insert(f.name.clone(), json!(secret));
                }
                Kind::Primitive(p) if f.name != "fibery/id" => {
                    let dv = match &f.meta.default_value {
                        Some(Value::String(s)) if s == "$now" => Value::Null,
                        Some(v) if !v.is_object() => {
                            normalize_primitive(&p, v).unwrap_or(Value::Null)
                        }
                        _ => Value::Null,
                    };
                    if p == "fibery/rank" {
                        e.insert(f.name.clone(), json!(0));
                    }
                    e.entry(f.name.clone()).or_insert(dv);
                }
                _ => {
                    e.entry(f.name.clone()).or_insert(Value::Null);
                }
            }
        }
        if e.contains_key("fibery/rank") {
            let n = self.types.get(ty).map(|t| t.entities.len()).unwrap_or(0) as i64;
            e.insert("fibery/rank".into(), json!(n * 1_000_000));
        }
        for (k, v) in prims {
            e.insert(k, v);
        }
        let creating_id = self.insert_raw(ty, e);
        // Single-ref defaults: `{"fibery/id": "$my-id"}` and option ids.
        let mut refs = refs;
        for f in t.fields.iter().filter(|f| !f.deleted) {
            if let Kind::Single(target) = kind_of(&self.schema, f)
                && !refs.iter().any(|(k, _)| k == &f.name)
                && let Some(Value::Object(o)) = &f.meta.default_value
                && let Some(Value::String(d)) = o.get("fibery/id")
            {
                let d = if d == "$my-id" {
                    self.me.clone()
                } else {
                    d.clone()
                };
                if self.entity(&target, &d).is_some() {
                    refs.push((f.name.clone(), Some(d)));
                }
            }
        }
        for (k, r) in refs {
            self.set_single(ty, &creating_id, &k, r);
        }
        let e = self.entity(ty, &creating_id).cloned().unwrap_or_default();
        let view = self.render(ty, &e);
        let effect = Effect {
            effect: "fibery.entity/create",
            id: creating_id,
            type_name: ty.into(),
            values: view.clone(),
            values_before: Value::Null,
        };
        Ok((view, effect))
    }

    fn check_unique(
        &mut self,
        ty: &str,
        prims: &[(String, Value)],
        except: Option<&str>,
    ) -> Result<(), FErr> {
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
                return Err(FErr::new(
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

    pub fn update(
        &mut self,
        ty: &str,
        fields: &Map<String, Value>,
    ) -> Result<(Value, Effect), FErr> {
        let id = fields
            .get("fibery/id")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("entity must contain \"fibery/id\""))?
            .to_string();
        let (prims, refs) = self.prepare(ty, fields)?;
        let before = self
            .entity(ty, &id)
            .cloned()
            .ok_or_else(|| not_found(ty, &id))?;
        self.check_unique(ty, &prims, Some(&id))?;
        let now = self.now();
        let before_view = self.render(ty, &before);
        self.index_remove(ty, &id, &before);
        if let Some(e) = self.entity_mut(ty, &id) {
            for (k, v) in prims {
                e.insert(k, v);
            }
            e.insert("fibery/modification-date".into(), json!(now));
        }
        if let Some(e) = self.entity(ty, &id).cloned() {
            self.index_add(ty, &id, &e);
        }
        for (k, r) in refs {
            self.set_single(ty, &id, &k, r);
        }
        let after = self.entity(ty, &id).cloned().unwrap_or_default();
        let view = self.render(ty, &after);
        let (mut values, mut values_before) = (Map::new(), Map::new());
        if let (Value::Object(a), Value::Object(b)) = (&view, &before_view) {
            for (k, v) in a {
                if b.get(k) != Some(v) {
                    values.insert(k.clone(), v.clone());
                    values_before.insert(k.clone(), b.get(k).cloned().unwrap_or(Value::Null));
                }
            }
        }
        let effect = Effect {
            effect: "fibery.entity/update",
            id,
            type_name: ty.into(),
            values: Value::Object(values),
            values_before: Value::Object(values_before),
        };
        Ok((view, effect))
    }

    pub fn delete(&mut self, ty: &str, id: &str) -> Result<Effect, FErr> {
        self.check_type(ty)?;
        let e = self
            .entity(ty, id)
            .cloned()
            .ok_or_else(|| not_found(ty, id))?;
        let view = self.render(ty, &e);
        let t = find_type(&self.schema, ty)
            .cloned()
            .ok_or_else(|| FErr::type_not_found(ty))?;
        for f in t.fields.iter().filter(|f| !f.deleted) {
            match kind_of(&self.schema, f) {
                Kind::Single(_) => self.set_single(ty, id, &f.name, None),
                Kind::Collection(_) => {
                    let items: Vec<String> = e
                        .get(&f.name)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    for it in items {
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
        // One-way references from other types (no inverse field) are cleared too.
        let mut holders: Vec<(String, String)> = vec![];
        for other in self.schema.types.iter().filter(|t| !t.deleted) {
            for f in other
                .fields
                .iter()
                .filter(|f| !f.deleted && f.type_name == ty)
            {
                if f.meta.relation.is_some() && inverse(&self.schema, &other.name, f).is_some() {
                    continue;
                }
                holders.push((other.name.clone(), f.name.clone()));
            }
        }
        for (oty, fname) in holders {
            let hits: Vec<String> = self
                .types
                .get(&oty)
                .map(|s| {
                    s.entities
                        .iter()
                        .filter(|(_, oe)| match oe.get(&fname) {
                            Some(Value::String(s)) => s == id,
                            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(id)),
                            _ => false,
                        })
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
        self.touch(ty, id);
        self.index_remove(ty, id, &e);
        if let Some(s) = self.types.get_mut(ty) {
            s.entities.remove(id);
        }
        Ok(Effect {
            effect: "fibery.entity/delete",
            id: id.into(),
            type_name: ty.into(),
            values: Value::Null,
            values_before: view,
        })
    }

    fn raw_set(&mut self, ty: &str, id: &str, field: &str, v: Value) {
        if let Some(e) = self.entity_mut(ty, id) {
            e.insert(field.to_string(), v);
        }
    }

    fn raw_push(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        if let Some(e) = self.entity_mut(ty, id) {
            let a = e.entry(field.to_string()).or_insert(json!([]));
            if !a.is_array() {
                *a = json!([]);
            }
            if let Value::Array(a) = a
                && !a.iter().any(|x| x.as_str() == Some(item))
            {
                a.push(json!(item));
            }
        }
    }

    fn raw_pull(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        if let Some(Value::Array(a)) = self.entity_mut(ty, id).and_then(|e| e.get_mut(field)) {
            a.retain(|x| x.as_str() != Some(item));
        }
    }

    /// Detaches `id` from whatever the inverse side of (ty, field) says.
    fn inv_of(&self, ty: &str, field: &str) -> Option<(String, String, bool)> {
        let t = find_type(&self.schema, ty)?;
        let f = find_field(t, field)?;
        inverse(&self.schema, ty, f)
    }

    /// Sets a single reference keeping the inverse side consistent.
    pub fn set_single(&mut self, ty: &str, id: &str, field: &str, new: Option<String>) {
        let old = self
            .entity(ty, id)
            .and_then(|e| e.get(field))
            .and_then(Value::as_str)
            .map(str::to_string);
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
                self.raw_push(tt, n, inv_f, id);
            } else {
                // One-to-one: the target's previous partner loses its link.
                let prev = self
                    .entity(tt, n)
                    .and_then(|e| e.get(inv_f))
                    .and_then(Value::as_str)
                    .map(str::to_string);
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
                let prev = self
                    .entity(&tt, item)
                    .and_then(|e| e.get(&inv_f))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(p) = prev {
                    self.raw_pull(ty, &p, field, item);
                }
                self.raw_set(&tt, item, &inv_f, json!(id));
            }
            Some((tt, inv_f, true)) => self.raw_push(&tt, item, &inv_f, id),
            None => {}
        }
        self.raw_push(ty, id, field, item);
    }

    /// Removes an item from a collection keeping the inverse side consistent (idempotent).
    pub fn remove_item(&mut self, ty: &str, id: &str, field: &str, item: &str) {
        match self.inv_of(ty, field) {
            Some((tt, inv_f, false)) => {
                let cur = self
                    .entity(&tt, item)
                    .and_then(|e| e.get(&inv_f))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if cur.as_deref() == Some(id) {
                    self.raw_set(&tt, item, &inv_f, Value::Null);
                }
            }
            Some((tt, inv_f, true)) => self.raw_pull(&tt, item, &inv_f, id),
            None => {}
        }
        self.raw_pull(ty, id, field, item);
    }

    /// `add-collection-items` / `remove-collection-items` in both argument shapes.
    pub fn collection_items(
        &mut self,
        args: &Map<String, Value>,
        add: bool,
    ) -> Result<Vec<Effect>, FErr> {
        let ty = args
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("\"type\" is required"))?;
        let field = args
            .get("field")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("\"field\" is required"))?;
        self.check_type(ty)?;
        let f = crate::model::field(&self.schema, ty, field)?;
        let Kind::Collection(target) = kind_of(&self.schema, f) else {
            return Err(FErr::new(
                "entity.error/not-a-collection-field",
                format!("\"{field}\" field of \"{ty}\" database is not a collection."),
            )
            .with_data(json!({"type": ty, "field": field})));
        };
        if f.meta.formula || f.meta.lookup {
            return Err(FErr::new(
                "entity.error/field-readonly",
                format!("\"{field}\" field of \"{ty}\" database is read-only."),
            ));
        }
        let entity = args
            .get("entity")
            .and_then(Value::as_object)
            .ok_or_else(|| FErr::bad_args("\"entity\" must be an object"))?;
        let mut pairs: Vec<(String, Vec<String>)> = vec![];
        if let Some(pid) = entity.get("fibery/id") {
            let pid = pid
                .as_str()
                .ok_or_else(|| FErr::bad_args("\"fibery/id\" must be a string"))?;
            let items = args
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| FErr::bad_args("\"items\" must be an array"))?;
            let mut ids = vec![];
            for it in items {
                match it {
                    Value::Object(o) => ids.push(
                        o.get("fibery/id")
                            .and_then(Value::as_str)
                            .ok_or_else(|| FErr::bad_args("items need \"fibery/id\""))?
                            .to_string(),
                    ),
                    Value::String(s) => ids.push(s.clone()),
                    _ => return Err(FErr::bad_args("items must be {\"fibery/id\": ...} objects")),
                }
            }
            pairs.push((pid.to_string(), ids));
        } else {
            for (pid, v) in entity {
                let items = v
                    .as_array()
                    .ok_or_else(|| FErr::bad_args("entity map values must be arrays of ids"))?;
                let ids = items
                    .iter()
                    .map(|x| {
                        x.as_str().map(str::to_string).or_else(|| {
                            x.get("fibery/id")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| FErr::bad_args("entity map values must be arrays of ids"))?;
                pairs.push((pid.clone(), ids));
            }
        }
        // Validate everything first: nothing changes on error.
        for (pid, ids) in &pairs {
            if self.entity(ty, pid).is_none() {
                return Err(not_found(ty, pid));
            }
            for i in ids {
                if add && self.entity(&target, i).is_none() {
                    return Err(not_found(&target, i));
                }
            }
        }
        let now = self.now();
        let mut effects = vec![];
        for (pid, ids) in pairs {
            for i in &ids {
                if add {
                    self.add_item(ty, &pid, field, i);
                } else {
                    self.remove_item(ty, &pid, field, i);
                }
            }
            if let Some(e) = self.entity_mut(ty, &pid) {
                e.insert("fibery/modification-date".into(), json!(now));
            }
            effects.push(Effect {
                effect: if add { "fibery.entity/add-collection-items" } else { "fibery.entity/remove-collection-items" },
                id: pid,
                type_name: ty.into(),
                values: json!({ field: ids.iter().map(|i| json!({"fibery/id": i})).collect::<Vec<_>>() }),
                values_before: Value::Null,
            });
        }
        Ok(effects)
    }

    /// `fibery.entity.batch/create-or-update`.
    pub fn upsert(&mut self, args: &Map<String, Value>) -> Result<(Value, Vec<Effect>), FErr> {
        let ty = args
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("\"type\" is required"))?;
        self.check_type(ty)?;
        let cf = args
            .get("conflict-field")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("\"conflict-field\" is required"))?;
        let action = args
            .get("conflict-action")
            .and_then(Value::as_str)
            .ok_or_else(|| FErr::bad_args("\"conflict-action\" is required"))?;
        if action != "skip-create" && action != "update-latest" {
            return Err(FErr::bad_args(format!(
                "unknown conflict-action \"{action}\"; expected skip-create or update-latest"
            )));
        }
        let f = crate::model::field(&self.schema, ty, cf)?;
        if !matches!(
            f.type_name.as_str(),
            "fibery/text" | "fibery/int" | "fibery/date"
        ) {
            return Err(FErr::new(
                "entity.error/conflict-field-type-not-supported",
                format!(
                    "Conflict field \"{cf}\" must be of type fibery/text, fibery/int or fibery/date, not {}.",
                    f.type_name
                ),
            ));
        }
        let ftype = f.type_name.clone();
        let entities = args
            .get("entities")
            .and_then(Value::as_array)
            .ok_or_else(|| FErr::bad_args("\"entities\" must be an array"))?;
        // Validate all first.
        let mut objs = vec![];
        for e in entities {
            let o = e
                .as_object()
                .ok_or_else(|| FErr::bad_args("entities must be objects"))?;
            if !o.get("fibery/id").is_some_and(Value::is_string) {
                return Err(FErr::bad_args(
                    "every entity needs \"fibery/id\" for create-or-update",
                ));
            }
            self.prepare(ty, o)?;
            objs.push(o.clone());
        }
        let key_of = |o: &Map<String, Value>| -> Option<Value> {
            o.get(cf)
                .filter(|v| !v.is_null())
                .map(|v| normalize_primitive(&ftype, v).unwrap_or(v.clone()))
        };
        // In-batch duplicates: skip-create keeps the first, update-latest keeps the last.
        let mut winner: HashMap<String, usize> = HashMap::new();
        for (i, o) in objs.iter().enumerate() {
            if let Some(k) = key_of(o) {
                let ks = k.to_string();
                if action == "update-latest" || !winner.contains_key(&ks) {
                    winner.insert(ks, i);
                }
            }
        }
        let mut results = vec![];
        let mut effects = vec![];
        for (i, o) in objs.iter().enumerate() {
            let key = key_of(o);
            if let Some(k) = &key
                && winner.get(&k.to_string()) != Some(&i)
            {
                let w = &objs[winner[&k.to_string()]];
                results.push(json!({"action": "prefer-duplicate-found-in-the-batch", "entity": Value::Object(o.clone()), "duplicate": Value::Object(w.clone())}));
                continue;
            }
            let dup = match &key {
                Some(k) => {
                    let ids = self.lookup(ty, cf, false, k);
                    ids.iter()
                        .filter_map(|i| self.entity(ty, i))
                        .max_by(|a, b| {
                            let ka = (
                                a.get("fibery/creation-date").and_then(Value::as_str),
                                a.get("fibery/id").and_then(Value::as_str),
                            );
                            let kb = (
                                b.get("fibery/creation-date").and_then(Value::as_str),
                                b.get("fibery/id").and_then(Value::as_str),
                            );
                            ka.cmp(&kb)
                        })
                        .cloned()
                }
                None => None,
            };
            match dup {
                None => {
                    let (created, eff) = self.create(ty, o)?;
                    effects.push(eff);
                    results.push(json!({"action": "create", "created": created}));
                }
                Some(d) => {
                    let dview = self.render(ty, &d);
                    if action == "skip-create" {
                        results.push(json!({"action": "skip-create", "entity": Value::Object(o.clone()), "duplicate": dview}));
                    } else {
                        let mut upd = Map::new();
                        upd.insert(
                            "fibery/id".into(),
                            d.get("fibery/id").cloned().unwrap_or(Value::Null),
                        );
                        for (k, v) in o {
                            if !matches!(
                                k.as_str(),
                                "fibery/id"
                                    | "fibery/public-id"
                                    | "fibery/rank"
                                    | "fibery/creation-date"
                            ) {
                                upd.insert(k.clone(), v.clone());
                            }
                        }
                        let (updated, eff) = self.update(ty, &upd)?;
                        effects.push(eff);
                        results.push(json!({"action": "update-latest", "entity": Value::Object(o.clone()), "duplicate": dview, "updated": updated}));
                    }
                }
            }
        }
        Ok((Value::Array(results), effects))
    }
}

pub(crate) fn not_found(ty: &str, id: &str) -> FErr {
    FErr::new(
        "entity.error/not-found",
        format!("\"{ty}\" entity with id \"{id}\" was not found."),
    )
    .with_data(json!({"type": ty, "id": id}))
}
