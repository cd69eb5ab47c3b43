//! A flood of client events is answered with `error RATE_LIMITED` before any disconnect (issue
//! 11, item 12; contract §5).

use serde_json::Value;

use crate::helpers::{TestApp, socket::RawSocket};

/// Floods `socket` with `packet` and returns the codes of the `error` events it received up to
/// and including the first `RATE_LIMITED`; fails if the socket was disconnected or closed first.
async fn flood_until_told(socket: &mut RawSocket, packet: &str, count: usize) -> Vec<String> {
    socket.flood(packet, count).await;
    let mut codes = vec![];
    loop {
        let packet = socket
            .next_packet()
            .await
            .unwrap_or_else(|| panic!("closed before RATE_LIMITED (errors: {codes:?})"));
        assert!(
            !packet.starts_with("41") && packet != "1",
            "disconnected before RATE_LIMITED (errors: {codes:?})"
        );
        let Some(body) = packet.strip_prefix("42") else {
            continue;
        };
        let event: Vec<Value> = serde_json::from_str(body).unwrap();
        if event[0] == "error" {
            let code = event[1]["code"].as_str().unwrap().to_owned();
            codes.push(code.clone());
            if code == "RATE_LIMITED" {
                return codes;
            }
        }
    }
}

#[tokio::test]
async fn a_burst_of_twenty_thousand_events_gets_rate_limited_before_any_disconnect() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut socket = RawSocket::authenticated(&app, &alice.token).await;
    let packet = format!(r#"42["typing","{c}",true]"#);
    let codes = flood_until_told(&mut socket, &packet, 20_000).await;
    assert_eq!(codes, ["RATE_LIMITED"]);
}

#[tokio::test]
async fn every_flooding_socket_is_told_before_it_is_disconnected() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    // Several sockets at once, flooding with `update_status` and with events that fail decoding
    // (each answered with its own error while under budget).
    for i in 0..4 {
        let mut socket = RawSocket::authenticated(&app, &alice.token).await;
        let packet = if i % 2 == 0 {
            r#"42["update_status","online"]"#
        } else {
            r#"42["typing","not-a-conversation",1]"#
        };
        let codes = flood_until_told(&mut socket, packet, 5_000).await;
        assert!(
            codes[..codes.len() - 1]
                .iter()
                .all(|c| c == "INVALID_CHAT_ID"),
            "{codes:?}"
        );
    }
}
