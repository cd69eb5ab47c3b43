//! Users, sessions, conversations and seeded history for the scenarios.
//!
//! Users and sessions are inserted in bulk (thousands of single-row commits would take minutes)
//! and their tokens signed with Confab's own `TokenKeys` and claims: the rows and tokens are
//! exactly what `confab session create` makes.

use anyhow::Context;
use confab::{
    config::{Config, ExposeSecret},
    embedded_db::EmbeddedPostgres,
    session::token::{Claims, TokenKeys},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

/// A user with a session token.
#[derive(Clone, Debug)]
pub struct BenchUser {
    pub id: Uuid,
    pub token: String,
}

pub struct Setup {
    pub db: DatabaseConnection,
    keys: TokenKeys,
    run: String,
}

impl Setup {
    /// Reads the server's configuration and connects to its database.
    pub async fn new() -> anyhow::Result<Self> {
        let config = Config::from_env().context("configuration")?;
        let url = match &config.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => {
                let dir = config.database.data_dir.clone();
                tokio::task::spawn_blocking(move || EmbeddedPostgres::start_shared(&dir))
                    .await??
                    .database_url()
            }
        };
        let db = confab::data::connect(&url, 8).await?;
        Ok(Self {
            db,
            keys: TokenKeys::new(config.session.jwt_secret.expose_secret().as_bytes()),
            run: Uuid::now_v7().simple().to_string()[20..].to_owned(),
        })
    }

    /// Creates `n` users, each with a week-long session.
    pub async fn users(&self, n: usize, prefix: &str) -> anyhow::Result<Vec<BenchUser>> {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let sessions: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let names: Vec<String> = (0..n)
            .map(|i| format!("{prefix}_{}_{i}", self.run))
            .collect();
        for chunk in 0..n.div_ceil(5000) {
            let range = chunk * 5000..((chunk + 1) * 5000).min(n);
            self.db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO users (id, username, name) SELECT * FROM unnest($1::uuid[], $2::text[], $2::text[])",
                    [ids[range.clone()].to_vec().into(), names[range.clone()].to_vec().into()],
                ))
                .await?;
            self.db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO sessions (id, user_id, expires_at)
                     SELECT s, u, now() + interval '7 days' FROM unnest($1::uuid[], $2::uuid[]) AS t(s, u)",
                    [sessions[range.clone()].to_vec().into(), ids[range].to_vec().into()],
                ))
                .await?;
        }
        let now = chrono::Utc::now().timestamp();
        ids.iter()
            .zip(&sessions)
            .map(|(id, sid)| {
                let claims = Claims {
                    sub: *id,
                    sid: *sid,
                    iat: now,
                    exp: now + 7 * 86_400,
                };
                Ok(BenchUser {
                    id: *id,
                    token: self.keys.encode(&claims)?,
                })
            })
            .collect()
    }

    /// Opens a conversation between `a` and `b` through the data layer.
    pub async fn conversation(&self, a: Uuid, b: Uuid) -> anyhow::Result<Uuid> {
        Ok(
            confab::data::conversation::create_conversation(&self.db, a, b)
                .await?
                .id,
        )
    }

    /// A user with `conversations` conversations of `per_conversation` messages each, seeded in
    /// SQL (reused when it exists). Returns the user and the conversation ids.
    pub async fn seeded_history(
        &self,
        conversations: usize,
        per_conversation: usize,
    ) -> anyhow::Result<(BenchUser, Vec<Uuid>)> {
        // v2: 10 % CJK messages, older messages read (earlier seeds lack both).
        let owner_name = format!("bench_history_v2_{conversations}x{per_conversation}");
        let existing = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id FROM users WHERE username = $1",
                [owner_name.clone().into()],
            ))
            .await?;
        let owner_id: Uuid = match existing {
            Some(row) => row.try_get("", "id")?,
            None => {
                let owner = Uuid::now_v7();
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "INSERT INTO users (id, username) VALUES ($1, $2)",
                        [owner.into(), owner_name.clone().into()],
                    ))
                    .await?;
                let peers = self.users(conversations, "peer").await?;
                for peer in &peers {
                    let c = self.conversation(owner, peer.id).await?;
                    eprintln!("seeding {per_conversation} messages into {c}…");
                    self.db
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            SEED_SQL,
                            [
                                c.into(),
                                owner.into(),
                                peer.id.into(),
                                (per_conversation as i64).into(),
                            ],
                        ))
                        .await?;
                }
                self.db.execute_unprepared("ANALYZE messages").await?;
                owner
            }
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id FROM conversations WHERE p1_id = $1 ORDER BY created_at",
                [owner_id.into()],
            ))
            .await?;
        let ids = rows
            .iter()
            .map(|r| r.try_get::<Uuid>("", "id"))
            .collect::<Result<Vec<_>, _>>()?;
        let sid = Uuid::now_v7();
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '7 days')",
                [sid.into(), owner_id.into()],
            ))
            .await?;
        let now = chrono::Utc::now().timestamp();
        let token = self.keys.encode(&Claims {
            sub: owner_id,
            sid,
            iat: now,
            exp: now + 86_400,
        })?;
        Ok((
            BenchUser {
                id: owner_id,
                token,
            },
            ids,
        ))
    }
}

/// Messages of eight words drawn from 200 (`w000`…`w199`, plus a few real words so search has
/// something to stem), alternating senders, one millisecond apart; every tenth message is a
/// Japanese or Chinese sentence of three words from 25 (written without spaces). All but the
/// newest 20 of a conversation are read, as in a chat people use.
const SEED_SQL: &str = r#"
INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at)
SELECT gen_random_uuid(), $1,
       CASE WHEN n % 2 = 0 THEN $2::uuid ELSE $3::uuid END,
       CASE WHEN n % 10 = 0 THEN
           (SELECT string_agg((ARRAY['東京','大阪','会議','明日','今日','電話','予定','資料','確認',
                                     'お願いします','ありがとう','天気','駅','北京','上海','我们',
                                     '朋友','时间','工作','问题','ミーティング','プロジェクト',
                                     'コーヒー','ランチ','メール'])[1 + floor(r * 25)::int], '')
              || '。'
              FROM (SELECT random() + n * 0 AS r FROM generate_series(1, 3)) words)
       ELSE
           (SELECT string_agg(CASE WHEN r < 0.02 THEN 'running' WHEN r < 0.03 THEN 'meeting'
                                   ELSE 'w' || lpad((floor(r * 200))::int::text, 3, '0') END, ' ')
              FROM (SELECT random() + n * 0 AS r FROM generate_series(1, 8)) words)
       END,
       CASE WHEN n > $4 - 20 THEN 'sent' ELSE 'read' END,
       now() - make_interval(secs => ($4 - n) / 1000.0)
FROM generate_series(1, $4) AS n
"#;
