//! [`Client`]: the transport, the automatic batcher and the schema cache, shared by clones.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fibery_core::schema::Schema;
use fibery_core::validate::{EnumOption, EnumOptions};

use crate::batch::AutoBatcher;
use crate::transport::{Stats, Transport};

/// Sizes and windows set on the builder that the client's operations read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_commands: usize,
    pub(crate) batch_window: Duration,
    pub(crate) page_size: usize,
    pub(crate) pages_per_request: usize,
    pub(crate) document_chunk: usize,
}

/// The cached workspace schema (with its ETag) and the enum options read so far; the
/// options are dropped whenever the schema is replaced.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    schema: Mutex<Option<(Arc<Schema>, Option<String>)>>,
    enums: Mutex<EnumOptions>,
}

impl SchemaCache {
    /// The cached schema, if any.
    pub(crate) fn schema(&self) -> Option<Arc<Schema>> {
        self.schema
            .lock()
            .expect("schema lock")
            .as_ref()
            .map(|(s, _)| s.clone())
    }

    /// The ETag the cached schema came with.
    pub(crate) fn etag(&self) -> Option<String> {
        self.schema
            .lock()
            .expect("schema lock")
            .as_ref()
            .and_then(|(_, e)| e.clone())
    }

    /// Replaces the schema and forgets every enum option.
    pub(crate) fn store(&self, schema: Arc<Schema>, etag: Option<String>) {
        *self.schema.lock().expect("schema lock") = Some((schema, etag));
        *self.enums.lock().expect("enum lock") = EnumOptions::new();
    }

    /// The cached options of `enum_type`.
    pub(crate) fn enum_options(&self, enum_type: &str) -> Option<Vec<EnumOption>> {
        self.enums
            .lock()
            .expect("enum lock")
            .get(enum_type)
            .map(<[EnumOption]>::to_vec)
    }

    pub(crate) fn store_enum(&self, enum_type: &str, options: Vec<EnumOption>) {
        self.enums
            .lock()
            .expect("enum lock")
            .insert(enum_type, options);
    }
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) limits: Limits,
    pub(crate) batcher: OnceLock<AutoBatcher>,
    pub(crate) cache: SchemaCache,
}

/// The Fibery client. Cheap to clone: clones share the connection pool, the pacer, the
/// automatic batcher, the schema cache and the counters.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.inner.transport)
            .field("max_commands_per_request", &self.inner.limits.max_commands)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(transport: Transport, limits: Limits) -> Client {
        Client {
            inner: Arc::new(Inner {
                transport,
                limits,
                batcher: OnceLock::new(),
                cache: SchemaCache::default(),
            }),
        }
    }

    /// The base URL requests go to, e.g. `https://acme.fibery.io`.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base()
    }

    /// Counters shared by all clones.
    pub fn stats(&self) -> Stats {
        self.inner.transport.stats()
    }

    /// The configured maximum of commands per request.
    pub fn max_commands_per_request(&self) -> usize {
        self.inner.limits.max_commands
    }

    /// The OAuth tokens in use (after any refresh), for you to persist; `None` unless
    /// built with [`ClientBuilder::oauth`](crate::ClientBuilder::oauth).
    pub fn oauth_tokens(&self) -> Option<crate::oauth::Tokens> {
        self.inner.transport.oauth_tokens()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}
