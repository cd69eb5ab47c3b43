//! Server-side sessions, so logout and revocation work (the original's JWTs could not be revoked).
//!
//! A JWT carries the session id (`sid`); a session is valid while it is neither revoked nor expired.
//! Instances poll for recent revocations through `sessions_revoked_at_idx` to keep their caches fresh.

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
                CREATE TABLE sessions (
                    id          uuid PRIMARY KEY,
                    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    expires_at  timestamptz NOT NULL,
                    revoked_at  timestamptz
                );
                CREATE INDEX sessions_user_id_idx ON sessions (user_id);
                CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE sessions;")
            .await?;
        Ok(())
    }
}
