//! Validating every item before anything is written: option names resolved (one request
//! for all option lookups), ids and conflict keys checked, the schema's rules applied.

use fibery_core::entity::EncodedEntity;
use fibery_core::schema::Schema;
use fibery_core::validate::{EnumOptions, Mode, Rule, Violation};
use serde_json::{Value, json};
use uuid::Uuid;

use super::pipeline::Prepared;
use super::{Op, Records};
use crate::error::{Error, Result};
use crate::schema::{resolve, type_def, unknown_field};

/// An item as the caller gave it: encoded, or already refused with its violations.
pub(crate) type Item = std::result::Result<EncodedEntity, Vec<Violation>>;

/// What the checks of one item need to know.
struct Checks<'a> {
    schema: &'a Schema,
    type_name: &'a str,
    op: &'a Op,
    options: EnumOptions,
    /// Enum field -> its enum type, in order of first appearance.
    enum_types: Vec<(String, String)>,
}

impl Records {
    /// Checks every item. Returns the valid ones and one result per input item (the
    /// intended id, or the item's [`Error::Validation`]).
    pub(super) async fn prepare(
        &self,
        items: Vec<Item>,
        op: &Op,
    ) -> Result<(Vec<Prepared>, Vec<Result<Uuid>>)> {
        let schema = self.client.schema().await?;
        let ty = type_def(&schema, &self.type_name)?;
        if let Op::Upsert(key) = op
            && ty.field(key).is_none()
        {
            return Err(unknown_field(ty, key));
        }
        let mut enum_types: Vec<(String, String)> = Vec::new();
        for (field, _, _) in items.iter().flatten().flat_map(|e| &e.enums) {
            if enum_types.iter().any(|(f, _)| f == field) {
                continue;
            }
            let ft = schema.field_type(&self.type_name, field);
            if let Some(et) = ft.as_ref().and_then(|ft| ft.enum_type()) {
                enum_types.push((field.clone(), et.to_owned()));
            }
        }
        let options = self
            .client
            .enum_set(enum_types.iter().map(|(_, et)| et.as_str()))
            .await?;
        let checks = Checks {
            schema: &schema,
            type_name: &self.type_name,
            op,
            options,
            enum_types,
        };
        let mut valid = Vec::new();
        let mut results = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item.and_then(|e| checks.item(index, e)) {
                Ok(p) => {
                    results.push(Ok(p.id));
                    valid.push(p);
                }
                Err(violations) => results.push(Err(Error::Validation {
                    type_name: self.type_name.to_string(),
                    index: Some(index),
                    violations,
                })),
            }
        }
        Ok((valid, results))
    }
}

impl Checks<'_> {
    /// One item: option names to ids, its id (a fresh one for creates), its conflict key,
    /// then the schema's rules. All violations of the item are collected.
    fn item(
        &self,
        index: usize,
        e: EncodedEntity,
    ) -> std::result::Result<Prepared, Vec<Violation>> {
        let EncodedEntity {
            mut fields,
            mut collections,
            enums,
            rich_text,
        } = e;
        let mut violations = Vec::new();
        for (field, names, multi) in enums {
            let Some((_, et)) = self.enum_types.iter().find(|(f, _)| *f == field) else {
                violations.push(Violation {
                    reason: format!(
                        "`{field}` is not a select or workflow field of {}",
                        self.type_name
                    ),
                    field,
                    rule: Rule::WrongType,
                });
                continue;
            };
            let ids: Vec<Uuid> = names
                .iter()
                .filter_map(|n| {
                    resolve(&self.options, et, &field, n)
                        .map_err(|v| violations.push(v))
                        .ok()
                })
                .collect();
            if multi {
                collections.push((field, ids));
            } else {
                let one = ids.first().map(|id| json!({"fibery/id": id}));
                fields.insert(field, one.unwrap_or(Value::Null));
            }
        }
        let id = match fields.get("fibery/id") {
            Some(Value::String(s)) => Uuid::parse_str(s).ok(),
            Some(_) => None,
            None if *self.op == Op::Update => None,
            None => {
                let id = Uuid::new_v4();
                fields.insert("fibery/id".into(), json!(id));
                Some(id)
            }
        };
        if id.is_none() {
            violations.push(Violation {
                field: "fibery/id".into(),
                rule: Rule::Required,
                reason: "an update needs the entity id (a UUID)".into(),
            });
        }
        let mut key = None;
        if let Op::Upsert(k) = self.op {
            match fields.get(k) {
                Some(v) if !v.is_null() => key = Some(v.clone()),
                _ => violations.push(Violation {
                    field: k.clone(),
                    rule: Rule::Required,
                    reason: "the conflict field must be set on every upserted item".into(),
                }),
            }
        }
        let mode = if *self.op == Op::Update {
            Mode::Update
        } else {
            Mode::Create
        };
        if let Err(vs) = self.schema.validate(self.type_name, &fields, mode) {
            violations.extend(vs);
        }
        match id {
            Some(id) if violations.is_empty() => Ok(Prepared {
                index,
                id,
                fields,
                collections,
                rich_text,
                key,
            }),
            _ => Err(violations),
        }
    }
}
