//! A signed-in session; the JWT's `sid` points here so logout and revocation are server-side.

use sea_orm::entity::prelude::*;

/// A row of `sessions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// UUID v7; the JWT's `sid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The signed-in user.
    pub user_id: Uuid,
    /// Sign-in (or refresh) time.
    pub created_at: DateTimeUtc,
    /// When the session ends by itself.
    pub expires_at: DateTimeUtc,
    /// Set by logout, refresh (for the old session) or an operator.
    pub revoked_at: Option<DateTimeUtc>,
    /// The session a refresh rotated this one into (its `revoked_at` is the rotation time).
    pub replaced_by: Option<Uuid>,
}

/// Relations of `sessions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning user.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
