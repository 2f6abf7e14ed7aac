//! Secret tokens: the facilitator's and each learner's. 244 random bits from the operating system (two v4
//! UUIDs), shown once, and kept by the server only as a SHA-256 hash compared in constant time.
use sha2::{Digest, Sha256};

/// A token as handed to its owner: 64 hex characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    /// Never printed: a token in a log line is a token anyone with the log can use.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    pub fn generate() -> Self {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let b = uuid::Uuid::new_v4().simple().to_string();
        Self(a + &b)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

/// What the server keeps of a token. Looking a hash up in a map leaks at most timing about the hash,
/// which says nothing usable about the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of what a client presented (any text: a wrong token simply matches nothing).
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.trim().as_bytes()).into())
    }

    /// Compares in time that does not depend on where the hashes differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_match_only_themselves() {
        let a = Token::generate();
        let b = Token::generate();
        assert_eq!(a.as_str().len(), 64);
        assert_ne!(a, b);
        assert!(a.hash().matches(&TokenHash::of(a.as_str())));
        assert!(!a.hash().matches(&b.hash()));
        assert!(!a.hash().matches(&TokenHash::of("")));
        assert_eq!(format!("{a:?}"), "Token(…)");
    }
}
