//! OAuth 2 authorization server (`auth.fibery.io` in production): `GET /oauth2/auth`
//! consents at once and redirects with a code; `POST /oauth2/token` exchanges codes and
//! refresh tokens (form body, `client_secret_post`). Access tokens it issues are accepted
//! as `Bearer` tokens by the API until they expire; refresh tokens rotate on use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::server::state::Shared;

/// Registered apps and the codes and tokens issued to them. Secrets: never printed.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry([redacted])")
    }
}

#[derive(Default)]
struct Inner {
    apps: Vec<App>,
    /// code -> (client id, scope).
    codes: HashMap<String, (String, String)>,
    /// access token -> expiry.
    access: HashMap<String, Instant>,
    /// refresh token -> (client id, scope).
    refresh: HashMap<String, (String, String)>,
    lifetime: Option<Duration>,
}

struct App {
    id: String,
    secret: String,
    redirect_uri: String,
}

fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Registry {
    /// Registers an app (what Fibery support does for real).
    pub(crate) fn register(&self, id: &str, secret: &str, redirect_uri: &str) {
        let mut g = self.inner.lock().expect("oauth lock");
        g.apps.retain(|a| a.id != id);
        g.apps.push(App {
            id: id.into(),
            secret: secret.into(),
            redirect_uri: redirect_uri.into(),
        });
    }

    /// Lifetime of new access tokens (default 1 h).
    pub(crate) fn set_lifetime(&self, d: Duration) {
        self.inner.lock().expect("oauth lock").lifetime = Some(d);
    }

    /// Makes every issued access token invalid (as if expired or revoked).
    pub(crate) fn expire_access_tokens(&self) {
        self.inner.lock().expect("oauth lock").access.clear();
    }

    /// Whether `token` is a live access token.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        let g = self.inner.lock().expect("oauth lock");
        let now = Instant::now();
        let mut ok = false;
        for (t, exp) in &g.access {
            ok |= bool::from(t.as_bytes().ct_eq(token.as_bytes())) && *exp > now;
        }
        ok
    }

    fn issue(&self, g: &mut Inner, client: &str, scope: &str) -> serde_json::Value {
        let lifetime = g.lifetime.unwrap_or(Duration::from_secs(3600));
        let access = random();
        g.access.insert(access.clone(), Instant::now() + lifetime);
        let mut body = json!({"access_token": access, "token_type": "bearer",
            "expires_in": lifetime.as_secs(), "scope": scope});
        let scopes: Vec<&str> = scope.split(' ').collect();
        if scopes.contains(&"offline") {
            let r = random();
            g.refresh
                .insert(r.clone(), (client.to_owned(), scope.to_owned()));
            body["refresh_token"] = json!(r);
        }
        if scopes.contains(&"openid") {
            body["id_token"] = json!(random());
        }
        body
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({"error": error}))).into_response()
}

/// `GET /oauth2/auth?response_type=code&client_id&redirect_uri&scope&state`.
pub(crate) async fn authorize(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let mut g = sh.oauth.inner.lock().expect("oauth lock");
    let known = g
        .apps
        .iter()
        .any(|a| a.id == get("client_id") && a.redirect_uri == get("redirect_uri"));
    if get("response_type") != "code" || !known {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect_uri").into_response();
    }
    let code = random();
    g.codes
        .insert(code.clone(), (get("client_id").into(), get("scope").into()));
    let Ok(mut url) = url::Url::parse(get("redirect_uri")) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", get("state"));
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// `POST /oauth2/token` with `grant_type=authorization_code|refresh_token`.
pub(crate) async fn token(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let reg = &sh.oauth;
    let mut g = reg.inner.lock().expect("oauth lock");
    let Some(app) = g.apps.iter().find(|a| a.id == get("client_id")) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !bool::from(app.secret.as_bytes().ct_eq(get("client_secret").as_bytes())) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let redirect_ok = app.redirect_uri == get("redirect_uri");
    let grant = match get("grant_type") {
        "authorization_code" if redirect_ok => g.codes.remove(get("code")),
        "authorization_code" => None,
        "refresh_token" => g.refresh.remove(get("refresh_token")),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    match grant {
        Some((client, scope)) if client == get("client_id") => {
            let body = reg.issue(&mut g, &client, &scope);
            axum::Json(body).into_response()
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"),
    }
}
