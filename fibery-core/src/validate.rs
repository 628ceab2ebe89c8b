//! Validation of entity fields against the workspace schema, before anything is sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::query::{AliasedExpr, Filter, Operand, Query, Select, SelectItem, SubQuery};
use crate::schema::{FieldDef, FieldType, Schema, TypeDef, describe};
use crate::value::FieldValue;

/// One reason a write (or a mapping) does not fit the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The field concerned (or the type name for type-level problems).
    pub field: String,
    /// Which rule was broken.
    pub rule: Rule,
    /// A short human reason (never contains secrets; may quote the offending value).
    pub reason: String,
}

/// The rules [`Violation`]s refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    /// The type does not exist.
    UnknownType,
    /// The field does not exist on the type.
    UnknownField,
    /// The value's shape does not fit the field type.
    WrongType,
    /// The field is read-only.
    ReadOnly,
    /// A required field is missing on create.
    Required,
    /// The enum option is not one the schema lists.
    UnknownOption,
    /// A relation value is not an id or `{"fibery/id": ..}`.
    BadReference,
    /// The field cannot be set in this command (collections and rich text on create).
    NotSettable,
    /// A validator rule on the user's struct failed.
    Validator,
    /// A query object holds a key outside the query language (e.g. the typo `q/wher`).
    UnknownKey,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({:?})", self.field, self.reason, self.rule)
    }
}

/// Whether fields are for a create or an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// `fibery.entity/create`: required fields must be present; `fibery/id` optional.
    #[default]
    Create,
    /// `fibery.entity/update`: `fibery/id` must be present; only listed fields change.
    Update,
}

/// One option of an enum type (single/multi-select option or workflow state).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnumOption {
    /// `fibery/id`
    #[serde(rename = "fibery/id")]
    pub id: String,
    /// `enum/name`
    #[serde(rename = "enum/name")]
    pub name: String,
}

/// Known options per enum type. The schema does not list options (they are entities of the
/// enum type), so the client fills this by querying each enum type
/// (`q/select ["fibery/id", "enum/name"]`) and passes it to [`Schema::validate_with`].
/// Enum types without an entry are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnumOptions {
    types: BTreeMap<String, Vec<EnumOption>>,
}

impl EnumOptions {
    /// No options known.
    pub fn new() -> Self {
        EnumOptions::default()
    }

    /// Sets the options of `enum_type`.
    pub fn insert(&mut self, enum_type: impl Into<String>, options: Vec<EnumOption>) {
        self.types.insert(enum_type.into(), options);
    }

    /// Sets the options of `enum_type` from query rows with `fibery/id` and `enum/name`
    /// (rows missing either are skipped).
    pub fn insert_rows(&mut self, enum_type: impl Into<String>, rows: &[Value]) {
        let opts = rows
            .iter()
            .filter_map(|r| {
                Some(EnumOption {
                    id: r.get("fibery/id")?.as_str()?.to_owned(),
                    name: r.get("enum/name")?.as_str()?.to_owned(),
                })
            })
            .collect();
        self.insert(enum_type, opts);
    }

    /// Reads the fixture/seed format `{"<enum type>": [{"fibery/id", "enum/name", ...}]}`.
    pub fn from_seed_json(v: &Value) -> Option<EnumOptions> {
        let mut out = EnumOptions::new();
        for (t, rows) in v.as_object()? {
            out.insert_rows(t.clone(), rows.as_array()?);
        }
        Some(out)
    }

    /// The options of `enum_type`, if known.
    pub fn get(&self, enum_type: &str) -> Option<&[EnumOption]> {
        self.types.get(enum_type).map(Vec::as_slice)
    }

    /// The option named `name` (exact match first, then case-insensitive).
    pub fn resolve(&self, enum_type: &str, name: &str) -> Option<&EnumOption> {
        let opts = self.types.get(enum_type)?;
        opts.iter().find(|o| o.name == name).or_else(|| {
            let lower = name.to_lowercase();
            opts.iter().find(|o| o.name.to_lowercase() == lower)
        })
    }

    /// The option with id `id`.
    pub fn by_id(&self, enum_type: &str, id: &str) -> Option<&EnumOption> {
        self.types.get(enum_type)?.iter().find(|o| o.id == id)
    }

    /// Enum types with known options.
    pub fn enum_types(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}

fn v(field: &str, rule: Rule, reason: impl Into<String>) -> Violation {
    Violation {
        field: field.to_owned(),
        rule,
        reason: reason.into(),
    }
}

impl Schema {
    /// Validates the fields of a create or update of `type_name` (see [`Schema::validate_with`];
    /// enum options are not checked).
    pub fn validate(
        &self,
        type_name: &str,
        fields: &Map<String, Value>,
        mode: Mode,
    ) -> Result<(), Vec<Violation>> {
        self.validate_with(type_name, fields, mode, &EnumOptions::new())
    }

    /// Validates `fields` as the `entity` of a `fibery.entity/create` (`Mode::Create`) or
    /// `update` (`Mode::Update`) of `type_name`. Rules, in order per field:
    /// unknown type; unknown field (with a did-you-mean); read-only (system fields, formulas,
    /// lookups; `fibery/id` is allowed); not settable here (collections, multi-selects, files,
    /// rich text: they take follow-up commands); `null` on a required field; wrong value shape
    /// for the field type (bad date-time, email, url, uuid, ...); references that are not an
    /// id / `{"fibery/id": ..}` ([`Rule::BadReference`]); select/workflow option ids not among
    /// the known `options` ([`Rule::UnknownOption`]). On create, required fields without a
    /// default must be present; on update, `fibery/id` must be.
    pub fn validate_with(
        &self,
        type_name: &str,
        fields: &Map<String, Value>,
        mode: Mode,
        options: &EnumOptions,
    ) -> Result<(), Vec<Violation>> {
        let Some(ty) = self.type_def(type_name) else {
            let mut reason = format!("type `{type_name}` does not exist");
            if let Some(s) = self.suggest_type(type_name) {
                reason.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(vec![v(type_name, Rule::UnknownType, reason)]);
        };
        let mut out: Vec<Violation> = fields
            .iter()
            .filter_map(|(name, value)| self.check_field(ty, name, value, options))
            .collect();
        out.extend(missing_fields(ty, fields, mode));
        if out.is_empty() { Ok(()) } else { Err(out) }
    }

    /// The first rule `value` breaks as field `name` of `ty` (see [`Schema::validate_with`]).
    fn check_field(
        &self,
        ty: &TypeDef,
        name: &str,
        value: &Value,
        options: &EnumOptions,
    ) -> Option<Violation> {
        let Some(def) = ty.field(name) else {
            let mut reason = format!("`{}` has no field `{name}`", ty.name);
            if let Some(s) = ty.suggest_field(name) {
                reason.push_str(&format!("; did you mean `{s}`?"));
            }
            return Some(v(name, Rule::UnknownField, reason));
        };
        if name == "fibery/id" {
            let ok = value
                .as_str()
                .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok());
            return (!ok).then(|| {
                v(
                    name,
                    Rule::WrongType,
                    format!(
                        "`fibery/id` must be a UUID string, got {}",
                        crate::value::short(value)
                    ),
                )
            });
        }
        if def.is_readonly() {
            let why = if def.meta.formula {
                "a formula"
            } else if def.meta.lookup {
                "a lookup"
            } else {
                "read-only"
            };
            return Some(v(
                name,
                Rule::ReadOnly,
                format!("`{name}` is {why} and cannot be written"),
            ));
        }
        let ft = def.field_type(self);
        if ft == FieldType::RichText {
            return Some(v(
                name,
                Rule::NotSettable,
                "rich text is written through the documents API after the entity exists",
            ));
        }
        if ft.is_collection() {
            return Some(v(
                name,
                Rule::NotSettable,
                format!(
                    "`{name}` is {}; set it with add-collection-items after the entity exists",
                    describe(&ft)
                ),
            ));
        }
        if value.is_null() {
            return def.meta.required.then(|| {
                v(
                    name,
                    Rule::Required,
                    format!("required field `{name}` cannot be null"),
                )
            });
        }
        if ft.is_reference() {
            return check_reference(&ft, name, value, options);
        }
        FieldValue::parse(&ft, value).err().map(|e| {
            v(
                name,
                Rule::WrongType,
                format!("{} for {}", e.0, describe(&ft)),
            )
        })
    }
}

/// A reference must be an id or `{"fibery/id": ..}`; an option id must be a known option.
fn check_reference(
    ft: &FieldType,
    name: &str,
    value: &Value,
    options: &EnumOptions,
) -> Option<Violation> {
    let id = match crate::value::parse_ref(value) {
        Ok(id) => id,
        Err(e) => {
            let mut reason = e.0;
            if let (Some(et), Some(s)) = (ft.enum_type(), value.as_str())
                && let Some(opt) = options.resolve(et, s)
            {
                reason = format!(
                    "`{s}` is an option name; send its id {{\"fibery/id\": \"{}\"}}",
                    opt.id
                );
            }
            return Some(v(name, Rule::BadReference, reason));
        }
    };
    let et = ft.enum_type()?;
    let opts = options.get(et)?;
    if opts
        .iter()
        .any(|o| o.id.eq_ignore_ascii_case(&id.to_string()))
    {
        return None;
    }
    let names: Vec<&str> = opts.iter().map(|o| o.name.as_str()).collect();
    Some(v(
        name,
        Rule::UnknownOption,
        format!(
            "{id} is not an option of `{et}` (options: {})",
            names.join(", ")
        ),
    ))
}

/// On create, required fields without a default that `fields` lacks; on update, `fibery/id`.
fn missing_fields(ty: &TypeDef, fields: &Map<String, Value>, mode: Mode) -> Vec<Violation> {
    match mode {
        Mode::Create => ty
            .live_fields()
            .filter(|def| {
                def.meta.required
                    && !def.is_readonly()
                    && def.meta.default_value.is_none()
                    && !def.meta.entity_component
                    && !def.meta.collection
                    && !fields.contains_key(&def.name)
            })
            .map(|def| {
                v(
                    &def.name,
                    Rule::Required,
                    format!("required field `{}` is missing", def.name),
                )
            })
            .collect(),
        Mode::Update if !fields.contains_key("fibery/id") => vec![v(
            "fibery/id",
            Rule::Required,
            "an update needs the entity's `fibery/id`",
        )],
        Mode::Update => Vec::new(),
    }
}

use crate::error::names as err;

struct QueryChecker<'a> {
    schema: &'a Schema,
    out: Vec<(Violation, &'static str)>,
}

impl<'a> QueryChecker<'a> {
    fn push(&mut self, at: &str, rule: Rule, name: &'static str, reason: String) {
        self.out.push((v(at, rule, reason), name));
    }

    /// The field `name` of `ty`, reporting an unknown one.
    fn field<'s>(&mut self, ty: &'s TypeDef, name: &str, at: &str) -> Option<&'s FieldDef> {
        let f = ty.field(name);
        if f.is_none() {
            let mut reason = format!("`{}` has no field `{name}`", ty.name);
            if let Some(s) = ty.suggest_field(name) {
                reason.push_str(&format!("; did you mean `{s}`?"));
            }
            self.push(at, Rule::UnknownField, err::SCHEMA_FIELD_NOT_FOUND, reason);
        }
        f
    }

    /// The type a reference field points at (documents, files, users, enums, relations).
    fn target(&self, ft: &FieldType) -> Option<&'a TypeDef> {
        let name = match ft {
            FieldType::RichText => "Collaboration~Documents/Document",
            FieldType::File { .. } => "fibery/file",
            FieldType::User { .. } => "fibery/user",
            FieldType::Relation { target, .. } => target,
            other => other.enum_type()?,
        };
        self.schema.type_def(name)
    }

    /// Keys outside the query language, reported under `at` (`""` at the top level).
    fn unknown_keys(&mut self, keys: &[String], at: &str) {
        for k in keys {
            self.push(
                &format!("{at}{k}"),
                Rule::UnknownKey,
                err::QUERY_EXPR_INVALID,
                format!(
                    "`{k}` is not a query key (q/from, q/select, q/where, q/order-by, q/limit, q/offset)"
                ),
            );
        }
    }

    /// A top-level map-form select whose every entry aggregates one primitive field
    /// (`{"count": ["q/count", "fibery/id"]}`) aggregates all matching rows. Checks it and
    /// returns true when `select` is one.
    fn top_level_aggregate(&mut self, ty: &TypeDef, select: &Select) -> bool {
        let Select::Aliased(items) = select else {
            return false;
        };
        let over_row = |e: &AliasedExpr| match e {
            AliasedExpr::Aggregate { path, .. } => match path.as_slice() {
                [one] => ty
                    .field(one)
                    .is_some_and(|f| !f.field_type(self.schema).is_collection()),
                _ => false,
            },
            _ => false,
        };
        if items.is_empty() || !items.iter().all(|(_, e)| over_row(e)) {
            return false;
        }
        for (alias, e) in items {
            if let AliasedExpr::Aggregate { path, .. } = e {
                self.path(ty, path, alias, false);
            }
        }
        true
    }

    fn select(&mut self, ty: &TypeDef, select: &Select, at: &str) {
        match select {
            Select::Fields(items) => {
                for item in items {
                    self.item(ty, item, at);
                }
            }
            Select::Aliased(items) => {
                for (alias, expr) in items {
                    let at = format!("{at}{alias}");
                    match expr {
                        AliasedExpr::Path(p) => self.path(ty, p, &at, false),
                        AliasedExpr::SubQuery { field, query } => {
                            self.sub_query(ty, field, query, &at)
                        }
                        AliasedExpr::Aggregate { path, .. } => self.aggregate(ty, path, &at),
                    }
                }
            }
        }
    }

    fn item(&mut self, ty: &TypeDef, item: &SelectItem, at: &str) {
        match item {
            SelectItem::Field(name) => {
                let at = format!("{at}{name}");
                let Some(f) = self.field(ty, name, &at) else {
                    return;
                };
                let ft = f.field_type(self.schema);
                if !matches!(ft, FieldType::Primitive(_) | FieldType::Unknown(_)) {
                    let how = if ft.is_collection() {
                        "a sub-query `{field: {\"q/select\": [..], \"q/limit\": 100}}`"
                    } else {
                        "a dereference `{field: [..]}`"
                    };
                    self.push(
                        &at,
                        Rule::WrongType,
                        err::QUERY_PRIMITIVE_FIELD_EXPR_INVALID,
                        format!("`{name}` is {}; select it with {how}", describe(&ft)),
                    );
                }
            }
            SelectItem::Deref { field, select } => {
                let at = format!("{at}{field}");
                let Some(f) = self.field(ty, field, &at) else {
                    return;
                };
                let ft = f.field_type(self.schema);
                if ft.is_collection() {
                    self.push(
                        &at,
                        Rule::WrongType,
                        err::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID,
                        format!(
                            "`{field}` is {}; use a sub-query, not a dereference",
                            describe(&ft)
                        ),
                    );
                    return;
                }
                let Some(target) = self.target(&ft) else {
                    self.push(
                        &at,
                        Rule::WrongType,
                        err::QUERY_PRIMITIVE_FIELD_EXPR_INVALID,
                        format!("`{field}` is {} and cannot be dereferenced", describe(&ft)),
                    );
                    return;
                };
                let inner = format!("{at} -> ");
                for i in select {
                    self.item(target, i, &inner);
                }
            }
            SelectItem::SubQuery { field, query } => {
                self.sub_query(ty, field, query, &format!("{at}{field}"))
            }
            SelectItem::Aggregate { alias, path, .. } => {
                self.aggregate(ty, path, &format!("{at}{alias}"))
            }
        }
    }

    /// The type the collection `name` of `ty` holds; reports an unknown field, or one that
    /// is not a collection (`need`: what needed a collection).
    fn collection_target(
        &mut self,
        ty: &TypeDef,
        name: &str,
        at: &str,
        need: &str,
    ) -> Option<&'a TypeDef> {
        let ft = self.field(ty, name, at)?.field_type(self.schema);
        if !ft.is_collection() {
            self.push(
                at,
                Rule::WrongType,
                err::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID,
                format!("{need} need a collection; `{name}` is {}", describe(&ft)),
            );
            return None;
        }
        self.target(&ft)
    }

    fn sub_query(&mut self, ty: &TypeDef, field: &str, q: &SubQuery, at: &str) {
        let inner = format!("{at} -> ");
        self.unknown_keys(&q.unknown_keys, &inner);
        let Some(target) = self.collection_target(ty, field, at, "sub-queries") else {
            return;
        };
        self.select(target, &q.select, &inner);
        if let Some(filter) = &q.filter {
            self.filter(target, filter, &inner);
        }
        for o in &q.order_by {
            self.operand(target, &o.expr, &inner);
        }
    }

    fn aggregate(&mut self, ty: &TypeDef, path: &[String], at: &str) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if let Some(target) = self.collection_target(ty, first, at, "aggregates")
            && !rest.is_empty()
        {
            self.path(target, rest, at, false);
        }
    }

    /// A path to a primitive leaf; intermediate segments must be references (collections
    /// only when `through_collections`, as in `q/in` any-match paths).
    fn path(&mut self, ty: &TypeDef, path: &[String], at: &str, through_collections: bool) {
        let mut ty = ty;
        for (i, seg) in path.iter().enumerate() {
            let Some(f) = self.field(ty, seg, at) else {
                return;
            };
            let ft = f.field_type(self.schema);
            let last = i + 1 == path.len();
            if last {
                if !matches!(ft, FieldType::Primitive(_) | FieldType::Unknown(_)) {
                    self.push(
                        at,
                        Rule::WrongType, err::QUERY_PRIMITIVE_FIELD_EXPR_INVALID,
                        format!(
                            "path ends at `{seg}`, which is {}; go down to a primitive such as `fibery/id` or `enum/name`",
                            describe(&ft)
                        ),
                    );
                }
                return;
            }
            if ft.is_collection() && !through_collections {
                self.push(
                    at,
                    Rule::WrongType,
                    err::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID,
                    format!("paths cannot go through the collection `{seg}`; use a sub-query"),
                );
                return;
            }
            match self.target(&ft) {
                Some(t) => ty = t,
                None => {
                    self.push(
                        at,
                        Rule::WrongType,
                        err::QUERY_PRIMITIVE_FIELD_EXPR_INVALID,
                        format!("`{seg}` is {} and has no fields", describe(&ft)),
                    );
                    return;
                }
            }
        }
    }

    fn operand(&mut self, ty: &TypeDef, o: &Operand, at: &str) {
        match o {
            Operand::Path(p) => self.path(ty, p, &format!("{at}{}", p.join(" -> ")), false),
            Operand::IsNull(x) | Operand::NullOrEmpty(x) | Operand::Start(x) | Operand::End(x) => {
                self.operand(ty, x, at)
            }
            Operand::Count(p) => self.aggregate(ty, p, &format!("{at}{}", p.join(" -> "))),
            Operand::Param(_) | Operand::Value(_) => {}
        }
    }

    fn filter(&mut self, ty: &TypeDef, f: &Filter, at: &str) {
        match f {
            Filter::And(v) | Filter::Or(v) => {
                for x in v {
                    self.filter(ty, x, at);
                }
            }
            Filter::Compare { left, right, .. } | Filter::Text { left, right, .. } => {
                self.operand(ty, left, at);
                self.operand(ty, right, at);
            }
            Filter::In { left, right, .. } => {
                if let Operand::Path(p) = left {
                    self.path(ty, p, &format!("{at}{}", p.join(" -> ")), true);
                } else {
                    self.operand(ty, left, at);
                }
                self.operand(ty, right, at);
            }
        }
    }
}

impl Schema {
    /// Checks a query against the schema the way Fibery would: the type exists, every field
    /// exists, primitives are selected as strings, single references are dereferenced,
    /// collections use sub-queries (not dereferences or paths), aggregates and `q/count` run
    /// over collections, and `q/where` / `q/order-by` paths end at a primitive (`q/in` paths may
    /// cross collections); a top-level select of aggregates over one field
    /// ([`Query::to_count`]) counts rows. Keys outside the query language that the parser kept
    /// ([`Query::unknown_keys`]) are [`Rule::UnknownKey`]. Violations name the location as
    /// `Field -> Inner field`.
    pub fn check_query(&self, q: &Query) -> Result<(), Vec<Violation>> {
        self.check_query_named(q)
            .map_err(|v| v.into_iter().map(|(v, _)| v).collect())
    }

    /// [`Schema::check_query`], pairing each violation with the Fibery error name it
    /// corresponds to (`entity.error/schema-type-not-found`, `...schema-field-not-found`,
    /// `...query-primitive-field-expr-invalid` where a primitive was expected,
    /// `...query-select-collection-field-vector-shape-invalid` where a collection was misused
    /// or expected, `...query-expr-invalid` for an unknown key). The last three are
    /// best-effort mappings (Fibery's exact choice for each misuse is not documented).
    pub fn check_query_named(&self, q: &Query) -> Result<(), Vec<(Violation, &'static str)>> {
        let Some(ty) = self.type_def(&q.from) else {
            let mut reason = format!("type `{}` does not exist", q.from);
            if let Some(s) = self.suggest_type(&q.from) {
                reason.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(vec![(
                v(&q.from, Rule::UnknownType, reason),
                err::SCHEMA_TYPE_NOT_FOUND,
            )]);
        };
        let mut c = QueryChecker {
            schema: self,
            out: Vec::new(),
        };
        c.unknown_keys(&q.unknown_keys, "");
        if !c.top_level_aggregate(ty, &q.select) {
            c.select(ty, &q.select, "");
        }
        if let Some(f) = &q.filter {
            c.filter(ty, f, "");
        }
        for o in &q.order_by {
            c.operand(ty, &o.expr, "");
        }
        if c.out.is_empty() { Ok(()) } else { Err(c.out) }
    }
}
