//! The one error type of the client.
//!
//! Every variant says whether the request **may have been applied** by Fibery (see
//! [`Error::may_have_been_sent`]); an importer uses that to decide whether a batch is
//! uncertain. No variant ever contains the API token: errors are built from status codes,
//! Fibery's error payloads and reqwest errors, and every text that came from the server (a
//! proxy may echo the `Authorization` header) has the token replaced by `[redacted]` first.

use std::time::Duration;

use fibery_core::validate::Violation;

pub use fibery_core::error::FiberyError;

/// Result alias for the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to Fibery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured wrongly (bad account name, non-loopback `http://`
    /// base URL, missing token, ...), found by [`ClientBuilder::build`](crate::ClientBuilder::build).
    /// Nothing was sent.
    #[error("configuration error: {0}")]
    Config(String),

    /// An argument of a call was rejected before anything was sent: a value that is not a
    /// `{"command", "args"}` object, a malformed document or file secret, a webhook or file
    /// URL that is not http(s), document content that does not fit its format.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The automatic batcher behind [`Client::command`](crate::Client::command) is gone:
    /// its task ended with the Tokio runtime that first used it, so commands can no longer
    /// be merged. `sent` says whether the command may already have gone out (it was handed
    /// to the batcher, which was stopped before answering).
    #[error("the automatic batcher stopped{}", if *sent { " (the command may have been applied)" } else { "" })]
    BatcherStopped {
        /// Whether the command may have been applied.
        sent: bool,
    },

    /// A write was rejected locally (validator rules or the workspace schema) before any
    /// request left. `index` is the position of the rejected item in the input, if any.
    #[error("validation failed for {type_name}{}: {}", index.map(|i| format!(" (item {i})")).unwrap_or_default(), join(violations))]
    Validation {
        /// The Fibery type being written.
        type_name: String,
        /// Position of the offending item in the caller's input.
        index: Option<usize>,
        /// What is wrong, field by field.
        violations: Vec<Violation>,
    },

    /// Fibery rejected the credentials (HTTP 401/403). Not applied.
    #[error("authentication failed (HTTP {status}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// Server text (the token, if the server echoed it, replaced by `[redacted]`).
        message: String,
    },

    /// HTTP 429 after the retry budget was spent. Not applied.
    #[error("rate limited by Fibery{}", retry_after.map(|d| format!(" (retry after {d:?})")).unwrap_or_default())]
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },

    /// Fibery failed the request as a whole with HTTP 5xx (unknown command, malformed
    /// request, server failure). `error` is Fibery's `{name, message, data}` when the body is
    /// one, else one synthesized from the text (name `http/<status>`). Only 5xx statuses
    /// give this variant. May have been applied.
    #[error("Fibery server error (HTTP {status}): {error}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Fibery's error payload (or one synthesized from a plain-text body).
        error: Box<FiberyError>,
    },

    /// One command of a batch came back with `success: false`. The others' results are
    /// unaffected.
    #[error("command #{index} ({command}) failed: {error}")]
    Command {
        /// Position of the command in the caller's input.
        index: usize,
        /// The command name, e.g. `fibery.entity/create`.
        command: String,
        /// Fibery's error payload.
        error: Box<FiberyError>,
    },

    /// The request was refused with a 4xx status no other variant covers (400, 405, 409,
    /// 413, ...), on any endpoint, whatever the body (JSON or text). Not applied.
    #[error("unexpected HTTP {status} from {endpoint}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Which endpoint (path only).
        endpoint: String,
        /// The first bytes of the body.
        body: String,
    },

    /// The request timed out. `sent` says whether it may have reached Fibery.
    #[error("request timed out{}", if *sent { " (it may have been applied)" } else { "" })]
    Timeout {
        /// Whether the request may have been applied.
        sent: bool,
    },

    /// Network failure (connection refused or reset, TLS, redirect loop, a response body
    /// cut off mid-way, ...).
    #[error("transport error{}: {}", if *sent { " (request may have been applied)" } else { "" }, causes(source))]
    Transport {
        /// Whether the request may have been applied.
        sent: bool,
        /// The underlying reqwest error.
        #[source]
        source: reqwest::Error,
    },

    /// The response was read in full but could not be decoded (malformed JSON, unexpected
    /// shape, a row that does not fit the target struct). The request was applied; it is
    /// never retried.
    #[error("cannot decode {context}: {message}")]
    Decode {
        /// What was being decoded.
        context: String,
        /// Why it failed.
        message: String,
    },

    /// Something the caller asked for does not exist (entity, document, file, webhook).
    /// Every HTTP 404 is this variant, whatever the endpoint or the body; it holds the path
    /// (or what was looked up).
    #[error("not found: {0}")]
    NotFound(String),

    /// The request carrying this command failed as a whole (after retries); every command
    /// of that request shares the same cause.
    #[error("the request carrying this command failed: {source}")]
    Batch {
        /// The request-level failure.
        #[source]
        source: std::sync::Arc<Error>,
    },

    /// Local I/O failed (reading an upload, writing a download).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// [`Client::query_stream`](crate::Client::query_stream) cannot keep the query's order
    /// with a keyset on (order key, `fibery/id`); `reason` says why. Nothing more was sent.
    #[error("cannot stream {type_name} in the query's order: {reason}")]
    Unpageable {
        /// The queried type.
        type_name: String,
        /// What about the order cannot be kept.
        reason: crate::keyset::Unpageable,
    },
}

/// Fibery error names that mean "this entity (or unique value) already exists". Fibery does
/// not document them; these are the names the emulator answers with (see its FIDELITY.md).
const DUPLICATE_ERROR_NAMES: &[&str] = &[
    "entity.error/entity-already-exists",
    "entity.error/unique-constraint-violation",
];

/// reqwest's message (which names the URL) and its causes ("Connection refused", "dns
/// error", ...), which reqwest's own `Display` leaves out. None of them holds the token.
fn causes(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

fn join(v: &[Violation]) -> String {
    v.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether the request may have been applied by Fibery (so blindly repeating a
    /// non-idempotent write could duplicate it).
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Validation { .. }
            | Error::Auth { .. }
            | Error::RateLimited { .. }
            | Error::Unpageable { .. } => false,
            Error::Timeout { sent }
            | Error::Transport { sent, .. }
            | Error::BatcherStopped { sent } => *sent,
            Error::Server { status, .. } => *status >= 500,
            // A definite answer: the command (or request) was refused.
            Error::Command { .. } | Error::Http { .. } | Error::NotFound(_) | Error::Io(_) => false,
            Error::Batch { source } => source.may_have_been_sent(),
            // The server processed the request but its answer was unreadable.
            Error::Decode { .. } => true,
        }
    }

    /// The server's `Retry-After`, for rate-limit errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            Error::Batch { source } => source.retry_after(),
            _ => None,
        }
    }

    /// HTTP status behind the error, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Auth { status, .. }
            | Error::Server { status, .. }
            | Error::Http { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Batch { source } => source.status(),
            _ => None,
        }
    }

    /// Fibery's error payload, for server and command errors.
    pub fn fibery_error(&self) -> Option<&FiberyError> {
        match self {
            Error::Server { error, .. } | Error::Command { error, .. } => Some(error),
            Error::Batch { source } => source.fibery_error(),
            _ => None,
        }
    }

    /// Whether Fibery refused a write because the entity already exists: a create with a
    /// `fibery/id` that is taken (`entity.error/entity-already-exists`) or a value that
    /// breaks a `fibery/unique?` constraint (`entity.error/unique-constraint-violation`).
    /// Decided on the error name only, never on message text.
    pub fn is_duplicate(&self) -> bool {
        self.fibery_error()
            .is_some_and(|e| DUPLICATE_ERROR_NAMES.contains(&e.name.as_str()))
    }

    /// The validation violations, for validation errors.
    pub fn violations(&self) -> Option<&[Violation]> {
        match self {
            Error::Validation { violations, .. } => Some(violations),
            _ => None,
        }
    }

    /// For a request-level failure shared by no other command, the failure itself.
    pub(crate) fn unshare(self) -> Self {
        match self {
            Error::Batch { source } => match std::sync::Arc::try_unwrap(source) {
                Ok(e) => e,
                Err(source) => Error::Batch { source },
            },
            e => e,
        }
    }

    pub(crate) fn decode(context: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Error::Decode {
            context: context.into(),
            message: message.to_string(),
        }
    }

    /// A reqwest failure: a timeout, or a transport error (a body cut off mid-way is one
    /// too, with `sent: true`). Only a connect error means nothing reached the server.
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        let sent = !e.is_connect();
        if e.is_timeout() {
            Error::Timeout { sent }
        } else {
            Error::Transport { sent, source: e }
        }
    }
}
