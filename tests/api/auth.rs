//! Sign-in with GitHub and Google against the provider stand-in, sessions, refresh and logout.

use confab::session::token::{Claims, TokenKeys};
use serde_json::Value;

use crate::helpers::{
    TestApp,
    app::{cookie_pair, location, set_cookie},
    fake_provider::{Account, Faults},
};

async fn me(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.get_with_cookie("/auth/me", cookie).await
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn github_sign_in_sets_the_session_cookie_and_redirects_to_the_frontend() {
    let app = TestApp::spawn().await;
    let response = app
        .oauth_callback_response("github", Account::github(1, "octocat", "octo@example.com"))
        .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "http://localhost:3000");
    let cookie = set_cookie(&response, "auth").unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    // The one-time state cookie is cleared.
    let state = set_cookie(&response, "github_oauth_state").unwrap();
    assert!(state.contains("Max-Age=0"), "{state}");

    let pair = cookie_pair(&response, "auth").unwrap();
    let user: Value = me(&app, &pair).await.json().await.unwrap();
    assert_eq!(user["username"], "octocat");
    assert_eq!(user["email"], "octo@example.com");
    assert_eq!(user["name"], "octocat name");
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn the_sign_in_start_sets_a_signed_lax_state_cookie_and_redirects_to_the_provider() {
    let app = TestApp::spawn().await;
    let response = app.get("/auth/github").await;
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{}/github/authorize?", app.provider.url)),
        "{to}"
    );
    assert!(to.contains("state=") && to.contains("client_id=test-client"));
    let cookie = set_cookie(&response, "github_oauth_state").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
}

#[tokio::test]
async fn google_sign_in_uses_pkce_and_the_verified_address() {
    let app = TestApp::spawn().await;
    let start = app.get("/auth/google").await;
    assert!(location(&start).contains("code_challenge_method=S256"));

    let cookie = app
        .sign_in("google", Account::google("g-1", "jane.doe@example.com"))
        .await;
    let user: Value = me(&app, &cookie).await.json().await.unwrap();
    assert_eq!(user["username"], "jane.doe");
    assert_eq!(user["email"], "jane.doe@example.com");
    // The stand-in refuses a Google exchange without a matching verifier, so reaching here proves
    // PKCE; check the verifier was sent all the same.
    assert!(
        app.provider
            .token_requests()
            .iter()
            .any(|f| f.contains_key("code_verifier"))
    );
}

#[tokio::test]
async fn a_github_profile_without_a_public_address_uses_the_primary_verified_one() {
    let app = TestApp::spawn().await;
    let mut account = Account::github(2, "private", "unused@example.com");
    account.email = None;
    account.emails = vec![
        ("old@example.com".into(), false, true),
        ("main@example.com".into(), true, true),
    ];
    let cookie = app.sign_in("github", account).await;
    let user: Value = me(&app, &cookie).await.json().await.unwrap();
    assert_eq!(user["email"], "main@example.com");
}

#[tokio::test]
async fn addresses_that_are_missing_or_unverified_are_refused() {
    let app = TestApp::spawn().await;

    let mut unverified = Account::github(3, "unverified", "x@example.com");
    unverified.email = None;
    unverified.emails = vec![("x@example.com".into(), true, false)];
    let response = app.oauth_callback_response("github", unverified).await;
    assert_eq!(code_of(response).await, (400, "EMAIL_NOT_VERIFIED".into()));

    let mut none = Account::github(4, "noemail", "x@example.com");
    none.email = None;
    let response = app.oauth_callback_response("github", none).await;
    assert_eq!(code_of(response).await, (400, "NO_EMAIL".into()));

    let mut google = Account::google("g-2", "g@example.com");
    google.email_verified = false;
    let response = app.oauth_callback_response("google", google).await;
    assert_eq!(code_of(response).await, (400, "EMAIL_NOT_VERIFIED".into()));

    let mut google = Account::google("g-3", "g@example.com");
    google.email = None;
    let response = app.oauth_callback_response("google", google).await;
    assert_eq!(code_of(response).await, (400, "NO_EMAIL".into()));
}

#[tokio::test]
async fn a_provider_error_redirects_to_the_frontend_with_the_error_encoded() {
    let app = TestApp::spawn().await;
    let response = app
        .get("/auth/github/callback?error=access_denied&error_description=The+user+said+no")
        .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        location(&response),
        "http://localhost:3000/auth?error=access_denied"
    );
    let response = app.get("/auth/google/callback?error=a%20b%26c").await;
    assert_eq!(
        location(&response),
        "http://localhost:3000/auth?error=a%20b%26c"
    );
}

#[tokio::test]
async fn a_callback_without_a_code_is_refused() {
    let app = TestApp::spawn().await;
    let response = app.get("/auth/github/callback?state=x").await;
    assert_eq!(code_of(response).await, (400, "NO_AUTH_CODE".into()));
}

#[tokio::test]
async fn a_missing_forged_or_mismatched_state_is_refused() {
    let app = TestApp::spawn().await;
    let start = app.get("/auth/github").await;
    let state_cookie = cookie_pair(&start, "github_oauth_state").unwrap();
    let state = location(&start)
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();

    // No cookie.
    let r = app
        .get(&format!("/auth/github/callback?code=c&state={state}"))
        .await;
    assert_eq!(code_of(r).await, (400, "INVALID_STATE".into()));
    // The right cookie, another state.
    let r = app
        .get_with_cookie("/auth/github/callback?code=c&state=other", &state_cookie)
        .await;
    assert_eq!(code_of(r).await, (400, "INVALID_STATE".into()));
    // A cookie we did not sign.
    let r = app
        .get_with_cookie(
            &format!("/auth/github/callback?code=c&state={state}"),
            &format!("github_oauth_state={state}"),
        )
        .await;
    assert_eq!(code_of(r).await, (400, "INVALID_STATE".into()));
    // GitHub's state cookie does not serve Google's callback.
    let r = app
        .get_with_cookie(
            &format!("/auth/google/callback?code=c&state={state}"),
            &state_cookie,
        )
        .await;
    assert_eq!(code_of(r).await, (400, "INVALID_STATE".into()));
}

#[tokio::test]
async fn provider_failures_are_reported_with_their_codes() {
    let app = TestApp::spawn().await;
    app.provider.set_faults(Faults {
        token: true,
        profile: false,
    });
    let r = app
        .oauth_callback_response("github", Account::github(5, "a", "a@example.com"))
        .await;
    assert_eq!(code_of(r).await, (400, "TOKEN_EXCHANGE_FAILED".into()));

    app.provider.set_faults(Faults {
        token: false,
        profile: true,
    });
    let r = app
        .oauth_callback_response("google", Account::google("g-5", "a@example.com"))
        .await;
    assert_eq!(code_of(r).await, (400, "USER_FETCH_FAILED".into()));
}

#[tokio::test]
async fn a_provider_without_a_client_id_is_disabled() {
    let app = TestApp::spawn_with(&[("GOOGLE_CLIENT_ID", ""), ("GOOGLE_CLIENT_SECRET", "")]).await;
    for path in ["/auth/google", "/auth/google/callback?code=x&state=y"] {
        let r = app.get(path).await;
        assert_eq!(
            code_of(r).await,
            (404, "PROVIDER_DISABLED".into()),
            "{path}"
        );
    }
    assert_eq!(app.get("/auth/github").await.status(), 302);
}

#[tokio::test]
async fn the_same_address_on_two_providers_makes_two_accounts() {
    let app = TestApp::spawn().await;
    let github = app
        .sign_in("github", Account::github(6, "same", "same@example.com"))
        .await;
    let google = app
        .sign_in("google", Account::google("g-6", "same@example.com"))
        .await;
    let a: Value = me(&app, &github).await.json().await.unwrap();
    let b: Value = me(&app, &google).await.json().await.unwrap();
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["username"], "same");
    assert_eq!(
        b["username"], "same2",
        "the colliding username gets a numeric suffix"
    );
}

#[tokio::test]
async fn signing_in_again_refreshes_the_profile_of_the_same_account() {
    let app = TestApp::spawn().await;
    let first = app
        .sign_in("github", Account::github(7, "renamed", "r@example.com"))
        .await;
    let mut account = Account::github(7, "renamed", "new@example.com");
    account.name = Some("New Name".into());
    let second = app.sign_in("github", account).await;
    let a: Value = me(&app, &first).await.json().await.unwrap();
    let b: Value = me(&app, &second).await.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["name"], "New Name");
    assert_eq!(b["email"], "new@example.com");
}

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

#[tokio::test]
async fn with_cookie_secure_off_the_cookie_is_lax_and_not_secure() {
    let app = TestApp::spawn_with(&[("COOKIE_SECURE", "false")]).await;
    let r = app
        .oauth_callback_response("github", Account::github(11, "dev", "dev@example.com"))
        .await;
    let cookie = set_cookie(&r, "auth").unwrap();
    assert!(
        cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
}
