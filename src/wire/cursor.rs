//! The cursor of a user's durable event stream (contract §6.1): an opaque string of at most 64
//! characters, increasing in the order the user receives events.
//!
//! On the wire it is `<seq>-<tag>`: the user's event sequence number in decimal and 8 hex digits
//! taken from the user's id, so a cursor of another user is recognised as such (`INVALID_CURSOR`)
//! instead of naming a position in the wrong stream. Clients must treat it as opaque.

use uuid::Uuid;

/// A position in one user's event stream: every event with a higher sequence number comes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// The user's event sequence number (0: before the first event).
    pub seq: u64,
    tag: u32,
}

/// The tag of `user`'s cursors: the last four bytes of the id (random in a UUID v7).
fn tag(user: Uuid) -> u32 {
    let b = user.as_bytes();
    u32::from_be_bytes([b[12], b[13], b[14], b[15]])
}

impl Cursor {
    /// `user`'s cursor at `seq`.
    pub fn new(user: Uuid, seq: u64) -> Self {
        Self {
            seq,
            tag: tag(user),
        }
    }

    /// Parses `text` as one of `user`'s cursors; `None` when it is malformed or another user's.
    pub fn parse_for(user: Uuid, text: &str) -> Option<Self> {
        let (seq, hex) = text.split_once('-')?;
        let digits_only =
            |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
        let lower_hex = hex.chars().all(|c| !c.is_ascii_uppercase());
        if !digits_only(seq, 10) || hex.len() != 8 || !digits_only(hex, 16) || !lower_hex {
            return None;
        }
        let cursor = Self {
            seq: seq.parse().ok()?,
            tag: u32::from_str_radix(hex, 16).ok()?,
        };
        (cursor.tag == tag(user)).then_some(cursor)
    }

    /// The wire text.
    pub fn to_wire(self) -> String {
        format!("{}-{:08x}", self.seq, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn another_users_or_a_malformed_cursor_is_refused() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let cursor = Cursor::new(alice, 42).to_wire();
        assert_eq!(
            Cursor::parse_for(alice, &cursor),
            Some(Cursor::new(alice, 42))
        );
        assert_eq!(Cursor::parse_for(bob, &cursor), None);
        for bad in [
            "",
            "42",
            "-",
            "x-00000000",
            "+1-00000000",
            "1-0000000",
            "1-0000000G",
        ] {
            assert_eq!(Cursor::parse_for(alice, bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip_and_order_like_their_sequence(a: u64, b: u64, id: u128) {
            let user = Uuid::from_u128(id);
            let (ca, cb) = (Cursor::new(user, a), Cursor::new(user, b));
            prop_assert!(ca.to_wire().len() <= 64);
            prop_assert_eq!(Cursor::parse_for(user, &ca.to_wire()), Some(ca));
            prop_assert_eq!(ca < cb, a < b);
        }
    }
}
