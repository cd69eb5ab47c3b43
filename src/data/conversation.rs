//! Rows of `conversations`, and the membership rule every conversation and message operation
//! goes through.

use entity::conversation;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::{DataError, Page};

/// Whether `user` takes part in `conversation`.
pub fn is_participant(conversation: &conversation::Model, user: Uuid) -> bool {
    conversation.p1_id == user || conversation.p2_id == user
}

/// The other participant.
pub fn other_participant(conversation: &conversation::Model, user: Uuid) -> Uuid {
    if conversation.p1_id == user {
        conversation.p2_id
    } else {
        conversation.p1_id
    }
}

/// The conversation, if it exists (no membership check).
pub async fn find_conversation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<conversation::Model>, DataError> {
    Ok(conversation::Entity::find_by_id(id).one(db).await?)
}

/// The conversation, if `caller` is one of its participants.
pub async fn get_conversation_for<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<conversation::Model, DataError> {
    let conversation = find_conversation(db, id)
        .await?
        .ok_or(DataError::ConversationNotFound)?;
    if !is_participant(&conversation, caller) {
        return Err(DataError::NotParticipant);
    }
    Ok(conversation)
}

/// Everyone who shares a conversation with `user` (who hears about their presence).
pub async fn list_peer_ids<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<Vec<Uuid>, DataError> {
    #[derive(sea_orm::FromQueryResult)]
    struct Peer {
        peer: Uuid,
    }
    let peers = Peer::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT p2_id AS peer FROM conversations WHERE p1_id = $1
           UNION SELECT p1_id FROM conversations WHERE p2_id = $1"#,
        [user.into()],
    ))
    .all(db)
    .await?;
    Ok(peers.into_iter().map(|p| p.peer).collect())
}

/// The caller's conversations, most recently active first.
pub async fn list_conversations<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    page: Page,
) -> Result<Vec<conversation::Model>, DataError> {
    Ok(conversation::Entity::find()
        .filter(
            Condition::any()
                .add(conversation::Column::P1Id.eq(caller))
                .add(conversation::Column::P2Id.eq(caller)),
        )
        .order_by_desc(conversation::Column::UpdatedAt)
        .order_by_desc(conversation::Column::Id)
        .offset(page.offset())
        .limit(page.limit)
        .all(db)
        .await?)
}

/// Opens a conversation between `caller` and `other`. The unique index on the unordered pair
/// decides races: of concurrent creates exactly one inserts, the rest get
/// [`DataError::ConversationExists`] with the winner's id.
pub async fn create_conversation<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    other: Uuid,
) -> Result<conversation::Model, DataError> {
    if caller == other {
        return Err(DataError::SelfConversation);
    }
    if super::user::find_user(db, other).await?.is_none() {
        return Err(DataError::UserNotFound);
    }
    let now = super::now();
    let inserted = conversation::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"INSERT INTO conversations (id, p1_id, p2_id, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $4)
               ON CONFLICT ((least(p1_id, p2_id)), (greatest(p1_id, p2_id))) DO NOTHING
               RETURNING *"#,
            [
                Uuid::now_v7().into(),
                caller.into(),
                other.into(),
                now.into(),
            ],
        ))
        .one(db)
        .await;
    match inserted {
        Ok(Some(conversation)) => Ok(conversation),
        Ok(None) => {
            let existing = conversation::Entity::find()
                .from_raw_sql(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    r#"SELECT * FROM conversations
                       WHERE least(p1_id, p2_id) = least($1::uuid, $2::uuid)
                         AND greatest(p1_id, p2_id) = greatest($1::uuid, $2::uuid)"#,
                    [caller.into(), other.into()],
                ))
                .one(db)
                .await?
                .ok_or(DataError::Db(sea_orm::DbErr::RecordNotFound(
                    "conversation vanished after a conflict".into(),
                )))?;
            Err(DataError::ConversationExists(existing.id))
        }
        // The other user was deleted between the check and the insert.
        Err(e) if is_foreign_key_violation(&e) => Err(DataError::UserNotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a conversation (and its messages) for both participants; returns it.
pub async fn delete_conversation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<conversation::Model, DataError> {
    let conversation = get_conversation_for(db, id, caller).await?;
    conversation::Entity::delete_by_id(id).exec(db).await?;
    Ok(conversation)
}

fn is_foreign_key_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}
