//! Streaming readers for CSV and JSON-lines input: one record at a time, memory stays flat.
//!
//! Every row knows exactly where it is in the file ([`Span`]), so a rejected row can be
//! quoted raw (see [`read_raw`]), and a row the reader cannot use is a [`ReadProblem`] of a
//! typed [`ProblemKind`] without touching the rows around it.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::InputFormat;
use crate::error::{CliError, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a row is in the input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line where the row starts.
    pub line: u64,
    /// Lines the row covers: more than 1 for quoted newlines (or an unclosed quote).
    pub lines: u64,
    /// Byte offset of the row's first byte.
    pub start_byte: u64,
    /// Byte offset just after the row's line terminator (for progress).
    pub end_byte: u64,
}

impl Span {
    /// The last line the row covers.
    pub fn last_line(&self) -> u64 {
        self.line + self.lines.max(1) - 1
    }
}

/// One input row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// 1-based data row number (the CSV header is not a row).
    pub row: u64,
    /// Where the row is in the file.
    pub span: Span,
    /// Column name -> value. CSV values are strings; JSONL values are as written.
    pub values: Map<String, Value>,
    /// JSONL only: the source text of top-level numbers that `values` cannot reproduce
    /// (huge integers, `1e3`, `2.50`), so cells and messages use the number as written.
    pub literals: HashMap<String, String>,
    /// The reader saw that no value holds a NUL character, so cells need not be checked
    /// one by one (`false`: not known).
    pub nul_free: bool,
}

/// Why the reader could not turn a row into a [`Record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The row is not valid UTF-8.
    InvalidUtf8 {
        /// The CSV column holding the bad bytes (JSONL: none).
        #[serde(skip_serializing_if = "Option::is_none")]
        column: Option<String>,
        /// Offset of the first bad byte from the start of the row (JSONL) or cell (CSV).
        offset: u64,
    },
    /// The JSONL line is not JSON.
    BadJson {
        /// serde_json's description.
        detail: String,
    },
    /// The JSONL line is JSON but not an object.
    NotAnObject,
    /// The CSV row has more or fewer cells than the header.
    ColumnCount {
        /// Cells in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// A quoted CSV cell runs over line ends and the row does not fit the header: a quote
    /// that was never closed (or closed far too late) swallowed the lines after it.
    UnclosedQuote {
        /// Line of the quote that opened the runaway cell.
        opened_at_line: u64,
        /// Last line swallowed into the row.
        through_line: u64,
        /// Cells in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::InvalidUtf8 {
                column: Some(c),
                offset,
            } => write!(
                f,
                "column \"{c}\" is not valid UTF-8 (bad byte at offset {offset} of the cell)"
            ),
            ProblemKind::InvalidUtf8 {
                column: None,
                offset,
            } => write!(
                f,
                "line is not valid UTF-8 (bad byte at offset {offset} of the line)"
            ),
            ProblemKind::BadJson { detail } => write!(f, "bad JSON: {detail}"),
            ProblemKind::NotAnObject => f.write_str("line is not a JSON object"),
            ProblemKind::ColumnCount { found, expected } => {
                write!(f, "row has {found} columns but the header has {expected}")
            }
            ProblemKind::UnclosedQuote {
                opened_at_line,
                through_line,
                found,
                expected,
            } => write!(
                f,
                "unclosed quote: the quoted cell opened at line {opened_at_line} runs to line \
                 {through_line}, so those lines were read as one row of {found} columns (the \
                 header has {expected}); fix the quote and re-import the lines in `raw`"
            ),
        }
    }
}

/// A row the reader could not use (bad CSV/JSON, not UTF-8); the rows around it are fine.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadProblem {
    /// 1-based data row number.
    pub row: u64,
    /// Where the row is in the file.
    pub span: Span,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What [`Reader::next_record`] yields: a row, or a row that could not be read.
pub type Item = std::result::Result<Record, ReadProblem>;

/// Keeps a copy of the bytes the CSV parser has consumed since the current row began, so
/// a row's exact start (after skipped blank lines) and raw text are known while streaming.
struct Tee {
    file: File,
    kept: Vec<u8>,
    /// File offset of `kept[0]`.
    base: u64,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Tee {
    fn bytes(&self, from: u64, to: u64) -> &[u8] {
        let a = usize::try_from(from.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let b = usize::try_from(to.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.kept
            .get(a.min(b)..b.min(self.kept.len()))
            .unwrap_or(&[])
    }

    /// Forgets the bytes before `offset` (compacting only now and then: amortized O(1)).
    fn release(&mut self, offset: u64) {
        let k = usize::try_from(offset.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let k = k.min(self.kept.len());
        if k >= 64 * 1024 && k * 2 >= self.kept.len() {
            self.kept.drain(..k);
            self.base += k as u64;
        }
    }
}

struct CsvState {
    inner: csv::Reader<Tee>,
    headers: Vec<String>,
    buf: csv::ByteRecord,
    row: u64,
}

struct JsonlState {
    inner: BufReader<File>,
    buf: Vec<u8>,
    row: u64,
    line: u64,
    bytes: u64,
}

enum Inner {
    Csv(CsvState),
    Jsonl(JsonlState),
}

/// A streaming reader over CSV or JSONL.
pub struct Reader {
    inner: Inner,
}

/// Picks the format from `--format` or the file extension.
pub fn detect_format(path: &Path, explicit: Option<InputFormat>) -> Result<InputFormat> {
    if let Some(f) = explicit {
        return Ok(f);
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("csv") | Some("txt") => Ok(InputFormat::Csv),
        Some("jsonl") | Some("ndjson") | Some("json") => Ok(InputFormat::Jsonl),
        _ => Err(CliError::usage(format!(
            "cannot tell the format of {} from its extension",
            path.display()
        ))
        .hint("pass --format csv or --format jsonl")),
    }
}

fn read_failed(e: impl fmt::Display) -> CliError {
    CliError::failure(format!("cannot read the input: {e}"))
}

impl Reader {
    /// Opens `path` for streaming.
    pub fn open(path: &Path, format: InputFormat) -> Result<Reader> {
        let file = File::open(path).map_err(|e| {
            CliError::usage(format!("cannot open {}: {e}", path.display()))
                .hint("check the path (relative paths are relative to the current directory)")
        })?;
        let inner = match format {
            InputFormat::Csv => Inner::Csv(open_csv(path, file)?),
            InputFormat::Jsonl => Inner::Jsonl(JsonlState {
                inner: BufReader::with_capacity(256 * 1024, file),
                buf: Vec::new(),
                row: 0,
                line: 0,
                bytes: 0,
            }),
        };
        Ok(Reader { inner })
    }

    /// Column names known up front (CSV header); empty for JSONL.
    pub fn headers(&self) -> &[String] {
        match &self.inner {
            Inner::Csv(s) => &s.headers,
            Inner::Jsonl(_) => &[],
        }
    }

    /// The next row: `None` at the end, `Some(Err(problem))` for an unreadable row. An
    /// error means the file itself could not be read.
    pub fn next_record(&mut self) -> Result<Option<Item>> {
        match &mut self.inner {
            Inner::Csv(s) => s.next_record(),
            Inner::Jsonl(s) => s.next_record(),
        }
    }
}

fn open_csv(path: &Path, file: File) -> Result<CsvState> {
    let tee = Tee {
        file,
        kept: Vec::new(),
        base: 0,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(tee);
    let headers = rdr
        .headers()
        .map_err(|e| {
            CliError::usage(format!(
                "cannot read the CSV header of {}: {e}",
                path.display()
            ))
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect::<Vec<_>>();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(
            CliError::usage(format!("{} has no header row", path.display()))
                .hint("the first line must name the columns"),
        );
    }
    let after_header = rdr.position().byte();
    rdr.get_mut().release(after_header);
    Ok(CsvState {
        inner: rdr,
        headers,
        buf: csv::ByteRecord::new(),
        row: 0,
    })
}

impl CsvState {
    fn next_record(&mut self) -> Result<Option<Item>> {
        if !self
            .inner
            .read_byte_record(&mut self.buf)
            .map_err(read_failed)?
        {
            return Ok(None);
        }
        self.row += 1;
        let (span, quotes) = self.locate();
        self.inner.get_mut().release(span.end_byte);
        let problem = |kind| {
            Ok(Some(Err(ReadProblem {
                row: self.row,
                span,
                kind,
            })))
        };
        let expected = self.headers.len();
        let found = self.buf.len();
        // A cell still quoted at the end of the file, or a row over several lines that
        // does not fit the header: a quote swallowed the lines after it.
        let runaway = quotes
            .open_at_end
            .or(quotes.first_multiline.filter(|_| found != expected));
        if let Some(opened) = runaway {
            return problem(ProblemKind::UnclosedQuote {
                opened_at_line: span.line + opened,
                through_line: span.last_line(),
                found,
                expected,
            });
        }
        if found != expected {
            return problem(ProblemKind::ColumnCount { found, expected });
        }
        // Validate the whole row at once; a cell is valid when the row is and both of its
        // ends fall on character boundaries.
        let whole = std::str::from_utf8(self.buf.as_slice()).ok();
        let mut values = Map::with_capacity(expected);
        for (i, h) in self.headers.iter().enumerate() {
            let range = self.buf.range(i).unwrap_or_default();
            let text = match whole.and_then(|w| w.get(range.clone())) {
                Some(t) => t,
                None => match std::str::from_utf8(&self.buf.as_slice()[range]) {
                    Ok(t) => t,
                    Err(e) => {
                        return problem(ProblemKind::InvalidUtf8 {
                            column: Some(h.clone()),
                            offset: e.valid_up_to() as u64,
                        });
                    }
                },
            };
            values.insert(h.clone(), Value::String(text.to_string()));
        }
        Ok(Some(Ok(Record {
            row: self.row,
            span,
            values,
            literals: HashMap::new(),
            nul_free: !self.buf.as_slice().contains(&0),
        })))
    }

    /// The exact span of the record just read, and its quoted cells. The parser reports
    /// where it started looking (before skipped blank lines, or at the `\n` of a CRLF):
    /// skip those bytes. Without a quote, the row is one line.
    fn locate(&self) -> (Span, QuoteScan) {
        let (line, byte) = self.buf.position().map_or((1, 0), |p| (p.line(), p.byte()));
        let end = self.inner.position().byte();
        let bytes = self.inner.get_ref().bytes(byte, end);
        let skip = bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let (blank, row) = bytes.split_at(skip);
        let row = without_terminator(row);
        let (lines, quotes) = if row.contains(&b'"') {
            (1 + newlines(row) as u64, QuoteScan::of(row))
        } else {
            (1, QuoteScan::default())
        };
        let span = Span {
            line: line + newlines(blank) as u64,
            lines,
            start_byte: byte + skip as u64,
            end_byte: end,
        };
        (span, quotes)
    }
}

/// `bytes` without one final `\n`, then one final `\r` (the row's line terminator).
fn without_terminator(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Quoted cells of one raw CSV row, by csv-core's rules: a cell is quoted when it starts
/// with `"`; inside, `""` is a quote; any other `"` ends the quoting. Offsets are lines
/// from the row's first line.
#[derive(Debug, Default, PartialEq)]
struct QuoteScan {
    /// Where the first quoted cell that spans a line end opened.
    first_multiline: Option<u64>,
    /// Where a quoted cell still open at the end of the row opened.
    open_at_end: Option<u64>,
}

impl QuoteScan {
    /// Scans a row (without its line terminator).
    fn of(row: &[u8]) -> QuoteScan {
        let mut scan = QuoteScan::default();
        let (mut line, mut opened) = (0u64, None::<u64>);
        let mut at_cell_start = true;
        let mut i = 0;
        while i < row.len() {
            let b = row[i];
            match opened {
                Some(at) => match b {
                    b'"' if row.get(i + 1) == Some(&b'"') => i += 1,
                    b'"' => opened = None,
                    b'\n' => {
                        scan.first_multiline.get_or_insert(at);
                    }
                    _ => {}
                },
                None if at_cell_start && b == b'"' => opened = Some(line),
                None => {}
            }
            line += u64::from(b == b'\n');
            at_cell_start = opened.is_none() && b == b',';
            i += 1;
        }
        scan.open_at_end = opened;
        scan
    }
}

fn newlines(cell: &[u8]) -> usize {
    cell.iter().filter(|b| **b == b'\n').count()
}

impl JsonlState {
    fn next_record(&mut self) -> Result<Option<Item>> {
        loop {
            self.buf.clear();
            let start = self.bytes;
            let n = self
                .inner
                .read_until(b'\n', &mut self.buf)
                .map_err(read_failed)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            let mut body = &self.buf[..];
            let mut span = Span {
                line: self.line,
                lines: 1,
                start_byte: start,
                end_byte: self.bytes,
            };
            if self.line == 1 && body.starts_with(BOM) {
                body = &body[BOM.len()..];
                span.start_byte += BOM.len() as u64;
            }
            let text = match std::str::from_utf8(body) {
                Ok(t) => t.trim(),
                Err(e) => {
                    self.row += 1;
                    return Ok(Some(Err(ReadProblem {
                        row: self.row,
                        span,
                        kind: ProblemKind::InvalidUtf8 {
                            column: None,
                            offset: e.valid_up_to() as u64,
                        },
                    })));
                }
            };
            if text.is_empty() {
                continue;
            }
            self.row += 1;
            let kind = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(values)) => {
                    let literals = number_literals(text, &values);
                    return Ok(Some(Ok(Record {
                        row: self.row,
                        span,
                        values,
                        literals,
                        // JSON text holds a NUL only as the escape `\u0000`.
                        nul_free: !text.contains("\\u0000"),
                    })));
                }
                Ok(_) => ProblemKind::NotAnObject,
                Err(e) => ProblemKind::BadJson {
                    detail: e.to_string(),
                },
            };
            return Ok(Some(Err(ReadProblem {
                row: self.row,
                span,
                kind,
            })));
        }
    }
}

/// The source text of the top-level numbers of `values` that serde_json parsed as `f64`
/// and would print differently (`1e3`, `2.50`, integers beyond 64 bits).
fn number_literals(text: &str, values: &Map<String, Value>) -> HashMap<String, String> {
    let float = |v: &Value| match v {
        Value::Number(n) if n.is_f64() => Some(n.to_string()),
        _ => None,
    };
    if !values
        .values()
        .any(|v| matches!(v, Value::Number(n) if n.is_f64()))
    {
        return HashMap::new();
    }
    member_texts(text)
        .into_iter()
        .filter(|(k, t)| {
            values
                .get(k)
                .and_then(float)
                .is_some_and(|shown| shown != *t)
        })
        .map(|(k, t)| (k, t.to_string()))
        .collect()
}

/// The members of a (valid) JSON object text: each key with the source text of its value.
fn member_texts(text: &str) -> Vec<(String, &str)> {
    let b = text.as_bytes();
    let ws = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = ws(0);
    if b.get(i) != Some(&b'{') {
        return out;
    }
    loop {
        i = ws(i + 1);
        if b.get(i) != Some(&b'"') {
            return out;
        }
        let key_end = string_end(b, i);
        let Ok(key) = serde_json::from_str::<String>(&text[i..key_end]) else {
            return out;
        };
        let start = ws(ws(key_end) + 1);
        let end = value_end(b, start);
        out.push((key, text[start..end].trim_end()));
        i = ws(end);
        if b.get(i) != Some(&b',') {
            return out;
        }
    }
}

/// Index just past the JSON string starting at `b[i] == '"'`.
fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// Index of the `,` or `}` that ends the object member value starting at `i`.
fn value_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return i,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The raw bytes of a row as they are in the file, without the line terminator.
pub fn read_raw(file: &mut File, span: &Span) -> std::io::Result<Vec<u8>> {
    let len = span.end_byte.saturating_sub(span.start_byte);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.seek(SeekFrom::Start(span.start_byte))?;
    file.by_ref().take(len).read_to_end(&mut bytes)?;
    let keep = without_terminator(&bytes).len();
    bytes.truncate(keep);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(content: &[u8], ext: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(content).unwrap();
        f
    }

    fn all(path: &Path, format: InputFormat) -> Vec<Item> {
        let mut r = Reader::open(path, format).unwrap();
        std::iter::from_fn(|| r.next_record().unwrap()).collect()
    }

    /// Every item of `content` read as `format` (from a temporary file, returned too).
    fn read(content: &[u8], format: InputFormat) -> (tempfile::NamedTempFile, Vec<Item>) {
        let ext = if format == InputFormat::Csv {
            ".csv"
        } else {
            ".jsonl"
        };
        let f = tmp(content, ext);
        let items = all(f.path(), format);
        (f, items)
    }

    fn raw(path: &Path, span: &Span) -> Vec<u8> {
        read_raw(&mut File::open(path).unwrap(), span).unwrap()
    }

    #[test]
    fn csv_rows_and_short_rows() {
        let f = tmp(b"a,b\n1,\"x, y\"\n2\n3,z\n", ".csv");
        let mut r = Reader::open(f.path(), detect_format(f.path(), None).unwrap()).unwrap();
        assert_eq!(r.headers(), ["a", "b"]);
        let first = r.next_record().unwrap().unwrap().unwrap();
        assert_eq!(first.row, 1);
        assert_eq!(first.values["b"], "x, y");
        let bad = r.next_record().unwrap().unwrap().unwrap_err();
        assert_eq!((bad.row, bad.span.line), (2, 3));
        assert_eq!(
            bad.kind,
            ProblemKind::ColumnCount {
                found: 1,
                expected: 2
            }
        );
        let third = r.next_record().unwrap().unwrap().unwrap();
        assert_eq!(third.values["a"], "3");
        assert!(first.nul_free && third.nul_free);
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn csv_spans_are_exact_with_crlf_blank_lines_and_quoted_newlines() {
        let text = b"a,b\r\n1,x\r\n\r\n\n2,\"two\r\nlines\"\r\n3,z";
        let (f, items) = read(text, InputFormat::Csv);
        let spans: Vec<Span> = items.iter().map(|i| i.as_ref().unwrap().span).collect();
        assert_eq!(
            spans.iter().map(|s| (s.line, s.lines)).collect::<Vec<_>>(),
            [(2, 1), (5, 2), (7, 1)]
        );
        assert_eq!(raw(f.path(), &spans[0]), b"1,x");
        assert_eq!(raw(f.path(), &spans[1]), b"2,\"two\r\nlines\"");
        assert_eq!(raw(f.path(), &spans[2]), b"3,z");
        assert_eq!(spans[2].end_byte, text.len() as u64);
    }

    #[test]
    fn csv_unclosed_quote_names_its_line_and_covers_every_swallowed_line() {
        // The second quote is open at the end although the columns fit.
        let cases: [(&[u8], usize, &[u8]); 2] = [
            (
                b"h1,h2,h3\nA,1,2\nB,\"oops,3\nC,4,5\nD,6,7\n",
                3,
                b"B,\"oops,3\nC,4,5\nD,6,7",
            ),
            (
                b"h1,h2\nA,1\nB,\"oops\nC,2\nD,3\n",
                2,
                b"B,\"oops\nC,2\nD,3",
            ),
        ];
        for (text, expected, swallowed) in cases {
            let (f, items) = read(text, InputFormat::Csv);
            assert_eq!(items.len(), 2, "{items:?}");
            let p = items[1].as_ref().unwrap_err();
            let kind = ProblemKind::UnclosedQuote {
                opened_at_line: 3,
                through_line: 5,
                found: 2,
                expected,
            };
            assert_eq!(p.kind, kind);
            assert_eq!((p.span.line, p.span.lines), (3, 3));
            assert_eq!(raw(f.path(), &p.span), swallowed);
        }
    }

    #[test]
    fn csv_closed_multiline_cells_and_inner_quotes_are_fine() {
        // A properly closed multi-line cell, and quotes inside cells, are fine.
        let (_f, items) = read(
            b"h1,h2\nA,\"multi\nline \"\"x\"\"\"\nB,say \"hi\"\n",
            InputFormat::Csv,
        );
        assert_eq!(items[0].as_ref().unwrap().values["h2"], "multi\nline \"x\"");
        assert_eq!(items[0].as_ref().unwrap().span.lines, 2);
        assert_eq!(items[1].as_ref().unwrap().values["h2"], "say \"hi\"");
    }

    #[test]
    fn quote_scan_follows_csv_core() {
        assert_eq!(QuoteScan::of(b"a,b"), QuoteScan::default());
        let s = QuoteScan::of(b"a,\"x\ny\",\"z\nw");
        assert_eq!((s.first_multiline, s.open_at_end), (Some(0), Some(1)));
        let s = QuoteScan::of(b"a,b\"c,\"\"\"\"");
        assert_eq!(s, QuoteScan::default());
    }

    #[test]
    fn csv_invalid_utf8_rejects_the_row_and_names_the_column() {
        let (f, items) = read(b"a,b\n1,\xff\n2,ok\n3,n\x00l\n", InputFormat::Csv);
        assert!(!items[2].as_ref().unwrap().nul_free);
        let p = items[0].as_ref().unwrap_err();
        assert_eq!(
            p.kind,
            ProblemKind::InvalidUtf8 {
                column: Some("b".into()),
                offset: 0
            }
        );
        assert_eq!(raw(f.path(), &p.span), b"1,\xff");
        assert_eq!(items[1].as_ref().unwrap().values["b"], "ok");
    }

    #[test]
    fn jsonl_rows_skip_blank_lines() {
        let (_f, items) = read(
            b"{\"a\": 1}\n\nnot json\n[1]\n{\"a\": true, \"b\": \"\\u0000\"}\n",
            InputFormat::Jsonl,
        );
        assert_eq!(items[0].as_ref().unwrap().values["a"], 1);
        assert!(items[0].as_ref().unwrap().nul_free);
        assert!(!items[3].as_ref().unwrap().nul_free);
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!((bad.row, bad.span.line), (2, 3));
        assert!(matches!(bad.kind, ProblemKind::BadJson { .. }));
        assert_eq!(
            items[2].as_ref().unwrap_err().kind,
            ProblemKind::NotAnObject
        );
        let last = items[3].as_ref().unwrap();
        assert_eq!((last.row, last.span.line), (4, 5));
        assert_eq!(items.len(), 4);
    }

    #[test]
    fn jsonl_invalid_utf8_line_is_rejected_alone() {
        let (f, items) = read(
            b"{\"k\":\"1\"}\n{\"k\":\"\xff\"}\n{\"k\":\"3\"}\n{\"k\":\"4\"}\n",
            InputFormat::Jsonl,
        );
        assert_eq!(items.len(), 4);
        let p = items[1].as_ref().unwrap_err();
        assert_eq!(
            p.kind,
            ProblemKind::InvalidUtf8 {
                column: None,
                offset: 6
            }
        );
        assert_eq!(raw(f.path(), &p.span), b"{\"k\":\"\xff\"}");
        let keys: Vec<_> = [0, 2, 3]
            .iter()
            .map(|i| items[*i].as_ref().unwrap().values["k"].clone())
            .collect();
        assert_eq!(keys, ["1", "3", "4"]);
    }

    #[test]
    fn jsonl_bom_is_skipped_and_number_literals_are_kept() {
        let (_f, items) = read(b"\xEF\xBB\xBF{\"a\": 1e3, \"b\": 123456789012345678901234567890, \"c\": 1.5, \"d\": [1.50], \"e\": \"x,}\"}\n", InputFormat::Jsonl);
        let r = items[0].as_ref().unwrap();
        assert_eq!(r.span.start_byte, 3);
        assert_eq!(r.literals["a"], "1e3");
        assert_eq!(r.literals["b"], "123456789012345678901234567890");
        assert!(!r.literals.contains_key("c") && !r.literals.contains_key("d"));
        assert_eq!(r.values["e"], "x,}");
    }

    #[test]
    fn member_texts_handles_nesting_and_escapes() {
        let t = r#" { "a\"b" : {"x": [1, "]}"]} , "c":-2.50e1 } "#;
        assert_eq!(
            member_texts(t),
            [
                ("a\"b".to_string(), r#"{"x": [1, "]}"]}"#),
                ("c".to_string(), "-2.50e1")
            ]
        );
    }

    #[test]
    fn unknown_extension_is_a_usage_error() {
        let e = detect_format(Path::new("x.xlsx"), None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    }
}
