//! Full-text message search over the caller's conversations (contract §3).

use entity::message::{self, Status};
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Statement,
};
use uuid::Uuid;

use super::{DataError, conversation::get_conversation_for};

/// Newest messages of the caller that the first phase of a search checks.
const SEARCH_WINDOW: i64 = 500;

/// How far back the second phase may reach, in multiples of the time the first phase's window
/// spans (see [`search_messages`]).
const SEARCH_SPAN_FACTOR_MAX: i32 = 64;

/// Conversations above which the first phase is skipped (its cost grows with their number).
const SEARCH_WINDOW_MAX_CONVERSATIONS: i64 = 50;

/// Full-text search over the caller's conversations (or one of them), newest first, deleted
/// messages left out.
///
/// Sorting full-text matches by time means reading every match, which is slow for common words
/// (a word in 1.2 % of 1,000,000 messages is 12,000 rows, each on its own heap page: 40-60 ms). So
/// the search narrows by time first, and proves each answer exact before using it:
/// 1. The caller's newest [`SEARCH_WINDOW`] messages (merged from each conversation's index) are
///    checked. If `limit` of them match, nothing older can rank higher: the answer is exact.
/// 2. If some matched, the density seen there sizes a second window, twice as long as `limit`
///    matches should need (at most [`SEARCH_SPAN_FACTOR_MAX`] times the first window's time
///    span). Its matches come from a bitmap AND of the full-text index and the time range of the
///    caller's conversations, so only those candidates are read from the heap: 6-8 ms for that
///    word. `limit` matches there are exact too: every message of the range was considered, and
///    all older ones are older than each of them.
///    Its cost is bounded by the matches in the range: when they are many, `limit` of them are
///    found and the answer is exact; when few, the range was cheap to read.
/// 3. Otherwise (nothing matched in the first window, the range came up short, or the caller has
///    too many conversations for the first phase) the matches come from the GIN index, collected
///    first (a materialised CTE) and then narrowed to the caller's conversations. Left to itself
///    the planner intersects the full-text bitmap with the per-conversation index, which reads
///    every message of the caller's conversations (1.8 s for one common word over 1 M messages).
///
/// Measured and dropped: wider windows of the first kind (2,000 to 10,000 newest messages of ten
/// conversations, checked row by row) cost 130 to 640 ms.
pub async fn search_messages<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    query: &str,
    conversation_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<message::Model>, DataError> {
    if let Some(id) = conversation_id {
        get_conversation_for(db, id, caller).await?;
    }
    let limit = i64::try_from(limit).unwrap_or(100);
    let query = SearchTerms::parse(query);
    let recent = search_recent(db, caller, &query, conversation_id, limit).await?;
    let ids = match recent {
        Recent::Exact(ids) => ids,
        Recent::Partial(window) => {
            let narrowed = match window.reach_back(limit) {
                Some(since) => {
                    search_since(db, caller, &query, conversation_id, limit, since).await?
                }
                None => None,
            };
            match narrowed {
                Some(ids) => ids,
                None => search_full_index(db, caller, &query, conversation_id, limit).await?,
            }
        }
        Recent::Skipped => search_full_index(db, caller, &query, conversation_id, limit).await?,
    };
    let mut rows = message::Entity::find()
        .filter(message::Column::Id.is_in(ids))
        .all(db)
        .await?;
    rows.sort_unstable_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    Ok(rows)
}

/// A search query split the way the index splits text (migration `search_every_script`):
/// scripts written without spaces between words (Han, kana, Hangul) are indexed one character per
/// token, so each run of them in the query is searched as a phrase (those characters adjacent, in
/// order); everything else is searched as words, as `plainto_tsquery` reads them.
#[derive(Debug, PartialEq, Eq)]
struct SearchTerms {
    /// The query with every such run replaced by a space.
    words: String,
    /// The runs, in query order.
    phrases: Vec<String>,
}

impl SearchTerms {
    fn parse(query: &str) -> Self {
        let mut words = String::with_capacity(query.len());
        let mut phrases: Vec<String> = Vec::new();
        let mut in_run = false;
        for c in query.chars() {
            if is_unspaced_script(c) {
                match phrases.last_mut() {
                    Some(run) if in_run => run.push(c),
                    _ => {
                        phrases.push(c.to_string());
                        words.push(' ');
                    }
                }
                in_run = true;
            } else {
                words.push(c);
                in_run = false;
            }
        }
        Self { words, phrases }
    }
}

/// Whether `c` belongs to a script indexed one character per token: the same ranges as
/// `confab_search_text` in the migration (kana, CJK ideographs and extension A, compatibility
/// ideographs, Hangul syllables, half-width katakana).
fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{f900}'..='\u{faff}'
        | '\u{ac00}'..='\u{d7af}'
        | '\u{ff66}'..='\u{ff9f}')
}

/// What the first phase found among the caller's newest messages.
enum Recent {
    /// The newest `limit` matches, proven exact.
    Exact(Vec<Uuid>),
    /// Fewer than `limit` matched and older messages exist.
    Partial(Window),
    /// Not tried (too many conversations), or nothing to size a second look by.
    Skipped,
}

/// The first phase's window: how many of its messages matched, and the time it spans.
struct Window {
    matched: i64,
    newest: DateTimeUtc,
    oldest: DateTimeUtc,
}

/// The earliest time the second phase reaches back to: older bounds are left to the third phase
/// (a clock or import glitch could otherwise ask PostgreSQL for a time before its range).
const SEARCH_SINCE_FLOOR: DateTimeUtc = DateTimeUtc::UNIX_EPOCH;

impl Window {
    /// The start of a time range expected to hold `2 * limit` matches at the density seen, at
    /// most [`SEARCH_SPAN_FACTOR_MAX`] spans back; `None` (no bound worth trying) when nothing
    /// matched or the bound falls before [`SEARCH_SINCE_FLOOR`].
    fn reach_back(&self, limit: i64) -> Option<DateTimeUtc> {
        if self.matched <= 0 {
            return None;
        }
        let wanted = limit.saturating_mul(2) / self.matched + 1;
        let factor = i32::try_from(wanted.min(i64::from(SEARCH_SPAN_FACTOR_MAX)))
            .unwrap_or(SEARCH_SPAN_FACTOR_MAX);
        let span = (self.newest - self.oldest).max(chrono::TimeDelta::milliseconds(1));
        let since = self.newest.checked_sub_signed(span.checked_mul(factor)?)?;
        (since >= SEARCH_SINCE_FLOOR).then_some(since)
    }
}

// Every phase builds the tsquery in a scalar subquery: evaluated once per statement. Written
// inline, a prepared statement's generic plan (PostgreSQL's choice after five executions) calls
// the PL/pgSQL `confab_search_query` once per row it checks.

/// Phase 1: checks the caller's newest [`SEARCH_WINDOW`] messages; the ids of the newest `limit`
/// matches if that proves them exact (`limit` matches among them, or no older messages at all).
async fn search_recent<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    query: &SearchTerms,
    conversation_id: Option<Uuid>,
    limit: i64,
) -> Result<Recent, DataError> {
    #[derive(FromQueryResult)]
    struct Checked {
        conversations: i64,
        scanned: i64,
        ids: Option<Vec<Uuid>>,
        newest: Option<DateTimeUtc>,
        oldest: Option<DateTimeUtc>,
    }
    let recent = Checked::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH convs AS (
               SELECT id FROM conversations WHERE p1_id = $1 AND ($3::uuid IS NULL OR id = $3)
               UNION ALL
               SELECT id FROM conversations WHERE p2_id = $1 AND ($3::uuid IS NULL OR id = $3)
           ), counted AS (SELECT count(*) AS n FROM convs),
           newest AS (
               SELECT w.id, w.created_at
               FROM convs c CROSS JOIN LATERAL (
                   SELECT id, created_at FROM messages m
                   WHERE m.conversation_id = c.id
                   ORDER BY created_at DESC, id DESC
                   LIMIT $4
               ) w
               WHERE (SELECT n FROM counted) <= $6
               ORDER BY w.created_at DESC, w.id DESC
               LIMIT $4
           ), hits AS (
               SELECT n.id, n.created_at FROM newest n JOIN messages m ON m.id = n.id
               WHERE m.status <> $7
                 AND m.search_vector @@ (SELECT confab_search_query($2, $8))
               ORDER BY n.created_at DESC, n.id DESC
               LIMIT $5
           )
           SELECT (SELECT n FROM counted) AS conversations,
                  (SELECT count(*) FROM newest) AS scanned,
                  (SELECT array_agg(id) FROM hits) AS ids,
                  (SELECT max(created_at) FROM newest) AS newest,
                  (SELECT min(created_at) FROM newest) AS oldest"#,
        [
            caller.into(),
            query.words.clone().into(),
            conversation_id.into(),
            SEARCH_WINDOW.into(),
            limit.into(),
            SEARCH_WINDOW_MAX_CONVERSATIONS.into(),
            Status::Deleted.into(),
            query.phrases.clone().into(),
        ],
    ))
    .one(db)
    .await?;
    let Some(recent) = recent else {
        return Ok(Recent::Skipped);
    };
    if recent.conversations > SEARCH_WINDOW_MAX_CONVERSATIONS {
        return Ok(Recent::Skipped);
    }
    let ids = recent.ids.unwrap_or_default();
    // Exact when enough matched, or when the window held every message there is.
    if ids.len() as i64 == limit || recent.scanned < SEARCH_WINDOW {
        return Ok(Recent::Exact(ids));
    }
    Ok(match (recent.newest, recent.oldest) {
        (Some(newest), Some(oldest)) => Recent::Partial(Window {
            matched: ids.len() as i64,
            newest,
            oldest,
        }),
        // A full window has both bounds; nothing to size a second look by otherwise.
        _ => Recent::Skipped,
    })
}

/// Phase 2: the ids of the newest `limit` matches sent at or after `since` in the caller's
/// conversations, if there are `limit` of them (then they are exact); `None` otherwise.
///
/// The plan is a bitmap AND of the full-text index and the `(conversation_id, created_at)` range
/// of `messages_conversation_created_idx`, so only messages that are both recent enough and
/// matching are read from the heap.
async fn search_since<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    query: &SearchTerms,
    conversation_id: Option<Uuid>,
    limit: i64,
    since: DateTimeUtc,
) -> Result<Option<Vec<Uuid>>, DataError> {
    #[derive(FromQueryResult)]
    struct Hit {
        id: Uuid,
    }
    let hits = Hit::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT id FROM messages
           WHERE conversation_id = ANY(ARRAY(
                     SELECT id FROM conversations
                     WHERE (p1_id = $1 OR p2_id = $1) AND ($3::uuid IS NULL OR id = $3)))
             AND created_at >= $4
             AND search_vector @@ (SELECT confab_search_query($2, $6))
             AND status <> $5
           ORDER BY created_at DESC, id DESC
           LIMIT $7"#,
        [
            caller.into(),
            query.words.clone().into(),
            conversation_id.into(),
            since.into(),
            Status::Deleted.into(),
            query.phrases.clone().into(),
            limit.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok((hits.len() as i64 == limit).then(|| hits.into_iter().map(|h| h.id).collect()))
}

/// Phase 3: the ids of the newest `limit` matches from the full-text index.
async fn search_full_index<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    query: &SearchTerms,
    conversation_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, DataError> {
    #[derive(FromQueryResult)]
    struct Hit {
        id: Uuid,
    }
    let hits = Hit::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH hits AS MATERIALIZED (
               SELECT id, conversation_id, created_at FROM messages
               WHERE search_vector @@ (SELECT confab_search_query($2, $6))
                 AND status <> $5
           )
           SELECT h.id FROM hits h JOIN conversations c ON c.id = h.conversation_id
           WHERE (c.p1_id = $1 OR c.p2_id = $1) AND ($3::uuid IS NULL OR h.conversation_id = $3)
           ORDER BY h.created_at DESC, h.id DESC
           LIMIT $4"#,
        [
            caller.into(),
            query.words.clone().into(),
            conversation_id.into(),
            limit.into(),
            Status::Deleted.into(),
            query.phrases.clone().into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(hits.into_iter().map(|h| h.id).collect())
}

/// Moves the entries waiting in the full-text index's pending list into the index proper, and
/// returns how many pending pages that emptied.
///
/// New rows go to a pending list first (GIN `fastupdate`), which is merged into the index in bulk
/// whenever it outgrows `gin_pending_list_limit` (4 MB): by autovacuum, or else by the insert that
/// overflowed it. That insert is the message writer's, and every send queued behind it waited for
/// the merge (stalls of 100–300 ms at 2,000 msg/s, issue 17). Called often from the background, the
/// merge stays small and happens on another connection; an insert that overflows the list while
/// it runs skips merging instead of waiting (PostgreSQL's `ginInsertCleanup`). Needs ownership of
/// the index, which the role that ran the migrations has.
pub async fn flush_pending_entries<C: ConnectionTrait>(db: &C) -> Result<i64, DataError> {
    #[derive(FromQueryResult)]
    struct Flushed {
        pages: i64,
    }
    let flushed = Flushed::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT gin_clean_pending_list('messages_content_fts_idx'::regclass) AS pages",
    ))
    .one(db)
    .await?;
    Ok(flushed.map_or(0, |f| f.pages))
}

#[cfg(test)]
mod tests {
    use super::SearchTerms;

    #[test]
    fn runs_of_unspaced_scripts_become_phrases_and_the_rest_stays_words() {
        let terms = SearchTerms::parse("tokyo 東京タワー trip 서울");
        assert_eq!(terms.words, "tokyo   trip  ");
        assert_eq!(terms.phrases, ["東京タワー", "서울"]);
        let latin = SearchTerms::parse("Привет école");
        assert_eq!(latin.words, "Привет école");
        assert!(latin.phrases.is_empty());
    }
}
