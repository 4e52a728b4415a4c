//! Filling an offer's destination URL template with a click's values. Pure.
//!
//! Every macro value is percent-encoded, so a value can never add a path, a query
//! parameter or a host: the redirect always goes to the configured destination.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::model::{Click, TrackingParams};

/// Everything but RFC 3986 unreserved characters is encoded.
const MACRO_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("must be an absolute http or https URL")]
    NotHttp,
    #[error("must not have a macro in the scheme or host")]
    MacroInHost,
    #[error("must not contain spaces or control characters")]
    BadCharacter,
}

/// Check a destination template when an offer is configured, not when a click arrives.
pub fn validate_template(template: &str) -> Result<(), TemplateError> {
    let rest =
        template.strip_prefix("https://").or_else(|| template.strip_prefix("http://")).ok_or(TemplateError::NotHttp)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(TemplateError::NotHttp);
    }
    if authority.contains(['{', '}', '@', '\\']) {
        return Err(TemplateError::MacroInHost);
    }
    if template.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TemplateError::BadCharacter);
    }
    Ok(())
}

/// Replace each `{name}` whose name `lookup` knows by its percent-encoded value; unknown
/// macros stay as written so a typo shows in the landing URL instead of vanishing.
pub fn expand(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') => {
                let name = &after[..close];
                match lookup(name) {
                    Some(value) => out.extend(utf8_percent_encode(&value, MACRO_VALUE)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of a click macro, by its name in braces.
pub fn click_macro(click: &Click, name: &str) -> Option<String> {
    let value = match name {
        "transaction_id" => click.id.to_string(),
        "oid" | "offer_id" => click.oid.to_string(),
        "affid" | "affiliate_id" | "partner_id" => click.affid.to_string(),
        "advertiser_id" => click.advertiser_id.to_string(),
        _ => return tracking_macro(&click.params, name),
    };
    Some(value)
}

/// The macros every tracked visit carries: sub values, source, creative, ad-platform and
/// device IDs. Shared by destination URLs and partner postbacks.
pub fn tracking_macro(p: &TrackingParams, name: &str) -> Option<String> {
    let value = match name {
        "sub1" => &p.sub[0],
        "sub2" => &p.sub[1],
        "sub3" => &p.sub[2],
        "sub4" => &p.sub[3],
        "sub5" => &p.sub[4],
        "source_id" => &p.source_id,
        "uid" => &p.uid,
        "creative_id" => &p.creative_id,
        "coupon_code" => &p.coupon_code,
        "gclid" => &p.gclid,
        "fbclid" => &p.fbclid,
        "ttclid" => &p.ttclid,
        "idfa" => &p.idfa,
        "google_aid" => &p.google_aid,
        "android_id" => &p.android_id,
        _ => return None,
    };
    Some(value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_encodes() {
        let url = expand("https://shop.example/p?t={transaction_id}&s={sub1}&x={nope}&y={", |n| match n {
            "transaction_id" => Some("abc".into()),
            "sub1" => Some("a b&c=d/../\"<script>".into()),
            _ => None,
        });
        assert_eq!(url, "https://shop.example/p?t=abc&s=a%20b%26c%3Dd%2F..%2F%22%3Cscript%3E&x={nope}&y={");
    }

    #[test]
    fn encoding_keeps_the_host() {
        let url = expand("https://shop.example/{sub1}", |_| Some("@evil.example/x?y#z".into()));
        assert_eq!(url, "https://shop.example/%40evil.example%2Fx%3Fy%23z");
    }

    #[test]
    fn validates_templates() {
        assert_eq!(validate_template("https://shop.example/?t={transaction_id}"), Ok(()));
        assert_eq!(validate_template("http://127.0.0.1:8081/index.html"), Ok(()));
        assert_eq!(validate_template("javascript:alert(1)"), Err(TemplateError::NotHttp));
        assert_eq!(validate_template("//evil.example"), Err(TemplateError::NotHttp));
        assert_eq!(validate_template("https://"), Err(TemplateError::NotHttp));
        assert_eq!(validate_template("https://{sub1}/x"), Err(TemplateError::MacroInHost));
        assert_eq!(validate_template("https://shop.example@{sub1}/"), Err(TemplateError::MacroInHost));
        assert_eq!(validate_template("https://shop.example/a b"), Err(TemplateError::BadCharacter));
    }
}
