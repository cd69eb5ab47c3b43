//! 1:1 conversations.
//!
//! One conversation per unordered pair of users, enforced by a unique index on
//! `(least(p1_id, p2_id), greatest(p1_id, p2_id))`: the original checked in application code and 20
//! concurrent creates made 16 duplicates. Listing by last activity is served per participant column.

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
                CREATE TABLE conversations (
                    id          uuid PRIMARY KEY,
                    p1_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    p2_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    updated_at  timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT conversations_distinct_participants CHECK (p1_id <> p2_id)
                );
                CREATE UNIQUE INDEX conversations_pair_key
                    ON conversations (least(p1_id, p2_id), greatest(p1_id, p2_id));
                CREATE INDEX conversations_p1_updated_idx ON conversations (p1_id, updated_at DESC, id DESC);
                CREATE INDEX conversations_p2_updated_idx ON conversations (p2_id, updated_at DESC, id DESC);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE conversations;")
            .await?;
        Ok(())
    }
}
