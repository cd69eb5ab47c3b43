//! Socket.IO clients for the tests: the `rust_socketio` client for event flows, and a bare
//! Engine.IO/Socket.IO client over tokio-tungstenite to see exactly what a handshake answers.

use futures_util::{FutureExt, SinkExt, StreamExt};
use rust_socketio::{
    Event, Payload, TransportType,
    asynchronous::{Client, ClientBuilder},
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use super::{TIMEOUT, TestApp};

/// A connected client and the events it received, in order.
pub struct SocketClient {
    client: Client,
    events: mpsc::UnboundedReceiver<(String, Vec<Value>)>,
}

impl SocketClient {
    /// Connects with `token` in the handshake's `auth` payload and waits for the connection.
    pub async fn connect(app: &TestApp, token: &str, transport: TransportType) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let (connected_tx, mut connected_rx) = mpsc::unbounded_channel::<()>();
        let client = ClientBuilder::new(app.address.clone())
            .transport_type(transport)
            .reconnect(false)
            .auth(serde_json::json!({ "token": token }))
            .on(Event::Connect, move |_: Payload, _: Client| {
                let connected_tx = connected_tx.clone();
                async move {
                    let _ = connected_tx.send(());
                }
                .boxed()
            })
            .on_any(move |event: Event, payload: Payload, _: Client| {
                let tx = tx.clone();
                async move {
                    let args = match payload {
                        Payload::Text(values) => values,
                        _ => vec![],
                    };
                    let _ = tx.send((event.to_string(), args));
                }
                .boxed()
            })
            .connect()
            .await
            .expect("socket connects");
        tokio::time::timeout(TIMEOUT, connected_rx.recv())
            .await
            .expect("connected within the timeout");
        Self { client, events }
    }

    /// Connects over WebSocket only.
    pub async fn websocket(app: &TestApp, token: &str) -> Self {
        Self::connect(app, token, TransportType::Websocket).await
    }

    /// Waits (bounded) for the next event named `name`; returns it and the events before it.
    pub async fn next(&mut self, name: &str) -> (Vec<Value>, Vec<String>) {
        let mut skipped = vec![];
        loop {
            let (event, args) = tokio::time::timeout(TIMEOUT, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no `{name}` within the timeout (saw {skipped:?})"))
                .expect("the client is open");
            if event == name {
                return (args, skipped);
            }
            skipped.push(event);
        }
    }

    /// Waits for the next `user_status_changed` that says something else than `previous` (a
    /// socket's connect snapshot may repeat an `online` it also hears live).
    pub async fn next_status_change(&mut self, previous: &str) -> Vec<Value> {
        loop {
            let args = self.next("user_status_changed").await.0;
            if args.get(1).and_then(Value::as_str) != Some(previous) {
                return args;
            }
        }
    }

    /// Waits (bounded) for the next event of any name: its name and arguments.
    pub async fn next_any(&mut self) -> (String, Vec<Value>) {
        tokio::time::timeout(TIMEOUT, self.events.recv())
            .await
            .expect("an event within the timeout")
            .expect("the client is open")
    }

    /// Waits for `name` and asserts nothing named `unwanted` came before it.
    pub async fn next_without(&mut self, name: &str, unwanted: &str) -> Vec<Value> {
        let (args, skipped) = self.next(name).await;
        assert!(
            !skipped.iter().any(|e| e == unwanted),
            "`{unwanted}` arrived: {skipped:?}"
        );
        args
    }

    /// Emits an event with positional arguments.
    pub async fn emit(&self, event: &str, args: Vec<Value>) {
        self.client
            .emit(event, Payload::Text(args))
            .await
            .expect("emit");
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
    }
}

/// A bare WebSocket Engine.IO v4 session: the open packet read, pings answered.
pub struct RawSocket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl RawSocket {
    /// Opens the transport with extra request headers (cookie, origin, authorization).
    pub async fn open(app: &TestApp, headers: &[(&str, &str)]) -> Self {
        Self::open_at(app.port(), headers).await
    }

    /// Opens the transport to a server on `port` (one the test runs as a separate process).
    pub async fn open_at(port: u16, headers: &[(&str, &str)]) -> Self {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket opens");
        let mut socket = Self { ws };
        let open = socket.next_packet().await.expect("open packet");
        assert!(open.starts_with("0{"), "engine.io open packet: {open}");
        socket
    }

    /// Sends the Socket.IO connect packet (with `auth` when given) and returns the answer:
    /// `40{…}` when accepted, `44{"message":…}` when refused.
    pub async fn connect(&mut self, auth: Option<Value>) -> String {
        let packet = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        self.ws.send(Message::text(packet)).await.unwrap();
        loop {
            let packet = self.next_packet().await.expect("an answer to connect");
            if packet.starts_with("40") || packet.starts_with("44") {
                return packet;
            }
        }
    }

    /// The next Socket.IO/Engine.IO text packet, answering pings; `None` when the socket ends.
    pub async fn next_packet(&mut self) -> Option<String> {
        loop {
            let frame = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("a frame within the timeout");
            match frame {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    self.ws.send(Message::text("3")).await.ok()?;
                }
                Some(Ok(Message::Text(text))) => return Some(text.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Connects with `token` in the handshake payload, asserting it is accepted.
    pub async fn authenticated(app: &TestApp, token: &str) -> Self {
        Self::authenticated_at(app.port(), token).await
    }

    /// [`RawSocket::authenticated`] to a server on `port`.
    pub async fn authenticated_at(port: u16, token: &str) -> Self {
        let mut socket = Self::open_at(port, &[]).await;
        let answer = socket
            .connect(Some(serde_json::json!({ "token": token })))
            .await;
        assert!(answer.starts_with("40"), "{answer}");
        socket
    }

    /// Waits for the event `name` and returns its arguments and the names of events before it.
    pub async fn next_event(&mut self, name: &str) -> (Vec<Value>, Vec<String>) {
        let mut skipped = vec![];
        loop {
            let packet = self
                .next_packet()
                .await
                .unwrap_or_else(|| panic!("the socket closed before `{name}` (saw {skipped:?})"));
            let Some(body) = packet
                .strip_prefix("42")
                .map(|b| b.trim_start_matches(|c: char| c.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let event = items.remove(0).as_str().unwrap_or_default().to_owned();
            if event == name {
                return (items, skipped);
            }
            skipped.push(event);
        }
    }

    /// Emits an event with positional arguments.
    pub async fn emit(&mut self, event: &str, args: Vec<Value>) {
        let mut items = vec![Value::String(event.to_owned())];
        items.extend(args);
        self.send(&format!("42{}", Value::Array(items))).await;
    }

    /// Closes the WebSocket at once (as a dropped connection would end the session).
    pub async fn close_now(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Sends `packet` `count` times as fast as the transport takes them, reading nothing meanwhile
    /// (as a page looping over `socket.emit` does: it reads only once the loop ends). Stops early
    /// if the connection fails.
    pub async fn flood(&mut self, packet: &str, count: usize) {
        for _ in 0..count {
            if self
                .ws
                .send(Message::text(packet.to_owned()))
                .await
                .is_err()
            {
                break;
            }
        }
    }

    /// Emits events in one write, so the server reads them together (as a page that calls
    /// `socket.emit` twice in a row makes it).
    pub async fn emit_together(&mut self, events: &[(&str, Vec<Value>)]) {
        for (event, args) in events {
            let mut items = vec![Value::String((*event).to_owned())];
            items.extend(args.iter().cloned());
            let packet = format!("42{}", Value::Array(items));
            self.ws.feed(Message::text(packet)).await.unwrap();
        }
        self.ws.flush().await.unwrap();
    }

    /// Sends a raw Socket.IO packet (`42[…]` for an event).
    pub async fn send(&mut self, packet: &str) {
        self.ws
            .send(Message::text(packet.to_owned()))
            .await
            .unwrap();
    }
}

/// The code in a refused connect's packet (`44{"message":"NO_TOKEN"}` → `NO_TOKEN`).
pub fn refusal_code(packet: &str) -> Option<String> {
    let json: Value = serde_json::from_str(packet.strip_prefix("44")?).ok()?;
    json["message"].as_str().map(str::to_owned)
}
