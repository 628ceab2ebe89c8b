//! The initial workspace: the saved state, or a fresh one from the schema and the seed.

use fibery_core::schema::Schema;
use serde_json::Value;

use crate::EmulatorError;
use crate::api::commands::{self, Ctx};
use crate::store::{Persistence, Store};

/// The saved state if there is one (`fresh = false`), else the schema with the seed applied
/// and default workflow states.
pub(crate) fn initial_store(
    persistence: &Persistence,
    schema: Schema,
    seed: Option<&Value>,
) -> Result<(Store, bool), EmulatorError> {
    if let Some(saved) = persistence.load()? {
        return Ok((saved, false));
    }
    let mut store = Store::new(schema);
    if let Some(seed) = seed {
        apply_seed(&mut store, seed)?;
    }
    default_workflow_states(&mut store);
    Ok((store, true))
}

/// `{"entities": {"Type": [..]}, "commands": [..]}`, or a bare `{"Type": [entities]}` map
/// (the `*.options.json` fixtures of fibery-core).
fn apply_seed(store: &mut Store, seed: &Value) -> Result<(), EmulatorError> {
    let structured = seed.get("entities").is_some() || seed.get("commands").is_some();
    let ents = if structured {
        seed.get("entities")
    } else {
        Some(seed)
    };
    for (ty, list) in ents.and_then(Value::as_object).into_iter().flatten() {
        for e in list.as_array().into_iter().flatten() {
            let o = e.as_object().ok_or_else(|| {
                EmulatorError::State(format!("seed entity of {ty} must be an object"))
            })?;
            store
                .create(ty, o)
                .map_err(|e| EmulatorError::State(format!("seed entity of {ty}: {}", e.message)))?;
        }
    }
    let mut ctx = Ctx::default();
    for c in seed
        .get("commands")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        commands::parse_one(c)
            .and_then(|cmd| commands::run(store, &cmd, &mut ctx))
            .map_err(|e| {
                EmulatorError::State(format!("seed command failed: {}: {}", e.name, e.message))
            })?;
    }
    Ok(())
}

/// Fibery gives new databases Open / In Progress / Done states; do the same for workflow
/// enums left empty by the seed, so clients can resolve states by name.
fn default_workflow_states(store: &mut Store) {
    let names: Vec<String> = store
        .schema
        .types
        .iter()
        .filter(|t| t.name.starts_with("workflow/state_") && !t.deleted)
        .map(|t| t.name.clone())
        .collect();
    for n in names {
        store.default_workflow_states(&n);
    }
}
