//! A local stand-in for GitHub's and Google's OAuth endpoints, speaking their real protocol:
//! an authorization endpoint that redirects back with a code, a token endpoint (form-encoded,
//! client credentials, PKCE S256 checked when a challenge was sent), GitHub's `/user` and
//! `/user/emails`, and Google's OpenID userinfo.
//!
//! Paths: `/{github|google}/authorize`, `/{github|google}/token`, `/github/api/user`,
//! `/github/api/user/emails`, `/google/userinfo`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use base64::Engine;
use poem::{
    EndpointExt, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;

/// One account at the fake provider.
#[derive(Debug, Clone)]
pub struct Account {
    /// GitHub numeric id or Google `sub`.
    pub id: String,
    /// GitHub login (Google: unused).
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// GitHub's public profile e-mail, or Google's `email`.
    pub email: Option<String>,
    /// GitHub `/user/emails`: (address, primary, verified).
    pub emails: Vec<(String, bool, bool)>,
    /// Google `email_verified`.
    pub email_verified: bool,
}

impl Account {
    /// A GitHub account with a public e-mail.
    pub fn github(id: u64, login: &str, email: &str) -> Self {
        Self {
            id: id.to_string(),
            login: login.into(),
            name: Some(format!("{login} name")),
            email: Some(email.into()),
            emails: vec![],
            email_verified: true,
        }
    }

    /// A Google account with a verified e-mail.
    pub fn google(sub: &str, email: &str) -> Self {
        Self {
            id: sub.into(),
            login: String::new(),
            name: Some("Google User".into()),
            email: Some(email.into()),
            emails: vec![],
            email_verified: true,
        }
    }
}

/// Failures the fake can be told to produce.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The token endpoint answers `400 invalid_grant`.
    pub token: bool,
    /// The profile endpoints answer `500`.
    pub profile: bool,
}

#[derive(Default)]
struct Inner {
    next: Option<Account>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Account>,
    faults: Faults,
    /// Every token request's form, for assertions (e.g. that PKCE was used).
    token_requests: Vec<HashMap<String, String>>,
}

struct Grant {
    account: Account,
    redirect_uri: String,
    challenge: Option<String>,
}

/// The running fake provider.
#[derive(Clone)]
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-client-secret";

impl FakeProvider {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = Route::new()
            .at("/:provider/authorize", authorize)
            .at("/:provider/token", token)
            .at("/github/api/user", github_user)
            .at("/github/api/user/emails", github_emails)
            .at("/google/userinfo", google_userinfo)
            .data(inner.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://127.0.0.1:{port}"),
            inner,
        }
    }

    /// The configuration that points Confab at this fake.
    pub fn config(&self) -> Vec<(String, String)> {
        let u = &self.url;
        [
            ("GITHUB_CLIENT_ID", CLIENT_ID.to_owned()),
            ("GITHUB_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("GITHUB_AUTHORIZE_URL", format!("{u}/github/authorize")),
            ("GITHUB_TOKEN_URL", format!("{u}/github/token")),
            ("GITHUB_API_URL", format!("{u}/github/api")),
            ("GOOGLE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("GOOGLE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("GOOGLE_AUTHORIZE_URL", format!("{u}/google/authorize")),
            ("GOOGLE_TOKEN_URL", format!("{u}/google/token")),
            ("GOOGLE_USERINFO_URL", format!("{u}/google/userinfo")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The account the next authorization signs in as.
    pub fn sign_in_next_as(&self, account: Account) {
        self.inner.lock().unwrap().next = Some(account);
    }

    /// Makes the fake fail as told.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.lock().unwrap().faults = faults;
    }

    /// The forms of all token requests so far.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }
}

fn random_token() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    response_type: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

#[handler]
fn authorize(Query(q): Query<AuthorizeQuery>, inner: Data<&Arc<Mutex<Inner>>>) -> Response {
    let mut inner = inner.lock().unwrap();
    if q.client_id != CLIENT_ID || q.response_type != "code" {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body("bad client");
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body("plain PKCE refused");
    }
    let Some(account) = inner.next.take() else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body("no account queued");
    };
    let code = random_token();
    inner.codes.insert(
        code.clone(),
        Grant {
            account,
            redirect_uri: q.redirect_uri.clone(),
            challenge: q.code_challenge,
        },
    );
    let location = format!(
        "{}?code={code}&state={}",
        q.redirect_uri,
        urlencoding::encode(&q.state)
    );
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .finish()
}

#[handler]
fn token(
    Path(provider): Path<String>,
    req: &Request,
    Form(form): Form<HashMap<String, String>>,
    inner: Data<&Arc<Mutex<Inner>>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.token_requests.push(form.clone());
    let refuse = |error: &str| {
        Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .content_type("application/json")
            .body(json!({ "error": error }).to_string())
    };
    if inner.faults.token {
        return refuse("invalid_grant");
    }
    // Client authentication: HTTP Basic (what the oauth2 crate sends) or form fields.
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let form_credentials = format!(
        "{}:{}",
        form.get("client_id")
            .map(String::as_str)
            .unwrap_or_default(),
        form.get("client_secret")
            .map(String::as_str)
            .unwrap_or_default()
    );
    let expected = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    if basic.as_deref() != Some(expected.as_str()) && form_credentials != expected {
        return refuse("invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("unsupported_grant_type");
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return refuse("invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return refuse("invalid_grant");
    }
    if let Some(challenge) = &grant.challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return refuse("invalid_grant");
        };
        let digest = sha2::Sha256::digest(verifier.as_bytes());
        if base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) != *challenge {
            return refuse("invalid_grant");
        }
    } else if provider == "google" {
        // Confab must use PKCE with Google.
        return refuse("invalid_request");
    }
    let access_token = random_token();
    inner.tokens.insert(access_token.clone(), grant.account);
    Response::builder().content_type("application/json").body(
        json!({ "access_token": access_token, "token_type": "bearer", "expires_in": 3599 })
            .to_string(),
    )
}

/// The account of the request's bearer token, or the error response to send.
fn account_for(req: &Request, inner: &Inner) -> Result<Account, Box<Response>> {
    let status = if inner.faults.profile {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::UNAUTHORIZED
    };
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| inner.tokens.get(t).cloned())
        .filter(|_| !inner.faults.profile)
        .ok_or_else(|| Box::new(Response::builder().status(status).finish()))
}

fn json_response(value: serde_json::Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(value.to_string())
}

#[handler]
fn github_user(req: &Request, inner: Data<&Arc<Mutex<Inner>>>) -> Response {
    let inner = inner.lock().unwrap();
    match account_for(req, &inner) {
        Ok(a) => json_response(json!({
            "id": a.id.parse::<u64>().unwrap_or(0),
            "login": a.login,
            "name": a.name,
            "email": a.email,
            "avatar_url": format!("https://avatars.example/{}", a.login),
        })),
        Err(response) => *response,
    }
}

#[handler]
fn github_emails(req: &Request, inner: Data<&Arc<Mutex<Inner>>>) -> Response {
    let inner = inner.lock().unwrap();
    match account_for(req, &inner) {
        Ok(a) => json_response(serde_json::Value::Array(
            a.emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({ "email": email, "primary": primary, "verified": verified, "visibility": null })
                })
                .collect(),
        )),
        Err(response) => *response,
    }
}

#[handler]
fn google_userinfo(req: &Request, inner: Data<&Arc<Mutex<Inner>>>) -> Response {
    let inner = inner.lock().unwrap();
    match account_for(req, &inner) {
        Ok(a) => json_response(json!({
            "sub": a.id,
            "email": a.email,
            "email_verified": a.email_verified,
            "name": a.name,
            "picture": "https://photos.example/me.png",
        })),
        Err(response) => *response,
    }
}
