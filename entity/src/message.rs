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
    /// Where the message is in its life.
    pub status: Status,
    /// Send time.
    pub created_at: DateTimeUtc,
    /// Last edit, if any.
    pub edited_at: Option<DateTimeUtc>,
    /// The sender's idempotency key, if the send carried one (unique per sender).
    pub client_message_id: Option<String>,
}

/// `messages.status`: text checked by the table (`CHECK (status IN (...))`), so the values below
/// are the only place the strings live in Rust. Forward only: `sent` → `delivered` → `read`;
/// `deleted` from any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Status {
    /// Stored.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Reached a device of the recipient.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Read by the recipient.
    #[sea_orm(string_value = "read")]
    Read,
    /// Soft-deleted by the sender.
    #[sea_orm(string_value = "deleted")]
    Deleted,
}

impl Status {
    /// The stored text, for SQL built by hand (`status <> 'deleted'`).
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Deleted => "deleted",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    #[test]
    fn sql_text_is_the_stored_value() {
        for status in Status::iter() {
            assert_eq!(status.as_sql(), status.to_value());
        }
    }
}
