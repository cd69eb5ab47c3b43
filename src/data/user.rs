//! Rows of `users` and `identities`: lookups, and the sign-in upsert.

use chrono::Utc;
use entity::{identity, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, IntoActiveModel, QueryFilter, Statement, TransactionTrait,
    sea_query::OnConflict,
};
use uuid::Uuid;

/// A sign-in provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// GitHub.
    Github,
    /// Google.
    Google,
}

impl Provider {
    /// The name stored in `identities.provider` and used in paths and cookie names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Google => "google",
        }
    }
}

/// A verified profile from a provider, ready to sign someone in.
#[derive(Debug, Clone)]
pub struct ProviderProfile {
    /// Which provider vouched for it.
    pub provider: Provider,
    /// The provider's stable account id.
    pub provider_user_id: String,
    /// The username to start from (GitHub login, or the e-mail's local part).
    pub username_hint: String,
    /// Display name.
    pub name: Option<String>,
    /// The verified address.
    pub email: String,
    /// Avatar URL.
    pub avatar: Option<String>,
}

impl ProviderProfile {
    /// The profile without U+0000, which PostgreSQL cannot store in text (contract §1: removed
    /// from profile fields read from a provider, so a strange profile never fails a sign-in).
    pub fn storable(&self) -> Self {
        let clean = |s: &str| s.replace('\0', "");
        Self {
            provider: self.provider,
            provider_user_id: clean(&self.provider_user_id),
            username_hint: clean(&self.username_hint),
            name: self.name.as_deref().map(clean),
            email: clean(&self.email),
            avatar: self.avatar.as_deref().map(clean),
        }
    }
}

/// The user, if it exists.
pub async fn find_user<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// The user with this username, if any.
pub async fn find_user_by_username<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
}

/// Records that the user's last socket went away just now.
pub async fn update_last_seen<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::LastSeen,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Users newest first, optionally only those whose username or name contains `search`.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    search: Option<&str>,
    page: super::Page,
) -> Result<Vec<user::Model>, DbErr> {
    let mut values: Vec<sea_orm::Value> = vec![];
    let filter = match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(search) => {
            values.push(contains_pattern(search).into());
            "WHERE username ILIKE $1 OR name ILIKE $1"
        }
        None => "",
    };
    let n = values.len();
    values.push(i64::try_from(page.limit).unwrap_or(100).into());
    values.push(i64::try_from(page.offset()).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT * FROM users {filter} ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    user::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .all(db)
        .await
}

/// Users whose username or name contains `query` (never by e-mail), best match first: by trigram
/// similarity, then username. Served by the trigram indexes.
pub async fn search_users<C: ConnectionTrait>(
    db: &C,
    query: &str,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"SELECT * FROM users
               WHERE username ILIKE $1 OR name ILIKE $1
               ORDER BY greatest(similarity(username, $2), similarity(coalesce(name, ''), $2)) DESC,
                        username ASC
               LIMIT $3"#,
            [
                contains_pattern(query).into(),
                query.into(),
                i64::try_from(limit).unwrap_or(100).into(),
            ],
        ))
        .all(db)
        .await
}

/// An `ILIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Signs in through a provider: the account keyed by (provider, provider user id) gets its profile
/// refreshed, or a new user is created with a free username. Two providers reporting the same
/// e-mail make two accounts: an e-mail address is not proof of owning the other account.
pub async fn upsert_user_from_profile(
    db: &DatabaseConnection,
    profile: &ProviderProfile,
) -> Result<user::Model, DbErr> {
    let profile = &profile.storable();
    if let Some(user) = refresh_known_identity(db, profile).await? {
        return Ok(user);
    }
    let txn = db.begin().await?;
    let user = create_user(&txn, &profile.username_hint, profile).await?;
    let now = Utc::now();
    let inserted = identity::Entity::insert(identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        provider: Set(profile.provider.as_str().to_owned()),
        provider_user_id: Set(profile.provider_user_id.clone()),
        email: Set(Some(profile.email.clone())),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([identity::Column::Provider, identity::Column::ProviderUserId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        txn.commit().await?;
        return Ok(user);
    }
    // A concurrent first sign-in of the same account won the race: drop our user, use theirs.
    txn.rollback().await?;
    refresh_known_identity(db, profile)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("identity vanished during sign-in".into()))
}

/// Creates a user for an operator (`confab session create`), or returns the one with that username.
pub async fn find_or_create_user_by_username(
    db: &DatabaseConnection,
    username: &str,
    email: Option<&str>,
) -> Result<user::Model, DbErr> {
    if let Some(user) = find_user_by_username(db, username).await? {
        return Ok(user);
    }
    let now = Utc::now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(username.to_owned()),
        name: Set(Some(username.to_owned())),
        email: Set(email.map(str::to_owned)),
        avatar: Set(None),
        last_seen: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = user::Entity::insert(model)
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 0 {
        // Created concurrently under the same name.
        return find_user_by_username(db, username)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(username.to_owned()));
    }
    find_user_by_username(db, username)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(username.to_owned()))
}

/// Refreshes the profile of an already linked account; `None` when the account is new.
async fn refresh_known_identity(
    db: &DatabaseConnection,
    profile: &ProviderProfile,
) -> Result<Option<user::Model>, DbErr> {
    let Some(identity) = identity::Entity::find()
        .filter(identity::Column::Provider.eq(profile.provider.as_str()))
        .filter(identity::Column::ProviderUserId.eq(profile.provider_user_id.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = find_user(db, identity.user_id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut identity = identity.into_active_model();
    identity.email = Set(Some(profile.email.clone()));
    identity.updated_at = Set(now);
    identity.update(&txn).await?;
    let mut user = user.into_active_model();
    user.name = Set(profile.name.clone());
    user.email = Set(Some(profile.email.clone()));
    user.avatar = Set(profile.avatar.clone());
    user.updated_at = Set(now);
    let user = user.update(&txn).await?;
    txn.commit().await?;
    Ok(Some(user))
}

/// Inserts a user under the first free username of `hint`, `hint2`, `hint3`, …
async fn create_user<C: ConnectionTrait>(
    db: &C,
    hint: &str,
    profile: &ProviderProfile,
) -> Result<user::Model, DbErr> {
    let base = username_base(hint);
    let now = Utc::now();
    for attempt in 1u32.. {
        let candidate = if attempt == 1 {
            base.clone()
        } else if attempt <= 50 {
            format!("{base}{attempt}")
        } else {
            // A crowded name: stop probing one by one.
            format!("{base}{}", &Uuid::now_v7().simple().to_string()[24..])
        };
        let id = Uuid::now_v7();
        let inserted = user::Entity::insert(user::ActiveModel {
            id: Set(id),
            username: Set(candidate),
            name: Set(profile.name.clone()),
            email: Set(Some(profile.email.clone())),
            avatar: Set(profile.avatar.clone()),
            last_seen: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return find_user(db, id)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(id.to_string()));
        }
        if attempt > 60 {
            break;
        }
    }
    Err(DbErr::Custom(format!("no free username for {base}")))
}

/// A username from a provider's hint: letters, digits, `-`, `_`, `.`; at most 32 characters.
pub fn username_base(hint: &str) -> String {
    let cleaned: String = hint
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect();
    if cleaned.is_empty() {
        "user".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    }

    #[test]
    fn usernames_keep_only_safe_characters() {
        assert_eq!(username_base("octo-cat_1.x"), "octo-cat_1.x");
        assert_eq!(username_base("jöhn+tag"), "jhntag");
        assert_eq!(username_base("+++"), "user");
        assert_eq!(username_base(&"a".repeat(50)).len(), 32);
    }
}
