//! Status changes written in place (issue 17: delivery receipts cost more than the sends).
//!
//! Every `sent` → `delivered` change rewrote the whole message: PostgreSQL updates a row in place
//! (a HOT update: no new index entries) only when no indexed column changes value and the page
//! has room. `status` was in the predicate of `messages_unread_idx`, and pages were filled
//! completely, so each receipt added entries to every index of the table, the full-text index
//! included (all of the message's words again). Measured on 200 receipts: 12–14 ms before,
//! 3.1–3.6 ms after this migration.
//!
//! - The unread index now covers a stored generated column, `unread` (`sent` or `delivered`).
//!   Delivery leaves its value unchanged, so delivery is a HOT update; reading and deleting still
//!   move the message out of the index, as they must.
//! - Message pages keep 15 % free (`fillfactor`), room for the new versions of recent messages;
//!   the row counter of each user's event stream, updated on every event, keeps half its page free.
//!
//! Adding the stored column rewrites `messages` under an exclusive lock (about a minute per 10 M
//! messages on this machine class), like the search migration before it.

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
                ALTER TABLE messages SET (fillfactor = 85);
                ALTER TABLE messages ADD COLUMN unread boolean
                    GENERATED ALWAYS AS (status IN ('sent', 'delivered')) STORED;
                DROP INDEX messages_unread_idx;
                CREATE INDEX messages_unread_idx ON messages (conversation_id, sender_id)
                    WHERE unread;
                ALTER TABLE user_event_seqs SET (fillfactor = 50);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE user_event_seqs RESET (fillfactor);
                DROP INDEX messages_unread_idx;
                ALTER TABLE messages DROP COLUMN unread;
                ALTER TABLE messages RESET (fillfactor);
                CREATE INDEX messages_unread_idx ON messages (conversation_id, sender_id)
                    WHERE status IN ('sent', 'delivered');
                "#,
            )
            .await?;
        Ok(())
    }
}
