//! Query engine bench: filter + order + limit over 100k entities; keyset pages, indexed
//! equality, 100-entity creates and memory per entity at 10,000 / 100,000 (/ 1,000,000)
//! entities.

use serde_json::{Map, Value, json};

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

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

/// Store sizes of the scale benches (1,000,000 only with `EMULATOR_BENCH_MILLION=1`: it
/// takes a few GB and a minute to fill).
fn sizes() -> Vec<usize> {
    let mut v = vec![10_000, 100_000];
    if std::env::var_os("EMULATOR_BENCH_MILLION").is_some() {
        v.push(1_000_000);
    }
    v
}

/// `n` tasks of ten primitive fields each (seven written, id, public id, two dates).
fn filled(n: usize) -> fibery_emulator::__bench::Prepared {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/project-management.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let schema = fibery_emulator::schema_from_value(v).unwrap();
    fibery_emulator::__bench::prepare(schema, "Projects/Task", n, |i| {
        let mut m = Map::new();
        m.insert("Projects/Name".into(), json!(format!("task {i}")));
        m.insert("Projects/Effort".into(), json!((i * 7919) % 1000));
        m.insert("Projects/Estimate".into(), json!(format!("{}.5", i % 50)));
        m.insert("Projects/Done".into(), json!(i % 3 == 0));
        m.insert("Projects/External Id".into(), json!(format!("ext-{i}")));
        m.insert("Projects/Due".into(), json!("2026-12-01"));
        m.insert("Projects/Days Left".into(), json!(i % 30));
        m
    })
}

/// Resident bytes per stored entity (RSS delta of filling the store, printed; the timed part
/// is a trivial read).
#[divan::bench(args = sizes(), sample_count = 1)]
fn memory_per_entity(bencher: divan::Bencher, n: usize) {
    let before = rss();
    let p = filled(n);
    let bytes = rss().saturating_sub(before);
    println!("memory n={n} rss_bytes_per_entity={}", bytes / n);
    bencher.bench_local(|| {
        fibery_emulator::__bench::query(
            &p,
            &json!({"query":
        {"q/from": "Projects/Task", "q/select": ["fibery/id"], "q/limit": 1}}),
        )
    });
}

/// A page of the tasks with one external id (`=` on a text field: the value index).
#[divan::bench(args = sizes(), sample_count = 20)]
fn text_equality(bencher: divan::Bencher, n: usize) {
    let p = filled(n);
    let args = json!({"query": {"q/from": "Projects/Task",
        "q/select": ["fibery/id", "Projects/Name"],
        "q/where": ["=", ["Projects/External Id"], "$ext"], "q/limit": 500},
        "params": {"$ext": format!("ext-{}", n / 2)}});
    let first = fibery_emulator::__bench::query(&p, &args);
    assert_eq!(first.as_array().map(Vec::len), Some(1));
    bencher.bench_local(|| fibery_emulator::__bench::query(&p, divan::black_box(&args)));
}

/// One 500-row keyset page (`fibery/id > cursor`, ordered by `fibery/id`) from the middle.
#[divan::bench(args = sizes(), sample_count = 20)]
fn keyset_page_500(bencher: divan::Bencher, n: usize) {
    let p = filled(n);
    let all = fibery_emulator::__bench::query(
        &p,
        &json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"],
            "q/order-by": [[["fibery/id"], "q/asc"]], "q/limit": 1, "q/offset": n / 2}}),
    );
    let cursor = all[0]["fibery/id"].clone();
    let args = json!({"query": {"q/from": "Projects/Task",
        "q/select": ["fibery/id", "Projects/Name", "Projects/Effort", "Projects/Estimate"],
        "q/where": [">", ["fibery/id"], "$cursor"],
        "q/order-by": [[["fibery/id"], "q/asc"]], "q/limit": 500}, "params": {"$cursor": cursor}});
    let first = fibery_emulator::__bench::query(&p, &args);
    assert_eq!(first.as_array().map(Vec::len), Some(500));
    bencher.bench_local(|| fibery_emulator::__bench::query(&p, divan::black_box(&args)));
}

/// One request of 100 `fibery.entity/create` commands (the store grows by 100 per sample).
#[divan::bench(args = sizes(), sample_count = 20)]
fn create_100(bencher: divan::Bencher, n: usize) {
    let mut p = filled(n);
    let mut round = 0usize;
    bencher.bench_local(|| {
        round += 1;
        let body: Vec<Value> = (0..100)
            .map(|i| {
                json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
                "entity": {"Projects/Name": format!("new {round}-{i}"), "Projects/Effort": i,
                    "Projects/Estimate": "1.5", "Projects/Done": false}}})
            })
            .collect();
        let body = serde_json::to_vec(&body).unwrap();
        let out = fibery_emulator::__bench::commands(&mut p, &body);
        assert_eq!(out[99]["success"], true);
        out
    });
}
