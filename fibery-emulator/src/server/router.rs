//! Routes: the Fibery API behind the tower layers, and the admin endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, post};
use tower::ServiceBuilder;

use super::state::Shared;
use super::{admin, auth, faults, rate_limit, request_log};
use crate::api::{commands, documents, files, oauth, schema, webhooks};

/// The whole app. Every `/api` request (unknown paths too) passes, outermost first: the
/// request log, auth, the rate limiter, fault injection.
pub(crate) fn router(sh: Arc<Shared>, max_body: usize) -> Router {
    let layers = ServiceBuilder::new()
        .layer(from_fn_with_state(sh.clone(), request_log::layer))
        .layer(from_fn_with_state(sh.clone(), auth::layer))
        .layer(from_fn_with_state(sh.clone(), rate_limit::layer))
        .layer(from_fn_with_state(sh.clone(), faults::layer));
    let routes: [(&str, MethodRouter<Arc<Shared>>); 9] = [
        ("/api/commands", post(commands::handler)),
        ("/api/schema", get(schema::get)),
        ("/api/documents/commands", post(documents::commands)),
        (
            "/api/documents/{secret}",
            get(documents::get).put(documents::put),
        ),
        ("/api/files", post(files::upload)),
        ("/api/files/from-url", post(files::from_url)),
        ("/api/files/{secret}", get(files::download)),
        (
            "/api/webhooks/v2",
            get(webhooks::list).post(webhooks::create),
        ),
        ("/api/webhooks/v2/{id}", delete(webhooks::remove)),
    ];
    let api = routes
        .into_iter()
        .fold(Router::new(), |r, (path, method)| r.route(path, method))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .layer(layers);
    // The authorization server (another host in production): no API token, no API limits.
    let auth_server = Router::new()
        .route("/oauth2/auth", get(oauth::authorize))
        .route("/oauth2/token", post(oauth::token));
    api.merge(admin::routes(sh.clone()))
        .merge(auth_server)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(sh)
}
