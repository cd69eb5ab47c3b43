//! Sessions: signed-cookie JWTs backed by rows of `sessions`, so logout and revocation are
//! server-side.
//!
//! A request is authenticated by [`Sessions::authenticate_session`]: the token (from `Authorization: Bearer`
//! or the signed `auth` cookie) is verified, then its session is looked up in [`cache::SessionCache`],
//! which answers without a database round trip while its entry is younger than `SESSION_CACHE_TTL`.
//! Revocation on this instance updates the cache at once; every instance on the database, this one
//! included, also hears of it from PostgreSQL (a trigger on `sessions` notifies on commit; see
//! `data::session_change` and `socket::session_watch`), with or without Redis (contract §7). The
//! cache's expiry bounds how long a notice lost to a database outage can go unseen. The poem-openapi security scheme that hands
//! handlers the caller lives in [`auth`]; it is the only way a handler learns who is calling.

pub mod auth;
pub mod cache;
pub mod cookie;
pub mod token;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

use self::{
    cache::{CachedSession, SessionCache},
    cookie::{CookieRead, CookieSigner, SESSION_COOKIE},
    token::{Claims, TokenError, TokenKeys},
};
use crate::{
    config::{Config, ExposeSecret},
    data,
};

/// Who is calling: the result of authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user.
    pub user_id: Uuid,
    /// Their session.
    pub session_id: Uuid,
}

/// Why authentication failed; each is a `401` with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No cookie and no bearer token.
    #[error("Authentication token not provided")]
    NoToken,
    /// The token (or its session) has expired.
    #[error("Authentication token has expired")]
    TokenExpired,
    /// Bad signature, bad cookie signature, garbage, unknown session, or a deleted user.
    #[error("Invalid authentication token")]
    InvalidToken,
    /// The session was logged out or rotated by a refresh.
    #[error("Session has been revoked")]
    SessionRevoked,
}

impl AuthError {
    /// The contract's code.
    pub fn code(self) -> crate::wire::ErrorCode {
        use crate::wire::ErrorCode;
        match self {
            Self::NoToken => ErrorCode::NoToken,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::SessionRevoked => ErrorCode::SessionRevoked,
        }
    }
}

/// A failure to authenticate: an auth refusal, or the database failing underneath.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// The credentials are refused.
    #[error(transparent)]
    Refused(#[from] AuthError),
    /// The session could not be looked up.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// An authenticated caller and when their session expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatedSession {
    /// The caller.
    pub user: CurrentUser,
    /// When the session expires.
    pub expires_at: DateTime<Utc>,
}

/// A freshly issued session.
pub struct IssuedSession {
    /// The session's caller identity.
    pub user: CurrentUser,
    /// The JWT (for `Authorization: Bearer`).
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// How long after a refresh rotated a session a refresh presenting it still gets the successor.
pub const REFRESH_GRACE: Duration = Duration::from_secs(30);

/// How many rotations a late refresh follows to find the live session.
const MAX_SUCCESSOR_HOPS: usize = 8;

/// The outcome of a refresh.
pub struct Refreshed {
    /// The session the request presented.
    pub previous: Uuid,
    /// The session it now holds (new, or the successor a concurrent refresh made).
    pub issued: IssuedSession,
}

/// Session issuing, verification and revocation, shared through `AppState`.
pub struct Sessions {
    keys: TokenKeys,
    /// Builds and verifies the signed cookies.
    pub cookies: CookieSigner,
    cache: SessionCache,
    ttl: Duration,
}

impl Sessions {
    /// Keys and settings from the configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            keys: TokenKeys::new(config.session.jwt_secret.expose_secret().as_bytes()),
            cookies: CookieSigner::new(
                config.session.cookie_secret.expose_secret().as_bytes(),
                config.session.cookie_secure,
                config.session.ttl,
            ),
            cache: SessionCache::new(config.session.cache_ttl),
            ttl: config.session.ttl,
        }
    }

    /// Creates a session row for `user_id` and signs its token.
    pub async fn issue<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: Uuid,
    ) -> Result<IssuedSession, DbErr> {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::days(7));
        let expires_at = now + ttl;
        let session = data::session::create_session(db, user_id, expires_at).await?;
        self.reissue(&session)
    }

    /// The token of an existing live session. Its claims come from the row alone (`iat` is the
    /// creation time), so signing twice gives the same token: a refresh that loses a race hands
    /// out exactly the cookie the winner set.
    fn reissue(&self, session: &entity::session::Model) -> Result<IssuedSession, DbErr> {
        let claims = Claims {
            sub: session.user_id,
            sid: session.id,
            iat: session.created_at.timestamp(),
            exp: session.expires_at.timestamp(),
        };
        let token = self
            .keys
            .encode(&claims)
            .map_err(|e| DbErr::Custom(format!("signing a session token: {e}")))?;
        self.cache.insert(
            session.id,
            CachedSession {
                user_id: session.user_id,
                expires_at: session.expires_at,
                revoked: false,
            },
        );
        Ok(IssuedSession {
            user: CurrentUser {
                user_id: session.user_id,
                session_id: session.id,
            },
            token,
            expires_at: session.expires_at,
        })
    }

    /// Picks the token of an HTTP request: an explicit `Authorization: Bearer` header wins over the
    /// ambient cookie (as in the original).
    pub fn token_from_http<'a>(
        &self,
        authorization: Option<&str>,
        cookie_headers: impl IntoIterator<Item = &'a str>,
    ) -> Result<String, AuthError> {
        if let Some(value) = authorization {
            return bearer_token(value).ok_or(AuthError::InvalidToken);
        }
        self.token_from_cookie(cookie_headers)?
            .ok_or(AuthError::NoToken)
    }

    /// The token in the signed `auth` cookie: `Ok(None)` when there is none, an error when it is
    /// present but not signed by us.
    pub fn token_from_cookie<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<String>, AuthError> {
        match self.cookies.read(cookie_headers, SESSION_COOKIE) {
            CookieRead::Missing => Ok(None),
            CookieRead::Invalid => Err(AuthError::InvalidToken),
            CookieRead::Valid(token) => Ok(Some(token)),
        }
    }

    /// A token's claims once its signature and expiry check out, without looking at its session.
    pub fn decode_token(&self, token: &str) -> Result<Claims, TokenError> {
        self.keys.decode(token)
    }

    /// Verifies a token and its session (revocation, expiry, the user still existing); tells when
    /// the session expires too (a socket keeps it, so its expiry is checked without the database).
    pub async fn authenticate_session(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> Result<AuthenticatedSession, AuthFailure> {
        self.authenticate_decoded(db, self.keys.decode(token)).await
    }

    /// [`Sessions::authenticate_session`] for a token [`Sessions::decode_token`] already decoded.
    pub async fn authenticate_decoded(
        &self,
        db: &DatabaseConnection,
        decoded: Result<Claims, TokenError>,
    ) -> Result<AuthenticatedSession, AuthFailure> {
        let claims = decoded.map_err(|e| match e {
            TokenError::Expired => AuthError::TokenExpired,
            TokenError::Invalid => AuthError::InvalidToken,
        })?;
        let session = match self.cache.get(claims.sid) {
            Some(session) => session,
            None => {
                let Some(row) = data::session::find_live_session(db, claims.sid).await? else {
                    // Unknown session, or its user was deleted (sessions cascade).
                    return Err(AuthError::InvalidToken.into());
                };
                let session = CachedSession {
                    user_id: row.user_id,
                    expires_at: row.expires_at,
                    revoked: row.revoked_at.is_some(),
                };
                self.cache.insert(claims.sid, session);
                session
            }
        };
        if session.user_id != claims.sub {
            return Err(AuthError::InvalidToken.into());
        }
        if session.revoked {
            return Err(AuthError::SessionRevoked.into());
        }
        if session.expires_at <= Utc::now() {
            return Err(AuthError::TokenExpired.into());
        }
        Ok(AuthenticatedSession {
            user: CurrentUser {
                user_id: claims.sub,
                session_id: claims.sid,
            },
            expires_at: session.expires_at,
        })
    }

    /// Ends the session of `token`, which may have expired (logging out must always work).
    /// Returns the ended session's id.
    pub async fn log_out(&self, db: &DatabaseConnection, token: &str) -> Result<Uuid, AuthFailure> {
        let claims = self
            .keys
            .decode_allowing_expired(token)
            .map_err(|_| AuthError::InvalidToken)?;
        data::session::revoke_user_session(db, claims.sid, claims.sub).await?;
        self.cache.mark_revoked(claims.sid);
        Ok(claims.sid)
    }

    /// Refreshes the session of `token`: a new session for the same user, the presented one revoked
    /// and pointing at it, in one transaction that holds the presented session's row lock, so
    /// concurrent refreshes (two tabs, any instances) rotate it once.
    ///
    /// A refresh that presents a session a refresh rotated less than [`REFRESH_GRACE`] ago gets
    /// that rotation's successor, re-signed identically (not a third session): the tab that lost
    /// the race stays signed in (contract §2). A logged-out session has no successor and stays
    /// refused. Everywhere but here, a rotated session is revoked at once.
    pub async fn refresh(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> Result<Refreshed, AuthFailure> {
        let claims = self.keys.decode(token).map_err(|e| match e {
            TokenError::Expired => AuthError::TokenExpired,
            TokenError::Invalid => AuthError::InvalidToken,
        })?;
        let txn = db.begin().await?;
        let Some(row) = data::session::find_session_for_update(&txn, claims.sid).await? else {
            return Err(AuthError::InvalidToken.into());
        };
        if row.user_id != claims.sub {
            return Err(AuthError::InvalidToken.into());
        }
        if row.revoked_at.is_none() {
            if row.expires_at <= Utc::now() {
                return Err(AuthError::TokenExpired.into());
            }
            let issued = self.issue(&txn, row.user_id).await?;
            data::session::rotate_session(&txn, row.id, issued.user.session_id).await?;
            txn.commit().await?;
            self.cache.mark_revoked(row.id);
            return Ok(Refreshed {
                previous: row.id,
                issued,
            });
        }
        // Rotated (or logged out) already: follow the rotations made within the grace to the
        // live session at their end. Each hop is a rotation newer than the one before, so the
        // chain is short; the bound only guards against a cycle written by hand.
        let mut current = row.id;
        for _ in 0..MAX_SUCCESSOR_HOPS {
            let Some(next) =
                data::session::find_recent_successor(&txn, current, REFRESH_GRACE).await?
            else {
                break;
            };
            let Some(successor) = data::session::find_live_session(&txn, next).await? else {
                break;
            };
            if successor.revoked_at.is_none() {
                if successor.expires_at <= Utc::now() {
                    break;
                }
                txn.commit().await?;
                return Ok(Refreshed {
                    previous: row.id,
                    issued: self.reissue(&successor)?,
                });
            }
            current = next;
        }
        Err(AuthError::SessionRevoked.into())
    }

    /// Records that `session_id` was revoked or rotated (PostgreSQL's notice, contract §7): refused
    /// here from now on, without waiting for the cache entry to expire.
    pub fn note_revoked(&self, session_id: Uuid) {
        self.cache.mark_revoked(session_id);
    }

    /// Records that `session_id` is gone from the database (its user was deleted): the next request
    /// presenting it reads the database, which refuses it.
    pub fn note_deleted(&self, session_id: Uuid) {
        self.cache.remove(session_id);
    }

    /// Whether this instance knows `session_id` was revoked (a socket that authenticated just before
    /// the notice arrived is refused by this check).
    pub fn is_known_revoked(&self, session_id: Uuid) -> bool {
        self.cache.get(session_id).is_some_and(|s| s.revoked)
    }

    /// Revokes a session; every instance hears of it from PostgreSQL (the trigger on `sessions`)
    /// and disconnects its sockets.
    pub async fn revoke(&self, db: &DatabaseConnection, session_id: Uuid) -> Result<(), DbErr> {
        data::session::revoke_session(db, session_id).await?;
        self.cache.mark_revoked(session_id);
        Ok(())
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(bearer_token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(bearer_token("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
