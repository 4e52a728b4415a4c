//! First-party storage formats: cookie strings written and read through `document.cookie`, and
//! the localStorage copy (`<tid>.<expiry ms>`) used when the cookie is gone.

use crate::ids::{concat, is_transaction_id, parse_decimal, push_decimal, split_byte, split_once_byte};
use alloc::string::String;
use alloc::vec::Vec;

/// Prefix of every cookie and localStorage key holding a transaction ID.
pub const TID_PREFIX: &str = "cs_tid_";

/// `cs_tid_o_{oid}`: the click for an offer.
pub fn offer_key(oid: &str) -> String {
    concat(&[TID_PREFIX, "o_", oid])
}

/// `cs_tid_a_{advertiser_id}`: the latest click for any offer of an advertiser.
pub fn advertiser_key(advertiser_id: &str) -> String {
    concat(&[TID_PREFIX, "a_", advertiser_id])
}

/// Where the cookie is scoped and whether it needs `Secure`.
pub struct Scope<'a> {
    pub domain: &'a str,
    pub secure: bool,
}

/// A `document.cookie` assignment; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, scope: &Scope) -> String {
    let mut s = concat(&[name, "=", value, "; Path=/; SameSite=Lax; Max-Age="]);
    push_decimal(&mut s, max_age);
    if scope.secure {
        s.push_str("; Secure");
    }
    if !scope.domain.is_empty() {
        s.push_str("; Domain=");
        s.push_str(scope.domain);
    }
    s
}

/// Calls `f(name, value)` for each pair of a `document.cookie` string (`a=1; b=2`).
fn for_each_cookie<'a>(header: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
    for part in split_byte(header, b';') {
        if let Some((name, value)) = split_once_byte(part, b'=') {
            f(name.trim_ascii(), unquote(value.trim_ascii()));
        }
    }
}

/// A cookie value without the optional double quotes (RFC 6265).
fn unquote(value: &str) -> &str {
    match value.as_bytes() {
        [b'"', .., b'"'] => value.get(1..value.len() - 1).unwrap_or(value),
        _ => value,
    }
}

/// The transaction ID stored in cookie `name`. Several cookies can share a name (host-only and
/// `Domain=` ones, or other paths): the newest valid ID wins (IDs are time-ordered); values that
/// are not transaction IDs (another script's cookie) are ignored.
pub fn find_transaction_id(header: &str, name: &str) -> Option<String> {
    let mut newest: Option<&str> = None;
    for_each_cookie(header, |n, v| {
        if n == name && is_transaction_id(v) && newest.is_none_or(|best| v > best) {
            newest = Some(v);
        }
    });
    newest.map(String::from)
}

/// Names of the cookies holding transaction IDs (for consent withdrawal).
pub fn tid_cookie_names(header: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for_each_cookie(header, |n, _| {
        if n.starts_with(TID_PREFIX) && !names.iter().any(|x| x == n) {
            names.push(String::from(n));
        }
    });
    names
}

/// The localStorage value: the ID and when it stops being attributable (ms since the epoch).
pub fn stored_value(tid: &str, expires_ms: u64) -> String {
    let mut s = concat(&[tid, "."]);
    push_decimal(&mut s, expires_ms);
    s
}

/// The ID in a localStorage value, unless expired or malformed.
pub fn parse_stored(value: &str, now_ms: u64) -> Option<String> {
    let (tid, expires) = split_once_byte(value, b'.')?;
    let expires = parse_decimal(expires)?;
    (is_transaction_id(tid) && expires > now_ms).then(|| String::from(tid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0192f3a4b5c6d7e8f90123456789abcd";
    const B: &str = "0192f3a4b5c6d7e8f90123456789abce";

    #[test]
    fn keys() {
        assert_eq!(offer_key("12"), "cs_tid_o_12");
        assert_eq!(advertiser_key("3"), "cs_tid_a_3");
    }

    #[test]
    fn cookie_strings() {
        let plain = Scope { domain: "", secure: false };
        assert_eq!(
            set_cookie("cs_tid_o_1", A, 2_592_000, &plain),
            ["cs_tid_o_1=", A, "; Path=/; SameSite=Lax; Max-Age=2592000"].concat()
        );
        let scoped = Scope { domain: ".shop.example", secure: true };
        assert_eq!(
            set_cookie("cs_tid_a_9", A, 0, &scoped),
            ["cs_tid_a_9=", A, "; Path=/; SameSite=Lax; Max-Age=0; Secure; Domain=.shop.example"].concat()
        );
    }

    #[test]
    fn reads_back_among_other_cookies() {
        let header = [
            "_ga=GA1.2.3; cs_tid_o_12=garbage; cs_tid_o_1=",
            A,
            "; cs_tid_o_12=",
            B,
            "; cs_tid_o_12=",
            A,
            "; x=cs_tid_o_12=",
            B,
        ]
        .concat();
        assert_eq!(find_transaction_id(&header, "cs_tid_o_12").as_deref(), Some(B));
        assert_eq!(find_transaction_id(&header, "cs_tid_o_1").as_deref(), Some(A));
        assert_eq!(find_transaction_id(&header, "cs_tid_o_2"), None);
        assert_eq!(find_transaction_id("", "cs_tid_o_1"), None);
        assert_eq!(find_transaction_id("cs_tid_o_1", "cs_tid_o_1"), None);
        assert_eq!(tid_cookie_names(&header), ["cs_tid_o_12", "cs_tid_o_1"].map(String::from).to_vec());
    }

    #[test]
    fn local_storage_copy_expires() {
        let v = stored_value(A, 1_700_000_000_000);
        assert_eq!(v, [A, ".1700000000000"].concat());
        assert_eq!(parse_stored(&v, 1_699_999_999_999).as_deref(), Some(A));
        assert_eq!(parse_stored(&v, 1_700_000_000_000), None);
        assert_eq!(parse_stored(A, 0), None);
        assert_eq!(parse_stored("zz.99999999999999", 0), None);
        assert_eq!(parse_stored(&[A, ".soon"].concat(), 0), None);
    }
}
