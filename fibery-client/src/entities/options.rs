//! Select options and workflow states by name on one entity: add/remove multi-select
//! options, set a single-select option or a state. The names are resolved against the
//! field's enum type with one query for all of them (none when the options are cached).

use fibery_core::command::Command;
use fibery_core::entity::FiberyEntity;
use fibery_core::validate::Rule;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Entities;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::schema::{field_type, invalid, resolve};

impl Client {
    /// Resolves option names of an enum-typed field (single/multi-select or
    /// `workflow/state`) to the options' ids, in the order given: one query for all names
    /// (none when the field's options are cached). Unknown names give one validation error
    /// listing every unknown name with the valid options.
    pub async fn resolve_options<S: AsRef<str>>(
        &self,
        type_name: &str,
        field: &str,
        names: &[S],
    ) -> Result<Vec<Uuid>> {
        let (enum_type, _) = self.enum_field(type_name, field).await?;
        let options = self.enum_set([enum_type.as_str()]).await?;
        let mut ids = Vec::with_capacity(names.len());
        let mut violations = Vec::new();
        for name in names {
            match resolve(&options, &enum_type, field, name.as_ref()) {
                Ok(id) => ids.push(id),
                Err(v) => violations.push(v),
            }
        }
        if violations.is_empty() {
            Ok(ids)
        } else {
            Err(Error::Validation {
                type_name: type_name.to_owned(),
                index: None,
                violations,
            })
        }
    }

    /// The enum type behind `field` and whether the field is a collection (multi-select).
    async fn enum_field(&self, type_name: &str, field: &str) -> Result<(String, bool)> {
        let schema = self.schema().await?;
        let ft = field_type(&schema, type_name, field)?;
        match ft.enum_type() {
            Some(t) => Ok((t.to_owned(), ft.is_collection())),
            None => {
                let kind = fibery_core::schema::describe(&ft);
                let reason = format!("`{field}` is {kind}, not a select or workflow field");
                Err(invalid(type_name, field, Rule::WrongType, reason))
            }
        }
    }
}

impl<T: FiberyEntity> Entities<T> {
    /// Adds options to a multi-select field of one entity, by name:
    /// `tasks.add_options(id, "Projects/Tags", &["urgent", "backend"])`. Options already set
    /// are left as they are.
    pub async fn add_options<S: AsRef<str>>(&self, id: Uuid, f: &str, names: &[S]) -> Result<()> {
        let ids = self.multi_select_ids(f, names).await?;
        self.send(Command::add_collection_items(T::TYPE_NAME, f, id, &ids))
            .await
    }

    /// Removes options from a multi-select field of one entity, by name.
    pub async fn remove_options<S: AsRef<str>>(
        &self,
        id: Uuid,
        f: &str,
        names: &[S],
    ) -> Result<()> {
        let ids = self.multi_select_ids(f, names).await?;
        self.send(Command::remove_collection_items(T::TYPE_NAME, f, id, &ids))
            .await
    }

    /// Sends one command through the auto-batcher, discarding its result.
    async fn send(&self, cmd: Command) -> Result<()> {
        self.client.submit(cmd).await.map(|_| ())
    }

    /// Sets a single-select field or the workflow state of one entity, by option name:
    /// `tasks.set_option(id, "workflow/state", "Done")`.
    pub async fn set_option(&self, id: Uuid, field: &str, name: &str) -> Result<()> {
        let (_, multi) = self.client.enum_field(T::TYPE_NAME, field).await?;
        if multi {
            let reason = format!("`{field}` is a multi-select: use add_options/remove_options");
            return Err(invalid(T::TYPE_NAME, field, Rule::WrongType, reason));
        }
        let option = self
            .client
            .resolve_options(T::TYPE_NAME, field, &[name])
            .await?[0];
        let mut fields = serde_json::Map::new();
        fields.insert(field.to_owned(), json!({"fibery/id": option}));
        self.send(Command::update(T::TYPE_NAME, id, Value::Object(fields)))
            .await
    }

    /// The option ids of `names` for a multi-select `field` (a validation error otherwise).
    async fn multi_select_ids<S: AsRef<str>>(&self, field: &str, names: &[S]) -> Result<Vec<Uuid>> {
        let (_, multi) = self.client.enum_field(T::TYPE_NAME, field).await?;
        if !multi {
            let reason = format!("`{field}` is a single select or state: use set_option");
            return Err(invalid(T::TYPE_NAME, field, Rule::WrongType, reason));
        }
        self.client
            .resolve_options(T::TYPE_NAME, field, names)
            .await
    }
}
