//! Stream every row of a large database with keyset pagination (never `q/no-limit` on the
//! wire), then the top rows of an ordered, limited query. `cargo run --example query_stream`.

use fibery_examples as common;

use fibery_client::core::command::Command;
use fibery_client::{Filter, Order, Query};
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = common::connect().await?;
    let client = &session.client;
    if session.emulator.is_some() {
        // Seed 2,500 rows with core commands: 25 requests of 100 commands.
        let cmds = (0..2500).map(|i| {
            let entity = json!({"fibery/id": Uuid::new_v4(), "Projects/Name": format!("row {i}"),
                "Projects/Effort": i % 10});
            Command::create("Projects/Task", entity)
        });
        let results = client.execute(cmds).await?;
        println!(
            "seeded {} rows",
            results.iter().filter(|r| r.is_ok()).count()
        );
    }

    let q = Query::from("Projects/Task")
        .select(["Projects/Name", "Projects/Effort"])
        .filter(Filter::lt("Projects/Effort", 3))
        .no_limit(); // a stream honours `q/limit`: `no_limit` for every row
    let before = client.stats().requests;
    let mut stream = std::pin::pin!(client.query_stream_with_page_size(&q, 1000));
    let mut n = 0;
    while let Some(row) = stream.try_next().await? {
        if n < 3 {
            println!("  {row}");
        }
        n += 1;
    }
    println!(
        "streamed {n} rows in {} page requests",
        client.stats().requests - before
    );
    println!("count(): {}", client.count(&q).await?);

    // The query's order and limit are kept: a keyset on (effort, id).
    let top = Query::from("Projects/Task")
        .select(["Projects/Name", "Projects/Effort"])
        .order_by("Projects/Effort", Order::Desc)
        .limit(3);
    for row in client.query_all(&top).await? {
        println!("  top: {row}");
    }
    session.finish().await;
    Ok(())
}
