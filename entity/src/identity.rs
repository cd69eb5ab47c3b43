//! A provider account (GitHub or Google) linked to a user.

use sea_orm::entity::prelude::*;

/// A row of `identities`; unique by (provider, provider user id).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user this identity signs in.
    pub user_id: Uuid,
    /// `github` or `google`.
    pub provider: String,
    /// The provider's stable id of the account.
    pub provider_user_id: String,
    /// The verified address the provider reported.
    pub email: Option<String>,
    /// First sign-in.
    pub created_at: DateTimeUtc,
    /// Latest sign-in.
    pub updated_at: DateTimeUtc,
}

/// Relations of `identities`.
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
