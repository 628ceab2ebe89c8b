//! Capacity limits: entities and stored bytes (`--max-entities`, `--max-bytes`). Stored bytes
//! are an estimate from the allocations of entities, documents and files, kept as a running
//! count: creates and deletes adjust it, document and file writes are re-measured at the next
//! check, and anything else (restarts, rollbacks, schema changes) drops it for one recount.

use fibery_core::error::FiberyError;

use super::{Entity, Store};
use crate::error;

/// Bytes of a map entry beyond its key and value allocations (hash or tree bookkeeping).
const ENTRY_OVERHEAD: usize = 32;

/// Estimated bytes of one stored entity under its id.
pub(super) fn entity_bytes(id: &str, e: &Entity) -> u64 {
    (std::mem::size_of::<(String, Entity)>() + ENTRY_OVERHEAD + id.len() + e.heap_bytes()) as u64
}

fn blob_bytes(secret: &str, len: usize) -> u64 {
    (2 * std::mem::size_of::<String>() + ENTRY_OVERHEAD + secret.len() + len) as u64
}

/// The running byte count and the documents and files written since it was last settled.
#[derive(Debug, Clone, Default)]
pub(super) struct ByteCount {
    total: Option<u64>,
    docs: Vec<String>,
    files: Vec<String>,
}

impl ByteCount {
    /// Adds (or with `add` false, removes) an entity's bytes.
    pub fn entity(&mut self, id: &str, e: &Entity, add: bool) {
        if let Some(t) = &mut self.total {
            let b = entity_bytes(id, e);
            *t = if add { *t + b } else { t.saturating_sub(b) };
        }
    }

    /// Forgets the count (recounted at the next check).
    pub fn reset(&mut self) {
        *self = ByteCount::default();
    }
}

impl Store {
    /// Fails when a create would go past the entity or byte limit.
    pub(super) fn check_limits(&mut self) -> Result<(), FiberyError> {
        if let Some(max) = self.max_entities
            && self.count_entities() as u64 >= max
        {
            return Err(error::entity_limit_reached(max));
        }
        if let Some(max) = self.max_bytes
            && self.stored_bytes() >= max
        {
            return Err(error::byte_limit_reached(max));
        }
        Ok(())
    }

    /// Estimated bytes the workspace's entities, documents and files take.
    pub fn stored_bytes(&mut self) -> u64 {
        let total = match self.bytes.total {
            Some(t) => {
                let docs = std::mem::take(&mut self.bytes.docs);
                let files = std::mem::take(&mut self.bytes.files);
                let d: u64 = docs.iter().map(|s| self.doc_bytes(s)).sum();
                let f: u64 = files.iter().map(|s| self.file_bytes(s)).sum();
                t + d + f
            }
            None => self.count_bytes(),
        };
        self.bytes = ByteCount {
            total: Some(total),
            ..ByteCount::default()
        };
        total
    }

    /// Takes a document's bytes out of the count before it is rewritten (re-measured at the
    /// next check).
    pub(super) fn doc_rewritten(&mut self, secret: &str) {
        if self.bytes.total.is_some() {
            let old = self.doc_bytes(secret);
            if let Some(t) = &mut self.bytes.total {
                *t = t.saturating_sub(old);
            }
            self.bytes.docs.push(secret.to_string());
        }
    }

    /// As [`Store::doc_rewritten`], for a file.
    pub(super) fn file_rewritten(&mut self, secret: &str) {
        if self.bytes.total.is_some() {
            let old = self.file_bytes(secret);
            if let Some(t) = &mut self.bytes.total {
                *t = t.saturating_sub(old);
            }
            self.bytes.files.push(secret.to_string());
        }
    }

    fn doc_bytes(&self, secret: &str) -> u64 {
        self.documents
            .get(secret)
            .map_or(0, |d| blob_bytes(secret, d.capacity()))
    }

    fn file_bytes(&self, secret: &str) -> u64 {
        self.files
            .get(secret)
            .map_or(0, |f| blob_bytes(secret, f.stored_len()))
    }

    fn count_bytes(&self) -> u64 {
        let ents = self.types.values().flat_map(|t| &t.entities);
        let e: u64 = ents.map(|(id, e)| entity_bytes(id, e)).sum();
        let d: u64 = self.documents.keys().map(|s| self.doc_bytes(s)).sum();
        let f: u64 = self.files.keys().map(|s| self.file_bytes(s)).sum();
        e + d + f
    }
}
