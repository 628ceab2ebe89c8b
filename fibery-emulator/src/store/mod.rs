//! The in-memory workspace: schema, entities, documents, files and webhooks, with the undo log
//! of all-or-nothing commands and the value indexes of unique and conflict-field lookups.
//! Writes live in the submodules; query evaluation in [`qeval`].

mod capacity;
mod dirty;
mod entity;
mod index;
mod layout;
mod persist;
pub(crate) mod qeval;
mod relations;
pub(crate) mod schema;
pub(crate) mod system_types;
mod upsert;
pub(crate) mod values;
mod write;

use std::collections::{BTreeMap, HashMap};

use fibery_core::schema::Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use fibery_core::value::format_date_time;
pub(crate) use persist::Persistence;
pub use persist::{Fsync, Recovery};
use schema::{DOC_SECRET, Kind, find_field, find_type, kind_of};

pub(crate) use entity::{Entity, Name};

/// Entities of one type.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct TypeStore {
    /// By id: ordered, so keyset pages on `fibery/id` read a range instead of sorting.
    pub entities: BTreeMap<String, Entity>,
    pub next_public_id: u64,
}

/// A stored file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileBlob {
    pub id: String,
    pub name: String,
    pub content_type: String,
    /// Hex-encoded bytes (keeps the data file plain JSON).
    hex: String,
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
    /// Keys written since the last persisted record.
    #[serde(skip)]
    dirty: dirty::Dirty,
    /// Whether written keys are kept for persistence (off in memory).
    #[serde(skip, default = "yes")]
    pub track_changes: bool,
    /// Entities the workspace may hold (creates fail beyond it); set at start.
    #[serde(skip)]
    pub max_entities: Option<u64>,
    /// Estimated bytes the workspace may hold (creates fail beyond it); set at start.
    #[serde(skip)]
    pub max_bytes: Option<u64>,
    /// Running estimate of the stored bytes (see [`capacity`]).
    #[serde(skip)]
    bytes: capacity::ByteCount,
    /// Work units one query may spend (see `qeval::limits`); set at start.
    #[serde(skip, default = "default_work_budget")]
    pub work_budget: u64,
    /// Value -> ids indexes, built on first use (see [`index`]).
    #[serde(skip)]
    pub(crate) index: index::Indexes,
    /// Field layouts per type (see [`layout`]).
    #[serde(skip)]
    layouts: layout::Layouts,
}

fn yes() -> bool {
    true
}

fn default_work_budget() -> u64 {
    qeval::DEFAULT_WORK_BUDGET
}

/// What an all-or-nothing command changed, to undo it without cloning the store.
#[derive(Debug, Clone, Default)]
struct Journal {
    entities: HashMap<(String, String), Option<Entity>>,
    public_ids: HashMap<String, u64>,
    docs: HashMap<String, Option<String>>,
}

/// A change produced by a write, for webhooks.
#[derive(Debug, Clone)]
pub(crate) struct Effect {
    /// The command that made it (`fibery.entity/create`, ...).
    pub effect: &'static str,
    pub id: String,
    pub type_name: String,
    /// New values (`null` for deletes).
    pub values: Value,
    /// Previous values (`null` for creates).
    pub values_before: Value,
}

impl Effect {
    fn new(
        effect: &'static str,
        ty: &str,
        id: String,
        values: Value,
        values_before: Value,
    ) -> Self {
        Effect {
            effect,
            id,
            type_name: ty.into(),
            values,
            values_before,
        }
    }
}

impl FileBlob {
    /// A file's bytes with its metadata.
    pub fn new(id: String, name: String, content_type: String, bytes: &[u8]) -> Self {
        const H: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(bytes.len() * 2);
        for x in bytes {
            hex.push(H[(x >> 4) as usize] as char);
            hex.push(H[(x & 15) as usize] as char);
        }
        FileBlob {
            id,
            name,
            content_type,
            hex,
        }
    }

    /// Bytes the file takes in the store (hex-encoded).
    pub fn stored_len(&self) -> usize {
        self.hex.len()
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let v = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        };
        self.hex
            .as_bytes()
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (v(c[0]) << 4) | v(c[1]))
            .collect()
    }
}

/// Puts back (or removes, for `None`) what an undo log recorded.
fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
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
            dirty: dirty::Dirty::default(),
            track_changes: true,
            max_entities: None,
            max_bytes: None,
            bytes: capacity::ByteCount::default(),
            work_budget: default_work_budget(),
            index: index::Indexes::default(),
            layouts: layout::Layouts::default(),
        };
        system_types::ensure_system_types(&mut s.schema);
        let me = s.me.clone();
        let mut user = Entity::new();
        user.insert("fibery/id", json!(me));
        user.insert("user/name", json!("Emulator User"));
        user.insert("user/email", json!("emulator@localhost"));
        user.insert("fibery/active?", json!(true));
        user.insert("fibery/admin?", json!(true));
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
        format_date_time(t)
    }

    /// Creates Open / In Progress / Done in an empty workflow enum. Open takes the id the
    /// holder's `workflow/state` default already names (a loaded schema points at a state
    /// the seed did not bring); without a default, Open becomes it.
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
        let holder = enum_type.trim_start_matches("workflow/state_").to_string();
        let default_id = self.workflow_default_id(&holder);
        let mut first = None;
        for (i, (name, fin)) in [("Open", false), ("In Progress", false), ("Done", true)]
            .iter()
            .enumerate()
        {
            let mut e = Entity::new();
            e.insert("enum/name", json!(name));
            e.insert("fibery/rank", json!(i as i64 * 1_000_000));
            if has_final {
                e.insert("workflow/Final", json!(fin));
            }
            if i == 0
                && let Some(id) = &default_id
            {
                e.insert("fibery/id", json!(id));
            }
            let id = self.insert_raw(enum_type, e);
            first.get_or_insert(id);
        }
        if let (Some(first), Some(t)) = (first, schema::find_type_mut(&mut self.schema, &holder))
            && let Some(f) = t
                .fields
                .iter_mut()
                .find(|f| f.name == "workflow/state" && !f.deleted)
            && f.meta.default_value.is_none()
        {
            f.meta.default_value = Some(json!({"fibery/id": first}));
        }
        self.layouts.clear();
    }

    /// The state id named by `holder`'s `workflow/state` default, if it is a UUID.
    fn workflow_default_id(&self, holder: &str) -> Option<String> {
        let t = find_type(&self.schema, holder)?;
        let f = t
            .fields
            .iter()
            .find(|f| f.name == "workflow/state" && !f.deleted)?;
        let id = f.meta.default_value.as_ref()?.get("fibery/id")?.as_str()?;
        uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
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
            let ents = &mut self.types.entry(ty).or_default().entities;
            match old {
                Some(e) => ents.insert(id, e),
                None => ents.remove(&id),
            };
        }
        for (ty, n) in j.public_ids {
            self.types.entry(ty).or_default().next_public_id = n;
        }
        for (secret, old) in j.docs {
            restore(&mut self.documents, secret, old);
        }
        self.index.clear();
        self.bytes.reset();
    }

    /// Records the current state of an entity in the undo log (first touch only).
    fn touch(&mut self, ty: &str, id: &str) {
        if self.track_changes {
            self.dirty.entities.insert((ty.to_string(), id.to_string()));
        }
        if let Some(j) = &mut self.journal {
            let key = (ty.to_string(), id.to_string());
            if let std::collections::hash_map::Entry::Vacant(slot) = j.entities.entry(key) {
                slot.insert(self.types.get(ty).and_then(|t| t.entities.get(id)).cloned());
            }
        }
    }

    fn touch_doc(&mut self, secret: &str) {
        self.mark_doc(secret);
        if let Some(j) = &mut self.journal
            && !j.docs.contains_key(secret)
        {
            j.docs
                .insert(secret.to_string(), self.documents.get(secret).cloned());
        }
    }

    /// Marks a document as written (for persistence).
    pub fn mark_doc(&mut self, secret: &str) {
        self.doc_rewritten(secret);
        if self.track_changes && !self.dirty.docs.contains(secret) {
            self.dirty.docs.insert(secret.to_string());
        }
    }

    /// Marks a file as written (for persistence).
    pub fn mark_file(&mut self, secret: &str) {
        self.file_rewritten(secret);
        if self.track_changes {
            self.dirty.files.insert(secret.to_string());
        }
    }

    /// Takes the keys written since the last call.
    pub(crate) fn take_dirty(&mut self) -> dirty::Dirty {
        std::mem::take(&mut self.dirty)
    }

    /// Forgets every index and field layout (after schema changes).
    pub fn clear_index(&mut self) {
        self.index.clear();
        self.layouts.clear();
        self.bytes.reset();
    }

    /// The live fields of type `ty` with their kinds and defaults.
    pub(crate) fn layout(&self, ty: &str) -> Option<layout::Layout> {
        self.layouts.get(&self.schema, ty)
    }

    /// Ids of `ty` entities whose `field` equals `v` (case-insensitively for text if `ci`).
    fn lookup(&self, ty: &str, field: &str, ci: bool, v: &Value) -> Vec<String> {
        let want = index::value_key(v, ci);
        let mut ids = self.index.candidates(&self.types, (ty, field, ci), &[v]);
        ids.retain(|id| {
            let now = self.entity(ty, id).and_then(|e| e.get(field));
            want.is_some() && now.and_then(|x| index::value_key(x, ci)) == want
        });
        ids
    }

    fn index_add(&mut self, ty: &str, id: &str, e: &Entity) {
        self.index.add(ty, id, e);
    }

    fn index_remove(&mut self, ty: &str, id: &str, e: &Entity) {
        self.index.remove(ty, id, e);
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
    pub fn insert_raw(&mut self, ty: &str, e: impl Into<Entity>) -> String {
        let mut e: Entity = e.into();
        let id = e
            .get("fibery/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let now = self.now();
        self.touch(ty, &id);
        if !self.types.contains_key(ty) {
            self.types.insert(ty.to_string(), TypeStore::default());
        }
        let next = {
            let Some(ts) = self.types.get_mut(ty) else {
                return id;
            };
            if let Some(j) = &mut self.journal {
                j.public_ids
                    .entry(ty.to_string())
                    .or_insert(ts.next_public_id);
            }
            ts.next_public_id += 1;
            ts.next_public_id
        };
        e.insert("fibery/id", json!(id));
        let mut fill = |k: &str, v: Value| {
            if e.get(k).is_none_or(Value::is_null) {
                e.insert(k, v);
            }
        };
        fill("fibery/public-id", json!(next.to_string()));
        fill("fibery/creation-date", json!(now));
        fill("fibery/modification-date", json!(now));
        e.shrink_to_fit();
        self.index_add(ty, &id, &e);
        self.bytes.entity(&id, &e, true);
        if let Some(ts) = self.types.get_mut(ty) {
            ts.entities.insert(id.clone(), e);
        }
        id
    }

    /// The create/update result view: primitives, single refs as `{"fibery/id"}`.
    pub fn render(&self, ty: &str, e: &Entity) -> Value {
        let Some(layout) = self.layout(ty) else {
            return Value::from(e);
        };
        let mut out = Map::new();
        for f in layout.iter() {
            let v = e.get_name(f.key).cloned().unwrap_or(Value::Null);
            match &f.kind {
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

    /// Every stored entity of a type, in creation order: all fields, single references as
    /// `{"fibery/id": ..}`, collections as arrays of them, rich text as
    /// `{"Collaboration~Documents/secret": ..}`. Empty for unknown types.
    pub fn snapshot(&self, ty: &str) -> Vec<Value> {
        let Some(ts) = self.types.get(ty) else {
            return vec![];
        };
        let mut list: Vec<&Entity> = ts.entities.values().collect();
        let key = |e: &Entity| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (s("fibery/creation-date"), s("fibery/id"))
        };
        list.sort_by_key(|e| key(e));
        let t = find_type(&self.schema, ty);
        list.into_iter()
            .map(|e| {
                let out = e.iter().map(|(k, v)| {
                    let kind = t
                        .and_then(|t| find_field(t, k))
                        .map(|f| kind_of(&self.schema, f));
                    let shown = match (kind, v) {
                        (Some(Kind::Single(_)), Value::String(s)) => json!({"fibery/id": s}),
                        (Some(Kind::Collection(_)), Value::Array(a)) => {
                            Value::Array(a.iter().map(|i| json!({"fibery/id": i})).collect())
                        }
                        (Some(Kind::RichText), Value::String(s)) => json!({DOC_SECRET: s}),
                        _ => v.clone(),
                    };
                    (k.to_string(), shown)
                });
                Value::Object(out.collect())
            })
            .collect()
    }
}
