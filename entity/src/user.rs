//! A person who signed in with GitHub or Google.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique; GitHub login or the Google e-mail's local part, with a numeric suffix on collision.
    pub username: String,
    /// Display name from the provider.
    pub name: Option<String>,
    /// The address of the latest sign-in; shown only to the user themself.
    pub email: Option<String>,
    /// Avatar URL from the provider.
    pub avatar: Option<String>,
    /// When the user's last socket disconnected.
    pub last_seen: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last profile refresh.
    pub updated_at: DateTimeUtc,
}

/// Relations of `users`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Sign-in identities.
    #[sea_orm(has_many = "super::identity::Entity")]
    Identity,
    /// Sessions.
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::identity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identity.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
