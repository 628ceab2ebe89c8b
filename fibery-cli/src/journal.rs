//! The import journal: an append-only JSON-lines file that records, per batch, "sent" before
//! the request and "done" after its result, so `--resume` can skip what is known to be
//! written and re-check the batch whose outcome is unknown.

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
    /// FNV-1a 64 of the first 1 MiB of the input.
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
    /// A batch that was sent without a recorded result: (first row, last row, entities).
    pub uncertain: Option<(u64, u64, usize)>,
    /// Next batch number.
    pub next_batch: u64,
    /// The run finished.
    pub complete: bool,
    /// Entities written by the earlier runs.
    pub written: u64,
}

/// FNV-1a 64 over the first MiB of a file, plus its size.
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let f = File::open(path)?;
    let size = f.metadata()?.len();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 64 * 1024];
    let mut taken = f.take(1 << 20);
    loop {
        let n = taken.read(&mut buf)?;
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
        let mut state = ResumeState::default();
        let mut pending: Option<(u64, u64, u64, usize)> = None;
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            // A torn last line (killed mid-write) is ignored.
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            match entry {
                Entry::Start(h) => {
                    if i == 0 && &h != header {
                        return Err(CliError::usage(format!(
                            "--resume: the journal {} belongs to a different import (input, type, key, mode or target changed)",
                            path.display()
                        ))
                        .hint("run without --resume to start over (writes are idempotent: nothing is duplicated)"));
                    }
                }
                Entry::Sent {
                    batch,
                    first_row,
                    last_row,
                    entities,
                } => {
                    pending = Some((batch, first_row, last_row, entities));
                    state.next_batch = batch + 1;
                }
                Entry::Done {
                    batch,
                    last_row,
                    written,
                    ..
                } => {
                    if pending.as_ref().is_some_and(|p| p.0 == batch) {
                        pending = None;
                    }
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
        state.uncertain = pending.map(|(_, a, b, n)| (a, b, n));
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
            version: 1,
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
}
