//! Presence across instances (with Redis): this instance's entries kept alive, and the users of
//! a crashed instance reported offline once their entries expire (`cluster::presence`).

use uuid::Uuid;

use super::send_status;
use crate::state::AppState;

/// Refreshes this instance's presence entries in Redis for the life of the server, and announces
/// users whose entry had expired meanwhile (after a Redis outage) online again.
pub async fn keep_alive(state: AppState) {
    let Some(store) = state.presence.store.clone() else {
        return;
    };
    let mut ticker = tokio::time::interval(store.heartbeat_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let order = state.presence.store_order.lock().await;
        let registered = store.register(&state.presence.announced()).await;
        drop(order);
        match registered {
            Ok(flipped) => {
                for user in flipped {
                    send_status(&state, user, true).await;
                }
            }
            Err(e) => tracing::debug!(error = %e, "presence heartbeat skipped"),
        }
    }
}

/// Reports offline the users whose only entries expired (their instance crashed), for the life of
/// the server. Each expired entry is taken by exactly one instance (see `cluster::presence`).
pub async fn reap(state: AppState) {
    let Some(store) = state.presence.store.clone() else {
        return;
    };
    let mut ticker = tokio::time::interval(store.reap_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // After an outage every entry has expired; reaping before the live instances refreshed
        // theirs would flap everyone offline and back.
        let settled = store
            .link()
            .up_since()
            .is_some_and(|since| since.elapsed() >= store.heartbeat_interval());
        if !settled {
            continue;
        }
        let gone = match store.reap().await {
            Ok(gone) => gone,
            Err(e) => {
                tracing::debug!(error = %e, "presence reaping skipped");
                continue;
            }
        };
        // A user online here lost only this instance's entry (Redis lost it): the next heartbeat
        // registers them again; they are not offline. (A set: after an instance with thousands
        // of users crashed, comparing each against every user here was quadratic.)
        let here: std::collections::HashSet<Uuid> =
            state.presence.announced_among(&gone).into_iter().collect();
        for user in gone.into_iter().filter(|u| !here.contains(u)) {
            tracing::info!(user.id = %user, "presence expired (instance gone)");
            if let Err(e) = crate::data::user::update_last_seen(&state.db, user).await {
                tracing::warn!(user.id = %user, error = %e, "could not store last_seen");
            }
            send_status(&state, user, false).await;
        }
    }
}
