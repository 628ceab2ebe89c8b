//! Fibery's API areas, one module each: commands, documents, files, the schema endpoint,
//! webhooks, and the OAuth authorization server.

pub(crate) mod commands;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod oauth;
pub(crate) mod outbound;
pub(crate) mod schema;
pub(crate) mod webhooks;
