//! Tracking parameters: decoding a query string or form body, and validating the click and
//! conversion parameters DESIGN.md names. Pure: no actix, no store.

use crate::ids::TransactionId;
use crate::model::{OfferId, PartnerId, TrackingParams};
use crate::money::{Money, MoneyError};

/// Longest sub value, click ID or other free-text parameter we keep.
pub const MAX_VALUE_LEN: usize = 255;
/// Largest integer ID accepted: the largest a JavaScript number holds exactly.
pub const MAX_INTEGER_ID: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{0} must be a positive integer")]
    NotAnInteger(&'static str),
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("the query is not valid percent-encoded UTF-8")]
    InvalidEncoding,
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: &'static str },
    #[error("amount {0}")]
    Amount(MoneyError),
    #[error("{0} is given more than once with different values")]
    Conflicting(&'static str),
}

impl ParamError {
    /// The parameter the error is about, for clients that highlight a field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ParamError::Missing(f) | ParamError::NotAnInteger(f) | ParamError::Conflicting(f) => Some(f),
            ParamError::TooLong { field, .. } | ParamError::Invalid { field, .. } => Some(field),
            ParamError::Amount(_) => Some("amount"),
            ParamError::InvalidEncoding => None,
        }
    }
}

/// Decoded `name=value` pairs of a query string or `application/x-www-form-urlencoded` body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decode `a=1&b=x+y%21`. Broken percent-escapes and non-UTF-8 are errors, not guesses.
    pub fn parse(raw: &[u8]) -> Result<Query, ParamError> {
        let mut pairs = Vec::new();
        for part in raw.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((decode_component(name)?, decode_component(value)?));
        }
        Ok(Query { pairs })
    }

    /// Pairs of `other` added after ours: a POST body's values come after the URL's.
    pub fn extend(&mut self, other: Query) {
        self.pairs.extend(other.pairs);
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// The non-empty value of a tracking parameter; the same name twice with different values
    /// is ambiguous (which partner? which amount?), so it is refused rather than guessed.
    pub fn single(&self, name: &'static str) -> Result<Option<&str>, ParamError> {
        let mut values = self.pairs.iter().filter(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str());
        let first = values.next();
        match first {
            Some(f) if values.any(|v| v != f) => Err(ParamError::Conflicting(name)),
            _ => Ok(first),
        }
    }

    /// Every parameter name, in order (repeats included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(n, _)| n.as_str())
    }

    pub fn push(&mut self, name: &str, value: &str) {
        self.pairs.push((name.to_owned(), value.to_owned()));
    }
}

fn decode_component(raw: &[u8]) -> Result<String, ParamError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = raw.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(ParamError::InvalidEncoding),
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ParamError::InvalidEncoding)
}

fn required_id(q: &Query, field: &'static str) -> Result<u64, ParamError> {
    optional_id(q, field)?.ok_or(ParamError::Missing(field))
}

fn optional_id(q: &Query, field: &'static str) -> Result<Option<u64>, ParamError> {
    let Some(raw) = q.single(field)? else { return Ok(None) };
    if raw.len() > 16 || !raw.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ParamError::NotAnInteger(field));
    }
    match raw.parse::<u64>() {
        Ok(n) if (1..=MAX_INTEGER_ID).contains(&n) => Ok(Some(n)),
        _ => Err(ParamError::NotAnInteger(field)),
    }
}

fn text(q: &Query, field: &'static str, max: usize) -> Result<String, ParamError> {
    let value = q.single(field)?.unwrap_or("");
    if value.chars().count() > max {
        return Err(ParamError::TooLong { field, max });
    }
    if value.chars().any(char::is_control) {
        return Err(ParamError::Invalid { field, reason: "must not contain control characters" });
    }
    Ok(value.to_owned())
}

fn optional_tid(q: &Query, field: &'static str) -> Result<Option<TransactionId>, ParamError> {
    q.single(field)?
        .map(|raw| {
            TransactionId::parse(raw)
                .map_err(|_| ParamError::Invalid { field, reason: "must be 32 hexadecimal characters" })
        })
        .transpose()
}

/// `8-4-4-4-12` hexadecimal, as advertising IDs (IDFA, GAID) are written.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

const SUB_FIELDS: [&str; 5] = ["sub1", "sub2", "sub3", "sub4", "sub5"];
const ADV_FIELDS: [&str; 5] = ["adv1", "adv2", "adv3", "adv4", "adv5"];

/// The optional click parameters, validated.
pub fn tracking_params(q: &Query) -> Result<TrackingParams, ParamError> {
    let mut sub: [String; 5] = Default::default();
    for (slot, field) in sub.iter_mut().zip(SUB_FIELDS) {
        *slot = text(q, field, MAX_VALUE_LEN)?;
    }
    let params = TrackingParams {
        sub,
        source_id: text(q, "source_id", MAX_VALUE_LEN)?,
        uid: text(q, "uid", 64)?,
        creative_id: text(q, "creative_id", 64)?,
        coupon_code: text(q, "coupon_code", 64)?,
        gclid: text(q, "gclid", MAX_VALUE_LEN)?,
        fbclid: text(q, "fbclid", MAX_VALUE_LEN)?,
        ttclid: text(q, "ttclid", MAX_VALUE_LEN)?,
        idfa: text(q, "idfa", 36)?,
        google_aid: text(q, "google_aid", 36)?,
        android_id: text(q, "android_id", 64)?,
    };
    for (field, value) in [("idfa", &params.idfa), ("google_aid", &params.google_aid)] {
        if !value.is_empty() && !is_uuid(value) {
            return Err(ParamError::Invalid { field, reason: "must be formatted 8-4-4-4-12 hexadecimal" });
        }
    }
    if !params.android_id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ParamError::Invalid { field: "android_id", reason: "must be letters and digits" });
    }
    Ok(params)
}

/// What a `/clk` request asks for.
// Built once per request and moved, never stored: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickRequest {
    /// Record a new click.
    New { oid: OfferId, affid: PartnerId, params: TrackingParams },
    /// The SDK landed with a transaction ID from a redirect link: describe that click again.
    Existing(TransactionId),
}

impl ClickRequest {
    pub fn parse(q: &Query) -> Result<ClickRequest, ParamError> {
        if let Some(tid) = optional_tid(q, "transaction_id")? {
            return Ok(ClickRequest::Existing(tid));
        }
        Ok(ClickRequest::New {
            oid: required_id(q, "oid")?,
            affid: required_id(q, "affid")?,
            params: tracking_params(q)?,
        })
    }
}

/// A conversion as the advertiser's server, the SDK or a pixel sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionRequest {
    /// Given explicitly by the sender.
    pub transaction_id: Option<TransactionId>,
    /// Found by the SDK in the advertiser's first-party cookie or storage.
    pub cookie_tid: Option<TransactionId>,
    pub oid: Option<OfferId>,
    pub advertiser_id: Option<u64>,
    /// Empty for the offer's base event.
    pub event: String,
    pub amount: Option<Money>,
    pub order_id: String,
    pub coupon_code: String,
    pub adv: [String; 5],
    pub verification_token: Option<String>,
    pub idempotency_key: String,
}

impl ConversionRequest {
    pub fn parse(q: &Query) -> Result<ConversionRequest, ParamError> {
        let mut adv: [String; 5] = Default::default();
        for (slot, field) in adv.iter_mut().zip(ADV_FIELDS) {
            *slot = text(q, field, MAX_VALUE_LEN)?;
        }
        let idempotency_key = text(q, "idempotency_key", 64)?;
        if !idempotency_key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(ParamError::Invalid { field: "idempotency_key", reason: "must be letters, digits, - or _" });
        }
        let amount = q.single("amount")?.map(Money::parse).transpose().map_err(ParamError::Amount)?;
        if amount.is_some_and(|a| a < Money::ZERO) {
            return Err(ParamError::Invalid { field: "amount", reason: "must not be negative" });
        }
        let verification_token = Some(text(q, "verification_token", 128)?).filter(|t| !t.is_empty());
        Ok(ConversionRequest {
            transaction_id: optional_tid(q, "transaction_id")?,
            cookie_tid: optional_tid(q, "cookie_tid")?,
            oid: optional_id(q, "oid")?,
            advertiser_id: optional_id(q, "advertiser_id")?,
            event: text(q, "event", 64)?.to_ascii_lowercase(),
            amount,
            order_id: text(q, "order_id", 128)?,
            coupon_code: text(q, "coupon_code", 64)?,
            adv,
            verification_token,
            idempotency_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn decodes_percent_and_plus() {
        let query = q("sub1=spring+sale&sub2=a%26b%3Dc&sub3=%C3%A9t%C3%A9&empty=&flag");
        assert_eq!(query.get("sub1"), Some("spring sale"));
        assert_eq!(query.get("sub2"), Some("a&b=c"));
        assert_eq!(query.get("sub3"), Some("été"));
        assert_eq!(query.get("empty"), None);
        assert_eq!(query.get("flag"), None);
    }

    #[test]
    fn a_parameter_repeated_with_another_value_is_refused() {
        assert_eq!(ClickRequest::parse(&q("oid=1&affid=1&oid=2")), Err(ParamError::Conflicting("oid")));
        assert_eq!(ConversionRequest::parse(&q("amount=5&amount=50")), Err(ParamError::Conflicting("amount")));
        assert!(ClickRequest::parse(&q("oid=1&affid=1&oid=1&sub1=&sub1=a")).is_ok(), "same value, or empty, is fine");
    }

    #[test]
    fn broken_encoding_is_an_error() {
        for raw in [&b"sub1=%zz"[..], b"sub1=%4", b"sub1=%", b"sub1=%ff%fe", b"sub1=\xff"] {
            assert_eq!(Query::parse(raw), Err(ParamError::InvalidEncoding), "{raw:?}");
        }
    }

    #[test]
    fn click_needs_integer_offer_and_partner() {
        assert_eq!(ClickRequest::parse(&q("affid=1")), Err(ParamError::Missing("oid")));
        assert_eq!(ClickRequest::parse(&q("oid=1")), Err(ParamError::Missing("affid")));
        for bad in [
            "oid=abc&affid=1",
            "oid=-1&affid=1",
            "oid=0&affid=1",
            "oid=1.5&affid=1",
            "oid=99999999999999999999&affid=1",
        ] {
            assert_eq!(ClickRequest::parse(&q(bad)), Err(ParamError::NotAnInteger("oid")), "{bad}");
        }
        let ok = ClickRequest::parse(&q("oid=7&affid=3&sub1=spring&gclid=abc")).unwrap();
        let ClickRequest::New { oid, affid, params } = ok else { panic!("expected a new click") };
        assert_eq!((oid, affid), (7, 3));
        assert_eq!(params.sub[0], "spring");
        assert_eq!(params.gclid, "abc");
    }

    #[test]
    fn click_validates_lengths_and_device_ids() {
        let long = format!("oid=1&affid=1&sub2={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(ClickRequest::parse(&q(&long)), Err(ParamError::TooLong { field: "sub2", max: MAX_VALUE_LEN }));
        assert!(matches!(
            ClickRequest::parse(&q("oid=1&affid=1&idfa=not-a-uuid")),
            Err(ParamError::Invalid { field: "idfa", .. })
        ));
        assert!(ClickRequest::parse(&q("oid=1&affid=1&idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC")).is_ok());
        assert!(matches!(
            ClickRequest::parse(&q("oid=1&affid=1&sub1=a%0Ab")),
            Err(ParamError::Invalid { field: "sub1", .. })
        ));
    }

    #[test]
    fn click_with_transaction_id_looks_up_the_existing_click() {
        let tid = TransactionId::generate(5);
        let parsed = ClickRequest::parse(&q(&format!("transaction_id={tid}"))).unwrap();
        assert_eq!(parsed, ClickRequest::Existing(tid));
        assert!(matches!(
            ClickRequest::parse(&q("transaction_id=xyz")),
            Err(ParamError::Invalid { field: "transaction_id", .. })
        ));
    }

    #[test]
    fn conversion_parses_money_exactly() {
        let tid = TransactionId::generate(5);
        let c = ConversionRequest::parse(&q(&format!(
            "transaction_id={tid}&amount=49.90&order_id=A-1&event=Purchase&idempotency_key=k1"
        )))
        .unwrap();
        assert_eq!(c.transaction_id, Some(tid));
        assert_eq!(c.amount, Some(Money(499_000)));
        assert_eq!(c.event, "purchase");
        assert_eq!(c.order_id, "A-1");
        assert_eq!(ConversionRequest::parse(&q("amount=4e1")), Err(ParamError::Amount(MoneyError::Malformed)));
        assert!(matches!(ConversionRequest::parse(&q("amount=-1")), Err(ParamError::Invalid { field: "amount", .. })));
        assert!(matches!(
            ConversionRequest::parse(&q("idempotency_key=a%20b")),
            Err(ParamError::Invalid { field: "idempotency_key", .. })
        ));
    }
}
