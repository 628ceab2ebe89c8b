//! Issue 13 (client items) and issue 14 item 8 against the emulator: set-semantics writes
//! past 100 items, `fibery.command/batch` failure shapes, errors by status, typed
//! validation on a cold schema cache, validator reasons.

use super::*;

use fibery_client::core::command::Command;
use fibery_emulator::BatchFailure;

const PROJECT: &str = "Projects/Project";

/// A project with its task collection (set semantics on update and upsert). Derived: the
/// hand-written `FiberyEntity` of this binary is `Task`'s.
#[fibery_client::entity(type = "Projects/Project")]
#[derive(Debug, Clone, PartialEq, Default)]
struct ProjectTasks {
    #[fibery(field = "Projects/Name")]
    name: String,
    #[fibery(relation = "Projects/Tasks")]
    tasks: Vec<Uuid>,
    #[fibery(id)]
    id: Option<Uuid>,
}

/// The ids of every task of project `pid`, read task-side (no sub-query cap involved).
async fn tasks_of(client: &Client, pid: Uuid) -> HashSet<Uuid> {
    let by_project = Filter::eq(vec!["Projects/Project", "fibery/id"], pid.to_string());
    let q = Query::from(TASK)
        .select(["fibery/id"])
        .filter(by_project)
        .no_limit();
    let rows = client.query_all(&q).await.unwrap();
    rows.iter()
        .map(|r| Uuid::parse_str(r["fibery/id"].as_str().unwrap()).unwrap())
        .collect()
}

/// `got` holds exactly `want` (counts of the differences on failure, not 250 ids).
fn assert_same(got: HashSet<Uuid>, want: &[Uuid]) {
    let want: HashSet<Uuid> = want.iter().copied().collect();
    let extra = got.difference(&want).count();
    let missing = want.difference(&got).count();
    assert!(
        extra == 0 && missing == 0,
        "{extra} tasks should have been removed, {missing} are missing"
    );
}

#[tokio::test]
async fn set_semantics_writes_see_collections_past_the_hundredth_item() {
    let (_emu, client) = started().await;
    let pid = Uuid::new_v4();
    let projects = client.entities::<ProjectTasks>();
    let big = |tasks: Vec<Uuid>| ProjectTasks {
        id: Some(pid),
        name: "Big".into(),
        tasks,
    };
    projects.create(big(Vec::new())).await.unwrap();
    let ids = create_children(&client, pid, 250).await;
    assert_eq!(tasks_of(&client, pid).await.len(), 250);

    // Keep the first 50 and the last 100 (all past the 100th); drop the 100 in between.
    let keep: Vec<Uuid> = ids[..50].iter().chain(&ids[150..]).copied().collect();
    projects.update(&big(keep.clone())).await.unwrap();
    assert_same(tasks_of(&client, pid).await, &keep);

    // Upsert by name (set semantics too): only items past the 100th of the input remain.
    let last: Vec<Uuid> = ids[200..].to_vec();
    let upsert = ProjectTasks {
        id: None,
        name: "Big".into(),
        tasks: last.clone(),
    };
    let r = projects
        .upsert_all([upsert], "Projects/Name")
        .await
        .unwrap();
    assert_eq!(r.into_result().unwrap(), [pid]);
    assert_same(tasks_of(&client, pid).await, &last);
}

fn create_project(name: &str) -> Command {
    Command::create(PROJECT, json!({"Projects/Name": name}))
}

fn bad_create() -> Command {
    Command::create(PROJECT, json!({"Projects/Nope": 1}))
}

#[tokio::test]
async fn command_batch_reports_per_command_when_partial_and_fails_whole_when_atomic() {
    let cmds = || vec![create_project("a"), bad_create(), create_project("b")];
    // Partial: the failed command's error at its index, the others' results around it.
    let emu = common::emulator_builder("project-management", TOKEN)
        .batch_failure(BatchFailure::Partial)
        .start()
        .await
        .unwrap();
    let client = fast(&emu).build().unwrap();
    let results = client.command_batch(cmds()).await.unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap()["Projects/Name"], "a");
    assert_eq!(results[2].as_ref().unwrap()["Projects/Name"], "b");
    crate::common::assert_command_failed(
        &results[1],
        1,
        "fibery.entity/create",
        "entity.error/schema-field-not-found",
    );
    assert_eq!(emu.entities(PROJECT).len(), 2);

    // Atomic (the default): the batch fails as a whole, typed, and nothing is applied.
    let (emu, client) = started().await;
    match client.command_batch(cmds()).await {
        Err(Error::Command { command, error, .. }) => {
            assert_eq!(command, "fibery.command/batch");
            assert_eq!(error.name, "entity.error/schema-field-not-found");
        }
        other => panic!("{other:?}"),
    }
    assert!(emu.entities(PROJECT).is_empty());
    // Both modes agree on a batch that succeeds.
    let ok = client
        .command_batch([create_project("c"), create_project("d")])
        .await
        .unwrap();
    assert!(ok.iter().all(Result::is_ok), "{ok:?}");
}

#[tokio::test]
async fn missing_things_are_not_found_on_every_endpoint() {
    let (_emu, client) = started().await;
    let secret = Uuid::new_v4().to_string();
    let mut sink = Vec::new();
    let errors = [
        client.delete_webhook(987_654).await.unwrap_err(),
        client.document(&secret, DocFormat::Md).await.unwrap_err(),
        client.download_file(&secret, &mut sink).await.unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        assert!(!e.may_have_been_sent());
    }
}

/// A query with a misspelt field (`Projects/Nmae`).
fn misspelt() -> Query {
    Query::from(TASK).select(["Projects/Nmae"]).limit(1)
}

fn assert_did_you_mean(e: &Error) {
    let v = e
        .violations()
        .unwrap_or_else(|| panic!("not a validation error: {e:?}"));
    assert_eq!(v[0].rule, Rule::UnknownField, "{v:?}");
    assert!(v[0].reason.contains("Projects/Name"), "{}", v[0].reason);
}

#[tokio::test]
async fn a_misspelt_field_is_the_same_validation_error_on_a_cold_and_a_warm_cache() {
    let emu = emulator(None).await;
    let cold = fast(&emu).build().unwrap();
    let e = cold.query(&misspelt()).await.unwrap_err();
    assert_did_you_mean(&e);
    // Warm: the schema is cached now (and on a fresh client after `schema()`).
    assert_did_you_mean(&cold.query(&misspelt()).await.unwrap_err());
    let warm = fast(&emu).build().unwrap();
    warm.schema().await.unwrap();
    assert_did_you_mean(&warm.query(&misspelt()).await.unwrap_err());
    // A misspelt type too.
    let q = Query::from("Projects/Nope").select(["fibery/id"]).limit(1);
    let e = fast(&emu).build().unwrap().query(&q).await.unwrap_err();
    assert_eq!(e.violations().unwrap()[0].rule, Rule::UnknownType, "{e:?}");
}

#[tokio::test]
async fn validator_failures_name_the_fibery_field_and_the_bounds() {
    let (_emu, client) = started().await;
    let bad = Task {
        name: String::new(),
        effort: Some(-1),
        ..Default::default()
    };
    let e = client.entities::<Task>().create(bad).await.unwrap_err();
    let shown: Vec<String> = e
        .violations()
        .unwrap()
        .iter()
        .map(|v| format!("{}: {}", v.field, v.reason))
        .collect();
    assert_eq!(
        shown,
        [
            "Projects/Effort: must be >= 0, got -1",
            "Projects/Name: length must be 1..200, got 0"
        ]
    );
    assert!(
        e.to_string()
            .contains("Projects/Name: length must be 1..200, got 0")
    );
}
