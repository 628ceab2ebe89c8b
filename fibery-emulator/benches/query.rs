//! Query engine bench: filter + order + limit over 100k entities.

use serde_json::{Map, Value, json};

fn main() {
    divan::main();
}

fn prepared() -> fibery_emulator::__bench::Prepared {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/project-management.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let schema = fibery_emulator::schema_from_value(v).unwrap();
    fibery_emulator::__bench::prepare(schema, "Projects/Task", 100_000, |i| {
        let mut m = Map::new();
        m.insert("Projects/Name".into(), json!(format!("task {i}")));
        m.insert("Projects/Effort".into(), json!((i * 7919) % 1000));
        m.insert("Projects/Estimate".into(), json!(format!("{}.5", i % 50)));
        m.insert("Projects/Done".into(), json!(i % 3 == 0));
        m
    })
}

#[divan::bench(sample_count = 10)]
fn filter_order_limit_100k(bencher: divan::Bencher) {
    let p = prepared();
    let args = json!({"query": {"q/from": "Projects/Task",
        "q/select": ["fibery/id", "Projects/Name", "Projects/Effort"],
        "q/where": ["q/and", [">=", ["Projects/Effort"], "$min"], ["=", ["Projects/Done"], "$done"]],
        "q/order-by": [[["Projects/Effort"], "q/desc"], [["Projects/Name"], "q/asc"]],
        "q/limit": 100}, "params": {"$min": 500, "$done": false}});
    let first = fibery_emulator::__bench::query(&p, &args);
    assert_eq!(first.as_array().map(Vec::len), Some(100));
    bencher.bench_local(|| fibery_emulator::__bench::query(&p, divan::black_box(&args)));
}
