//! Socket.IO on the HTTP port, over both transports, with a real client.

use std::sync::Arc;

use futures_util::FutureExt;
use rust_socketio::{
    Event, Payload, TransportType,
    asynchronous::{Client, ClientBuilder},
};
use tokio::sync::Notify;

use crate::helpers::{TIMEOUT, TestApp};

/// Connects with the given transport and waits (bounded) for the server's connect acknowledgement.
async fn connect(app: &TestApp, transport: TransportType) -> Client {
    let connected = Arc::new(Notify::new());
    let notify = connected.clone();
    let client = ClientBuilder::new(app.address.clone())
        .transport_type(transport)
        .reconnect(false)
        .on(Event::Connect, move |_: Payload, _: Client| {
            let notify = notify.clone();
            async move { notify.notify_one() }.boxed()
        })
        .connect()
        .await
        .expect("socket connects");
    tokio::time::timeout(TIMEOUT, connected.notified())
        .await
        .expect("connected within the timeout");
    client
}

#[tokio::test]
async fn a_websocket_only_client_connects_on_the_http_port() {
    let app = TestApp::spawn().await;
    let client = connect(&app, TransportType::Websocket).await;
    // The server counts it: the upgrade really reached socketioxide.
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains("confab_socket_connections 1"), "{text}");
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_polling_client_connects_too() {
    let app = TestApp::spawn().await;
    let client = connect(&app, TransportType::Polling).await;
    client.disconnect().await.unwrap();
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
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let app = TestApp::spawn().await;
    // A bare Engine.IO v4 client, to watch exactly what the server sends on shutdown.
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        app.port()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = tokio::time::timeout(TIMEOUT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        open.to_text().unwrap().starts_with("0{"),
        "engine.io open packet"
    );
    ws.send(Message::text("40")).await.unwrap();
    // Skip engine.io pings ("2", answered with "3") until the connect acknowledgement arrives.
    loop {
        let frame = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match frame.to_text().unwrap() {
            "2" => ws.send(Message::text("3")).await.unwrap(),
            text if text.starts_with("40") => break,
            other => panic!("unexpected frame before the connect ack: {other}"),
        }
    }

    app.shut_down().await.unwrap();
    // The socket ends: a disconnect packet, a close frame, or the stream's end, never silence.
    let ended = tokio::time::timeout(TIMEOUT, async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Text(t)) if t.as_str() == "41" => return,
                Ok(Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the client saw its socket closed");
}
