//! CLI errors: one clear line plus a hint, and the process exit code they map to.

use std::fmt;

/// Exit code: every row was written (or the command succeeded).
pub const EXIT_OK: i32 = 0;
/// Exit code: the command failed (network, server, I/O, ...).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: usage error (bad flags, unknown type or field, unreadable mapping).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the import finished but some rows were rejected.
pub const EXIT_REJECTS: i32 = 3;

/// What kind of failure an error is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user asked for something that cannot work (exit code 2).
    Usage,
    /// Something failed while working (exit code 1).
    Failure,
}

/// An error the CLI reports as `error: <message>` and `hint: <hint>`.
#[derive(Debug, Clone)]
pub struct CliError {
    /// Usage or failure.
    pub kind: ErrorKind,
    /// One line saying what went wrong.
    pub message: String,
    /// One line saying what to do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Usage,
            message: one_line(message.into()),
            hint: None,
        }
    }

    /// A failure (exit code 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Failure,
            message: one_line(message.into()),
            hint: None,
        }
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(one_line(hint.into()));
        self
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Usage => EXIT_USAGE,
            ErrorKind::Failure => EXIT_FAILURE,
        }
    }
}

fn one_line(s: String) -> String {
    if s.contains('\n') {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        s
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::failure(format!("I/O error: {e}"))
    }
}

/// Shorthand result type.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
