//! A message in a conversation.

use sea_orm::entity::prelude::*;

/// A row of `messages`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// Who sent it.
    pub sender_id: Uuid,
    /// 1..2000 Unicode scalar values after trimming; kept on soft delete, blanked in responses.
    pub content: String,
    /// `sent`, `delivered`, `read` or `deleted`.
    pub status: String,
    /// Send time.
    pub created_at: DateTimeUtc,
    /// Last edit, if any.
    pub edited_at: Option<DateTimeUtc>,
}

/// Relations of `messages`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The conversation.
    #[sea_orm(
        belongs_to = "super::conversation::Entity",
        from = "Column::ConversationId",
        to = "super::conversation::Column::Id",
        on_delete = "Cascade"
    )]
    Conversation,
}

impl Related<super::conversation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
