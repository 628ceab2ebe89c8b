//! Fibery's errors for commands and queries fibery-core's parsers reject: the one place the
//! emulator turns their typed error kinds into envelope errors.

use fibery_core::command::CommandParseError;
use fibery_core::error::FiberyError;
use fibery_core::query::QueryParseError;
use serde_json::{Value, json};

use crate::error;

/// The Fibery error for a command whose args do not parse (a query's own error for a query,
/// also inside a batch; otherwise `command.error/invalid-args`).
pub(super) fn command_error(e: &CommandParseError) -> FiberyError {
    with_expr(error::new(e.kind.fibery_name(), e.to_string()), &e.expr)
}

/// The Fibery error for `fibery.entity/query` args that do not parse.
pub(super) fn query_error(e: &QueryParseError) -> FiberyError {
    with_expr(error::new(e.kind.fibery_name(), e.to_string()), &e.expr)
}

/// The offending expression goes to `data.expr`, when there is one.
fn with_expr(err: FiberyError, expr: &Value) -> FiberyError {
    if expr.is_null() {
        err
    } else {
        err.with_data(json!({"expr": expr}))
    }
}
