//! Entity commands: the args of create, update, delete, the collection commands and
//! create-or-update, and their [`Command`] constructors.

use std::fmt::Display;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::Command;

/// Args of `fibery.entity/create` and `fibery.entity/update`: `{"type", "entity"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityArgs {
    /// Type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Field values (primitives, single refs). A create's `fibery/id` is optional; an
    /// update's is required, next to the changed fields.
    pub entity: Map<String, Value>,
}

/// Args of `fibery.entity/delete`: `{"type", "entity": {"fibery/id"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteArgs {
    /// Type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The entity id.
    #[serde(rename = "entity", with = "id_ref")]
    pub id: String,
}

/// Args of the collection commands, written in the legacy shape
/// `{"type", "field", "entity": {"fibery/id": parent}, "items": [{"fibery/id": ..}]}`; the map
/// form `{"type", "field", "entity": {"<parent>": ["<id>", ..]}}` is read too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionChange {
    /// The parent's type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The collection field.
    pub field: String,
    /// The parent entity id.
    #[serde(rename = "entity", with = "id_ref")]
    pub entity_id: String,
    /// Ids of the items to add/remove.
    #[serde(serialize_with = "id_refs")]
    pub items: Vec<String>,
}

/// What `create-or-update` does on a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ConflictAction {
    /// `skip-create`: keep the existing entity.
    SkipCreate,
    /// `update-latest`: copy fields onto the latest duplicate.
    UpdateLatest,
    /// Another value (passed through).
    Other(String),
}

/// Args of `fibery.entity.batch/create-or-update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upsert {
    /// Type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `conflict-field` (text, int or date field).
    #[serde(rename = "conflict-field")]
    pub conflict_field: String,
    /// `conflict-action`.
    #[serde(rename = "conflict-action")]
    pub conflict_action: ConflictAction,
    /// Entities (each should carry `fibery/id`).
    pub entities: Vec<Map<String, Value>>,
}

impl ConflictAction {
    /// Wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ConflictAction::SkipCreate => "skip-create",
            ConflictAction::UpdateLatest => "update-latest",
            ConflictAction::Other(s) => s,
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Self {
        match s {
            "skip-create" => ConflictAction::SkipCreate,
            "update-latest" => ConflictAction::UpdateLatest,
            other => ConflictAction::Other(other.to_owned()),
        }
    }
}

impl From<String> for ConflictAction {
    fn from(s: String) -> Self {
        ConflictAction::from_name(&s)
    }
}

impl From<ConflictAction> for String {
    fn from(a: ConflictAction) -> Self {
        a.as_str().to_owned()
    }
}

/// `{"fibery/id": id}` on the wire.
#[derive(Serialize, Deserialize)]
struct IdRef<I> {
    #[serde(rename = "fibery/id")]
    id: I,
}

mod id_ref {
    use super::*;

    pub(super) fn serialize<S: Serializer>(id: &str, s: S) -> Result<S::Ok, S::Error> {
        IdRef { id }.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        IdRef::<String>::deserialize(d).map(|r| r.id)
    }
}

fn id_refs<S: Serializer>(ids: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| IdRef { id }))
}

/// An item id: `"<id>"` or `{"fibery/id": "<id>"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemId {
    Bare(String),
    Ref(IdRef<String>),
}

impl ItemId {
    fn into_id(self) -> String {
        match self {
            ItemId::Bare(id) | ItemId::Ref(IdRef { id }) => id,
        }
    }
}

/// A collection command's `entity`: `{"fibery/id": parent}` (items follow in `items`), or
/// the map form with exactly one parent.
enum Parent {
    Id(String),
    WithItems(String, Vec<String>),
}

impl<'de> Deserialize<'de> for Parent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        let id_of = |v: &Value| ItemId::deserialize(v).ok().map(ItemId::into_id);
        if let Some(parent) = m.get("fibery/id") {
            return id_of(parent)
                .map(Parent::Id)
                .ok_or_else(|| D::Error::custom("the parent's `fibery/id` must be a string"));
        }
        let mut entries = m.into_iter();
        let (Some((parent, ids)), None) = (entries.next(), entries.next()) else {
            return Err(D::Error::custom(
                "`entity` must be {\"fibery/id\": parent} (with `items`) or a map with exactly one parent",
            ));
        };
        let items = ids
            .as_array()
            .and_then(|a| a.iter().map(id_of).collect::<Option<Vec<_>>>())
            .ok_or_else(|| D::Error::custom("the parent's item ids must be an array of ids"))?;
        Ok(Parent::WithItems(parent, items))
    }
}

impl<'de> Deserialize<'de> for CollectionChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Either {
            #[serde(rename = "type")]
            type_name: String,
            field: String,
            entity: Parent,
            items: Option<Vec<ItemId>>,
        }
        let w = Either::deserialize(d)?;
        let (entity_id, items) = match (w.entity, w.items) {
            (Parent::WithItems(parent, items), _) => (parent, items),
            (Parent::Id(parent), Some(items)) => {
                (parent, items.into_iter().map(ItemId::into_id).collect())
            }
            (Parent::Id(_), None) => return Err(D::Error::missing_field("items")),
        };
        Ok(CollectionChange {
            type_name: w.type_name,
            field: w.field,
            entity_id,
            items,
        })
    }
}

/// The `entity` object of a command (anything else becomes `{}`).
fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Declares a public constructor of a collection command (the add and remove twins take the
/// same arguments).
macro_rules! collection_command {
    ($(#[$doc:meta])* $name:ident => $variant:ident) => {
        $(#[$doc])*
        pub fn $name<I, D>(
            type_name: impl Into<String>,
            field: impl Into<String>,
            entity_id: impl Display,
            items: I,
        ) -> Self
        where
            I: IntoIterator<Item = D>,
            D: Display,
        {
            Command::$variant(CollectionChange {
                type_name: type_name.into(),
                field: field.into(),
                entity_id: entity_id.to_string(),
                items: items.into_iter().map(|i| i.to_string()).collect(),
            })
        }
    };
}

impl Command {
    /// `fibery.entity/create` (`entity` should be a JSON object; other values become `{}`).
    pub fn create(type_name: impl Into<String>, entity: impl Into<Value>) -> Self {
        Command::Create(EntityArgs {
            type_name: type_name.into(),
            entity: object(entity.into()),
        })
    }

    /// `fibery.entity/update` of entity `id` with `fields` (`fibery/id` is added first).
    pub fn update(
        type_name: impl Into<String>,
        id: impl Display,
        fields: impl Into<Value>,
    ) -> Self {
        let mut entity = Map::new();
        entity.insert("fibery/id".into(), Value::String(id.to_string()));
        for (k, v) in object(fields.into()) {
            if k != "fibery/id" {
                entity.insert(k, v);
            }
        }
        Command::Update(EntityArgs {
            type_name: type_name.into(),
            entity,
        })
    }

    /// `fibery.entity/delete`.
    pub fn delete(type_name: impl Into<String>, id: impl Display) -> Self {
        Command::Delete(DeleteArgs {
            type_name: type_name.into(),
            id: id.to_string(),
        })
    }

    collection_command!(
        /// `fibery.entity/add-collection-items`.
        add_collection_items => AddCollectionItems
    );

    collection_command!(
        /// `fibery.entity/remove-collection-items`.
        remove_collection_items => RemoveCollectionItems
    );

    /// `fibery.entity.batch/create-or-update`.
    pub fn create_or_update(
        type_name: impl Into<String>,
        conflict_field: impl Into<String>,
        conflict_action: ConflictAction,
        entities: impl IntoIterator<Item = Map<String, Value>>,
    ) -> Self {
        Command::CreateOrUpdate(Upsert {
            type_name: type_name.into(),
            conflict_field: conflict_field.into(),
            conflict_action,
            entities: entities.into_iter().collect(),
        })
    }
}
