//! Users and their sign-in identities.
//!
//! Accounts are keyed by (provider, provider user id), not by e-mail: the original keyed by e-mail and
//! let a Google login take over a GitHub account with the same address. User search matches username
//! and name through trigram indexes (pg_trgm), so `ILIKE '%…%'` never scans the table.

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
                CREATE EXTENSION IF NOT EXISTS pg_trgm;

                CREATE TABLE users (
                    id          uuid PRIMARY KEY,
                    username    text NOT NULL,
                    name        text,
                    email       text,
                    avatar      text,
                    last_seen   timestamptz,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    updated_at  timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT users_username_key UNIQUE (username),
                    CONSTRAINT users_username_not_blank CHECK (length(btrim(username)) > 0)
                );
                -- GET /user lists newest first.
                CREATE INDEX users_created_at_idx ON users (created_at DESC, id DESC);
                -- User search: substring and similarity matches on username and name.
                CREATE INDEX users_username_trgm_idx ON users USING gin (username gin_trgm_ops);
                CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops);

                CREATE TABLE identities (
                    id                uuid PRIMARY KEY,
                    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    provider          text NOT NULL,
                    provider_user_id  text NOT NULL,
                    email             text,
                    created_at        timestamptz NOT NULL DEFAULT now(),
                    updated_at        timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT identities_provider_check CHECK (provider IN ('github', 'google')),
                    CONSTRAINT identities_provider_user_key UNIQUE (provider, provider_user_id)
                );
                CREATE INDEX identities_user_id_idx ON identities (user_id);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE identities; DROP TABLE users;")
            .await?;
        Ok(())
    }
}
