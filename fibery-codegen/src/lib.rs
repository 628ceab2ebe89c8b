//! Generates Rust structs from a Fibery workspace schema.
//!
//! [`generate`] turns selected types of a [`Schema`] (as returned by `fibery.schema/query`)
//! into Rust source: one struct per type with `#[derive(FiberyEntity, Validate, Debug, Clone,
//! PartialEq, Serialize, Deserialize)]`, idiomatic snake_case field names, `Option` for fields
//! the schema does not require, and validator rules the schema implies (`email`, `url`,
//! `length(min = 1)` on required text). Every path goes through the hidden re-exports of the
//! client crate (`::fibery_client::__private::{serde, validator, uuid, fibery_derive}`), so the
//! user crate needs no other dependency.
//!
//! The same generator backs the `fibery_derive::schema!` macro and the `fibery codegen`
//! command of the CLI.
//!
//! ```
//! use fibery_codegen::{Options, generate};
//! use fibery_core::schema::Schema;
//!
//! let schema: Schema = serde_json::from_value(serde_json::json!({
//!     "fibery/version": 1,
//!     "fibery/types": [
//!         {"fibery/name": "fibery/text", "fibery/meta": {"fibery/primitive?": true}},
//!         {"fibery/name": "fibery/uuid", "fibery/meta": {"fibery/primitive?": true}},
//!         {"fibery/name": "Crm/Contact", "fibery/meta": {"fibery/domain?": true},
//!          "fibery/fields": [
//!             {"fibery/name": "fibery/id", "fibery/type": "fibery/uuid",
//!              "fibery/meta": {"fibery/readonly?": true}},
//!             {"fibery/name": "Crm/Name", "fibery/type": "fibery/text",
//!              "fibery/meta": {"ui/title?": true, "fibery/required?": true}},
//!             {"fibery/name": "Crm/Email", "fibery/type": "fibery/text",
//!              "fibery/meta": {"ui/type": "email"}}
//!          ]}
//!     ]
//! }))
//! .unwrap();
//!
//! let code = generate(&schema, &["Crm/Contact"], &Options::default()).unwrap();
//! assert!(code.contains("pub struct Contact {"));
//! assert!(code.contains("#[fibery(field = \"Crm/Email\")]"));
//! assert!(code.contains("#[validate(email)]"));
//! assert!(code.contains("pub name: String,"));
//! assert!(code.contains("pub email: ::std::option::Option<String>,"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use fibery_core::schema::{FieldDef, FieldType, PrimitiveType, Schema, TypeDef};
use heck::{ToSnakeCase, ToUpperCamelCase};

/// Reads enum options from JSON of the shape
/// `{"Projects/Priority_Projects/Task": [{"enum/name": "Low"}, "Medium", ..], ..}` (option
/// objects, as a query of the enum type returns them, or bare names; the emulator's seed
/// files use this shape) for [`Options::enum_options`].
pub fn enum_options_from_json(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let obj = v.as_object().ok_or("expected an object of enum types")?;
    let mut out = BTreeMap::new();
    for (enum_type, options) in obj {
        let list = options
            .as_array()
            .ok_or_else(|| format!("`{enum_type}`: expected an array of options"))?;
        let names = list
            .iter()
            .map(|o| {
                o.as_str()
                    .or_else(|| o.get("enum/name").and_then(|n| n.as_str()))
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{enum_type}`: an option without `enum/name`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(enum_type.clone(), names);
    }
    Ok(out)
}

/// What [`generate`] can fail on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodegenError {
    /// A requested type is not in the schema.
    #[error("type `{name}` is not in the schema{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownType {
        /// The requested name.
        name: String,
        /// The closest existing type name.
        suggestion: Option<String>,
    },
    /// A requested type is a primitive or an enum type, not a database.
    #[error("type `{0}` is a primitive or enum type, not a database")]
    NotAnEntityType(String),
    /// No type was requested.
    #[error("no types requested")]
    NoTypes,
    /// The same type was requested twice.
    #[error("type `{0}` was requested more than once")]
    DuplicateType(String),
}

/// Generation options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The path of the crate that provides `__private` re-exports (default `::fibery_client`).
    pub crate_path: String,
    /// Include read-only fields (formulas, lookups) as `#[fibery(readonly)]` options
    /// (default `true`). System fields other than `fibery/id` are never generated.
    pub include_readonly: bool,
    /// Derive `serde::Serialize` and `serde::Deserialize` (default `true`).
    pub serde: bool,
    /// Option names per enum type (`Projects/Priority_Projects/Task` -> `["Low", ..]`): a
    /// select whose enum type is listed becomes a generated Rust enum (`FiberyEnum`) instead
    /// of `String` (the schema itself does not carry options). See [`enum_options_from_json`].
    pub enum_options: BTreeMap<String, Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            crate_path: "::fibery_client".to_owned(),
            include_readonly: true,
            serde: true,
            enum_options: BTreeMap::new(),
        }
    }
}

impl Options {
    /// Sets [`Options::crate_path`].
    pub fn crate_path(mut self, path: impl Into<String>) -> Self {
        self.crate_path = path.into();
        self
    }

    /// Sets [`Options::include_readonly`].
    pub fn include_readonly(mut self, yes: bool) -> Self {
        self.include_readonly = yes;
        self
    }

    /// Sets [`Options::enum_options`].
    pub fn enum_options(mut self, options: BTreeMap<String, Vec<String>>) -> Self {
        self.enum_options = options;
        self
    }

    /// Sets [`Options::serde`].
    pub fn serde(mut self, yes: bool) -> Self {
        self.serde = yes;
        self
    }
}

/// Generates Rust source for the given types of `schema` (see the crate docs).
pub fn generate<S: AsRef<str>>(
    schema: &Schema,
    types: &[S],
    options: &Options,
) -> Result<String, CodegenError> {
    if types.is_empty() {
        return Err(CodegenError::NoTypes);
    }
    let mut defs: Vec<&TypeDef> = Vec::new();
    for name in types {
        let name = name.as_ref();
        let Some(def) = schema.type_def(name) else {
            return Err(CodegenError::UnknownType {
                name: name.to_owned(),
                suggestion: schema.suggest_type(name).map(str::to_owned),
            });
        };
        if def.meta.primitive || def.meta.is_enum {
            return Err(CodegenError::NotAnEntityType(name.to_owned()));
        }
        if defs.iter().any(|d| d.name == def.name) {
            return Err(CodegenError::DuplicateType(name.to_owned()));
        }
        defs.push(def);
    }
    let struct_names = struct_names(&defs);
    let mut out = String::new();
    out.push_str(
        "// Generated by fibery-codegen from the workspace schema. Do not edit by hand.\n",
    );
    for (def, struct_name) in defs.iter().zip(&struct_names) {
        out.push('\n');
        write_struct(&mut out, schema, def, struct_name, options);
    }
    Ok(out)
}

/// `Projects/Task` -> `Task`; `ProjectsTask` when two requested types share the last part.
fn struct_names(defs: &[&TypeDef]) -> Vec<String> {
    let local = |d: &TypeDef| {
        let l = d.name.split_once('/').map_or(d.name.as_str(), |(_, l)| l);
        ident_camel(l)
    };
    defs.iter()
        .map(|d| {
            let mine = local(d);
            if defs
                .iter()
                .filter(|o| o.name != d.name)
                .any(|o| local(o) == mine)
            {
                ident_camel(&d.name.replace('/', " "))
            } else {
                mine
            }
        })
        .collect()
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

fn sanitize(s: &str, fallback: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_owned();
    let mut out = if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, fallback);
        out.insert(fallback.len(), '_');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

fn ident_snake(s: &str) -> String {
    sanitize(&s.replace('~', " ").to_snake_case(), "field")
}

fn ident_camel(s: &str) -> String {
    let mut camel: String = s
        .replace('~', " ")
        .to_upper_camel_case()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if camel.is_empty() || camel.starts_with(|c: char| c.is_ascii_digit()) || camel == "Self" {
        camel.insert_str(0, "Type");
    }
    camel
}

/// How one Fibery field becomes a Rust field.
struct Plan {
    attr: String,
    ty: String,
    /// Whether `ty` implements `Default` (dates and date ranges do not; `Option`s do).
    default: bool,
    /// The options of a select generated as an enum; `ty` then names it `{ENUM}`.
    options: Option<Vec<String>>,
    validate: Vec<&'static str>,
    doc: String,
}

fn plan_field(schema: &Schema, f: &FieldDef, o: &Options) -> Option<Plan> {
    let krate = &o.crate_path;
    let name = lit(&f.name);
    let ft = f.field_type(schema);
    let readonly = f.is_readonly();
    if f.name == "fibery/id" {
        return Some(Plan {
            attr: "id".to_owned(),
            ty: format!("::std::option::Option<{krate}::__private::uuid::Uuid>"),
            default: true,
            options: None,
            validate: vec![],
            doc: "The entity id (`fibery/id`); `None` until created.".to_owned(),
        });
    }
    // System fields (public id, dates, creator, rank) and platform components.
    if f.name.starts_with("fibery/") || f.name.starts_with("Collaboration~Documents/") {
        return None;
    }
    if readonly && !o.include_readonly {
        return None;
    }
    let required = f.meta.required && f.meta.default_value.is_none() && !readonly;
    let wrap = |t: String| {
        if required {
            t
        } else {
            format!("::std::option::Option<{t}>")
        }
    };
    let ro = if readonly { ", readonly" } else { "" };
    let entity_ref = format!("{krate}::__private::fibery_core::entity::EntityRef");
    let ui_type = f.meta.extra.get("ui/type").and_then(|v| v.as_str());
    let (attr, ty, validate, what) = match &ft {
        FieldType::Primitive(p) => {
            let (t, v) = primitive_rust_type(p, ui_type, required, krate);
            let what = match ui_type {
                Some(u) if *p == PrimitiveType::Text => format!("`{p}` ({u})"),
                _ => format!("`{p}`"),
            };
            (format!("field = {name}{ro}"), wrap(t), v, what)
        }
        FieldType::RichText => (
            format!("rich_text = {name}, format = \"md\"{ro}"),
            "::std::option::Option<String>".to_owned(),
            vec![],
            "rich text (Markdown)".to_owned(),
        ),
        FieldType::File { collection: true } => (
            format!("files = {name}{ro}"),
            format!("::std::vec::Vec<{entity_ref}>"),
            vec![],
            "files".to_owned(),
        ),
        FieldType::File { collection: false } => return None,
        FieldType::Relation { collection, .. } | FieldType::User { collection } => {
            if f.meta.entity_component {
                return None; // comments and other owned components
            }
            let target = match &ft {
                FieldType::Relation { target, .. } => target.as_str(),
                _ => "fibery/user",
            };
            if *collection {
                (
                    format!("relation = {name}{ro}"),
                    format!("::std::vec::Vec<{entity_ref}>"),
                    vec![],
                    format!("collection of `{target}`"),
                )
            } else {
                (
                    format!("relation = {name}{ro}"),
                    wrap(entity_ref.clone()),
                    vec![],
                    format!("relation to `{target}`"),
                )
            }
        }
        FieldType::SingleSelect { enum_type } | FieldType::WorkflowState { enum_type } => (
            format!("enum_field = {name}{ro}"),
            wrap(select_type(o, enum_type)),
            vec![],
            format!("option name of `{enum_type}`"),
        ),
        FieldType::MultiSelect { enum_type } => (
            format!("enum_field = {name}{ro}"),
            format!("::std::vec::Vec<{}>", select_type(o, enum_type)),
            vec![],
            format!("option names of `{enum_type}`"),
        ),
        // Unknown and future kinds get no field.
        _ => return None,
    };
    let options = ft
        .enum_type()
        .and_then(|t| o.enum_options.get(t))
        .filter(|names| !names.is_empty())
        .cloned();
    Some(Plan {
        attr,
        options,
        default: !required || has_default(&ft),
        ty,
        validate,
        doc: format!("`{}`: {what}{}.", f.name, flags_note(f, required, readonly)),
    })
}

/// The doc comment's flags, e.g. " (required, unique)"; empty without any.
fn flags_note(f: &FieldDef, required: bool, readonly: bool) -> String {
    let flags: Vec<&str> = [
        (required, "required"),
        (f.meta.unique, "unique"),
        (f.meta.title, "title"),
        (readonly, "read-only"),
    ]
    .into_iter()
    .filter_map(|(on, flag)| on.then_some(flag))
    .collect();
    if flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", flags.join(", "))
    }
}

/// Whether the plain (required) Rust type of a field has a `Default`: dates and single
/// relations do not.
fn has_default(ft: &FieldType) -> bool {
    !matches!(
        ft,
        FieldType::Primitive(
            PrimitiveType::Date
                | PrimitiveType::DateTime
                | PrimitiveType::DateRange
                | PrimitiveType::DateTimeRange
        ) | FieldType::Relation {
            collection: false,
            ..
        } | FieldType::User { collection: false }
    )
}

/// The Rust type of one option of a select: its generated enum (named later) when the
/// options are known, else the option name.
fn select_type(o: &Options, enum_type: &str) -> String {
    match o.enum_options.get(enum_type) {
        Some(names) if !names.is_empty() => "{ENUM}".to_owned(),
        _ => "String".to_owned(),
    }
}

/// The Rust type of a primitive and its `validator` rules (`email`, `url`, `length`).
fn primitive_rust_type(
    p: &PrimitiveType,
    ui_type: Option<&str>,
    required: bool,
    krate: &str,
) -> (String, Vec<&'static str>) {
    match p {
        PrimitiveType::Int => ("i64".into(), vec![]),
        PrimitiveType::Decimal | PrimitiveType::Rank => ("f64".into(), vec![]),
        PrimitiveType::Bool => ("bool".into(), vec![]),
        PrimitiveType::Uuid => (format!("{krate}::__private::uuid::Uuid"), vec![]),
        PrimitiveType::Date => (format!("{krate}::__private::time::Date"), vec![]),
        PrimitiveType::DateTime => (format!("{krate}::__private::time::OffsetDateTime"), vec![]),
        PrimitiveType::DateRange => (
            format!("{krate}::__private::fibery_core::dates::DateRange"),
            vec![],
        ),
        PrimitiveType::DateTimeRange => (
            format!("{krate}::__private::fibery_core::dates::DateTimeRange"),
            vec![],
        ),
        PrimitiveType::JsonValue | PrimitiveType::Location => {
            (format!("{krate}::__private::serde_json::Value"), vec![])
        }
        PrimitiveType::Email => ("String".into(), vec!["email"]),
        PrimitiveType::Url => ("String".into(), vec!["url"]),
        PrimitiveType::Text => {
            let mut v = match ui_type {
                Some("email") => vec!["email"],
                Some("url") => vec!["url"],
                _ => vec![],
            };
            if required {
                v.push("length(min = 1)");
            }
            ("String".into(), v)
        }
        _ => ("String".into(), vec![]),
    }
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn write_struct(out: &mut String, schema: &Schema, def: &TypeDef, name: &str, o: &Options) {
    let krate = &o.crate_path;
    let p = format!("{krate}::__private");
    // Rust field names: the part after the namespace, snake_case; namespace-prefixed on clash.
    let fields: Vec<(&FieldDef, Plan)> = def
        .live_fields()
        .filter_map(|f| plan_field(schema, f, o).map(|p| (f, p)))
        .collect();
    let mut derives = vec![
        format!("{p}::fibery_derive::FiberyEntity"),
        format!("{p}::validator::Validate"),
        "::std::fmt::Debug".to_owned(),
        "::std::clone::Clone".to_owned(),
        "::std::cmp::PartialEq".to_owned(),
    ];
    if fields.iter().all(|(_, plan)| plan.default) {
        derives.push("::std::default::Default".to_owned());
    }
    if o.serde {
        derives.push(format!("{p}::serde::Serialize"));
        derives.push(format!("{p}::serde::Deserialize"));
    }
    let _ = writeln!(out, "/// The Fibery type `{}`.", def.name);
    let _ = writeln!(out, "#[derive({})]", derives.join(", "));
    let _ = writeln!(
        out,
        "#[fibery(type = {}, crate = {})]",
        lit(&def.name),
        lit(krate)
    );
    let _ = writeln!(
        out,
        "#[validate(crate = {})]",
        lit(&format!("{p}::validator"))
    );
    if o.serde {
        let _ = writeln!(out, "#[serde(crate = {})]", lit(&format!("{p}::serde")));
    }
    let _ = writeln!(out, "pub struct {name} {{");
    let local = |f: &FieldDef| {
        if f.name == "fibery/id" {
            return "id".to_owned();
        }
        ident_snake(f.name.split_once('/').map_or(f.name.as_str(), |(_, l)| l))
    };
    let mut used = BTreeSet::new();
    let mut enums = Vec::new();
    for (f, plan) in &fields {
        let mut ident = local(f);
        let clashes = fields
            .iter()
            .filter(|(g, _)| g.name != f.name && local(g) == ident)
            .count()
            > 0;
        if clashes {
            ident = ident_snake(&f.name.replace('/', " "));
        }
        while !used.insert(ident.clone()) {
            ident.push('_');
        }
        let _ = writeln!(out, "    /// {}", plan.doc);
        let _ = writeln!(out, "    #[fibery({})]", plan.attr);
        for v in &plan.validate {
            let _ = writeln!(out, "    #[validate({v})]");
        }
        let ty = match &plan.options {
            Some(names) => {
                let enum_name = format!("{name}{}", ident_camel(&ident));
                enums.push((enum_name.clone(), f.name.clone(), names.clone()));
                plan.ty.replace("{ENUM}", &enum_name)
            }
            None => plan.ty.clone(),
        };
        let _ = writeln!(out, "    pub {ident}: {ty},");
    }
    out.push_str("}\n");
    for (enum_name, field, names) in enums {
        write_enum(out, &enum_name, &field, &names, o);
    }
}

/// A unit enum deriving `FiberyEnum` for the options of select `field`; its first option is
/// the `Default`.
fn write_enum(out: &mut String, name: &str, field: &str, options: &[String], o: &Options) {
    let p = format!("{}::__private", o.crate_path);
    let mut derives = vec![
        format!("{p}::fibery_derive::FiberyEnum"),
        "::std::fmt::Debug".to_owned(),
        "::std::clone::Clone".to_owned(),
        "::std::marker::Copy".to_owned(),
        "::std::cmp::PartialEq".to_owned(),
        "::std::cmp::Eq".to_owned(),
        "::std::hash::Hash".to_owned(),
        "::std::default::Default".to_owned(),
    ];
    if o.serde {
        derives.push(format!("{p}::serde::Serialize"));
        derives.push(format!("{p}::serde::Deserialize"));
    }
    let _ = writeln!(out, "\n/// The options of `{field}`.");
    let _ = writeln!(out, "#[derive({})]", derives.join(", "));
    if o.serde {
        let _ = writeln!(out, "#[serde(crate = {})]", lit(&format!("{p}::serde")));
    }
    let _ = writeln!(out, "pub enum {name} {{");
    let mut used = BTreeSet::new();
    for (i, option) in options.iter().enumerate() {
        let mut variant = ident_camel(option);
        while !used.insert(variant.clone()) {
            variant.push('_');
        }
        let _ = writeln!(out, "    /// `{option}`");
        if i == 0 {
            out.push_str("    #[default]\n");
        }
        let _ = writeln!(out, "    #[fibery(name = {})]", lit(option));
        if o.serde {
            let _ = writeln!(out, "    #[serde(rename = {})]", lit(option));
        }
        let _ = writeln!(out, "    {variant},");
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert_eq!(ident_snake("External Id"), "external_id");
        assert_eq!(ident_snake("Type"), "type_");
        assert_eq!(ident_snake("2nd Owner"), "field_2nd_owner");
        assert_eq!(ident_snake("Days Left (calc)"), "days_left_calc");
        assert_eq!(ident_snake("Recent~Item"), "recent_item");
        assert_eq!(ident_snake("!!!"), "field");
        assert_eq!(ident_camel("Task"), "Task");
        assert_eq!(ident_camel("Product Feature"), "ProductFeature");
        assert_eq!(ident_camel("Self"), "TypeSelf");
        assert_eq!(ident_camel("3D Model"), "Type3dModel");
    }
}
