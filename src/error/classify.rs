//! Classifies what reaches the edge: our own errors pass through; poem's and poem-openapi's (router,
//! parameter parsing, body parsing, content type, body limit) become the contract's codes (§1.1).

use poem::http::StatusCode;
use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};

use super::{ApiError, Location};

impl ApiError {
    /// Turns any error that reached the edge into an `ApiError`: ours pass through, poem's and
    /// poem-openapi's are classified, anything else is a server fault.
    pub fn from_poem(err: poem::Error, method: &str, path: &str) -> Self {
        if err.is::<ApiError>() {
            return match err.downcast::<ApiError>() {
                Ok(api) => api,
                Err(err) => Self::Internal(anyhow::anyhow!("{err}")),
            };
        }
        if err.is::<poem::error::NotFoundError>() {
            return Self::RouteNotFound {
                method: method.to_owned(),
                path: path.to_owned(),
            };
        }
        if err.is::<poem::error::MethodNotAllowedError>() {
            return Self::MethodNotAllowed(method.to_owned());
        }
        if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
            return classify_payload_error(&e.reason);
        }
        if let Some(e) = err.downcast_ref::<ParseParamError>() {
            return Self::Validation {
                location: if is_path_param(e.name) {
                    Location::Params
                } else {
                    Location::Querystring
                },
                field: if is_path_param(e.name) {
                    PATH_PARAM
                } else {
                    e.name
                }
                .to_owned(),
                reason: e.reason.clone(),
            };
        }
        if let Some(e) = err.downcast_ref::<ParsePathError>() {
            return Self::Validation {
                location: Location::Params,
                field: PATH_PARAM.to_owned(),
                reason: e.reason.clone(),
            };
        }
        if let Some(e) = err.downcast_ref::<ContentTypeError>() {
            return match e {
                ContentTypeError::NotSupported { content_type } => {
                    Self::UnsupportedMediaType(content_type.clone())
                }
                ContentTypeError::ExpectContentType => {
                    Self::UnsupportedMediaType("missing Content-Type".into())
                }
            };
        }
        if matches!(
            err.downcast_ref::<poem::error::ReadBodyError>(),
            Some(poem::error::ReadBodyError::PayloadTooLarge)
        ) || err.status() == StatusCode::PAYLOAD_TOO_LARGE
        {
            return Self::BodyTooLarge;
        }
        Self::Internal(anyhow::anyhow!("{err}"))
    }
}

/// Every path parameter of the API is named `id`. poem-openapi reports a bad path parameter under
/// its internal name (`param0`), and a query parameter under its own name, which is never `id`.
const PATH_PARAM: &str = "id";

fn is_path_param(name: &str) -> bool {
    name == PATH_PARAM
        || name
            .strip_prefix("param")
            .is_some_and(|n| n.parse::<u8>().is_ok())
}

/// poem-openapi reports malformed JSON and schema mismatches with one error type; serde_json's
/// syntax errors always end in "at line L column C", which schema errors never do.
fn classify_payload_error(reason: &str) -> ApiError {
    let is_syntax = reason
        .rsplit_once(" at line ")
        .is_some_and(|(_, tail)| tail.contains(" column "));
    if is_syntax || reason.starts_with("EOF while parsing") {
        return ApiError::InvalidJson(reason.to_owned());
    }
    // Our body types report `failed to parse "Type": <field>: <reason>`; anything else is about
    // the body as a whole.
    let detail = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
        .map_or(reason, |(_, detail)| detail);
    match detail.split_once(": ") {
        Some((field, why))
            if !field.is_empty()
                && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            ApiError::Validation {
                location: Location::Body,
                field: field.to_owned(),
                reason: why.to_owned(),
            }
        }
        _ => ApiError::Validation {
            location: Location::Body,
            field: "root".into(),
            reason: reason.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_syntax_errors_are_invalid_json() {
        let err = serde_json::from_str::<serde_json::Value>("{\"a\":").unwrap_err();
        assert_eq!(
            classify_payload_error(&err.to_string()).code(),
            crate::wire::ErrorCode::InvalidJson
        );
        let err = serde_json::from_str::<serde_json::Value>("nope").unwrap_err();
        assert_eq!(
            classify_payload_error(&err.to_string()).code(),
            crate::wire::ErrorCode::InvalidJson
        );
    }

    #[test]
    fn schema_errors_are_validation_errors_with_the_contract_message() {
        let err = classify_payload_error("failed to parse \"Body\": content: must be a string");
        assert_eq!(err.code(), crate::wire::ErrorCode::SchemaValidationError);
        assert_eq!(
            err.to_string(),
            "Schema validation failed for body: content: must be a string"
        );
        let err = classify_payload_error("Expected input type \"object\", found null.");
        assert_eq!(
            err.to_string(),
            "Schema validation failed for body: root: Expected input type \"object\", found null."
        );
    }

    #[test]
    fn server_faults_never_carry_their_cause() {
        let body = ApiError::Internal(anyhow::anyhow!("password=hunter2")).body();
        assert_eq!(body.code, "INTERNAL_SERVER_ERROR");
        assert!(!body.message.contains("hunter2"));
        assert_eq!(body.error, "Internal Server Error");
    }
}
