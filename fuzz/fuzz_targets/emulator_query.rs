//! The emulator's query parser and evaluator (in process, through its benchmark hook) on
//! arbitrary `fibery.entity/query` arguments over a small store: never a panic.
#![no_main]

use std::sync::OnceLock;

use fibery_emulator::__bench::{Prepared, prepare, query};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fn store() -> &'static Prepared {
    static STORE: OnceLock<Prepared> = OnceLock::new();
    STORE.get_or_init(|| {
        prepare(
            project_management(),
            "Projects/Task",
            50,
            |i| {
                let mut m = Map::new();
                m.insert("Projects/Name".into(), json!(format!("Task {i}")));
                m.insert("Projects/Effort".into(), json!(i as i64 % 7));
                m.insert("Projects/Done".into(), json!(i % 2 == 0));
                m
            },
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(args) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = query(store(), &args);
});

/// fibery-core's shared project-management fixture.
fn project_management() -> fibery_core::schema::Schema {
    fibery_core::schema::Schema::parse(include_str!(
        "../../fibery-core/tests/fixtures/project-management.json"
    ))
    .expect("fixture schema")
}
