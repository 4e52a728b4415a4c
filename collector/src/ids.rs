//! Time-ordered, unguessable 128-bit IDs: 48-bit millisecond timestamp + 80 random bits
//! from the operating system's CSPRNG, written as 32 lowercase hex characters.
//!
//! The timestamp prefix keeps sled keys append-mostly and makes a time range a key range;
//! the random tail makes an ID impossible to guess from its neighbours.

use std::fmt;

/// A record ID: clicks and impressions hand it out as their transaction ID, conversions as
/// their conversion ID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct TimeId([u8; 16]);

/// The ID a click or impression is stamped with; it proves who sent the visitor.
pub type TransactionId = TimeId;
/// The ID of a stored conversion.
pub type ConversionId = TimeId;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("must be 32 hexadecimal characters")]
    Malformed,
}

impl TimeId {
    /// A new ID issued at `now_ms` (milliseconds since the Unix epoch).
    pub fn generate(now_ms: u64) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&now_ms.to_be_bytes()[2..]);
        // The OS RNG failing is not recoverable for an ID issuer: refuse to issue guessable IDs.
        getrandom::getrandom(&mut bytes[6..]).expect("operating system random source unavailable");
        TimeId(bytes)
    }

    /// The smallest ID that could have been issued at `ms`: a key-range bound for time queries.
    pub fn lower_bound(ms: u64) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        TimeId(bytes)
    }

    /// Parse 32 hex characters (either case).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return Err(IdError::Malformed);
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            bytes[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Ok(TimeId(bytes))
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        TimeId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Milliseconds since the Unix epoch at which this ID was issued.
    pub fn issued_at_ms(&self) -> u64 {
        let mut ts = [0u8; 8];
        ts[2..].copy_from_slice(&self.0[..6]);
        u64::from_be_bytes(ts)
    }
}

/// A 128-bit random secret as 32 hex characters (admin tokens, API keys).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("operating system random source unavailable");
    TimeId(bytes).to_string()
}

fn hex_value(c: u8) -> Result<u8, IdError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(IdError::Malformed),
    }
}

impl fmt::Display for TimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 0xf) as usize];
        }
        // Only ASCII hex digits were written.
        f.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl fmt::Debug for TimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_hex() {
        let id = TimeId::generate(1_700_000_000_123);
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(TimeId::parse(&text), Ok(id));
        assert_eq!(TimeId::parse(&text.to_uppercase()), Ok(id));
        assert_eq!(id.issued_at_ms(), 1_700_000_000_123);
    }

    #[test]
    fn ids_are_time_ordered_and_distinct() {
        let a = TimeId::generate(1_000);
        let b = TimeId::generate(1_001);
        let c = TimeId::generate(1_001);
        assert!(a < b && a < c);
        assert_ne!(b, c, "80 random bits make same-millisecond IDs distinct");
        assert!(TimeId::lower_bound(1_001) <= b);
        assert!(TimeId::lower_bound(1_002) > c);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(TimeId::parse(""), Err(IdError::Malformed));
        assert_eq!(TimeId::parse(&"g".repeat(32)), Err(IdError::Malformed));
        assert_eq!(TimeId::parse(&"a".repeat(31)), Err(IdError::Malformed));
        assert_eq!(TimeId::parse(&"é".repeat(16)), Err(IdError::Malformed));
    }
}
