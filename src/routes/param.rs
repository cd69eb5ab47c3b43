//! Query parameter types whose OpenAPI schema states exactly what the server accepts.
//!
//! poem-openapi's own `String` and `u64` schemas say less than the server enforces (U+0000 is
//! refused at the edge, a search query must not be blank, `page` stops at 2^64-1), and its
//! validators would enforce a declared rule with the wrong code (`SCHEMA_VALIDATION_ERROR` where the
//! contract wants `INVALID_QUERY`). These types only *declare* those rules; the check stays where it
//! was (the edge for U+0000, the handler for blank queries and cursors) and answers with its own
//! code. The patterns spell whitespace out as Unicode `White_Space`, the set `str::trim` removes,
//! because `\s` means slightly different things in ECMAScript, Python and Rust.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, Type},
};

/// Unicode `White_Space` as a regex class body: exactly what `str::trim` removes.
macro_rules! white_space {
    () => {
        r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
pub(crate) use white_space;

/// Any text without U+0000.
pub const NO_NUL_PATTERN: &str = r"^[^\u0000]*$";

/// Text without U+0000 that has at least one character besides whitespace.
pub const NON_BLANK_PATTERN: &str =
    concat!(r"^[^\u0000]*[^\u0000", white_space!(), r"][^\u0000]*$");

/// Implements `Type` for a one-field query parameter newtype with an inline schema.
macro_rules! param_type {
    ($ty:ident, $raw:ty, $name:literal, $schema:expr) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = $raw;
            type RawElementValueType = $raw;

            fn name() -> Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}

/// Free text. U+0000 is refused by the request edge (contract §1) before this is parsed.
#[derive(Debug, Clone)]
pub struct Text(pub String);

param_type!(
    Text,
    String,
    "string_text",
    MetaSchema {
        pattern: Some(NO_NUL_PATTERN.into()),
        ..MetaSchema::new("string")
    }
);

impl ParseFromParameter for Text {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

/// A search query: not blank, no U+0000. Parsed as is; the search handlers refuse a blank one
/// with `INVALID_QUERY` (the edge refuses U+0000 with the same code).
#[derive(Debug, Clone)]
pub struct SearchText(pub String);

param_type!(
    SearchText,
    String,
    "string_search",
    MetaSchema {
        min_length: Some(1),
        pattern: Some(NON_BLANK_PATTERN.into()),
        ..MetaSchema::new("string")
    }
);

impl ParseFromParameter for SearchText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

/// A page number: 1 to 2^64-1; a page past the last one is empty, however large.
///
/// poem-openapi keeps bounds as `f64`, which has no 2^64-1, so the schema says `< 2^64`
/// (exact in `f64`) and [`exact_integer_bounds`] rewrites that into the integer `maximum`
/// 18446744073709551615 in the served document: tools that read a float bound compare in floats,
/// and then 2^64 + 382 passes as "below 2^64".
#[derive(Debug, Clone, Copy)]
pub struct PageNumber(pub u64);

param_type!(
    PageNumber,
    u64,
    "integer_page",
    MetaSchema {
        minimum: Some(1.0),
        maximum: Some(18_446_744_073_709_551_616.0),
        exclusive_maximum: Some(true),
        ..MetaSchema::new_with_format("integer", "uint64")
    }
);

impl ParseFromParameter for PageNumber {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value.parse::<u64>() {
            Ok(0) => Err(ParseError::custom("must be at least 1")),
            Ok(page) => Ok(Self(page)),
            Err(_) => Err(ParseError::custom(
                "must be an integer from 1 to 18446744073709551615",
            )),
        }
    }
}

/// Rewrites every `uint64` schema bounded by `maximum` 2^64 with `exclusiveMaximum` (the only way
/// [`PageNumber`] can say it in poem-openapi's `f64`) into the exact inclusive integer bound.
pub fn exact_integer_bounds(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let is_u64_max = map.get("format").and_then(Value::as_str) == Some("uint64")
                && map.get("exclusiveMaximum") == Some(&Value::Bool(true))
                && map.get("maximum").and_then(Value::as_f64) == Some(2f64.powi(64));
            if is_u64_max {
                map.remove("exclusiveMaximum");
                map.insert("maximum".into(), u64::MAX.into());
            }
            map.values_mut().for_each(exact_integer_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(exact_integer_bounds),
        _ => {}
    }
}

/// The `before` history cursor: a message id or an RFC 3339 date-time. Parsed as text; the
/// message routes read it (and refuse anything else as `SCHEMA_VALIDATION_ERROR` naming `before`).
#[derive(Debug, Clone)]
pub struct MessageOrTime(pub String);

param_type!(
    MessageOrTime,
    String,
    "string_before",
    MetaSchema {
        any_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "uuid"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
        ],
        ..MetaSchema::new("string")
    }
);

impl ParseFromParameter for MessageOrTime {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whitespace class is exactly what `str::trim` removes.
    #[test]
    fn the_white_space_class_matches_str_trim() {
        let listed: Vec<char> = ('\t'..='\r')
            .chain([' ', '\u{85}', '\u{a0}', '\u{1680}'])
            .chain('\u{2000}'..='\u{200a}')
            .chain(['\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}'])
            .collect();
        for c in '\0'..=char::MAX {
            assert_eq!(
                c.is_whitespace(),
                listed.contains(&c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn the_documented_patterns_refuse_nul_and_blank_text() {
        let no_nul = regex::Regex::new(NO_NUL_PATTERN).unwrap();
        let non_blank = regex::Regex::new(NON_BLANK_PATTERN).unwrap();
        assert!(no_nul.is_match("") && no_nul.is_match("a b\n"));
        assert!(!no_nul.is_match("a\0"));
        for ok in ["a", " a ", "\u{1c}", "\u{feff}", "%_"] {
            assert!(non_blank.is_match(ok), "{ok:?}");
            assert!(!ok.trim().is_empty());
        }
        for blank in ["", " ", "\t\u{3000}\u{85}", "a\0"] {
            assert!(!non_blank.is_match(blank), "{blank:?}");
        }
    }

    #[test]
    fn the_page_bound_is_served_as_the_exact_largest_u64() {
        let schema = match PageNumber::schema_ref() {
            MetaSchemaRef::Inline(schema) => serde_json::to_value(*schema).unwrap(),
            MetaSchemaRef::Reference(_) => unreachable!("page numbers are inline"),
        };
        let mut doc = serde_json::json!({ "parameters": [{ "schema": schema }] });
        exact_integer_bounds(&mut doc);
        let bounded = &doc["parameters"][0]["schema"];
        assert_eq!(bounded["maximum"].as_u64(), Some(u64::MAX));
        assert_eq!(bounded["minimum"], 1.0);
        assert!(bounded.get("exclusiveMaximum").is_none());
    }

    #[test]
    fn page_numbers_run_from_one_to_the_largest_u64() {
        assert!(PageNumber::parse_from_parameter("0").is_err());
        assert!(PageNumber::parse_from_parameter("1.5").is_err());
        assert!(PageNumber::parse_from_parameter("18446744073709551616").is_err());
        assert_eq!(
            PageNumber::parse_from_parameter("18446744073709551615")
                .unwrap()
                .0,
            u64::MAX
        );
        // The declared exclusive bound is exactly 2^64.
        assert_eq!(18_446_744_073_709_551_616.0_f64, 2f64.powi(64));
    }
}
