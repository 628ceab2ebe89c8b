//! The import journal: an append-only JSON-lines file that records, per batch, "sent" before
//! the request and "done" after its result (several batches may be in flight, so "done"s
//! come in completion order), so `--resume` can skip what is known to be written and
//! re-check the batches whose outcome is unknown.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// What identifies an import run: a journal only resumes the same import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Journal format version.
    pub version: u32,
    /// Input file size in bytes.
    pub input_size: u64,
    /// FNV-1a 64 of the whole input (hex).
    pub input_hash: String,
    /// Target type.
    pub type_name: String,
    /// Upsert key (if any).
    pub key: Option<String>,
    /// Create or upsert.
    pub mode: String,
    /// Where the import writes (base URL or "embedded").
    pub target: String,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    /// The run's identity (first line).
    Start(Header),
    /// A batch is about to be sent.
    Sent {
        /// Batch sequence number.
        batch: u64,
        /// First data row in the batch.
        first_row: u64,
        /// Last data row in the batch (everything up to here was read).
        last_row: u64,
        /// Entities in the batch (their ids are re-derived from the rows on resume).
        entities: usize,
    },
    /// A batch's result came back.
    Done {
        /// Batch sequence number.
        batch: u64,
        /// Last data row in the batch.
        last_row: u64,
        /// Entities written.
        written: u64,
        /// Rows the server rejected.
        rejected: u64,
    },
    /// The whole input was processed.
    Complete {
        /// Last data row.
        last_row: u64,
    },
}

/// What a journal says about an earlier run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeState {
    /// Every row up to and including this one is settled (written, rejected or skipped).
    pub done_through: u64,
    /// Rows whose outcome is unknown: from the first batch sent without a recorded result
    /// to the last row sent (first row, last row, entities in the unfinished batches).
    pub uncertain: Option<(u64, u64, usize)>,
    /// Next batch number.
    pub next_batch: u64,
    /// The run finished.
    pub complete: bool,
    /// Entities written by the earlier runs.
    pub written: u64,
}

/// The journal format this build writes and resumes. Version 1 fingerprinted only the
/// first MiB of the input, so a fix further down went unnoticed; its journals are refused.
pub const VERSION: u32 = 2;

/// The size of a file and the FNV-1a 64 hash of all of its bytes, read in 256 KiB chunks.
///
/// FNV-1a rather than a cryptographic hash: neither `sha2` nor `blake3` is in the
/// dependency tree, the fingerprint only has to notice edits (not resist forgery: whoever
/// can edit the input can delete the journal), and 64 bits make an accidental match
/// negligible. It costs one sequential read of the file, before the import reads it.
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let mut f = File::open(path)?;
    let size = f.metadata()?.len();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for b in &buf[..n] {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok((size, format!("{h:016x}")))
}

/// Checks the journal's first line: a start entry of this format [`VERSION`], for the
/// same input, type, key, mode and target as `header`.
fn check_start(path: &Path, first: Option<&str>, header: &Header) -> Result<()> {
    let start_over =
        "run without --resume to start over (writes are idempotent: nothing is duplicated)";
    let first: Option<serde_json::Value> = first.and_then(|l| serde_json::from_str(l).ok());
    let Some(first) = first.filter(|v| v["event"] == "start") else {
        return Err(CliError::usage(format!(
            "--resume: {} is not an import journal (no start line)",
            path.display()
        ))
        .hint(start_over));
    };
    let version = first["version"].as_u64().unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(CliError::usage(format!(
            "--resume: the journal {} has format version {version}; this fibery resumes only version {VERSION} journals (they fingerprint the whole input)",
            path.display()
        ))
        .hint(start_over));
    }
    match serde_json::from_value::<Entry>(first) {
        Ok(Entry::Start(h)) if &h == header => Ok(()),
        _ => Err(CliError::usage(format!(
            "--resume: the journal {} belongs to a different import (input, type, key, mode or target changed)",
            path.display()
        ))
        .hint(start_over)),
    }
}

/// An open journal being appended to.
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Starts a fresh journal (truncates) with the header.
    pub fn create(path: &Path, header: &Header) -> Result<Journal> {
        let file = File::create(path).map_err(|e| {
            CliError::failure(format!("cannot write the journal {}: {e}", path.display()))
                .hint("pass --journal PATH to put it somewhere writable")
        })?;
        let mut j = Journal {
            file,
            path: path.to_path_buf(),
        };
        j.append(&Entry::Start(header.clone()))?;
        Ok(j)
    }

    /// Opens an existing journal for `--resume`: checks the header, returns the state.
    pub fn resume(path: &Path, header: &Header) -> Result<(Journal, ResumeState)> {
        let f = File::open(path).map_err(|e| {
            CliError::usage(format!(
                "--resume: cannot read the journal {}: {e}",
                path.display()
            ))
            .hint("run without --resume to start the import from the beginning")
        })?;
        let mut lines = BufReader::new(f).lines();
        check_start(path, lines.next().transpose()?.as_deref(), header)?;
        let mut state = ResumeState::default();
        // Batches sent without a "done" (several may be in flight), and the last row sent.
        let mut pending: std::collections::BTreeMap<u64, (u64, usize)> = Default::default();
        let mut last_sent = 0;
        for line in lines {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            // A torn last line (killed mid-write) is ignored.
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            match entry {
                Entry::Start(_) => {}
                Entry::Sent {
                    batch,
                    first_row,
                    last_row,
                    entities,
                } => {
                    pending.insert(batch, (first_row, entities));
                    last_sent = last_sent.max(last_row);
                    state.next_batch = state.next_batch.max(batch + 1);
                }
                Entry::Done {
                    batch,
                    last_row,
                    written,
                    ..
                } => {
                    pending.remove(&batch);
                    state.done_through = state.done_through.max(last_row);
                    state.written += written;
                    state.next_batch = state.next_batch.max(batch + 1);
                }
                Entry::Complete { last_row } => {
                    state.complete = true;
                    state.done_through = state.done_through.max(last_row);
                }
            }
        }
        // Batches start in row order but finish in any order: the rows before the first
        // unfinished batch are settled; from there on, everything sent is uncertain.
        if let Some(first) = pending.values().map(|(f, _)| *f).min() {
            state.done_through = state.done_through.min(first.saturating_sub(1));
            let entities = pending.values().map(|(_, n)| n).sum();
            state.uncertain = Some((first, last_sent, entities));
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((
            Journal {
                file,
                path: path.to_path_buf(),
            },
            state,
        ))
    }

    /// Appends one entry and flushes it to the OS (survives SIGKILL of this process).
    pub fn append(&mut self, e: &Entry) -> Result<()> {
        let mut line = serde_json::to_string(e).map_err(|e| CliError::failure(e.to_string()))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|e| {
            CliError::failure(format!(
                "cannot append to the journal {}: {e}",
                self.path.display()
            ))
        })?;
        self.file.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            version: VERSION,
            input_size: 10,
            input_hash: "ab".into(),
            type_name: "Projects/Task".into(),
            key: None,
            mode: "upsert".into(),
            target: "x".into(),
        }
    }

    #[test]
    fn resume_finds_done_prefix_and_uncertain_batch() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let mut j = Journal::create(&p, &header()).unwrap();
        j.append(&Entry::Sent {
            batch: 0,
            first_row: 1,
            last_row: 10,
            entities: 1,
        })
        .unwrap();
        j.append(&Entry::Done {
            batch: 0,
            last_row: 10,
            written: 9,
            rejected: 0,
        })
        .unwrap();
        j.append(&Entry::Sent {
            batch: 1,
            first_row: 11,
            last_row: 20,
            entities: 1,
        })
        .unwrap();
        drop(j);
        // A torn line at the end.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"event\":\"do")
            .unwrap();
        let (_, st) = Journal::resume(&p, &header()).unwrap();
        assert_eq!(st.done_through, 10);
        assert_eq!(st.written, 9);
        assert_eq!(st.next_batch, 2);
        assert_eq!(st.uncertain, Some((11, 20, 1)));
        assert!(!st.complete);
        let mut other = header();
        other.input_size = 11;
        assert!(Journal::resume(&p, &other).is_err());
    }

    #[test]
    fn fingerprint_covers_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        let mut bytes = vec![b'a'; 3 << 20];
        std::fs::write(&p, &bytes).unwrap();
        let before = fingerprint(&p).unwrap();
        bytes[(5 << 20) / 2] = b'b';
        std::fs::write(&p, &bytes).unwrap();
        let after = fingerprint(&p).unwrap();
        assert_eq!(before.0, after.0);
        assert_ne!(before.1, after.1);
    }

    #[test]
    fn journals_of_another_version_or_without_a_start_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let mut old = serde_json::to_value(Entry::Start(header())).unwrap();
        old["version"] = 1.into();
        for text in [
            format!("{old}\n"),
            String::new(),
            "{\"event\":\"sent\"}\n".into(),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = Journal::resume(&p, &header()).err().unwrap();
            assert_eq!(e.kind, crate::error::ErrorKind::Usage);
        }
    }
}
