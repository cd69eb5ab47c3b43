//! The durable event stream (contract §6.1): storing events per recipient inside the transaction
//! that causes them, and reading one user's events in order for replay and `/sync`.
//!
//! Design:
//! - **Cursors** come from a per-user sequence (`user_event_seqs.last_seq`), not a global one. The
//!   writer bumps the user's row with `INSERT … ON CONFLICT DO UPDATE`, which holds that row's lock
//!   until commit: two transactions writing events for the same user get consecutive numbers in
//!   commit order, and a rollback returns its numbers. So a user's sequence has no gaps, and once
//!   number n is visible, every smaller number is too. (A global sequence would hand out numbers at
//!   insert time, out of commit order, and a reader could skip an event that commits late.)
//! - **Stitching replay and live events**: each socket keeps the next sequence number it expects
//!   (`socket::stream`). A live event below it is a duplicate and is dropped; one above it means the
//!   events in between committed but were not seen here yet (another request's emit is late, or
//!   another instance emitted them), and they are read from this table first. Replay on connect
//!   is the same gap filled from `since`. None missing, none twice, in order.
//! - **Cost on the write path**: per event one `events` row (primary key entry plus its JSON) and,
//!   per recipient and transaction, one update of that user's sequence row; sends carry both in the
//!   group-commit statement (`message_writer`), so no extra round trip. Other writes append with
//!   one statement in their transaction ([`append`]).
//! - **Retention**: [`prune`] deletes events older than `SYNC_RETENTION` in small batches with a
//!   pause after each (nine times the batch's own time), so it never holds locks or fills the WAL
//!   ahead of the send path's commits; a cursor whose next event was pruned is expired.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use serde_json::Value;
use uuid::Uuid;

use super::DataError;
use crate::wire::{Cursor, ServerEvent, StoredArgs, dto::SyncEvent};

/// A durable event as stored for one recipient (serialized as is between instances).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredEvent {
    /// The recipient.
    pub user_id: Uuid,
    /// Its number in the recipient's stream.
    pub seq: u64,
    /// The event name.
    pub name: String,
    /// The arguments as sent over Socket.IO (without the trailing cursor), as stored.
    pub args: StoredArgs,
}

impl StoredEvent {
    /// The recipient's cursor at this event.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.user_id, self.seq)
    }

    /// The message id of a `new_message` event stored for its recipient (not for the sender's
    /// own devices): receiving it marks the message delivered (contract §6.3).
    pub fn acknowledgeable_message(&self) -> Option<Uuid> {
        if self.name != ServerEvent::NEW_MESSAGE {
            return None;
        }
        let message = self.args.first_message_ids()?;
        (message.sender != self.user_id).then_some(message.id)
    }

    /// The sender and conversation of a `new_message` event stored for its sender (one of the
    /// two copies of each message, so a send is seen once).
    pub fn sent_message(&self) -> Option<(Uuid, Uuid)> {
        if self.name != ServerEvent::NEW_MESSAGE {
            return None;
        }
        let message = self.args.first_message_ids()?;
        (message.sender == self.user_id).then_some((message.sender, message.conversation))
    }

    /// The `/sync` shape.
    pub fn into_sync(self) -> SyncEvent {
        SyncEvent {
            cursor: self.cursor().to_wire(),
            event: self.name,
            args: self.args,
        }
    }
}

/// An event's stored columns: name, arguments as JSON text, and the message it is about.
pub fn columns(event: &ServerEvent) -> Result<(&'static str, String, Option<Uuid>), DbErr> {
    let args = serde_json::to_string(&event.args()).map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok((event.name(), args, event.message_id()))
}

/// Numbers `input` (rows of `user_id, name, args, message_id, ord`) per user and inserts them; the
/// statement returns `user_id, seq, ord`. Shared by [`append`] and the group-commit statement.
pub const NUMBER_AND_INSERT_SQL: &str = r#"
counts AS (
    SELECT user_id, count(*) AS n FROM event_input GROUP BY user_id ORDER BY user_id
), seqs AS (
    INSERT INTO user_event_seqs AS s (user_id, last_seq)
    SELECT user_id, n FROM counts
    ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + EXCLUDED.last_seq
    RETURNING user_id, last_seq
), numbered AS (
    SELECT i.*, s.last_seq - c.n + row_number() OVER (PARTITION BY i.user_id ORDER BY i.ord) AS seq
    FROM event_input i JOIN counts c USING (user_id) JOIN seqs s USING (user_id)
), stored AS (
    INSERT INTO events (user_id, seq, name, args, message_id)
    SELECT user_id, seq, name, args, message_id FROM numbered
    RETURNING user_id, seq, message_id
)"#;

/// Stores `events` (recipient, event) in the caller's transaction; returns them numbered, in the
/// order given.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    events: &[(Uuid, ServerEvent)],
) -> Result<Vec<StoredEvent>, DataError> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    let mut users = Vec::with_capacity(events.len());
    let mut names = Vec::with_capacity(events.len());
    let mut args = Vec::with_capacity(events.len());
    // Text, '' for none: sea-orm binds no arrays of optional uuids.
    let mut message_ids: Vec<String> = Vec::with_capacity(events.len());
    for (user, event) in events {
        let (name, json, message_id) = columns(event)?;
        users.push(*user);
        names.push(name.to_owned());
        args.push(json);
        message_ids.push(message_id.map(|id| id.to_string()).unwrap_or_default());
    }
    let sql = format!(
        "WITH event_input AS (
             SELECT user_id, name, args, NULLIF(message_id, '')::uuid AS message_id, ord
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
                 WITH ORDINALITY AS t(user_id, name, args, message_id, ord)
         ), {NUMBER_AND_INSERT_SQL}
         SELECT n.user_id, n.seq, n.ord FROM numbered n ORDER BY n.ord"
    );
    #[derive(FromQueryResult)]
    struct Numbered {
        seq: i64,
        ord: i64,
    }
    let stored_args = args.clone();
    let numbered = Numbered::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [users.into(), names.into(), args.into(), message_ids.into()],
    ))
    .all(db)
    .await?;
    let mut stored = Vec::with_capacity(events.len());
    for row in numbered {
        let index = usize::try_from(row.ord - 1).unwrap_or(usize::MAX);
        let (Some((user, event)), Some(json)) = (events.get(index), stored_args.get(index)) else {
            continue;
        };
        stored.push(StoredEvent {
            user_id: *user,
            seq: u64::try_from(row.seq).unwrap_or_default(),
            name: event.name().to_owned(),
            args: StoredArgs::from_stored(json.clone()),
        });
    }
    Ok(stored)
}

/// `user`'s newest sequence number (0 before their first event).
pub async fn latest_seq<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<u64, DataError> {
    #[derive(FromQueryResult)]
    struct Latest {
        last_seq: i64,
    }
    let latest = Latest::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT last_seq FROM user_event_seqs WHERE user_id = $1",
        [user.into()],
    ))
    .one(db)
    .await?;
    Ok(latest.map_or(0, |l| u64::try_from(l.last_seq).unwrap_or_default()))
}

/// Checks that `since` can be continued from (its next event is `first`, the first event read
/// after it): not past `user`'s newest event (`InvalidCursor`), and its next event not pruned
/// (`CursorExpired`). Only an empty read needs the newest number, to tell "caught up" from a
/// cursor past the end.
async fn check_continues<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    since: Cursor,
    first: Option<&StoredEvent>,
) -> Result<(), DataError> {
    match first {
        Some(first) if first.seq == since.seq + 1 => Ok(()),
        Some(_) => Err(DataError::CursorExpired),
        None => {
            let latest = latest_seq(db, user).await?;
            if since.seq > latest {
                Err(DataError::InvalidCursor)
            } else if since.seq == latest {
                Ok(())
            } else {
                // Either the next event was pruned, or it committed after the empty read: read
                // it again (numbers are gapless and visible in order, so it is there now).
                match list_after(db, user, since.seq, 1).await?.first() {
                    Some(next) if next.seq == since.seq + 1 => Ok(()),
                    _ => Err(DataError::CursorExpired),
                }
            }
        }
    }
}

/// Up to `limit` of `user`'s events after `since`, once `since` is checked to be continued from
/// (see [`check_continues`]): the first page of a replay, read once.
pub async fn first_page_after<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    since: Cursor,
    limit: u64,
) -> Result<Vec<StoredEvent>, DataError> {
    let page = list_after(db, user, since.seq, limit).await?;
    check_continues(db, user, since, page.first()).await?;
    Ok(page)
}

/// Up to `limit` of `user`'s events after sequence number `after`, oldest first. Messages deleted
/// since (or gone with their conversation) have their content blanked (contract §6.1).
pub async fn list_after<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    after: u64,
    limit: u64,
) -> Result<Vec<StoredEvent>, DataError> {
    let read = read_after(db, user, after, limit).await?;
    Ok(read.into_iter().map(|(event, _)| event).collect())
}

/// [`list_after`], each event with the id of its message if that message was still `sent`.
async fn read_after<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    after: u64,
    limit: u64,
) -> Result<Vec<(StoredEvent, Option<Uuid>)>, DataError> {
    use entity::message::Status;
    #[derive(FromQueryResult)]
    struct Row {
        seq: i64,
        name: String,
        args: String,
        message_gone: bool,
        still_sent: Option<Uuid>,
    }
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT e.seq, e.name, e.args,
                  (e.message_id IS NOT NULL AND (m.id IS NULL OR m.status = $4)) AS message_gone,
                  CASE WHEN m.status = $5 THEN m.id END AS still_sent
           FROM events e LEFT JOIN messages m ON m.id = e.message_id
           WHERE e.user_id = $1 AND e.seq > $2
           ORDER BY e.seq
           LIMIT $3"#,
        [
            user.into(),
            i64::try_from(after).unwrap_or(i64::MAX).into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
            Status::Deleted.into(),
            Status::Sent.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let args = StoredArgs::from_stored(row.args);
            let args = if row.message_gone {
                blank_content(args)
            } else {
                args
            };
            let event = StoredEvent {
                user_id: user,
                seq: u64::try_from(row.seq).unwrap_or_default(),
                name: row.name,
                args,
            };
            (event, row.still_sent)
        })
        .collect())
}

/// The arguments with the content of the message payload in the first one blanked: a message
/// deleted since the event was stored is never shown again (contract §6.1).
fn blank_content(args: StoredArgs) -> StoredArgs {
    let mut values = args.to_values();
    match values.first_mut() {
        Some(Value::Object(payload)) if payload.contains_key("content") => {
            payload.insert("content".into(), Value::String(String::new()));
            StoredArgs::of(&values)
        }
        _ => args,
    }
}

/// Rows deleted per statement while pruning. Each batch's WAL (full-page images of every page it
/// first touches after a checkpoint) goes out ahead of the send path's next commit, so batches are
/// kept small.
const PRUNE_BATCH: i64 = 500;

/// After each batch, pruning pauses this many times as long as the batch took: it takes at most a
/// tenth of the database's time whatever the machine. Measured at 2,000 msg/s with 5 M expired
/// events (BENCHMARKS.md): unpaced batches of 5,000 pruned them in 18–23 s and raised send p99 from
/// 24 to 55–59 ms; paced batches of 500 prune about 11,500 a second (41 M an hour, where a day at
/// that rate stores about 350 M, so about 15 M an hour expire) with p99 within the runs' spread.
const PRUNE_PAUSE_FACTOR: u32 = 9;

/// The longest pause: a batch slowed by a lock or a busy pool must not stall pruning for long.
const PRUNE_PAUSE_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// Deletes events created before `before`, in paced batches; returns how many.
pub async fn prune<C: ConnectionTrait>(
    db: &C,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DataError> {
    let mut total = 0;
    loop {
        let started = tokio::time::Instant::now();
        let deleted = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM events WHERE ctid IN (
                     SELECT ctid FROM events WHERE created_at < $1 LIMIT $2
                 )",
                [before.into(), PRUNE_BATCH.into()],
            ))
            .await?
            .rows_affected();
        total += deleted;
        if deleted < PRUNE_BATCH as u64 {
            return Ok(total);
        }
        // Leave the database to the send path for a while.
        tokio::time::sleep((started.elapsed() * PRUNE_PAUSE_FACTOR).min(PRUNE_PAUSE_MAX)).await;
    }
}

/// A `/sync` page read by [`sync_page`].
#[derive(Debug)]
pub struct SyncRead {
    /// The events, oldest first.
    pub events: Vec<StoredEvent>,
    /// The cursor to continue from.
    pub cursor: Cursor,
    /// Whether more events wait after `cursor`.
    pub has_more: bool,
    /// The messages of `events` that were still `sent` when the page was read. Statuses only move
    /// forward, so these are the only ones a delivery marking could change: a page without any
    /// needs no marking at all (contract §6.3).
    pub still_sent: HashSet<Uuid>,
}

/// A `/sync` page: up to `limit` of `user`'s events after `since` (or, without `since`, none and
/// the newest cursor, a fresh client's starting point).
pub async fn sync_page<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    since: Option<Cursor>,
    limit: u64,
) -> Result<SyncRead, DataError> {
    let Some(since) = since else {
        let latest = latest_seq(db, user).await?;
        return Ok(SyncRead {
            events: vec![],
            cursor: Cursor::new(user, latest),
            has_more: false,
            still_sent: HashSet::new(),
        });
    };
    // One read in the usual case: the page itself shows whether `since` continues the stream.
    let mut read = read_after(db, user, since.seq, limit.saturating_add(1)).await?;
    check_continues(db, user, since, read.first().map(|(event, _)| event)).await?;
    let has_more = read.len() as u64 > limit;
    read.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let still_sent = read.iter().filter_map(|(_, sent)| *sent).collect();
    let events: Vec<StoredEvent> = read.into_iter().map(|(event, _)| event).collect();
    let cursor = events.last().map_or(since, StoredEvent::cursor);
    Ok(SyncRead {
        events,
        cursor,
        has_more,
        still_sent,
    })
}
