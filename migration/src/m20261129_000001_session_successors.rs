//! Records which session replaced a rotated one (issue 11, item 5).
//!
//! Two tabs refreshing at once present the same session; the later refresh used to find it revoked
//! and logged the user out. A refresh that finds its session rotated by a refresh less than 30 s
//! before (`revoked_at`, set by the rotation) now answers with that rotation's successor, which is
//! read from `replaced_by`. Kept in PostgreSQL so the answer is the same on every instance. A
//! logout leaves `replaced_by` empty: a logged-out session has no successor to hand out.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE sessions \
                 ADD COLUMN replaced_by uuid REFERENCES sessions (id) ON DELETE SET NULL;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE sessions DROP COLUMN replaced_by;")
            .await?;
        Ok(())
    }
}
