//! The HTTP edge: one module per area. Handlers parse and validate, call one `data::` function, map
//! the result to a response type and emit realtime events after commit; they hold no domain logic.

pub mod asyncapi;
pub mod block;
pub mod conversation;
pub mod docs;
pub mod infra;
pub mod json_body;
pub mod message;
pub mod oauth;
pub mod page;
pub mod param;
pub mod search;
pub mod session;
pub mod sync;
pub mod user;

use poem_openapi::OpenApiService;

use crate::state::AppState;

/// OpenAPI tags, in the order the docs page shows them.
#[derive(poem_openapi::Tags)]
pub enum Tag {
    /// Sign-in with GitHub and Google.
    Authentication,
    /// The current session.
    Sessions,
    /// People.
    Users,
    /// 1:1 conversations.
    Conversations,
    /// Messages in conversations.
    Messages,
    /// Finding people and messages.
    Search,
    /// Catching up on realtime events by cursor.
    Sync,
    /// Liveness and readiness.
    Infrastructure,
}

/// Every OpenAPI-described area of the API, combined.
pub type Apis = (
    oauth::OAuthApi,
    session::SessionApi,
    user::UserApi,
    block::BlockApi,
    conversation::ConversationApi,
    message::MessageApi,
    search::SearchApi,
    sync::SyncApi,
    infra::InfraApi,
);

/// The OpenAPI document as served at `/json` and `/yaml`: poem-openapi's, with integer bounds made
/// exact ([`param::exact_integer_bounds`]) and an example body per error status
/// ([`crate::error::add_error_examples`]).
pub fn documents(api: &OpenApiService<Apis, ()>) -> anyhow::Result<(String, String)> {
    let mut spec: serde_json::Value = serde_json::from_str(&api.spec())?;
    param::exact_integer_bounds(&mut spec);
    crate::error::add_error_examples(&mut spec);
    Ok((
        serde_json::to_string_pretty(&spec)?,
        serde_yaml::to_string(&spec)?,
    ))
}

/// Builds the OpenAPI service (the routes plus their document).
pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            oauth::OAuthApi::new(state.clone()),
            session::SessionApi::new(state.clone()),
            user::UserApi::new(state.clone()),
            block::BlockApi::new(state.clone()),
            conversation::ConversationApi::new(state.clone()),
            message::MessageApi::new(state.clone()),
            search::SearchApi::new(state.clone()),
            sync::SyncApi::new(state.clone()),
            infra::InfraApi::new(state.clone()),
        ),
        "Confab API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Real-time direct messages: sign in with GitHub or Google, open 1:1 conversations, send, \
         edit, delete, read and search messages over REST, and receive them live over Socket.IO \
         (`/socket.io/`, same port).",
    )
    .license("MIT")
    .server(state.config.http.public_url.clone())
}
