//! Crash-safe incremental persistence (`--data`): a JSON snapshot of the whole workspace plus
//! an append-only log of changes (`<file>.log`, one JSON line per acknowledged write request:
//! the new value of every entity, document and file it touched, and the counters).
//!
//! * A record is written to the OS before the request is answered, so killing the process
//!   (SIGKILL included) loses at most the request in flight. With [`Fsync::Always`] it is also
//!   fsync'ed first (power loss too); by default the log is fsync'ed at most once a second.
//! * Start replays the log over the snapshot; a torn last line (a kill mid-write) is dropped
//!   and cut off. Records hold absolute values, so replaying one twice changes nothing.
//! * Compaction: once the log outgrows the snapshot (and 16 MiB), or when the schema changes
//!   (schema commands rewrite many entities), the snapshot is rewritten (temp file, fsync,
//!   rename) and the log emptied.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Entity, FileBlob, Store, Webhook};
use crate::EmulatorError;

/// The log is compacted once it is larger than this and than the snapshot.
const MIN_COMPACT_BYTES: u64 = 16 * 1024 * 1024;
/// Under [`Fsync::Interval`], the longest a record stays without fsync.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// When log records reach the disk itself (they always reach the OS before the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// fsync at most once a second (and at compaction): a process crash loses nothing
    /// acknowledged, a power loss up to the last second.
    #[default]
    Interval,
    /// fsync every record before answering.
    Always,
}

/// What the last start found in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Logged changes replayed over the snapshot.
    pub changes: u64,
    /// Bytes of a torn last record dropped (a kill during a write that was never answered).
    pub dropped_bytes: u64,
}

/// One log line.
#[derive(Serialize, Deserialize, Default)]
struct Record {
    /// `[type, id, entity or null]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    e: Vec<(String, String, Option<Entity>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    d: Vec<(String, Option<String>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    f: Vec<(String, Option<FileBlob>)>,
    /// Next public id of each touched type.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    n: Map<String, Value>,
    /// The webhooks, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<Vec<Webhook>>,
    ts: i128,
    seq: u64,
    wh: u64,
}

/// The open log and what compaction decisions need.
#[derive(Debug)]
struct Log {
    file: File,
    bytes: u64,
    snapshot_bytes: u64,
    schema_hash: u64,
    webhooks_hash: u64,
    last_sync: Instant,
}

/// Where the state is persisted, if anywhere.
#[derive(Debug, Default)]
pub(crate) struct Persistence {
    path: Option<PathBuf>,
    fsync: Fsync,
    log: Mutex<Option<Log>>,
    recovery: Mutex<Option<Recovery>>,
}

fn hash_of<T: Serialize>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(v).unwrap_or_default().hash(&mut h);
    h.finish()
}

fn log_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".log");
    PathBuf::from(p)
}

impl Persistence {
    /// Persists to `path` (nowhere for `None`).
    pub fn new(path: Option<PathBuf>, fsync: Fsync) -> Self {
        Persistence {
            path,
            fsync,
            ..Persistence::default()
        }
    }

    /// What the last [`Persistence::load`] recovered (`None` without a saved state).
    pub fn recovery(&self) -> Option<Recovery> {
        self.recovery.lock().ok().and_then(|r| *r)
    }

    /// The saved state (snapshot plus replayed log), if the snapshot exists; opens the log.
    pub fn load(&self) -> Result<Option<Store>, EmulatorError> {
        let Some(p) = self.path.as_deref().filter(|p| p.exists()) else {
            return Ok(None);
        };
        let text = std::fs::read(p)?;
        let mut store: Store = serde_json::from_slice(&text)
            .map_err(|e| EmulatorError::State(format!("{}: {e}", p.display())))?;
        let lp = log_path(p);
        let (changes, good, total) = match std::fs::read(&lp) {
            Ok(bytes) => replay(&mut store, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0, 0),
            Err(e) => return Err(e.into()),
        };
        let file = OpenOptions::new().create(true).append(true).open(&lp)?;
        if good < total {
            file.set_len(good)?;
            file.sync_all()?;
        }
        let rec = Recovery {
            changes,
            dropped_bytes: total - good,
        };
        tracing::info!(
            "recovered {}: snapshot + {} logged changes ({} torn bytes dropped)",
            p.display(),
            rec.changes,
            rec.dropped_bytes
        );
        if let Ok(mut r) = self.recovery.lock() {
            *r = Some(rec);
        }
        self.set_log(Log {
            file,
            bytes: good,
            snapshot_bytes: text.len() as u64,
            schema_hash: hash_of(&store.schema),
            webhooks_hash: hash_of(&store.webhooks),
            last_sync: Instant::now(),
        });
        Ok(Some(store))
    }

    fn set_log(&self, log: Log) {
        if let Ok(mut l) = self.log.lock() {
            *l = Some(log);
        }
    }

    /// Appends what changed since the last call (or rewrites the snapshot when the schema
    /// changed). Failures are logged: the emulator keeps serving from memory.
    pub fn record(&self, store: &mut Store) {
        let Some(path) = &self.path else { return };
        let dirty = store.take_dirty();
        let Ok(mut guard) = self.log.lock() else {
            return;
        };
        let schema_hash = hash_of(&store.schema);
        let needs_snapshot = guard.as_ref().is_none_or(|l| l.schema_hash != schema_hash);
        if needs_snapshot {
            drop(guard);
            self.snapshot(store);
            return;
        }
        let Some(log) = guard.as_mut() else { return };
        let webhooks_hash = hash_of(&store.webhooks);
        if dirty.is_empty() && webhooks_hash == log.webhooks_hash {
            return;
        }
        let mut rec = Record {
            ts: store.last_ts,
            seq: store.sequence,
            wh: store.next_webhook_id,
            ..Record::default()
        };
        for (ty, id) in dirty.entities {
            if let Some(t) = store.types.get(&ty) {
                rec.n.insert(ty.clone(), Value::from(t.next_public_id));
            }
            let e = store.entity(&ty, &id).cloned();
            rec.e.push((ty, id, e));
        }
        for s in dirty.docs {
            let d = store.documents.get(&s).cloned();
            rec.d.push((s, d));
        }
        for s in dirty.files {
            let f = store.files.get(&s).cloned();
            rec.f.push((s, f));
        }
        if webhooks_hash != log.webhooks_hash {
            rec.w = Some(store.webhooks.clone());
            log.webhooks_hash = webhooks_hash;
        }
        if let Err(e) = self.append(log, &rec) {
            tracing::error!("appending to {} failed: {e}", log_path(path).display());
        }
    }

    fn append(&self, log: &mut Log, rec: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
        line.push(b'\n');
        log.file.write_all(&line)?;
        log.bytes += line.len() as u64;
        if self.fsync == Fsync::Always || log.last_sync.elapsed() >= SYNC_INTERVAL {
            log.file.sync_data()?;
            log.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Whether the log has outgrown the snapshot (see [`Persistence::snapshot`]).
    pub fn compaction_due(&self) -> bool {
        self.log.lock().ok().is_some_and(|l| {
            l.as_ref()
                .is_some_and(|l| l.bytes > MIN_COMPACT_BYTES.max(l.snapshot_bytes))
        })
    }

    /// Rewrites the snapshot (temp file + fsync + rename) and empties the log. Failures are
    /// logged: the emulator keeps serving from memory.
    pub fn snapshot(&self, store: &Store) {
        let Some(path) = &self.path else { return };
        if let Err(e) = self.try_snapshot(path, store) {
            tracing::error!(
                "persisting emulator state to {} failed: {e}",
                path.display()
            );
        }
    }

    fn try_snapshot(&self, path: &Path, store: &Store) -> std::io::Result<()> {
        let mut guard = self
            .log
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let bytes = write_atomic(path, store)?;
        // Crashing before this truncation is harmless: replaying the log again changes nothing.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(path))?;
        file.set_len(0)?;
        file.sync_all()?;
        *guard = Some(Log {
            file,
            bytes: 0,
            snapshot_bytes: bytes,
            schema_hash: hash_of(&store.schema),
            webhooks_hash: hash_of(&store.webhooks),
            last_sync: Instant::now(),
        });
        Ok(())
    }
}

/// Applies the complete, valid lines of `bytes`; returns (records applied, bytes of them,
/// total bytes).
fn replay(store: &mut Store, bytes: &[u8]) -> (u64, u64, u64) {
    let mut good = 0usize;
    let mut n = 0u64;
    while let Some(end) = bytes[good..].iter().position(|b| *b == b'\n') {
        let Ok(rec) = serde_json::from_slice::<Record>(&bytes[good..good + end]) else {
            break;
        };
        apply(store, rec);
        n += 1;
        good += end + 1;
    }
    store.clear_index();
    (n, good as u64, bytes.len() as u64)
}

fn apply(store: &mut Store, rec: Record) {
    for (ty, id, e) in rec.e {
        let ents = &mut store.types.entry(ty).or_default().entities;
        match e {
            Some(e) => ents.insert(id, e),
            None => ents.remove(&id),
        };
    }
    for (ty, n) in rec.n {
        if let Some(n) = n.as_u64() {
            store.types.entry(ty).or_default().next_public_id = n;
        }
    }
    for (s, d) in rec.d {
        match d {
            Some(d) => store.documents.insert(s, d),
            None => store.documents.remove(&s),
        };
    }
    for (s, f) in rec.f {
        match f {
            Some(f) => store.files.insert(s, f),
            None => store.files.remove(&s),
        };
    }
    if let Some(w) = rec.w {
        store.webhooks = w;
    }
    store.last_ts = rec.ts;
    store.sequence = rec.seq;
    store.next_webhook_id = rec.wh;
}

/// Writes the snapshot through a synced temp file and a rename; returns its size.
fn write_atomic(path: &Path, store: &Store) -> std::io::Result<u64> {
    let bytes = serde_json::to_vec(store).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(bytes.len() as u64)
}
