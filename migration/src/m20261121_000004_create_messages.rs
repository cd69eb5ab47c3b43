//! Messages.
//!
//! - `(conversation_id, created_at, id)` serves history pages (newest first, `before`/`after` cursors
//!   with `id` as the tie-breaker for equal timestamps) and read marking.
//! - A GIN index over `to_tsvector('english', content)` serves full-text search; queries must use the
//!   same expression to hit it.
//! - Deletes are soft (`status = 'deleted'`): the row stays for the other participant's history
//!   integrity, but lists and search leave it out.

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
                CREATE TABLE messages (
                    id               uuid PRIMARY KEY,
                    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                    sender_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    content          text NOT NULL,
                    status           text NOT NULL DEFAULT 'sent',
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    edited_at        timestamptz,
                    CONSTRAINT messages_status_check
                        CHECK (status IN ('sent', 'delivered', 'read', 'deleted'))
                );
                CREATE INDEX messages_conversation_created_idx
                    ON messages (conversation_id, created_at DESC, id DESC);
                CREATE INDEX messages_content_fts_idx
                    ON messages USING gin (to_tsvector('english', content));
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE messages;")
            .await?;
        Ok(())
    }
}
