//! sea-orm entities of Confab's schema (one module per table, in sea-orm-cli's shape).
//!
//! Only entities live here: no web types, no queries. The schema itself is defined by the
//! `migration` crate; these mirror it.

pub mod conversation;
pub mod identity;
pub mod message;
pub mod session;
pub mod user;

/// `use entity::prelude::*` for the entity types under short names.
pub mod prelude {
    pub use super::conversation::Entity as Conversation;
    pub use super::identity::Entity as Identity;
    pub use super::message::Entity as Message;
    pub use super::session::Entity as Session;
    pub use super::user::Entity as User;
}
