//! The errors of each operation in the OpenAPI document, derived from [`ErrorCode`].
//!
//! An operation names its codes as a list of constant lists ([`ErrorSet::CODES`]); the shared ones
//! (`AUTHENTICATED`, `JSON_BODY`, `PARAMETERS`) live beside [`ErrorCode`], and [`ALWAYS`] is
//! added to every operation. The document shows each status once, listing its codes with their
//! meanings.

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
        let codes = S::codes();
        let mut statuses: Vec<u16> = codes.iter().map(|c| c.status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let responses = statuses
            .into_iter()
            .map(|status| {
                let text = codes
                    .iter()
                    .filter(|c| c.status() == status)
                    .map(|c| format!("`{c}`: {}", c.meaning()))
                    .collect::<Vec<_>>()
                    .join("; ");
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
