//! The door of `/_emulator/*`: a credential (an API token or the admin token printed at start)
//! and, for requests with a body, a JSON content type, so a web page the developer visits
//! cannot change faults with a cross-origin "simple" request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::state::Shared;
use crate::response::text;

/// The admin token: random per start. A secret: never in Debug output.
pub(crate) struct AdminToken(String);

impl AdminToken {
    /// A fresh random token.
    pub fn random() -> Self {
        AdminToken(format!("emu-admin-{}", uuid::Uuid::new_v4().simple()))
    }

    /// The token itself (for the start-up line and the Rust API).
    pub fn reveal(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(redacted)")
    }
}

/// 401 without an accepted credential; 415 for a body that is not declared JSON.
pub(crate) async fn layer(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let ok = super::auth::presented(&req)
        .is_some_and(|t| sh.admin_token.matches(t) || sh.tokens.accepts(t));
    if !ok {
        return text(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let has_body = !matches!(*req.method(), Method::GET | Method::HEAD);
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if has_body && !json {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Admin requests with a body must be Content-Type: application/json",
        );
    }
    next.run(req).await
}
