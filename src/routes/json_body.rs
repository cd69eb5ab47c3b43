//! [`JsonBody`]: the JSON payload of every successful response, written by serde straight into
//! bytes.
//!
//! poem-openapi's own `Json<T>` renders a response through `ToJSON` into a `serde_json::Value`
//! tree and then serializes the tree, so every field is allocated, written and freed twice. For
//! `GET /conversations?limit=100` that was a fifth of the server's CPU (perf, BENCHMARKS.md,
//! milestone 2, fourth session). The wire types derive both poem-openapi's `Object`, which gives
//! the schema in the OpenAPI document, and serde's `Serialize`, which writes the bytes; the tests
//! in `wire` and below hold the two renderings equal, so the document still describes exactly what
//! is sent.

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
};
use serde::Serialize;

/// A JSON response body (`application/json; charset=utf-8`) whose schema is `T`'s.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        poem_openapi::payload::Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Serialize + Send> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .content_type(<Self as Payload>::CONTENT_TYPE)
                .body(body),
            // Unreachable for the wire types (no maps with non-string keys, no failing
            // `Serialize` impls), and no panic if it ever happened: the body is the contract's
            // internal error, but the `ApiResponse` derive then sets its variant's status, so it
            // would go out as that status. Logged for that reason.
            Err(e) => {
                let error = crate::error::ApiError::Internal(e.into());
                tracing::error!(error = %error, "a response body could not be serialized");
                poem::error::ResponseError::as_response(&error)
            }
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for JsonBody<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: <Self as Payload>::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::{Example, ToJSON};

    use super::*;
    use crate::{
        routes::{infra::Health, message::EditMessageResult},
        wire::{Ack, Conversation, Message, MessageVersion, User, dto::SyncPage},
    };

    /// serde's rendering of `value` equals the one the OpenAPI document describes.
    fn renders_as_documented<T: Serialize + ToJSON>(value: &T) {
        assert_eq!(
            serde_json::to_value(value).unwrap(),
            value.to_json().unwrap(),
            "{}",
            std::any::type_name::<T>()
        );
    }

    #[test]
    fn every_response_body_renders_as_its_schema_says() {
        renders_as_documented(&Ack::example());
        renders_as_documented(&User::example());
        renders_as_documented(&Message::example());
        renders_as_documented(&MessageVersion::example());
        renders_as_documented(&SyncPage::example());
        renders_as_documented(&EditMessageResult::example());
        renders_as_documented(&Health::example());
        let conversation = Conversation::example();
        assert!(conversation.last_message.is_some());
        renders_as_documented(&vec![conversation.clone(), conversation]);
    }

    #[test]
    fn absent_values_render_as_their_schema_says() {
        let mut user = User::example();
        (user.email, user.name, user.avatar) = (None, None, None);
        renders_as_documented(&user);
        let mut conversation = Conversation::example();
        conversation.last_message = None;
        renders_as_documented(&conversation);
        let mut message = Message::example();
        (message.edited_at, message.client_message_id) = (None, None);
        renders_as_documented(&message);
        let mut health = Health::example();
        health.redis = None;
        health.database.latency_ms = None;
        renders_as_documented(&health);
    }

    #[test]
    fn the_body_is_json_with_the_documented_content_type() {
        let response = JsonBody(Ack::new("done")).into_response();
        assert_eq!(
            response.content_type(),
            Some("application/json; charset=utf-8")
        );
    }
}
