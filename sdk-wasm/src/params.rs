//! URL query parsing, the tracking-parameter lists, form encoding and the stripped landing URL.

use crate::ids::{split_byte, split_once_byte};
use alloc::string::String;
use alloc::vec::Vec;

/// The redirect link's transaction ID parameter on the landing URL.
pub const TID_PARAM: &str = "cs_tid";

/// Click parameters: (landing-URL and `/clk` name, `click()` option name).
pub const CLICK_PARAMS: [(&str, &str); 15] = [
    ("oid", "offer_id"),
    ("affid", "affiliate_id"),
    ("sub1", "sub1"),
    ("sub2", "sub2"),
    ("sub3", "sub3"),
    ("sub4", "sub4"),
    ("sub5", "sub5"),
    ("source_id", "source_id"),
    ("uid", "uid"),
    ("creative_id", "creative_id"),
    ("coupon_code", "coupon_code"),
    ("gclid", "gclid"),
    ("fbclid", "fbclid"),
    ("ttclid", "ttclid"),
    ("cs_tid", "transaction_id"),
];

/// Removed from the address bar once the click is stored, so a reload or a shared link does not
/// count a second click. `gclid`/`fbclid`/`ttclid` stay: the ad platforms' own tags read them from
/// the URL. `coupon_code` stays: shops apply it from the URL.
pub const STRIPPED_PARAMS: [&str; 11] =
    ["cs_tid", "oid", "affid", "sub1", "sub2", "sub3", "sub4", "sub5", "source_id", "uid", "creative_id"];

/// Conversion fields: (`conversion()` option name, form field name). `transaction_id` is handled
/// apart (explicit ID vs. the SDK's stored `cookie_tid`).
pub const CONVERSION_FIELDS: [(&str, &str); 11] = [
    ("offer_id", "oid"),
    ("advertiser_id", "advertiser_id"),
    ("event", "event"),
    ("amount", "amount"),
    ("order_id", "order_id"),
    ("coupon_code", "coupon_code"),
    ("adv1", "adv1"),
    ("adv2", "adv2"),
    ("adv3", "adv3"),
    ("adv4", "adv4"),
    ("adv5", "adv5"),
];

/// Splits a URL into (before `?`, query without `?`, fragment without `#`). `split_once`, not
/// index slicing: a slicing panic would link core's formatting machinery into the wasm.
fn split_url(url: &str) -> (&str, &str, Option<&str>) {
    let (rest, fragment) = match split_once_byte(url, b'#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = split_once_byte(rest, b'?').unwrap_or((rest, ""));
    (base, query, fragment)
}

/// Calls `f(raw pair, decoded name)` for each pair of a query string (`a=1&b&c=x%20y`) until it
/// returns true; that pair is the result. A callback, not an iterator chain: smaller code.
fn find_pair<'a>(query: &'a str, mut f: impl FnMut(&'a str, &str) -> bool) -> Option<&'a str> {
    split_byte(query, b'&')
        .find(|raw| !raw.is_empty() && f(raw, &percent_decode(split_once_byte(raw, b'=').map_or(raw, |(k, _)| k))))
}

/// The first value of query parameter `name` in `url`, decoded.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let (_, query, _) = split_url(url);
    let raw = find_pair(query, |_, key| key == name)?;
    Some(percent_decode(split_once_byte(raw, b'=').map_or("", |(_, v)| v)))
}

/// `url` without the tracking parameters, or `None` when it has none.
pub fn strip_tracking(url: &str) -> Option<String> {
    let (base, query, fragment) = split_url(url);
    let mut out = String::from(base);
    let mut removed = false;
    let mut sep = '?';
    find_pair(query, |raw, key| {
        if STRIPPED_PARAMS.contains(&key) {
            removed = true;
        } else {
            out.push(sep);
            out.push_str(raw);
            sep = '&';
        }
        false
    });
    if !removed {
        return None;
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` and `+` (form encoding); malformed escapes are kept as written, and so is the
/// whole value when the escapes do not decode to UTF-8.
pub fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if let (b'%', [h, l, after @ ..]) = (b, tail) {
            if let (Some(h), Some(l)) = (hex_value(*h), hex_value(*l)) {
                out.push(h << 4 | l);
                rest = after;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
    }
    if is_utf8(&out) {
        // SAFETY: just checked to be UTF-8.
        unsafe { String::from_utf8_unchecked(out) }
    } else {
        String::from(s)
    }
}

/// Whether `b` is UTF-8 (what `core::str::from_utf8` checks: shortest forms, no surrogates, at
/// most U+10FFFF). A plain loop: core's vectorised validator is ~1 KB of the download.
pub fn is_utf8(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let (extra, min) = match c {
            0..=0x7f => (0, 0),
            0xc2..=0xdf => (1, 0x80),
            0xe0..=0xef => (2, 0x800),
            0xf0..=0xf4 => (3, 0x1_0000),
            _ => return false,
        };
        let mut cp = u32::from(c) & (0x7f >> (extra + usize::from(extra > 0)));
        for k in 1..=extra {
            match b.get(i + k) {
                Some(&cc) if cc & 0xc0 == 0x80 => cp = cp << 6 | u32::from(cc & 0x3f),
                _ => return false,
            }
        }
        if cp < min || cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp) {
            return false;
        }
        i += extra + 1;
    }
    true
}

/// Appends `s` percent-encoded: everything but `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// A query string or `application/x-www-form-urlencoded` body, built field by field.
#[derive(Default)]
pub struct Form(pub String);

impl Form {
    pub fn push(&mut self, name: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        percent_encode(&mut self.0, name);
        self.0.push('=');
        percent_encode(&mut self.0, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_decoded_values() {
        let url = "https://shop.example/land?oid=12&affid=7&sub1=spring%20sale&sub2=a+b&x#top";
        assert_eq!(query_value(url, "oid").as_deref(), Some("12"));
        assert_eq!(query_value(url, "sub1").as_deref(), Some("spring sale"));
        assert_eq!(query_value(url, "sub2").as_deref(), Some("a b"));
        assert_eq!(query_value(url, "x").as_deref(), Some(""));
        assert_eq!(query_value(url, "top"), None);
        assert_eq!(query_value(url, "sub3"), None);
        assert_eq!(query_value("https://a.example/", "oid"), None);
    }

    #[test]
    fn first_value_wins_and_fragment_is_not_query() {
        let url = "https://a.example/?oid=1&oid=2#oid=3";
        assert_eq!(query_value(url, "oid").as_deref(), Some("1"));
        assert_eq!(query_value("https://a.example/#?oid=3", "oid"), None);
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("%ff+x"), "%ff+x");
    }

    #[test]
    fn utf8_check_agrees_with_core() {
        let check = |b: &[u8]| assert_eq!(is_utf8(b), core::str::from_utf8(b).is_ok(), "{b:x?}");
        check(b"");
        for a in 0..=255u8 {
            check(&[a]);
            for b in 0..=255u8 {
                check(&[a, b]);
                check(&[b'x', a, b]);
            }
        }
        for a in 0xe0..=0xf4u8 {
            for b in 0..=255u8 {
                for c in 0..=255u8 {
                    check(&[a, b, c]);
                    check(&[a, b, c, 0x80]);
                    check(&[a, b, c, 0xbf, b'z']);
                }
            }
        }
        check("été 𝄞 €".as_bytes());
    }

    #[test]
    fn strips_only_tracking_parameters() {
        let url = "https://shop.example/p?utm_source=news&oid=1&affid=2&sub1=x&cs_tid=abc&gclid=G&coupon_code=C&page=2#reviews";
        assert_eq!(
            strip_tracking(url).as_deref(),
            Some("https://shop.example/p?utm_source=news&gclid=G&coupon_code=C&page=2#reviews")
        );
        assert_eq!(strip_tracking("https://shop.example/?oid=1&affid=2").as_deref(), Some("https://shop.example/"));
        assert_eq!(strip_tracking("https://shop.example/?page=2"), None);
        assert_eq!(strip_tracking("https://shop.example/"), None);
        // An encoded name is still the tracking parameter.
        assert_eq!(strip_tracking("/x?%6Fid=1&q=%26").as_deref(), Some("/x?q=%26"));
    }

    #[test]
    fn form_encoding() {
        let mut f = Form::default();
        f.push("oid", "12");
        f.push("order_id", "A&B=C d/é");
        f.push("amount", "49.90");
        assert_eq!(f.0, "oid=12&order_id=A%26B%3DC%20d%2F%C3%A9&amount=49.90");
        let url = crate::ids::concat(&["https://t.example/conversion?", &f.0]);
        assert_eq!(query_value(&url, "order_id").as_deref(), Some("A&B=C d/é"));
    }
}
