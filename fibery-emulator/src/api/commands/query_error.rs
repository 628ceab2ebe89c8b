//! Fibery's errors for queries fibery-core's parser rejects: the one place the emulator turns
//! a typed [`QueryParseError`] into an envelope error.

use fibery_core::error::FiberyError;
use fibery_core::query::QueryParseError;
use serde_json::json;

use crate::error;

/// The Fibery error for a `fibery.entity/query` whose args do not parse: the kind's Fibery
/// name, the offending expression in `data.expr` (when there is one).
pub(super) fn query_error(e: &QueryParseError) -> FiberyError {
    let err = error::new(e.kind.fibery_name(), e.message.clone());
    if e.expr.is_null() {
        err
    } else {
        err.with_data(json!({"expr": *e.expr}))
    }
}
