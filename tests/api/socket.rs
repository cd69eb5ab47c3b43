//! Socket.IO on the HTTP port, over both transports, with a real client.

use rust_socketio::TransportType;

use crate::helpers::{
    TestApp,
    socket::{RawSocket, SocketClient},
};

#[tokio::test]
async fn a_websocket_only_client_connects_on_the_http_port() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("ws").await;
    let client = SocketClient::connect(&app, &token, TransportType::Websocket).await;
    // The server counts it: the upgrade really reached socketioxide.
    app.wait_for_open_sockets(1).await;
    client.close().await;
}

#[tokio::test]
async fn a_polling_client_connects_too() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("poller").await;
    let client = SocketClient::connect(&app, &token, TransportType::Polling).await;
    client.close().await;
}

#[tokio::test]
async fn a_malformed_websocket_handshake_is_refused_before_upgrading() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!(
            "{}/socket.io/?EIO=3&transport=websocket",
            app.address
        ))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn shutdown_closes_open_sockets_first() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("closer").await;
    let mut socket = RawSocket::open(&app, &[]).await;
    let answer = socket
        .connect(Some(serde_json::json!({ "token": token })))
        .await;
    assert!(answer.starts_with("40"), "{answer}");
    app.shut_down().await.unwrap();
    // The socket ends: a disconnect packet or the stream's end, never silence.
    loop {
        match socket.next_packet().await {
            Some(packet) if packet == "41" => break,
            Some(_) => continue,
            None => break,
        }
    }
}
