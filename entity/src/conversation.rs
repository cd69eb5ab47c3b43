//! A 1:1 conversation; one per unordered pair of users (a unique index enforces it).

use sea_orm::entity::prelude::*;

/// A row of `conversations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The participant who created it (`p1` on the wire).
    pub p1_id: Uuid,
    /// The other participant (`p2` on the wire).
    pub p2_id: Uuid,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Time of the last message, or creation.
    pub updated_at: DateTimeUtc,
}

/// Relations of `conversations`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its messages.
    #[sea_orm(has_many = "super::message::Entity")]
    Message,
}

impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
