//! End-to-end tests: the real `fibery` binary against an emulator started in this process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use fibery_emulator::{Emulator, EmulatorBuilder, Faults};
use fibery_tests::{all_output, output, sample_schema, sample_seed, wait_for_journal};
use serde_json::Value;

mod validate_first;

const TOKEN: &str = "cli-test-token";

/// The sample workspace (schema and seed), accepting [`TOKEN`], without rate limits.
fn workspace() -> EmulatorBuilder {
    Emulator::builder()
        .schema(sample_schema())
        .seed_json(sample_seed())
        .token(TOKEN)
        .without_rate_limits()
}

async fn emulator() -> Emulator {
    workspace().start().await.unwrap()
}

/// A fresh emulator and an empty working directory.
async fn setup() -> (Emulator, tempfile::TempDir) {
    (emulator().await, tempfile::tempdir().unwrap())
}

/// `fibery` started in the background with its output piped.
fn spawn(emu: &Emulator, dir: &Path, args: &[&str]) -> std::process::Child {
    let mut c = fibery(emu, dir, args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().unwrap()
}

fn fibery(emu: &Emulator, dir: &Path, args: &[&str]) -> Command {
    fibery_via(&emu.base_url(), dir, args)
}

/// `fibery args` in `dir` against the server at `base_url`.
fn fibery_via(base_url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("fibery").unwrap();
    c.current_dir(dir)
        .env_clear()
        .env("FIBERY_TOKEN", TOKEN)
        .arg("--base-url")
        .arg(base_url)
        .arg("--rps")
        .arg("200")
        .args(args);
    c
}

/// Runs `fibery args` against `emu` in `dir` and checks its exit code.
async fn expect(emu: &Emulator, dir: &Path, code: i32, args: &[&str]) -> Output {
    let o = output(fibery(emu, dir, args)).await;
    assert_eq!(o.status.code(), Some(code), "{}", text(&o));
    o
}

fn text(o: &Output) -> String {
    all_output(o)
}

/// The words of `s` as arguments (for argument lists without spaces inside an argument).
fn argv(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// `import <file> -t Projects/Task --key "Projects/External Id"`, then `extra`.
fn upsert<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["import", file, "-t", "Projects/Task", "--key", KEY];
    a.extend_from_slice(extra);
    a
}

/// `args` with `--resume` added.
fn resumed<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut a = args.to_vec();
    a.push("--resume");
    a
}

const KEY: &str = "Projects/External Id";

/// The lines of a JSON-lines file (or text), parsed.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Asserts that the emulator holds exactly `n` tasks, each external id once.
fn assert_each_task_once(emu: &Emulator, n: usize) {
    let ids = external_ids(emu);
    assert_eq!(ids.len(), n);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n);
}

/// With the faults cleared, `args --resume` finishes the import (exit 3: the bad rows) and
/// every one of the `n` tasks is stored once.
async fn resume_to_the_end(emu: &Emulator, dir: &Path, args: &[&str], n: usize) -> Output {
    set_latency(emu, 0);
    let o = expect(emu, dir, 3, &resumed(args)).await;
    assert_eq!(external_ids(emu).len(), n, "{}", text(&o));
    assert_each_task_once(emu, n);
    o
}

/// Slows every request of `emu` down by `ms` (0: no faults).
fn set_latency(emu: &Emulator, ms: u64) {
    emu.set_faults(Faults {
        latency: Duration::from_millis(ms),
        ..Faults::default()
    });
}

const HEADER: &str = "External Id,Name,Project,State,Priority,Tags,Estimate,Effort,Due,Done";
const PROJECTS: [&str; 3] = ["Apollo", "Borealis", "Cascade"];
const STATES: [&str; 3] = ["Open", "In Progress", "Done"];
const PRIOS: [&str; 4] = ["Low", "Medium", "High", "Critical"];
const TAGS: [&str; 4] = ["backend", "frontend", "api", "docs"];

/// `n` valid rows, in input order: (external id, csv line).
fn good_rows(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            let ext = format!("T-{i:04}");
            let tags = match i % 3 {
                0 => String::new(),
                1 => TAGS[i % 4].to_string(),
                _ => format!("\"{}, {}\"", TAGS[i % 4], TAGS[(i + 1) % 4]),
            };
            let due = if i % 5 == 0 {
                String::new()
            } else {
                format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
            };
            let line = format!(
                "{ext},Task number {i},{},{},{},{tags},{}.5,{},{due},{}",
                PROJECTS[i % 3],
                STATES[i % 3],
                PRIOS[i % 4],
                i % 40,
                i % 13,
                i % 2 == 0
            );
            (ext, line)
        })
        .collect()
}

/// The deliberately bad rows: (csv line, field that must be blamed).
fn bad_rows() -> Vec<(String, &'static str)> {
    vec![
        (
            "B-1,Bad date,Apollo,Open,Low,,1.0,1,2026-02-30,false".into(),
            "Projects/Due",
        ),
        (
            "B-2,Bad estimate,Apollo,Open,Low,,two hours,1,,false".into(),
            "Projects/Estimate",
        ),
        (
            "B-3,Bad priority,Apollo,Open,Urgent,,1.0,1,,false".into(),
            "Projects/Priority",
        ),
        ("B-4,,Apollo,Open,Low,,1.0,1,,false".into(), "Projects/Name"),
        (
            "B-5,Bad project,Zeppelin,Open,Low,,1.0,1,,false".into(),
            "Projects/Project",
        ),
        (
            "B-6,Bad effort,Apollo,Open,Low,,1.0,1.5,,false".into(),
            "Projects/Effort",
        ),
        (
            "B-7,Bad tag,Apollo,Open,Low,\"api, urgent-ish\",1.0,1,,false".into(),
            "Projects/Tags",
        ),
    ]
}

fn write_csv(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(f, "{HEADER}").unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    p
}

/// Good rows with the bad rows spread among them; returns the path and the bad rows' numbers.
fn mixed_csv(dir: &Path, n_good: usize) -> (PathBuf, Vec<(u64, &'static str)>) {
    let mut lines = Vec::new();
    let mut bad_at = Vec::new();
    let bad = bad_rows();
    let mut bi = bad.into_iter();
    for (i, (_, l)) in good_rows(n_good).into_iter().enumerate() {
        lines.push(l);
        if i % 4 == 2
            && let Some((b, field)) = bi.next()
        {
            lines.push(b);
            bad_at.push((lines.len() as u64, field));
        }
    }
    (write_csv(dir, "tasks.csv", &lines), bad_at)
}

fn tasks(emu: &Emulator) -> Vec<Value> {
    emu.entities("Projects/Task")
}

fn external_ids(emu: &Emulator) -> Vec<String> {
    tasks(emu)
        .iter()
        .map(|t| {
            t["Projects/External Id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// `n` valid rows written as `tasks.csv`.
fn good_csv(dir: &Path, n: usize) -> PathBuf {
    let lines: Vec<String> = good_rows(n).into_iter().map(|r| r.1).collect();
    write_csv(dir, "tasks.csv", &lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_rejects_then_reimport_does_not_duplicate() {
    let (emu, dir) = setup().await;
    let (csv, bad_at) = mixed_csv(dir.path(), 40);
    let args = upsert("tasks.csv", &["--batch", "7"]);
    let o = expect(&emu, dir.path(), 3, &args).await;
    assert!(text(&o).contains("rejected      7"), "{}", text(&o));
    assert_each_task_once(&emu, 40);
    assert!(external_ids(&emu).iter().all(|i| i.starts_with("T-")));

    // Rejects: one line per bad row, with row number, field and reason.
    let lines = json_lines(&read(dir.path(), "tasks.rejects.jsonl"));
    assert_eq!(lines.len(), bad_at.len());
    for (l, (row, field)) in lines.iter().zip(&bad_at) {
        assert_eq!(l["row"].as_u64(), Some(*row), "{l}");
        assert_eq!(l["field"], *field, "{l}");
        assert!(!l["reason"].as_str().unwrap().is_empty());
        let ext = l["record"]["External Id"].as_str().unwrap();
        assert!(ext.starts_with("B-"));
    }
    let reason_of = |f: &str| {
        let l = lines.iter().find(|l| l["field"] == f).unwrap();
        l["reason"].as_str().unwrap().to_string()
    };
    assert!(reason_of("Projects/Due").contains("2026-02-30"));
    assert!(reason_of("Projects/Priority").contains("Urgent"));
    assert!(reason_of("Projects/Project").contains("Zeppelin"));

    // Re-import: nothing new, everything updated.
    let o = expect(&emu, dir.path(), 3, &args).await;
    assert_eq!(external_ids(&emu).len(), 40);
    assert!(text(&o).contains("created 0, updated 40"), "{}", text(&o));
    drop(csv);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_and_create_mode_is_idempotent() {
    let (emu, dir) = setup().await;
    mixed_csv(dir.path(), 12);
    let before = emu.stats().requests;
    let args = argv("--json import tasks.csv -t Projects/Task --dry-run");
    let o = expect(&emu, dir.path(), 3, &args).await;
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["written"], 12);
    assert!(tasks(&emu).is_empty());
    // Only reads happened (schema + lookups), no command wrote anything.
    assert!(emu.stats().requests - before <= 10);
    assert!(!dir.path().join("tasks.journal.jsonl").exists());

    // Create mode (no --key): ids derive from content, so a re-run creates nothing new.
    for run_no in 0..2 {
        let args = argv("--json import tasks.csv -t Projects/Task --batch 5");
        let o = expect(&emu, dir.path(), 3, &args).await;
        assert_eq!(tasks(&emu).len(), 12, "{}", text(&o));
        let s: Value = serde_json::from_slice(&o.stdout).unwrap();
        // The second run finds every entity already there; only the bad rows are rejected.
        let (created, already) = if run_no == 0 { (12, 0) } else { (0, 12) };
        assert_eq!(s["created"], created, "{s}");
        assert_eq!(s["already_present"], already, "{s}");
        assert_eq!(s["rejected"], 3, "{s}");
    }
    emu.shutdown().await;
}

fn norm_decimal(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("not a decimal: {other}"),
    }
}

/// Asserts that an exported row carries every value of the CSV record it was imported from.
fn assert_exported_as_imported(e: &Value, rec: &BTreeMap<String, String>) {
    assert_eq!(e["Projects/Name"], rec["Name"].as_str());
    assert_eq!(e["Projects/Project"], rec["Project"].as_str());
    assert_eq!(e["workflow/state"], rec["State"].as_str());
    assert_eq!(e["Projects/Priority"], rec["Priority"].as_str());
    let want: HashSet<&str> = rec["Tags"]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let got: HashSet<&str> = e["Projects/Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got, want, "{e}");
    let estimate = rec["Estimate"].parse::<f64>().unwrap();
    assert_eq!(norm_decimal(&e["Projects/Estimate"]), estimate);
    assert_eq!(e["Projects/Effort"], rec["Effort"].parse::<i64>().unwrap());
    if rec["Due"].is_empty() {
        assert!(e["Projects/Due"].is_null());
    } else {
        assert_eq!(e["Projects/Due"], rec["Due"].as_str());
    }
    assert_eq!(e["Projects/Done"], rec["Done"] == "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trip_equals_input() {
    let (emu, dir) = setup().await;
    good_csv(dir.path(), 30);
    expect(&emu, dir.path(), 0, &upsert("tasks.csv", &[])).await;
    let args = argv("export -t Projects/Task --format jsonl --page-size 7 -o out.jsonl");
    expect(&emu, dir.path(), 0, &args).await;
    let exported: HashMap<String, Value> = json_lines(&read(dir.path(), "out.jsonl"))
        .into_iter()
        .map(|v| (v[KEY].as_str().unwrap().to_string(), v))
        .collect();
    assert_eq!(exported.len(), 30);
    let mut rdr = csv::Reader::from_path(dir.path().join("tasks.csv")).unwrap();
    for rec in rdr.deserialize::<BTreeMap<String, String>>() {
        let rec = rec.unwrap();
        assert_exported_as_imported(&exported[&rec["External Id"]], &rec);
    }

    // --where with params, through a relation path.
    let mut args = argv("--json export -t Projects/Task --page-size 2 --where");
    args.push(r#"["q/and", ["=", ["Projects/Done"], "$done"], ["=", ["Projects/Project", "Projects/Name"], "$p"]]"#);
    args.extend(["--params", r#"{"$done": true, "$p": "Borealis"}"#]);
    args.extend([
        "--fields",
        "Projects/External Id,Projects/Project,Projects/Done",
    ]);
    let o = expect(&emu, dir.path(), 0, &args).await;
    let got: HashSet<String> = json_lines(&String::from_utf8_lossy(&o.stdout))
        .into_iter()
        .inspect(|v| assert_eq!(v.as_object().unwrap().len(), 3, "{v}"))
        .map(|v| v[KEY].as_str().unwrap().to_string())
        .collect();
    let want: HashSet<String> = exported
        .iter()
        .filter(|(_, v)| v["Projects/Done"] == true && v["Projects/Project"] == "Borealis")
        .map(|(k, _)| k.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // CSV export re-imports cleanly onto the same entities (columns are field names).
    let args = argv("export -t Projects/Task --format csv -o out.csv");
    expect(&emu, dir.path(), 0, &args).await;
    expect(&emu, dir.path(), 0, &upsert("out.csv", &[])).await;
    assert_eq!(tasks(&emu).len(), 30);
    emu.shutdown().await;
}

#[tokio::test]
async fn export_with_several_pages_per_request_writes_the_same_rows_in_fewer_requests() {
    let (emu, dir) = setup().await;
    good_csv(dir.path(), 30);
    expect(
        &emu,
        dir.path(),
        0,
        &argv("import tasks.csv -t Projects/Task"),
    )
    .await;
    // 30 rows in pages of 4: 7 full pages and one of 2.
    let mut outputs = Vec::new();
    for k in ["1", "3"] {
        let before = emu.command_requests().len();
        let out = format!("out-{k}.jsonl");
        let mut args = argv("export -t Projects/Task --page-size 4 --pages-per-request");
        args.extend([k, "-o", &out]);
        expect(&emu, dir.path(), 0, &args).await;
        let log = emu.command_requests().split_off(before);
        let lines: Vec<String> = read(dir.path(), &out).lines().map(str::to_string).collect();
        outputs.push((lines, log));
    }
    let (single, single_log) = &outputs[0];
    let (multi, multi_log) = &outputs[1];
    assert_eq!(single.len(), 30);
    let keys: HashSet<String> = single
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()[KEY].to_string())
        .collect();
    assert_eq!(keys.len(), 30, "no duplicates");
    assert_eq!(multi, single, "same rows in the same order");
    // ceil(8 pages / 3) = 3 requests of 3 queries instead of 8 requests of one; the
    // other command requests (schema, enum options) are the same in both runs.
    assert_eq!(multi_log.iter().filter(|r| r.commands == 3).count(), 3);
    assert_eq!(single_log.len() - multi_log.len(), 8 - 3);

    let args = argv("export -t Projects/Task --pages-per-request 0");
    let o = expect(&emu, dir.path(), 2, &args).await;
    assert!(text(&o).contains("--pages-per-request"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_import_then_resume_writes_every_valid_row_once() {
    let emu = emulator().await;
    // Slow requests so the kill lands while batches are in flight.
    set_latency(&emu, 60);
    let dir = tempfile::tempdir().unwrap();
    let (_, bad_at) = mixed_csv(dir.path(), 120);
    let args = upsert("tasks.csv", &["--batch", "4"]);
    let mut child = fibery(&emu, dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill while a batch is in flight (sent, no result yet): the uncertain case.
    let journal = dir.path().join("tasks.journal.jsonl");
    wait_for_journal(&journal, |sent, done| done >= 5 && sent > done).await;
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let partial = tasks(&emu).len();
    assert!(
        partial > 0 && partial < 120,
        "killed too late or too early: {partial}"
    );
    let o = resume_to_the_end(&emu, dir.path(), &args, 120).await;
    assert!(text(&o).contains("skipped"), "{}", text(&o));
    // The rejects file lists each bad row once, even though both runs read some of them.
    let rows: Vec<u64> = json_lines(&read(dir.path(), "tasks.rejects.jsonl"))
        .iter()
        .map(|l| l["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, bad_at.iter().map(|b| b.0).collect::<Vec<_>>());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_have_a_hint_and_exit_2_and_the_token_stays_secret() {
    let (emu, dir) = setup().await;
    mixed_csv(dir.path(), 3);
    let o = expect(
        &emu,
        dir.path(),
        2,
        &argv("import tasks.csv -t Projects/Tsk"),
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("error: type \"Projects/Tsk\""), "{err}");
    let hint = "hint: did you mean \"Projects/Task\"";
    assert!(err.contains(hint), "{err}");

    let args = argv("import tasks.csv -t Projects/Task --key Projects/Nme");
    let o = expect(&emu, dir.path(), 2, &args).await;
    assert!(String::from_utf8_lossy(&o.stderr).contains("Projects/Name"));

    // A wrong token on the command line: warning, failure exit, token never echoed.
    let args = argv("--token s3cr3t-value-xyz schema dump");
    let mut c = fibery(&emu, dir.path(), &args);
    c.env_remove("FIBERY_TOKEN");
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let all = text(&o);
    let warning = "warning: --token on the command line";
    assert!(all.contains(warning), "{all}");
    assert!(all.contains("hint: check FIBERY_TOKEN"), "{all}");
    assert!(!all.contains("s3cr3t-value-xyz"), "{all}");

    // No token at all for a remote target.
    let mut c = fibery(&emu, dir.path(), &["schema", "dump"]);
    c.env_remove("FIBERY_TOKEN");
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(2));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_schema_and_codegen_commands() {
    let (emu, dir) = setup().await;
    let o = expect(&emu, dir.path(), 0, &argv("schema dump -t Projects/Task")).await;
    let td: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(td["fibery/name"], "Projects/Task");

    let q = r#"{"q/from": "Projects/Project", "q/select": ["Projects/Name"], "q/limit": 100}"#;
    let o = expect(&emu, dir.path(), 0, &["query", q]).await;
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(rows.iter().any(|r| r["Projects/Name"] == "Apollo"));

    let o = expect(&emu, dir.path(), 0, &argv("codegen -t Projects/Task")).await;
    let code = String::from_utf8_lossy(&o.stdout);
    assert!(
        code.contains("#[fibery(type = \"Projects/Task\")]") || code.contains("Projects/Task"),
        "{code}"
    );
    assert!(code.contains("pub struct Task"), "{code}");
    emu.shutdown().await;
}

const MAPPING: &str = "[columns]\nref = \"Projects/External Id\"\ntitle = \"Projects/Name\"\n\
    labels = { field = \"Projects/Tags\", separator = \"|\" }\n\
    proj = { field = \"Projects/Project\", lookup = \"Projects/Name\" }\n\
    body = \"Projects/Description\"\nnoise = { skip = true }\n";

const JSONL: &str = concat!(
    r#"{"ref": "J-1", "title": "New name", "labels": "api|docs", "proj": "Borealis", "body": "First **bold**", "noise": 1}"#,
    "\n",
    "\n",
    r#"{"ref": "J-2", "title": "Second", "labels": ["backend"], "proj": "Apollo", "body": "Second body", "noise": 2}"#,
    "\n",
    r#"{"ref": "J-3", "title": "Third", "labels": "nope", "noise": 3}"#,
    "\n",
    "not json\n",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_with_mapping_file_rich_text_and_an_existing_entity() {
    let (emu, dir) = setup().await;
    // An entity created earlier by someone else (content-derived id, not the key's).
    std::fs::write(
        dir.path().join("pre.csv"),
        "External Id,Name\nJ-1,Old name\n",
    )
    .unwrap();
    expect(
        &emu,
        dir.path(),
        0,
        &argv("import pre.csv -t Projects/Task"),
    )
    .await;
    let old_id = tasks(&emu)[0]["fibery/id"].as_str().unwrap().to_string();

    std::fs::write(dir.path().join("map.toml"), MAPPING).unwrap();
    std::fs::write(dir.path().join("in.jsonl"), JSONL).unwrap();
    let mut args = vec!["--json"];
    args.extend(upsert("in.jsonl", &["--map", "map.toml"]));
    let o = expect(&emu, dir.path(), 3, &args).await;
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["written"], 2, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["rejected"], 2, "{summary}");
    assert_eq!(summary["partial"], 0, "{summary}");
    let rejects = json_lines(&read(dir.path(), "in.rejects.jsonl"));
    assert_eq!(
        (rejects[0]["row"].as_u64(), rejects[0]["field"].as_str()),
        (Some(3), Some("Projects/Tags"))
    );
    assert_eq!(
        (rejects[1]["row"].as_u64(), rejects[1]["line"].as_u64()),
        (Some(4), Some(5))
    );

    let all = tasks(&emu);
    assert_eq!(all.len(), 2);
    let j1 = all.iter().find(|t| t[KEY] == "J-1").unwrap();
    assert_eq!(j1["fibery/id"], old_id.as_str(), "updated in place");
    assert_eq!(j1["Projects/Name"], "New name");
    assert_eq!(j1["Projects/Tags"].as_array().unwrap().len(), 2, "{j1}");

    let client = emu.test_client();
    let md = client
        .rich_text(
            "Projects/Task",
            "Projects/Description",
            old_id.parse().unwrap(),
            fibery_core::entity::DocFormat::Md,
        )
        .await
        .unwrap();
    assert!(md.contains("First **bold**"), "{md}");
    // Export brings the rich text back as content, per row.
    let mut args = argv("export -t Projects/Task --fields");
    args.push("Projects/External Id,Projects/Description");
    let o = expect(&emu, dir.path(), 0, &args).await;
    let rows = json_lines(&String::from_utf8_lossy(&o.stdout));
    let desc = |id: &str| {
        let row = rows.iter().find(|r| r[KEY] == id).unwrap();
        row["Projects/Description"].as_str().unwrap().to_string()
    };
    assert!(desc("J-1").contains("First **bold**"), "{rows:?}");
    assert!(desc("J-2").contains("Second body"), "{rows:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_the_batch_in_flight_then_resume_completes() {
    let emu = emulator().await;
    set_latency(&emu, 40);
    let dir = tempfile::tempdir().unwrap();
    mixed_csv(dir.path(), 80);
    let args = upsert("tasks.csv", &["--batch", "4"]);
    let child = spawn(&emu, dir.path(), &args);
    let journal = dir.path().join("tasks.journal.jsonl");
    wait_for_journal(&journal, |_, done| done >= 3).await;
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(text(&o).contains("INTERRUPTED"), "{}", text(&o));
    // A clean stop leaves no uncertain batch: every "sent" has its "done".
    let (sent, done) = fibery_tests::journal_progress(&journal);
    assert_eq!(sent, done, "{}", read(dir.path(), "tasks.journal.jsonl"));
    let partial = tasks(&emu).len();
    assert!(partial > 0 && partial < 80, "{partial}");
    resume_to_the_end(&emu, dir.path(), &args, 80).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_serves_the_sample_workspace() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::cargo_bin("fibery")
        .unwrap()
        .env_clear()
        .args(argv("--json emulator --port 0 --accept-token t0k"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = serde_json::from_str::<Value>(&line).unwrap()["base_url"]
        .as_str()
        .unwrap()
        .to_string();
    let mut c = Command::cargo_bin("fibery").unwrap();
    let q = r#"{"q/from": "Projects/Priority_Projects/Task", "q/select": ["enum/name"], "q/limit": 10}"#;
    c.current_dir(dir.path())
        .env_clear()
        .env("FIBERY_TOKEN", "t0k")
        .args(["--base-url", &base, "query", q]);
    let o = output(c).await;
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let names: HashSet<&str> = rows
        .iter()
        .map(|r| r["enum/name"].as_str().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["Low", "Medium", "High", "Critical"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failure_exits_1_with_a_resume_hint_and_resume_finishes() {
    let (emu, dir) = setup().await;
    mixed_csv(dir.path(), 20);
    let mut args = vec!["--retries", "1"];
    args.extend(upsert("tasks.csv", &["--batch", "5"]));
    set_latency(&emu, 30);
    let child = spawn(&emu, dir.path(), &args);
    let journal = dir.path().join("tasks.journal.jsonl");
    wait_for_journal(&journal, |_, done| done > 0).await;
    // From now on every request fails with a 5xx.
    emu.set_faults(Faults {
        error_5xx: 1.0,
        ..Faults::default()
    });
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.lines().any(|l| l.starts_with("error: ")), "{err}");
    assert!(err.contains("--resume"), "{err}");
    resume_to_the_end(&emu, dir.path(), &args, 20).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_row_is_rejected_and_the_others_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = good_rows(12).into_iter().map(|r| r.1).collect();
    let big = "x".repeat(100 * 1024);
    lines.insert(5, format!("BIG-1,{big},Apollo,Open,Low,,1.0,1,,false"));
    write_csv(dir.path(), "tasks.csv", &lines);
    for extra in [&["--key", KEY][..], &["--create"][..]] {
        // A fresh workspace per mode, with a 64 KiB request body limit.
        let emu = workspace().max_body_bytes(64 * 1024).start().await.unwrap();
        let mut args = argv("import tasks.csv -t Projects/Task --batch 4");
        args.extend_from_slice(extra);
        let o = expect(&emu, dir.path(), 3, &args).await;
        let ids = external_ids(&emu);
        assert_eq!(ids.len(), 12, "{}", text(&o));
        assert!(!ids.iter().any(|i| i.starts_with("BIG")));
        let rejects = read(dir.path(), "tasks.rejects.jsonl");
        let r = &json_lines(&rejects)[0];
        assert_eq!(r["row"], 6, "{r}");
        assert!(r["reason"].as_str().unwrap().contains("too large"), "{r}");
        assert_eq!(rejects.lines().count(), 1, "{rejects}");
        emu.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_rechecks_an_uncertain_batch_that_did_reach_the_server() {
    let (emu, dir) = setup().await;
    good_csv(dir.path(), 10);
    let mut args = vec!["--json"];
    args.extend(upsert("tasks.csv", &["--batch", "4"]));
    expect(&emu, dir.path(), 0, &args).await;
    // Make the journal look like the process died right after sending batch 1 (rows 5-8),
    // whose writes did reach the server.
    let journal = dir.path().join("tasks.journal.jsonl");
    // (Batches are in flight together, so the journal's order is not fixed: pick lines.)
    let text = read(dir.path(), "tasks.journal.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    let pick = |event: &str, batch: u64| {
        let line = lines.iter().find(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event"] == event && v["batch"] == batch
        });
        line.unwrap().to_string()
    };
    let kept = [
        lines[0].to_string(), // start
        pick("sent", 0),
        pick("done", 0),
        pick("sent", 1),
    ];
    std::fs::write(&journal, kept.join("\n") + "\n").unwrap();

    let o = expect(&emu, dir.path(), 0, &resumed(&args)).await;
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["rows_skipped_resume"], 4, "{s}");
    assert_eq!(s["already_present"], 4, "{s}");
    assert_eq!(s["written"], 2, "{s}");
    assert_eq!(tasks(&emu).len(), 10);
    emu.shutdown().await;
}

/// Issue 12, item 4: the journal fingerprints the whole input. A rejected row fixed far
/// beyond the first MiB, without changing the file size, makes `--resume` refuse the old
/// journal (it no longer describes this input) instead of answering "nothing to do"; the
/// re-run imports the fix. A journal of the old format is refused with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_notices_a_fix_beyond_the_first_mebibyte() {
    let (emu, dir) = setup().await;
    let mut lines: Vec<String> = good_rows(10).into_iter().map(|r| r.1).collect();
    let pad = "p".repeat(1100 * 1024);
    lines.push(format!("PAD-1,{pad},Apollo,Open,Low,,1.0,1,,false"));
    lines.push("LATE-1,Fixed late,Apollo,Open,Low,,1.0,1,2026-02-30,false".into());
    let path = write_csv(dir.path(), "tasks.csv", &lines);
    let size = std::fs::metadata(&path).unwrap().len();
    let at = read(dir.path(), "tasks.csv").find("LATE-1").unwrap();
    assert!(
        at > 1 << 20,
        "the bad row must lie beyond the first MiB (at byte {at})"
    );
    let mut args = vec!["--json"];
    args.extend(upsert("tasks.csv", &["--no-progress"]));
    expect(&emu, dir.path(), 3, &args).await;
    assert!(!external_ids(&emu).contains(&"LATE-1".to_string()));

    // Fix the date in place: same size, only bytes beyond the first MiB change.
    let fixed = read(dir.path(), "tasks.csv").replace("2026-02-30", "2026-02-28");
    std::fs::write(&path, fixed).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    let resume = resumed(&args);
    let o = expect(&emu, dir.path(), 2, &resume).await;
    assert!(text(&o).contains("without --resume"), "{}", text(&o));
    expect(&emu, dir.path(), 0, &args).await;
    assert!(external_ids(&emu).contains(&"LATE-1".to_string()));

    // A journal written by the old format (version 1) is refused, not trusted.
    let journal = dir.path().join("tasks.journal.jsonl");
    let j = read(dir.path(), "tasks.journal.jsonl");
    std::fs::write(&journal, j.replacen("\"version\":2", "\"version\":1", 1)).unwrap();
    let o = expect(&emu, dir.path(), 2, &resume).await;
    assert!(text(&o).contains("format version 1"), "{}", text(&o));
    emu.shutdown().await;
}

/// Issue 12, item 6: a failed read (the schema request, whose connection is dropped)
/// says what failed without "(request may have been applied)": a read applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_schema_read_does_not_say_it_may_have_been_applied() {
    let emu = Emulator::builder()
        .schema(sample_schema())
        .token(TOKEN)
        .without_rate_limits()
        .faults(Faults {
            drop: 1.0,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = expect(&emu, dir.path(), 1, &argv("--retries 0 schema dump")).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot read the schema"), "{err}");
    assert!(!err.contains("may have been applied"), "{err}");
    let dropped = emu.request_log().iter().filter(|r| r.status == 0).count();
    assert_eq!(dropped, 1, "the request reached the server and was dropped");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_since_a_state_file_exports_only_what_changed() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    good_csv(dir.path(), 20);
    expect(&emu, dir.path(), 0, &upsert("tasks.csv", &[])).await;
    let run = |out: &'static str| {
        let args = [
            "export",
            "-t",
            "Projects/Task",
            "--page-size",
            "6",
            "--since",
            "state.json",
            "-o",
            out,
        ];
        let (emu, dir) = (&emu, dir.path());
        async move {
            expect(emu, dir, 0, &args).await;
            json_lines(&read(dir, out))
        }
    };
    let first = run("1.jsonl").await;
    assert_eq!(first.len(), 20);
    let state: Value = serde_json::from_str(&read(dir.path(), "state.json")).unwrap();
    assert_eq!(state["type"], "Projects/Task");
    assert!(!dir.path().join("state.json.tmp").exists());
    assert!(
        run("2.jsonl").await.is_empty(),
        "nothing changed since the last run"
    );

    let client = emu.test_client();
    let id = first[3]["fibery/id"].as_str().unwrap();
    let cmd = serde_json::json!({"command": "fibery.entity/update", "args": {"type": "Projects/Task",
        "entity": {"fibery/id": id, "Projects/Name": "renamed"}}});
    client.command(cmd).await.unwrap();
    let third = run("3.jsonl").await;
    assert_eq!(third.len(), 1);
    assert_eq!(
        (
            third[0]["fibery/id"].as_str(),
            third[0]["Projects/Name"].as_str()
        ),
        (Some(id), Some("renamed"))
    );

    // A state file of another type is refused, and left as it was.
    let before = read(dir.path(), "state.json");
    let args = argv("export -t Projects/Project --since state.json -o p.jsonl");
    expect(&emu, dir.path(), 2, &args).await;
    assert_eq!(read(dir.path(), "state.json"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_events_and_removes_its_webhook_on_ctrl_c() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let client = emu.test_client();
    let child = fibery(
        &emu,
        dir.path(),
        &argv("listen -t Projects/Task -o events.jsonl"),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client.webhooks().await.unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hook = client.webhooks().await.unwrap().remove(0);
    assert_eq!(hook.type_name, "Projects/Task");
    let mut ids = HashSet::new();
    for name in ["one", "two"] {
        let cmd = serde_json::json!({"command": "fibery.entity/create",
            "args": {"type": "Projects/Task", "entity": {"Projects/Name": name}}});
        let v = client.command(cmd).await.unwrap();
        ids.insert(v["fibery/id"].as_str().unwrap().to_owned());
    }
    let events = loop {
        let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap_or_default();
        if text.lines().count() >= 2 {
            break json_lines(&text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events not written: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let got: HashSet<String> = events
        .iter()
        .flat_map(|e| e["effects"].as_array().unwrap().clone())
        .inspect(|e| assert_eq!(e["effect"], "fibery.entity/create"))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ids);

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        client.webhooks().await.unwrap().is_empty(),
        "the webhook was left behind"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("webhook {} removed", hook.id)),
        "{stderr}"
    );
    assert!(
        !stderr.contains(hook.url.rsplit('/').next().unwrap()),
        "the path secret was printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_spreads_the_import_over_every_token() {
    let second = "cli-test-token-second-key";
    let emu = workspace().token(second).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    good_csv(dir.path(), 60);
    std::fs::write(
        dir.path().join("tokens.txt"),
        format!("# the second key of the workspace\n\n  {second}  \n"),
    )
    .unwrap();
    // The file's tokens join FIBERY_TOKEN's.
    let args = ["--token-file", "tokens.txt", "import", "tasks.csv"];
    let mut args = args.to_vec();
    args.extend(["-t", "Projects/Task", "--batch", "5"]);
    let o = expect(&emu, dir.path(), 0, &args).await;
    assert_each_task_once(&emu, 60);
    let log = emu.request_log();
    let per_token = |t: u32| log.iter().filter(|r| r.token == Some(t)).count();
    assert!(per_token(0) >= 5 && per_token(1) >= 5, "{log:?}");
    assert!(!text(&o).contains(second), "{}", text(&o));
    // A token file that cannot be read is a usage error.
    let missing = [
        "--token-file",
        "missing.txt",
        "import",
        "tasks.csv",
        "-t",
        "Projects/Task",
    ];
    expect(&emu, dir.path(), 2, &missing).await;
    emu.shutdown().await;
}
