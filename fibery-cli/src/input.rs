//! Streaming readers for CSV and JSON-lines input: one record at a time, memory stays flat.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use crate::cli::InputFormat;
use crate::error::{CliError, Result};

/// One input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based data row number (the CSV header is not a row).
    pub row: u64,
    /// 1-based line number where the row starts in the file.
    pub line: u64,
    /// Byte offset just after the row (for progress).
    pub end_byte: u64,
    /// Column name -> value. CSV values are strings; JSONL values are as written.
    pub values: Map<String, Value>,
}

/// A problem with one input row that keeps it from being read at all (bad CSV/JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadProblem {
    /// 1-based data row number.
    pub row: u64,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// A streaming reader over CSV or JSONL.
pub enum Reader {
    /// CSV with a header row.
    Csv {
        /// The csv reader.
        inner: csv::Reader<BufReader<File>>,
        /// Column names.
        headers: Vec<String>,
        /// Reused record buffer.
        buf: csv::StringRecord,
        /// Rows read so far.
        row: u64,
    },
    /// JSON lines.
    Jsonl {
        /// The buffered file.
        inner: BufReader<File>,
        /// Reused line buffer.
        buf: String,
        /// Rows read so far.
        row: u64,
        /// Lines read so far.
        line: u64,
        /// Bytes read so far.
        bytes: u64,
    },
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

impl Reader {
    /// Opens `path` for streaming.
    pub fn open(path: &Path, format: InputFormat) -> Result<Reader> {
        let file = File::open(path).map_err(|e| {
            CliError::usage(format!("cannot open {}: {e}", path.display()))
                .hint("check the path (relative paths are relative to the current directory)")
        })?;
        let inner = BufReader::with_capacity(256 * 1024, file);
        match format {
            InputFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(inner);
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
                Ok(Reader::Csv {
                    inner: rdr,
                    headers,
                    buf: csv::StringRecord::new(),
                    row: 0,
                })
            }
            InputFormat::Jsonl => Ok(Reader::Jsonl {
                inner,
                buf: String::new(),
                row: 0,
                line: 0,
                bytes: 0,
            }),
        }
    }

    /// Column names known up front (CSV header); empty for JSONL.
    pub fn headers(&self) -> &[String] {
        match self {
            Reader::Csv { headers, .. } => headers,
            Reader::Jsonl { .. } => &[],
        }
    }

    /// The next row: `None` at the end, `Some(Err(problem))` for an unreadable row.
    pub fn next_record(&mut self) -> Option<std::result::Result<Record, ReadProblem>> {
        match self {
            Reader::Csv {
                inner,
                headers,
                buf,
                row,
            } => {
                let res = inner.read_record(buf);
                match res {
                    Ok(false) => None,
                    Ok(true) => {
                        *row += 1;
                        let line = buf.position().map_or(0, |p| p.line());
                        let end_byte = inner.position().byte();
                        if buf.len() != headers.len() {
                            return Some(Err(ReadProblem {
                                row: *row,
                                line,
                                reason: format!(
                                    "row has {} columns but the header has {}",
                                    buf.len(),
                                    headers.len()
                                ),
                            }));
                        }
                        let mut values = Map::with_capacity(headers.len());
                        for (h, v) in headers.iter().zip(buf.iter()) {
                            values.insert(h.clone(), Value::String(v.to_string()));
                        }
                        Some(Ok(Record {
                            row: *row,
                            line,
                            end_byte,
                            values,
                        }))
                    }
                    Err(e) => {
                        *row += 1;
                        let line = e.position().map_or(0, |p| p.line());
                        Some(Err(ReadProblem {
                            row: *row,
                            line,
                            reason: format!("bad CSV: {e}"),
                        }))
                    }
                }
            }
            Reader::Jsonl {
                inner,
                buf,
                row,
                line,
                bytes,
            } => loop {
                buf.clear();
                match inner.read_line(buf) {
                    Ok(0) => return None,
                    Ok(n) => {
                        *line += 1;
                        *bytes += n as u64;
                        let text = buf.trim();
                        if text.is_empty() {
                            continue;
                        }
                        *row += 1;
                        return Some(match serde_json::from_str::<Value>(text) {
                            Ok(Value::Object(values)) => Ok(Record {
                                row: *row,
                                line: *line,
                                end_byte: *bytes,
                                values,
                            }),
                            Ok(_) => Err(ReadProblem {
                                row: *row,
                                line: *line,
                                reason: "line is not a JSON object".into(),
                            }),
                            Err(e) => Err(ReadProblem {
                                row: *row,
                                line: *line,
                                reason: format!("bad JSON: {e}"),
                            }),
                        });
                    }
                    Err(e) => {
                        *row += 1;
                        *line += 1;
                        // Skip the rest of an undecodable line.
                        let mut sink = Vec::new();
                        let _ = inner.by_ref().take(1 << 20).read_until(b'\n', &mut sink);
                        *bytes += sink.len() as u64;
                        return Some(Err(ReadProblem {
                            row: *row,
                            line: *line,
                            reason: format!("unreadable line: {e}"),
                        }));
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(content: &str, ext: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn csv_rows_and_short_rows() {
        let f = tmp("a,b\n1,\"x, y\"\n2\n3,z\n", ".csv");
        let mut r = Reader::open(f.path(), detect_format(f.path(), None).unwrap()).unwrap();
        assert_eq!(r.headers(), ["a", "b"]);
        let first = r.next_record().unwrap().unwrap();
        assert_eq!(first.row, 1);
        assert_eq!(first.values["b"], "x, y");
        let bad = r.next_record().unwrap().unwrap_err();
        assert_eq!((bad.row, bad.line), (2, 3));
        let third = r.next_record().unwrap().unwrap();
        assert_eq!(third.values["a"], "3");
        assert!(r.next_record().is_none());
    }

    #[test]
    fn jsonl_rows_skip_blank_lines() {
        let f = tmp("{\"a\": 1}\n\nnot json\n[1]\n{\"a\": true}\n", ".jsonl");
        let mut r = Reader::open(f.path(), InputFormat::Jsonl).unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().values["a"], 1);
        let bad = r.next_record().unwrap().unwrap_err();
        assert_eq!((bad.row, bad.line), (2, 3));
        assert!(r.next_record().unwrap().is_err());
        let last = r.next_record().unwrap().unwrap();
        assert_eq!((last.row, last.line), (4, 5));
        assert!(r.next_record().is_none());
    }

    #[test]
    fn unknown_extension_is_a_usage_error() {
        let e = detect_format(Path::new("x.xlsx"), None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    }
}
