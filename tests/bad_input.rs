//! Bad input corpus through the real `fibery import` binary against an emulator: malformed
//! CSV, invalid UTF-8, a wrong value for every column type, wrong JSON types, unknown columns,
//! oversized values, an empty file and a header-only file. Every case must end with clear
//! per-row errors (or one clear usage error for file-level problems), no panic, and every
//! valid row written exactly once.
//!
//! Not about pacing: the emulator's rate limiter is off and the CLI runs with `--rps 500`.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use fibery_emulator::{Emulator, Faults};
use fibery_tests::{CSV_HEADER, TASK, TOKEN, emulator, fibery_bin, shows_panic, task_row};
use serde_json::Value;

async fn import(emu: &Emulator, dir: &Path, file: &str, extra: &[&str]) -> Output {
    let mut c = Command::new(fibery_bin());
    c.current_dir(dir)
        .env_clear()
        .env("FIBERY_TOKEN", TOKEN)
        .args(["--base-url", &emu.base_url(), "--rps", "500", "--json"])
        .args(["import", file, "-t", TASK, "--key", "Projects/External Id"])
        .args(["--batch", "10", "--no-progress"])
        .args(extra);
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn summary(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {}", text(o)))
}

fn rejects(dir: &Path, stem: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{stem}.rejects.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stored_keys(emu: &Emulator) -> Vec<String> {
    emu.entities(TASK)
        .iter()
        .map(|t| t["Projects/External Id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Asserts the store holds exactly `want` external ids, each once.
fn assert_exactly(emu: &Emulator, want: &[String]) {
    let got = stored_keys(emu);
    let set: HashSet<&String> = got.iter().collect();
    assert_eq!(set.len(), got.len(), "duplicates stored");
    let want_set: HashSet<&String> = want.iter().collect();
    assert_eq!(set, want_set);
}

fn no_panic(o: &Output) {
    assert_ne!(o.status.code(), Some(101), "{}", text(o));
    assert!(!shows_panic(&text(o)), "{}", text(o));
}

/// A wrong value for every column type, each in an otherwise valid row, interleaved with
/// valid rows: each bad row is rejected naming its row and field, the others are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_value_for_every_field_type_rejects_only_that_row() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // (csv row, blamed field, a word the reason must quote)
    let bad: Vec<(&str, &str, &str)> = vec![
        (
            "B-01,Bad estimate,Apollo,Open,Low,,two hours,1,,false",
            "Projects/Estimate",
            "two hours",
        ),
        (
            "B-02,Bad effort,Apollo,Open,Low,,1.0,1.5,,false",
            "Projects/Effort",
            "1.5",
        ),
        (
            "B-03,Huge effort,Apollo,Open,Low,,1.0,99999999999999999999999,,false",
            "Projects/Effort",
            "99999999999999999999999",
        ),
        (
            "B-04,Bad date,Apollo,Open,Low,,1.0,1,2026-02-30,false",
            "Projects/Due",
            "2026-02-30",
        ),
        (
            "B-05,Word date,Apollo,Open,Low,,1.0,1,tomorrow,false",
            "Projects/Due",
            "tomorrow",
        ),
        (
            "B-06,Bad bool,Apollo,Open,Low,,1.0,1,,maybe",
            "Projects/Done",
            "maybe",
        ),
        (
            "B-07,Bad state,Apollo,Nope,Low,,1.0,1,,false",
            "workflow/state",
            "Nope",
        ),
        (
            "B-08,Bad priority,Apollo,Open,Urgent,,1.0,1,,false",
            "Projects/Priority",
            "Urgent",
        ),
        (
            "B-09,Bad tag,Apollo,Open,Low,\"api, nope\",1.0,1,,false",
            "Projects/Tags",
            "nope",
        ),
        (
            "B-10,Bad project,Zeppelin,Open,Low,,1.0,1,,false",
            "Projects/Project",
            "Zeppelin",
        ),
        ("B-11,,Apollo,Open,Low,,1.0,1,,false", "Projects/Name", ""),
        (
            "B-12,NaN estimate,Apollo,Open,Low,,NaN,1,,false",
            "Projects/Estimate",
            "NaN",
        ),
    ];
    let mut lines = vec![CSV_HEADER.to_string()];
    let mut good = Vec::new();
    let mut bad_rows = Vec::new();
    for (k, (row, ..)) in bad.iter().enumerate() {
        for j in 0..3 {
            let i = k * 3 + j;
            lines.push(task_row(i));
            good.push(format!("T-{i:07}"));
        }
        lines.push(row.to_string());
        bad_rows.push(lines.len() as u64 - 1);
    }
    std::fs::write(dir.path().join("typed.csv"), lines.join("\n") + "\n").unwrap();
    let o = import(&emu, dir.path(), "typed.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(s["written"], good.len() as u64, "{s}");
    assert_eq!(s["rejected"], bad.len() as u64, "{s}");
    assert_exactly(&emu, &good);
    let rej = rejects(dir.path(), "typed");
    assert_eq!(rej.len(), bad.len(), "{rej:?}");
    for (r, ((_, field, word), row)) in rej.iter().zip(bad.iter().zip(&bad_rows)) {
        assert_eq!(r["row"].as_u64(), Some(*row), "{r}");
        assert_eq!(r["field"], *field, "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(!reason.is_empty() && reason.contains(word), "{r}");
    }
    emu.shutdown().await;
}

/// Structurally broken CSV: wrong field counts, invalid UTF-8, a stray quote. Broken rows
/// are rejected with their row number; the rest is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_csv_and_invalid_utf8_reject_rows_not_the_file() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    let mut good = Vec::new();
    bytes.extend_from_slice(CSV_HEADER.as_bytes());
    bytes.push(b'\n');
    let mut push_good = |bytes: &mut Vec<u8>, i: usize| {
        bytes.extend_from_slice(task_row(i).as_bytes());
        bytes.push(b'\n');
        good.push(format!("T-{i:07}"));
    };
    push_good(&mut bytes, 0);
    bytes.extend_from_slice(b"M-1,Too few fields\n");
    push_good(&mut bytes, 1);
    bytes.extend_from_slice(b"M-2,Too many,Apollo,Open,Low,,1.0,1,,false,extra,extra\n");
    push_good(&mut bytes, 2);
    bytes.extend_from_slice(b"M-3,Bad \xff\xfe utf8,Apollo,Open,Low,,1.0,1,,false\n");
    push_good(&mut bytes, 3);
    bytes.extend_from_slice(b"M-4,Stray \"quote\" inside,Apollo,Open,Low,,1.0,1,,false\n");
    push_good(&mut bytes, 4);
    std::fs::write(dir.path().join("broken.csv"), &bytes).unwrap();
    let o = import(&emu, dir.path(), "broken.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stored = stored_keys(&emu);
    for g in &good {
        assert!(stored.contains(g), "{g} missing: {}", text(&o));
    }
    assert!(
        !stored
            .iter()
            .any(|k| k == "M-1" || k == "M-2" || k == "M-3")
    );
    let rej = rejects(dir.path(), "broken");
    let rows: HashSet<u64> = rej.iter().filter_map(|r| r["row"].as_u64()).collect();
    for r in [2, 4, 6] {
        assert!(rows.contains(&r), "row {r} not rejected: {rej:?}");
    }
    assert!(
        rej.iter()
            .all(|r| !r["reason"].as_str().unwrap().is_empty())
    );
    emu.shutdown().await;
}

/// JSON lines with wrong JSON types per field and a malformed line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_wrong_types_and_malformed_lines_are_rejected_per_row() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let good = |k: &str| {
        format!(
            r#"{{"External Id": "{k}", "Name": "ok {k}", "Effort": 3, "Estimate": 1.5, "Done": true, "Due": "2026-03-01", "Priority": "Low"}}"#
        )
    };
    let lines = [
        good("J-1"),
        r#"{"External Id": "X-1", "Name": "int as text", "Effort": "three"}"#.into(),
        good("J-2"),
        r#"{"External Id": "X-2", "Name": "bool as number", "Done": 7}"#.into(),
        r#"{"External Id": "X-3", "Name": ["array", "for", "text"]}"#.into(),
        r#"{"External Id": "X-4", "Name": "object for date", "Due": {"day": 1}}"#.into(),
        r#"{"External Id": "X-5", "Name": "decimal as bool", "Estimate": false}"#.into(),
        r#"{"External Id": "X-6", "Name": "not json"#.into(),
        "[1, 2, 3]".into(),
        good("J-3"),
    ];
    std::fs::write(dir.path().join("rows.jsonl"), lines.join("\n") + "\n").unwrap();
    let o = import(&emu, dir.path(), "rows.jsonl", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu, &["J-1".into(), "J-2".into(), "J-3".into()]);
    let rej = rejects(dir.path(), "rows");
    let rows: Vec<u64> = rej.iter().filter_map(|r| r["row"].as_u64()).collect();
    assert_eq!(rows, vec![2, 4, 5, 6, 7, 8, 9], "{rej:?}");
    emu.shutdown().await;
}

/// Empty file, header-only file, unknown columns: one clear message, no panic, no writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_header_only_and_unknown_columns() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();

    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let o = import(&emu, dir.path(), "empty.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("error:"), "{}", text(&o));

    std::fs::write(dir.path().join("header.csv"), format!("{CSV_HEADER}\n")).unwrap();
    let o = import(&emu, dir.path(), "header.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o)["written"], 0);
    assert!(emu.entities(TASK).is_empty());

    std::fs::write(
        dir.path().join("unknown.csv"),
        format!("{CSV_HEADER},Colour\n{},red\n", task_row(1)),
    )
    .unwrap();
    let o = import(&emu, dir.path(), "unknown.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Colour"), "{}", text(&o));
    assert!(emu.entities(TASK).is_empty());

    std::fs::write(dir.path().join("typo.csv"), "External Id,Nmae\nT-1,x\n").unwrap();
    let o = import(&emu, dir.path(), "typo.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("Nmae") && text(&o).contains("Name"),
        "{}",
        text(&o)
    );
    assert!(emu.entities(TASK).is_empty());
    emu.shutdown().await;
}

/// Oversized values: a 1 MiB name is carried through intact. A 6 MiB row, bigger than the
/// emulator's 4 MiB body limit, makes its request fail with HTTP 413: that row alone is
/// rejected (the batch is split down to it) and every other row, before and after it, is
/// written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_values() {
    let emu = Emulator::builder()
        .schema(fibery_tests::sample_schema())
        .seed_json(fibery_tests::sample_seed())
        .token(TOKEN)
        .without_rate_limits()
        .max_body_bytes(4 * 1024 * 1024)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = "n".repeat(1024 * 1024);
    let huge = "h".repeat(6 * 1024 * 1024);
    // Batches of 10: rows 1-10 (with the 1 MiB row), rows 11-20 (with the 6 MiB row at 15).
    let mut lines = vec![CSV_HEADER.to_string()];
    let mut good = Vec::new();
    for i in 0..9 {
        lines.push(task_row(i));
        good.push(format!("T-{i:07}"));
    }
    lines.push(format!("O-1,{big},Apollo,Open,Low,,1.0,1,,false"));
    good.push("O-1".into());
    for i in 9..13 {
        lines.push(task_row(i));
        good.push(format!("T-{i:07}"));
    }
    lines.push(format!("O-2,{huge},Apollo,Open,Low,,1.0,1,,false"));
    for i in 13..20 {
        lines.push(task_row(i));
        good.push(format!("T-{i:07}"));
    }
    std::fs::write(dir.path().join("big.csv"), lines.join("\n") + "\n").unwrap();
    let o = import(&emu, dir.path(), "big.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(s["written"], good.len() as u64, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    assert_exactly(&emu, &good);
    let stored = emu.entities(TASK);
    let o1 = stored
        .iter()
        .find(|t| t["Projects/External Id"] == "O-1")
        .unwrap();
    assert_eq!(o1["Projects/Name"].as_str().unwrap().len(), big.len());
    let rej = rejects(dir.path(), "big");
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(rej[0]["row"].as_u64(), Some(15), "{}", rej[0]);
    let reason = rej[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("413") || reason.contains("too large"),
        "{reason}"
    );
    emu.shutdown().await;
}

/// A 10 MB rich-text cell (Markdown) between two small ones: all three rows are written and
/// the big document arrives intact through the documents API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabyte_rich_text_cell_is_written_intact() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let line = "A paragraph of release notes with **bold** text and a list item.\n";
    let big: String = line.repeat(10 * 1024 * 1024 / line.len() + 1);
    let csv = format!(
        "External Id,Name,Description\nR-1,Small,\"Just *one* line\"\nR-2,Big,\"{big}\"\nR-3,Small too,\"Another line\"\n"
    );
    std::fs::write(dir.path().join("docs.csv"), csv).unwrap();
    let o = import(&emu, dir.path(), "docs.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_exactly(&emu, &["R-1".into(), "R-2".into(), "R-3".into()]);
    let stored = emu.entities(TASK);
    let r2 = stored
        .iter()
        .find(|t| t["Projects/External Id"] == "R-2")
        .unwrap();
    let secret = r2["Projects/Description"]["Collaboration~Documents/secret"]
        .as_str()
        .expect("document secret");
    let doc: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/documents/{secret}?format=md",
            emu.base_url()
        ))
        .header("Authorization", format!("Token {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = doc["content"].as_str().expect("content");
    assert!(content.len() >= 10 * 1024 * 1024, "{}", content.len());
    assert_eq!(content.trim_end(), big.trim_end());
    emu.shutdown().await;
}
