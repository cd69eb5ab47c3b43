//! The wire contract as types, defined once (contract §1–§5): error codes with their statuses and
//! meanings, the shapes shared by REST and Socket.IO, and every Socket.IO event.
//!
//! `routes` and `socket` build responses and events only from these types, so a new code, field or
//! event is a compile error wherever it must be handled. This module uses nothing else of Confab's:
//! rows become wire shapes in `data::to_wire`.

pub mod cursor;
pub mod dto;
pub mod error_code;
pub mod event;
pub mod event_kind;
pub mod example;
pub mod stored_args;

pub use cursor::Cursor;
pub use dto::{Ack, Conversation, Message, MessageStatus, MessageVersion, Timestamp, User};
pub use error_code::ErrorCode;
pub use event::{ClientEvent, PresenceStatus, ServerEvent};
pub use stored_args::StoredArgs;
