//! Schema lookups: types, fields, what kind of value a field holds, relation ends.

use fibery_core::error::FiberyError;
use fibery_core::schema::{FieldDef, Schema, TypeDef};
use serde_json::Value;

use crate::error;

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

/// Whether values of primitive type `ty` compare as numbers.
pub(crate) fn is_numeric(ty: &str) -> bool {
    matches!(ty, "fibery/int" | "fibery/decimal" | "fibery/rank")
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
pub(crate) fn field<'a>(
    schema: &'a Schema,
    ty: &str,
    name: &str,
) -> Result<&'a FieldDef, FiberyError> {
    let t = find_type(schema, ty).ok_or_else(|| error::type_not_found(ty))?;
    find_field(t, name).ok_or_else(|| error::field_not_found(ty, name))
}

/// The field def (mutable) or a Fibery-shaped error.
pub(crate) fn field_mut<'a>(
    schema: &'a mut Schema,
    ty: &str,
    name: &str,
) -> Result<&'a mut FieldDef, FiberyError> {
    let t = find_type_mut(schema, ty).ok_or_else(|| error::type_not_found(ty))?;
    t.fields
        .iter_mut()
        .find(|f| f.name == name && !f.deleted)
        .ok_or_else(|| error::field_not_found(ty, name))
}

/// Whether a type has this (live) field.
pub(crate) fn has_field(schema: &Schema, ty: &str, name: &str) -> bool {
    find_type(schema, ty)
        .and_then(|t| find_field(t, name))
        .is_some()
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

/// The schema as `fibery.schema/query` and `GET /api/schema` serve it: soft-deleted types and
/// fields hidden unless asked for, descriptions only when asked for.
pub(crate) fn public_schema(
    schema: &Schema,
    with_description: bool,
    with_soft_deleted: bool,
) -> Value {
    let mut s = schema.clone();
    if !with_soft_deleted {
        s.types.retain(|t| !t.deleted);
        for t in &mut s.types {
            t.fields.retain(|f| !f.deleted);
        }
    }
    if !with_description {
        for t in &mut s.types {
            t.description = None;
        }
    }
    serde_json::to_value(&s).unwrap_or(Value::Null)
}

/// The live type (mutable) or `entity.error/schema-type-not-found`.
pub(crate) fn type_mut<'a>(
    schema: &'a mut Schema,
    name: &str,
) -> Result<&'a mut TypeDef, FiberyError> {
    find_type_mut(schema, name).ok_or_else(|| error::type_not_found(name))
}
