//! Session JWTs: HS256 over `JWT_SECRET`, claims `sub`, `sid`, `iat`, `exp`, nothing else (the
//! original put the provider's access token in its JWT; Confab stores no provider token at all).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The session id (a row of `sessions`).
    pub sid: Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Well-formed and correctly signed, but past `exp`.
    Expired,
    /// Anything else: bad signature, wrong algorithm, garbage, missing claims.
    Invalid,
}

/// Signs and verifies session tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys from the JWT secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Clocks of one deployment agree closely; a long leeway would stretch every session.
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs `claims`.
    pub fn encode(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies a token's signature, algorithm and expiry, and returns its claims.
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    /// Verifies the signature but not the expiry: logout must work with an expired token.
    pub fn decode_allowing_expired(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef")
    }

    fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iat: now,
            exp: now + exp_offset,
        }
    }

    #[test]
    fn a_signed_token_round_trips() {
        let claims = claims(3600);
        let token = keys().encode(&claims).unwrap();
        assert_eq!(keys().decode(&token), Ok(claims));
    }

    #[test]
    fn an_expired_token_is_expired_not_invalid() {
        let token = keys().encode(&claims(-60)).unwrap();
        assert_eq!(keys().decode(&token), Err(TokenError::Expired));
        assert!(keys().decode_allowing_expired(&token).is_ok());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let other = TokenKeys::new(b"another-secret-another-secret-xx");
        let token = other.encode(&claims(3600)).unwrap();
        assert_eq!(keys().decode(&token), Err(TokenError::Invalid));
        assert_eq!(
            keys().decode_allowing_expired(&token),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_unsigned_alg_none_token_is_invalid() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let c = claims(3600);
        let token = format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(serde_json::to_vec(&c).unwrap())
        );
        assert_eq!(keys().decode(&token), Err(TokenError::Invalid));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_are_never_accepted(s in ".*") {
            prop_assert!(keys().decode(&s).is_err());
        }

        #[test]
        fn any_single_byte_change_to_a_token_is_refused(index in 0usize..200, byte in 0u8..128) {
            let token = keys().encode(&claims(3600)).unwrap();
            let mut bytes = token.clone().into_bytes();
            let i = index % bytes.len();
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let tampered = String::from_utf8_lossy(&bytes).into_owned();
            // Base64url's last character can carry unused bits; a change there may decode to the
            // same signature bytes, which is not a forgery.
            let decoded = keys().decode(&tampered);
            if let Ok(c) = decoded {
                prop_assert_eq!(keys().decode(&token).unwrap(), c);
            }
        }
    }
}
