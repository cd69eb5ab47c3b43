//! `GET /sync`: the caller's durable events after a cursor, for clients catching up over REST
//! (contract §6.1).

use poem_openapi::{ApiResponse, OpenApi, param::Query};

use super::{Tag, json_body::JsonBody};
use crate::{
    data,
    error::{ApiError, Failure},
    session::auth::Auth,
    state::AppState,
    wire::{Cursor, ErrorCode, dto::SyncPage},
};

/// The sync area of the API.
pub struct SyncApi {
    state: AppState,
}

impl SyncApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of `GET /sync`.
    SyncErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::InvalidCursor, ErrorCode::CursorExpired]
);

/// `200 {events, cursor, hasMore}`.
#[derive(ApiResponse)]
pub enum SyncResponse {
    /// The events after `since`, oldest first.
    #[oai(status = 200)]
    Ok(JsonBody<SyncPage>),
}

#[OpenApi(tag = "Tag::Sync")]
impl SyncApi {
    /// Catch up on events
    ///
    /// Every durable event (`new_message`, `message_edited`, `message_deleted`, `message_read`,
    /// `message_delivered`, `conversation_created`, `conversation_deleted`) after `since`, oldest first, with its
    /// cursor and its arguments as sent over Socket.IO. Without `since`: no events and the newest
    /// cursor, where a fresh client starts. Page with the returned `cursor` while `hasMore`.
    /// Messages received here are marked `delivered` (both participants get `message_delivered`).
    #[oai(path = "/sync", method = "get", operation_id = "sync")]
    async fn sync(
        &self,
        auth: Auth,
        /// A cursor from an event or an earlier `/sync` answer.
        #[oai(validator(max_length = 64))]
        since: Query<Option<String>>,
        /// Events per page, 1 to 1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> Result<SyncResponse, Failure<SyncErrors>> {
        let user = auth.0.user_id;
        let since = match since.0.as_deref() {
            None => None,
            Some(text) => Some(Cursor::parse_for(user, text).ok_or(ApiError::InvalidCursor)?),
        };
        let limit = limit.0.unwrap_or(100);
        let page = data::event::sync_page(&self.state.db, user, since, limit).await?;
        // Receiving a message here delivers it (contract §6.3); one already past `sent` needs no
        // marking, and a page of only such messages no transaction.
        let receipts: Vec<_> = page
            .events
            .iter()
            .filter_map(|e| e.acknowledgeable_message())
            .filter(|m| page.still_sent.contains(m))
            .map(|m| (user, m))
            .collect();
        let delivered = data::delivery::mark_delivered(&self.state.db, &receipts).await?;
        self.state.realtime.deliver(&delivered).await;
        Ok(SyncResponse::Ok(JsonBody(SyncPage {
            events: page.events.into_iter().map(|e| e.into_sync()).collect(),
            cursor: page.cursor.to_wire(),
            has_more: page.has_more,
        })))
    }
}
