//! Column-to-field mapping (automatic or from a TOML file) and per-row conversion of input
//! values into Fibery field values, with the reasons a row is rejected.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use fibery_core::schema::{PrimitiveType, Schema, TypeDef};
use fibery_core::validate::{Mode, Rule, Violation};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::cells;
use crate::error::{CliError, Result};
use crate::fields::{self, FieldKind};
use crate::input::{Record, Span};

/// Namespace of the deterministic entity ids (UUID v5) the importer derives from keys.
pub const ID_NAMESPACE: Uuid = Uuid::from_u128(0x3c1e_9a57_4f0b_5d2e_8b6a_f1be_7200_0001);

/// The mapping file (`--map mapping.toml`).
///
/// ```toml
/// [columns]
/// "External Id" = "Projects/External Id"          # column = field
/// Project = { field = "Projects/Project", lookup = "Projects/Name" }
/// Tags = { field = "Projects/Tags", separator = ";" }
/// Notes = { skip = true }                          # ignore this column
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "RawMappingFile")]
pub struct MappingFile {
    /// Column name -> field (or a table with options).
    pub columns: BTreeMap<String, ColumnSpec>,
}

/// One column of a mapping file.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSpec {
    /// Just the field name.
    Field(String),
    /// A field with options.
    Table(ColumnTable),
}

/// The long form of a column mapping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnTable {
    /// Target field.
    pub field: Option<String>,
    /// For relations: the field of the target type the column's values are matched against
    /// (default: the target's title field; a UUID value always matches `fibery/id`).
    pub lookup: Option<String>,
    /// Separator of multi-value cells (default from `--separator`).
    pub separator: Option<String>,
    /// Ignore the column.
    pub skip: bool,
}

/// The file as TOML, before each column is checked (so a wrong one can be named).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMappingFile {
    #[serde(default)]
    columns: BTreeMap<String, toml::Value>,
}

const COLUMN_SHAPE: &str = "a field name (\"Space/Field\") or a table { field = \"Space/Field\", lookup = \"Space/Field\", separator = \";\", skip = true }";

impl TryFrom<RawMappingFile> for MappingFile {
    type Error = String;

    fn try_from(raw: RawMappingFile) -> std::result::Result<Self, String> {
        let columns = raw
            .columns
            .into_iter()
            .map(|(col, v)| column_spec(&col, v).map(|spec| (col, spec)))
            .collect::<std::result::Result<_, _>>()?;
        Ok(MappingFile { columns })
    }
}

fn toml_shape(v: &toml::Value) -> String {
    let text = v.to_string();
    let text = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    };
    format!("{} `{text}`", v.type_str())
}

fn column_spec(col: &str, v: toml::Value) -> std::result::Result<ColumnSpec, String> {
    let t = match v {
        toml::Value::String(f) => return Ok(ColumnSpec::Field(f)),
        toml::Value::Table(t) => t,
        other => {
            return Err(format!(
                "column \"{col}\" must be {COLUMN_SHAPE}, but it is {}",
                toml_shape(&other)
            ));
        }
    };
    let mut spec = ColumnTable::default();
    for (k, v) in t {
        let text = |v: toml::Value| match v {
            toml::Value::String(s) => Ok(Some(s)),
            other => Err(format!(
                "column \"{col}\": `{k}` must be a string, but it is {}",
                toml_shape(&other)
            )),
        };
        match k.as_str() {
            "field" => spec.field = text(v)?,
            "lookup" => spec.lookup = text(v)?,
            "separator" => {
                spec.separator = text(v)?;
                if let Some(s) = &spec.separator {
                    check_separator(s).map_err(|why| format!("column \"{col}\": {why}"))?;
                }
            }
            "skip" => match v {
                toml::Value::Boolean(b) => spec.skip = b,
                other => {
                    return Err(format!(
                        "column \"{col}\": `skip` must be true or false, but it is {}",
                        toml_shape(&other)
                    ));
                }
            },
            other => {
                return Err(format!(
                    "column \"{col}\": unknown key `{other}` (a column table takes field, lookup, separator and skip)"
                ));
            }
        }
    }
    Ok(ColumnSpec::Table(spec))
}

/// A separator of multi-value cells must be exactly one byte (one ASCII character):
/// an empty one would split every value into characters.
pub fn check_separator(sep: &str) -> std::result::Result<(), String> {
    if sep.len() == 1 {
        Ok(())
    } else {
        Err(format!(
            "the separator must be one ASCII character such as \",\" or \";\", not {sep:?} ({} bytes)",
            sep.len()
        ))
    }
}

/// `a, b, c and 99997 more`: at most `max` names of a long list.
pub fn some_of(names: &[String], max: usize) -> String {
    let shown = names[..names.len().min(max)].join(", ");
    if names.len() > max {
        format!("{shown} and {} more", names.len() - max)
    } else {
        shown
    }
}

impl MappingFile {
    /// Reads and parses a mapping file.
    pub fn load(path: &Path) -> Result<MappingFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("cannot read mapping file {}: {e}", path.display()))
        })?;
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .filter(|s| s.start > 0)
                .map(|s| {
                    let before = &text.as_bytes()[..s.start.min(text.len())];
                    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            CliError::usage(format!(
                "mapping file {} is not valid{at}: {}",
                path.display(),
                e.message()
            ))
            .hint(format!(
                "each entry of [columns] maps a column to {COLUMN_SHAPE}"
            ))
        })
    }
}

/// How one column is written.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// The input column.
    pub column: String,
    /// The target field (full name).
    pub field: String,
    /// The field's kind.
    pub kind: FieldKind,
    /// Lookup field on the relation target (relations only).
    pub lookup: Option<String>,
    /// Separator for multi-value cells.
    pub separator: String,
}

/// The whole mapping of an import.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Target type.
    pub type_name: String,
    /// Mapped columns.
    pub columns: Vec<ColumnPlan>,
    /// Columns explicitly skipped.
    pub skipped: Vec<String>,
    /// Required fields (on create) that are neither mapped nor defaulted.
    pub required: Vec<String>,
    /// The upsert / id key field, if any.
    pub key: Option<String>,
    /// Default separator.
    pub separator: String,
    /// Map for JSONL keys not in the plan yet (resolved lazily by name).
    auto: bool,
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Finds the writable field a column name means: exact name, then the name without the
/// space prefix (case-insensitive), then ignoring spaces and punctuation.
pub fn auto_field<'a>(td: &'a TypeDef, column: &str) -> Option<&'a str> {
    let writable = || {
        td.fields
            .iter()
            .filter(|f| !f.deleted && !fields::is_readonly(f))
    };
    if let Some(f) = writable().find(|f| f.name == column) {
        return Some(&f.name);
    }
    if column == "fibery/id" || column.eq_ignore_ascii_case("id") {
        return td
            .fields
            .iter()
            .find(|f| f.name == "fibery/id")
            .map(|f| f.name.as_str());
    }
    let lc = column.to_lowercase();
    if let Some(f) =
        writable().find(|f| f.name.rsplit('/').next().unwrap_or("").to_lowercase() == lc)
    {
        return Some(&f.name);
    }
    let n = norm(column);
    writable()
        .find(|f| norm(f.name.rsplit('/').next().unwrap_or("")) == n || norm(&f.name) == n)
        .map(|f| f.name.as_str())
}

/// The `--key` field: it must exist and be text, int or date.
fn check_key(td: &TypeDef, k: &str) -> Result<String> {
    let f = fields::field_def(td, k).ok_or_else(|| unknown_field(td, k, "--key"))?;
    if !matches!(
        f.type_name.as_str(),
        "fibery/text" | "fibery/int" | "fibery/date"
    ) {
        return Err(CliError::usage(format!(
            "--key field \"{k}\" is {} but an upsert key must be text, int or date",
            f.type_name
        ))
        .hint("pick a text field such as an external id"));
    }
    Ok(k.to_string())
}

/// Every column the mapping file names must be in the input (when it has a header).
fn check_mapped_columns_exist(m: &MappingFile, headers: &[String]) -> Result<()> {
    match m
        .columns
        .keys()
        .find(|col| !headers.is_empty() && !headers.contains(col))
    {
        Some(col) => Err(CliError::usage(format!(
            "the mapping names column \"{col}\" but the input has no such column"
        ))
        .hint(format!("input columns: {}", some_of(headers, 10)))),
        None => Ok(()),
    }
}

/// The error for columns that match no writable field (the first named, the rest listed).
fn unmatched_columns(td: &TypeDef, unmatched: &[String]) -> CliError {
    let h = &unmatched[0];
    let cands = td
        .fields
        .iter()
        .filter(|f| !fields::is_readonly(f))
        .map(|f| f.name.as_str());
    let e = CliError::usage(format!(
        "column \"{h}\" matches no writable field of {}{}",
        td.name,
        if unmatched.len() > 1 {
            format!(" (also unmatched: {})", some_of(&unmatched[1..], 5))
        } else {
            String::new()
        }
    ));
    match fields::did_you_mean(h, cands) {
        Some(s) => e.hint(format!(
            "did you mean \"{s}\"? Map or skip columns with --map mapping.toml"
        )),
        None => e.hint("map or skip columns with --map mapping.toml (see `fibery import --help`)"),
    }
}

/// The fields a new entity needs a value for (required, writable, no default).
fn required_fields(td: &TypeDef) -> Vec<String> {
    td.fields
        .iter()
        .filter(|f| {
            f.meta.required
                && !f.deleted
                && !fields::is_readonly(f)
                && f.meta.default_value.is_none()
                && !f.meta.entity_component
                && !f.meta.collection
                && f.name != "fibery/id"
        })
        .map(|f| f.name.clone())
        .collect()
}

impl Plan {
    /// Builds the plan: validates the type, the key, every mapped column and every field.
    pub fn build(
        schema: &Schema,
        type_name: &str,
        headers: &[String],
        mapping: Option<&MappingFile>,
        key: Option<&str>,
        separator: &str,
    ) -> Result<Plan> {
        let td = fields::type_def(schema, type_name)
            .ok_or_else(|| fields::unknown_type(schema, type_name))?;
        check_separator(separator).map_err(|why| {
            CliError::usage(format!("--separator: {why}"))
                .hint("multi-value cells (multi-selects, to-many relations) are split on it")
        })?;
        let mut plan = Plan {
            type_name: type_name.to_string(),
            columns: Vec::new(),
            skipped: Vec::new(),
            required: required_fields(td),
            key: key.map(|k| check_key(td, k)).transpose()?,
            separator: separator.to_string(),
            auto: mapping.is_none(),
        };
        let mut unmatched = Vec::new();
        for h in headers {
            match plan.column_for(schema, td, h, mapping)? {
                Some(Some(c)) => plan.columns.push(c),
                Some(None) => plan.skipped.push(h.clone()),
                None => unmatched.push(h.clone()),
            }
        }
        if let Some(m) = mapping {
            check_mapped_columns_exist(m, headers)?;
        }
        if !unmatched.is_empty() {
            return Err(unmatched_columns(td, &unmatched));
        }
        plan.check_one_column_per_field()?;
        if let Some(k) = &plan.key
            && !headers.is_empty()
            && !plan.columns.iter().any(|c| &c.field == k)
        {
            return Err(
                CliError::usage(format!("no column maps to the --key field \"{k}\""))
                    .hint("add the column or map it with --map"),
            );
        }
        Ok(plan)
    }

    /// Two columns must not write the same field.
    fn check_one_column_per_field(&self) -> Result<()> {
        let mut seen = HashMap::new();
        for c in &self.columns {
            if let Some(other) = seen.insert(c.field.clone(), c.column.clone()) {
                return Err(CliError::usage(format!(
                    "columns \"{other}\" and \"{}\" both map to {}",
                    c.column, c.field
                ))
                .hint("skip one of them in the mapping file"));
            }
        }
        Ok(())
    }

    /// Resolves one column: `Some(Some(plan))` mapped, `Some(None)` skipped, `None` unmatched.
    fn column_for(
        &self,
        schema: &Schema,
        td: &TypeDef,
        column: &str,
        mapping: Option<&MappingFile>,
    ) -> Result<Option<Option<ColumnPlan>>> {
        let spec = mapping.and_then(|m| m.columns.get(column));
        let (field_name, lookup, sep) = match spec {
            Some(ColumnSpec::Field(f)) => (Some(f.clone()), None, None),
            Some(ColumnSpec::Table(t)) if t.skip => return Ok(Some(None)),
            Some(ColumnSpec::Table(t)) => (t.field.clone(), t.lookup.clone(), t.separator.clone()),
            None => (None, None, None),
        };
        let field_name = match field_name {
            Some(f) => f,
            None => match auto_field(td, column) {
                Some(f) => f.to_string(),
                None if mapping.is_some() && spec.is_none() => return Ok(None),
                None => return Ok(None),
            },
        };
        let fd = fields::field_def(td, &field_name)
            .ok_or_else(|| unknown_field(td, &field_name, &format!("column \"{column}\"")))?;
        if fields::is_readonly(fd) && fd.name != "fibery/id" {
            return Err(CliError::usage(format!(
                "column \"{column}\" maps to {} which is read-only",
                fd.name
            ))
            .hint("skip the column in the mapping file"));
        }
        let kind = FieldKind::of(schema, fd);
        if matches!(kind, FieldKind::File) {
            return Err(CliError::usage(format!(
                "column \"{column}\" maps to the file field {}; files cannot be imported from CSV/JSONL",
                fd.name
            ))
            .hint("skip the column in the mapping file"));
        }
        let lookup = match &kind {
            FieldKind::Relation { target, .. } => {
                let ttd = fields::type_def(schema, target).ok_or_else(|| {
                    CliError::usage(format!(
                        "relation target type {target} is not in the schema"
                    ))
                })?;
                let l = match lookup {
                    Some(l) => l,
                    None => fields::title_field(ttd)
                        .map(|f| f.name.clone())
                        .unwrap_or_else(|| "fibery/id".to_string()),
                };
                if fields::field_def(ttd, &l).is_none() {
                    return Err(unknown_field(
                        ttd,
                        &l,
                        &format!("lookup of column \"{column}\""),
                    ));
                }
                Some(l)
            }
            FieldKind::Enum { .. } => Some("enum/name".to_string()),
            _ => None,
        };
        Ok(Some(Some(ColumnPlan {
            column: column.to_string(),
            field: fd.name.clone(),
            kind,
            lookup,
            separator: sep.unwrap_or_else(|| self.separator.clone()),
        })))
    }

    /// Columns of relation/enum kind need lookup tables: (type, lookup field) pairs.
    pub fn lookups_needed(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        for c in &self.columns {
            let t = match &c.kind {
                FieldKind::Relation { target, .. } => target.clone(),
                FieldKind::Enum { enum_type, .. } => enum_type.clone(),
                _ => continue,
            };
            let l = c.lookup.clone().unwrap_or_else(|| "fibery/id".into());
            if !v.contains(&(t.clone(), l.clone())) {
                v.push((t, l));
            }
        }
        v
    }

    /// Adds plans for JSONL keys first seen in `rec` (auto mapping only).
    pub fn extend_for(&mut self, schema: &Schema, rec: &Record) -> Vec<String> {
        let mut unknown = Vec::new();
        let Some(td) = fields::type_def(schema, &self.type_name) else {
            return unknown;
        };
        for k in rec.values.keys() {
            if self.columns.iter().any(|c| &c.column == k) || self.skipped.contains(k) {
                continue;
            }
            if !self.auto {
                unknown.push(k.clone());
                continue;
            }
            match self.column_for(schema, td, k, None) {
                Ok(Some(Some(c))) => self.columns.push(c),
                _ => unknown.push(k.clone()),
            }
        }
        unknown
    }
}

fn unknown_field(td: &TypeDef, name: &str, what: &str) -> CliError {
    let e = CliError::usage(format!(
        "{what}: field \"{name}\" is not a field of {}",
        td.name
    ));
    match fields::did_you_mean(name, td.fields.iter().map(|f| f.name.as_str())) {
        Some(s) => e.hint(format!("did you mean \"{s}\"?")),
        None => e.hint(format!(
            "`fibery schema dump --type \"{}\"` lists its fields",
            td.name
        )),
    }
}

/// Lookup tables: per (type, lookup field), value -> ids.
#[derive(Debug, Default)]
pub struct Lookups {
    tables: HashMap<(String, String), HashMap<String, Vec<Uuid>>>,
}

impl Lookups {
    /// Registers one entity of `type_name` whose `field` has `value`.
    pub fn insert(&mut self, type_name: &str, field: &str, value: &Value, id: Uuid) {
        let key = match value {
            Value::String(s) => s.clone(),
            Value::Null => return,
            other => other.to_string(),
        };
        self.tables
            .entry((type_name.to_string(), field.to_string()))
            .or_default()
            .entry(key)
            .or_default()
            .push(id);
    }

    /// Makes sure a table exists (even if empty).
    pub fn ensure(&mut self, type_name: &str, field: &str) {
        self.tables
            .entry((type_name.to_string(), field.to_string()))
            .or_default();
    }

    fn find(&self, type_name: &str, field: &str, value: &str) -> std::result::Result<Uuid, String> {
        if let Ok(id) = Uuid::parse_str(value) {
            return Ok(id);
        }
        let Some(t) = self.tables.get(&(type_name.to_string(), field.to_string())) else {
            return Err(format!("no lookup table for {type_name}"));
        };
        match t.get(value).map(Vec::as_slice) {
            Some([id]) => return Ok(*id),
            Some(ids) if ids.len() > 1 => {
                return Err(format!(
                    "\"{value}\" matches {} {type_name} entities",
                    ids.len()
                ));
            }
            _ => {}
        }
        let lc = value.to_lowercase();
        let ci: Vec<&Uuid> = t
            .iter()
            .filter(|(k, _)| k.to_lowercase() == lc)
            .flat_map(|(_, v)| v)
            .collect();
        match ci.as_slice() {
            [id] => Ok(**id),
            [] => {
                let hint = fields::did_you_mean(value, t.keys().map(String::as_str))
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                Err(format!("no {type_name} with {field} \"{value}\"{hint}"))
            }
            _ => Err(format!(
                "\"{value}\" matches {} {type_name} entities",
                ci.len()
            )),
        }
    }
}

/// A row ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRow {
    /// Data row number in the input.
    pub row: u64,
    /// Where the row is in the input.
    pub span: Span,
    /// The entity id (given, or UUID v5 of the key / content).
    pub id: Uuid,
    /// Fields settable in a create/upsert (includes `fibery/id`).
    pub fields: Map<String, Value>,
    /// Collection fields: (field, item ids), written with add-collection-items.
    pub collections: Vec<(String, Vec<Uuid>)>,
    /// Rich-text fields: (field, markdown).
    pub documents: Vec<(String, String)>,
}

fn violation(field: &str, rule: Rule, reason: String) -> Violation {
    Violation {
        field: field.to_string(),
        rule,
        reason,
    }
}

fn short(v: &str) -> String {
    if v.chars().count() > 60 {
        format!("{}…", v.chars().take(60).collect::<String>())
    } else {
        v.to_string()
    }
}

/// Converts one cell for one column.
enum Cell {
    Empty,
    Field(Value),
    Collection(Vec<Uuid>),
    Document(String),
}

fn convert(
    c: &ColumnPlan,
    v: &Value,
    literal: Option<&str>,
    check_nul: bool,
    lookups: &Lookups,
) -> std::result::Result<Cell, Violation> {
    if check_nul && cells::has_nul(v) {
        return Err(violation(
            &c.field,
            Rule::WrongType,
            "the value contains a NUL character (U+0000), which Fibery cannot store".into(),
        ));
    }
    let as_text = |v: &Value| cells::text(v, None);
    // JSON-typed input for collections and refs.
    if let Value::Array(items) = v
        && !matches!(c.kind, FieldKind::Primitive(_))
    {
        if !c.kind.is_collection() {
            return Err(violation(
                &c.field,
                Rule::WrongType,
                "a list for a single-value field".into(),
            ));
        }
        let mut ids = Vec::new();
        for it in items {
            let s = match it {
                Value::Object(o) => o.get("fibery/id").and_then(as_text),
                other => as_text(other),
            };
            if let Some(s) = s {
                ids.push(lookup_one(c, &s, lookups)?);
            }
        }
        return Ok(if ids.is_empty() {
            Cell::Empty
        } else {
            Cell::Collection(ids)
        });
    }
    if let Value::Object(o) = v
        && let Some(id) = o.get("fibery/id").and_then(as_text)
        && matches!(
            c.kind,
            FieldKind::Relation {
                collection: false,
                ..
            } | FieldKind::Enum { multi: false, .. }
        )
    {
        let id = Uuid::parse_str(&id).map_err(|_| {
            violation(
                &c.field,
                Rule::BadReference,
                format!("\"{}\" is not a UUID", short(&id)),
            )
        })?;
        return Ok(Cell::Field(serde_json::json!({"fibery/id": id})));
    }
    let Some(raw) = cells::text(v, literal) else {
        return Ok(Cell::Empty);
    };
    Ok(match &c.kind {
        FieldKind::Primitive(p) => return primitive_cell(c, p, v, raw),
        FieldKind::RichText => Cell::Document(raw),
        FieldKind::File => {
            return Err(violation(
                &c.field,
                Rule::NotSettable,
                "files cannot be imported".into(),
            ));
        }
        FieldKind::Enum { multi: false, .. }
        | FieldKind::Relation {
            collection: false, ..
        } => Cell::Field(serde_json::json!({"fibery/id": lookup_one(c, &raw, lookups)?})),
        FieldKind::Enum { multi: true, .. }
        | FieldKind::Relation {
            collection: true, ..
        } => {
            let mut ids = Vec::new();
            for part in raw
                .split(c.separator.as_str())
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let id = lookup_one(c, part, lookups)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                Cell::Empty
            } else {
                Cell::Collection(ids)
            }
        }
    })
}

/// A primitive cell, by the rule of [`cells`]; JSON lists and objects only for the
/// structured types (ranges, location, json).
fn primitive_cell(
    c: &ColumnPlan,
    p: &PrimitiveType,
    v: &Value,
    raw: String,
) -> std::result::Result<Cell, Violation> {
    let structured = cells::is_structured(p);
    if !structured && (v.is_array() || v.is_object()) {
        let what = if v.is_array() { "a list" } else { "an object" };
        return Err(violation(
            &c.field,
            Rule::WrongType,
            format!("{what} for a single-value {} field", p.name()),
        ));
    }
    cells::convert(p, v, raw).map(Cell::Field).map_err(|r| {
        let mut reason = format!("\"{}\" is not {}", short(&r.text), cells::expected(p));
        if let Some(d) = r.detail.filter(|_| structured) {
            reason.push_str(&format!(" ({d})"));
        }
        violation(&c.field, Rule::WrongType, reason)
    })
}

fn lookup_one(
    c: &ColumnPlan,
    value: &str,
    lookups: &Lookups,
) -> std::result::Result<Uuid, Violation> {
    let (t, rule) = match &c.kind {
        FieldKind::Relation { target, .. } => (target.as_str(), Rule::BadReference),
        FieldKind::Enum { enum_type, .. } => (enum_type.as_str(), Rule::UnknownOption),
        _ => unreachable_kind(),
    };
    let l = c.lookup.as_deref().unwrap_or("fibery/id");
    lookups
        .find(t, l, value)
        .map_err(|reason| violation(&c.field, rule, reason))
}

fn unreachable_kind() -> (&'static str, Rule) {
    ("", Rule::WrongType)
}

/// Converts a record into a row to write, or the reasons it is rejected.
pub fn prepare(
    schema: &Schema,
    plan: &Plan,
    rec: &Record,
    lookups: &Lookups,
) -> std::result::Result<PreparedRow, Vec<Violation>> {
    let mut errors = Vec::new();
    let mut fields_map = Map::new();
    let mut collections = Vec::new();
    let mut documents = Vec::new();
    for c in &plan.columns {
        let Some(v) = rec.values.get(&c.column) else {
            continue;
        };
        match convert(
            c,
            v,
            rec.literals.get(&c.column).map(String::as_str),
            !rec.nul_free,
            lookups,
        ) {
            Ok(Cell::Empty) => {}
            Ok(Cell::Field(val)) => {
                fields_map.insert(c.field.clone(), val);
            }
            Ok(Cell::Collection(ids)) => collections.push((c.field.clone(), ids)),
            Ok(Cell::Document(md)) => documents.push((c.field.clone(), md)),
            Err(v) => errors.push(v),
        }
    }
    for r in &plan.required {
        if !fields_map.contains_key(r) && !errors.iter().any(|e| &e.field == r) {
            errors.push(violation(
                r,
                Rule::Required,
                "required field is empty".into(),
            ));
        }
    }
    let key_value = match &plan.key {
        Some(k) => match fields_map.get(k) {
            Some(v) => Some(v.clone()),
            None => {
                if !errors.iter().any(|e| &e.field == k) {
                    errors.push(violation(
                        k,
                        Rule::Required,
                        "the --key field is empty".into(),
                    ));
                }
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let id = if let Some(Value::String(s)) = fields_map.get("fibery/id") {
        Uuid::parse_str(s).unwrap_or(Uuid::nil())
    } else if let Some(kv) = key_value {
        let kv = match kv {
            Value::String(s) => s,
            other => other.to_string(),
        };
        Uuid::new_v5(
            &ID_NAMESPACE,
            format!("{}\u{0}{}", plan.type_name, kv).as_bytes(),
        )
    } else {
        // Content-derived: the same row always gets the same id, so re-runs never duplicate.
        let content = serde_json::to_string(&rec.values).unwrap_or_default();
        Uuid::new_v5(
            &ID_NAMESPACE,
            format!("{}\u{0}row\u{0}{content}", plan.type_name).as_bytes(),
        )
    };
    fields_map.insert("fibery/id".into(), Value::String(id.to_string()));
    // The live schema has the last word (shapes, read-only, required, references).
    schema.validate(&plan.type_name, &fields_map, Mode::Create)?;
    Ok(PreparedRow {
        row: rec.row,
        span: rec.span,
        id,
        fields: fields_map,
        collections,
        documents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_schema() -> Schema {
        serde_json::from_str(include_str!("../../examples/data/schema.json")).unwrap()
    }

    fn lookups() -> Lookups {
        let mut l = Lookups::default();
        let seed: Value =
            serde_json::from_str(include_str!("../../examples/data/seed.json")).unwrap();
        for (t, items) in seed.as_object().unwrap() {
            for it in items.as_array().unwrap() {
                let id = Uuid::parse_str(it["fibery/id"].as_str().unwrap()).unwrap();
                for f in ["enum/name", "Projects/Name"] {
                    if let Some(v) = it.get(f) {
                        l.insert(t, f, v, id);
                    }
                }
            }
        }
        l
    }

    fn headers() -> Vec<String> {
        "External Id,Name,Project,State,Priority,Tags,Estimate,Effort,Due,Done"
            .split(',')
            .map(String::from)
            .collect()
    }

    /// The plan of the sample CSV (every column auto-mapped, keyed on the external id).
    fn sample_plan(s: &Schema) -> Plan {
        let key = Some("Projects/External Id");
        Plan::build(s, "Projects/Task", &headers(), None, key, ",").unwrap()
    }

    /// A record of the sample CSV from one line of it (no quoted commas).
    fn csv_rec(line: &str) -> Record {
        rec(&line.split(',').collect::<Vec<_>>())
    }

    fn rec(vals: &[&str]) -> Record {
        let mut values = Map::new();
        for (h, v) in headers().iter().zip(vals) {
            values.insert(h.clone(), Value::String(v.to_string()));
        }
        Record {
            row: 7,
            span: Span {
                line: 8,
                lines: 1,
                start_byte: 0,
                end_byte: 0,
            },
            values,
            ..Default::default()
        }
    }

    #[test]
    fn auto_plan_maps_sample_columns() {
        let s = sample_schema();
        let p = sample_plan(&s);
        let fields: Vec<&str> = p.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Projects/External Id",
                "Projects/Name",
                "Projects/Project",
                "workflow/state",
                "Projects/Priority",
                "Projects/Tags",
                "Projects/Estimate",
                "Projects/Effort",
                "Projects/Due",
                "Projects/Done"
            ]
        );
        assert_eq!(p.required, ["Projects/Name"]);
        assert_eq!(p.columns[2].lookup.as_deref(), Some("Projects/Name"));
    }

    #[test]
    fn good_row_converts_and_id_is_stable() {
        let s = sample_schema();
        let p = sample_plan(&s);
        let l = lookups();
        let r = rec(&[
            "T-1",
            "Fix it",
            "apollo",
            "Done",
            "High",
            "api, docs",
            "2.5",
            "3",
            "2026-05-01",
            "yes",
        ]);
        let a = prepare(&s, &p, &r, &l).unwrap();
        let b = prepare(&s, &p, &r, &l).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.fields["Projects/Estimate"], "2.5");
        assert_eq!(a.fields["Projects/Effort"], 3);
        assert_eq!(a.fields["Projects/Done"], true);
        assert!(a.fields["Projects/Project"]["fibery/id"].is_string());
        assert_eq!(a.collections[0].0, "Projects/Tags");
        assert_eq!(a.collections[0].1.len(), 2);
    }

    #[test]
    fn bad_rows_are_rejected_with_field_and_reason() {
        let s = sample_schema();
        let p = sample_plan(&s);
        let l = lookups();
        let cases = [
            (
                "T-2,x,Apollo,Open,Low,,1,1,2026-02-30,",
                "Projects/Due",
                Rule::WrongType,
            ),
            (
                "T-3,x,Apollo,Open,Low,,two hours,1,,",
                "Projects/Estimate",
                Rule::WrongType,
            ),
            (
                "T-4,x,Apollo,Open,Urgent,,1,1,,",
                "Projects/Priority",
                Rule::UnknownOption,
            ),
            (
                "T-5,,Apollo,Open,Low,,1,1,,",
                "Projects/Name",
                Rule::Required,
            ),
            (
                "T-6,x,Zeppelin,Open,Low,,1,1,,",
                "Projects/Project",
                Rule::BadReference,
            ),
            (
                "T-7,x,Apollo,Open,Low,,1,1.5,,",
                "Projects/Effort",
                Rule::WrongType,
            ),
            (
                ",x,Apollo,Open,Low,,1,1,,",
                "Projects/External Id",
                Rule::Required,
            ),
        ];
        for (vals, field, rule) in cases {
            let errs = prepare(&s, &p, &csv_rec(vals), &l).unwrap_err();
            assert_eq!(errs[0].field, field, "{vals:?}");
            assert_eq!(errs[0].rule, rule, "{vals:?}");
        }
    }

    #[test]
    fn nul_in_the_key_or_a_text_is_rejected() {
        let s = sample_schema();
        let p = sample_plan(&s);
        let l = lookups();
        for (i, field) in [(0, "Projects/External Id"), (1, "Projects/Name")] {
            let mut vals = ["T-1", "x", "Apollo", "Open", "Low", "", "1", "1", "", ""];
            let with_nul = format!("{}\u{0}", vals[i]);
            vals[i] = &with_nul;
            let errs = prepare(&s, &p, &rec(&vals), &l).unwrap_err();
            assert_eq!(
                (errs[0].field.as_str(), errs[0].rule),
                (field, Rule::WrongType)
            );
        }
    }

    #[test]
    fn mapping_file_and_unknown_columns() {
        let s = sample_schema();
        let m: MappingFile =
            toml::from_str("[columns]\nTitle = \"Projects/Name\"\nJunk = { skip = true }\n")
                .unwrap();
        let h: Vec<String> = ["Title", "Junk"].iter().map(|s| s.to_string()).collect();
        let p = Plan::build(&s, "Projects/Task", &h, Some(&m), None, ",").unwrap();
        assert_eq!(p.columns.len(), 1);
        assert_eq!(p.skipped, ["Junk"]);
        let e = Plan::build(
            &s,
            "Projects/Task",
            &["Estimat".to_string()],
            None,
            None,
            ",",
        )
        .unwrap_err();
        assert!(e.hint.unwrap().contains("Projects/Estimate"));
        let e = Plan::build(&s, "Projects/Tsk", &h, None, None, ",").unwrap_err();
        assert!(e.hint.unwrap().contains("Projects/Task"));
    }

    #[test]
    fn a_wrongly_typed_mapping_column_is_named_with_the_expected_shape() {
        let cases = [
            ("[columns]\nProject = 5\n", "column \"Project\" must be"),
            (
                "[columns]\nProject = { field = 5 }\n",
                "`field` must be a string",
            ),
            (
                "[columns]\nTags = { separator = \"\" }\n",
                "one ASCII character",
            ),
            (
                "[columns]\nNotes = { skip = \"yes\" }\n",
                "`skip` must be true or false",
            ),
            (
                "[columns]\nNotes = { lokup = \"x\" }\n",
                "unknown key `lokup`",
            ),
        ];
        for (text, says) in cases {
            let e = toml::from_str::<MappingFile>(text).unwrap_err();
            assert!(e.message().contains(says), "{text}: {}", e.message());
            assert!(!e.message().contains("untagged"), "{}", e.message());
        }
        let m: MappingFile = toml::from_str(
            "[columns]\nA = \"Projects/Name\"\nB = { field = \"Projects/Tags\", separator = \";\" }\n",
        )
        .unwrap();
        assert_eq!(m.columns["A"], ColumnSpec::Field("Projects/Name".into()));
        assert!(
            matches!(&m.columns["B"], ColumnSpec::Table(t) if t.separator.as_deref() == Some(";"))
        );
    }

    #[test]
    fn long_lists_are_cut_and_separators_are_one_byte() {
        let names: Vec<String> = (0..100_000).map(|i| format!("C{i}")).collect();
        assert_eq!(some_of(&names, 3), "C0, C1, C2 and 99997 more");
        assert_eq!(some_of(&names[..2], 3), "C0, C1");
        for bad in ["", ";;", "；"] {
            assert!(check_separator(bad).is_err(), "{bad:?}");
        }
        assert!(check_separator("|").is_ok());
        let s = sample_schema();
        let e = Plan::build(&s, "Projects/Task", &headers(), None, None, "").unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    }
}
