//! Rows of `sessions`.

use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

/// The session, if it exists. Sessions of deleted users are gone with them (`ON DELETE CASCADE`).
pub async fn find_live_session<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id).one(db).await
}

/// The session, locked until the end of the transaction (`FOR UPDATE`), so concurrent refreshes
/// of one session, on any instance, rotate it one at a time.
pub async fn find_session_for_update<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

/// The session that replaced `id`, if a refresh rotated `id` less than `grace` ago (by the
/// database's clock, so every instance agrees).
pub async fn find_recent_successor<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    grace: std::time::Duration,
) -> Result<Option<Uuid>, DbErr> {
    let rotated = session::Entity::find_by_id(id)
        .filter(session::Column::ReplacedBy.is_not_null())
        .filter(Expr::cust_with_values(
            "revoked_at > now() - make_interval(secs => $1)",
            [grace.as_secs_f64()],
        ))
        .one(db)
        .await?;
    Ok(rotated.and_then(|s| s.replaced_by))
}

/// Creates a session for `user_id` ending at `expires_at`.
pub async fn create_session<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<session::Model, DbErr> {
    let now = Utc::now();
    session::Entity::insert(session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        replaced_by: Set(None),
    })
    .exec_with_returning(db)
    .await
}

/// Marks a session revoked (a no-op when it already is).
pub async fn revoke_session<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::current_timestamp())
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a session rotated into `successor`: revoked now, with its successor recorded.
pub async fn rotate_session<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    successor: Uuid,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::current_timestamp())
        .col_expr(session::Column::ReplacedBy, Expr::value(successor))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes session `id` if it belongs to `user_id` (logout with a token we signed but that may
/// have expired).
pub async fn revoke_user_session<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    user_id: Uuid,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::current_timestamp())
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
