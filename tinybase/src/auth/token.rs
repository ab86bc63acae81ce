//! Opaque bearer tokens: 256 random bits shown once to the client, stored only as SHA-256.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Every token starts with this, so leaked tokens are easy to recognise and grep for.
pub const TOKEN_PREFIX: &str = "tb_";
/// Random bytes per token.
const TOKEN_BYTES: usize = 32;

/// A freshly generated token and the hash to store for it.
pub struct NewToken {
    /// What the client gets. Never stored, never logged.
    pub token: String,
    /// What the database keeps.
    pub hash: String,
}

/// Generates a new random token.
///
/// # Errors
/// An internal error if the system random source fails.
pub fn generate() -> Result<NewToken> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|err| Error::internal(format!("system random source failed: {err}")))?;
    let token = format!("{TOKEN_PREFIX}{}", hex(&bytes));
    let hash = hash(&token);
    Ok(NewToken { token, hash })
}

/// `bytes` random bytes as lower-case hex: ids that must not be guessable.
///
/// # Errors
/// An internal error if the system random source fails.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|err| Error::internal(format!("system random source failed: {err}")))?;
    Ok(hex(&buffer))
}

/// The stored form of a token: lower-case hex SHA-256. Looking tokens up by this hash
/// means a comparison never touches the secret itself, so it leaks nothing through timing.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_differ_from_tokens() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(TOKEN_PREFIX));
        assert_eq!(a.token.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(a.hash, hash(&a.token));
        assert!(!a.hash.contains(&a.token[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
