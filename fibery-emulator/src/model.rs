//! Schema helpers: field classification, system types, value normalisation, errors.

use fibery_core::schema::{FieldDef, FieldMeta, Schema, TypeDef, TypeMeta};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The rich-text document type.
pub(crate) const DOC_TYPE: &str = "Collaboration~Documents/Document";
/// The secret field of a document.
pub(crate) const DOC_SECRET: &str = "Collaboration~Documents/secret";

/// Primitive type names Fibery uses.
pub(crate) const PRIMITIVES: &[&str] = &[
    "fibery/text",
    "fibery/int",
    "fibery/decimal",
    "fibery/bool",
    "fibery/date",
    "fibery/date-time",
    "fibery/date-range",
    "fibery/date-time-range",
    "fibery/email",
    "fibery/url",
    "fibery/uuid",
    "fibery/rank",
    "fibery/json-value",
    "fibery/emoji",
    "fibery/color",
    "fibery/duration",
    "fibery/rich-text",
    "fibery/location",
];

/// A Fibery error payload `{name, message, data}`.
#[derive(Debug, Clone)]
pub(crate) struct FErr {
    pub name: String,
    pub message: String,
    pub data: Value,
}

impl FErr {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        FErr {
            name: name.to_string(),
            message: message.into(),
            data: json!({}),
        }
    }
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
    pub fn to_json(&self) -> Value {
        json!({"name": self.name, "message": self.message, "data": self.data})
    }
    pub fn type_not_found(t: &str) -> Self {
        FErr::new(
            "entity.error/schema-type-not-found",
            format!("\"{t}\" database was not found."),
        )
        .with_data(json!({"type": t}))
    }
    pub fn field_not_found(t: &str, f: &str) -> Self {
        FErr::new(
            "entity.error/schema-field-not-found",
            format!("\"{f}\" field was not found in \"{t}\" database."),
        )
        .with_data(json!({"type": t, "field": f}))
    }
    pub fn parse_field(t: &str, f: &str, why: &str) -> Self {
        FErr::new(
            "entity.error/parse-entity-field-failed",
            format!("Cannot parse \"{t}\" entity \"{f}\" field. {why}"),
        )
        .with_data(json!({"type": t, "field": f}))
    }
    pub fn bad_args(message: impl Into<String>) -> Self {
        FErr::new("command.error/invalid-args", message)
    }
}

/// What kind of value a field holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A scalar of the given primitive type.
    Primitive(String),
    /// A rich-text document (value = secret).
    RichText,
    /// A reference to one entity of the target type.
    Single(String),
    /// A collection of entities of the target type.
    Collection(String),
}

pub(crate) fn is_primitive_type(schema: &Schema, name: &str) -> bool {
    PRIMITIVES.contains(&name) || find_type(schema, name).is_some_and(|t| t.meta.primitive)
}

pub(crate) fn kind_of(schema: &Schema, f: &FieldDef) -> Kind {
    if f.type_name == DOC_TYPE {
        Kind::RichText
    } else if is_primitive_type(schema, &f.type_name) {
        Kind::Primitive(f.type_name.clone())
    } else if f.meta.collection {
        Kind::Collection(f.type_name.clone())
    } else {
        Kind::Single(f.type_name.clone())
    }
}

pub(crate) fn find_type<'a>(schema: &'a Schema, name: &str) -> Option<&'a TypeDef> {
    schema.types.iter().find(|t| t.name == name && !t.deleted)
}

pub(crate) fn find_type_mut<'a>(schema: &'a mut Schema, name: &str) -> Option<&'a mut TypeDef> {
    schema
        .types
        .iter_mut()
        .find(|t| t.name == name && !t.deleted)
}

pub(crate) fn find_field<'a>(t: &'a TypeDef, name: &str) -> Option<&'a FieldDef> {
    t.fields.iter().find(|f| f.name == name && !f.deleted)
}

/// The field def or a Fibery-shaped error.
pub(crate) fn field<'a>(schema: &'a Schema, ty: &str, name: &str) -> Result<&'a FieldDef, FErr> {
    let t = find_type(schema, ty).ok_or_else(|| FErr::type_not_found(ty))?;
    find_field(t, name).ok_or_else(|| FErr::field_not_found(ty, name))
}

/// The other end of a relation field: (target type, field name, is collection).
pub(crate) fn inverse(schema: &Schema, ty: &str, f: &FieldDef) -> Option<(String, String, bool)> {
    let rel = f.meta.relation.as_ref()?;
    let target = find_type(schema, &f.type_name)?;
    target
        .fields
        .iter()
        .find(|g| {
            !g.deleted
                && g.meta.relation.as_ref() == Some(rel)
                && !(target.name == ty && g.name == f.name)
        })
        .map(|g| (target.name.clone(), g.name.clone(), g.meta.collection))
}

/// Fields whose values are system-managed and never writable by clients.
pub(crate) fn is_system_readonly(f: &FieldDef) -> bool {
    let flag = |k: &str| {
        f.meta
            .extra
            .get(k)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    f.name == "fibery/public-id"
        || f.name == "fibery/creation-date"
        || f.name == "fibery/modification-date"
        || flag("fibery/public-id?")
        || flag("fibery/creation-date?")
        || flag("fibery/modification-date?")
}

/// Current time in Fibery's format.
pub(crate) fn format_ts(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn parse_date(s: &str) -> Option<String> {
    let fmt = format_description!("[year]-[month]-[day]");
    if time::Date::parse(s, &fmt).is_ok() {
        return Some(s.to_string());
    }
    // Clients (n8n) send full ISO date-times for date fields; keep the date part.
    parse_date_time(s).map(|t| {
        let d = t.to_offset(time::UtcOffset::UTC).date();
        d.format(&fmt).unwrap_or_default()
    })
}

fn decimal_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else {
                n.as_f64().filter(|f| f.is_finite()).map(|f| f.to_string())
            }
        }
        Value::String(s) => {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|_| t.to_string())
        }
        _ => None,
    }
}

/// Checks and normalises a primitive value for storage; `Err` carries a reason.
pub(crate) fn normalize_primitive(ty: &str, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let want = |what: &str| Err(format!("Expected {what}, got {v}."));
    match ty {
        "fibery/text" | "fibery/email" | "fibery/url" | "fibery/emoji" | "fibery/color"
        | "fibery/rich-text" | "fibery/duration" => match v {
            Value::String(_) => Ok(v.clone()),
            _ => want("a string"),
        },
        "fibery/uuid" => match v.as_str() {
            Some(s) if uuid::Uuid::parse_str(s).is_ok() => Ok(v.clone()),
            _ => want("a UUID string"),
        },
        "fibery/int" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Ok(json!(n.as_f64().unwrap_or_default() as i64))
            }
            _ => want("an integer"),
        },
        "fibery/decimal" => decimal_string(v)
            .map(Value::String)
            .ok_or_else(|| format!("Expected a decimal, got {v}.")),
        "fibery/rank" => match v {
            Value::Number(_) => Ok(v.clone()),
            _ => want("a number"),
        },
        "fibery/bool" => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => want("a boolean"),
        },
        "fibery/date" => match v.as_str().and_then(parse_date) {
            Some(d) => Ok(Value::String(d)),
            None => want("a date YYYY-MM-DD"),
        },
        "fibery/date-time" => match v.as_str().and_then(parse_date_time) {
            Some(t) => Ok(Value::String(format_ts(t))),
            None => want("an ISO-8601 date-time"),
        },
        "fibery/date-range" | "fibery/date-time-range" => {
            let inner = if ty == "fibery/date-range" {
                "fibery/date"
            } else {
                "fibery/date-time"
            };
            let obj = match v.as_object() {
                Some(o) => o,
                None => return want("an object {start, end}"),
            };
            let mut out = Map::new();
            for k in ["start", "end"] {
                let x = obj.get(k).cloned().unwrap_or(Value::Null);
                out.insert(k.into(), normalize_primitive(inner, &x)?);
            }
            Ok(Value::Object(out))
        }
        "fibery/location" => match v {
            Value::Object(_) => Ok(v.clone()),
            _ => want("a location object"),
        },
        _ => Ok(v.clone()),
    }
}

fn fd(name: &str, ty: &str, meta: Value) -> FieldDef {
    let meta: FieldMeta = serde_json::from_value(meta).unwrap_or_default();
    FieldDef {
        id: Some(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()),
        name: name.into(),
        type_name: ty.into(),
        deleted: false,
        meta,
    }
}

/// The five mandatory fields of a domain type (plus nothing else).
pub(crate) fn mandatory_fields(title: Option<&str>) -> Vec<FieldDef> {
    let mut v = vec![
        fd(
            "fibery/id",
            "fibery/uuid",
            json!({"fibery/secured?": false, "fibery/id?": true, "fibery/readonly?": true}),
        ),
        fd(
            "fibery/public-id",
            "fibery/text",
            json!({"fibery/secured?": false, "fibery/public-id?": true, "fibery/readonly?": true}),
        ),
        fd(
            "fibery/creation-date",
            "fibery/date-time",
            json!({"fibery/secured?": false, "fibery/creation-date?": true, "fibery/readonly?": true, "fibery/default-value": "$now"}),
        ),
        fd(
            "fibery/modification-date",
            "fibery/date-time",
            json!({"fibery/secured?": false, "fibery/modification-date?": true, "fibery/required?": true, "fibery/readonly?": true, "fibery/default-value": "$now"}),
        ),
    ];
    if let Some(t) = title {
        v.push(fd(
            t,
            "fibery/text",
            json!({"fibery/secured?": false, "ui/title?": true}),
        ));
    }
    v
}

fn sys_type(name: &str, meta: Value, fields: Vec<FieldDef>) -> TypeDef {
    TypeDef {
        id: Some(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()),
        name: name.into(),
        deleted: false,
        description: None,
        meta: serde_json::from_value::<TypeMeta>(meta).unwrap_or_default(),
        fields,
    }
}

/// An enum type definition (`enum/name`, `fibery/rank`, ...).
pub(crate) fn enum_type(name: &str, meta: Option<&Value>) -> TypeDef {
    let mut m = json!({"fibery/enum?": true, "fibery/type-component?": true, "app/mixins": {"fibery/rank-mixin": true}});
    if let (Some(Value::Object(extra)), Some(obj)) = (meta, m.as_object_mut()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    let mut fields = mandatory_fields(Some("enum/name"));
    fields.push(fd("enum/color", "fibery/color", json!({})));
    fields.push(fd("enum/icon", "fibery/emoji", json!({})));
    fields.push(fd("fibery/rank", "fibery/rank", json!({})));
    if name.starts_with("workflow/state_") {
        fields.push(fd(
            "workflow/Final",
            "fibery/bool",
            json!({"fibery/default-value": false}),
        ));
    }
    sys_type(name, m, fields)
}

/// Adds the system and primitive types a client may introspect, when missing.
pub(crate) fn ensure_system_types(schema: &mut Schema) {
    for p in PRIMITIVES {
        if find_type(schema, p).is_none() {
            schema
                .types
                .push(sys_type(p, json!({"fibery/primitive?": true}), vec![]));
        }
    }
    if find_type(schema, "fibery/user").is_none() {
        let mut f = mandatory_fields(Some("user/name"));
        f.push(fd(
            "user/email",
            "fibery/email",
            json!({"fibery/readonly?": true, "fibery/unique?": true}),
        ));
        f.push(fd("fibery/active?", "fibery/bool", json!({})));
        f.push(fd("fibery/admin?", "fibery/bool", json!({})));
        schema.types.push(sys_type(
            "fibery/user",
            json!({"fibery/secured?": false}),
            f,
        ));
    }
    if find_type(schema, "fibery/file").is_none() {
        let mut f = mandatory_fields(Some("fibery/name"));
        f.push(fd("fibery/content-type", "fibery/text", json!({})));
        f.push(fd(
            "fibery/secret",
            "fibery/text",
            json!({"fibery/readonly?": true}),
        ));
        f.push(fd("fibery/content-length", "fibery/int", json!({})));
        schema.types.push(sys_type("fibery/file", json!({}), f));
    }
    if find_type(schema, DOC_TYPE).is_none() {
        let f = vec![
            fd(
                "fibery/id",
                "fibery/uuid",
                json!({"fibery/id?": true, "fibery/readonly?": true}),
            ),
            fd(DOC_SECRET, "fibery/uuid", json!({"fibery/readonly?": true})),
        ];
        schema.types.push(sys_type(
            DOC_TYPE,
            json!({"fibery/entity-component?": true}),
            f,
        ));
    }
}

/// Mixin install: fields added to the holder type, plus an optional enum type.
pub(crate) fn install_mixin(schema: &mut Schema, ty: &str, mixin: &str) -> Result<(), FErr> {
    let mut new_types = vec![];
    let fields: Vec<FieldDef> = match mixin {
        "fibery/rank-mixin" => vec![fd("fibery/rank", "fibery/rank", json!({}))],
        "Files/Files-mixin" => vec![fd(
            "Files/Files",
            "fibery/file",
            json!({"fibery/collection?": true, "fibery/entity-component?": true}),
        )],
        "assignments/assignments-mixin" => vec![fd(
            "assignments/assignees",
            "fibery/user",
            json!({"fibery/collection?": true, "fibery/relation": uuid::Uuid::new_v4().to_string()}),
        )],
        "comments/comments-mixin" => vec![fd(
            "comments/comments",
            "comments/comment",
            json!({"fibery/collection?": true, "fibery/entity-component?": true}),
        )],
        "workflow/workflow" => {
            let en = format!("workflow/state_{ty}");
            if find_type(schema, &en).is_none() {
                new_types.push(enum_type(&en, None));
            }
            vec![fd(
                "workflow/state",
                &en,
                json!({"fibery/required?": false}),
            )]
        }
        "avatar/avatar-mixin" => vec![fd(
            "avatar/avatars",
            "fibery/file",
            json!({"fibery/collection?": true}),
        )],
        "icon/icon-mixin" => vec![fd("icon/icon", "fibery/emoji", json!({}))],
        _ => vec![],
    };
    if mixin == "comments/comments-mixin" && find_type(schema, "comments/comment").is_none() {
        let mut f = mandatory_fields(None);
        f.push(fd("comment/author", "fibery/user", json!({})));
        f.push(fd("comment/document-secret", "fibery/uuid", json!({})));
        new_types.push(sys_type("comments/comment", json!({}), f));
    }
    let t = find_type_mut(schema, ty).ok_or_else(|| FErr::type_not_found(ty))?;
    t.meta.mixins.insert(mixin.to_string(), true);
    for f in fields {
        if !t.fields.iter().any(|g| g.name == f.name && !g.deleted) {
            t.fields.push(f);
        }
    }
    schema.types.extend(new_types);
    Ok(())
}
