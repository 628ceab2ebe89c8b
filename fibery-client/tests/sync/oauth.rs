//! OAuth against the emulator's authorization server: authorization URL, code exchange,
//! refresh before expiry and after a 401, tokens absent from every output.

use std::time::{Duration, SystemTime};

use fibery_client::oauth::{OAuthApp, Tokens};
use fibery_client::{Client, Error, Query};
use fibery_emulator::Emulator;
use secrecy::ExposeSecret;

use super::emulator;

const CLIENT_ID: &str = "sync-app";
const CLIENT_SECRET: &str = "client-secret-5f1e2d3c4b5a";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn app(emu: &Emulator) -> OAuthApp {
    emu.register_oauth_app(CLIENT_ID, CLIENT_SECRET, REDIRECT);
    OAuthApp::new(CLIENT_ID, CLIENT_SECRET, REDIRECT).auth_base(emu.base_url())
}

/// Follows the authorization URL like a browser whose user consents; returns the code.
async fn authorize(app: &OAuthApp, state: &str) -> String {
    let url = app.authorization_url(state, &["openid", "offline"]);
    assert!(url.contains("response_type=code") && url.contains("scope=openid+offline"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let to = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(to.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["state"], state);
    q["code"].clone()
}

fn secrets(t: &Tokens) -> Vec<String> {
    let mut v = vec![t.access_token.expose_secret().to_owned()];
    v.extend(t.refresh_token.iter().map(|s| s.expose_secret().to_owned()));
    v.extend(t.id_token.iter().map(|s| s.expose_secret().to_owned()));
    v
}

fn unauthorized(emu: &Emulator) -> usize {
    emu.request_log().iter().filter(|r| r.status == 401).count()
}

async fn one_query(client: &Client) -> Result<Vec<fibery_client::Value>, Error> {
    client
        .query(&Query::from("Projects/Task").select(["fibery/id"]).limit(1))
        .await
}

#[tokio::test]
async fn exchange_then_refresh_after_a_401_and_before_expiry() {
    let emu = emulator().await;
    let app = app(&emu);
    let code = authorize(&app, "st4te-1").await;
    let tokens = app.exchange_code(&code).await.unwrap();
    assert!(tokens.refresh_token.is_some() && tokens.id_token.is_some());
    assert!(!tokens.expires_within(Duration::from_secs(60)));
    let reused = app.exchange_code(&code).await.unwrap_err();
    assert!(
        matches!(reused, Error::Auth { status: 400, .. }),
        "{reused:?}"
    );

    let client = crate::common::oauth_client(&emu.base_url(), &app, tokens.clone());
    one_query(&client).await.unwrap();

    // The access token stops working: one 401, a refresh, the request goes through.
    emu.expire_oauth_tokens();
    one_query(&client).await.unwrap();
    assert_eq!(unauthorized(&emu), 1);
    let now = client.oauth_tokens().unwrap();
    assert_ne!(
        now.access_token.expose_secret(),
        tokens.access_token.expose_secret()
    );
    // The refresh token rotated: the old one is spent.
    let spent = app
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(spent, Error::Auth { status: 400, .. }));

    // Tokens loaded with a past expiry are refreshed before anything is sent.
    let stale = Tokens {
        expires_at: Some(SystemTime::now() - Duration::from_secs(1)),
        ..now.clone()
    };
    let client2 = crate::common::oauth_client(&emu.base_url(), &app, stale);
    one_query(&client2).await.unwrap();
    assert_eq!(
        unauthorized(&emu),
        1,
        "no request went out with the stale token"
    );
    let after = client2.oauth_tokens().unwrap();
    assert_ne!(
        after.access_token.expose_secret(),
        now.access_token.expose_secret()
    );

    // Without a refresh token a 401 is the caller's.
    let access_only = Tokens {
        refresh_token: None,
        ..after.clone()
    };
    let client3 = crate::common::oauth_client(&emu.base_url(), &app, access_only);
    emu.expire_oauth_tokens();
    let e = one_query(&client3).await.unwrap_err();
    assert!(matches!(e, Error::Auth { status: 401, .. }), "{e:?}");

    let wrong = OAuthApp::new(CLIENT_ID, "not-the-secret", REDIRECT).auth_base(emu.base_url());
    let bad = wrong.exchange_code("whatever").await.unwrap_err();
    assert!(matches!(bad, Error::Auth { status: 401, .. }));

    // No token or secret in any Debug or Display output.
    let mut all = secrets(&tokens);
    all.extend(secrets(&now));
    all.extend(secrets(&after));
    all.push(CLIENT_SECRET.to_owned());
    let shown = format!(
        "{app:?} {tokens:?} {now:?} {client:?} {client2:?} {reused:?} {reused} {spent:?} {e} {bad:?} {bad}"
    );
    for s in &all {
        assert!(!shown.contains(s.as_str()), "a secret was printed");
    }
}
