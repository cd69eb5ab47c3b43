//! `page` and `limit` query parameters.

pub use crate::data::Page;

impl Page {
    /// From validated query values, with the route's default limit.
    pub fn from_query(page: Option<u64>, limit: Option<u64>, default_limit: u64) -> Self {
        Self {
            page: page.unwrap_or(1),
            limit: limit.unwrap_or(default_limit),
        }
    }
}
