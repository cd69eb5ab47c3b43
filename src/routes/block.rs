//! Blocking (contract §3): `POST`/`DELETE /user/:id/block`, `GET /user/blocked`.
//!
//! While either user blocks the other, new conversations and messages between them are
//! `403 BLOCKED` (enforced in the data layer), and typing and presence are not shared.

use poem_openapi::{ApiResponse, OpenApi, param::Path};
use uuid::Uuid;

use super::{Tag, json_body::JsonBody};
use crate::{
    data,
    error::Failure,
    session::auth::Auth,
    state::AppState,
    wire::{Ack, ErrorCode, User},
};

/// The blocking part of the user area.
pub struct BlockApi {
    state: AppState,
}

impl BlockApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of `POST /user/:id/block`.
    BlockErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::InvalidRequest, ErrorCode::UserNotFound]);

crate::error_set!(
    /// Errors of `DELETE /user/:id/block`.
    UnblockErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::UserNotFound]);

crate::error_set!(
    /// Errors of `GET /user/blocked`.
    ListBlockedErrors: AUTHENTICATED);

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum BlockResponse {
    /// Done (also when it already was).
    #[oai(status = 200)]
    Ok(JsonBody<Ack>),
}

/// `200 User[]`.
#[derive(ApiResponse)]
pub enum ListBlockedResponse {
    /// The users the caller blocks, most recently blocked first (`[]` when none).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<User>>),
}

#[OpenApi(tag = "Tag::Users")]
impl BlockApi {
    /// Block a user
    ///
    /// Until unblocked, neither of you can open a conversation with or send a message to the
    /// other (`403 BLOCKED`), and neither sees the other type or come online. Your history with
    /// them stays readable. Blocking a user you already block changes nothing.
    #[oai(path = "/user/:id/block", method = "post", operation_id = "blockUser")]
    async fn block_user(
        &self,
        auth: Auth,
        /// The user to block.
        id: Path<Uuid>,
    ) -> Result<BlockResponse, Failure<BlockErrors>> {
        let (me, presence) = (auth.0.user_id, &self.state.presence);
        let before = presence.shares(&self.state, me, id.0).await;
        data::block::block_user(&self.state.db, me, id.0).await?;
        presence
            .sharing_changed(&self.state, me, id.0, before)
            .await;
        Ok(BlockResponse::Ok(JsonBody(Ack::new("User blocked"))))
    }

    /// Unblock a user
    ///
    /// Also `200` when you did not block them. A block they hold against you stays.
    #[oai(
        path = "/user/:id/block",
        method = "delete",
        operation_id = "unblockUser"
    )]
    async fn unblock_user(
        &self,
        auth: Auth,
        /// The user to unblock.
        id: Path<Uuid>,
    ) -> Result<BlockResponse, Failure<UnblockErrors>> {
        let (me, presence) = (auth.0.user_id, &self.state.presence);
        let before = presence.shares(&self.state, me, id.0).await;
        data::block::unblock_user(&self.state.db, me, id.0).await?;
        presence
            .sharing_changed(&self.state, me, id.0, before)
            .await;
        Ok(BlockResponse::Ok(JsonBody(Ack::new("User unblocked"))))
    }

    /// List the users I block
    #[oai(
        path = "/user/blocked",
        method = "get",
        operation_id = "listBlockedUsers"
    )]
    async fn list_blocked(
        &self,
        auth: Auth,
    ) -> Result<ListBlockedResponse, Failure<ListBlockedErrors>> {
        let me = auth.0.user_id;
        let users = data::block::list_blocked(&self.state.db, me).await?;
        Ok(ListBlockedResponse::Ok(JsonBody(
            users.into_iter().map(|u| User::for_viewer(u, me)).collect(),
        )))
    }
}
