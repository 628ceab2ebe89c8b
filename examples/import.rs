//! A CSV import without the CLI: read `examples/data/tasks.csv`, map each row onto [`Task`],
//! upsert by `Projects/External Id` (a second run would update in place) and print what was
//! rejected. Rows that fail local validation (about 1% of the sample) are set aside by the
//! error's item index, before anything is sent. `cargo run --example import [ROWS]` (default:
//! the first 500 rows).

use fibery_client::Error;
use fibery_examples::{Task, connect};

const CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/tasks.csv");

/// One CSV row (`External Id,Name,Project,State,Priority,Tags,Estimate,Effort,Due,Done`) as a
/// task; the project column is left out (it names projects that do not exist yet).
fn task(row: &csv::StringRecord) -> Task {
    let col = |i: usize| row.get(i).unwrap_or("").trim();
    let opt = |i: usize| Some(col(i).to_owned()).filter(|s| !s.is_empty());
    let due = fibery_client::core::value::parse_date(col(8)).ok();
    Task {
        external_id: opt(0),
        name: col(1).to_owned(),
        state: opt(3),
        priority: opt(4),
        tags: col(5)
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        estimate: col(6).parse().ok(),
        effort: col(7).parse().ok(),
        due,
        done: col(9) == "true",
        ..Task::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map_or(Ok(500), |n| n.parse())?;
    let session = connect().await?;
    let mut reader = csv::Reader::from_path(CSV)?;
    let mut tasks: Vec<(usize, Task)> = reader
        .records()
        .take(rows)
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(task)
        .enumerate()
        .collect();
    let entities = session.client.entities::<Task>();
    let before = session.client.stats().requests;
    let mut rejected = Vec::new();
    let report = loop {
        let batch = tasks.iter().map(|(_, t)| t.clone());
        match entities.upsert_all(batch, "Projects/External Id").await {
            // A row that fails validation: set it aside (nothing was sent) and go again.
            Err(Error::Validation {
                index: Some(i),
                violations,
                ..
            }) => rejected.push((tasks.remove(i).0, violations)),
            other => break other?,
        }
    };
    println!(
        "imported {} rows ({} failed on the server), {} rejected locally, in {} requests",
        report.ids().len(),
        report.failed(),
        rejected.len(),
        session.client.stats().requests - before
    );
    for (row, violations) in rejected.iter().take(5) {
        println!("  CSV row {}: {}", row + 2, violations[0]);
    }
    session.finish().await;
    Ok(())
}
