//! The bad-input corpus: every file `bad_input.rs` imports, built line by line so the
//! accounting check knows, for each physical line, which row it was written as (its
//! external id) — independently of how the importer parses it.

use fibery_tests::{CSV_HEADER, task_row};

/// What one physical line of a case file is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// The CSV header.
    Header,
    /// An empty line (no row).
    Blank,
    /// (Part of) a row the author wrote, with the external id it has if stored (`None`
    /// when no id can be read from it, e.g. a line that is not JSON).
    Row(Option<String>),
}

/// Which emulator a case needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Server {
    /// The sample schema and seed, no rate limits.
    Plain,
    /// The same with a 4 MiB request body limit (HTTP 413 above).
    SmallBodies,
}

/// One file of the corpus.
pub struct Case {
    /// File name (its extension picks the format).
    pub name: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// One entry per physical line.
    pub lines: Vec<Line>,
    /// Rows the author wrote over several lines on purpose: (first line, lines).
    pub multi_line_rows: Vec<(u64, u64)>,
    /// Extra `fibery import` arguments.
    pub args: Vec<String>,
    /// Other files the import reads (a mapping file).
    pub files: Vec<(&'static str, String)>,
    /// The emulator it runs against.
    pub server: Server,
    /// Rows per request (`--batch`).
    pub batch: usize,
    eol: &'static str,
}

impl Case {
    fn new(name: &'static str) -> Case {
        Case {
            name,
            bytes: Vec::new(),
            lines: Vec::new(),
            multi_line_rows: Vec::new(),
            args: Vec::new(),
            files: Vec::new(),
            server: Server::Plain,
            batch: 10,
            eol: "\n",
        }
    }

    fn csv(name: &'static str) -> Case {
        let mut c = Case::new(name);
        c.header(CSV_HEADER);
        c
    }

    fn header(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.extend_from_slice(self.eol.as_bytes());
        self.lines.push(Line::Header);
    }

    fn blank(&mut self) {
        self.bytes.extend_from_slice(self.eol.as_bytes());
        self.lines.push(Line::Blank);
    }

    /// A row (bytes, may span lines) with the external id it is stored under.
    fn bytes_row(&mut self, bytes: &[u8], key: Option<&str>) {
        let n = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        if n > 1 {
            self.multi_line_rows.push((self.lines.len() as u64 + 1, n));
        }
        for _ in 0..n {
            self.lines.push(Line::Row(key.map(String::from)));
        }
        self.bytes.extend_from_slice(bytes);
        self.bytes.extend_from_slice(self.eol.as_bytes());
    }

    fn row(&mut self, text: &str, key: Option<&str>) {
        self.bytes_row(text.as_bytes(), key);
    }

    /// A valid task row `T-{i:07}`.
    fn task(&mut self, i: usize) -> String {
        let key = format!("T-{i:07}");
        self.row(&task_row(i), Some(&key));
        key
    }

    /// A row that the author means as several one-line rows, each with its own id (a
    /// stray quote may make the importer read them as one).
    fn rows(&mut self, rows: &[(String, String)]) {
        for (text, key) in rows {
            self.row(text, Some(key));
        }
    }
}

/// A wrong value for every column type, each in an otherwise valid row, between valid
/// rows: (row text, blamed field, a word the reason must quote).
pub fn typed() -> (Case, Vec<(&'static str, &'static str)>, Vec<String>) {
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
    let mut c = Case::csv("typed.csv");
    let mut good = Vec::new();
    for (k, (row, ..)) in bad.iter().enumerate() {
        for j in 0..3 {
            good.push(c.task(k * 3 + j));
        }
        c.row(row, Some(&row[..4]));
    }
    let blamed = bad.iter().map(|(_, f, w)| (*f, *w)).collect();
    (c, blamed, good)
}

/// Wrong field counts, invalid UTF-8 and a quote inside a cell, between valid rows.
pub fn broken() -> Case {
    let mut c = Case::csv("broken.csv");
    c.task(0);
    c.row("M-1,Too few fields", Some("M-1"));
    c.task(1);
    c.row(
        "M-2,Too many,Apollo,Open,Low,,1.0,1,,false,extra,extra",
        Some("M-2"),
    );
    c.task(2);
    c.bytes_row(
        b"M-3,Bad \xff\xfe utf8,Apollo,Open,Low,,1.0,1,,false",
        Some("M-3"),
    );
    c.task(3);
    c.row(
        "M-4,Stray \"quote\" inside,Apollo,Open,Low,,1.0,1,,false",
        Some("M-4"),
    );
    c.task(4);
    c
}

/// A valid JSON-lines row.
pub fn json_row(k: &str) -> String {
    format!(
        r#"{{"External Id": "{k}", "Name": "ok {k}", "Effort": 3, "Estimate": 1.5, "Done": true, "Due": "2026-03-01", "Priority": "Low"}}"#
    )
}

/// JSON lines with wrong JSON types per field and malformed lines.
pub fn jsonl_types() -> Case {
    let mut c = Case::new("rows.jsonl");
    c.row(&json_row("J-1"), Some("J-1"));
    c.row(
        r#"{"External Id": "X-1", "Name": "int as text", "Effort": "three"}"#,
        Some("X-1"),
    );
    c.row(&json_row("J-2"), Some("J-2"));
    c.row(
        r#"{"External Id": "X-2", "Name": "bool as number", "Done": 7}"#,
        Some("X-2"),
    );
    c.row(
        r#"{"External Id": "X-3", "Name": ["array", "for", "text"]}"#,
        Some("X-3"),
    );
    c.row(
        r#"{"External Id": "X-4", "Name": "object for date", "Due": {"day": 1}}"#,
        Some("X-4"),
    );
    c.row(
        r#"{"External Id": "X-5", "Name": "decimal as bool", "Estimate": false}"#,
        Some("X-5"),
    );
    c.row(r#"{"External Id": "X-6", "Name": "not json"#, None);
    c.row("[1, 2, 3]", None);
    c.row(&json_row("J-3"), Some("J-3"));
    c
}

/// File-level problems: (case, whether the import refuses the whole file).
pub fn file_level() -> Vec<(Case, bool)> {
    let empty = Case::new("empty.csv");
    let header = Case::csv("header.csv");
    let mut unknown = Case::new("unknown.csv");
    unknown.header(&format!("{CSV_HEADER},Colour"));
    unknown.row(&format!("{},red", task_row(1)), Some("T-0000001"));
    let mut typo = Case::new("typo.csv");
    typo.header("External Id,Nmae");
    typo.row("T-1,x", Some("T-1"));
    vec![
        (empty, true),
        (header, false),
        (unknown, true),
        (typo, true),
    ]
}

/// A 1 MiB name (written intact) and a 6 MiB row (HTTP 413: rejected alone).
pub fn oversized() -> (Case, Vec<String>) {
    let mut c = Case::csv("big.csv");
    c.server = Server::SmallBodies;
    let mut good = Vec::new();
    for i in 0..9 {
        good.push(c.task(i));
    }
    c.row(
        &format!(
            "O-1,{},Apollo,Open,Low,,1.0,1,,false",
            "n".repeat(1024 * 1024)
        ),
        Some("O-1"),
    );
    good.push("O-1".into());
    for i in 9..13 {
        good.push(c.task(i));
    }
    c.row(
        &format!(
            "O-2,{},Apollo,Open,Low,,1.0,1,,false",
            "h".repeat(6 * 1024 * 1024)
        ),
        Some("O-2"),
    );
    for i in 13..20 {
        good.push(c.task(i));
    }
    (c, good)
}

/// A 10 MB rich-text cell (markdown over many lines) between two small ones.
pub fn rich_text() -> (Case, String) {
    let line = "A paragraph of release notes with **bold** text and a list item.\n";
    let big: String = line.repeat(10 * 1024 * 1024 / line.len() + 1);
    let mut c = Case::new("docs.csv");
    c.header("External Id,Name,Description");
    c.row("R-1,Small,\"Just *one* line\"", Some("R-1"));
    c.row(&format!("R-2,Big,\"{big}\""), Some("R-2"));
    c.row("R-3,Small too,\"Another line\"", Some("R-3"));
    (c, big)
}

/// The issue's JSON-lines file whose line 2 is not UTF-8.
pub fn invalid_utf8_jsonl() -> Case {
    let mut c = Case::new("u.jsonl");
    c.row(r#"{"External Id":"X-1","Name":"a"}"#, Some("X-1"));
    c.bytes_row(b"{\"External Id\":\"X-2\",\"Name\":\"\xff\"}", Some("X-2"));
    c.row(r#"{"External Id":"X-3","Name":"c"}"#, Some("X-3"));
    c.row(r#"{"External Id":"X-4","Name":"d"}"#, Some("X-4"));
    c
}

/// Rows of [`stray_quote`].
pub const STRAY_QUOTE_ROWS: usize = 3_000;

/// [`STRAY_QUOTE_ROWS`] valid task rows with a stray opening quote in the name of the
/// middle one; returns the case and the line of the quote.
pub fn stray_quote() -> (Case, u64) {
    let (n, at) = (STRAY_QUOTE_ROWS, STRAY_QUOTE_ROWS / 2);
    let mut c = Case::csv("quote.csv");
    c.batch = 500;
    let rows: Vec<(String, String)> = (0..n)
        .map(|i| {
            let key = format!("T-{i:07}");
            let row = task_row(i);
            let row = if i == at {
                row.replacen(",Task number", ",\"Task number", 1)
            } else {
                row
            };
            (row, key)
        })
        .collect();
    c.rows(&rows);
    (c, at as u64 + 2)
}

/// A stray quote opening the last column near the end: the column count still fits.
pub fn stray_quote_last_column() -> (Case, u64) {
    let mut c = Case::new("quote-end.csv");
    c.header("External Id,Name");
    c.row("E-1,first", Some("E-1"));
    c.row("E-2,\"second", Some("E-2"));
    c.row("E-3,third", Some("E-3"));
    c.row("E-4,fourth", Some("E-4"));
    (c, 3)
}

/// NUL characters in a text field and in the upsert key, next to clean rows.
pub fn nul_bytes() -> Case {
    let mut c = Case::new("nul.jsonl");
    c.row(&json_row("N-1"), Some("N-1"));
    c.row(
        r#"{"External Id": "BAD-00003\u0000", "Name": "key with NUL"}"#,
        Some("BAD-00003\u{0}"),
    );
    c.row(
        r#"{"External Id": "N-2", "Name": "name with \u0000 NUL"}"#,
        Some("N-2"),
    );
    c.row(&json_row("N-3"), Some("N-3"));
    c
}

/// A JSON-lines file starting with a UTF-8 byte order mark.
pub fn bom_jsonl() -> Case {
    let mut c = Case::new("bom.jsonl");
    let first = format!("\u{feff}{}", json_row("BOM-1"));
    c.row(&first, Some("BOM-1"));
    c.row(&json_row("BOM-2"), Some("BOM-2"));
    c
}

/// Cells that rely on the coercion rule of each field type.
pub fn coercions() -> Case {
    let mut c = Case::new("coerce.jsonl");
    c.row(
        r#"{"External Id": "C-1", "Name": 5, "Done": "yes", "Effort": "3.0", "Estimate": 1e3, "Due": "2026-05-01T23:30:00-05:00"}"#,
        Some("C-1"),
    );
    c.row(
        r#"{"External Id": "C-2", "Name": 123456789012345678901234567890, "Done": "N", "Effort": 1e2, "Estimate": "2.50"}"#,
        Some("C-2"),
    );
    c.row(
        r#"{"External Id": "C-3", "Name": "huge effort", "Effort": 123456789012345678901234567890}"#,
        Some("C-3"),
    );
    c
}

/// A row the server refuses (a relation to an id that does not exist) on line 4.
pub fn server_refused() -> Case {
    let mut c = Case::new("refused.csv");
    c.header("External Id,Name,Project");
    c.row("S-1,ok,Apollo", Some("S-1"));
    c.blank();
    c.row(
        "S-2,dangling project,6f1c1d7e-0000-4000-8000-000000000001",
        Some("S-2"),
    );
    c.row("S-3,ok,Borealis", Some("S-3"));
    c
}

/// CRLF line ends, blank lines and a quoted multi-line cell, with one bad row.
pub fn crlf() -> Case {
    let mut c = Case::new("crlf.csv");
    c.eol = "\r\n";
    c.header("External Id,Name,Due");
    c.row("W-1,first,2026-01-01", Some("W-1"));
    c.blank();
    c.row("W-2,\"two\r\nlines\",2026-01-02", Some("W-2"));
    c.blank();
    c.row("W-3,bad date,2026-13-01", Some("W-3"));
    c.row("W-4,last,", Some("W-4"));
    c
}

/// Every case of the corpus.
pub fn all() -> Vec<Case> {
    let mut v = vec![typed().0, broken(), jsonl_types()];
    v.extend(file_level().into_iter().map(|(c, _)| c));
    v.push(oversized().0);
    v.push(rich_text().0);
    v.push(invalid_utf8_jsonl());
    v.push(stray_quote().0);
    v.push(stray_quote_last_column().0);
    v.push(nul_bytes());
    v.push(bom_jsonl());
    v.push(coercions());
    v.push(server_refused());
    v.push(crlf());
    v
}
