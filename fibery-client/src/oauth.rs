//! OAuth 2 for apps acting for Fibery users (Authorization Code grant).
//!
//! Fibery registers your app (client id, client secret, redirect URI) on request; its
//! authorization server is `https://auth.fibery.io` (`GET /oauth2/auth`, `POST
//! /oauth2/token`). Scopes: `openid` (an ID token) and `offline` (a refresh token).
//!
//! 1. Send the user to [`OAuthApp::authorization_url`] with an unguessable `state`.
//! 2. On the redirect, check `state` and [`exchange_code`](OAuthApp::exchange_code).
//! 3. [`ClientBuilder::oauth`](crate::ClientBuilder::oauth) builds a client sending
//!    `Authorization: Bearer <access token>`. With a refresh token it refreshes by itself,
//!    shortly before the token expires and once after a `401`, and
//!    [`Client::oauth_tokens`](crate::Client::oauth_tokens) hands you the current pair to
//!    persist (the server may rotate the refresh token).
//!
//! Tokens and the client secret are [`SecretString`]s: never in `Debug` output, errors or
//! logs; every one the client has held is scrubbed from server text like the API token.
//! The token endpoint is called with the standard form body (`client_secret_post`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::scrub::Scrubber;

/// Fibery's authorization server.
pub const FIBERY_AUTH: &str = "https://auth.fibery.io";

/// Refresh this long before the access token expires.
const EARLY: Duration = Duration::from_secs(30);

/// A registered OAuth app.
#[derive(Clone)]
pub struct OAuthApp {
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    auth_base: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .field("auth_base", &self.auth_base)
            .finish()
    }
}

/// An access token and what came with it.
#[derive(Clone)]
pub struct Tokens {
    /// The `Bearer` token.
    pub access_token: SecretString,
    /// Present with the `offline` scope; enables refreshing.
    pub refresh_token: Option<SecretString>,
    /// Present with the `openid` scope.
    pub id_token: Option<SecretString>,
    /// When the access token expires, if the server said.
    pub expires_at: Option<SystemTime>,
    /// The granted scopes, space separated.
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[REDACTED]"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Tokens {
    /// Whether the access token expires within `margin` (never, when the expiry is unknown).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|t| t <= SystemTime::now() + margin)
    }
}

/// The token endpoint's JSON (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// The token endpoint's error JSON (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthApp {
    /// An app registered with Fibery, against `https://auth.fibery.io`.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            redirect_uri: redirect_uri.into(),
            auth_base: FIBERY_AUTH.to_owned(),
            http: crate::tls::configure(reqwest::Client::builder())
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// Another authorization server (the emulator in tests), e.g. `http://127.0.0.1:8080`.
    pub fn auth_base(mut self, url: impl Into<String>) -> Self {
        self.auth_base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Where to send the user: `GET /oauth2/auth` with `response_type=code`, the client id,
    /// redirect URI, `scopes` (e.g. `["openid", "offline"]`) and `state` (check it on the
    /// redirect, it protects against forged callbacks).
    pub fn authorization_url(&self, state: &str, scopes: &[&str]) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state)
            .finish();
        format!("{}/oauth2/auth?{q}", self.auth_base)
    }

    /// Exchanges the `code` of the redirect for tokens.
    pub async fn exchange_code(&self, code: &str) -> Result<Tokens> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
        ])
        .await
    }

    /// New tokens for a refresh token (keep the refresh token of the answer if it has one).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Tokens> {
        let t = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
            ])
            .await?;
        Ok(Tokens {
            refresh_token: t.refresh_token.or_else(|| Some(refresh_token.clone())),
            ..t
        })
    }

    async fn token_request(&self, params: &[(&str, &str)]) -> Result<Tokens> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().copied())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose_secret())
            .finish();
        let scrub = Scrubber::many(
            params
                .iter()
                .filter(|(k, _)| *k != "grant_type" && *k != "redirect_uri")
                .map(|(_, v)| *v)
                .chain([self.client_secret.expose_secret()]),
        );
        let resp = self
            .http
            .post(format!("{}/oauth2/token", self.auth_base))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| scrub.error(Error::from_reqwest(e)))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| scrub.error(Error::from_reqwest(e)))?;
        if !status.is_success() {
            let message = match serde_json::from_slice::<TokenError>(&body) {
                Ok(e) => format!(
                    "{}{}",
                    e.error,
                    e.error_description
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                Err(_) => String::from_utf8_lossy(&body).into_owned(),
            };
            return Err(scrub.error(Error::Auth {
                status: status.as_u16(),
                message: scrub.snippet(message.as_bytes()),
            }));
        }
        // The body holds the new tokens: a decode error must not quote it.
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| Error::decode("OAuth token response", "not a token response"))?;
        Ok(Tokens {
            access_token: SecretString::from(t.access_token),
            refresh_token: t.refresh_token.map(SecretString::from),
            id_token: t.id_token.map(SecretString::from),
            expires_at: t
                .expires_in
                .map(|s| SystemTime::now() + Duration::from_secs(s)),
            scope: t.scope,
        })
    }
}

/// The tokens a client is using, refreshed in place (shared by clones).
pub(crate) struct Session {
    app: OAuthApp,
    tokens: Mutex<Tokens>,
    /// Bumped on each refresh; a request that failed with an older generation's token
    /// does not refresh again.
    generation: Mutex<u64>,
    /// Serializes refreshes.
    refreshing: tokio::sync::Mutex<()>,
    pub(crate) scrub: Arc<Scrubber>,
}

impl Session {
    pub(crate) fn new(app: OAuthApp, tokens: Tokens, scrub: Arc<Scrubber>) -> Self {
        scrub.add(tokens.access_token.expose_secret());
        for t in [&tokens.refresh_token, &tokens.id_token]
            .into_iter()
            .flatten()
        {
            scrub.add(t.expose_secret());
        }
        scrub.add(app.client_secret.expose_secret());
        Session {
            app,
            tokens: Mutex::new(tokens),
            generation: Mutex::new(0),
            refreshing: tokio::sync::Mutex::new(()),
            scrub,
        }
    }

    pub(crate) fn tokens(&self) -> Tokens {
        self.tokens.lock().expect("oauth lock").clone()
    }

    pub(crate) fn generation(&self) -> u64 {
        *self.generation.lock().expect("oauth lock")
    }

    /// Whether a refresh token is configured.
    pub(crate) fn can_refresh(&self) -> bool {
        self.tokens
            .lock()
            .expect("oauth lock")
            .refresh_token
            .is_some()
    }

    /// Whether the access token is (nearly) expired and can be refreshed.
    pub(crate) fn due(&self) -> bool {
        let t = self.tokens.lock().expect("oauth lock");
        t.refresh_token.is_some() && t.expires_within(EARLY)
    }

    /// Refreshes unless another caller already did since generation `seen`; returns the
    /// access token to use.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<SecretString> {
        let _one = self.refreshing.lock().await;
        if self.generation() != seen {
            return Ok(self.tokens().access_token);
        }
        let Some(refresh) = self.tokens().refresh_token else {
            return Err(Error::Config("no OAuth refresh token configured".into()));
        };
        let fresh = self.app.refresh(&refresh).await?;
        for t in [
            Some(&fresh.access_token),
            fresh.refresh_token.as_ref(),
            fresh.id_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            self.scrub.add(t.expose_secret());
        }
        let access = fresh.access_token.clone();
        *self.tokens.lock().expect("oauth lock") = fresh;
        *self.generation.lock().expect("oauth lock") += 1;
        tracing::debug!("OAuth access token refreshed");
        Ok(access)
    }
}
