//! What changed since the last persisted record, so `--data` writes cost the change, not the
//! store.

use std::collections::HashSet;

/// Keys written since the last record (entities by type and id, documents and files by
/// secret). Schema and webhook changes are found by comparing hashes at record time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dirty {
    pub entities: HashSet<(String, String)>,
    pub docs: HashSet<String>,
    pub files: HashSet<String>,
}

impl Dirty {
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.docs.is_empty() && self.files.is_empty()
    }
}
