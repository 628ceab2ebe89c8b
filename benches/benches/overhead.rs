//! Client CPU overhead, per entity and per request (divan): derive encode, validation
//! (validator rules and the workspace schema), serialization of a create command and of a
//! 100-command request body, and decoding 10,000 query rows into derived structs vs into
//! `serde_json::Value`.
//!
//! `cargo bench -p fibery-benches --bench overhead`

use divan::{Bencher, black_box};
use fibery_benches::{Task, query_rows, task};
use fibery_client::{FiberyEntity, Validate};
use fibery_core::validate::Mode;
use serde_json::{Value, json};

fn main() {
    divan::main();
}

/// `#[derive(FiberyEntity)]` encode of one entity.
#[divan::bench]
fn encode_entity(b: Bencher) {
    let t = task(42);
    b.bench(|| black_box(&t).encode().unwrap());
}

/// `validator` rules of one entity (`#[derive(Validate)]`).
#[divan::bench]
fn validate_rules(b: Bencher) {
    let t = task(42);
    b.bench(|| black_box(&t).validate().unwrap());
}

/// Schema validation of one encoded entity (`Schema::validate`, create mode).
#[divan::bench]
fn validate_schema(b: Bencher) {
    let schema = fibery_tests::sample_schema();
    let fields = task(42).encode().unwrap().fields;
    b.bench(|| {
        schema
            .validate(fibery_tests::TASK, black_box(&fields), Mode::Create)
            .unwrap()
    });
}

/// Building and serializing one `fibery.entity/create` command.
#[divan::bench]
fn serialize_create_command(b: Bencher) {
    let fields = task(42).encode().unwrap().fields;
    b.bench(|| {
        let cmd = json!({"command": "fibery.entity/create",
            "args": {"type": fibery_tests::TASK, "entity": black_box(&fields)}});
        serde_json::to_vec(&cmd).unwrap()
    });
}

/// One request's worth of client work: encode, validate and serialize 100 entities.
#[divan::bench]
fn request_of_100_entities(b: Bencher) {
    let schema = fibery_tests::sample_schema();
    let items: Vec<Task> = (0..100).map(task).collect();
    b.bench(|| {
        let cmds: Vec<Value> = black_box(&items)
            .iter()
            .map(|t| {
                t.validate().unwrap();
                let enc = t.encode().unwrap();
                schema
                    .validate(fibery_tests::TASK, &enc.fields, Mode::Create)
                    .unwrap();
                json!({"command": "fibery.entity/create",
                    "args": {"type": fibery_tests::TASK, "entity": enc.fields}})
            })
            .collect();
        serde_json::to_vec(&cmds).unwrap()
    });
}

fn rows_body() -> Vec<u8> {
    serde_json::to_vec(&query_rows(10_000)).unwrap()
}

/// Parse a 10,000-row query answer into `serde_json::Value` rows.
#[divan::bench(sample_count = 20)]
fn decode_10k_rows_into_value(b: Bencher) {
    let body = rows_body();
    b.bench(|| serde_json::from_slice::<Vec<Value>>(black_box(&body)).unwrap());
}

/// Parse the same answer and decode every row into the derived struct.
#[divan::bench(sample_count = 20)]
fn decode_10k_rows_into_struct(b: Bencher) {
    let body = rows_body();
    b.bench(|| {
        let rows: Vec<Value> = serde_json::from_slice(black_box(&body)).unwrap();
        rows.iter()
            .map(|r| Task::decode(r).unwrap())
            .collect::<Vec<_>>()
    });
}
