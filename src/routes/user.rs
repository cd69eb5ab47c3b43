//! Users: the wire shape (and, with the REST work, `GET /user` and `GET /user/:id`).

use entity::user;
use poem_openapi::Object;
use uuid::Uuid;

use super::types::Timestamp;

/// A user. `email` is shown only to the user themself, and is `null` for everyone else.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct User {
    /// UUID v7.
    pub id: Uuid,
    /// The caller's own address (`/auth/me`); `null` for other users.
    pub email: Option<String>,
    /// Unique username.
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
}

impl User {
    /// The wire shape of `model` as `viewer` may see it.
    pub fn for_viewer(model: user::Model, viewer: Uuid) -> Self {
        Self {
            email: if model.id == viewer {
                model.email
            } else {
                None
            },
            id: model.id,
            username: model.username,
            name: model.name,
            avatar: model.avatar,
            created_at: model.created_at.into(),
        }
    }
}
