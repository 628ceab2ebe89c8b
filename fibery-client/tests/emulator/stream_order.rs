//! `query_stream` keeps the query's order and limit (keyset on order key, then id).

use super::*;
use fibery_client::{Order, Unpageable};

/// 30 tasks; `Projects/Effort` is `i % 7` with every fifth left null (ties and nulls).
async fn tasks_with_efforts(client: &Client) {
    let cmds: Vec<Value> = (0..30)
        .map(|i| {
            let mut entity = json!({"fibery/id": Uuid::new_v4(), "Projects/Name": format!("e{i}")});
            if i % 5 != 0 {
                entity["Projects/Effort"] = json!(i % 7);
            }
            json!({"command": "fibery.entity/create", "args": {"type": TASK, "entity": entity}})
        })
        .collect();
    for r in client.execute(cmds).await.unwrap() {
        r.unwrap();
    }
}

/// The (effort, id) of every stored task, sorted as Fibery orders them: by effort (nulls
/// last ascending, first descending), ties by id.
fn expected(emu: &Emulator, order: Order) -> Vec<(Option<i64>, String)> {
    let mut all: Vec<(Option<i64>, String)> = emu
        .entities(TASK)
        .iter()
        .map(|e| {
            let effort = e.get("Projects/Effort").and_then(Value::as_i64);
            (effort, e["fibery/id"].as_str().unwrap().to_owned())
        })
        .collect();
    all.sort_by(|(a, ia), (b, ib)| {
        let by_key = match (a, b, order) {
            (None, None, _) => std::cmp::Ordering::Equal,
            (None, Some(_), Order::Asc) | (Some(_), None, Order::Desc) => {
                std::cmp::Ordering::Greater
            }
            (Some(_), None, Order::Asc) | (None, Some(_), Order::Desc) => std::cmp::Ordering::Less,
            (Some(x), Some(y), Order::Asc) => x.cmp(y),
            (Some(x), Some(y), Order::Desc) => y.cmp(x),
        };
        by_key.then_with(|| ia.cmp(ib))
    });
    all
}

fn pairs(rows: &[Value]) -> Vec<(Option<i64>, String)> {
    rows.iter()
        .map(|r| {
            let id = r["fibery/id"].as_str().unwrap().to_owned();
            (r["Projects/Effort"].as_i64(), id)
        })
        .collect()
}

#[tokio::test]
async fn query_stream_keeps_order_limit_and_offset() {
    let emu = emulator(None).await;
    let client = fast(&emu).page_size(4).build().unwrap();
    tasks_with_efforts(&client).await;
    for order in [Order::Asc, Order::Desc] {
        let want = expected(&emu, order);
        let q = Query::from(TASK)
            .select(["fibery/id", "Projects/Effort"])
            .order_by("Projects/Effort", order);
        for k in [1, 3] {
            let all = common::rows(
                client
                    .query_stream(&q.clone().no_limit())
                    .pages_per_request(k),
            )
            .await;
            assert_eq!(
                pairs(&all),
                want,
                "{order:?}, k {k}: every row once, in order"
            );

            let before = client.stats().requests;
            let capped = common::rows(
                client
                    .query_stream(&q.clone().limit(5))
                    .pages_per_request(k),
            )
            .await;
            assert_eq!(pairs(&capped), want[..5], "{order:?}, k {k}: the first 5");
            // k = 1: a page of 4, then a page of 1; k = 3: both pages in one request.
            let requests = if k == 1 { 2 } else { 1 };
            assert_eq!(
                client.stats().requests - before,
                requests,
                "{order:?}, k {k}"
            );

            let mut skipped = q.clone().limit(9);
            skipped.offset = Some(8);
            let rows = common::rows(client.query_stream(&skipped).pages_per_request(k)).await;
            assert_eq!(
                pairs(&rows),
                want[8..17],
                "{order:?}, k {k}: offset 8, limit 9"
            );

            // An offset past the first phase (the 6 nulls come first descending).
            let mut late = q.clone().no_limit();
            late.offset = Some(27);
            let rows = common::rows(client.query_stream(&late)).await;
            assert_eq!(pairs(&rows), want[27..], "{order:?}, k {k}: offset 27");
        }
    }
    // The order key and the id, when not selected, are removed from the rows.
    let q = Query::from(TASK)
        .select(["Projects/Name"])
        .order_by("Projects/Effort", Order::Desc)
        .limit(3);
    let rows = client.query_all(&q).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r.as_object().unwrap().len() == 1),
        "{rows:?}"
    );
    // Ordering by `fibery/id` descending is a plain keyset too.
    let q = Query::from(TASK)
        .select(["fibery/id"])
        .order_by("fibery/id", Order::Desc)
        .no_limit();
    let ids: Vec<String> = client
        .query_all(&q)
        .await
        .unwrap()
        .iter()
        .map(|r| r["fibery/id"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = expected(&emu, Order::Asc)
        .into_iter()
        .map(|p| p.1)
        .collect();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, want);
}

#[tokio::test]
async fn query_stream_refuses_orders_it_cannot_keep() {
    let (_emu, client) = started().await;
    let before = client.stats().requests;
    let two_keys = Query::from(TASK)
        .select(["Projects/Name"])
        .order_by("Projects/Effort", Order::Asc)
        .order_by("Projects/Name", Order::Asc);
    match client.query_all(&two_keys).await.unwrap_err() {
        Error::Unpageable {
            type_name,
            reason: Unpageable::SeveralOrderKeys { keys },
        } => {
            assert_eq!(type_name, TASK);
            assert_eq!(keys, ["Projects/Effort", "Projects/Name"]);
        }
        other => panic!("{other:?}"),
    }
    let by_project = Query::from(TASK)
        .select(["Projects/Name"])
        .order_by(["Projects/Project", "Projects/Name"], Order::Asc);
    let err = client.query_all(&by_project).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unpageable {
                reason: Unpageable::RelationPath { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_been_sent());
    assert_eq!(client.stats().requests, before, "nothing was sent");
}
