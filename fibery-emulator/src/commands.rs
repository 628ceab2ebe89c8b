//! `POST /api/commands` dispatch.

use fibery_core::schema::{FieldDef, FieldMeta, TypeDef, TypeMeta};
use serde_json::{Map, Value, json};

use crate::model::{
    DOC_TYPE, FErr, Kind, enum_type, find_field, find_type, find_type_mut, install_mixin,
    is_primitive_type, kind_of, mandatory_fields,
};
use crate::store::{Effect, Store};

/// Commands this emulator knows (anything else is an HTTP 500, like Fibery).
pub(crate) const KNOWN: &[&str] = &[
    "fibery.entity/query",
    "fibery.entity/create",
    "fibery.entity/update",
    "fibery.entity/delete",
    "fibery.entity/add-collection-items",
    "fibery.entity/remove-collection-items",
    "fibery.entity/set-collection-items",
    "fibery.entity.batch/create-or-update",
    "fibery.entity.batch/create",
    "fibery.entity.batch/delete",
    "fibery.command/batch",
    "fibery.schema/query",
    "fibery.schema/batch",
    "fibery.app/install-mixins",
];

const SCHEMA_CMDS: &[&str] = &[
    "schema.type/create",
    "schema.type/rename",
    "schema.type/delete",
    "schema.type/set-meta",
    "schema.field/create",
    "schema.field/rename",
    "schema.field/delete",
    "schema.field/set-meta",
    "schema.field/delete-meta",
    "schema.enum/create",
    "fibery.app/install-mixins",
];

/// Side effects of a request, collected while commands run.
#[derive(Default)]
pub(crate) struct Ctx {
    pub effects: Vec<Effect>,
    pub mutated: bool,
    pub entity_commands: usize,
}

/// A request-level failure (HTTP 500 with a bare `{name, message, data}`).
pub(crate) fn check_known(cmd: &Value) -> Result<(), FErr> {
    let obj = cmd.as_object().ok_or_else(|| {
        FErr::new(
            "command/invalid",
            format!("A command must be an object {{\"command\", \"args\"}}, got {cmd}."),
        )
    })?;
    let name = obj
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| FErr::new("command/invalid", "Missing \"command\" name."))?;
    if !KNOWN.contains(&name) {
        return Err(FErr::new(
            "command/not-found",
            format!("Command \"{name}\" was not found."),
        )
        .with_data(json!({"command": name})));
    }
    if name == "fibery.command/batch"
        && let Some(cmds) = obj
            .get("args")
            .and_then(|a| a.get("commands"))
            .and_then(Value::as_array)
    {
        for c in cmds {
            check_known(c)?;
        }
    }
    Ok(())
}

fn args_obj(cmd: &Value) -> Result<Map<String, Value>, FErr> {
    match cmd.get("args") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::Array(a)) if a.is_empty() => Err(FErr::new(
            "command.error/invalid-args",
            "\"args\" must be a JSON object; got an empty array []. Send {} for no arguments.",
        )),
        Some(other) => Err(FErr::bad_args(format!(
            "\"args\" must be an object, got {other}"
        ))),
    }
}

fn str_arg<'a>(a: &'a Map<String, Value>, k: &str) -> Result<&'a str, FErr> {
    a.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| FErr::bad_args(format!("\"{k}\" is required (a string)")))
}

fn obj_arg<'a>(a: &'a Map<String, Value>, k: &str) -> Result<&'a Map<String, Value>, FErr> {
    match a.get(k) {
        Some(Value::Object(o)) => Ok(o),
        Some(Value::Array(v)) if v.is_empty() => Err(FErr::bad_args(format!(
            "\"{k}\" must be an object; got an empty array []"
        ))),
        _ => Err(FErr::bad_args(format!("\"{k}\" is required (an object)"))),
    }
}

/// Runs one command (already checked by [`check_known`]); returns its envelope result.
pub(crate) fn run(store: &mut Store, cmd: &Value, ctx: &mut Ctx) -> Result<Value, FErr> {
    let name = cmd
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let a = args_obj(cmd)?;
    if name.starts_with("fibery.entity") {
        ctx.entity_commands += 1;
    }
    match name {
        "fibery.entity/query" => {
            if matches!(a.get("params"), Some(Value::Array(v)) if v.is_empty()) {
                return Err(FErr::bad_args(
                    "\"params\" must be a JSON object; got an empty array []. Send {} or omit it.",
                ));
            }
            let q = crate::qparse::parse_args(&Value::Object(a))?;
            crate::qeval::run(store, &q)
        }
        "fibery.entity/create" => {
            let (v, eff) = store.create(str_arg(&a, "type")?, obj_arg(&a, "entity")?)?;
            ctx.effects.push(eff);
            ctx.mutated = true;
            Ok(v)
        }
        "fibery.entity/update" => {
            let (v, eff) = store.update(str_arg(&a, "type")?, obj_arg(&a, "entity")?)?;
            ctx.effects.push(eff);
            ctx.mutated = true;
            Ok(v)
        }
        "fibery.entity/delete" => {
            let e = obj_arg(&a, "entity")?;
            let id = e
                .get("fibery/id")
                .and_then(Value::as_str)
                .ok_or_else(|| FErr::bad_args("entity must contain \"fibery/id\""))?;
            let eff = store.delete(str_arg(&a, "type")?, id)?;
            ctx.effects.push(eff);
            ctx.mutated = true;
            Ok(json!("ok"))
        }
        "fibery.entity/add-collection-items" | "fibery.entity/remove-collection-items" => {
            let effs = store.collection_items(&a, name.ends_with("add-collection-items"))?;
            ctx.effects.extend(effs);
            ctx.mutated = true;
            Ok(json!("ok"))
        }
        "fibery.entity/set-collection-items" => {
            // Replace: remove everything not listed, add the rest.
            let ty = str_arg(&a, "type")?.to_string();
            let field = str_arg(&a, "field")?.to_string();
            let pid = obj_arg(&a, "entity")?
                .get("fibery/id")
                .and_then(Value::as_str)
                .ok_or_else(|| FErr::bad_args("entity must contain \"fibery/id\""))?
                .to_string();
            let current: Vec<Value> = store
                .entity(&ty, &pid)
                .ok_or_else(|| crate::store::not_found(&ty, &pid))?
                .get(&field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut rm = a.clone();
            rm.insert(
                "items".into(),
                Value::Array(
                    current
                        .into_iter()
                        .map(|i| json!({"fibery/id": i}))
                        .collect(),
                ),
            );
            let effs = atomic(store, |store| {
                let mut e = store.collection_items(&rm, false)?;
                e.extend(store.collection_items(&a, true)?);
                Ok(e)
            })?;
            ctx.effects.extend(effs);
            ctx.mutated = true;
            Ok(json!("ok"))
        }
        "fibery.entity.batch/create-or-update" => {
            let (v, effs) = atomic(store, |store| store.upsert(&a))?;
            ctx.effects.extend(effs);
            ctx.mutated = true;
            Ok(v)
        }
        "fibery.entity.batch/create" | "fibery.entity.batch/delete" => {
            let ty = str_arg(&a, "type")?.to_string();
            let ents = a
                .get("entities")
                .and_then(Value::as_array)
                .ok_or_else(|| FErr::bad_args("\"entities\" must be an array"))?;
            let fail_missing = a
                .get("opts")
                .and_then(|o| o.get("fail-if-not-found?"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let owner = store.begin();
            let mut out = vec![];
            let mut effs = vec![];
            let mut res: Result<(), FErr> = Ok(());
            for e in ents {
                let Some(o) = e.as_object() else {
                    res = Err(FErr::bad_args("entities must be objects"));
                    break;
                };
                if name.ends_with("create") {
                    match store.create(&ty, o) {
                        Ok((v, eff)) => {
                            out.push(v);
                            effs.push(eff);
                        }
                        Err(err) => {
                            res = Err(err);
                            break;
                        }
                    }
                } else {
                    let id = o
                        .get("fibery/id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    if store.entity(&ty, &id).is_none() && !fail_missing {
                        continue;
                    }
                    match store.delete(&ty, &id) {
                        Ok(eff) => effs.push(eff),
                        Err(err) => {
                            res = Err(err);
                            break;
                        }
                    }
                }
            }
            finish(store, owner, &res);
            res?;
            ctx.effects.extend(effs);
            ctx.mutated = true;
            Ok(if name.ends_with("create") {
                Value::Array(out)
            } else {
                json!("ok")
            })
        }
        "fibery.command/batch" => {
            let cmds = a
                .get("commands")
                .and_then(Value::as_array)
                .ok_or_else(|| FErr::bad_args("\"commands\" must be an array"))?;
            // All-or-nothing: batches touching the schema snapshot the whole store, the others
            // keep an undo log of the entities they change.
            let snapshot = cmds.iter().any(touches_schema).then(|| store.clone());
            let owner = snapshot.is_none() && store.begin();
            let mut inner_ctx = Ctx::default();
            let mut results = vec![];
            for c in cmds {
                match run(store, c, &mut inner_ctx) {
                    Ok(v) => results.push(json!({"success": true, "result": v})),
                    Err(e) => {
                        match snapshot {
                            Some(s) => *store = s,
                            None => finish(store, owner, &Err::<(), _>(())),
                        }
                        ctx.entity_commands += inner_ctx.entity_commands;
                        return Err(e);
                    }
                }
            }
            finish(store, owner, &Ok::<(), ()>(()));
            ctx.effects.extend(inner_ctx.effects);
            ctx.mutated |= inner_ctx.mutated;
            ctx.entity_commands += inner_ctx.entity_commands;
            Ok(Value::Array(results))
        }
        "fibery.schema/query" => {
            let with_desc = a
                .get("with-description?")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(schema_json(store, with_desc, false))
        }
        "fibery.schema/batch" => {
            let cmds = a
                .get("commands")
                .and_then(Value::as_array)
                .ok_or_else(|| FErr::bad_args("\"commands\" must be an array"))?;
            let snapshot = store.clone();
            for c in cmds {
                if let Err(e) = schema_cmd(store, c) {
                    *store = snapshot;
                    store.clear_index();
                    return Err(e);
                }
            }
            store.clear_index();
            store.schema.version += 1;
            ctx.mutated = true;
            Ok(json!("ok"))
        }
        "fibery.app/install-mixins" => {
            let snapshot = store.clone();
            if let Err(e) = schema_cmd(store, cmd) {
                *store = snapshot;
                store.clear_index();
                return Err(e);
            }
            store.clear_index();
            store.schema.version += 1;
            ctx.mutated = true;
            Ok(json!("ok"))
        }
        other => Err(FErr::new(
            "command/not-found",
            format!("Command \"{other}\" was not found."),
        )),
    }
}

/// Runs `f` all-or-nothing (undo log; nested calls defer to the outermost owner).
fn atomic<T>(store: &mut Store, f: impl FnOnce(&mut Store) -> Result<T, FErr>) -> Result<T, FErr> {
    let owner = store.begin();
    let r = f(store);
    finish(store, owner, &r);
    r
}

fn finish<T, E>(store: &mut Store, owner: bool, r: &Result<T, E>) {
    if owner {
        match r {
            Ok(_) => store.commit(),
            Err(_) => store.rollback(),
        }
    }
}

/// Whether a command (or a batch, recursively) changes the schema.
fn touches_schema(c: &Value) -> bool {
    match c.get("command").and_then(Value::as_str) {
        Some("fibery.schema/batch" | "fibery.app/install-mixins") => true,
        Some("fibery.command/batch") => c
            .get("args")
            .and_then(|a| a.get("commands"))
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(touches_schema)),
        _ => false,
    }
}

/// The schema in Fibery's shape.
pub(crate) fn schema_json(store: &Store, with_description: bool, with_soft_deleted: bool) -> Value {
    let mut s = store.schema.clone();
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

fn set_meta_value<T: serde::Serialize + serde::de::DeserializeOwned>(
    meta: &T,
    key: &str,
    value: Option<Value>,
) -> Result<T, FErr> {
    let mut v = serde_json::to_value(meta).map_err(|e| FErr::bad_args(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        match value {
            Some(x) => {
                o.insert(key.to_string(), x);
            }
            None => {
                o.remove(key);
            }
        }
    }
    serde_json::from_value(v)
        .map_err(|e| FErr::bad_args(format!("invalid meta value for \"{key}\": {e}")))
}

fn schema_err(name: &str, msg: String) -> FErr {
    FErr::new(name, msg)
}

fn schema_cmd(store: &mut Store, c: &Value) -> Result<(), FErr> {
    let name = c.get("command").and_then(Value::as_str).unwrap_or_default();
    if !SCHEMA_CMDS.contains(&name) {
        return Err(FErr::new(
            "schema.error/command-not-found",
            format!("Schema command \"{name}\" was not found."),
        ));
    }
    let a = args_obj(c)?;
    match name {
        "schema.type/create" | "schema.enum/create" => {
            let tname = str_arg(&a, "fibery/name")?.to_string();
            if find_type(&store.schema, &tname).is_some() {
                return Err(schema_err(
                    "schema.error/type-already-exists",
                    format!("\"{tname}\" database already exists."),
                ));
            }
            if !tname.contains('/') {
                return Err(schema_err(
                    "schema.error/invalid-name",
                    format!("Type name \"{tname}\" must look like \"Space/Type\"."),
                ));
            }
            let mut t = if name == "schema.enum/create" {
                enum_type(&tname, a.get("fibery/meta"))
            } else {
                let meta: TypeMeta = match a.get("fibery/meta") {
                    Some(m) => serde_json::from_value(m.clone())
                        .map_err(|e| FErr::bad_args(format!("fibery/meta: {e}")))?,
                    None => TypeMeta::default(),
                };
                let mut fields: Vec<FieldDef> = vec![];
                if let Some(fs) = a.get("fibery/fields") {
                    let arr = fs
                        .as_array()
                        .ok_or_else(|| FErr::bad_args("fibery/fields must be an array"))?;
                    for f in arr {
                        let mut fd: FieldDef = serde_json::from_value(f.clone())
                            .map_err(|e| FErr::bad_args(format!("field definition: {e}")))?;
                        fd.id
                            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
                        fields.push(fd);
                    }
                }
                if meta.domain {
                    for m in mandatory_fields(None) {
                        if !fields.iter().any(|f| f.name == m.name) {
                            return Err(schema_err(
                                "schema.error/mandatory-field-missing",
                                format!("Domain database \"{tname}\" must define \"{}\".", m.name),
                            ));
                        }
                    }
                }
                TypeDef {
                    id: None,
                    name: tname.clone(),
                    deleted: false,
                    description: None,
                    meta,
                    fields,
                }
            };
            t.id = Some(
                a.get("fibery/id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            );
            store.schema.types.push(t);
            store.types.entry(tname).or_default();
        }
        "schema.type/rename" => {
            let from = str_arg(&a, "from-name")?.to_string();
            let to = str_arg(&a, "to-name")?.to_string();
            if find_type(&store.schema, &to).is_some() {
                return Err(schema_err(
                    "schema.error/type-already-exists",
                    format!("\"{to}\" database already exists."),
                ));
            }
            find_type_mut(&mut store.schema, &from)
                .ok_or_else(|| FErr::type_not_found(&from))?
                .name = to.clone();
            for t in &mut store.schema.types {
                for f in &mut t.fields {
                    if f.type_name == from {
                        f.type_name = to.clone();
                    }
                }
            }
            if let Some(ts) = store.types.remove(&from) {
                store.types.insert(to.clone(), ts);
            }
            for w in &mut store.webhooks {
                if w.type_name == from {
                    w.type_name = to.clone();
                }
            }
        }
        "schema.type/delete" => {
            let tn = str_arg(&a, "name")?.to_string();
            find_type(&store.schema, &tn).ok_or_else(|| FErr::type_not_found(&tn))?;
            let del_entities = a
                .get("delete-entities?")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let del_related = a
                .get("delete-related-fields?")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !del_entities && store.types.get(&tn).is_some_and(|t| !t.entities.is_empty()) {
                return Err(schema_err(
                    "schema.error/type-has-entities",
                    format!("\"{tn}\" database has entities; pass \"delete-entities?\": true."),
                ));
            }
            let related: Vec<(String, String)> = store
                .schema
                .types
                .iter()
                .filter(|t| t.name != tn && !t.deleted)
                .flat_map(|t| {
                    t.fields
                        .iter()
                        .filter(|f| f.type_name == tn && !f.deleted)
                        .map(move |f| (t.name.clone(), f.name.clone()))
                })
                .collect();
            if !related.is_empty() && !del_related {
                return Err(schema_err(
                    "schema.error/type-has-related-fields",
                    format!(
                        "\"{tn}\" database is referenced by {related:?}; pass \"delete-related-fields?\": true."
                    ),
                ));
            }
            for (ht, f) in related {
                if let Some(t) = find_type_mut(&mut store.schema, &ht) {
                    t.fields.retain(|x| x.name != f);
                }
                if let Some(s) = store.types.get_mut(&ht) {
                    for e in s.entities.values_mut() {
                        e.remove(&f);
                    }
                }
            }
            store.schema.types.retain(|t| t.name != tn);
            store.types.remove(&tn);
        }
        "schema.type/set-meta" => {
            let tn = a
                .get("name")
                .or_else(|| a.get("fibery/name"))
                .and_then(Value::as_str)
                .ok_or_else(|| FErr::bad_args("\"name\" is required"))?
                .to_string();
            let key = str_arg(&a, "key")?.to_string();
            let value = a.get("value").cloned().unwrap_or(Value::Null);
            let t =
                find_type_mut(&mut store.schema, &tn).ok_or_else(|| FErr::type_not_found(&tn))?;
            t.meta = set_meta_value(&t.meta, &key, Some(value))?;
        }
        "schema.field/create" => {
            let holder = str_arg(&a, "fibery/holder-type")?.to_string();
            let fname = str_arg(&a, "fibery/name")?.to_string();
            let ftype = str_arg(&a, "fibery/type")?.to_string();
            let meta: FieldMeta = match a.get("fibery/meta") {
                Some(m) => serde_json::from_value(m.clone())
                    .map_err(|e| FErr::bad_args(format!("fibery/meta: {e}")))?,
                None => FieldMeta::default(),
            };
            if !is_primitive_type(&store.schema, &ftype)
                && ftype != DOC_TYPE
                && find_type(&store.schema, &ftype).is_none()
            {
                return Err(FErr::type_not_found(&ftype));
            }
            let t = find_type_mut(&mut store.schema, &holder)
                .ok_or_else(|| FErr::type_not_found(&holder))?;
            if find_field(t, &fname).is_some() {
                return Err(schema_err(
                    "schema.error/field-already-exists",
                    format!("\"{fname}\" field already exists in \"{holder}\" database."),
                ));
            }
            let fd = FieldDef {
                id: Some(
                    a.get("fibery/id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                ),
                name: fname.clone(),
                type_name: ftype,
                deleted: false,
                meta,
            };
            let kind = kind_of(&store.schema, &fd);
            if let Some(t) = find_type_mut(&mut store.schema, &holder) {
                t.fields.push(fd);
            }
            let ids: Vec<String> = store
                .types
                .get(&holder)
                .map(|s| s.entities.keys().cloned().collect())
                .unwrap_or_default();
            for id in ids {
                let v = match kind {
                    Kind::Collection(_) => json!([]),
                    Kind::RichText => {
                        let secret = uuid::Uuid::new_v4().to_string();
                        store.documents.insert(secret.clone(), String::new());
                        json!(secret)
                    }
                    _ => Value::Null,
                };
                if let Some(e) = store
                    .types
                    .get_mut(&holder)
                    .and_then(|s| s.entities.get_mut(&id))
                {
                    e.insert(fname.clone(), v);
                }
            }
        }
        "schema.field/rename" => {
            let holder = str_arg(&a, "holder-type")?.to_string();
            let from = str_arg(&a, "from-name")?.to_string();
            let to = str_arg(&a, "to-name")?.to_string();
            let t = find_type_mut(&mut store.schema, &holder)
                .ok_or_else(|| FErr::type_not_found(&holder))?;
            if find_field(t, &to).is_some() {
                return Err(schema_err(
                    "schema.error/field-already-exists",
                    format!("\"{to}\" field already exists in \"{holder}\" database."),
                ));
            }
            let f = t
                .fields
                .iter_mut()
                .find(|f| f.name == from && !f.deleted)
                .ok_or_else(|| FErr::field_not_found(&holder, &from))?;
            f.name = to.clone();
            if let Some(s) = store.types.get_mut(&holder) {
                for e in s.entities.values_mut() {
                    if let Some(v) = e.remove(&from) {
                        e.insert(to.clone(), v);
                    }
                }
            }
        }
        "schema.field/delete" => {
            let holder = str_arg(&a, "holder-type")?.to_string();
            let fname = str_arg(&a, "name")?.to_string();
            let del_values = a
                .get("delete-values?")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            crate::model::field(&store.schema, &holder, &fname)?;
            let non_empty = store.types.get(&holder).is_some_and(|s| {
                s.entities.values().any(|e| match e.get(&fname) {
                    None | Some(Value::Null) => false,
                    Some(Value::Array(a)) => !a.is_empty(),
                    Some(_) => true,
                })
            });
            if non_empty && !del_values {
                return Err(schema_err(
                    "schema.error/field-has-values",
                    format!(
                        "\"{fname}\" field of \"{holder}\" has values; pass \"delete-values?\": true."
                    ),
                ));
            }
            if let Some(t) = find_type_mut(&mut store.schema, &holder) {
                t.fields.retain(|f| f.name != fname);
            }
            if let Some(s) = store.types.get_mut(&holder) {
                for e in s.entities.values_mut() {
                    e.remove(&fname);
                }
            }
        }
        "schema.field/set-meta" | "schema.field/delete-meta" => {
            let holder = str_arg(&a, "holder-type")?.to_string();
            let fname = str_arg(&a, "name")?.to_string();
            let key = str_arg(&a, "key")?.to_string();
            let value = if name.ends_with("set-meta") {
                Some(a.get("value").cloned().unwrap_or(Value::Null))
            } else {
                None
            };
            let t = find_type_mut(&mut store.schema, &holder)
                .ok_or_else(|| FErr::type_not_found(&holder))?;
            let f = t
                .fields
                .iter_mut()
                .find(|f| f.name == fname && !f.deleted)
                .ok_or_else(|| FErr::field_not_found(&holder, &fname))?;
            f.meta = set_meta_value(&f.meta, &key, value)?;
        }
        "fibery.app/install-mixins" => {
            let types = obj_arg(&a, "types")?;
            for (tn, mixins) in types {
                let ms = mixins
                    .as_array()
                    .ok_or_else(|| FErr::bad_args("mixins must be an array of names"))?;
                for m in ms {
                    let m = m
                        .as_str()
                        .ok_or_else(|| FErr::bad_args("mixin names are strings"))?;
                    install_mixin(&mut store.schema, tn, m)?;
                }
                // Workflow: Fibery creates Open / In Progress / Done and makes the first the default.
                if ms.iter().any(|m| m.as_str() == Some("workflow/workflow")) {
                    store.default_workflow_states(&format!("workflow/state_{tn}"));
                }
                // New fields need values on existing entities.
                let t = find_type(&store.schema, tn).cloned();
                if let (Some(t), Some(s)) = (t, store.types.get_mut(tn)) {
                    for e in s.entities.values_mut() {
                        for f in &t.fields {
                            if !e.contains_key(&f.name) {
                                e.insert(
                                    f.name.clone(),
                                    if f.meta.collection {
                                        json!([])
                                    } else {
                                        Value::Null
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}
