//! Bad input corpus through the real `fibery import` binary against an emulator: malformed
//! CSV, invalid UTF-8, an unclosed quote, a wrong value for every column type, wrong JSON
//! types, NUL characters, a byte order mark, unknown columns, oversized values, an empty
//! file and a header-only file. Every case must end with clear per-row errors (or one
//! clear usage error for file-level problems), no panic, and every valid row written
//! exactly once.
//!
//! Accounting: for every file of the corpus ([`bad_input_corpus::all`]), each input line
//! is either stored (checked in the emulator) or present, raw, in the rejects file, and
//! rows read + the extra lines of multi-line rows + header and blank lines = lines in
//! the file.
//!
//! Not about pacing: the emulator's rate limiter is off and the CLI runs with `--rps 500`.

mod bad_input_corpus;

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;

use bad_input_corpus::{Case, Line, Server};
use fibery_core::schema::PrimitiveType;
use fibery_core::value::FieldValue;
use fibery_emulator::{Emulator, Faults};
use fibery_tests::{CSV_HEADER, TASK, TOKEN, all_output, emulator, fibery_at, output, shows_panic};
use serde_json::{Value, json};

async fn import(emu: &Emulator, dir: &Path, file: &str, extra: &[&str]) -> Output {
    import_in_batches(emu, dir, file, 10, extra).await
}

async fn import_in_batches(
    emu: &Emulator,
    dir: &Path,
    file: &str,
    batch: usize,
    extra: &[&str],
) -> Output {
    let mut c = fibery_at(&emu.base_url(), TOKEN, dir);
    c.args(["--rps", "500", "--json"])
        .args(["import", file, "-t", TASK, "--key", "Projects/External Id"])
        .args(["--batch", &batch.to_string(), "--no-progress"])
        .args(extra);
    output(c).await
}

fn text(o: &Output) -> String {
    all_output(o)
}

fn summary(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {}", text(o)))
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

fn rejects(dir: &Path, name: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{}.rejects.jsonl", stem(name))))
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

fn stored(emu: &Emulator, key: &str) -> Value {
    emu.entities(TASK)
        .into_iter()
        .find(|t| t["Projects/External Id"] == key)
        .unwrap_or_else(|| panic!("{key} not stored"))
}

/// Asserts the store holds exactly `want` external ids, each once.
fn assert_exactly(emu: &Emulator, want: &[String]) {
    let got = stored_keys(emu);
    let set: HashSet<&String> = got.iter().collect();
    assert_eq!(set.len(), got.len(), "duplicates stored");
    let want_set: HashSet<&String> = want.iter().collect();
    assert_eq!(set, want_set);
}

fn keys(ks: &[&str]) -> Vec<String> {
    ks.iter().map(|k| k.to_string()).collect()
}

fn no_panic(o: &Output) {
    assert_ne!(o.status.code(), Some(101), "{}", text(o));
    assert!(!shows_panic(&text(o)), "{}", text(o));
}

/// Starts the emulator a case needs.
async fn server(s: Server) -> Emulator {
    match s {
        Server::Plain => emulator(None, Faults::default()).await,
        Server::SmallBodies => Emulator::builder()
            .schema(fibery_tests::sample_schema())
            .seed_json(fibery_tests::sample_seed())
            .token(TOKEN)
            .without_rate_limits()
            .max_body_bytes(4 * 1024 * 1024)
            .start()
            .await
            .unwrap(),
    }
}

/// Writes a case's files into `dir` and imports it.
async fn run_case(case: &Case, emu: &Emulator, dir: &Path) -> Output {
    std::fs::write(dir.join(case.name), &case.bytes).unwrap();
    for (name, content) in &case.files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let o = import_in_batches(emu, dir, case.name, case.batch, &args).await;
    no_panic(&o);
    o
}

/// Decodes standard base64 (the rejects file's `raw_base64`).
fn unbase64(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> = s
        .bytes()
        .filter(|b| *b != b'=')
        .map(|b| ABC.iter().position(|c| *c == b).expect("base64 digit") as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, v)| n | v << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The exact bytes a reject quotes.
fn raw_bytes(r: &Value) -> Vec<u8> {
    match r["raw_base64"].as_str() {
        Some(b) => unbase64(b),
        None => r["raw"]
            .as_str()
            .unwrap_or_else(|| panic!("reject without raw text: {r}"))
            .as_bytes()
            .to_vec(),
    }
}

fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

fn no_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Where every line of one case went.
#[derive(Debug, Default)]
struct Tally {
    lines: u64,
    header_or_blank: u64,
    written: u64,
    rejected: u64,
    refused_with_file: u64,
    lost: u64,
    rows_read: u64,
    extra_reject_lines: u64,
}

/// Checks that every line of `case` is stored or quoted raw in the rejects file, and that
/// rows read + extra lines of multi-line rows + header/blank lines = lines in the file.
fn account(case: &Case, emu: &Emulator, dir: &Path, o: &Output) -> Tally {
    let file = split_lines(&case.bytes);
    assert_eq!(
        file.len(),
        case.lines.len(),
        "{}: corpus bookkeeping",
        case.name
    );
    let mut t = Tally {
        lines: file.len() as u64,
        ..Tally::default()
    };
    let stored: HashSet<String> = stored_keys(emu).into_iter().collect();
    let rej = rejects(dir, case.name);
    if o.status.code() == Some(2) {
        // Refused as a whole: nothing written, nothing half-done, and the user was told.
        assert!(stored.is_empty() && rej.is_empty(), "{}", case.name);
        assert!(text(o).contains("error:"), "{}", text(o));
        for l in &case.lines {
            match l {
                Line::Row(_) => t.refused_with_file += 1,
                _ => t.header_or_blank += 1,
            }
        }
        return t;
    }
    let mut covered = vec![false; file.len()];
    for r in &rej {
        let first = r["line"].as_u64().unwrap() as usize;
        let raw = raw_bytes(r);
        let raw_lines: Vec<&[u8]> = raw.split(|b| *b == b'\n').collect();
        assert_eq!(raw_lines.len() as u64, r["lines"].as_u64().unwrap(), "{r}");
        for (k, l) in raw_lines.iter().enumerate() {
            let at = first - 1 + k;
            assert_eq!(
                no_cr(l),
                no_cr(file[at]),
                "{}: line {} differs from the reject's raw text",
                case.name,
                at + 1
            );
            assert!(
                !covered[at],
                "{}: line {} rejected twice",
                case.name,
                at + 1
            );
            covered[at] = true;
        }
        t.extra_reject_lines += raw_lines.len() as u64 - 1;
    }
    for (at, l) in case.lines.iter().enumerate() {
        let key = match l {
            Line::Row(key) => key,
            _ => {
                assert!(!covered[at], "{}: line {} is not a row", case.name, at + 1);
                t.header_or_blank += 1;
                continue;
            }
        };
        let written = key.as_ref().is_some_and(|k| stored.contains(k));
        match (written, covered[at]) {
            (true, false) => t.written += 1,
            (false, true) => t.rejected += 1,
            (true, true) => panic!("{}: line {} stored and rejected", case.name, at + 1),
            (false, false) => t.lost += 1,
        }
    }
    t.rows_read = summary(o)["rows_read"].as_u64().unwrap();
    let stored_extra: u64 = case
        .multi_line_rows
        .iter()
        .filter(|(first, _)| !covered[*first as usize - 1])
        .map(|(_, n)| n - 1)
        .sum();
    assert_eq!(
        t.rows_read + t.extra_reject_lines + stored_extra + t.header_or_blank,
        t.lines,
        "{}: rows read + lines of multi-line rows + header/blank != lines in the file ({t:?})",
        case.name
    );
    t
}

/// Runs a case on a fresh emulator and checks its accounting.
async fn run_and_account(case: &Case) -> (Emulator, tempfile::TempDir, Output, Tally) {
    let emu = server(case.server).await;
    let dir = tempfile::tempdir().unwrap();
    let o = run_case(case, &emu, dir.path()).await;
    let t = account(case, &emu, dir.path(), &o);
    assert_eq!(t.lost, 0, "{}: {t:?}\n{}", case.name, text(&o));
    (emu, dir, o, t)
}

/// A wrong value for every column type, each in an otherwise valid row, interleaved with
/// valid rows: each bad row is rejected naming its row and field, the others are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_value_for_every_field_type_rejects_only_that_row() {
    let (case, blamed, good) = bad_input_corpus::typed();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(s["written"], good.len() as u64, "{s}");
    assert_eq!(s["rejected"], blamed.len() as u64, "{s}");
    assert_exactly(&emu, &good);
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), blamed.len(), "{rej:?}");
    for (k, (r, (field, word))) in rej.iter().zip(&blamed).enumerate() {
        // Each bad row follows three good ones.
        assert_eq!(r["row"].as_u64(), Some(4 * k as u64 + 4), "{r}");
        assert_eq!(r["line"].as_u64(), Some(4 * k as u64 + 5), "{r}");
        assert_eq!(r["field"], *field, "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(!reason.is_empty() && reason.contains(word), "{r}");
    }
    emu.shutdown().await;
}

/// Structurally broken CSV: wrong field counts, invalid UTF-8, a quote inside a cell.
/// Broken rows are rejected with their row number and typed problem; the rest is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_csv_and_invalid_utf8_reject_rows_not_the_file() {
    let case = bad_input_corpus::broken();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let mut good: Vec<String> = (0..5).map(|i| format!("T-{i:07}")).collect();
    good.push("M-4".into());
    assert_exactly(&emu, &good);
    let rej = rejects(dir.path(), case.name);
    let kinds: Vec<(u64, &str)> = rej
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["problem"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (2, "column-count"),
            (4, "column-count"),
            (6, "invalid-utf8")
        ],
        "{rej:?}"
    );
    assert_eq!(rej[2]["problem"]["column"], "Name", "{}", rej[2]);
    emu.shutdown().await;
}

/// JSON lines with wrong JSON types per field and a malformed line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_wrong_types_and_malformed_lines_are_rejected_per_row() {
    let case = bad_input_corpus::jsonl_types();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu, &keys(&["J-1", "J-2", "J-3"]));
    let rej = rejects(dir.path(), case.name);
    let rows: Vec<u64> = rej.iter().filter_map(|r| r["row"].as_u64()).collect();
    assert_eq!(rows, vec![2, 4, 5, 6, 7, 8, 9], "{rej:?}");
    emu.shutdown().await;
}

/// Empty file, header-only file, unknown columns: one clear message, no panic, no writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_header_only_and_unknown_columns() {
    for (case, refused) in bad_input_corpus::file_level() {
        let (emu, _dir, o, _) = run_and_account(&case).await;
        let want = if refused { 2 } else { 0 };
        assert_eq!(o.status.code(), Some(want), "{}: {}", case.name, text(&o));
        assert!(emu.entities(TASK).is_empty(), "{}", case.name);
        if !refused {
            assert_eq!(summary(&o)["written"], 0);
        }
        emu.shutdown().await;
    }
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for (file, words) in [
        ("unknown.csv", ["Colour", "Colour"]),
        ("typo.csv", ["Nmae", "Name"]),
    ] {
        let case = bad_input_corpus::file_level()
            .into_iter()
            .find(|(c, _)| c.name == file)
            .unwrap()
            .0;
        let o = run_case(&case, &emu, dir.path()).await;
        assert!(words.iter().all(|w| text(&o).contains(w)), "{}", text(&o));
    }
    emu.shutdown().await;
}

/// Oversized values: a 1 MiB name is carried through intact. A 6 MiB row, bigger than the
/// emulator's 4 MiB body limit, makes its request fail with HTTP 413: that row alone is
/// rejected (the batch is split down to it, and the reject names its real line) and every
/// other row, before and after it, is written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_values() {
    let (case, good) = bad_input_corpus::oversized();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(s["written"], good.len() as u64, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    assert_exactly(&emu, &good);
    let o1 = stored(&emu, "O-1");
    assert_eq!(o1["Projects/Name"].as_str().unwrap().len(), 1024 * 1024);
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(rej[0]["row"].as_u64(), Some(15), "{}", rej[0]);
    assert_eq!(rej[0]["line"].as_u64(), Some(16), "{}", rej[0]);
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
    let (case, big) = bad_input_corpus::rich_text();
    let (emu, _dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_exactly(&emu, &keys(&["R-1", "R-2", "R-3"]));
    let r2 = stored(&emu, "R-2");
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

/// Issue 12, item 1: a JSON line that is not UTF-8 is rejected alone, with its exact bytes
/// in the rejects file; the line after it is read and written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_line_with_invalid_utf8_is_rejected_alone() {
    let case = bad_input_corpus::invalid_utf8_jsonl();
    let (emu, dir, o, t) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu, &keys(&["X-1", "X-3", "X-4"]));
    assert_eq!(summary(&o)["rows_read"], 4);
    assert_eq!((t.written, t.rejected), (3, 1));
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(
        (rej[0]["row"].as_u64(), rej[0]["line"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(rej[0]["problem"]["kind"], "invalid-utf8");
    let line = split_lines(&case.bytes)[1];
    assert_eq!(unbase64(rej[0]["raw_base64"].as_str().unwrap()), line);
    assert_eq!(rej[0]["raw"], String::from_utf8_lossy(line).as_ref());
    emu.shutdown().await;
}

/// Issue 12, item 2: a stray quote in a file of sample rows swallows the lines after it
/// up to the next quote. They come back as one reject that says where the quote opened
/// and quotes every line it covers; all other rows are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclosed_csv_quote_is_one_reject_with_every_line_it_swallowed() {
    let (case, quote_line) = bad_input_corpus::stray_quote();
    let (emu, dir, o, t) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), 1, "{rej:?}");
    let r = &rej[0];
    assert_eq!(r["problem"]["kind"], "unclosed-quote", "{r}");
    assert_eq!(
        r["problem"]["opened_at_line"].as_u64(),
        Some(quote_line),
        "{r}"
    );
    assert_eq!(r["line"].as_u64(), Some(quote_line), "{r}");
    let through = r["problem"]["through_line"].as_u64().unwrap();
    assert!(through > quote_line, "{r}");
    assert_eq!(r["lines"].as_u64(), Some(through - quote_line + 1), "{r}");
    assert_eq!(t.rejected, through - quote_line + 1);
    assert_eq!(
        t.written + t.rejected,
        bad_input_corpus::STRAY_QUOTE_ROWS as u64
    );
    assert_eq!(stored_keys(&emu).len() as u64, t.written);

    // Opening the last column, the quote runs to the end of the file with the column
    // count still right: it is found all the same.
    let (case, quote_line) = bad_input_corpus::stray_quote_last_column();
    let (emu2, dir2, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu2, &keys(&["E-1"]));
    let r = &rejects(dir2.path(), case.name)[0];
    assert_eq!(r["problem"]["kind"], "unclosed-quote", "{r}");
    assert_eq!(
        r["problem"]["opened_at_line"].as_u64(),
        Some(quote_line),
        "{r}"
    );
    assert_eq!(r["problem"]["through_line"].as_u64(), Some(5), "{r}");
    emu.shutdown().await;
    emu2.shutdown().await;
}

/// Issue 12, item 5: NUL characters in a text field or in the upsert key reject the row
/// (no second key that only differs by a NUL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_text_and_key_are_rejected() {
    let case = bad_input_corpus::nul_bytes();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu, &keys(&["N-1", "N-3"]));
    let rej = rejects(dir.path(), case.name);
    let blamed: Vec<(u64, &str, &str)> = rej
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["field"].as_str().unwrap(),
                r["errors"][0]["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        blamed,
        [
            (2, "Projects/External Id", "wrong-type"),
            (3, "Projects/Name", "wrong-type")
        ]
    );
    emu.shutdown().await;
}

/// Issue 12, item 5: a multi-value separator must be exactly one byte; anything else is
/// a usage error before a row is read, on the command line or in the mapping file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separator_that_is_not_one_byte_is_a_usage_error() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), fibery_tests::tasks_csv(3)).unwrap();
    for sep in ["", ";;", "\u{ff1b}"] {
        let o = import(&emu, dir.path(), "t.csv", &["--separator", sep]).await;
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{sep:?}: {}", text(&o));
    }
    let o = import(&emu, dir.path(), "t.csv", &["--separator", ","]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    emu.shutdown().await;

    let emu = emulator(None, Faults::default()).await;
    std::fs::write(
        dir.path().join("map.toml"),
        "[columns]\nTags = { field = \"Projects/Tags\", separator = \"\" }\n",
    )
    .unwrap();
    let o = import(&emu, dir.path(), "t.csv", &["--map", "map.toml"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("\"Tags\""), "{}", text(&o));
    assert!(emu.entities(TASK).is_empty());
    emu.shutdown().await;
}

/// Issue 12, item 5: a JSON-lines file starting with a byte order mark reads its first
/// row like any other (as CSV does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_with_a_byte_order_mark_reads_its_first_row() {
    let case = bad_input_corpus::bom_jsonl();
    let (emu, _dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_exactly(&emu, &keys(&["BOM-1", "BOM-2"]));
    emu.shutdown().await;

    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = format!("\u{feff}{}", fibery_tests::tasks_csv(2));
    std::fs::write(dir.path().join("bom.csv"), csv).unwrap();
    let o = import(&emu, dir.path(), "bom.csv", &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(emu.entities(TASK).len(), 2);
    emu.shutdown().await;
}

/// Issue 12, items 5 and 6: each field type coerces cells by its one documented rule,
/// which agrees with fibery-core's parser, and numbers are read as written: a huge
/// integer is stored (text) or quoted back (int) exactly, not as an `f64`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coercions_follow_one_rule_per_type_and_numbers_keep_their_text() {
    let case = bad_input_corpus::coercions();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let core = |p: PrimitiveType, v: Value| FieldValue::parse_primitive(&p, &v).unwrap().to_json();
    let c1 = stored(&emu, "C-1");
    assert_eq!(c1["Projects/Name"], "5");
    assert_eq!(c1["Projects/Done"], true);
    assert_eq!(c1["Projects/Effort"], core(PrimitiveType::Int, json!(3.0)));
    assert_eq!(
        c1["Projects/Estimate"],
        core(PrimitiveType::Decimal, json!("1e3"))
    );
    assert_eq!(
        c1["Projects/Due"],
        core(PrimitiveType::Date, json!("2026-05-01T23:30:00-05:00"))
    );
    let c2 = stored(&emu, "C-2");
    assert_eq!(c2["Projects/Name"], "123456789012345678901234567890");
    assert_eq!(c2["Projects/Done"], false);
    assert_eq!(c2["Projects/Effort"], 100);
    assert_eq!(c2["Projects/Estimate"], "2.50");
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(rej[0]["field"], "Projects/Effort");
    let reason = rej[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"123456789012345678901234567890\""),
        "{reason}"
    );
    assert!(
        !reason.contains("e29") && !reason.contains("e+29"),
        "{reason}"
    );
    emu.shutdown().await;
}

/// Issue 12, item 6: a row the server refuses is reported at its real line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_refused_by_the_server_reports_its_line() {
    let case = bad_input_corpus::server_refused();
    let (emu, dir, o, _) = run_and_account(&case).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_exactly(&emu, &keys(&["S-1", "S-3"]));
    let rej = rejects(dir.path(), case.name);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert_eq!(
        (rej[0]["row"].as_u64(), rej[0]["line"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(rej[0]["errors"][0]["rule"], "validator", "{}", rej[0]);
    emu.shutdown().await;
}

/// Issue 12, item 6: a wrongly typed mapping file names the column and the shape it
/// should have; 100,000 unmatched columns give a short error that counts the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_and_column_errors_are_short_and_name_the_column() {
    let emu = emulator(None, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), fibery_tests::tasks_csv(2)).unwrap();
    for (map, says) in [
        (
            "[columns]\nProject = 5\n",
            "column \"Project\" must be a field name",
        ),
        (
            "[columns]\nProject = { field = \"Projects/Project\", lookup = [\"Projects/Name\"] }\n",
            "column \"Project\": `lookup` must be a string",
        ),
    ] {
        std::fs::write(dir.path().join("map.toml"), map).unwrap();
        let o = import(&emu, dir.path(), "t.csv", &["--map", "map.toml"]).await;
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
        assert!(!text(&o).contains("untagged"), "{}", text(&o));
    }

    let extra: Vec<String> = (0..100_000).map(|i| format!("Extra {i}")).collect();
    let csv = format!("{CSV_HEADER},{}\n", extra.join(","));
    std::fs::write(dir.path().join("wide.csv"), csv).unwrap();
    let o = import(&emu, dir.path(), "wide.csv", &[]).await;
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.len() < 1_000,
        "{} bytes: {}",
        err.len(),
        &err[..2_000.min(err.len())]
    );
    assert!(
        err.contains("\"Extra 0\"") && err.contains("99994 more"),
        "{err}"
    );
    assert!(emu.entities(TASK).is_empty());
    emu.shutdown().await;
}

/// The accounting over the whole corpus: no line of any file is lost. Prints the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_the_corpus_is_written_or_rejected_raw() {
    let mut table = vec![
        "| file | lines in | header/blank | written | rejected | refused with the file | lost | rows read | extra lines in multi-line rejects |".to_string(),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|".to_string(),
    ];
    for case in bad_input_corpus::all() {
        let (emu, _dir, _o, t) = run_and_account(&case).await;
        assert_eq!(
            t.header_or_blank + t.written + t.rejected + t.refused_with_file + t.lost,
            t.lines
        );
        table.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name,
            t.lines,
            t.header_or_blank,
            t.written,
            t.rejected,
            t.refused_with_file,
            t.lost,
            t.rows_read,
            t.extra_reject_lines
        ));
        emu.shutdown().await;
    }
    println!("{}", table.join("\n"));
}
