//! Sessions after sign-in: credentials that are missing, forged, expired or of a deleted user;
//! bearer tokens; logout (on one instance or another) and refresh.

use confab::session::token::{Claims, TokenKeys};
use serde_json::Value;

use crate::{
    auth::{code_of, me},
    helpers::{
        TestApp,
        app::{cookie_pair, set_cookie},
        fake_provider::Account,
    },
};

#[tokio::test]
async fn missing_garbage_and_tampered_credentials_are_401s_never_500s() {
    let app = TestApp::spawn().await;
    let (status, code) = code_of(app.get("/auth/me").await).await;
    assert_eq!((status, code.as_str()), (401, "NO_TOKEN"));

    let good = app
        .sign_in("github", Account::github(8, "t", "t@example.com"))
        .await;
    let value = good.strip_prefix("auth=").unwrap();
    let cases = [
        "auth=garbage".to_owned(),
        "auth=".to_owned(),
        format!("auth={}", &value[..value.len() / 2]),
        format!("auth={}x", value),
        // The signature's first character, changed to one it is not (it is random,
        // so a fixed replacement would sometimes leave the cookie intact).
        format!(
            "auth={}{}",
            if value.starts_with('x') { 'y' } else { 'x' },
            &value[1..]
        ),
    ];
    for cookie in cases {
        let response = me(&app, &cookie).await;
        let clear = set_cookie(&response, "auth");
        assert_eq!(
            code_of(response).await,
            (401, "INVALID_TOKEN".into()),
            "{cookie}"
        );
        assert!(
            clear.is_some_and(|c| c.contains("Max-Age=0")),
            "the bad cookie is cleared"
        );
    }
    for header in ["Bearer garbage", "Bearer a b", "Basic abc"] {
        let response = app
            .client
            .get(format!("{}/auth/me", app.address))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(
            code_of(response).await,
            (401, "INVALID_TOKEN".into()),
            "{header}"
        );
    }
}

#[tokio::test]
async fn a_bearer_token_from_the_operator_command_path_works() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("bot").await;
    let user: Value = app
        .get_with_bearer("/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["username"], "bot");
}

fn keys() -> TokenKeys {
    TokenKeys::new(b"test-jwt-secret-0123456789abcdef0123456789abcd")
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired_and_can_still_log_out() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("expired").await;
    let claims = keys().decode(&token).unwrap();
    let expired = keys()
        .encode(&Claims {
            exp: claims.iat - 60,
            iat: claims.iat - 120,
            ..claims
        })
        .unwrap();
    let r = app.get_with_bearer("/auth/me", &expired).await;
    assert_eq!(code_of(r).await, (401, "TOKEN_EXPIRED".into()));

    let r = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The session itself is revoked: the unexpired token of the same session is refused too.
    let r = app.get_with_bearer("/auth/me", &token).await;
    assert_eq!(code_of(r).await, (401, "SESSION_REVOKED".into()));
}

#[tokio::test]
async fn a_token_whose_user_was_deleted_is_invalid() {
    use sea_orm::EntityTrait;
    let app = TestApp::spawn().await;
    let token = app.bearer_for("gone").await;
    let claims = keys().decode(&token).unwrap();
    entity::user::Entity::delete_by_id(claims.sub)
        .exec(&app.state.db)
        .await
        .unwrap();
    // A fresh instance (no cache) must notice at once; this one when its cache entry ends.
    let other = app.sibling(&[("SESSION_CACHE_TTL", "0")]).await;
    let r = other.get_with_bearer("/auth/me", &token).await;
    assert_eq!(code_of(r).await, (401, "INVALID_TOKEN".into()));
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let cookie = app
        .sign_in("github", Account::github(9, "leaver", "l@example.com"))
        .await;
    let r = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = set_cookie(&r, "auth").unwrap();
    for attribute in [
        "auth=;",
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Path=/",
        "Max-Age=0",
    ] {
        assert!(
            cleared.contains(attribute),
            "{attribute} missing from {cleared}"
        );
    }
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"success": true, "message": "Successfully logged out"})
    );
    let r = me(&app, &cookie).await;
    assert_eq!(code_of(r).await, (401, "SESSION_REVOKED".into()));
}

#[tokio::test]
async fn a_logout_on_one_instance_reaches_another() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("twoplaces").await;
    let other = app.sibling(&[("SESSION_CACHE_TTL", "0")]).await;
    assert_eq!(
        other.get_with_bearer("/auth/me", &token).await.status(),
        200
    );
    let r = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = other.get_with_bearer("/auth/me", &token).await;
    assert_eq!(code_of(r).await, (401, "SESSION_REVOKED".into()));
}

#[tokio::test]
async fn refresh_rotates_the_session_and_revokes_the_old_one() {
    let app = TestApp::spawn().await;
    let old = app
        .sign_in("github", Account::github(10, "rot", "rot@example.com"))
        .await;
    let r = app
        .client
        .post(format!("{}/auth/refresh", app.address))
        .header("cookie", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let new = cookie_pair(&r, "auth").expect("a new cookie");
    assert_ne!(new, old);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["username"], "rot");
    assert_eq!(me(&app, &new).await.status(), 200);
    assert_eq!(
        code_of(me(&app, &old).await).await,
        (401, "SESSION_REVOKED".into())
    );
}
