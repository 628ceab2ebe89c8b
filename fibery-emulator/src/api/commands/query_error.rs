//! Fibery's error names for queries fibery-core's parser rejects: the one place they are
//! mapped from the parser's typed error kinds.

use fibery_core::error::{FiberyError, names};
use fibery_core::query::{ParseErrorKind, QueryParseError};
use serde_json::json;

use crate::error;

/// The Fibery error for a `fibery.entity/query` whose args do not parse.
pub(super) fn query_error(e: &QueryParseError) -> FiberyError {
    // Pointers are relative to the args: `/query/q/limit`, `/params`, ...
    let at = e.pointer.as_str();
    let name = match e.kind {
        // A missing or non-string `q/from` (sub-queries' `q/from` is a field: below).
        _ if at == "/query/q/from" => "entity.error/query-from-expr-not-found",
        ParseErrorKind::MissingKey if at.ends_with("/q/select") => {
            "entity.error/query-select-expr-not-found"
        }
        ParseErrorKind::MissingKey if at.ends_with("/q/limit") => names::QUERY_LIMIT_EXPR_NOT_FOUND,
        ParseErrorKind::UnknownOperator => "entity.error/query-function-not-supported",
        // The args themselves, `query` or `params` have the wrong shape.
        _ if matches!(at, "" | "/query" | "/params") => "command.error/invalid-args",
        _ => "entity.error/query-expr-invalid",
    };
    error::new(name, e.message.clone()).with_data(json!({"at": at}))
}
