//! Choices where Fibery's behaviour is undocumented: the emulator's strict defaults and the
//! switches that relax them (see FIDELITY.md).

/// How `fibery.command/batch` answers when one of its commands fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchFailure {
    /// The first failure undoes the whole batch and is the batch's own error (the default).
    #[default]
    Atomic,
    /// Each command runs on its own, as in a top-level array: the batch succeeds and a failed
    /// command answers `{"success": false, …}` at its index.
    Partial,
}

/// Command-level behaviour switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Behaviour {
    /// Accept inline values in `q/where` instead of `$params` (default: refused, as Fibery's
    /// docs and its MCP server say they do not work).
    pub allow_inline_values: bool,
    /// How a failing batch answers.
    pub batch_failure: BatchFailure,
}
