//! Shared pieces of the fibery-rs benchmarks: the derived entity every benchmark writes and
//! reads, and generators of entities and query rows.
//!
//! * `cargo run --release -p fibery-benches --bin bench-report` prints one line per figure
//!   (throughput at the rate limit, batching sweep, naive baseline, export, CLI memory).
//! * `cargo bench -p fibery-benches` runs the divan CPU-overhead benches.
//!
//! ```
//! use fibery_benches::{Task, query_rows, task};
//! use fibery_client::FiberyEntity;
//! let t = task(7);
//! let enc = t.encode().unwrap();
//! assert_eq!(enc.fields["Projects/Name"], "Task number 7");
//! let rows = query_rows(3);
//! assert_eq!(Task::decode(&rows[0]).unwrap().name, "Task number 0");
//! ```

pub mod figure;
pub mod latency;
pub mod phase;
pub mod report;

use fibery_client::time::{Date, Month};
use serde_json::{Value, json};
use uuid::Uuid;

/// The `Projects/Task` every benchmark writes and reads: the examples' entity (primitives,
/// a date, enums and a relation), so that the figures measure what a user's code runs.
pub use fibery_examples::Task;

const PRIOS: [&str; 4] = ["Low", "Medium", "High", "Critical"];
const STATES: [&str; 3] = ["Open", "In Progress", "Done"];

/// The `i`-th generated task (no id, no project).
pub fn task(i: usize) -> Task {
    Task {
        id: None,
        name: format!("Task number {i}"),
        external_id: Some(format!("B-{i:07}")),
        estimate: Some((i % 40) as f64 + 0.5),
        effort: Some((i % 13) as i64),
        due: (!i.is_multiple_of(5)).then(|| due(i)),
        done: i.is_multiple_of(2),
        priority: Some(PRIOS[i % 4].to_string()),
        state: Some(STATES[i % 3].to_string()),
        tags: Vec::new(),
        project: None,
    }
}

/// The due date of the `i`-th task (a day in 2026).
fn due(i: usize) -> Date {
    let month = Month::try_from(1 + (i % 12) as u8).expect("1 to 12 is a month");
    Date::from_calendar_date(2026, month, 1 + (i % 28) as u8).expect("days 1 to 28 exist")
}

/// `n` rows shaped like the answer to a query selecting [`Task`]'s fields (`Task::select()`).
pub fn query_rows(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let t = task(i);
            json!({
                "fibery/id": Uuid::from_u128(i as u128 + 1).to_string(),
                "Projects/Name": t.name,
                "Projects/External Id": t.external_id,
                "Projects/Estimate": t.estimate,
                "Projects/Effort": t.effort,
                "Projects/Due": t.due.map(|d| d.to_string()),
                "Projects/Done": t.done,
                "Projects/Priority": {"enum/name": t.priority},
                "workflow/state": {"enum/name": t.state},
                "Projects/Project": if i.is_multiple_of(3) { Value::Null } else {
                    json!({"fibery/id": Uuid::from_u128(1_000_000 + (i % 8) as u128).to_string()})
                },
            })
        })
        .collect()
}
