//! Conversation summaries (contract §1.2: `lastMessage`, `unreadCount` on every Conversation).
//!
//! The unread count of a conversation is the number of the other participant's messages that are
//! `sent` or `delivered`. A partial index over exactly those rows keeps the count a short
//! index-only scan however long the history is (messages leave the index when read or deleted).
//! The last message comes from `messages_conversation_created_idx`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE INDEX messages_unread_idx ON messages (conversation_id, sender_id)
                    WHERE status IN ('sent', 'delivered');
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX messages_unread_idx;")
            .await?;
        Ok(())
    }
}
