//! `page` and `limit` query parameters.

use crate::error::ErrorDoc;

pub use crate::data::Page;

/// The error of a bad `page` or `limit`.
pub const PAGE_ERROR: ErrorDoc = ErrorDoc {
    status: 400,
    code: "SCHEMA_VALIDATION_ERROR",
    when: "`page` or `limit` is not an integer in range (`page >= 1`, `1 <= limit <= 100`)",
};

impl Page {
    /// From validated query values, with the route's default limit.
    pub fn from_query(page: Option<u64>, limit: Option<u64>, default_limit: u64) -> Self {
        Self {
            page: page.unwrap_or(1),
            limit: limit.unwrap_or(default_limit),
        }
    }
}
