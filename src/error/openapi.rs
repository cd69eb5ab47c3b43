//! The errors of each operation in the OpenAPI document, derived from [`ErrorCode`].
//!
//! An operation names its codes as a list of constant lists ([`ErrorSet::CODES`]); the shared ones
//! (`AUTHENTICATED`, `JSON_BODY`, `PARAMETERS`) live beside [`ErrorCode`], and [`ALWAYS`] is
//! added to every operation. The document shows each status of an operation's own codes once, its
//! description a Markdown list of those codes with their meanings; the [`ALWAYS`] codes, the same for
//! every operation, are one `default` response instead of six statuses repeated under each
//! operation. [`add_error_examples`] gives each response an example body of its own first code
//! (poem-openapi's response metadata has no example field).

use poem_openapi::{
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

pub use crate::wire::error_code::ALWAYS;
use crate::{error::ApiError, error::ErrorBody, wire::ErrorCode};

/// The errors of one operation (or a family of them), listed in the OpenAPI document.
pub trait ErrorSet: Send + Sync + 'static {
    /// Every code the operation can answer with besides [`ALWAYS`], as lists to concatenate.
    const CODES: &'static [&'static [ErrorCode]];

    /// Every code, [`ALWAYS`] included, each once.
    fn codes() -> Vec<ErrorCode> {
        let mut codes: Vec<ErrorCode> = Vec::new();
        for code in Self::CODES
            .iter()
            .chain([&ALWAYS])
            .flat_map(|list| list.iter())
        {
            if !codes.contains(code) {
                codes.push(*code);
            }
        }
        codes
    }
}

/// Declares a unit type implementing [`ErrorSet`] with the given code lists.
///
/// `error_set!(SendErrors: AUTHENTICATED, JSON_BODY, [ErrorCode::InvalidContent]);`
#[macro_export]
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($list:tt),* $(,)?) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::error::ErrorSet for $name {
            const CODES: &'static [&'static [$crate::wire::ErrorCode]] =
                &[$($crate::error_set!(@list $list)),*];
        }
    };
    (@list [$($code:expr),* $(,)?]) => { &[$($code),*] };
    (@list $list:ident) => { $crate::wire::error_code::$list };
}

/// An [`ApiError`] returned by an operation whose possible errors are the set `S`: handlers return
/// `Result<…Response, Failure<S>>` and use `?` on anything that converts into `ApiError`.
pub struct Failure<S: ErrorSet>(pub ApiError, std::marker::PhantomData<S>);

impl<S: ErrorSet, E: Into<ApiError>> From<E> for Failure<S> {
    fn from(err: E) -> Self {
        Self(err.into(), std::marker::PhantomData)
    }
}

impl<S: ErrorSet> From<Failure<S>> for poem::Error {
    fn from(failure: Failure<S>) -> Self {
        poem::Error::from(failure.0)
    }
}

impl<S: ErrorSet> poem_openapi::ApiResponse for Failure<S> {
    fn meta() -> MetaResponses {
        let codes: Vec<ErrorCode> = S::codes()
            .into_iter()
            .filter(|c| !ALWAYS.contains(c))
            .collect();
        let mut statuses: Vec<u16> = codes.iter().map(|c| c.status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut responses: Vec<MetaResponse> = statuses
            .into_iter()
            .map(|status| {
                let text = codes
                    .iter()
                    .filter(|c| c.status() == status)
                    .map(|c| format!("- `{c}`: {}", c.meaning()))
                    .collect::<Vec<_>>()
                    .join("\n");
                MetaResponse {
                    description: static_description(text),
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                }
            })
            .collect();
        let always = ALWAYS
            .iter()
            .map(|c| format!("- `{c}` ({}): {}", c.status(), c.meaning()))
            .collect::<Vec<_>>()
            .join("\n");
        responses.push(MetaResponse {
            description: static_description(format!(
                "Errors any operation can answer with, same body:\n{always}"
            )),
            status: None,
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json; charset=utf-8",
                schema: ErrorBody::schema_ref(),
            }],
            headers: vec![],
        });
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        <ErrorBody as Type>::register(registry);
    }
}

/// poem-openapi wants `&'static str` descriptions; each distinct text is leaked once, so the
/// memory is bounded by the number of distinct error lists in the API.
fn static_description(text: String) -> &'static str {
    use std::{collections::HashSet, sync::Mutex, sync::OnceLock};
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = texts.get(text.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    texts.insert(leaked);
    leaked
}

/// Gives every error response of `spec` an example body for the first code its description lists,
/// so a `404` shows a `…_NOT_FOUND` body and a `401` a `NO_TOKEN` one, instead of one generic error.
pub fn add_error_examples(spec: &mut serde_json::Value) {
    let operations = spec
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let responses = operation
            .get_mut("responses")
            .and_then(serde_json::Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            // The first `CODE` in backticks that is a code.
            let first_code = response
                .get("description")
                .and_then(serde_json::Value::as_str)
                .and_then(|d| {
                    d.split('`')
                        .skip(1)
                        .step_by(2)
                        .find_map(|text| ErrorCode::ALL.iter().find(|c| c.as_str() == text))
                });
            let (Some(code), Some(content)) = (
                first_code,
                response
                    .get_mut("content")
                    .and_then(serde_json::Value::as_object_mut),
            ) else {
                continue;
            };
            let mut meaning = code.meaning().to_owned();
            if let Some(first) = meaning.get(..1) {
                meaning.replace_range(..1, &first.to_uppercase());
            }
            let example =
                poem_openapi::types::ToJSON::to_json(&ErrorBody::for_code(*code, &meaning));
            for media in content.values_mut() {
                media["example"] = example.clone().unwrap_or_default();
            }
        }
    }
}
