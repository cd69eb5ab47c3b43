//! Writes that cause durable events (contract §6.1): each runs its change and stores the events
//! for every recipient in one transaction, and returns them numbered, for the caller to deliver
//! after the commit. (Sends do the same inside the group-commit statement, `message_writer`.)
//!
//! Recipients are both participants: the acting user's other devices hear about their own
//! changes too (contract §5).

use entity::conversation;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use super::{
    DataError,
    edit::EditOutcome,
    event::{self, StoredEvent},
    message::{DeleteOutcome, MessageInConversation, ReadOutcome},
};
use crate::wire::{
    Conversation, ServerEvent,
    event::{ConversationDeleted, MessageDeleted, MessageEdited, MessageRead},
};

/// `event` for both participants of `p`.
fn for_both(participants: [Uuid; 2], event: ServerEvent) -> Vec<(Uuid, ServerEvent)> {
    participants
        .into_iter()
        .map(|user| (user, event.clone()))
        .collect()
}

fn edited(m: &MessageInConversation) -> Option<ServerEvent> {
    Some(ServerEvent::MessageEdited(MessageEdited {
        message_id: m.id,
        content: m.content.clone(),
        edited_at: m.edited_at?.into(),
        conversation_id: m.conversation_id,
    }))
}

/// Edits a message (see `edit::update_message_content`, which also keeps the previous version)
/// and stores `message_edited`.
pub async fn update_message_content(
    db: &DatabaseConnection,
    id: Uuid,
    caller: Uuid,
    content: &str,
) -> Result<(EditOutcome, Vec<StoredEvent>), DataError> {
    let txn = db.begin().await?;
    let outcome = super::edit::update_message_content(&txn, id, caller, content).await?;
    let events = match &outcome {
        EditOutcome::Edited(m) => match edited(m) {
            Some(e) => event::append(&txn, &for_both(m.participants(), e)).await?,
            None => vec![],
        },
        EditOutcome::Unchanged(_) => vec![],
    };
    txn.commit().await?;
    Ok((outcome, events))
}

/// Soft-deletes a message (see `message::delete_message`) and stores `message_deleted`.
pub async fn delete_message(
    db: &DatabaseConnection,
    id: Uuid,
    caller: Uuid,
) -> Result<(DeleteOutcome, Vec<StoredEvent>), DataError> {
    let txn = db.begin().await?;
    let outcome = super::message::delete_message(&txn, id, caller).await?;
    let events = match &outcome {
        DeleteOutcome::Deleted(m) => {
            let e = ServerEvent::MessageDeleted(MessageDeleted {
                message_id: m.id,
                conversation_id: m.conversation_id,
            });
            event::append(&txn, &for_both(m.participants(), e)).await?
        }
        DeleteOutcome::AlreadyDeleted => vec![],
    };
    txn.commit().await?;
    Ok((outcome, events))
}

/// Marks messages read (see `message::mark_message_read`) and stores `message_read`.
pub async fn mark_message_read(
    db: &DatabaseConnection,
    id: Uuid,
    caller: Uuid,
) -> Result<(ReadOutcome, Vec<StoredEvent>), DataError> {
    let txn = db.begin().await?;
    let outcome = super::message::mark_message_read(&txn, id, caller).await?;
    let events = match &outcome {
        ReadOutcome::Marked {
            message,
            message_ids,
            read_at,
        } => {
            let e = ServerEvent::MessageRead(MessageRead {
                conversation_id: message.conversation_id,
                reader_id: caller,
                message_ids: message_ids.clone(),
                read_at: (*read_at).into(),
            });
            event::append(&txn, &for_both(message.participants(), e)).await?
        }
        ReadOutcome::AlreadyRead => vec![],
    };
    txn.commit().await?;
    Ok((outcome, events))
}

/// Opens a conversation (see `conversation::create_conversation`) and stores
/// `conversation_created`.
pub async fn create_conversation(
    db: &DatabaseConnection,
    caller: Uuid,
    other: Uuid,
) -> Result<(conversation::Model, Vec<StoredEvent>), DataError> {
    let txn = db.begin().await?;
    let created = super::conversation::create_conversation(&txn, caller, other).await?;
    let e = ServerEvent::ConversationCreated(Conversation::from(
        super::conversation::ConversationSummary::new_conversation(created.clone()),
    ));
    let events = event::append(&txn, &for_both([created.p1_id, created.p2_id], e)).await?;
    txn.commit().await?;
    Ok((created, events))
}

/// Deletes a conversation (see `conversation::delete_conversation`) and stores
/// `conversation_deleted`.
pub async fn delete_conversation(
    db: &DatabaseConnection,
    id: Uuid,
    caller: Uuid,
) -> Result<(conversation::Model, Vec<StoredEvent>), DataError> {
    let txn = db.begin().await?;
    let deleted = super::conversation::delete_conversation(&txn, id, caller).await?;
    let e = ServerEvent::ConversationDeleted(ConversationDeleted {
        conversation_id: deleted.id,
    });
    let events = event::append(&txn, &for_both([deleted.p1_id, deleted.p2_id], e)).await?;
    txn.commit().await?;
    Ok((deleted, events))
}
