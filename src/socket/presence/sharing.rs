//! Presence when who shares it changes: a conversation created or deleted, a block made or
//! lifted (contract §5: presence goes to users who have a conversation and do not block each
//! other). Without this, a conversation opened while both were online showed each offline to the
//! other, and after a block the blocker stayed shown online to the blocked user for good.

use uuid::Uuid;

use super::{Presence, send_status_to};
use crate::state::AppState;

impl Presence {
    /// Whether `a` and `b` share presence now (contract §5: they have a conversation and neither
    /// blocks the other); `None` (logged) when the database could not say. Read before a change
    /// that may alter it, for [`Self::sharing_changed`].
    pub async fn shares(&self, state: &AppState, a: Uuid, b: Uuid) -> Option<bool> {
        crate::data::block::shares_presence(&state.db, a, b)
            .await
            .inspect_err(
                |e| tracing::warn!(error = %e, "could not read whether presence is shared"),
            )
            .ok()
    }

    /// A conversation between `a` and `b` was created or deleted, or a block between them made
    /// or lifted; `before` is whether they shared presence before ([`Self::shares`]). When that
    /// changed, each is shown to the other as they now should be: whichever is online is shown
    /// `online` once they share presence, and both are shown `offline` when they stop, online or
    /// not, so a block or a stranger learns nothing of anyone's presence. The rule is read once
    /// more after the sends: a change made meanwhile (a block racing an unblock) is sent too, so
    /// the last word is right.
    pub async fn sharing_changed(&self, state: &AppState, a: Uuid, b: Uuid, before: Option<bool>) {
        let Some(mut shown) = before else {
            return;
        };
        for _ in 0..2 {
            let Some(now) = self.shares(state, a, b).await else {
                return;
            };
            if now == shown {
                return;
            }
            if now {
                for user in self.online_among(&[a, b]).await {
                    let observer = if user == a { b } else { a };
                    send_status_to(state, user, true, &[observer]).await;
                }
            } else {
                send_status_to(state, a, false, &[b]).await;
                send_status_to(state, b, false, &[a]).await;
            }
            shown = now;
        }
    }

    /// The conversation between `a` and `b` was deleted: they shared presence before unless one
    /// blocks the other ([`Self::sharing_changed`]).
    pub async fn conversation_deleted(&self, state: &AppState, a: Uuid, b: Uuid) {
        let blocked = crate::data::block::is_blocked_between(&state.db, a, b).await;
        self.sharing_changed(state, a, b, blocked.ok().map(|blocked| !blocked))
            .await;
    }
}
