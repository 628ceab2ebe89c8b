//! The state file of `fibery export --since`: the change-feed cursor of the last run,
//! replaced atomically (temp file + rename) only after the export's output is flushed.

use std::io::Write;
use std::path::{Path, PathBuf};

use fibery_client::changes::Cursor;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// What the state file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The exported type (a state file belongs to one type).
    #[serde(rename = "type")]
    type_name: String,
    cursor: Cursor,
}

/// The cursor saved for `type_name`, or the start when the file does not exist yet.
pub fn load(path: &Path, type_name: &str) -> Result<Cursor> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Cursor::default()),
        Err(e) => {
            return Err(CliError::failure(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let state: State = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{} is not a state file: {e}", path.display())))?;
    if state.type_name != type_name {
        return Err(CliError::usage(format!(
            "{} belongs to {}, not {type_name}",
            path.display(),
            state.type_name
        ))
        .hint("use one state file per type"));
    }
    Ok(state.cursor)
}

/// Replaces the state file: written next to it, synced, then renamed over it, so a crash
/// leaves either the old state or the new one.
pub fn save(path: &Path, type_name: &str, cursor: &Cursor) -> Result<()> {
    let state = State {
        type_name: type_name.to_owned(),
        cursor: cursor.clone(),
    };
    let fail =
        |e: std::io::Error| CliError::failure(format!("cannot write {}: {e}", path.display()));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| CliError::failure(e.to_string()))?;
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(&bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(fail)
}
