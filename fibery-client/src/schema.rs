//! The workspace schema: fetched once, cached, revalidated with ETag; name -> id resolution
//! for enum options and workflow states; schema mutations through `fibery.schema/batch`.

use std::sync::Arc;

use fibery_core::schema::{FieldType, Schema, TypeDef};
use fibery_core::validate::{Rule, Violation};
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::Safety;

/// A cached schema and the ETag it came with.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub(crate) schema: Arc<Schema>,
    pub(crate) etag: Option<String>,
}

/// The options of one enum type (single/multi-select or workflow states), by name.
#[derive(Debug, Clone, Default)]
pub struct EnumOptions {
    /// Option name -> id, in rank order.
    pub options: Vec<(String, Uuid)>,
}

impl EnumOptions {
    /// The id of the option called `name` (exact match first, then case-insensitive).
    pub fn id(&self, name: &str) -> Option<Uuid> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| {
                self.options
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|(_, id)| *id)
    }

    /// The name of the option with this id.
    pub fn name(&self, id: Uuid) -> Option<&str> {
        self.options
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(n, _)| n.as_str())
    }
}

impl Client {
    /// The workspace schema, fetched on first use and cached (shared by all clones).
    pub async fn schema(&self) -> Result<Arc<Schema>> {
        if let Some(c) = self.inner.schema.lock().expect("schema lock").as_ref() {
            return Ok(c.schema.clone());
        }
        self.refresh_schema().await
    }

    /// Re-reads the schema. With a cached copy, sends `If-None-Match` and keeps the cached
    /// copy on `304 Not Modified`.
    pub async fn refresh_schema(&self) -> Result<Arc<Schema>> {
        let etag = self
            .inner
            .schema
            .lock()
            .expect("schema lock")
            .as_ref()
            .and_then(|c| c.etag.clone());
        let url = self.url("/api/schema");
        let resp = self
            .send("/api/schema", Safety::Idempotent, |http| {
                let mut r = http.get(&url).query(&[("with-soft-deleted", "false")]);
                if let Some(e) = &etag {
                    r = r.header(IF_NONE_MATCH, e);
                }
                Ok(r)
            })
            .await;
        let resp = match resp {
            Ok(r) => r,
            // Servers without the REST endpoint: fall back to the command.
            Err(Error::NotFound(_)) | Err(Error::Http { status: 405, .. }) => {
                let v = self
                    .command(json!({"command": "fibery.schema/query"}))
                    .await?;
                let schema = Arc::new(
                    Schema::from_json(&v).map_err(|e| self.scrub(Error::decode("schema", e)))?,
                );
                self.store_schema(schema.clone(), None);
                return Ok(schema);
            }
            Err(e) => return Err(e),
        };
        if resp.status == StatusCode::NOT_MODIFIED
            && let Some(c) = self.inner.schema.lock().expect("schema lock").as_ref()
        {
            tracing::debug!("schema not modified (ETag)");
            return Ok(c.schema.clone());
        }
        let v: Value = resp.json("schema")?;
        let schema = Schema::from_json(&v)
            .or_else(|_| Schema::from_envelope(&v))
            .map_err(|e| self.scrub(Error::decode("schema", e)))?;
        let etag = resp
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let schema = Arc::new(schema);
        self.store_schema(schema.clone(), etag);
        Ok(schema)
    }

    fn store_schema(&self, schema: Arc<Schema>, etag: Option<String>) {
        *self.inner.schema.lock().expect("schema lock") = Some(Cached { schema, etag });
        self.inner.enum_cache.lock().expect("enum lock").clear();
    }

    /// The options of an enum type (e.g. `Projects/Priority_Projects/Task` or
    /// `workflow/state_Projects/Task`), cached until the next schema refresh.
    pub async fn enum_options(&self, enum_type: &str) -> Result<Arc<EnumOptions>> {
        if let Some(o) = self
            .inner
            .enum_cache
            .lock()
            .expect("enum lock")
            .get(enum_type)
        {
            return Ok(o.clone());
        }
        let cmd = json!({"command": "fibery.entity/query", "args": {"query": {
            "q/from": enum_type, "q/select": ["fibery/id", "enum/name"],
            "q/order-by": [[["fibery/rank"], "q/asc"]], "q/limit": 1000}}});
        let rows = self.command(cmd).await?;
        let mut options = Vec::new();
        for r in rows.as_array().into_iter().flatten() {
            let (Some(id), Some(name)) = (r["fibery/id"].as_str(), r["enum/name"].as_str()) else {
                continue;
            };
            let id =
                Uuid::parse_str(id).map_err(|e| self.scrub(Error::decode("enum option id", e)))?;
            options.push((name.to_owned(), id));
        }
        let opts = Arc::new(EnumOptions { options });
        self.inner
            .enum_cache
            .lock()
            .expect("enum lock")
            .insert(enum_type.to_owned(), opts.clone());
        Ok(opts)
    }

    /// Resolves an option name of an enum-typed field (single/multi-select or
    /// `workflow/state`) to the option's id. Unknown names give a validation error listing
    /// the valid options.
    pub async fn resolve_option(&self, type_name: &str, field: &str, name: &str) -> Result<Uuid> {
        let schema = self.schema().await?;
        let ty = type_def(&schema, type_name)?;
        let def = ty.field(field).ok_or_else(|| unknown_field(ty, field))?;
        let ft = def.field_type(&schema);
        let enum_type = ft.enum_type().ok_or_else(|| Error::Validation {
            type_name: type_name.to_owned(),
            index: None,
            violations: vec![Violation {
                field: field.to_owned(),
                rule: Rule::WrongType,
                reason: format!(
                    "`{field}` is {}, not a select or workflow field",
                    fibery_core::schema::describe(&ft)
                ),
            }],
        })?;
        let opts = self.enum_options(enum_type).await?;
        opts.id(name).ok_or_else(|| Error::Validation {
            type_name: type_name.to_owned(),
            index: None,
            violations: vec![Violation {
                field: field.to_owned(),
                rule: Rule::UnknownOption,
                reason: format!(
                    "no option {name:?}; valid options: {}",
                    opts.options
                        .iter()
                        .map(|(n, _)| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }],
        })
    }

    /// Applies schema mutations built with [`SchemaBatch`], then refreshes the cached schema.
    ///
    /// The batch is checked against the current schema first (type and field names must look
    /// like `Space/Name`; new types and fields must not exist yet; holders and relation
    /// targets must exist or be created in the same batch); nothing is sent on a violation.
    pub async fn apply_schema(&self, batch: SchemaBatch) -> Result<Arc<Schema>> {
        let current = self.schema().await?;
        let violations = batch.check(&current);
        if !violations.is_empty() {
            return Err(Error::Validation {
                type_name: "schema".into(),
                index: None,
                violations,
            });
        }
        if !batch.schema_commands.is_empty() {
            let cmd = json!({"command": "fibery.schema/batch", "args": {"commands": batch.schema_commands}});
            self.send_unbatched(cmd).await?;
        }
        if !batch.mixins.is_empty() {
            let types: Map<String, Value> = batch
                .mixins
                .into_iter()
                .map(|(t, m)| (t, Value::Array(m.into_iter().map(Value::String).collect())))
                .collect();
            let cmd = json!({"command": "fibery.app/install-mixins", "args": {"types": types}});
            self.send_unbatched(cmd).await?;
        }
        if !batch.after.is_empty() {
            self.execute_all_ok(batch.after, false).await?;
        }
        if !batch.meta.is_empty() {
            let cmd = json!({"command": "fibery.schema/batch", "args": {"commands": batch.meta}});
            self.send_unbatched(cmd).await?;
        }
        self.refresh_schema().await
    }

    async fn send_unbatched(&self, cmd: Value) -> Result<Value> {
        self.send_chunk(std::slice::from_ref(&cmd), 0)
            .await
            .pop()
            .expect("one result")
            .map_err(Error::unshare)
    }
}

/// Looks up a type, with a did-you-mean error.
pub(crate) fn type_def<'a>(schema: &'a Schema, name: &str) -> Result<&'a TypeDef> {
    schema.type_def(name).ok_or_else(|| {
        let mut reason = format!("type `{name}` does not exist");
        if let Some(s) = schema.suggest_type(name) {
            reason.push_str(&format!("; did you mean `{s}`?"));
        }
        Error::Validation {
            type_name: name.to_owned(),
            index: None,
            violations: vec![Violation {
                field: name.to_owned(),
                rule: Rule::UnknownType,
                reason,
            }],
        }
    })
}

pub(crate) fn unknown_field(ty: &TypeDef, field: &str) -> Error {
    let mut reason = format!("field `{field}` does not exist on `{}`", ty.name);
    if let Some(s) = ty.suggest_field(field) {
        reason.push_str(&format!("; did you mean `{s}`?"));
    }
    Error::Validation {
        type_name: ty.name.clone(),
        index: None,
        violations: vec![Violation {
            field: field.to_owned(),
            rule: Rule::UnknownField,
            reason,
        }],
    }
}

/// The kind of a relation created by [`SchemaBatch::relation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// One `from` has many `to`s; each `to` has one `from`.
    OneToMany,
    /// Each `from` has one `to`; a `to` has many `from`s.
    ManyToOne,
    /// Both ends single.
    OneToOne,
    /// Both ends collections.
    ManyToMany,
}

/// Schema mutations, sent by [`Client::apply_schema`] as one `fibery.schema/batch` (plus
/// mixin installation and enum option creation).
///
/// ```
/// use fibery_client::schema::{RelationKind, SchemaBatch};
/// let batch = SchemaBatch::new()
///     .create_type("Ops/Ticket")
///     .field("Ops/Ticket", "Ops/Estimate", "fibery/decimal")
///     .relation("Ops/Team", "Ops/Tickets", "Ops/Ticket", "Ops/Team", RelationKind::OneToMany)
///     .single_select("Ops/Ticket", "Ops/Priority", ["Low", "High"]);
/// assert!(batch.len() >= 4);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SchemaBatch {
    schema_commands: Vec<Value>,
    mixins: Vec<(String, Vec<String>)>,
    after: Vec<Value>,
    meta: Vec<Value>,
}

impl SchemaBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self, schema: &Schema) -> Vec<Violation> {
        let mut out = Vec::new();
        let bad = |field: &str, reason: String| Violation {
            field: field.to_owned(),
            rule: Rule::WrongType,
            reason,
        };
        let named = |n: &str| {
            n.split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        };
        let mut new_types: Vec<&str> = Vec::new();
        for c in &self.schema_commands {
            let args = &c["args"];
            match c["command"].as_str() {
                Some("schema.type/create") | Some("schema.enum/create") => {
                    let name = args["fibery/name"].as_str().unwrap_or("");
                    if !named(name) {
                        out.push(bad(
                            name,
                            format!("type name `{name}` must look like `Space/Name`"),
                        ));
                    } else if schema.type_def(name).is_some() || new_types.contains(&name) {
                        out.push(bad(name, format!("type `{name}` already exists")));
                    }
                    new_types.push(name);
                }
                Some("schema.field/create") => {
                    let holder = args["fibery/holder-type"].as_str().unwrap_or("");
                    let name = args["fibery/name"].as_str().unwrap_or("");
                    let target = args["fibery/type"].as_str().unwrap_or("");
                    if !named(name) {
                        out.push(bad(
                            name,
                            format!("field name `{name}` must look like `Space/Name`"),
                        ));
                    }
                    match schema.type_def(holder) {
                        Some(t) if t.field(name).is_some() => out.push(bad(
                            name,
                            format!("`{holder}` already has a field `{name}`"),
                        )),
                        Some(_) => {}
                        None if new_types.contains(&holder) => {}
                        None => {
                            let mut reason = format!("holder type `{holder}` does not exist");
                            if let Some(s) = schema.suggest_type(holder) {
                                reason.push_str(&format!("; did you mean `{s}`?"));
                            }
                            out.push(Violation {
                                field: name.to_owned(),
                                rule: Rule::UnknownType,
                                reason,
                            });
                        }
                    }
                    if schema.type_def(target).is_none() && !new_types.contains(&target) {
                        let mut reason = format!("field type `{target}` does not exist");
                        if let Some(s) = schema.suggest_type(target) {
                            reason.push_str(&format!("; did you mean `{s}`?"));
                        }
                        out.push(Violation {
                            field: name.to_owned(),
                            rule: Rule::UnknownType,
                            reason,
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Number of commands in the batch.
    pub fn len(&self) -> usize {
        self.schema_commands.len() + self.mixins.len() + self.after.len() + self.meta.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A domain type `Space/Name` with the five mandatory fields (`fibery/id`,
    /// `fibery/public-id`, creation and modification dates, and the `Space/Name` title),
    /// plus the rank mixin.
    pub fn create_type(mut self, name: &str) -> Self {
        let space = name.split_once('/').map(|(s, _)| s).unwrap_or(name);
        let fields = json!([
            {"fibery/name": format!("{space}/Name"), "fibery/type": "fibery/text",
             "fibery/meta": {"fibery/secured?": false, "ui/title?": true}},
            {"fibery/name": "fibery/id", "fibery/type": "fibery/uuid",
             "fibery/meta": {"fibery/secured?": false, "fibery/id?": true, "fibery/readonly?": true}},
            {"fibery/name": "fibery/public-id", "fibery/type": "fibery/text",
             "fibery/meta": {"fibery/secured?": false, "fibery/public-id?": true, "fibery/readonly?": true}},
            {"fibery/name": "fibery/creation-date", "fibery/type": "fibery/date-time",
             "fibery/meta": {"fibery/secured?": false, "fibery/creation-date?": true, "fibery/readonly?": true,
                             "fibery/default-value": "$now"}},
            {"fibery/name": "fibery/modification-date", "fibery/type": "fibery/date-time",
             "fibery/meta": {"fibery/secured?": false, "fibery/modification-date?": true, "fibery/required?": true,
                             "fibery/readonly?": true, "fibery/default-value": "$now"}}
        ]);
        self.schema_commands
            .push(json!({"command": "schema.type/create", "args": {
            "fibery/name": name,
            "fibery/meta": {"fibery/domain?": true, "fibery/secured?": true, "ui/color": "#4a90e2"},
            "fibery/fields": fields}}));
        self.mixins
            .push((name.to_owned(), vec!["fibery/rank-mixin".to_owned()]));
        self
    }

    /// A primitive field (`fibery/text`, `fibery/int`, `fibery/decimal`, ...) or a rich-text
    /// field (`Collaboration~Documents/Document`).
    pub fn field(self, holder: &str, name: &str, field_type: &str) -> Self {
        let meta = if field_type == "Collaboration~Documents/Document" {
            json!({"fibery/entity-component?": true})
        } else {
            json!({})
        };
        self.field_with_meta(holder, name, field_type, meta)
    }

    /// A field with explicit `fibery/meta`.
    pub fn field_with_meta(
        mut self,
        holder: &str,
        name: &str,
        field_type: &str,
        meta: Value,
    ) -> Self {
        self.schema_commands.push(json!({"command": "schema.field/create", "args": {
            "fibery/holder-type": holder, "fibery/name": name, "fibery/type": field_type, "fibery/meta": meta}}));
        self
    }

    /// Both ends of a relation (one shared `fibery/relation` id).
    pub fn relation(
        mut self,
        from_type: &str,
        from_field: &str,
        to_type: &str,
        to_field: &str,
        kind: RelationKind,
    ) -> Self {
        let rel = Uuid::new_v4().to_string();
        let (from_coll, to_coll) = match kind {
            RelationKind::OneToMany => (true, false),
            RelationKind::ManyToOne => (false, true),
            RelationKind::OneToOne => (false, false),
            RelationKind::ManyToMany => (true, true),
        };
        for (holder, name, target, coll) in [
            (from_type, from_field, to_type, from_coll),
            (to_type, to_field, from_type, to_coll),
        ] {
            self.schema_commands
                .push(json!({"command": "schema.field/create", "args": {
                "fibery/holder-type": holder, "fibery/name": name, "fibery/type": target,
                "fibery/meta": {"fibery/relation": rel, "fibery/collection?": coll}}}));
        }
        self
    }

    fn select(mut self, holder: &str, field: &str, options: Vec<String>, multi: bool) -> Self {
        let enum_type = format!("{field}_{holder}");
        self.schema_commands
            .push(json!({"command": "schema.enum/create", "args": {
            "fibery/name": enum_type, "fibery/meta": {"fibery/type-component?": true}}}));
        let mut meta = json!({"fibery/type-component?": true});
        if multi {
            meta["fibery/collection?"] = json!(true);
            meta["fibery/relation"] = json!(Uuid::new_v4().to_string());
        }
        self.schema_commands.push(json!({"command": "schema.field/create", "args": {
            "fibery/holder-type": holder, "fibery/name": field, "fibery/type": enum_type, "fibery/meta": meta}}));
        let mut first = None;
        for (i, name) in options.into_iter().enumerate() {
            let id = Uuid::new_v4();
            first.get_or_insert(id);
            self.after.push(json!({"command": "fibery.entity/create", "args": {"type": enum_type, "entity": {
                "fibery/id": id.to_string(), "enum/name": name, "fibery/rank": (i as i64) * 1_000_000}}}));
        }
        if !multi && let Some(first) = first {
            self.meta
                .push(json!({"command": "schema.field/set-meta", "args": {
                "holder-type": holder, "name": field, "key": "fibery/default-value",
                "value": {"fibery/id": first.to_string()}}}));
        }
        self
    }

    /// A single-select field with its enum type (`<field>_<holder>`) and options (the first
    /// is the default).
    pub fn single_select<I, S>(self, holder: &str, field: &str, options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select(
            holder,
            field,
            options.into_iter().map(Into::into).collect(),
            false,
        )
    }

    /// A multi-select field with its enum type and options.
    pub fn multi_select<I, S>(self, holder: &str, field: &str, options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select(
            holder,
            field,
            options.into_iter().map(Into::into).collect(),
            true,
        )
    }
}

/// The field type of `type_name.field`, with did-you-mean errors.
pub(crate) fn field_type(schema: &Schema, type_name: &str, field: &str) -> Result<FieldType> {
    let ty = type_def(schema, type_name)?;
    let def = ty.field(field).ok_or_else(|| unknown_field(ty, field))?;
    Ok(def.field_type(schema))
}
