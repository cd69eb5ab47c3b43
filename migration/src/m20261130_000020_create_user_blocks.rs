//! Blocking (contract §3): a row means `blocker_id` blocks `blocked_id`.
//!
//! While either user blocks the other, sends and conversation creates between them are refused
//! and typing and presence are not shared. Every check asks "does a row exist for this pair in
//! either direction", so the primary key serves one direction and `user_blocks_blocked_idx` the
//! other (and the "who blocks me" side of presence). Rows go with either user.

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
                CREATE TABLE user_blocks (
                    blocker_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    blocked_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (blocker_id, blocked_id),
                    CONSTRAINT user_blocks_not_self CHECK (blocker_id <> blocked_id)
                );
                CREATE INDEX user_blocks_blocked_idx ON user_blocks (blocked_id, blocker_id);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE user_blocks;")
            .await?;
        Ok(())
    }
}
