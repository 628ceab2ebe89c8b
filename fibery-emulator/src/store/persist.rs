//! Persistence of the whole workspace to one JSON file (`--data`): loaded at start, rewritten
//! atomically after every change.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Store;
use crate::EmulatorError;

/// Where the state is persisted, if anywhere.
#[derive(Debug, Default)]
pub(crate) struct Persistence {
    path: Option<PathBuf>,
}

impl Persistence {
    /// Persists to `path` (nowhere for `None`).
    pub fn new(path: Option<PathBuf>) -> Self {
        Persistence { path }
    }

    /// The saved state, if the file exists.
    pub fn load(&self) -> Result<Option<Store>, EmulatorError> {
        let Some(p) = self.path.as_deref().filter(|p| p.exists()) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(p)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| EmulatorError::State(format!("{}: {e}", p.display())))
    }

    /// Writes the state (temp file + rename, so a crash never leaves half a file). Failures
    /// are logged: the emulator keeps serving from memory.
    pub fn save(&self, store: &Store) {
        let Some(path) = &self.path else { return };
        if let Err(e) = write_atomic(path, store) {
            tracing::error!(
                "persisting emulator state to {} failed: {e}",
                path.display()
            );
        }
    }
}

fn write_atomic(path: &Path, store: &Store) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(store).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
