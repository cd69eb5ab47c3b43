//! Tells every instance at once when a session stops being valid (issue 17): a trigger on
//! `sessions` sends `pg_notify('confab_session_changes', …)` when a session is revoked (logout,
//! `Sessions::revoke`), rotated by a refresh (with its successor and the successor's expiry, so
//! sockets are moved rather than dropped) or deleted (with its user, or by hand).
//!
//! A trigger rather than a `NOTIFY` beside each write: every path that ends a session is covered,
//! including ones written later, cascades from `users` and SQL typed by an operator. `pg_notify` is
//! transactional, so the notice goes out on commit and never for a rolled-back change. Instances
//! `LISTEN` on the channel (`data::session_change`); a notice nobody listens to costs nothing.
//! Payloads: `revoked <id>`, `deleted <id>`, `rotated <old> <new> <new's expires_at, ms since the
//! epoch>`.

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
CREATE FUNCTION notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    successor_expires_at timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('confab_session_changes', 'deleted ' || OLD.id);
    ELSIF NEW.replaced_by IS NOT NULL THEN
        SELECT expires_at INTO successor_expires_at FROM sessions WHERE id = NEW.replaced_by;
        PERFORM pg_notify('confab_session_changes',
            'rotated ' || NEW.id || ' ' || NEW.replaced_by || ' ' ||
            COALESCE((extract(epoch FROM successor_expires_at) * 1000)::bigint, 0));
    ELSE
        PERFORM pg_notify('confab_session_changes', 'revoked ' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_notify_revoked
    AFTER UPDATE OF revoked_at ON sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_session_change();
-- A session revoked already has no sockets left to end.
CREATE TRIGGER sessions_notify_deleted
    AFTER DELETE ON sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL)
    EXECUTE FUNCTION notify_session_change();
"#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TRIGGER sessions_notify_deleted ON sessions;
                 DROP TRIGGER sessions_notify_revoked ON sessions;
                 DROP FUNCTION notify_session_change();",
            )
            .await?;
        Ok(())
    }
}
