//! Fibery compares fields with `$params`, never with values written into `q/where` ([D]: "fields
//! are not compared to a value directly"; [MCP]: inline values do not work). fibery-core's
//! parser reads inline values leniently, so the emulator refuses them here, on the raw JSON,
//! unless [`Behaviour::allow_inline_values`](super::Behaviour) is set.

use fibery_core::command::names;
use fibery_core::error::FiberyError;
use serde_json::{Value, json};

use crate::error;

/// The first inline value in the queries of a raw command (through batches).
pub(super) fn check_command(raw: &Value) -> Result<(), FiberyError> {
    let args = raw.get("args");
    match raw.get("command").and_then(Value::as_str) {
        Some(names::QUERY) => match args.and_then(|a| a.get("query")) {
            Some(q) => check_query(q),
            None => Ok(()),
        },
        Some(names::BATCH) => match args.and_then(|a| a.get("commands")) {
            Some(Value::Array(cs)) => cs.iter().try_for_each(check_command),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A query's `q/where` and those of its sub-queries.
fn check_query(q: &Value) -> Result<(), FiberyError> {
    if let Some(w) = q.get("q/where") {
        check_filter(w)?;
    }
    match q.get("q/select") {
        Some(Value::Object(m)) => m.values().try_for_each(check_select_value),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|m| m.values())
            .try_for_each(check_select_value),
        _ => Ok(()),
    }
}

fn check_select_value(v: &Value) -> Result<(), FiberyError> {
    if v.get("q/select").is_some() {
        check_query(v)
    } else {
        Ok(())
    }
}

/// `["q/and", ..]` / `["q/or", ..]` recurse; other operators' right operands must not be
/// inline values.
fn check_filter(w: &Value) -> Result<(), FiberyError> {
    let Some(arr) = w.as_array() else {
        return Ok(());
    };
    match arr.first().and_then(Value::as_str) {
        Some("q/and" | "q/or") => arr[1..].iter().try_for_each(check_filter),
        Some(_) => arr.get(2).map_or(Ok(()), check_right),
        None => Ok(()),
    }
}

/// A right operand: a `$param`, a path or a function is fine; anything else is inline.
fn check_right(v: &Value) -> Result<(), FiberyError> {
    let ok = match v {
        Value::String(s) => s.starts_with('$'),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(error::new(
        fibery_core::error::names::QUERY_EXPR_INVALID,
        format!(
            "Inline value {v} in \"q/where\": compare fields with a \"$param\" passed in \"params\"."
        ),
    )
    .with_data(json!({"expr": v})))
}
