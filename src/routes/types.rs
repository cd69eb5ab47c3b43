//! Wire types shared by the routes.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// A timestamp on the wire: RFC 3339 UTC with milliseconds and `Z`
/// (`2026-01-02T03:04:05.678Z`), as the original's `Date.toISOString()` wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The wire text.
    pub fn to_wire(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
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

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.to_wire()))
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Self(t.with_timezone(&Utc)))
                .map_err(|_| ParseError::custom("expected an RFC 3339 timestamp")),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

/// A plain acknowledgement.
#[derive(Debug, Clone, Object)]
pub struct Ack {
    /// Always `true`.
    pub success: bool,
    /// What happened.
    pub message: String,
}

impl Ack {
    /// A successful acknowledgement with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            success: true,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678912+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Timestamp(t).to_wire(), "2026-01-02T03:04:05.678Z");
    }
}
