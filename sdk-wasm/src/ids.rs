//! Identifier formatting: transaction IDs, idempotency keys, decimal numbers, and string
//! building without `format!` or `[..].concat()` (both pull in code the download pays for).

use alloc::string::String;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A transaction ID is 32 lowercase hex characters (48-bit time + 80 random bits).
pub fn is_transaction_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Offer, partner and advertiser IDs are positive decimal integers.
pub fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Lowercase hex of `bytes`: 16 random bytes make a 32-char idempotency key.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Decimal digits of `n`, appended to `out`.
pub fn push_decimal(out: &mut String, n: u64) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push((b'0' + (n % 10) as u8) as char);
}

/// The parts joined into one string.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// `s` split at the first `sep` byte (ASCII), like `split_once` with a char pattern but without
/// its searcher, whose slicing panic path would bring core's formatting code into the wasm.
pub fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The fields of `s` between `sep` bytes (ASCII), like `str::split`.
pub fn split_byte(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let current = rest?;
        match split_once_byte(current, sep) {
            Some((field, tail)) => {
                rest = Some(tail);
                Some(field)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Parses a decimal integer (as written by [`push_decimal`]).
pub fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_32_lowercase_hex() {
        assert!(is_transaction_id("0192f3a4b5c6d7e8f90123456789abcd"));
        assert!(!is_transaction_id("0192F3A4B5C6D7E8F90123456789ABCD"));
        assert!(!is_transaction_id("0192f3a4b5c6d7e8f90123456789abc"));
        assert!(!is_transaction_id("0192f3a4b5c6d7e8f90123456789abcg"));
        assert!(!is_transaction_id(""));
    }

    #[test]
    fn numeric_ids() {
        assert!(is_numeric_id("1"));
        assert!(is_numeric_id("00042"));
        assert!(!is_numeric_id(""));
        assert!(!is_numeric_id("1.5"));
        assert!(!is_numeric_id("-1"));
        assert!(!is_numeric_id("1234567890123456789"));
    }

    #[test]
    fn hex_of_bytes() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[7u8; 16]).len(), 32);
        assert!(is_transaction_id(&hex(&[0xab; 16])));
    }

    #[test]
    fn splitting_by_byte() {
        assert_eq!(split_once_byte("a=b=c", b'='), Some(("a", "b=c")));
        assert_eq!(split_once_byte("é=x", b'='), Some(("é", "x")));
        assert_eq!(split_once_byte("abc", b'='), None);
        let fields: Vec<&str> = split_byte("a&&b&", b'&').collect();
        assert_eq!(fields, ["a", "", "b", ""]);
        assert_eq!(split_byte("", b'&').collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn concatenation() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
        assert_eq!(concat(&[]), "");
    }

    #[test]
    fn decimal_round_trip() {
        for n in [0u64, 7, 10, 3600, 2_592_000, u64::MAX / 10] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
            assert_eq!(parse_decimal(&s), Some(n));
        }
        assert_eq!(parse_decimal("12a"), None);
        assert_eq!(parse_decimal(""), None);
    }
}
