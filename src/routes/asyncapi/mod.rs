//! The AsyncAPI 3 document of the Socket.IO side (`/asyncapi.json`, `/asyncapi.yaml`), generated
//! from the typed events in `wire`.
//!
//! Every [`ServerEventKind`] and [`ClientEventKind`] is iterated, and the argument shapes come from
//! an exhaustive match per kind, so an event cannot exist without being documented. The argument
//! schemas are the ones poem-openapi derives for the OpenAPI document (one registry, the same
//! `Message`, `Conversation`, … as the REST routes), under `components.schemas`, where AsyncAPI
//! keeps them too, so their `$ref`s need no rewriting.
//!
//! Socket.IO sends an event as a name plus positional arguments; each message's payload is
//! therefore a tuple (an array schema with one `items` entry per argument, draft-07 style, which the
//! AsyncAPI schema format uses). Extensions `x-recipients`, `x-durable`, `x-acknowledgement`,
//! `x-direction` and `x-order` (the contract's order; JSON objects here are sorted by key) carry
//! what AsyncAPI has no field for; the docs page reads them.

mod args;

use poem_openapi::{registry::Registry, types::ToJSON};
use serde_json::{Map, Value, json};
use strum::IntoEnumIterator;

use self::args::{arg, client_args, payload, schema_of, server_args};
use crate::wire::{
    Conversation, Message,
    event::CursorArg,
    event_kind::{ClientEventKind, ServerEventKind},
};

/// The AsyncAPI 3 document, for a server reached at `public_url`.
pub fn document(public_url: &str) -> Value {
    let mut registry = Registry::new();
    let mut messages = Map::new();
    let mut channel_messages = Map::new();
    let mut operations = Map::new();
    for (order, kind) in ServerEventKind::iter().enumerate() {
        let name = kind.name();
        let mut args = server_args(kind, &mut registry);
        if kind.is_durable() {
            args.push(arg(
                "meta",
                "`{cursor}`: this event's position in the caller's event stream.",
                schema_of::<CursorArg>(&mut registry),
            ));
        }
        let mut message = json!({
            "name": name,
            "title": name,
            "summary": kind.summary(),
            "payload": payload(args),
            "x-direction": "server-to-client",
            "x-recipients": kind.recipients(),
            "x-durable": kind.is_durable(),
            "x-acknowledgement": kind.asks_acknowledgement(),
            "x-order": order,
        });
        if let Some(example) = example(kind) {
            message["examples"] = json!([{"name": "example", "payload": example}]);
        }
        messages.insert(name.into(), message);
        channel_messages.insert(
            name.into(),
            json!({"$ref": format!("#/components/messages/{name}")}),
        );
        let mut operation = json!({
            "action": "send",
            "channel": {"$ref": "#/channels/user"},
            "title": format!("Server sends {name}"),
            "summary": kind.summary(),
            "description": format!("**To:** {}", kind.recipients()),
            "messages": [{"$ref": format!("#/channels/user/messages/{name}")}],
        });
        if kind.asks_acknowledgement() {
            operation["reply"] = json!({
                "channel": {"$ref": "#/channels/user"},
                "messages": [{"$ref": "#/channels/user/messages/delivery_ack"}],
            });
        }
        operations.insert(format!("send_{name}"), operation);
    }
    for (order, kind) in ClientEventKind::iter().enumerate() {
        let name = kind.name();
        let errors: Vec<String> = kind.errors().iter().map(|c| format!("`{c}`")).collect();
        messages.insert(
            name.into(),
            json!({
                "name": name,
                "title": name,
                "summary": kind.summary(),
                "payload": payload(client_args(kind, &mut registry)),
                "x-direction": "client-to-server",
                "x-order": order,
                "x-errors": kind.errors().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            }),
        );
        channel_messages.insert(
            name.into(),
            json!({"$ref": format!("#/components/messages/{name}")}),
        );
        operations.insert(
            format!("receive_{name}"),
            json!({
                "action": "receive",
                "channel": {"$ref": "#/channels/user"},
                "title": format!("Client sends {name}"),
                "summary": kind.summary(),
                "description": format!("Refused with an `error` event: {}.", errors.join(", ")),
                "messages": [{"$ref": format!("#/channels/user/messages/{name}")}],
            }),
        );
    }
    messages.insert(
        "delivery_ack".into(),
        json!({
            "name": "delivery_ack",
            "title": "new_message acknowledgement",
            "summary": "The recipient calls the acknowledgement callback socket.io-client passes \
                        as the handler's last argument (no arguments needed): the message becomes \
                        `delivered`. A client that never calls it is unaffected.",
            "payload": {"type": "array", "maxItems": 0},
            "x-direction": "client-to-server",
        }),
    );
    channel_messages.insert(
        "delivery_ack".into(),
        json!({"$ref": "#/components/messages/delivery_ack"}),
    );
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Confab realtime API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {"confab": server(public_url)},
        "channels": {
            "user": {
                "address": "/",
                "title": "The caller's events",
                "description": "Socket.IO's default namespace `/`. Every socket joins the room \
                                named by its user's id; events reach users through their rooms.",
                "messages": channel_messages,
            },
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": serde_json::to_value(&registry.schemas).unwrap_or_default(),
            "securitySchemes": {
                "SessionCookie": {
                    "type": "httpApiKey",
                    "in": "cookie",
                    "name": "auth",
                    "description": "The `auth` cookie of a browser session (sent by the browser).",
                },
                "BearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The session token, as `auth.token` in the handshake payload \
                                    or an `Authorization: Bearer` header.",
                },
            },
        },
    })
}

const DESCRIPTION: &str = "Socket.IO (Engine.IO v4, websocket or polling) at `/socket.io/` on the \
    same host and port as the REST API. The handshake authenticates with the `auth` cookie, \
    `auth.token` in the handshake payload, or an `Authorization: Bearer` header; a refusal reaches \
    the client as `connect_error` whose message is the code (`NO_TOKEN`, `INVALID_TOKEN`, \
    `TOKEN_EXPIRED`, `SESSION_REVOKED`, `ORIGIN_NOT_ALLOWED`).\n\n\
    Durable events carry one more, trailing argument `{cursor}`; pass the last cursor seen as \
    `auth.since` when reconnecting to receive everything missed, in order and once. Clients that do \
    not know about cursors ignore the extra argument.";

/// The server object: Socket.IO over the same origin as `public_url`.
fn server(public_url: &str) -> Value {
    let (protocol, host) = match url::Url::parse(public_url) {
        Ok(url) => (
            if url.scheme() == "https" { "wss" } else { "ws" },
            match (url.host_str(), url.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_owned(),
                _ => "localhost".to_owned(),
            },
        ),
        Err(_) => ("ws", "localhost".to_owned()),
    };
    json!({
        "host": host,
        "protocol": protocol,
        "pathname": "/socket.io/",
        "description": "Socket.IO 5 over Engine.IO 4 (websocket, or HTTP long-polling then upgrade).",
        "security": [
            {"$ref": "#/components/securitySchemes/SessionCookie"},
            {"$ref": "#/components/securitySchemes/BearerToken"},
        ],
    })
}

/// An example argument list for the events whose payload has an example (the DTOs').
fn example(kind: ServerEventKind) -> Option<Value> {
    let cursor = json!({"cursor": "42-9b0c1d2e"});
    match kind {
        ServerEventKind::NewMessage => Some(json!([
            <Message as poem_openapi::types::Example>::example().to_json(),
            cursor
        ])),
        ServerEventKind::ConversationCreated => Some(json!([
            <Conversation as poem_openapi::types::Example>::example().to_json(),
            cursor
        ])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ClientEvent, ErrorCode, ServerEvent};

    #[test]
    fn every_event_is_in_the_document_with_its_arguments_and_recipients() {
        let doc = document("http://localhost:7200");
        let messages = doc["components"]["messages"].as_object().unwrap();
        for kind in ServerEventKind::iter() {
            let message = &messages[kind.name()];
            assert_eq!(message["x-direction"], "server-to-client", "{kind:?}");
            assert!(
                message["x-recipients"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty())
            );
            let items = message["payload"]["items"].as_array().unwrap();
            let last = &items[items.len() - 1];
            assert_eq!(kind.is_durable(), last["title"] == "meta", "{kind:?}");
            assert!(doc["operations"][format!("send_{}", kind.name())].is_object());
        }
        for name in ClientEvent::NAMES {
            assert_eq!(messages[name]["x-direction"], "client-to-server");
            assert!(doc["operations"][format!("receive_{name}")].is_object());
        }
        let names: Vec<&str> = ClientEventKind::iter().map(ClientEventKind::name).collect();
        assert_eq!(names, ClientEvent::NAMES, "NAMES lists every client event");
        assert!(doc["operations"]["send_new_message"]["reply"].is_object());
        assert_eq!(doc["servers"]["confab"]["host"], "localhost:7200");
    }

    #[test]
    fn argument_schemas_are_the_ones_of_the_rest_document() {
        let doc = document("https://chat.example.com");
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["Message"]["properties"]["clientMessageId"].is_object());
        assert!(schemas["MessageEdited"]["properties"]["editedAt"].is_object());
        assert_eq!(doc["servers"]["confab"]["protocol"], "wss");
        // Every `$ref` points at something in the document.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = reference.split('"').next().unwrap();
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "dangling reference {pointer}"
            );
        }
    }

    #[test]
    fn the_wire_name_of_every_event_comes_from_its_kind() {
        let event = ServerEvent::error(ErrorCode::RateLimited, "slow down");
        assert_eq!(event.name(), event.kind().name());
        assert_eq!(ServerEvent::NEW_MESSAGE, "new_message");
    }
}
