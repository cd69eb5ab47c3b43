//! The inputs of the message routes: content (trimmed, bounded, storable), the send/edit body,
//! and the `before`/`after` history cursor.

use uuid::Uuid;

use crate::{
    data::message::Cursor,
    error::{ApiError, Location},
};

/// Longest message, in Unicode scalar values after trimming.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// [`MessageContent::parse`]'s rule as a regular expression, for the OpenAPI document: optional
/// whitespace, then 1 to 2000 characters that start and end with non-whitespace, then optional
/// whitespace; U+0000 nowhere.
const CONTENT_PATTERN: &str = concat!(
    "^[",
    crate::routes::param::white_space!(),
    r"]*[^\u0000",
    crate::routes::param::white_space!(),
    r"]([^\u0000]{0,1998}[^\u0000",
    crate::routes::param::white_space!(),
    "])?[",
    crate::routes::param::white_space!(),
    "]*$"
);

/// Message content: trimmed, 1 to 2000 Unicode scalar values (send and edit alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Trims and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ApiError::InvalidContent("Message content cannot be empty"));
        }
        if trimmed.contains('\0') {
            // PostgreSQL cannot store U+0000 in text (contract §1).
            return Err(ApiError::InvalidContent(
                "Message content cannot contain U+0000",
            ));
        }
        if trimmed.chars().count() > MAX_CONTENT_CHARS {
            return Err(ApiError::InvalidContent(
                "Message content cannot be longer than 2000 characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The content.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The content, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The longest idempotency key (contract §6.2).
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 64;

/// Parses a send's `clientMessageId`: absent or `null` is none; otherwise 1 to 64 characters from
/// `A-Z a-z 0-9 . _ : -` (a UUID fits), else `400 SCHEMA_VALIDATION_ERROR` naming the field.
pub fn client_message_id(raw: Option<serde_json::Value>) -> Result<Option<String>, ApiError> {
    let invalid = || ApiError::Validation {
        location: Location::Body,
        field: "clientMessageId".into(),
        reason: "must be 1 to 64 characters from A-Z a-z 0-9 . _ : -".into(),
    };
    match raw {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(key)) => {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
            if key.is_empty()
                || key.len() > MAX_CLIENT_MESSAGE_ID_CHARS
                || !key.chars().all(allowed)
            {
                return Err(invalid());
            }
            Ok(Some(key))
        }
        Some(_) => Err(invalid()),
    }
}

/// The body of send and edit: `{"content": string, "clientMessageId"?: string}`.
///
/// Parsed by hand rather than derived: poem-openapi's `String` accepts numbers and booleans
/// (`{"content":123}` would be stored as `"123"`), and its errors do not name the field, while the
/// contract wants wrong types refused with `<field>: <reason>`.
#[derive(Debug, Clone)]
pub struct MessageContentRequest {
    /// 1 to 2000 characters after trimming.
    pub content: String,
    /// The send's idempotency key as given (validated by [`client_message_id`]; edits ignore it).
    pub client_message_id: Option<serde_json::Value>,
}

impl poem_openapi::types::Type for MessageContentRequest {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "MessageContentRequest".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        use poem_openapi::registry::MetaSchema;
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some("The text of a message."),
            required: vec!["content"],
            properties: vec![
                (
                    "content",
                    poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
                        description: Some(
                            "1 to 2000 characters (Unicode scalar values) after trimming leading \
                             and trailing whitespace, which is not stored; no U+0000. `maxLength` \
                             cannot say \"after trimming\", so `pattern` states the whole rule.",
                        ),
                        min_length: Some(1),
                        pattern: Some(CONTENT_PATTERN.into()),
                        ..MetaSchema::new("string")
                    })),
                ),
                (
                    "clientMessageId",
                    poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
                        description: Some(
                            "Send only: an idempotency key, 1 to 64 characters from \
                             `A-Z a-z 0-9 . _ : -` (a UUID fits). A retry with the same key \
                             answers `200` with the stored message and stores nothing.",
                        ),
                        pattern: Some("^[A-Za-z0-9._:-]{1,64}$".into()),
                        nullable: true,
                        ..MetaSchema::new("string")
                    })),
                ),
            ],
            example: Some(serde_json::json!({
                "content": "Hi Bob! Lunch at **noon**?",
                "clientMessageId": "0193a1b5-4f5a-7b6c-9d7e-000000000001",
            })),
            ..MetaSchema::new("object")
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ParseFromJSON for MessageContentRequest {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        use poem_openapi::types::ParseError;
        use serde_json::Value;
        // Messages read "<field>: <reason>"; the error edge turns them into the contract's text.
        match value {
            Some(Value::Object(mut fields)) => match fields.remove("content") {
                Some(Value::String(content)) => Ok(Self {
                    content,
                    client_message_id: fields.remove("clientMessageId"),
                }),
                None | Some(Value::Null) => Err(ParseError::custom("content: is required")),
                Some(other) => Err(ParseError::custom(format!(
                    "content: must be a string, found {}",
                    json_kind(&other)
                ))),
            },
            Some(other) => Err(ParseError::custom(format!(
                "root: must be an object, found {}",
                json_kind(&other)
            ))),
            None => Err(ParseError::custom("root: a JSON body is required")),
        }
    }
}

impl poem_openapi::types::ToJSON for MessageContentRequest {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "content": self.content }))
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Parses `before` (a message id or an RFC 3339 timestamp) and `after` (a message id).
pub fn cursor(before: Option<String>, after: Option<Uuid>) -> Result<Cursor, ApiError> {
    let invalid = |reason: &str| ApiError::Validation {
        location: Location::Querystring,
        field: "before".into(),
        reason: reason.into(),
    };
    match (before, after) {
        (Some(_), Some(_)) => Err(invalid("give `before` or `after`, not both")),
        (None, Some(after)) => Ok(Cursor::AfterMessage(after)),
        (None, None) => Ok(Cursor::Latest),
        (Some(before), None) => {
            if let Ok(id) = Uuid::parse_str(&before) {
                return Ok(Cursor::BeforeMessage(id));
            }
            chrono::DateTime::parse_from_rfc3339(&before)
                .map(|t| Cursor::BeforeTime(t.with_timezone(&chrono::Utc)))
                .map_err(|_| invalid("must be a message id or an RFC 3339 timestamp"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(MessageContent::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(MessageContent::parse(" \t\n ").is_err());
        assert!(MessageContent::parse(&"é".repeat(2000)).is_ok());
        assert!(MessageContent::parse(&"é".repeat(2001)).is_err());
        assert!(MessageContent::parse(&format!("  {}  ", "a".repeat(2000))).is_ok());
    }

    #[test]
    fn before_takes_an_id_or_a_timestamp_and_not_with_after() {
        let id = Uuid::now_v7();
        assert_eq!(
            cursor(Some(id.to_string()), None).unwrap(),
            Cursor::BeforeMessage(id)
        );
        assert!(matches!(
            cursor(Some("2026-01-02T03:04:05.678Z".into()), None).unwrap(),
            Cursor::BeforeTime(_)
        ));
        assert!(cursor(Some("yesterday".into()), None).is_err());
        assert!(cursor(Some(id.to_string()), Some(id)).is_err());
    }

    /// The pattern in the OpenAPI document accepts exactly what the server accepts.
    fn documented(raw: &str) -> bool {
        static PATTERN: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(CONTENT_PATTERN).unwrap());
        PATTERN.is_match(raw)
    }

    #[test]
    fn the_documented_pattern_is_the_content_rule_at_its_edges() {
        for raw in [
            "a".to_owned(),
            " \u{3000}a\u{85}\n".to_owned(),
            "a".repeat(2000),
            format!("\t{}  ", "é".repeat(2000)),
            format!("a{}b", " ".repeat(1998)),
            "a".repeat(2001),
            format!("a{}b", " ".repeat(1999)),
            String::new(),
            " \u{2028}\u{a0}".into(),
            "a\0b".into(),
            "\u{1c}".into(),
            "\u{feff}".into(),
        ] {
            assert_eq!(
                documented(&raw),
                MessageContent::parse(&raw).is_ok(),
                "{raw:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_documented_pattern_is_the_content_rule(
            raw in "[ \t\n\u{85}\u{a0}\u{3000}\u{1c}\u{feff}\0a-c]{0,8}"
        ) {
            prop_assert_eq!(documented(&raw), MessageContent::parse(&raw).is_ok());
        }

        #[test]
        fn parsed_content_is_never_blank_or_too_long(raw in "\\PC{0,2100}") {
            if let Ok(content) = MessageContent::parse(&raw) {
                prop_assert!(!content.as_str().trim().is_empty());
                prop_assert!(content.as_str().chars().count() <= MAX_CONTENT_CHARS);
                prop_assert_eq!(content.as_str(), content.as_str().trim());
            }
        }
    }
}
