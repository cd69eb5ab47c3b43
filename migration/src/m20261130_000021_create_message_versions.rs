//! Edit history (contract §3, `GET /messages/:id/history`): each edit stores the content it
//! replaces, in the same transaction as the edit.
//!
//! A version's `created_at` is when that content was first shown: the send time for the original,
//! the previous edit's `edited_at` after that. The current content stays in `messages`, so a
//! history is this table's rows for the message, oldest first, then the message itself; the
//! primary key `(message_id, created_at)` serves exactly that read. Rows go with their message.

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
                CREATE TABLE message_versions (
                    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                    created_at  timestamptz NOT NULL,
                    content     text NOT NULL,
                    PRIMARY KEY (message_id, created_at)
                );
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE message_versions;")
            .await?;
        Ok(())
    }
}
