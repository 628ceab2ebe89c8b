//! Authentication: `Authorization: Token <t>` or `Bearer <t>` against the configured tokens.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::state::Shared;
use crate::response::text;

/// The accepted API tokens. Secrets: never printed.
pub(crate) struct Tokens(Vec<String>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} redacted]", self.0.len())
    }
}

/// Which configured token a request presented (rate limits are per token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenId(u32);

/// Every OAuth access token (one emulated user) shares one rate-limit bucket.
const OAUTH: TokenId = TokenId(u32::MAX);

impl TokenId {
    /// Index of the API key among the configured ones; `None` for an OAuth access token.
    pub(crate) fn index(self) -> Option<u32> {
        (self != OAUTH).then_some(self.0)
    }
}

impl Tokens {
    pub fn new(tokens: Vec<String>) -> Self {
        Tokens(tokens)
    }

    /// The first configured token (what a test client presents).
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn first(&self) -> Option<&String> {
        self.0.first()
    }

    /// Whether `presented` is one of the tokens (constant time).
    pub(crate) fn accepts(&self, presented: &str) -> bool {
        self.find(presented).is_some()
    }

    /// The matching token, compared in constant time against every configured one.
    fn find(&self, presented: &str) -> Option<TokenId> {
        let mut found = subtle::Choice::from(0u8);
        let mut index = 0u32;
        for (i, t) in self.0.iter().enumerate() {
            let eq = t.as_bytes().ct_eq(presented.as_bytes()) & !found;
            index = u32::conditional_select(&index, &(i as u32), eq);
            found |= eq;
        }
        bool::from(found).then_some(TokenId(index))
    }
}

/// The token of an `Authorization: Token <t>` or `Bearer <t>` header.
pub(crate) fn presented(req: &Request) -> Option<&str> {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    auth.strip_prefix("Token ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Answers 401 unless the request carries an accepted token; marks it (and its response, for
/// the request log) with its [`TokenId`].
pub(crate) async fn layer(State(sh): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let id = presented(&req).and_then(|t| {
        sh.tokens
            .find(t)
            .or_else(|| sh.oauth.accepts(t).then_some(OAUTH))
    });
    match id {
        Some(id) => {
            req.extensions_mut().insert(id);
            let mut resp = next.run(req).await;
            resp.extensions_mut().insert(id);
            resp
        }
        None => text(StatusCode::UNAUTHORIZED, "Unauthorized"),
    }
}
