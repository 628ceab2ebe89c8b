//! Typed webhook events: the JSON Fibery POSTs to a webhook URL (`/api/webhooks/v2`).
//!
//! One [`Event`] carries the effects of one or several changes: each [`Effect`] says what
//! happened ([`EffectKind`]), to which entity (`type`, `id`) and with which field values
//! (`values` after, `valuesBefore` before). Creates carry every field, updates only the
//! changed ones (plus `fibery/modification-date`), deletes the last values in
//! `valuesBefore`. Rich-text content is never delivered (only Fibery's document link).
//! Unknown fields of the payload are ignored, unknown effect names kept as
//! [`EffectKind::Other`].
//!
//! ```
//! use fibery_client::events::{EffectKind, Event};
//!
//! let body = r#"{"sequenceId": 7, "authorId": "u1", "creationDate": "2024-01-06T14:34:08.638Z",
//!   "command": {"correlationId": "c-1"},
//!   "effects": [{"effect": "fibery.entity/update", "id": "8165d970-0000-4000-8000-000000000001",
//!     "type": "Sales/Invoice", "values": {"Sales/Name": "new"}, "valuesBefore": {"Sales/Name": "old"},
//!     "acl-index": 0}]}"#;
//! let event = Event::from_slice(body.as_bytes()).unwrap();
//! assert_eq!(event.correlation_id(), Some("c-1"));
//! let e = &event.effects[0];
//! assert_eq!(e.kind, EffectKind::Update);
//! assert_eq!(e.changed_fields(), vec!["Sales/Name"]);
//! ```

use fibery_core::entity::{DecodeError, FiberyEntity, MappingKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The system field every update changes; not reported by [`Effect::changed_fields`].
const MODIFICATION_DATE: &str = "fibery/modification-date";

/// One POST of a webhook: the effects of one or several commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Fibery's increasing counter of events (`sequenceId`; older payloads said `sequence`).
    #[serde(default, alias = "sequence")]
    pub sequence_id: Option<u64>,
    /// The user who made the change.
    #[serde(default)]
    pub author_id: Option<String>,
    /// When the change was made (RFC 3339).
    #[serde(default)]
    pub creation_date: Option<String>,
    /// The originating command, when Fibery sends it.
    #[serde(default)]
    pub command: Option<CommandInfo>,
    /// What changed, in order.
    #[serde(default)]
    pub effects: Vec<Effect>,
}

/// The `command` object of an event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    /// The `correlationId` the command was sent with (see
    /// [`Command::with_correlation_id`](fibery_core::command::Command::with_correlation_id)).
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl Event {
    /// Parses a webhook body.
    pub fn from_slice(body: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The `correlationId` of the command that caused the event, if it had one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.command.as_ref()?.correlation_id.as_deref()
    }

    /// The effects on one type.
    pub fn effects_of<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Effect> {
        self.effects
            .iter()
            .filter(move |e| e.type_name == type_name)
    }
}

/// What an effect did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EffectKind {
    /// `fibery.entity/create`.
    Create,
    /// `fibery.entity/update`.
    Update,
    /// `fibery.entity/delete`.
    Delete,
    /// Any other effect name (collection changes, future kinds), kept as sent.
    Other(String),
}

impl EffectKind {
    /// The wire name, e.g. `fibery.entity/create`.
    pub fn as_str(&self) -> &str {
        match self {
            EffectKind::Create => "fibery.entity/create",
            EffectKind::Update => "fibery.entity/update",
            EffectKind::Delete => "fibery.entity/delete",
            EffectKind::Other(s) => s,
        }
    }

    fn parse(s: &str) -> EffectKind {
        match s {
            "fibery.entity/create" => EffectKind::Create,
            "fibery.entity/update" => EffectKind::Update,
            "fibery.entity/delete" => EffectKind::Delete,
            other => EffectKind::Other(other.to_owned()),
        }
    }
}

impl Serialize for EffectKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EffectKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(EffectKind::parse(&String::deserialize(d)?))
    }
}

/// One change to one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// What happened.
    #[serde(rename = "effect")]
    pub kind: EffectKind,
    /// The entity's `fibery/id`.
    pub id: Uuid,
    /// The entity's type, e.g. `Projects/Task`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The type's id, when sent.
    #[serde(default, rename = "typeId", skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// Field values after the change (all fields on create, changed ones on update, empty on
    /// delete).
    #[serde(default, deserialize_with = "object_or_null")]
    pub values: Map<String, Value>,
    /// Field values before the change (changed ones on update, all on delete, empty on
    /// create).
    #[serde(default, rename = "valuesBefore", deserialize_with = "object_or_null")]
    pub values_before: Map<String, Value>,
}

fn object_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

impl Effect {
    /// The fields this effect changed, in payload order: every field whose value differs
    /// between `values` and `valuesBefore` (for a create, the non-null values; for a
    /// delete, none), never `fibery/modification-date`.
    pub fn changed_fields(&self) -> Vec<&str> {
        match self.kind {
            EffectKind::Delete => vec![],
            _ => self
                .values
                .iter()
                .filter(|(k, v)| {
                    k.as_str() != MODIFICATION_DATE
                        && match self.values_before.get(*k) {
                            Some(b) => b != *v,
                            None => !v.is_null() || self.kind != EffectKind::Create,
                        }
                })
                .map(|(k, _)| k.as_str())
                .collect(),
        }
    }

    /// Whether `field` is among [`changed_fields`](Self::changed_fields).
    pub fn changed(&self, field: &str) -> bool {
        self.changed_fields().contains(&field)
    }

    /// The entity after the change, decoded into `T` from `values` (see
    /// [`decode_values`] for what can be decoded). Creates carry every field; an update
    /// carries only the changed ones, so it decodes only into a `T` whose other fields are
    /// optional.
    pub fn after<T: FiberyEntity>(&self) -> Result<T, DecodeError> {
        decode_values::<T>(self.id, &self.values)
    }

    /// The entity before the change, decoded into `T` from `valuesBefore` (complete for a
    /// delete, only the changed fields for an update).
    pub fn before<T: FiberyEntity>(&self) -> Result<T, DecodeError> {
        decode_values::<T>(self.id, &self.values_before)
    }
}

/// Decodes webhook `values` into `T`. Webhooks send relations and select options as
/// `{"fibery/id": ..}` and no document content, so: primitives and single relations decode
/// as they are; rich-text fields decode as absent; a single-select decodes by option name
/// only when the payload has one (`enum/name`), else as absent; collections and
/// multi-selects (not part of the payload) decode as empty.
pub fn decode_values<T: FiberyEntity>(
    id: Uuid,
    values: &Map<String, Value>,
) -> Result<T, DecodeError> {
    let mut row = Map::new();
    row.insert("fibery/id".into(), Value::String(id.to_string()));
    for f in T::FIELDS {
        let v = values.get(f.fibery_name).cloned().unwrap_or(Value::Null);
        let v = match f.kind {
            MappingKind::Id => Value::String(id.to_string()),
            MappingKind::Primitive | MappingKind::Relation { collection: false } => v,
            MappingKind::RichText(_) => Value::Null,
            MappingKind::Enum { multi: false } => match v.get("enum/name") {
                Some(name) => serde_json::json!({"enum/name": name}),
                None => Value::Null,
            },
            MappingKind::Relation { collection: true }
            | MappingKind::Files
            | MappingKind::Enum { multi: true } => match v {
                Value::Array(_) => v,
                _ => Value::Array(vec![]),
            },
        };
        row.insert(f.fibery_name.to_owned(), v);
    }
    T::decode(&Value::Object(row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn effect(v: Value) -> Effect {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_captured_payload_parses_with_unknown_fields() {
        let ev: Event = serde_json::from_value(json!({
            "sequenceId": 7360, "authorId": "1b06e986", "creationDate": "2024-01-06T14:34:08.638Z",
            "command": {"correlationId": "a68ce360", "extra": 1}, "future": true,
            "effects": [{"effect": "fibery.entity/update", "id": "8165d970-0000-4000-8000-000000000000",
              "type": "Sales/Invoice", "typeId": "3b3e1c96", "acl-index": 0,
              "values": {"Sales/Name": "new name", "fibery/modification-date": "2024-01-06T14:34:08.605Z"},
              "valuesBefore": {"Sales/Name": "old name", "fibery/modification-date": "2024-01-06T14:29:02.789Z"}}]
        }))
        .unwrap();
        assert_eq!(ev.sequence_id, Some(7360));
        assert_eq!(ev.correlation_id(), Some("a68ce360"));
        assert_eq!(ev.effects[0].kind, EffectKind::Update);
        assert_eq!(ev.effects[0].type_id.as_deref(), Some("3b3e1c96"));
        assert_eq!(ev.effects[0].changed_fields(), vec!["Sales/Name"]);
        assert_eq!(ev.effects_of("Sales/Invoice").count(), 1);
        assert_eq!(ev.effects_of("Sales/Other").count(), 0);
    }

    #[test]
    fn kinds_and_changed_fields() {
        let id = "8165d970-0000-4000-8000-000000000000";
        let c = effect(
            json!({"effect": "fibery.entity/create", "id": id, "type": "A/B",
            "values": {"A/Name": "x", "A/Empty": null}, "valuesBefore": null}),
        );
        assert_eq!(c.kind, EffectKind::Create);
        assert_eq!(c.changed_fields(), vec!["A/Name"]);
        let d = effect(
            json!({"effect": "fibery.entity/delete", "id": id, "type": "A/B",
            "valuesBefore": {"A/Name": "x"}}),
        );
        assert!(d.changed_fields().is_empty() && d.values.is_empty());
        let u = effect(
            json!({"effect": "fibery.entity/update", "id": id, "type": "A/B",
            "values": {"A/Name": null, "A/Same": 1}, "valuesBefore": {"A/Name": "x", "A/Same": 1}}),
        );
        assert_eq!(u.changed_fields(), vec!["A/Name"]);
        assert!(u.changed("A/Name") && !u.changed("A/Same"));
        let o = effect(
            json!({"effect": "fibery.entity/add-collection-items", "id": id, "type": "A/B"}),
        );
        assert_eq!(
            o.kind,
            EffectKind::Other("fibery.entity/add-collection-items".into())
        );
        assert_eq!(
            serde_json::to_value(&o).unwrap()["effect"],
            "fibery.entity/add-collection-items"
        );
    }

    #[test]
    fn a_bad_id_is_an_error_not_a_panic() {
        let r: Result<Event, _> = serde_json::from_value(
            json!({"effects": [{"effect": "fibery.entity/create", "id": "nope", "type": "A/B"}]}),
        );
        assert!(r.is_err());
    }
}
