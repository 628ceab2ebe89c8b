//! The workspace schema: fetched once, cached, revalidated with ETag; name -> id resolution
//! for enum options and workflow states; schema mutations through `fibery.schema/batch`.

use std::sync::Arc;

use fibery_core::command::{Command, FieldSpec, SchemaCommand};
use fibery_core::query::{Order, Query};
use fibery_core::schema::{FieldType, Schema, TypeDef};
use fibery_core::validate::{EnumOption, EnumOptions, Rule, Violation};
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::Safety;

impl Client {
    /// The workspace schema, fetched on first use and cached (shared by all clones).
    pub async fn schema(&self) -> Result<Arc<Schema>> {
        if let Some(s) = self.inner.cache.schema() {
            return Ok(s);
        }
        self.refresh_schema().await
    }

    /// Re-reads the schema. With a cached copy, sends `If-None-Match` and keeps the cached
    /// copy on `304 Not Modified`.
    pub async fn refresh_schema(&self) -> Result<Arc<Schema>> {
        let etag = self.inner.cache.etag();
        let resp = self
            .transport()
            .send("/api/schema", Safety::Idempotent, |http, url| {
                let mut r = http.get(url).query(&[("with-soft-deleted", "false")]);
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
                let v = self.submit(Command::schema_query()).await?;
                let schema = Arc::new(
                    Schema::from_json(&v).map_err(|e| self.scrub(Error::decode("schema", e)))?,
                );
                self.inner.cache.store(schema.clone(), None);
                return Ok(schema);
            }
            Err(e) => return Err(e),
        };
        if resp.status == StatusCode::NOT_MODIFIED
            && let Some(s) = self.inner.cache.schema()
        {
            tracing::debug!("schema not modified (ETag)");
            return Ok(s);
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
        self.inner.cache.store(schema.clone(), etag);
        Ok(schema)
    }

    /// The options of an enum type (e.g. `Projects/Priority_Projects/Task` or
    /// `workflow/state_Projects/Task`) in rank order, cached until the next schema refresh.
    pub async fn enum_options(&self, enum_type: &str) -> Result<Vec<EnumOption>> {
        if let Some(o) = self.inner.cache.enum_options(enum_type) {
            return Ok(o);
        }
        let rows = self.query_rows(options_query(enum_type)).await?;
        self.store_options(enum_type, &rows)
    }

    /// Reads option rows into the cache.
    fn store_options(&self, enum_type: &str, rows: &[Value]) -> Result<Vec<EnumOption>> {
        let mut options = Vec::with_capacity(rows.len());
        for r in rows {
            let (Some(id), Some(name)) = (r["fibery/id"].as_str(), r["enum/name"].as_str()) else {
                continue;
            };
            Uuid::parse_str(id).map_err(|e| self.scrub(Error::decode("enum option id", e)))?;
            options.push(EnumOption {
                id: id.to_owned(),
                name: name.to_owned(),
            });
        }
        self.inner.cache.store_enum(enum_type, options.clone());
        Ok(options)
    }

    /// The options of several enum types, for [`resolve`]: the types not cached yet are
    /// read in one request (one query command each).
    pub(crate) async fn enum_set<'a>(
        &self,
        enum_types: impl IntoIterator<Item = &'a str>,
    ) -> Result<EnumOptions> {
        let mut out = EnumOptions::new();
        let mut missing: Vec<&str> = Vec::new();
        for t in enum_types {
            match self.inner.cache.enum_options(t) {
                Some(o) => out.insert(t, o),
                None if !missing.contains(&t) => missing.push(t),
                None => {}
            }
        }
        let cmds = missing
            .iter()
            .map(|t| Command::query(options_query(t)))
            .collect();
        for (t, r) in missing.into_iter().zip(self.run(cmds, true).await) {
            let rows = match r.map_err(Error::unshare)? {
                Value::Array(rows) => rows,
                other => {
                    let e = Error::decode("enum options", format!("expected rows, got {other}"));
                    return Err(self.scrub(e));
                }
            };
            out.insert(t, self.store_options(t, &rows)?);
        }
        Ok(out)
    }

    /// Resolves an option name of an enum-typed field (single/multi-select or
    /// `workflow/state`) to the option's id. Unknown names give a validation error listing
    /// the valid options.
    pub async fn resolve_option(&self, type_name: &str, field: &str, name: &str) -> Result<Uuid> {
        let schema = self.schema().await?;
        let ft = field_type(&schema, type_name, field)?;
        let enum_type = ft.enum_type().ok_or_else(|| {
            invalid(
                type_name,
                field,
                Rule::WrongType,
                format!(
                    "`{field}` is {}, not a select or workflow field",
                    fibery_core::schema::describe(&ft)
                ),
            )
        })?;
        let opts = self.enum_set([enum_type]).await?;
        resolve(&opts, enum_type, field, name).map_err(|v| Error::Validation {
            type_name: type_name.to_owned(),
            index: None,
            violations: vec![v],
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
        let mut schema_commands = batch.schema_commands;
        if !batch.mixins.is_empty() {
            // Inside the batch that creates the types, as Fibery documents it: a type is
            // never left without its mixins.
            schema_commands.push(SchemaCommand::InstallMixins {
                types: batch.mixins,
            });
        }
        if !schema_commands.is_empty() {
            self.send_one(Command::schema_batch(schema_commands))
                .await?;
        }
        if !batch.after.is_empty() {
            self.run_all_ok(batch.after, false).await?;
        }
        if !batch.meta.is_empty() {
            self.send_one(Command::schema_batch(batch.meta)).await?;
        }
        self.refresh_schema().await
    }
}

/// The options of `enum_type` in rank order.
fn options_query(enum_type: &str) -> Query {
    Query::from(enum_type)
        .select(["fibery/id", "enum/name"])
        .order_by("fibery/rank", Order::Asc)
        .limit(1000)
}

/// The id of the option `name` of `enum_type` (exact match first, then case-insensitive),
/// or the violation of `field` listing the valid options.
pub(crate) fn resolve(
    opts: &EnumOptions,
    enum_type: &str,
    field: &str,
    name: &str,
) -> std::result::Result<Uuid, Violation> {
    if let Some(id) = opts
        .resolve(enum_type, name)
        .and_then(|o| Uuid::parse_str(&o.id).ok())
    {
        return Ok(id);
    }
    let valid = opts
        .get(enum_type)
        .unwrap_or_default()
        .iter()
        .map(|o| format!("{:?}", o.name))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Violation {
        field: field.to_owned(),
        rule: Rule::UnknownOption,
        reason: format!("no option {name:?}; valid options: {valid}"),
    })
}

/// A validation error about one field, not tied to an input item.
pub(crate) fn invalid(type_name: &str, field: &str, rule: Rule, reason: String) -> Error {
    Error::Validation {
        type_name: type_name.to_owned(),
        index: None,
        violations: vec![Violation {
            field: field.to_owned(),
            rule,
            reason,
        }],
    }
}

/// `<what> `name` does not exist`, with a did-you-mean suggestion among the schema's types.
fn missing_type(schema: &Schema, what: &str, name: &str) -> String {
    let mut reason = format!("{what} `{name}` does not exist");
    if let Some(s) = schema.suggest_type(name) {
        reason.push_str(&format!("; did you mean `{s}`?"));
    }
    reason
}

/// Looks up a type, with a did-you-mean error.
pub(crate) fn type_def<'a>(schema: &'a Schema, name: &str) -> Result<&'a TypeDef> {
    schema.type_def(name).ok_or_else(|| {
        invalid(
            name,
            name,
            Rule::UnknownType,
            missing_type(schema, "type", name),
        )
    })
}

pub(crate) fn unknown_field(ty: &TypeDef, field: &str) -> Error {
    let mut reason = format!("field `{field}` does not exist on `{}`", ty.name);
    if let Some(s) = ty.suggest_field(field) {
        reason.push_str(&format!("; did you mean `{s}`?"));
    }
    invalid(&ty.name, field, Rule::UnknownField, reason)
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

/// Schema mutations, sent by [`Client::apply_schema`] as one `fibery.schema/batch` (types,
/// fields and `fibery.app/install-mixins`), then enum option creation and default values.
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
    schema_commands: Vec<SchemaCommand>,
    mixins: Vec<(String, Vec<String>)>,
    after: Vec<Command>,
    meta: Vec<SchemaCommand>,
    /// Problems found while building (reported by [`Client::apply_schema`]).
    invalid: Vec<Violation>,
}

/// Declares a public select-field constructor of [`SchemaBatch`] (single and multi take the
/// same arguments).
macro_rules! select_field {
    ($(#[$doc:meta])* $name:ident, $multi:literal) => {
        $(#[$doc])*
        pub fn $name(
            self,
            holder: &str,
            field: &str,
            options: impl IntoIterator<Item = impl Into<String>>,
        ) -> Self {
            let options = options.into_iter().map(Into::into).collect();
            self.select(holder, field, options, $multi)
        }
    };
}

impl SchemaBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self, schema: &Schema) -> Vec<Violation> {
        let mut out = self.invalid.clone();
        let bad = |field: &str, rule: Rule, reason: String| Violation {
            field: field.to_owned(),
            rule,
            reason,
        };
        let named = |n: &str| {
            n.split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        };
        let mut new_types: Vec<&str> = Vec::new();
        for c in &self.schema_commands {
            match c {
                SchemaCommand::TypeCreate { name, .. } | SchemaCommand::EnumCreate { name, .. } => {
                    let name = name.as_str();
                    if !named(name) {
                        let reason = format!("type name `{name}` must look like `Space/Name`");
                        out.push(bad(name, Rule::WrongType, reason));
                    } else if schema.type_def(name).is_some() || new_types.contains(&name) {
                        let reason = format!("type `{name}` already exists");
                        out.push(bad(name, Rule::WrongType, reason));
                    }
                    new_types.push(name);
                }
                SchemaCommand::FieldCreate { holder_type, field } => {
                    let (holder, name) = (holder_type.as_str(), field.name.as_str());
                    if !named(name) {
                        let reason = format!("field name `{name}` must look like `Space/Name`");
                        out.push(bad(name, Rule::WrongType, reason));
                    }
                    match schema.type_def(holder) {
                        Some(t) if t.field(name).is_some() => {
                            let reason = format!("`{holder}` already has a field `{name}`");
                            out.push(bad(name, Rule::WrongType, reason));
                        }
                        Some(_) => {}
                        None if new_types.contains(&holder) => {}
                        None => {
                            let reason = missing_type(schema, "holder type", holder);
                            out.push(bad(name, Rule::UnknownType, reason));
                        }
                    }
                    let target = field.type_name.as_str();
                    if schema.type_def(target).is_none() && !new_types.contains(&target) {
                        let reason = missing_type(schema, "field type", target);
                        out.push(bad(name, Rule::UnknownType, reason));
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
        let mut cmd = SchemaCommand::create_domain_type(name, Vec::new());
        if let SchemaCommand::TypeCreate { meta, .. } = &mut cmd {
            meta.insert("ui/color".into(), json!("#4a90e2"));
        }
        self.schema_commands.push(cmd);
        self.mixins
            .push((name.to_owned(), vec!["fibery/rank-mixin".to_owned()]));
        self
    }

    /// A primitive field (`fibery/text`, `fibery/int`, `fibery/decimal`, ...) or a rich-text
    /// field (`Collaboration~Documents/Document`).
    pub fn field(self, holder: &str, name: &str, field_type: &str) -> Self {
        let mut spec = FieldSpec::new(name, field_type);
        if field_type == "Collaboration~Documents/Document" {
            spec = spec.meta("fibery/entity-component?", true);
        }
        self.push_field(holder, spec)
    }

    /// A field with explicit `fibery/meta` (a JSON object; anything else is reported by
    /// [`Client::apply_schema`] and nothing is sent).
    pub fn field_with_meta(
        mut self,
        holder: &str,
        name: &str,
        field_type: &str,
        meta: Value,
    ) -> Self {
        let mut spec = FieldSpec::new(name, field_type);
        match meta {
            Value::Object(m) => spec.meta = m,
            other => self.invalid.push(Violation {
                field: name.to_owned(),
                rule: Rule::WrongType,
                reason: format!("`fibery/meta` must be a JSON object, not {other}"),
            }),
        }
        self.push_field(holder, spec)
    }

    fn push_field(mut self, holder: &str, spec: FieldSpec) -> Self {
        self.schema_commands
            .push(SchemaCommand::create_field(holder, spec));
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
            let spec = FieldSpec::new(name, target)
                .meta("fibery/relation", rel.clone())
                .meta("fibery/collection?", coll);
            self = self.push_field(holder, spec);
        }
        self
    }

    fn select(mut self, holder: &str, field: &str, options: Vec<String>, multi: bool) -> Self {
        let enum_type = format!("{field}_{holder}");
        let mut component = Map::new();
        component.insert("fibery/type-component?".into(), Value::Bool(true));
        self.schema_commands.push(SchemaCommand::EnumCreate {
            name: enum_type.clone(),
            meta: Some(component),
        });
        let mut spec = FieldSpec::new(field, &enum_type).meta("fibery/type-component?", true);
        if multi {
            spec = spec
                .meta("fibery/collection?", true)
                .meta("fibery/relation", Uuid::new_v4().to_string());
        }
        self = self.push_field(holder, spec);
        let mut first = None;
        for (i, name) in options.into_iter().enumerate() {
            let id = Uuid::new_v4();
            first.get_or_insert(id);
            let option = json!({"fibery/id": id.to_string(), "enum/name": name,
                "fibery/rank": (i as i64) * 1_000_000});
            self.after.push(Command::create(&enum_type, option));
        }
        if !multi && let Some(first) = first {
            self.meta.push(SchemaCommand::FieldSetMeta {
                holder_type: holder.to_owned(),
                name: field.to_owned(),
                key: "fibery/default-value".into(),
                value: json!({"fibery/id": first.to_string()}),
            });
        }
        self
    }

    select_field!(
        /// A single-select field with its enum type (`<field>_<holder>`) and options (the
        /// first is the default).
        single_select,
        false
    );

    select_field!(
        /// A multi-select field with its enum type and options.
        multi_select,
        true
    );
}

/// The field type of `type_name.field`, with did-you-mean errors.
pub(crate) fn field_type(schema: &Schema, type_name: &str, field: &str) -> Result<FieldType> {
    let ty = type_def(schema, type_name)?;
    let def = ty.field(field).ok_or_else(|| unknown_field(ty, field))?;
    Ok(def.field_type(schema))
}
