//! Two-way sync. External JSON records are upserted into Fibery by their key; Fibery's
//! changes come back as JSON lines, from the change feed (a cursor saved between runs) and
//! from a webhook receiver (which also sees deletions, invisible to any query).
//!
//! `cargo run --example two_way_sync` (in-process emulator). Against a
//! workspace: `FIBERY_LIVE=1`, `FIBERY_ACCOUNT`, `FIBERY_TOKEN`, and `SYNC_PUBLIC_URL`, an
//! HTTPS address of this machine that Fibery can reach, forwarded to port `SYNC_PORT`.

use std::time::Duration;

use fibery_client::Client;
use fibery_client::changes::Cursor;
use fibery_client::events::Event;
use fibery_client::receiver::Receiver;
use serde_json::{Value, json};
use uuid::Uuid;

/// The part of a task this sync owns, named as the external records name it: only these
/// fields are written, so what users change in Fibery's other fields survives a push.
#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone)]
struct Synced {
    #[fibery(field = "Projects/External Id")]
    key: Option<String>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1))]
    title: String,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
    #[fibery(id)]
    id: Option<Uuid>,
}

const KEY: &str = "Projects/External Id";

/// The external system's records (a file or an API in a real sync).
fn external() -> Vec<Value> {
    (1..=5)
        .map(|i| json!({"key": format!("EXT-{i}"), "title": format!("External item {i}"), "effort": i}))
        .collect()
}

/// External JSON -> Fibery: upsert by the external key (re-running changes nothing new).
async fn push(client: &Client, records: &[Value]) -> Result<Vec<Uuid>, fibery_client::Error> {
    let tasks = records.iter().map(|r| Synced {
        id: None,
        title: r["title"].as_str().unwrap_or_default().to_owned(),
        key: r["key"].as_str().map(str::to_owned),
        effort: r["effort"].as_i64(),
    });
    client
        .entities::<Synced>()
        .upsert_all(tasks.collect::<Vec<_>>(), KEY)
        .await?
        .into_result()
}

/// Fibery -> JSON lines through the change feed, from `cursor`; returns the next cursor.
async fn pull(client: &Client, cursor: Cursor) -> Result<Cursor, fibery_client::Error> {
    let mut feed = client
        .changes("Projects/Task")
        .select(["Projects/Name", KEY, "Projects/Effort"])
        .since(cursor);
    while let Some(rows) = feed.next_page().await? {
        for row in rows {
            println!("feed     {row}");
        }
    }
    Ok(feed.cursor().clone())
}

/// Receives webhooks on `SYNC_PORT` (default: any free port) and prints each effect.
async fn start_receiver() -> Result<(Receiver, String), Box<dyn std::error::Error>> {
    let receiver = Receiver::builder()
        .capacity(256)
        .build(|event: Event| async move {
            for e in &event.effects {
                let mut line =
                    json!({"effect": e.kind.as_str(), "id": e.id, "changed": e.changed_fields()});
                if !e.values_before.is_empty() {
                    line["before"] = json!(e.values_before.get("Projects/Name"));
                }
                println!("webhook  {line}");
            }
        });
    let port: u16 = std::env::var("SYNC_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = std::env::var("SYNC_PUBLIC_URL")
        .unwrap_or_else(|_| format!("http://{}", listener.local_addr().unwrap()));
    let url = format!("{}{}", base.trim_end_matches('/'), receiver.path());
    let server = receiver.router();
    tokio::spawn(async move { axum::serve(listener, server).await });
    Ok((receiver, url))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = fibery_examples::connect().await?;
    let client = &session.client;
    let (receiver, url) = start_receiver().await?;
    let hook = client.create_webhook(&url, "Projects/Task").await?;

    let ids = push(client, &external()).await?;
    println!("pushed {} external records", ids.len());
    // First run: everything; the cursor would be saved to a state file here.
    let cursor = pull(client, Cursor::default()).await?;
    let saved = serde_json::to_string(&cursor)?;

    // Someone edits one task in Fibery and deletes another.
    let mut t = client
        .entities::<Synced>()
        .get(ids[0])
        .await?
        .expect("created");
    t.title = "Edited in Fibery".into();
    client.entities::<Synced>().update(&t).await?;
    client.entities::<Synced>().delete(ids[1]).await?;

    // Next run: only the edit. The deletion reaches us through the webhook alone.
    pull(client, serde_json::from_str(&saved)?).await?;
    tokio::time::sleep(Duration::from_millis(500)).await; // let the last webhooks arrive
    client.delete_webhook(hook.id).await?;
    receiver.close().await;
    println!("receiver: {:?}", receiver.stats());
    session.finish().await;
    Ok(())
}
