//! Blocking (contract §3): while either user blocks the other, sends and conversation creates
//! between them are refused (`403 BLOCKED`), and typing and presence are not shared. History stays
//! readable. Rows of `user_blocks` (migration `create_user_blocks`).

use entity::user;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Statement};
use uuid::Uuid;

use super::DataError;

/// SQL that is true unless `a` blocks `b` or `b` blocks `a` (two columns or parameters of the
/// surrounding query). Sends (the group-commit statement included) and creates put it in their
/// `WHERE`, so a block holds in the same statement that writes.
pub(super) fn not_blocked_sql(a: &str, b: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM user_blocks b \
         WHERE (b.blocker_id = {a} AND b.blocked_id = {b}) \
            OR (b.blocker_id = {b} AND b.blocked_id = {a}))"
    )
}

/// Whether `a` and `b` share presence (contract §5): they have a conversation and neither
/// blocks the other. One pair, one query.
pub async fn shares_presence<C: ConnectionTrait>(
    db: &C,
    a: Uuid,
    b: Uuid,
) -> Result<bool, DataError> {
    let condition = format!(
        "EXISTS (SELECT 1 FROM conversations c
                 WHERE (c.p1_id = $1 AND c.p2_id = $2) OR (c.p1_id = $2 AND c.p2_id = $1))
         AND {}",
        not_blocked_sql("$1::uuid", "$2::uuid")
    );
    pair_condition(db, &condition, a, b).await
}

/// Whether either of `a` and `b` blocks the other.
pub async fn is_blocked_between<C: ConnectionTrait>(
    db: &C,
    a: Uuid,
    b: Uuid,
) -> Result<bool, DataError> {
    let condition = format!("NOT {}", not_blocked_sql("$1::uuid", "$2::uuid"));
    pair_condition(db, &condition, a, b).await
}

/// Evaluates a boolean SQL `condition` over two users (`$1`, `$2`).
async fn pair_condition<C: ConnectionTrait>(
    db: &C,
    condition: &str,
    a: Uuid,
    b: Uuid,
) -> Result<bool, DataError> {
    #[derive(FromQueryResult)]
    struct Answer {
        holds: bool,
    }
    let answer = Answer::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {condition} AS holds"),
        [a.into(), b.into()],
    ))
    .one(db)
    .await?;
    Ok(answer.is_some_and(|a| a.holds))
}

/// The other participant of `conversation` if `user` takes part in it, and whether either of the
/// two blocks the other: one query for a typing event (contract §3, §5). `None` for a missing
/// conversation or one of others.
pub async fn other_participant_and_block<C: ConnectionTrait>(
    db: &C,
    conversation: Uuid,
    user: Uuid,
) -> Result<Option<(Uuid, bool)>, DataError> {
    #[derive(FromQueryResult)]
    struct Row {
        other: Uuid,
        blocked: bool,
    }
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT CASE WHEN c.p1_id = $2 THEN c.p2_id ELSE c.p1_id END AS other, \
                    NOT {} AS blocked \
             FROM conversations c WHERE c.id = $1 AND (c.p1_id = $2 OR c.p2_id = $2)",
            not_blocked_sql("c.p1_id", "c.p2_id")
        ),
        [conversation.into(), user.into()],
    ))
    .one(db)
    .await?;
    Ok(row.map(|r| (r.other, r.blocked)))
}

/// `blocker` blocks `blocked` (again: blocking twice is one block). Errors:
/// [`DataError::SelfBlock`], [`DataError::UserNotFound`].
pub async fn block_user<C: ConnectionTrait>(
    db: &C,
    blocker: Uuid,
    blocked: Uuid,
) -> Result<(), DataError> {
    if blocker == blocked {
        return Err(DataError::SelfBlock);
    }
    // The insert takes its row from `users`, so an unknown user inserts nothing.
    let found = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"WITH target AS (SELECT id FROM users WHERE id = $2),
                    inserted AS (
                        INSERT INTO user_blocks (blocker_id, blocked_id, created_at)
                        SELECT $1, id, $3 FROM target
                        ON CONFLICT DO NOTHING
                    )
               SELECT 1 FROM target"#,
            [blocker.into(), blocked.into(), super::now().into()],
        ))
        .await?;
    found.map(|_| ()).ok_or(DataError::UserNotFound)
}

/// `blocker` stops blocking `blocked` (nothing to do when they did not). Errors:
/// [`DataError::UserNotFound`].
pub async fn unblock_user<C: ConnectionTrait>(
    db: &C,
    blocker: Uuid,
    blocked: Uuid,
) -> Result<(), DataError> {
    let found = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"WITH target AS (SELECT id FROM users WHERE id = $2),
                    deleted AS (
                        DELETE FROM user_blocks
                        WHERE blocker_id = $1 AND blocked_id IN (SELECT id FROM target)
                    )
               SELECT 1 FROM target"#,
            [blocker.into(), blocked.into()],
        ))
        .await?;
    found.map(|_| ()).ok_or(DataError::UserNotFound)
}

/// The users `blocker` blocks, most recently blocked first.
pub async fn list_blocked<C: ConnectionTrait>(
    db: &C,
    blocker: Uuid,
) -> Result<Vec<user::Model>, DataError> {
    Ok(user::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"SELECT u.* FROM user_blocks b JOIN users u ON u.id = b.blocked_id
               WHERE b.blocker_id = $1
               ORDER BY b.created_at DESC, u.id"#,
            [blocker.into()],
        ))
        .all(db)
        .await?)
}
