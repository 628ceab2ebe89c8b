//! How the CLI sees a field: which kind of value it takes and how to write it.

use fibery_core::schema::{FieldDef, FieldType, PrimitiveType, Schema, TypeDef};

/// The kind of a writable (or readable) field, as far as import/export cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// `fibery/text`, `fibery/email`, `fibery/url`, `fibery/emoji`, `fibery/color`.
    Text,
    /// `fibery/int`.
    Int,
    /// `fibery/decimal` (written and read as a string).
    Decimal,
    /// `fibery/bool`.
    Bool,
    /// `fibery/date` (`YYYY-MM-DD`).
    Date,
    /// `fibery/date-time` (RFC 3339, written as UTC with milliseconds).
    DateTime,
    /// `fibery/uuid`.
    Uuid,
    /// Any other primitive (ranges, json, location, rank): passed through as JSON.
    OtherPrimitive(String),
    /// A rich-text document.
    RichText,
    /// Files.
    File,
    /// A single-select, multi-select or workflow state: written by option id, looked up by name.
    Enum {
        /// The enum type, e.g. `Projects/Priority_Projects/Task`.
        enum_type: String,
        /// Multi-select.
        multi: bool,
    },
    /// A relation to another type (also `fibery/user`).
    Relation {
        /// The target type.
        target: String,
        /// To-many.
        collection: bool,
    },
}

impl FieldKind {
    /// Classifies a field of the schema (via `fibery_core`'s [`FieldType`]).
    pub fn of(schema: &Schema, field: &FieldDef) -> FieldKind {
        match field.field_type(schema) {
            FieldType::Primitive(p) => match p {
                PrimitiveType::Text
                | PrimitiveType::Email
                | PrimitiveType::Url
                | PrimitiveType::Emoji
                | PrimitiveType::Color => FieldKind::Text,
                PrimitiveType::Int => FieldKind::Int,
                PrimitiveType::Decimal => FieldKind::Decimal,
                PrimitiveType::Bool => FieldKind::Bool,
                PrimitiveType::Date => FieldKind::Date,
                PrimitiveType::DateTime => FieldKind::DateTime,
                PrimitiveType::Uuid => FieldKind::Uuid,
                other => FieldKind::OtherPrimitive(other.name().to_string()),
            },
            FieldType::RichText => FieldKind::RichText,
            FieldType::File { .. } => FieldKind::File,
            FieldType::User { collection } => FieldKind::Relation {
                target: "fibery/user".into(),
                collection,
            },
            FieldType::Relation { target, collection } => {
                FieldKind::Relation { target, collection }
            }
            FieldType::SingleSelect { enum_type } | FieldType::WorkflowState { enum_type } => {
                FieldKind::Enum {
                    enum_type,
                    multi: false,
                }
            }
            FieldType::MultiSelect { enum_type } => FieldKind::Enum {
                enum_type,
                multi: true,
            },
            FieldType::Unknown(t) => FieldKind::Relation {
                target: t,
                collection: field.meta.collection,
            },
            // Kinds added to fibery-core later: passed through as JSON.
            _ => FieldKind::OtherPrimitive(field.type_name.clone()),
        }
    }

    /// Whether the value goes in a follow-up collection command (cannot be set on create).
    pub fn is_collection(&self) -> bool {
        matches!(
            self,
            FieldKind::Enum { multi: true, .. }
                | FieldKind::Relation {
                    collection: true,
                    ..
                }
        )
    }
}

/// Finds a (non-deleted) type by exact name.
pub fn type_def<'a>(schema: &'a Schema, name: &str) -> Option<&'a TypeDef> {
    schema.types.iter().find(|t| t.name == name && !t.deleted)
}

/// Finds a (non-deleted) field of a type by exact name.
pub fn field_def<'a>(td: &'a TypeDef, name: &str) -> Option<&'a FieldDef> {
    td.fields.iter().find(|f| f.name == name && !f.deleted)
}

/// The title field of a type (`ui/title?`), e.g. `Projects/Name`, `enum/name`, `user/name`.
pub fn title_field(td: &TypeDef) -> Option<&FieldDef> {
    td.fields.iter().find(|f| f.meta.title && !f.deleted)
}

/// Whether a field is a system or read-only field that imports must not write.
pub fn is_readonly(f: &FieldDef) -> bool {
    f.meta.readonly
        || f.meta.formula
        || f.meta.lookup
        || f.name == "fibery/rank"
        || f.name == "fibery/created-by"
        || f.name == "fibery/public-id"
        || f.name == "fibery/creation-date"
        || f.name == "fibery/modification-date"
}

/// The best match for `wanted` among `candidates` (case-insensitive, small edit distance).
pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = wanted.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let cl = c.to_lowercase();
        let short = cl.rsplit('/').next().unwrap_or(&cl);
        let d = levenshtein(&w, &cl).min(levenshtein(&w, short));
        if d <= (w.len() / 3).max(2) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let c = ["Projects/Name", "Projects/Estimate", "workflow/state"];
        assert_eq!(
            did_you_mean("Projects/Estimat", c),
            Some("Projects/Estimate")
        );
        assert_eq!(did_you_mean("state", c), Some("workflow/state"));
        assert_eq!(did_you_mean("Completely different", c), None);
    }
}
