//! The durable event stream (contract §6.1): every durable realtime event, stored per recipient user
//! in the transaction that causes it, numbered by that user's own sequence.
//!
//! - `user_event_seqs` holds each user's last sequence number. A writer bumps it with
//!   `INSERT … ON CONFLICT DO UPDATE`, which locks the user's row until commit: two transactions
//!   writing events for the same user get consecutive numbers *in commit order*, and a rolled-back
//!   transaction rolls its numbers back too, so a user's sequence has no gaps. A reader that sees
//!   number n committed knows every number below n is committed as well.
//! - `events` is keyed by `(user_id, seq)`: replay and `/sync` read one user's events in order
//!   straight off the primary key. `message_id` lets a replay blank a message deleted since.
//! - `args` is the arguments' JSON as text: the server wrote it and is the only reader, so
//!   PostgreSQL never needs to parse it (as `jsonb` it cost a parse per event row on the send path).
//! - No foreign keys: an event row costs one index entry, not a lookup per referenced table on the
//!   hot send path; events are pruned by age (`SYNC_RETENTION`), served by a BRIN index on
//!   `created_at` (rows arrive in time order, so BRIN stays a few pages and costs almost nothing to
//!   maintain).

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
                CREATE TABLE user_event_seqs (
                    user_id   uuid PRIMARY KEY,
                    last_seq  bigint NOT NULL
                );
                CREATE TABLE events (
                    user_id          uuid NOT NULL,
                    seq              bigint NOT NULL,
                    name             text NOT NULL,
                    args             text NOT NULL,
                    message_id       uuid,
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (user_id, seq)
                );
                CREATE INDEX events_created_brin ON events USING brin (created_at);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE events; DROP TABLE user_event_seqs;")
            .await?;
        Ok(())
    }
}
