//! The rejects file: one JSON line per row that was not written, with why, and the row's
//! raw text exactly as it is in the input, so it can be fixed and imported again.
//!
//! `raw` is the text of every line the row covers (line terminators inside the row kept,
//! the final one dropped). A row that is not valid UTF-8 cannot be JSON text as is: its
//! `raw` then shows the bad bytes as U+FFFD (readable, to see what to fix) and
//! `raw_base64` holds the exact bytes (nothing is lost).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use fibery_core::validate::{Rule, Violation};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CliError, Result};
use crate::input::{ProblemKind, ReadProblem, Record, Span, read_raw};
use crate::mapping::PreparedRow;

/// Why a row is rejected (one line of the rejects file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// Data row number.
    pub row: u64,
    /// Line where the row starts in the file.
    pub line: u64,
    /// Lines the row covers (more than 1 for quoted newlines or an unclosed quote).
    pub lines: u64,
    /// First offending field (or column).
    pub field: String,
    /// First reason.
    pub reason: String,
    /// Every violation.
    pub errors: Vec<Violation>,
    /// For a row the reader could not use: what was wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemKind>,
    /// The row as read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Map<String, Value>>,
    /// The row's text as in the file (filled in by [`Rejects::write`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The row's exact bytes, when they are not valid UTF-8 (standard base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    /// Where the row is in the input.
    #[serde(skip)]
    pub span: Span,
}

impl Reject {
    fn base(row: u64, span: Span, errors: Vec<Violation>) -> Reject {
        let (field, reason) = errors
            .first()
            .map(|v| (v.field.clone(), v.reason.clone()))
            .unwrap_or_default();
        Reject {
            row,
            line: span.line,
            lines: span.lines,
            field,
            reason,
            errors,
            problem: None,
            record: None,
            raw: None,
            raw_base64: None,
            span,
        }
    }

    /// A reject from a list of violations.
    pub fn new(rec: &Record, errors: Vec<Violation>) -> Reject {
        let mut r = Reject::base(rec.row, rec.span, errors);
        r.record = Some(rec.values.clone());
        r
    }

    /// A row the reader could not use.
    pub fn unreadable(p: &ReadProblem) -> Reject {
        let field = match &p.kind {
            ProblemKind::InvalidUtf8 {
                column: Some(c), ..
            } => c.clone(),
            _ => String::new(),
        };
        let errors = vec![Violation {
            field,
            rule: Rule::WrongType,
            reason: p.kind.to_string(),
        }];
        let mut r = Reject::base(p.row, p.span, errors);
        r.problem = Some(p.kind.clone());
        r
    }

    /// A prepared row that could not be written (`record`: the fields that were sent).
    pub fn unwritten(row: &PreparedRow, field: &str, rule: Rule, reason: String) -> Reject {
        let errors = vec![Violation {
            field: field.to_string(),
            rule,
            reason,
        }];
        let mut r = Reject::base(row.row, row.span, errors);
        r.record = Some(row.fields.clone());
        r
    }

    /// A problem after the entity was written (collection values, documents): no record.
    pub fn partial(row: u64, span: Span, field: &str, rule: Rule, reason: String) -> Reject {
        let errors = vec![Violation {
            field: field.to_string(),
            rule,
            reason,
        }];
        Reject::base(row, span, errors)
    }
}

/// Writes the rejects file, quoting each row's raw text from the input.
pub struct Rejects {
    out: BufWriter<File>,
    input: File,
    /// Lines written in this run.
    pub count: u64,
    /// Lines kept from an earlier run (`--resume`).
    pub kept: u64,
}

impl Rejects {
    /// Creates (truncates) the rejects file for `input`. With `keep_through`, the lines of
    /// an earlier run about rows up to that one are kept (`--resume`).
    pub fn open(path: &Path, input: &Path, keep_through: Option<u64>) -> Result<Rejects> {
        let mut kept = Vec::new();
        if let Some(limit) = keep_through
            && let Ok(f) = File::open(path)
        {
            for line in BufReader::new(f).lines() {
                let line = line?;
                let row = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("row").and_then(Value::as_u64));
                if row.is_some_and(|r| r <= limit) {
                    kept.push(line);
                }
            }
        }
        let input = File::open(input)
            .map_err(|e| CliError::failure(format!("cannot re-open the input: {e}")))?;
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| {
                CliError::failure(format!(
                    "cannot write the rejects file {}: {e}",
                    path.display()
                ))
                .hint("pass --rejects PATH to put it somewhere writable")
            })?;
        let mut out = BufWriter::new(f);
        for l in &kept {
            writeln!(out, "{l}")?;
        }
        out.flush()?;
        Ok(Rejects {
            out,
            input,
            count: 0,
            kept: kept.len() as u64,
        })
    }

    /// Appends one reject, with the raw text of its row read back from the input.
    pub fn write(&mut self, mut r: Reject) -> Result<()> {
        let bytes = read_raw(&mut self.input, &r.span).map_err(|e| {
            CliError::failure(format!(
                "cannot re-read line {} of the input for the rejects file: {e}",
                r.span.line
            ))
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => r.raw = Some(text),
            Err(e) => {
                r.raw = Some(String::from_utf8_lossy(e.as_bytes()).into_owned());
                r.raw_base64 = Some(base64(e.as_bytes()));
            }
        }
        let line = serde_json::to_string(&r).map_err(|e| CliError::failure(e.to_string()))?;
        writeln!(self.out, "{line}")?;
        self.count += 1;
        Ok(())
    }

    /// Flushes to the OS.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// Standard base64 (RFC 4648, with padding).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(b"\xff\xfe\x00"), "//4A");
    }

    #[test]
    fn raw_text_is_kept_exactly_and_lossy_rows_carry_base64() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, b"{\"a\":\"ok\"}\r\n{\"a\":\"\xff\"}\n").unwrap();
        let out = dir.path().join("rejects.jsonl");
        let mut rj = Rejects::open(&out, &input, None).unwrap();
        let span = |line, start, end| Span {
            line,
            lines: 1,
            start_byte: start,
            end_byte: end,
        };
        let problem = ReadProblem {
            row: 2,
            span: span(2, 12, 23),
            kind: ProblemKind::InvalidUtf8 {
                column: None,
                offset: 6,
            },
        };
        let mut first = Reject::unreadable(&problem);
        first.span = span(1, 0, 12);
        rj.write(first).unwrap();
        rj.write(Reject::unreadable(&problem)).unwrap();
        rj.flush().unwrap();
        let lines: Vec<Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["raw"], "{\"a\":\"ok\"}");
        assert!(lines[0].get("raw_base64").is_none());
        assert_eq!(lines[1]["raw"], "{\"a\":\"\u{fffd}\"}");
        assert_eq!(lines[1]["raw_base64"], base64(b"{\"a\":\"\xff\"}"));
        assert_eq!(lines[1]["problem"]["kind"], "invalid-utf8");
        assert_eq!(lines[1]["line"], 2);
    }
}
