//! Core's query and command JSON parsers on arbitrary bytes: `Ok` or a typed error, never a
//! panic; whatever parses must serialize to arguments that parse again.
#![no_main]

use fibery_core::command::{Command, CommandBatch, CommandResult};
use fibery_core::query::Query;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(q) = Query::from_args(&v) {
        let args = q.to_args();
        assert!(Query::from_args(&args).is_ok(), "re-parse failed: {args}");
        let _ = project_management().check_query(&q);
    }
    if let Some(q) = v.get("query") {
        let params = v
            .get("params")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let _ = Query::from_json(q, &params);
    }
    if let Ok(c) = Command::from_json(&v) {
        let _ = Command::from_json(&c.to_json());
    }
    let _ = CommandBatch::from_json(&v);
    let _ = CommandResult::parse_response(&v);
});

/// fibery-core's shared project-management fixture.
fn project_management() -> fibery_core::schema::Schema {
    fibery_core::schema::Schema::parse(include_str!(
        "../../fibery-core/tests/fixtures/project-management.json"
    ))
    .expect("fixture schema")
}
