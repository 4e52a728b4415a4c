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

/// The decoded names and values of a query string, in order (`a=1&b&c=x%20y`).
fn pairs(query: &str) -> impl Iterator<Item = (&str, String, String)> {
    split_byte(query, b'&').filter(|p| !p.is_empty()).map(|raw| {
        let (k, v) = split_once_byte(raw, b'=').unwrap_or((raw, ""));
        (raw, percent_decode(k), percent_decode(v))
    })
}

/// The first value of query parameter `name` in `url`, decoded.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let (_, query, _) = split_url(url);
    pairs(query).find(|(_, k, _)| k == name).map(|(_, _, v)| v)
}

/// `url` without the tracking parameters, or `None` when it has none.
pub fn strip_tracking(url: &str) -> Option<String> {
    let (base, query, fragment) = split_url(url);
    let mut kept: Vec<&str> = Vec::new();
    let mut removed = false;
    for (raw, key, _) in pairs(query) {
        if STRIPPED_PARAMS.contains(&key.as_str()) {
            removed = true;
        } else {
            kept.push(raw);
        }
    }
    if !removed {
        return None;
    }
    let mut out = String::from(base);
    for (i, raw) in kept.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(raw);
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
    String::from_utf8(out).unwrap_or_else(|_| String::from(s))
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
