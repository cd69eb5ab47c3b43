//! A minimal Engine.IO v4 / Socket.IO client over WebSocket: enough to authenticate, answer
//! pings and read events. Lighter than a full client, so the generator stays cheap.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket and authenticates it with `token`.
pub async fn connect(base: &str, token: &str) -> anyhow::Result<Ws> {
    connect_with(base, serde_json::json!({ "token": token })).await
}

/// Opens a socket with this handshake `auth` payload (`{token, since}`, contract §5, §6.1).
pub async fn connect_with(base: &str, auth: Value) -> anyhow::Result<Ws> {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    // Nagle off, as browsers and socket.io-client's `ws` transport have it.
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .context("websocket")?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        bail!("unexpected open packet {open}");
    }
    ws.send(Message::text(format!("40{auth}"))).await?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet.starts_with("40") {
            return Ok(ws);
        }
        if packet.starts_with("44") {
            bail!("refused: {packet}");
        }
        if packet == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("timeout")?
            .context("closed")??;
        if let Message::Text(t) = frame {
            return Ok(t.as_str().to_owned());
        }
    }
}

/// Reads events until the socket closes, answering pings and, with `acknowledge`, every event that
/// asks for it (as a client that calls its acknowledgement callback does: `new_message`, contract
/// §6.3); calls `on_event(name, args)`.
pub async fn read_events(mut ws: Ws, acknowledge: bool, mut on_event: impl FnMut(&str, &[Value])) {
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(text) = frame else { continue };
        let text = text.as_str();
        if text == "2" {
            if ws.send(Message::text("3")).await.is_err() {
                return;
            }
            continue;
        }
        let Some(rest) = text.strip_prefix("42") else {
            continue;
        };
        let body = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let ack_id = &rest[..rest.len() - body.len()];
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(body)
            && let Some(name) = items.first().and_then(Value::as_str)
        {
            on_event(name, &items[1..]);
        }
        if acknowledge
            && !ack_id.is_empty()
            && ws
                .send(Message::text(format!("43{ack_id}[]")))
                .await
                .is_err()
        {
            return;
        }
    }
}
