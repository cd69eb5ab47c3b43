//! When each periodic job (event pruning, used OAuth state pruning) last ran, so that several
//! instances run it once per period between them instead of once each (issue 14): an instance
//! claims a run with one conditional upsert, and only the instance whose upsert lands runs it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE job_runs (
                    name        text PRIMARY KEY,
                    last_run_at timestamptz NOT NULL
                );",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE job_runs;")
            .await?;
        Ok(())
    }
}
