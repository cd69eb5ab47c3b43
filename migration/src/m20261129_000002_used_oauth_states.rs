//! OAuth `state` values already used for a sign-in (issue 11, item 6).
//!
//! The signed state cookie alone let a used state and cookie sign in again, even after the
//! cookie's 10 minutes: its `Max-Age` binds only an honest browser. The callback now records each
//! state here before using it (`INSERT … ON CONFLICT DO NOTHING`: the one insert that lands wins,
//! on any instance) and refuses one that is already present. A row is needed only while its state
//! could still be accepted, so it carries that state's expiry and is pruned after it.

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
                CREATE TABLE used_oauth_states (
                    state       text PRIMARY KEY,
                    expires_at  timestamptz NOT NULL
                );
                CREATE INDEX used_oauth_states_expires_at_idx ON used_oauth_states (expires_at);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE used_oauth_states;")
            .await?;
        Ok(())
    }
}
