//! [`StoredArgs`]: a durable event's arguments as the JSON text they were stored as (contract §6.1).
//!
//! A stored event goes from the database to a socket or a `/sync` answer unchanged, so its
//! arguments stay text on the way: parsing them into a `serde_json::Value` tree only to write the
//! tree out again was a fifth of the server's CPU for `/sync` pages (perf, BENCHMARKS.md,
//! milestone 2, fourth session). serde_json's `RawValue` writes the text as is.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchemaRef, Registry},
    types::{ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeTuple};
use serde_json::{Value, value::RawValue};
use uuid::Uuid;

/// An event's arguments: one JSON array, without the trailing `{cursor}` (contract §6.1).
#[derive(Debug, Clone)]
pub struct StoredArgs(Box<RawValue>);

impl StoredArgs {
    /// Takes stored JSON text; `None` unless it is a JSON array.
    pub fn from_json(text: String) -> Option<Self> {
        let raw = RawValue::from_string(text).ok()?;
        raw.get().starts_with('[').then_some(Self(raw))
    }

    /// Arguments as read from an `events` row: a row that is not a JSON array (never written by
    /// this server) is sent as no arguments rather than failing the whole read.
    pub fn from_stored(text: String) -> Self {
        Self::from_json(text).unwrap_or_else(Self::empty)
    }

    /// Arguments from anything that serializes to a JSON array (`ServerEvent::args`, values);
    /// no arguments if it does not.
    pub fn of<T: Serialize + ?Sized>(args: &T) -> Self {
        serde_json::to_string(args)
            .ok()
            .and_then(Self::from_json)
            .unwrap_or_else(Self::empty)
    }

    /// No arguments.
    pub fn empty() -> Self {
        // `[]` is valid JSON; the fallback only keeps this free of panics.
        Self(RawValue::from_string("[]".into()).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The JSON text of the array.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// Each argument's JSON text, in order (a scan of the text; nothing is copied).
    pub fn each(&self) -> Result<Vec<&RawValue>, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The arguments parsed into values (for the rare rewrite, and for documentation examples).
    pub fn to_values(&self) -> Vec<Value> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// The ids a message payload in the first argument carries (`id`, `sender`, `conversation`),
    /// read without building values for the rest.
    pub fn first_message_ids(&self) -> Option<MessageIds> {
        let first = *self.each().ok()?.first()?;
        serde_json::from_str(first.get()).ok()
    }

    /// The arguments with `last` appended as one more argument (the `{cursor}` of contract §6.1),
    /// for Socket.IO's positional arguments. The text is split once here: socketioxide serializes
    /// emitted data twice (once to see whether it is a tuple).
    pub fn followed_by<'a, T: Serialize>(
        &'a self,
        last: &'a T,
    ) -> Result<FollowedBy<'a, T>, serde_json::Error> {
        Ok(FollowedBy {
            args: self.each()?,
            last,
        })
    }
}

/// The identifying fields of a message payload (contract §1.2).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct MessageIds {
    /// The message.
    pub id: Uuid,
    /// Who sent it.
    pub sender: Uuid,
    /// Its conversation.
    pub conversation: Uuid,
}

/// [`StoredArgs::followed_by`].
pub struct FollowedBy<'a, T> {
    args: Vec<&'a RawValue>,
    last: &'a T,
}

impl<T: Serialize> Serialize for FollowedBy<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.args.len() + 1)?;
        for arg in &self.args {
            tuple.serialize_element(arg)?;
        }
        tuple.serialize_element(self.last)?;
        tuple.end()
    }
}

/// Compares the text: the same event read back from the Redis bus has its keys in another order
/// and compares unequal; nothing compares events across instances.
impl PartialEq for StoredArgs {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for StoredArgs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Read through a `Value`: `RawValue` cannot be read inside internally tagged enums (serde
/// buffers those), and the Redis bus carries events in one.
impl<'de> Deserialize<'de> for StoredArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Vec::<Value>::deserialize(deserializer)?;
        Ok(Self::of(&values))
    }
}

/// Documented as the array of any values it is.
impl Type for StoredArgs {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        <Vec<Value> as Type>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        <Vec<Value> as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Vec<Value> as Type>::register(registry);
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

impl ToJSON for StoredArgs {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Array(self.to_values()))
    }
}

impl ParseFromJSON for StoredArgs {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::Array(values) => Ok(Self::of(&values)),
            other => Err(poem_openapi::types::ParseError::expected_type(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_text_is_written_as_stored_and_the_cursor_follows_the_arguments() {
        let args = StoredArgs::from_json(r#"[{"b":1,"a":"x"}, 2]"#.into()).unwrap();
        assert_eq!(
            serde_json::to_string(&args.followed_by(&json!({"cursor": "c"})).unwrap()).unwrap(),
            r#"[{"b":1,"a":"x"},2,{"cursor":"c"}]"#
        );
        assert_eq!(
            serde_json::to_string(&args).unwrap(),
            r#"[{"b":1,"a":"x"}, 2]"#
        );
    }

    #[test]
    fn only_a_json_array_is_taken() {
        assert!(StoredArgs::from_json("{}".into()).is_none());
        assert!(StoredArgs::from_json("[1".into()).is_none());
        assert_eq!(StoredArgs::empty().as_json(), "[]");
    }

    #[test]
    fn it_reads_back_inside_an_internally_tagged_enum() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[serde(tag = "kind")]
        enum Tagged {
            Events { args: StoredArgs },
        }
        let before = Tagged::Events {
            args: StoredArgs::of(&[json!({"id": 1})]),
        };
        let text = serde_json::to_string(&before).unwrap();
        assert_eq!(serde_json::from_str::<Tagged>(&text).unwrap(), before);
    }

    #[test]
    fn the_ids_of_a_message_in_the_first_argument_are_read() {
        let (id, sender, conversation) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let args = StoredArgs::of(&[
            json!({"id": id, "sender": sender, "conversation": conversation, "content": "hi"}),
        ]);
        let ids = args.first_message_ids().unwrap();
        assert_eq!(
            (ids.id, ids.sender, ids.conversation),
            (id, sender, conversation)
        );
        assert!(StoredArgs::of(&[json!("x")]).first_message_ids().is_none());
    }
}
