//! Confab's schema migrations, applied in order at server start-up and by `confab migrate`.
//!
//! One file per migration, named `mYYYYMMDD_NNNNNN_what.rs` (sea-orm takes the migration name from the
//! file name). PostgreSQL-specific parts (extensions, expression and GIN indexes) are plain SQL: they
//! read better that way than through a builder. This crate never imports `entity`: a migration must
//! keep describing the schema of its day.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_users;
mod m20261121_000002_create_sessions;
mod m20261121_000003_create_conversations;
mod m20261121_000004_create_messages;
mod m20261129_000001_session_successors;
mod m20261129_000002_used_oauth_states;
mod m20261129_000010_create_events;
mod m20261129_000011_add_message_client_ids;
mod m20261129_000030_create_job_runs;
mod m20261130_000020_create_user_blocks;
mod m20261130_000021_create_message_versions;
mod m20261130_000022_index_unread_messages;
mod m20261130_000023_search_every_script;
mod m20261130_000024_status_updates_in_place;
mod m20261201_000001_notify_session_changes;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_users::Migration),
            Box::new(m20261121_000002_create_sessions::Migration),
            Box::new(m20261121_000003_create_conversations::Migration),
            Box::new(m20261121_000004_create_messages::Migration),
            Box::new(m20261129_000001_session_successors::Migration),
            Box::new(m20261129_000002_used_oauth_states::Migration),
            Box::new(m20261129_000010_create_events::Migration),
            Box::new(m20261129_000011_add_message_client_ids::Migration),
            Box::new(m20261129_000030_create_job_runs::Migration),
            Box::new(m20261130_000020_create_user_blocks::Migration),
            Box::new(m20261130_000021_create_message_versions::Migration),
            Box::new(m20261130_000022_index_unread_messages::Migration),
            Box::new(m20261130_000023_search_every_script::Migration),
            Box::new(m20261130_000024_status_updates_in_place::Migration),
            Box::new(m20261201_000001_notify_session_changes::Migration),
        ]
    }
}
