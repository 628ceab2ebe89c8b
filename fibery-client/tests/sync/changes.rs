//! The change feed: keyset paging on (modification date, id) and cursors across runs.

use std::collections::HashMap;

use fibery_client::changes::Cursor;
use fibery_client::{Client, Schema, Value};
use fibery_emulator::Emulator;

use super::{TASK, TOKEN, Task, client, task};

/// Runs the feed from `cursor` to its end; returns the ids read and the next cursor.
async fn run(client: &Client, cursor: Cursor, page: usize) -> (Vec<String>, Cursor) {
    let (rows, next) = client
        .changes(TASK)
        .select(["Projects/Name"])
        .page_size(page)
        .since(cursor)
        .all()
        .await
        .unwrap();
    (rows.iter().map(id_of).collect(), next)
}

fn id_of(row: &Value) -> String {
    row["fibery/id"].as_str().unwrap().to_owned()
}

/// Counts per id; panics on a repeat.
fn once(ids: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for id in ids {
        *n.entry(id.clone()).or_insert(0) += 1;
        assert_eq!(n[&id], 1, "{id} returned twice");
    }
    n
}

async fn emulator_on(data: &std::path::Path) -> Emulator {
    let fixture = crate::common::fixture("project-management.json");
    Emulator::builder()
        .schema(Schema::parse(&fixture).unwrap())
        .token(TOKEN)
        .without_rate_limits()
        .data_file(data)
        .start()
        .await
        .unwrap()
}

/// Sets the modification date of every stored task to `when` in a saved workspace file.
fn freeze_modification_dates(data: &std::path::Path, when: &str) -> usize {
    fn walk(v: &mut Value, when: &str, n: &mut usize) {
        match v {
            Value::Object(o) => {
                if o.contains_key("Projects/Name") && o.contains_key("fibery/modification-date") {
                    o.insert("fibery/modification-date".into(), when.into());
                    *n += 1;
                }
                o.values_mut().for_each(|x| walk(x, when, n));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, when, n)),
            _ => {}
        }
    }
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(data).unwrap()).unwrap();
    let mut n = 0;
    walk(&mut state, when, &mut n);
    std::fs::write(data, serde_json::to_vec(&state).unwrap()).unwrap();
    n
}

#[tokio::test]
async fn a_thousand_entities_in_one_millisecond_come_exactly_once_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("workspace.json");
    let emu = emulator_on(&data).await;
    let client = client(&emu).build().unwrap();
    let report = client
        .entities::<Task>()
        .create_all((0..1000).map(|i| task(&format!("t{i}"))))
        .await
        .unwrap();
    assert_eq!(report.failed(), 0);
    emu.shutdown().await;
    assert_eq!(
        freeze_modification_dates(&data, "2026-01-02T03:04:05.678Z"),
        1000
    );

    let emu = emulator_on(&data).await;
    let client = super::client(&emu).build().unwrap();
    let same_ms = client.changes(TASK).page_size(1000).all().await.unwrap().0;
    assert!(
        same_ms
            .iter()
            .all(|r| r["fibery/modification-date"] == "2026-01-02T03:04:05.678Z")
    );

    // Pages of 64 split the millisecond many times over.
    let (first, cursor) = run(&client, Cursor::default(), 64).await;
    assert_eq!(once(first).len(), 1000);
    let (again, cursor) = run(&client, cursor, 64).await;
    assert!(
        again.is_empty(),
        "nothing changed, yet {} rows came back",
        again.len()
    );
    // The cursor survives a save and load.
    let cursor: Cursor = serde_json::from_str(&serde_json::to_string(&cursor).unwrap()).unwrap();

    let ids: Vec<_> = report.ids().into_iter().take(5).collect();
    for id in &ids {
        let mut t = client.entities::<Task>().get(*id).await.unwrap().unwrap();
        t.effort = Some(1);
        client.entities::<Task>().update(&t).await.unwrap();
    }
    let (changed, _) = run(&client, cursor, 64).await;
    let mut want: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut got = changed;
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn writes_during_the_read_are_neither_lost_nor_repeated() {
    let emu = super::emulator().await;
    let client = client(&emu).build().unwrap();
    let tasks = client.entities::<Task>();
    let mut all: Vec<String> = tasks
        .create_all((0..300).map(|i| task(&format!("before {i}"))))
        .await
        .unwrap()
        .ids()
        .iter()
        .map(ToString::to_string)
        .collect();

    let mut feed = client.changes(TASK).page_size(50);
    let mut read = vec![];
    let mut round = 0;
    while let Some(rows) = feed.next_page().await.unwrap() {
        read.extend(rows.iter().map(id_of));
        // Writers keep going while the feed pages.
        if round < 4 {
            let new = tasks
                .create_all((0..10).map(|i| task(&format!("during {round}.{i}"))))
                .await
                .unwrap();
            all.extend(new.ids().iter().map(ToString::to_string));
        }
        round += 1;
    }
    let late = tasks.create(task("after")).await.unwrap().id.unwrap();
    all.push(late.to_string());
    let (rest, _) = run(&client, feed.cursor().clone(), 50).await;
    read.extend(rest);

    let counts = once(read);
    assert_eq!(counts.len(), all.len());
    assert!(all.iter().all(|id| counts.contains_key(id)));
}
