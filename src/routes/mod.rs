//! The HTTP edge: one module per area. Handlers parse and validate, call one `data::` function, map
//! the result to a response type and emit realtime events after commit; they hold no domain logic.

pub mod docs;
pub mod infra;

use poem_openapi::OpenApiService;

use crate::state::AppState;

/// Every OpenAPI-described area of the API, combined.
pub type Apis = infra::InfraApi;

/// Builds the OpenAPI service (the routes plus their document).
pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        infra::InfraApi::new(state.clone()),
        "Confab API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Real-time direct messages: sign in with GitHub or Google, open 1:1 conversations, send, \
         edit, delete, read and search messages over REST, and receive them live over Socket.IO \
         (`/socket.io/`, same port).",
    )
    .license("MIT")
    .server(state.config.public_url.clone())
}
