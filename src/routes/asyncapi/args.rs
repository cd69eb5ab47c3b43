//! The positional arguments of each event, as JSON schemas: poem-openapi's for the shared types,
//! written here for the plain ones (ids, flags), and the tuple schema of a whole argument list.

use poem_openapi::{registry::Registry, types::Type};
use serde_json::{Map, Value, json};

use crate::wire::{
    Conversation, ErrorCode, Message, PresenceStatus,
    event::{ConversationDeleted, MessageDeleted, MessageDelivered, MessageEdited, MessageRead},
    event_kind::{ClientEventKind, ServerEventKind},
};

/// One positional argument: its name (for people) and its schema.
pub(super) struct Arg {
    name: &'static str,
    description: &'static str,
    schema: Value,
}

pub(super) fn arg(name: &'static str, description: &'static str, schema: Value) -> Arg {
    Arg {
        name,
        description,
        schema,
    }
}

/// A reference to the schema poem-openapi registers for `T` (registering it on the way).
pub(super) fn schema_of<T: Type>(registry: &mut Registry) -> Value {
    T::register(registry);
    serde_json::to_value(T::schema_ref()).unwrap_or(Value::Null)
}

fn uuid(description: &'static str) -> Value {
    json!({"type": "string", "format": "uuid", "description": description})
}

/// The `error` event's argument; the codes are every code the socket layer can send.
fn error_schema() -> Value {
    let codes: Vec<ErrorCode> = ErrorCode::ALL
        .iter()
        .copied()
        .filter(|c| c.surface().is_socket())
        .collect();
    let meanings: Vec<String> = codes
        .iter()
        .map(|c| format!("- `{c}`: {}", c.meaning()))
        .collect();
    json!({
        "type": "object",
        "required": ["message", "code"],
        "properties": {
            "message": {"type": "string", "description": "For humans."},
            "code": {
                "type": "string",
                "enum": codes.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "description": meanings.join("\n"),
            },
        },
    })
}

/// The arguments of a server event, in order (without the trailing cursor of durable events).
pub(super) fn server_args(kind: ServerEventKind, registry: &mut Registry) -> Vec<Arg> {
    use ServerEventKind as K;
    match kind {
        K::NewMessage => vec![arg(
            "message",
            "The message.",
            schema_of::<Message>(registry),
        )],
        K::MessageEdited => vec![arg("edit", "", schema_of::<MessageEdited>(registry))],
        K::MessageDeleted => vec![arg("deletion", "", schema_of::<MessageDeleted>(registry))],
        K::MessageRead => vec![arg("receipt", "", schema_of::<MessageRead>(registry))],
        K::MessageDelivered => vec![arg("receipt", "", schema_of::<MessageDelivered>(registry))],
        K::ConversationCreated => vec![arg(
            "conversation",
            "The conversation.",
            schema_of::<Conversation>(registry),
        )],
        K::ConversationDeleted => {
            vec![arg(
                "deletion",
                "",
                schema_of::<ConversationDeleted>(registry),
            )]
        }
        K::UserStatusChanged => vec![
            arg("userId", "Whose presence changed.", uuid("A user id.")),
            arg("status", "", schema_of::<PresenceStatus>(registry)),
        ],
        K::UserTyping => vec![
            arg("userId", "Who is typing.", uuid("A user id.")),
            arg(
                "isTyping",
                "Typing, or stopped.",
                json!({"type": "boolean"}),
            ),
            arg("conversationId", "Where.", uuid("A conversation id.")),
        ],
        K::Error => vec![arg("error", "What was refused.", error_schema())],
    }
}

/// The arguments of a client event, in order.
pub(super) fn client_args(kind: ClientEventKind, registry: &mut Registry) -> Vec<Arg> {
    match kind {
        ClientEventKind::UpdateStatus => {
            vec![arg("status", "", schema_of::<PresenceStatus>(registry))]
        }
        ClientEventKind::Typing => vec![
            arg(
                "conversationId",
                "A conversation of the caller.",
                uuid("A conversation id."),
            ),
            arg(
                "isTyping",
                "Typing, or stopped.",
                json!({"type": "boolean"}),
            ),
        ],
    }
}

/// A tuple schema over `args`.
pub(super) fn payload(args: Vec<Arg>) -> Value {
    let count = args.len();
    let items: Vec<Value> = args
        .into_iter()
        .map(|a| {
            let mut schema = Map::new();
            schema.insert("title".into(), a.name.into());
            if !a.description.is_empty() {
                schema.insert("description".into(), a.description.into());
            }
            // `$ref` siblings are ignored by JSON Schema draft 07, so the reference is wrapped.
            schema.insert("allOf".into(), json!([a.schema]));
            Value::Object(schema)
        })
        .collect();
    json!({"type": "array", "items": items, "minItems": count, "additionalItems": true})
}
