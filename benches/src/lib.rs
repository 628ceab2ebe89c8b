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

use fibery_client::{EntityRef, FiberyEntity, Validate};
use serde_json::{Value, json};
use uuid::Uuid;

/// A `Projects/Task` of the sample schema with primitives, enums and a relation.
#[derive(FiberyEntity, Validate, Debug, Clone, PartialEq)]
#[fibery(type = "Projects/Task")]
pub struct Task {
    /// Entity id.
    #[fibery(id)]
    pub id: Option<Uuid>,
    /// Title.
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 500))]
    pub name: String,
    /// Unique key.
    #[fibery(field = "Projects/External Id")]
    pub external_id: Option<String>,
    /// Decimal.
    #[fibery(field = "Projects/Estimate")]
    pub estimate: Option<f64>,
    /// Integer.
    #[fibery(field = "Projects/Effort")]
    #[validate(range(min = 0))]
    pub effort: Option<i64>,
    /// Date (`YYYY-MM-DD`).
    #[fibery(field = "Projects/Due")]
    pub due: Option<String>,
    /// Boolean.
    #[fibery(field = "Projects/Done")]
    pub done: bool,
    /// Single-select by option name.
    #[fibery(enum_field = "Projects/Priority")]
    pub priority: Option<String>,
    /// Workflow state by name.
    #[fibery(enum_field = "workflow/state")]
    pub state: Option<String>,
    /// Single relation.
    #[fibery(relation = "Projects/Project")]
    pub project: Option<EntityRef>,
}

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
        due: (!i.is_multiple_of(5)).then(|| format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
        done: i.is_multiple_of(2),
        priority: Some(PRIOS[i % 4].to_string()),
        state: Some(STATES[i % 3].to_string()),
        project: None,
    }
}

/// `n` rows shaped like the answer to a query selecting [`Task::select`].
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
                "Projects/Due": t.due,
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
