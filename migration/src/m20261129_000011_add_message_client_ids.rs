//! Idempotent sends (contract §6.2): a message keeps the `clientMessageId` it was sent with, unique
//! per sender for as long as the message exists, so a retry from any instance, after any restart,
//! finds the stored message instead of storing a second one.
//!
//! - The uniqueness is a partial unique index (messages without a key are not indexed), which the
//!   group-commit statement relies on with `ON CONFLICT … DO NOTHING` when two instances race.
//! - `sent_content_md5` is the digest of the content as first sent: a retry is recognised as the
//!   same send even after the message was edited, and a reuse of the key with other content is a
//!   conflict. Only keyed messages store it.
//! - Both columns are nullable without a default: adding them rewrites nothing.

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
                ALTER TABLE messages
                    ADD COLUMN client_message_id text,
                    ADD COLUMN sent_content_md5 text;
                CREATE UNIQUE INDEX messages_sender_client_message_id_key
                    ON messages (sender_id, client_message_id)
                    WHERE client_message_id IS NOT NULL;
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP INDEX messages_sender_client_message_id_key;
                 ALTER TABLE messages DROP COLUMN client_message_id, DROP COLUMN sent_content_md5;",
            )
            .await?;
        Ok(())
    }
}
