//! System types and mixins: the mandatory fields of a domain type, enum types, the types a
//! workspace always has (users, files, documents, primitives) and what each mixin adds.

use fibery_core::command::FieldSpec;
use fibery_core::error::FiberyError;
use fibery_core::schema::{FieldDef, FieldMeta, Schema, TypeDef, TypeMeta};
use serde_json::{Value, json};

use super::schema::{DOC_SECRET, DOC_TYPE, PRIMITIVES, find_type, find_type_mut};
use crate::error;

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

/// The system fields of every type as fibery-core defines them (`fibery/id`,
/// `fibery/public-id`, creation and modification dates), after the title field when given: a
/// domain type's mandatory fields.
pub(crate) fn mandatory_fields(title: Option<&str>) -> Vec<FieldDef> {
    let specs = match title {
        Some(t) => FieldSpec::mandatory(t),
        None => FieldSpec::system_fields(),
    };
    specs
        .into_iter()
        .map(|f| fd(&f.name, &f.type_name, Value::Object(f.meta)))
        .collect()
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
pub(crate) fn install_mixin(schema: &mut Schema, ty: &str, mixin: &str) -> Result<(), FiberyError> {
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
    let t = find_type_mut(schema, ty).ok_or_else(|| error::type_not_found(ty))?;
    t.meta.mixins.insert(mixin.to_string(), true);
    for f in fields {
        if !t.fields.iter().any(|g| g.name == f.name && !g.deleted) {
            t.fields.push(f);
        }
    }
    schema.types.extend(new_types);
    Ok(())
}
