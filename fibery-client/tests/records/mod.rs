//! The write pipeline against the emulator: per-item reports, request counts read from the
//! emulator's request log, untyped records, chunks in flight.

use super::*;

/// An emulator and a fast client that has read the schema and the option lists already,
/// so that the requests after a mark are the writes only.
async fn warmed() -> (Emulator, Client) {
    let (emu, client) = started().await;
    client.schema().await.unwrap();
    for t in [
        "Projects/Tags_Projects/Task",
        "Projects/Priority_Projects/Task",
    ] {
        client.enum_options(t).await.unwrap();
    }
    (emu, client)
}

#[tokio::test]
async fn create_all_writes_every_valid_item_and_reports_each_invalid_one() {
    let (emu, client) = warmed().await;
    let mark = emu.request_log().len();
    let bad = [10, 200, 450, 700, 999];
    let items: Vec<Task> = (0..1000)
        .map(|i| match i {
            10 => task(""),
            200 => Task {
                effort: Some(-1),
                ..task("bad effort")
            },
            450 => Task {
                priority: Some("Urgentest".into()),
                ..task("bad priority")
            },
            700 => task(&"x".repeat(201)),
            999 => Task {
                tags: vec!["nope".into()],
                ..task("bad tag")
            },
            i => task(&format!("ok {i}")),
        })
        .collect();
    let report = client.entities::<Task>().create_all(items).await.unwrap();
    assert_eq!(report.written(), 995);
    let invalid: Vec<(usize, &[fibery_client::Violation])> = report.invalid().collect();
    assert_eq!(invalid.iter().map(|(i, _)| *i).collect::<Vec<_>>(), bad);
    assert_eq!(report.refused().count(), 0);
    let first = |i: usize| &invalid.iter().find(|(at, _)| *at == i).unwrap().1[0];
    for (i, field, rule, reason) in [
        (
            10,
            "Projects/Name",
            Rule::Validator,
            "length must be 1..200, got 0",
        ),
        (
            200,
            "Projects/Effort",
            Rule::Validator,
            "must be >= 0, got -1",
        ),
        (
            450,
            "Projects/Priority",
            Rule::UnknownOption,
            "\"Urgentest\"",
        ),
        (
            700,
            "Projects/Name",
            Rule::Validator,
            "length must be 1..200, got 201",
        ),
        (999, "Projects/Tags", Rule::UnknownOption, "\"nope\""),
    ] {
        let v = first(i);
        assert_eq!((v.field.as_str(), v.rule), (field, rule), "item {i}");
        assert!(v.reason.contains(reason), "item {i}: {}", v.reason);
    }
    for (i, e) in report.errors() {
        assert!(matches!(e, Error::Validation { index: Some(at), .. } if *at == i));
    }
    // Exactly the 995 creates went out (no query, no other command), in ceil(995/100)
    // requests: no request carried an invalid item.
    let sent = &emu.request_log()[mark..];
    assert!(
        sent.iter()
            .all(|r| r.path == "/api/commands" && r.status == 200)
    );
    assert_eq!(sent.iter().map(|r| r.commands).sum::<usize>(), 995);
    assert_eq!(sent.len(), 10);
    let stored = emu.entities(TASK);
    assert_eq!(stored.len(), 995);
    assert!(
        stored
            .iter()
            .all(|e| e["Projects/Name"].as_str().unwrap().starts_with("ok "))
    );
}

#[tokio::test]
async fn thousand_rich_text_rows_cost_two_requests_per_chunk() {
    let (emu, client) = warmed().await;
    let mark = emu.request_log().len();
    let report = create_documented(&client, 1000).await;
    // Per chunk of 99 rows: the creates with the secrets query, then the documents.
    let sent = &emu.request_log()[mark..];
    assert!(sent.len() <= 2 * 10 + 2, "{} requests", sent.len());
    assert_eq!(sent.len(), 2 * 11);
    let commands: Vec<&str> = sent.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        commands
            .iter()
            .filter(|p| **p == "/api/documents/commands")
            .count(),
        11
    );
    let ids = report.ids();
    for at in [0, 500, 999] {
        let t = client
            .entities::<Task>()
            .get(ids[at])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            t.description.as_deref().map(str::trim),
            Some(&*format!("body **{at}**"))
        );
    }
}

#[tokio::test]
async fn untyped_records_resolve_options_collections_and_rich_text() {
    let (emu, client) = started().await;
    let record = |v: Value| v.as_object().cloned().unwrap();
    let items = vec![
        record(json!({
            "Projects/Name": "untyped",
            "Projects/Priority": "High",
            "Projects/Tags": ["api", "backend"],
            "Projects/Description": "from a *map*",
        })),
        record(json!({"Projects/Name": "bad effort", "Projects/Effort": "many"})),
        record(json!({"Projects/Name": "bad tag", "Projects/Tags": ["nope"]})),
    ];
    let report = client.records(TASK).create_all(items).await.unwrap();
    assert_eq!(
        report.written(),
        1,
        "{:?}",
        report.errors().collect::<Vec<_>>()
    );
    let invalid: Vec<usize> = report.invalid().map(|(i, _)| i).collect();
    assert_eq!(invalid, [1, 2]);
    let id = report.ids()[0];
    let t = client.entities::<Task>().get(id).await.unwrap().unwrap();
    assert_eq!(t.priority.as_deref(), Some("High"));
    assert_eq!(t.tags, ["api", "backend"]);
    assert_eq!(
        t.description.as_deref().map(str::trim),
        Some("from a *map*")
    );
    assert_eq!(emu.entities(TASK).len(), 1);

    // Update sets collections exactly; an item without an id is reported, not sent.
    let changes = vec![
        record(json!({"fibery/id": id, "Projects/Tags": ["api"], "Projects/Effort": 4})),
        record(json!({"Projects/Effort": 1})),
    ];
    let report = client.records(TASK).update_all(changes).await.unwrap();
    assert_eq!(report.written(), 1);
    let (at, vs) = report.invalid().next().unwrap();
    assert_eq!(
        (at, vs[0].field.as_str(), vs[0].rule),
        (1, "fibery/id", Rule::Required)
    );
    let t = client.entities::<Task>().get(id).await.unwrap().unwrap();
    assert_eq!(
        (t.tags.as_slice(), t.effort),
        (&["api".to_owned()][..], Some(4))
    );
}

#[tokio::test]
async fn chunks_are_in_flight_together() {
    let (emu, client) = warmed().await;
    let latency = Duration::from_millis(300);
    emu.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    let mark = emu.request_log().len();
    let items: Vec<Task> = (0..800).map(|i| task(&format!("lane {i}"))).collect();
    let report = client.entities::<Task>().create_all(items).await.unwrap();
    assert_eq!(report.written(), 800);
    // Sent one after another, each request would arrive at least `latency` after the one
    // before (its answer takes that long); in flight together, they arrive before.
    let sent = &emu.request_log()[mark..];
    assert_eq!(sent.len(), 8);
    let overlapping = sent
        .windows(2)
        .filter(|w| w[1].at.duration_since(w[0].at) < latency)
        .count();
    assert!(overlapping >= 4, "{overlapping} of 7 requests overlapped");
}

#[tokio::test]
async fn merged_upsert_adds_collection_items_in_its_write_request() {
    let (emu, client) = warmed().await;
    let record = |v: Value| v.as_object().cloned().unwrap();
    let key = "Projects/External Id";
    let first = vec![record(
        json!({"Projects/Name": "one", key: "M-1", "Projects/Tags": ["api"]}),
    )];
    let r1 = client.records(TASK).upsert_all(first, key).await.unwrap();
    assert_eq!(r1.written(), 1, "{:?}", r1.errors().collect::<Vec<_>>());
    let id = r1.ids()[0];
    let mark = emu.request_log().len();
    let again = vec![
        record(
            json!({"fibery/id": id, "Projects/Name": "one again", key: "M-1",
            "Projects/Tags": ["backend"]}),
        ),
        record(json!({"Projects/Name": "two", key: "M-2", "Projects/Tags": ["docs"]})),
    ];
    let merged = async |items: Vec<Map<String, Value>>| {
        let records = client.records(TASK).merge_collections();
        records.upsert_all(items, key).await.unwrap()
    };
    let r2 = merged(again).await;
    assert_eq!(r2.written(), 2, "{:?}", r2.errors().collect::<Vec<_>>());
    assert_eq!(
        r2.updated,
        [0],
        "the first item updated the existing entity"
    );
    // The write, the id query and the adds in one request.
    assert_eq!(r2.ids()[0], id);
    assert_eq!(emu.request_log().len() - mark, 1);
    let tags = |t: Task| t.tags;
    let get = async |id| client.entities::<Task>().get(id).await.unwrap().unwrap();
    assert_eq!(tags(get(id).await), ["api", "backend"]);

    // Another id for an existing key: the adds follow the entity's real id.
    let mark = emu.request_log().len();
    let other = vec![record(
        json!({"Projects/Name": "one", key: "M-1", "Projects/Tags": ["docs"]}),
    )];
    let r3 = merged(other).await;
    assert_eq!(r3.into_result().unwrap(), [id]);
    assert_eq!(emu.request_log().len() - mark, 2);
    assert_eq!(tags(get(id).await), ["api", "backend", "docs"]);
}
