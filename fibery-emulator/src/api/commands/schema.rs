//! Schema commands (`fibery.schema/batch`, with `fibery.app/install-mixins` inside it): all or
//! nothing, each successful batch bumps the schema version.

use fibery_core::command::{FieldSpec, SchemaCommand};
use fibery_core::error::FiberyError;
use fibery_core::schema::{FieldDef, FieldMeta, TypeDef, TypeMeta};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::dispatch::Ctx;
use crate::error;
use crate::store::Store;
use crate::store::schema::{
    DOC_TYPE, Kind, field_mut, find_field, find_type, is_primitive_type, kind_of, type_mut,
};
use crate::store::system_types::{enum_type, install_mixin, mandatory_fields};

/// `schema.type/set-meta` (not modelled by fibery-core: a `SchemaCommand::Raw`).
const TYPE_SET_META: &str = "schema.type/set-meta";

/// `fibery.schema/batch`.
pub(super) fn batch(
    store: &mut Store,
    cmds: &[SchemaCommand],
    ctx: &mut Ctx,
) -> Result<Value, FiberyError> {
    all_or_nothing(store, ctx, |s| cmds.iter().try_for_each(|c| apply(s, c)))
}

/// Runs schema changes on the store; on failure the whole store is restored.
fn all_or_nothing(
    store: &mut Store,
    ctx: &mut Ctx,
    f: impl FnOnce(&mut Store) -> Result<(), FiberyError>,
) -> Result<Value, FiberyError> {
    let snapshot = store.clone();
    let r = f(store);
    if r.is_err() {
        *store = snapshot;
    }
    store.clear_index();
    r?;
    store.schema.version += 1;
    ctx.mutated = true;
    Ok(json!("ok"))
}

fn apply(store: &mut Store, c: &SchemaCommand) -> Result<(), FiberyError> {
    match c {
        SchemaCommand::TypeCreate {
            id,
            name,
            meta,
            fields,
        } => create_type(store, id.as_deref(), name, meta, fields),
        SchemaCommand::EnumCreate { name, meta } => {
            check_new_type(store, name)?;
            let meta = meta.clone().map(Value::Object);
            add_type(store, enum_type(name, meta.as_ref()), None);
            Ok(())
        }
        SchemaCommand::TypeRename { from, to } => rename_type(store, from, to),
        SchemaCommand::TypeDelete {
            name,
            delete_entities,
            delete_related_fields,
        } => delete_type(
            store,
            name,
            delete_entities.unwrap_or(false),
            delete_related_fields.unwrap_or(false),
        ),
        SchemaCommand::FieldCreate { holder_type, field } => {
            create_field(store, holder_type, field)
        }
        SchemaCommand::FieldRename {
            holder_type,
            from,
            to,
        } => rename_field(store, holder_type, from, to),
        SchemaCommand::FieldDelete {
            holder_type,
            name,
            delete_values,
        } => delete_field(store, holder_type, name, delete_values.unwrap_or(false)),
        SchemaCommand::FieldSetMeta {
            holder_type,
            name,
            key,
            value,
        } => {
            let f = field_mut(&mut store.schema, holder_type, name)?;
            f.meta = with_meta(&f.meta, key, Some(value.clone()))?;
            Ok(())
        }
        SchemaCommand::FieldDeleteMeta {
            holder_type,
            name,
            key,
        } => {
            let f = field_mut(&mut store.schema, holder_type, name)?;
            f.meta = with_meta(&f.meta, key, None)?;
            Ok(())
        }
        SchemaCommand::InstallMixins { types } => {
            for (ty, mixins) in types {
                add_mixins(store, ty, mixins)?;
            }
            Ok(())
        }
        SchemaCommand::Raw { command, args } if command == TYPE_SET_META => {
            set_type_meta(store, args.as_ref())
        }
        other => Err(error::new(
            "schema.error/command-not-found",
            format!("Schema command \"{}\" was not found.", other.name()),
        )),
    }
}

fn type_exists(name: &str) -> FiberyError {
    error::new(
        "schema.error/type-already-exists",
        format!("\"{name}\" database already exists."),
    )
}

fn field_exists(holder: &str, name: &str) -> FiberyError {
    error::new(
        "schema.error/field-already-exists",
        format!("\"{name}\" field already exists in \"{holder}\" database."),
    )
}

/// A new type's name must be free and look like `Space/Type`.
fn check_new_type(store: &Store, name: &str) -> Result<(), FiberyError> {
    if find_type(&store.schema, name).is_some() {
        return Err(type_exists(name));
    }
    if !name.contains('/') {
        return Err(error::new(
            "schema.error/invalid-name",
            format!("Type name \"{name}\" must look like \"Space/Type\"."),
        ));
    }
    Ok(())
}

/// Adds a type with the client's id (or a fresh one).
fn add_type(store: &mut Store, mut t: TypeDef, id: Option<&str>) {
    t.id = Some(id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string));
    store.types.entry(t.name.clone()).or_default();
    store.schema.types.push(t);
}

/// Reads a `fibery/meta` map into the schema's typed meta.
fn meta_of<T: DeserializeOwned>(meta: &Map<String, Value>, what: &str) -> Result<T, FiberyError> {
    serde_json::from_value(Value::Object(meta.clone()))
        .map_err(|e| error::bad_args(format!("{what}: {e}")))
}

fn field_def(f: &FieldSpec) -> Result<FieldDef, FiberyError> {
    Ok(FieldDef {
        id: Some(uuid::Uuid::new_v4().to_string()),
        name: f.name.clone(),
        type_name: f.type_name.clone(),
        deleted: false,
        meta: meta_of::<FieldMeta>(&f.meta, "field definition")?,
    })
}

/// `schema.type/create`; domain types must carry the mandatory fields.
fn create_type(
    store: &mut Store,
    id: Option<&str>,
    name: &str,
    meta: &Map<String, Value>,
    fields: &[FieldSpec],
) -> Result<(), FiberyError> {
    check_new_type(store, name)?;
    let meta: TypeMeta = meta_of(meta, "fibery/meta")?;
    let fields = fields
        .iter()
        .map(field_def)
        .collect::<Result<Vec<_>, _>>()?;
    if meta.domain
        && let Some(m) = mandatory_fields(None)
            .into_iter()
            .find(|m| !fields.iter().any(|f| f.name == m.name))
    {
        return Err(error::new(
            "schema.error/mandatory-field-missing",
            format!("Domain database \"{name}\" must define \"{}\".", m.name),
        ));
    }
    let t = TypeDef {
        id: None,
        name: name.to_string(),
        deleted: false,
        description: None,
        meta,
        fields,
    };
    add_type(store, t, id);
    Ok(())
}

/// `schema.type/rename`: entities, fields pointing at the type and webhooks follow.
fn rename_type(store: &mut Store, from: &str, to: &str) -> Result<(), FiberyError> {
    if find_type(&store.schema, to).is_some() {
        return Err(type_exists(to));
    }
    type_mut(&mut store.schema, from)?.name = to.to_string();
    for f in store.schema.types.iter_mut().flat_map(|t| &mut t.fields) {
        if f.type_name == from {
            f.type_name = to.to_string();
        }
    }
    if let Some(ts) = store.types.remove(from) {
        store.types.insert(to.to_string(), ts);
    }
    for w in store.webhooks.iter_mut().filter(|w| w.type_name == from) {
        w.type_name = to.to_string();
    }
    Ok(())
}

/// `schema.type/delete`: refuses while the type has entities or is referenced, unless told to
/// delete them too.
fn delete_type(
    store: &mut Store,
    name: &str,
    delete_entities: bool,
    delete_related: bool,
) -> Result<(), FiberyError> {
    find_type(&store.schema, name).ok_or_else(|| error::type_not_found(name))?;
    if !delete_entities
        && store
            .types
            .get(name)
            .is_some_and(|t| !t.entities.is_empty())
    {
        return Err(error::new(
            "schema.error/type-has-entities",
            format!("\"{name}\" database has entities; pass \"delete-entities?\": true."),
        ));
    }
    let related: Vec<(String, String)> = store
        .schema
        .types
        .iter()
        .filter(|t| t.name != name && !t.deleted)
        .flat_map(|t| {
            t.fields
                .iter()
                .filter(|f| f.type_name == name && !f.deleted)
                .map(move |f| (t.name.clone(), f.name.clone()))
        })
        .collect();
    if !related.is_empty() && !delete_related {
        return Err(error::new(
            "schema.error/type-has-related-fields",
            format!(
                "\"{name}\" database is referenced by {related:?}; pass \"delete-related-fields?\": true."
            ),
        ));
    }
    for (holder, f) in related {
        remove_field(store, &holder, &f);
    }
    store.schema.types.retain(|t| t.name != name);
    store.types.remove(name);
    Ok(())
}

/// Removes a field and its stored values.
fn remove_field(store: &mut Store, holder: &str, name: &str) {
    if let Some(t) = store
        .schema
        .types
        .iter_mut()
        .find(|t| t.name == holder && !t.deleted)
    {
        t.fields.retain(|f| f.name != name);
    }
    if let Some(s) = store.types.get_mut(holder) {
        for e in s.entities.values_mut() {
            e.remove(name);
        }
    }
}

/// `schema.field/create`: existing entities get `null`, `[]` or a new empty document.
fn create_field(store: &mut Store, holder: &str, spec: &FieldSpec) -> Result<(), FiberyError> {
    let ftype = spec.type_name.as_str();
    if !is_primitive_type(&store.schema, ftype)
        && ftype != DOC_TYPE
        && find_type(&store.schema, ftype).is_none()
    {
        return Err(error::type_not_found(ftype));
    }
    let t = type_mut(&mut store.schema, holder)?;
    if find_field(t, &spec.name).is_some() {
        return Err(field_exists(holder, &spec.name));
    }
    let fd = field_def(spec)?;
    let kind = kind_of(&store.schema, &fd);
    type_mut(&mut store.schema, holder)?.fields.push(fd);
    let Some(ts) = store.types.get_mut(holder) else {
        return Ok(());
    };
    for e in ts.entities.values_mut() {
        let v = match kind {
            Kind::Collection(_) => json!([]),
            Kind::RichText => {
                let secret = uuid::Uuid::new_v4().to_string();
                store.documents.insert(secret.clone(), String::new());
                json!(secret)
            }
            _ => Value::Null,
        };
        e.insert(spec.name.clone(), v);
    }
    Ok(())
}

/// `schema.field/rename`: stored values move to the new name.
fn rename_field(store: &mut Store, holder: &str, from: &str, to: &str) -> Result<(), FiberyError> {
    let t = type_mut(&mut store.schema, holder)?;
    if find_field(t, to).is_some() {
        return Err(field_exists(holder, to));
    }
    field_mut(&mut store.schema, holder, from)?.name = to.to_string();
    if let Some(s) = store.types.get_mut(holder) {
        for e in s.entities.values_mut() {
            if let Some(v) = e.remove(from) {
                e.insert(to, v);
            }
        }
    }
    Ok(())
}

/// `schema.field/delete`: refuses while values are set, unless `delete-values?`.
fn delete_field(
    store: &mut Store,
    holder: &str,
    name: &str,
    delete_values: bool,
) -> Result<(), FiberyError> {
    crate::store::schema::field(&store.schema, holder, name)?;
    let non_empty = store.types.get(holder).is_some_and(|s| {
        s.entities.values().any(|e| match e.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        })
    });
    if non_empty && !delete_values {
        return Err(error::new(
            "schema.error/field-has-values",
            format!("\"{name}\" field of \"{holder}\" has values; pass \"delete-values?\": true."),
        ));
    }
    remove_field(store, holder, name);
    Ok(())
}

/// Meta with `key` set to `value` (or removed, for `None`).
fn with_meta<T: Serialize + DeserializeOwned>(
    meta: &T,
    key: &str,
    value: Option<Value>,
) -> Result<T, FiberyError> {
    let mut v = serde_json::to_value(meta).map_err(|e| error::bad_args(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        match value {
            Some(x) => o.insert(key.to_string(), x),
            None => o.remove(key),
        };
    }
    serde_json::from_value(v)
        .map_err(|e| error::bad_args(format!("invalid meta value for \"{key}\": {e}")))
}

/// `schema.type/set-meta` `{"name" | "fibery/name", "key", "value"}`.
fn set_type_meta(store: &mut Store, args: Option<&Value>) -> Result<(), FiberyError> {
    let arg = |k: &str| args.and_then(|a| a.get(k));
    let name = arg("name")
        .or_else(|| arg("fibery/name"))
        .and_then(Value::as_str)
        .ok_or_else(|| error::bad_args("\"name\" is required"))?;
    let key = arg("key")
        .and_then(Value::as_str)
        .ok_or_else(|| error::bad_args("\"key\" is required (a string)"))?;
    let value = arg("value").cloned().unwrap_or(Value::Null);
    let t = type_mut(&mut store.schema, name)?;
    t.meta = with_meta(&t.meta, key, Some(value))?;
    Ok(())
}

/// Installs mixins on a type; existing entities get values for the new fields.
fn add_mixins(store: &mut Store, ty: &str, mixins: &[String]) -> Result<(), FiberyError> {
    for m in mixins {
        install_mixin(&mut store.schema, ty, m)?;
    }
    // Workflow: Fibery creates Open / In Progress / Done and makes the first the default.
    if mixins.iter().any(|m| m == "workflow/workflow") {
        store.default_workflow_states(&format!("workflow/state_{ty}"));
    }
    let t = find_type(&store.schema, ty).cloned();
    if let (Some(t), Some(s)) = (t, store.types.get_mut(ty)) {
        for e in s.entities.values_mut() {
            for f in &t.fields {
                e.entry(f.name.clone()).or_insert_with(|| {
                    if f.meta.collection {
                        json!([])
                    } else {
                        Value::Null
                    }
                });
            }
        }
    }
    Ok(())
}
