//! HTTP answers shared by the tower layers and the API handlers.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fibery_core::error::FiberyError;
use serde::Serialize;

use crate::error;

/// A failed API request: the HTTP status and Fibery's `{name, message, data}` body.
#[derive(Debug)]
pub(crate) struct HttpError {
    status: StatusCode,
    /// Boxed: keeps `Result`s of handlers small.
    error: Box<FiberyError>,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, json(self.error.to_value())).into_response()
    }
}

/// What a handler answers; `?` stops it with an [`HttpError`].
pub(crate) type Answer = Result<Response, HttpError>;

/// HTTP 200 with a JSON body.
pub(crate) fn json(body: impl Serialize) -> Response {
    axum::Json(body).into_response()
}

/// A plain-text answer (auth, rate limit and fault answers are plain text, as in Fibery).
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// HTTP 500 with a bare error (request-level failures of `/api/commands`).
pub(crate) fn server_error(error: FiberyError) -> HttpError {
    HttpError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: Box::new(error),
    }
}

/// HTTP 400 `request/bad-request`.
pub(crate) fn bad_request(message: &str) -> HttpError {
    HttpError {
        status: StatusCode::BAD_REQUEST,
        error: Box::new(error::new("request/bad-request", message)),
    }
}

/// HTTP 404 `request/not-found`.
pub(crate) fn not_found(message: &str) -> HttpError {
    HttpError {
        status: StatusCode::NOT_FOUND,
        error: Box::new(error::new("request/not-found", message)),
    }
}
