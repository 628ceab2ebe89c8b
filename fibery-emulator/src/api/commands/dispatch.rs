//! Runs one typed command against the store.

use fibery_core::command::{CollectionChange, Command, CommandResult};
use fibery_core::error::FiberyError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::request::{BATCH_CREATE, BATCH_DELETE, SET_COLLECTION_ITEMS};
use super::schema;
use super::{BatchFailure, Behaviour};
use crate::error;
use crate::store::schema::public_schema;
use crate::store::{Effect, Store, qeval};

/// What the commands of a request did besides answering.
#[derive(Default)]
pub(crate) struct Ctx {
    /// Write effects, for webhooks.
    pub effects: Vec<Effect>,
    /// Whether anything changed (then the state is persisted).
    pub mutated: bool,
    /// The switches commands run under.
    pub behaviour: Behaviour,
}

impl Ctx {
    /// An empty context running under `behaviour`.
    pub fn new(behaviour: Behaviour) -> Ctx {
        Ctx {
            behaviour,
            ..Ctx::default()
        }
    }

    fn changed(&mut self, effects: impl IntoIterator<Item = Effect>) {
        self.effects.extend(effects);
        self.mutated = true;
    }
}

/// Runs one command; returns its envelope's result.
pub(crate) fn run(store: &mut Store, cmd: &Command, ctx: &mut Ctx) -> Result<Value, FiberyError> {
    match cmd {
        Command::Query(_) | Command::SchemaQuery { .. } => run_read(store, cmd),
        Command::Create(a) => {
            let (v, eff) = store.create(&a.type_name, &a.entity)?;
            ctx.changed([eff]);
            Ok(v)
        }
        Command::Update(a) => {
            let (v, eff) = store.update(&a.type_name, &a.entity)?;
            ctx.changed([eff]);
            Ok(v)
        }
        Command::Delete(a) => {
            let eff = store.delete(&a.type_name, &a.id)?;
            ctx.changed([eff]);
            Ok(json!("ok"))
        }
        Command::AddCollectionItems(c) => collection_items(store, c, true, ctx),
        Command::RemoveCollectionItems(c) => collection_items(store, c, false, ctx),
        Command::CreateOrUpdate(u) => {
            let (v, effs) = atomic(store, |s| s.upsert(u))?;
            ctx.changed(effs);
            Ok(v)
        }
        Command::Batch(cmds) => batch(store, cmds, ctx),
        Command::SchemaBatch(cmds) => schema::batch(store, cmds, ctx),
        Command::Correlated { command, .. } => run(store, command, ctx),
        Command::Raw { command, args } => match command.as_str() {
            SET_COLLECTION_ITEMS => set_collection_items(store, args_of(args)?, ctx),
            BATCH_CREATE => batch_create(store, args_of(args)?, ctx),
            BATCH_DELETE => batch_delete(store, args_of(args)?, ctx),
            other => Err(error::command_not_found(other)),
        },
        // Commands fibery-core models later: not served until the emulator learns them.
        other => Err(error::command_not_found(other.name())),
    }
}

/// Whether a command only reads, so it may run under the shared read lock.
pub(crate) fn is_read(cmd: &Command) -> bool {
    match cmd {
        Command::Query(_) | Command::SchemaQuery { .. } => true,
        Command::Correlated { command, .. } => is_read(command),
        _ => false,
    }
}

/// Runs a command [`is_read`] accepts (others are refused as unknown) within the store's
/// work budget.
pub(crate) fn run_read(store: &Store, cmd: &Command) -> Result<Value, FiberyError> {
    run_read_within(store, cmd, store.work_budget)
}

/// [`run_read`] with each query limited to `budget` work units.
pub(crate) fn run_read_within(
    store: &Store,
    cmd: &Command,
    budget: u64,
) -> Result<Value, FiberyError> {
    match cmd {
        Command::Query(q) => {
            qeval::run_within(store, q, budget).map_err(|e| with_query_data(e, store, q))
        }
        Command::SchemaQuery { with_description } => Ok(public_schema(
            &store.schema,
            with_description.unwrap_or(false),
            false,
        )),
        Command::Correlated { command, .. } => run_read_within(store, command, budget),
        other => Err(error::command_not_found(other.name())),
    }
}

/// Fibery's data for an unknown type in a query: the schema version, the type, the query and
/// its params ([D] response envelope example; `param-types`/`param-collections` are not
/// modelled).
fn with_query_data(e: FiberyError, store: &Store, q: &fibery_core::query::Query) -> FiberyError {
    if e.name != fibery_core::error::names::SCHEMA_TYPE_NOT_FOUND {
        return e;
    }
    let (query, params) = q.to_json();
    let mut data = if e.data.is_object() {
        e.data.clone()
    } else {
        json!({})
    };
    data["error/schema-version"] = json!(store.schema.version);
    data["query"] = query;
    data["params"] = Value::Object(params);
    e.with_data(data)
}

/// The typed args of a command fibery-core does not model.
fn args_of<T: DeserializeOwned>(args: &Option<Value>) -> Result<T, FiberyError> {
    serde_json::from_value(args.clone().unwrap_or(Value::Null))
        .map_err(|e| error::bad_args(format!("invalid args: {e}")))
}

/// Runs `f` all-or-nothing (undo log; nested calls defer to the outermost owner).
pub(super) fn atomic<T>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<T, FiberyError>,
) -> Result<T, FiberyError> {
    let owner = store.begin();
    let r = f(store);
    finish(store, owner, r.is_ok());
    r
}

/// Ends the undo log started by `begin` if this caller owns it.
fn finish(store: &mut Store, owner: bool, ok: bool) {
    match (owner, ok) {
        (true, true) => store.commit(),
        (true, false) => store.rollback(),
        _ => {}
    }
}

fn collection_items(
    store: &mut Store,
    c: &CollectionChange,
    add: bool,
    ctx: &mut Ctx,
) -> Result<Value, FiberyError> {
    let parents = [(c.entity_id.clone(), c.items.clone())];
    let effs = store.collection_items(&c.type_name, &c.field, &parents, add)?;
    ctx.changed(effs);
    Ok(json!("ok"))
}

/// `fibery.command/batch`: nested envelopes. Atomic (default): the first failure undoes the
/// whole batch and is the batch's error; batches touching the schema snapshot the whole
/// store, the others keep an undo log of what they change. Partial: each command on its own.
/// Collection commands answer `null` inside a batch, as in [G]'s add-comment example.
fn batch(store: &mut Store, cmds: &[Command], ctx: &mut Ctx) -> Result<Value, FiberyError> {
    if ctx.behaviour.batch_failure == BatchFailure::Partial {
        let results = cmds
            .iter()
            .map(|c| match run(store, c, ctx) {
                Ok(v) => CommandResult::Success(in_batch(c, v)),
                Err(e) => CommandResult::Failure(e),
            })
            .map(|r| r.to_json())
            .collect();
        return Ok(Value::Array(results));
    }
    let snapshot = cmds.iter().any(touches_schema).then(|| store.clone());
    let owner = snapshot.is_none() && store.begin();
    let mut inner = Ctx::new(ctx.behaviour);
    let mut results = vec![];
    for c in cmds {
        match run(store, c, &mut inner) {
            Ok(v) => results.push(CommandResult::Success(in_batch(c, v)).to_json()),
            Err(e) => {
                match snapshot {
                    Some(s) => *store = s,
                    None => finish(store, owner, false),
                }
                return Err(e);
            }
        }
    }
    finish(store, owner, true);
    ctx.effects.extend(inner.effects);
    ctx.mutated |= inner.mutated;
    Ok(Value::Array(results))
}

/// A command's result as a batch reports it: `null` for collection commands.
fn in_batch(c: &Command, v: Value) -> Value {
    match c {
        Command::AddCollectionItems(_) | Command::RemoveCollectionItems(_) => Value::Null,
        Command::Correlated { command, .. } => in_batch(command, v),
        _ => v,
    }
}

/// Whether a command (or a batch, recursively) changes the schema.
fn touches_schema(c: &Command) -> bool {
    match c {
        Command::SchemaBatch(_) => true,
        Command::Batch(cs) => cs.iter().any(touches_schema),
        Command::Correlated { command, .. } => touches_schema(command),
        _ => false,
    }
}

/// `{"fibery/id": ..}`, or a bare id.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdRef {
    Bare(String),
    Ref {
        #[serde(rename = "fibery/id")]
        id: String,
    },
}

impl IdRef {
    fn into_id(self) -> String {
        match self {
            IdRef::Bare(id) | IdRef::Ref { id } => id,
        }
    }
}

/// Args of `fibery.entity/set-collection-items` (legacy collection shape).
#[derive(Deserialize)]
struct SetItems {
    #[serde(rename = "type")]
    type_name: String,
    field: String,
    entity: IdRef,
    items: Vec<IdRef>,
}

/// `fibery.entity/set-collection-items`: the collection becomes exactly `items`.
fn set_collection_items(
    store: &mut Store,
    a: SetItems,
    ctx: &mut Ctx,
) -> Result<Value, FiberyError> {
    let (ty, field) = (a.type_name.as_str(), a.field.as_str());
    let pid = a.entity.into_id();
    let current = store
        .items_of(ty, &pid, field)
        .ok_or_else(|| error::not_found(ty, &pid))?;
    let wanted: Vec<String> = a.items.into_iter().map(IdRef::into_id).collect();
    let effs = atomic(store, |s| {
        let mut e = s.collection_items(ty, field, &[(pid.clone(), current)], false)?;
        e.extend(s.collection_items(ty, field, &[(pid.clone(), wanted)], true)?);
        Ok(e)
    })?;
    ctx.changed(effs);
    Ok(json!("ok"))
}

/// Args of `fibery.entity.batch/create` and `/delete`.
#[derive(Deserialize)]
struct BatchArgs {
    #[serde(rename = "type")]
    type_name: String,
    entities: Vec<Map<String, Value>>,
    /// `fail-if-not-found?` (delete; default true).
    #[serde(default)]
    opts: Option<Value>,
}

/// `fibery.entity.batch/create`: all or nothing; the create views in order.
fn batch_create(store: &mut Store, a: BatchArgs, ctx: &mut Ctx) -> Result<Value, FiberyError> {
    let (views, effs) = atomic(store, |s| {
        let mut out = (vec![], vec![]);
        for e in &a.entities {
            let (v, eff) = s.create(&a.type_name, e)?;
            out.0.push(v);
            out.1.push(eff);
        }
        Ok(out)
    })?;
    ctx.changed(effs);
    Ok(Value::Array(views))
}

/// `fibery.entity.batch/delete`: all or nothing; missing entities fail unless
/// `opts.fail-if-not-found?` is false.
fn batch_delete(store: &mut Store, a: BatchArgs, ctx: &mut Ctx) -> Result<Value, FiberyError> {
    let fail_missing = a
        .opts
        .as_ref()
        .and_then(|o| o.get("fail-if-not-found?"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let ty = a.type_name.as_str();
    let effs = atomic(store, |s| {
        let mut effs = vec![];
        for e in &a.entities {
            let id = e
                .get("fibery/id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if fail_missing || s.entity(ty, id).is_some() {
                effs.push(s.delete(ty, id)?);
            }
        }
        Ok(effs)
    })?;
    ctx.changed(effs);
    Ok(json!("ok"))
}
