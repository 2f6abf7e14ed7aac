//! Join codes: six characters a facilitator can read aloud and a learner can type, shown as `K7M-Q4X`.
//!
//! A code only finds a session; joining needs nothing more, on purpose. What protects a learner's sandbox
//! and the facilitator's controls are the tokens (`token`), not the code.
use std::fmt;

/// Characters a code is made of: digits and capitals without 0/O and 1/I, which read alike.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code: 32^6 ≈ 10^9 codes, so a random one rarely collides with one of the few live
/// sessions (a collision is simply drawn again).
pub const CODE_LEN: usize = 6;

/// A session's join code, stored without the dash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JoinCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a join code is six letters and digits, like K7M-Q4X")]
pub struct JoinCodeError;

impl JoinCode {
    /// A fresh random code, from the operating system's randomness.
    pub fn generate() -> Self {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        // 32 symbols = 5 bits each; a v4 UUID's first bytes are fully random.
        let code = bytes[..CODE_LEN]
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
            .collect();
        Self(code)
    }

    /// Reads a code as a person typed it: any case, with or without the dash or spaces.
    pub fn parse(text: &str) -> Result<Self, JoinCodeError> {
        let code: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(code))
        } else {
            Err(JoinCodeError)
        }
    }

    /// The code without the dash, as URLs and the database carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JoinCode {
    /// `K7M-Q4X`: two groups of three are easier to read aloud.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(CODE_LEN / 2);
        write!(f, "{a}-{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_avoid_look_alikes_and_parse_back() {
        for _ in 0..200 {
            let code = JoinCode::generate();
            assert!(!code.as_str().contains(['0', 'O', '1', 'I']));
            assert_eq!(JoinCode::parse(&code.to_string()), Ok(code.clone()));
            assert_eq!(JoinCode::parse(&code.as_str().to_lowercase()), Ok(code));
        }
    }

    #[test]
    fn parse_rejects_wrong_length_and_look_alikes() {
        assert_eq!(JoinCode::parse("k7m q4x").unwrap().to_string(), "K7M-Q4X");
        assert!(JoinCode::parse("K7M-Q4").is_err());
        assert!(JoinCode::parse("K7M-Q40").is_err());
        assert!(JoinCode::parse("../../x").is_err());
        assert!(JoinCode::parse("").is_err());
    }
}
