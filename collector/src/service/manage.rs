//! The management API's commands: advertisers, partners, offers, coupons and tracking links.
//!
//! Request bodies are parsed into the `*Input` shapes (unknown fields refused, the field at
//! fault named `events[1].payout`-style), checked and turned into model records by pure
//! functions; responses are the `*View` shapes. Money travels as decimal strings, never JSON
//! numbers. The async functions only check references, make one store write and answer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::destination::validate_template;
use crate::model::{
    Advertiser, AdvertiserId, Coupon, Offer, OfferEvent, OfferId, OfferStatus, Partner, PartnerId, PostbackTemplate,
    PriceRule, DEFAULT_SESSION_HOURS,
};
use crate::money::Money;
use crate::params::{Query, MAX_INTEGER_ID, MAX_VALUE_LEN};
use crate::store::{Store, StoreError};

/// Default view-through window: an impression earns a conversion within a day.
pub const DEFAULT_VIEW_THROUGH_HOURS: u32 = 24;
/// Default duplicate-click window: one unique click per visitor, offer and partner per day,
/// the "unique clicks" networks report.
pub const DEFAULT_DUPLICATE_CLICK_WINDOW_SECS: u32 = 86_400;
/// Longest attribution window: 90 days, the longest networks offer.
pub const MAX_SESSION_HOURS: u32 = 2160;
pub const MAX_DUPLICATE_CLICK_WINDOW_SECS: u32 = 30 * 86_400;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2048;
/// Bounds on list fields, so one record stays small enough to read on every click.
pub const MAX_EVENTS: usize = 50;
pub const MAX_ALTERNATES: usize = 50;
pub const MAX_POSTBACKS: usize = 50;
pub const MAX_BLOCKED_IPS: usize = 1000;
pub const MAX_CODE_CHARS: usize = 64;
pub const MIN_TOKEN_CHARS: usize = 8;
pub const MAX_TOKEN_CHARS: usize = 128;

// ---- errors ----

/// What is wrong with a field of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    Unknown,
    /// The JSON type does not fit (a number where a string belongs, …).
    WrongType,
    /// The value has the right type but breaks a rule.
    Invalid,
    /// The value names a record that does not exist.
    UnknownReference,
}

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The body is not a JSON object at all.
    #[error("{0}")]
    MalformedJson(String),
    #[error("{message}")]
    Field { field: String, problem: FieldProblem, message: String },
    /// The addressed record does not exist (`field` names the query parameter, if any).
    #[error("{message}")]
    NotFound { field: Option<String>, message: String },
    /// The request would take something another record holds (a coupon code).
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ManageError {
    fn invalid(field: impl Into<String>, rule: impl std::fmt::Display) -> ManageError {
        let field = field.into();
        ManageError::Field { message: format!("{field} {rule}"), field, problem: FieldProblem::Invalid }
    }

    fn unknown_reference(field: &str, what: &str, id: u64) -> ManageError {
        ManageError::Field {
            field: field.to_owned(),
            problem: FieldProblem::UnknownReference,
            message: format!("{field}: there is no {what} {id}"),
        }
    }

    fn not_found(what: &str, id: impl std::fmt::Display) -> ManageError {
        ManageError::NotFound { field: None, message: format!("there is no {what} {id}") }
    }
}

// ---- parsing request bodies ----

/// Parse a JSON body into `T`, naming the field at fault on any mismatch.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ManageError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ManageError::MalformedJson("the body is empty: send a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = field_path(e.path());
        body_error(path, e.into_inner())
    })?;
    de.end().map_err(|e| body_error(String::new(), e))?;
    Ok(value)
}

fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn body_error(path: String, e: serde_json::Error) -> ManageError {
    use serde_json::error::Category;
    let full = e.to_string();
    // serde_json appends the position; the field path says more to a person.
    let text = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m).to_owned();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ManageError::MalformedJson(format!("the body is not valid JSON: {full}"))
        }
        Category::Data => {
            if let Some(name) = quoted_after(&text, "missing field `") {
                let field = join(&path, name);
                return ManageError::Field {
                    message: format!("{field} is required"),
                    field,
                    problem: FieldProblem::Missing,
                };
            }
            if let Some(name) = quoted_after(&text, "duplicate field `") {
                let field = join(&path, name);
                return ManageError::Field {
                    message: format!("{field} appears twice"),
                    field,
                    problem: FieldProblem::Invalid,
                };
            }
            if let Some(name) = quoted_after(&text, "unknown field `") {
                // The path already ends at the unknown key.
                let field = if path == name || path.ends_with(&format!(".{name}")) { path } else { join(&path, name) };
                let expected = text.split_once(", expected ").map_or(String::new(), |(_, e)| format!("; expected {e}"));
                return ManageError::Field {
                    message: format!("{field} is not a known field{}", expected.replace('`', "")),
                    field,
                    problem: FieldProblem::Unknown,
                };
            }
            if path.is_empty() {
                return ManageError::MalformedJson(format!("the body must be a JSON object ({text})"));
            }
            ManageError::Field {
                message: format!("{path}: {}", text.replace('`', "")),
                field: path,
                problem: FieldProblem::WrongType,
            }
        }
    }
}

/// `name` in "…prefix`name`…".
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// A money amount as the client sent it: a decimal string. A JSON number is refused, since
/// a float cannot hold every amount exactly and clients' encoders round them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyText(pub String);

impl<'de> Deserialize<'de> for MoneyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        const NUMBER: &str = "must be a string like \"5.00\", not a JSON number: send money as a decimal string";
        impl de::Visitor<'_> for Visitor {
            type Value = MoneyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal string like \"5.00\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MoneyText, E> {
                Ok(MoneyText(v.to_owned()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MoneyText, E> {
                Err(E::custom(NUMBER))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MoneyText, E> {
                Err(E::custom(NUMBER))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MoneyText, E> {
                Err(E::custom(NUMBER))
            }
        }
        // `any`, so a number reaches visit_f64 and gets the "send a string" message.
        deserializer.deserialize_any(Visitor)
    }
}

// ---- shared checks ----

fn check_name(field: &str, name: &str) -> Result<String, ManageError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(ManageError::invalid(field, "must not be blank"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(ManageError::invalid(field, format_args!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ManageError::invalid(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

fn check_url(field: &str, url: &str) -> Result<(), ManageError> {
    if url.len() > MAX_URL_CHARS {
        return Err(ManageError::invalid(field, format_args!("must be at most {MAX_URL_CHARS} characters")));
    }
    validate_template(url).map_err(|e| ManageError::invalid(field, e))
}

/// Letters, digits, `-` and `_`, 1 to `max` characters.
fn is_slug(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

fn check_id_matches(body_id: Option<u64>, path_id: Option<u64>) -> Result<(), ManageError> {
    match (body_id, path_id) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ManageError::invalid("id", "is assigned by the server: leave it out when creating")),
        (Some(b), Some(p)) if b == p => Ok(()),
        (Some(b), Some(p)) => {
            Err(ManageError::invalid("id", format_args!("is {b} but the URL names {p}: IDs cannot be changed")))
        }
    }
}

// ---- advertisers ----

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvertiserInput {
    /// Accepted on update so a fetched record can be sent back; must match the URL.
    #[serde(default)]
    pub id: Option<u64>,
    pub name: String,
    /// S2S postbacks must carry it when set; `null` or absent: none.
    #[serde(default)]
    pub verification_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvertiserView {
    pub id: AdvertiserId,
    pub name: String,
    pub verification_token: Option<String>,
}

/// A list row: the token is never listed, only whether there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvertiserSummary {
    pub id: AdvertiserId,
    pub name: String,
    pub verification_token_set: bool,
}

/// `path_id`: the ID in the URL of an update, `None` for a create.
pub fn advertiser_from_input(input: AdvertiserInput, path_id: Option<u64>) -> Result<Advertiser, ManageError> {
    check_id_matches(input.id, path_id)?;
    let name = check_name("name", &input.name)?;
    if let Some(token) = &input.verification_token {
        // Tokens travel in postback query strings: keep them to characters that need no encoding.
        let ok_chars = token.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.~".contains(&c));
        if !(MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&token.len()) || !ok_chars {
            return Err(ManageError::invalid(
                "verification_token",
                format_args!(
                    "must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} letters, digits, '-', '_', '.' or '~' \
                     (null for no token)"
                ),
            ));
        }
    }
    Ok(Advertiser { id: path_id.unwrap_or(0), name, verification_token: input.verification_token })
}

impl From<Advertiser> for AdvertiserView {
    fn from(a: Advertiser) -> Self {
        AdvertiserView { id: a.id, name: a.name, verification_token: a.verification_token }
    }
}

impl From<Advertiser> for AdvertiserSummary {
    fn from(a: Advertiser) -> Self {
        AdvertiserSummary { id: a.id, name: a.name, verification_token_set: a.verification_token.is_some() }
    }
}

pub async fn create_advertiser(store: &Store, input: AdvertiserInput) -> Result<AdvertiserView, ManageError> {
    let mut advertiser = advertiser_from_input(input, None)?;
    advertiser.id = store.put_advertiser(advertiser.clone()).await?;
    Ok(advertiser.into())
}

pub async fn update_advertiser(store: &Store, id: u64, input: AdvertiserInput) -> Result<AdvertiserView, ManageError> {
    store.advertiser(id)?.ok_or_else(|| ManageError::not_found("advertiser", id))?;
    let advertiser = advertiser_from_input(input, Some(id))?;
    store.put_advertiser(advertiser.clone()).await?;
    Ok(advertiser.into())
}

pub fn advertiser(store: &Store, id: u64) -> Result<AdvertiserView, ManageError> {
    Ok(store.advertiser(id)?.ok_or_else(|| ManageError::not_found("advertiser", id))?.into())
}

pub fn advertisers(store: &Store) -> Result<Vec<AdvertiserSummary>, ManageError> {
    Ok(store.advertisers()?.into_iter().map(AdvertiserSummary::from).collect())
}

// ---- partners ----

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    #[serde(default)]
    pub id: Option<u64>,
    pub name: String,
    #[serde(default)]
    pub postbacks: Vec<PostbackInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostbackInput {
    pub url: String,
    /// `null`: every offer.
    #[serde(default)]
    pub offer_id: Option<OfferId>,
    /// `null`: every event; `""`: the base event only.
    #[serde(default)]
    pub event: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerView {
    pub id: PartnerId,
    pub name: String,
    pub postbacks: Vec<PostbackInput>,
}

pub fn partner_from_input(input: PartnerInput, path_id: Option<u64>) -> Result<Partner, ManageError> {
    check_id_matches(input.id, path_id)?;
    let name = check_name("name", &input.name)?;
    if input.postbacks.len() > MAX_POSTBACKS {
        return Err(ManageError::invalid("postbacks", format_args!("may hold at most {MAX_POSTBACKS} entries")));
    }
    let mut postbacks = Vec::with_capacity(input.postbacks.len());
    for (i, p) in input.postbacks.into_iter().enumerate() {
        check_url(&format!("postbacks[{i}].url"), &p.url)?;
        if let Some(event) = &p.event {
            check_event_name(&format!("postbacks[{i}].event"), event)?;
        }
        postbacks.push(PostbackTemplate { url: p.url, offer_id: p.offer_id, event: p.event });
    }
    Ok(Partner { id: path_id.unwrap_or(0), name, postbacks })
}

impl From<Partner> for PartnerView {
    fn from(p: Partner) -> Self {
        let postbacks = p
            .postbacks
            .into_iter()
            .map(|t| PostbackInput { url: t.url, offer_id: t.offer_id, event: t.event })
            .collect();
        PartnerView { id: p.id, name: p.name, postbacks }
    }
}

fn check_postback_offers(store: &Store, partner: &Partner) -> Result<(), ManageError> {
    for (i, p) in partner.postbacks.iter().enumerate() {
        if let Some(oid) = p.offer_id {
            if store.offer(oid)?.is_none() {
                return Err(ManageError::unknown_reference(&format!("postbacks[{i}].offer_id"), "offer", oid));
            }
        }
    }
    Ok(())
}

pub async fn create_partner(store: &Store, input: PartnerInput) -> Result<PartnerView, ManageError> {
    let mut partner = partner_from_input(input, None)?;
    check_postback_offers(store, &partner)?;
    partner.id = store.put_partner(partner.clone()).await?;
    Ok(partner.into())
}

pub async fn update_partner(store: &Store, id: u64, input: PartnerInput) -> Result<PartnerView, ManageError> {
    store.partner(id)?.ok_or_else(|| ManageError::not_found("partner", id))?;
    let partner = partner_from_input(input, Some(id))?;
    check_postback_offers(store, &partner)?;
    store.put_partner(partner.clone()).await?;
    Ok(partner.into())
}

pub fn partner(store: &Store, id: u64) -> Result<PartnerView, ManageError> {
    Ok(store.partner(id)?.ok_or_else(|| ManageError::not_found("partner", id))?.into())
}

pub fn partners(store: &Store) -> Result<Vec<PartnerView>, ManageError> {
    Ok(store.partners()?.into_iter().map(PartnerView::from).collect())
}

// ---- offers ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusText {
    #[default]
    Active,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceType {
    #[default]
    Fixed,
    Percent,
}

fn default_session_hours() -> u32 {
    DEFAULT_SESSION_HOURS
}
fn default_view_through_hours() -> u32 {
    DEFAULT_VIEW_THROUGH_HOURS
}
fn default_duplicate_window() -> u32 {
    DEFAULT_DUPLICATE_CLICK_WINDOW_SECS
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    #[serde(default)]
    pub id: Option<u64>,
    pub advertiser_id: AdvertiserId,
    pub name: String,
    #[serde(default)]
    pub status: StatusText,
    pub destination_url: String,
    /// `uid` → destination template.
    #[serde(default)]
    pub alternate_destinations: BTreeMap<String, String>,
    #[serde(default)]
    pub fallback_url: Option<String>,
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
    #[serde(default = "default_view_through_hours")]
    pub view_through_hours: u32,
    /// Absent: one base event paying nothing (clicks and conversions are still tracked).
    #[serde(default)]
    pub events: Option<Vec<EventInput>>,
    #[serde(default = "yes")]
    pub accept_browser_conversions: bool,
    #[serde(default = "default_duplicate_window")]
    pub duplicate_click_window_secs: u32,
    #[serde(default)]
    pub blocked_ips: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// `""` (or absent): the base event.
    #[serde(default)]
    pub name: String,
    pub payout: MoneyText,
    #[serde(default)]
    pub payout_type: PriceType,
    /// Absent: no revenue recorded.
    #[serde(default)]
    pub revenue: Option<MoneyText>,
    #[serde(default)]
    pub revenue_type: PriceType,
    #[serde(default)]
    pub allow_duplicates: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub name: String,
    pub payout: String,
    pub payout_type: PriceType,
    pub revenue: String,
    pub revenue_type: PriceType,
    pub allow_duplicates: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferView {
    pub id: OfferId,
    pub advertiser_id: AdvertiserId,
    pub name: String,
    pub status: StatusText,
    pub destination_url: String,
    pub alternate_destinations: BTreeMap<String, String>,
    pub fallback_url: Option<String>,
    pub session_hours: u32,
    pub view_through_hours: u32,
    pub events: Vec<EventView>,
    pub accept_browser_conversions: bool,
    pub duplicate_click_window_secs: u32,
    pub blocked_ips: Vec<String>,
}

/// Event names travel in conversion URLs: `""` (the base event) or a short slug.
fn check_event_name(field: &str, name: &str) -> Result<(), ManageError> {
    if name.is_empty() || is_slug(name, MAX_CODE_CHARS) {
        Ok(())
    } else {
        Err(ManageError::invalid(
            field,
            format_args!("must be \"\" (the base event) or up to {MAX_CODE_CHARS} letters, digits, '-' or '_'"),
        ))
    }
}

fn price_rule(field: &str, text: &MoneyText, kind: PriceType) -> Result<PriceRule, ManageError> {
    let value = Money::parse(&text.0).map_err(|e| ManageError::invalid(field, e))?;
    if value < Money::ZERO {
        return Err(ManageError::invalid(field, "must not be negative"));
    }
    match kind {
        PriceType::Fixed => Ok(PriceRule::Fixed(value)),
        // More than the whole sale is a typo far more often than a deal.
        PriceType::Percent if value > Money::parse("100").unwrap_or(Money::ZERO) => {
            Err(ManageError::invalid(field, "is a percentage and must be at most 100"))
        }
        PriceType::Percent => Ok(PriceRule::Percent(value)),
    }
}

fn price_view(rule: PriceRule) -> (String, PriceType) {
    match rule {
        PriceRule::Fixed(m) => (m.to_string(), PriceType::Fixed),
        PriceRule::Percent(m) => (m.to_string(), PriceType::Percent),
    }
}

fn offer_events(events: Option<Vec<EventInput>>) -> Result<Vec<OfferEvent>, ManageError> {
    let Some(events) = events else {
        let zero = PriceRule::Fixed(Money::ZERO);
        return Ok(vec![OfferEvent { name: String::new(), payout: zero, revenue: zero, allow_duplicates: false }]);
    };
    if events.len() > MAX_EVENTS {
        return Err(ManageError::invalid("events", format_args!("may hold at most {MAX_EVENTS} events")));
    }
    let mut out: Vec<OfferEvent> = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        check_event_name(&format!("events[{i}].name"), &e.name)?;
        if let Some(j) = out.iter().position(|o| o.name.eq_ignore_ascii_case(&e.name)) {
            return Err(ManageError::invalid(
                format!("events[{i}].name"),
                format_args!("repeats events[{j}].name (names are compared without case)"),
            ));
        }
        let payout = price_rule(&format!("events[{i}].payout"), &e.payout, e.payout_type)?;
        let revenue = match &e.revenue {
            Some(text) => price_rule(&format!("events[{i}].revenue"), text, e.revenue_type)?,
            None => PriceRule::Fixed(Money::ZERO),
        };
        out.push(OfferEvent { name: e.name, payout, revenue, allow_duplicates: e.allow_duplicates });
    }
    if out.iter().all(|e| !e.name.is_empty()) {
        return Err(ManageError::invalid(
            "events",
            "must include the base event (name \"\"): conversions that name no event are counted against it",
        ));
    }
    Ok(out)
}

/// An IP address or a CIDR range, in its canonical spelling.
fn blocked_ip(field: &str, entry: &str) -> Result<String, ManageError> {
    let bad = || ManageError::invalid(field, "must be an IP address or a CIDR range like 203.0.113.0/24");
    let Some((addr, prefix)) = entry.split_once('/') else {
        return entry.parse::<IpAddr>().map(|ip| ip.to_string()).map_err(|_| bad());
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let bits: u8 = prefix.parse().map_err(|_| bad())?;
    let (network, max) = match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits.min(32))).unwrap_or(0);
            (IpAddr::from((u32::from(v4) & mask).to_be_bytes()), 32)
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits.min(128))).unwrap_or(0);
            (IpAddr::from((u128::from(v6) & mask).to_be_bytes()), 128)
        }
    };
    if bits > max {
        return Err(bad());
    }
    if network != ip {
        return Err(ManageError::invalid(
            field,
            format_args!("has host bits set: the range is {network}/{bits}, write it that way"),
        ));
    }
    Ok(format!("{network}/{bits}"))
}

pub fn offer_from_input(input: OfferInput, path_id: Option<u64>) -> Result<Offer, ManageError> {
    check_id_matches(input.id, path_id)?;
    let name = check_name("name", &input.name)?;
    check_url("destination_url", &input.destination_url)?;
    if input.alternate_destinations.len() > MAX_ALTERNATES {
        return Err(ManageError::invalid(
            "alternate_destinations",
            format_args!("may hold at most {MAX_ALTERNATES} destinations"),
        ));
    }
    for (uid, url) in &input.alternate_destinations {
        let field = format!("alternate_destinations.{uid}");
        if !is_slug(uid, MAX_CODE_CHARS) {
            return Err(ManageError::invalid(
                field,
                format_args!("is not a usable uid: keys must be 1 to {MAX_CODE_CHARS} letters, digits, '-' or '_'"),
            ));
        }
        check_url(&field, url)?;
    }
    if let Some(url) = &input.fallback_url {
        check_url("fallback_url", url)?;
        if url.contains(['{', '}']) {
            return Err(ManageError::invalid("fallback_url", "must not contain macros: it is used as written"));
        }
    }
    if !(1..=MAX_SESSION_HOURS).contains(&input.session_hours) {
        return Err(ManageError::invalid("session_hours", format_args!("must be 1 to {MAX_SESSION_HOURS} hours")));
    }
    if input.view_through_hours > MAX_SESSION_HOURS {
        return Err(ManageError::invalid(
            "view_through_hours",
            format_args!("must be 0 (no view-through) to {MAX_SESSION_HOURS} hours"),
        ));
    }
    if input.duplicate_click_window_secs > MAX_DUPLICATE_CLICK_WINDOW_SECS {
        return Err(ManageError::invalid(
            "duplicate_click_window_secs",
            format_args!("must be 0 (every click unique) to {MAX_DUPLICATE_CLICK_WINDOW_SECS} seconds (30 days)"),
        ));
    }
    if input.blocked_ips.len() > MAX_BLOCKED_IPS {
        return Err(ManageError::invalid("blocked_ips", format_args!("may hold at most {MAX_BLOCKED_IPS} entries")));
    }
    let blocked_ips = input
        .blocked_ips
        .iter()
        .enumerate()
        .map(|(i, entry)| blocked_ip(&format!("blocked_ips[{i}]"), entry))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Offer {
        id: path_id.unwrap_or(0),
        advertiser_id: input.advertiser_id,
        name,
        status: match input.status {
            StatusText::Active => OfferStatus::Active,
            StatusText::Paused => OfferStatus::Paused,
        },
        destination_url: input.destination_url,
        alternate_destinations: input.alternate_destinations.into_iter().collect(),
        fallback_url: input.fallback_url,
        session_hours: input.session_hours,
        view_through_hours: input.view_through_hours,
        events: offer_events(input.events)?,
        accept_browser_conversions: input.accept_browser_conversions,
        duplicate_click_window_secs: input.duplicate_click_window_secs,
        blocked_ips,
    })
}

impl From<Offer> for OfferView {
    fn from(o: Offer) -> Self {
        let events = o
            .events
            .into_iter()
            .map(|e| {
                let (payout, payout_type) = price_view(e.payout);
                let (revenue, revenue_type) = price_view(e.revenue);
                EventView {
                    name: e.name,
                    payout,
                    payout_type,
                    revenue,
                    revenue_type,
                    allow_duplicates: e.allow_duplicates,
                }
            })
            .collect();
        OfferView {
            id: o.id,
            advertiser_id: o.advertiser_id,
            name: o.name,
            status: match o.status {
                OfferStatus::Active => StatusText::Active,
                OfferStatus::Paused => StatusText::Paused,
            },
            destination_url: o.destination_url,
            alternate_destinations: o.alternate_destinations.into_iter().collect(),
            fallback_url: o.fallback_url,
            session_hours: o.session_hours,
            view_through_hours: o.view_through_hours,
            events,
            accept_browser_conversions: o.accept_browser_conversions,
            duplicate_click_window_secs: o.duplicate_click_window_secs,
            blocked_ips: o.blocked_ips,
        }
    }
}

fn check_offer_advertiser(store: &Store, offer: &Offer) -> Result<(), ManageError> {
    match store.advertiser(offer.advertiser_id)? {
        Some(_) => Ok(()),
        None => Err(ManageError::unknown_reference("advertiser_id", "advertiser", offer.advertiser_id)),
    }
}

pub async fn create_offer(store: &Store, input: OfferInput) -> Result<OfferView, ManageError> {
    let mut offer = offer_from_input(input, None)?;
    check_offer_advertiser(store, &offer)?;
    offer.id = store.put_offer(offer.clone()).await?;
    Ok(offer.into())
}

pub async fn update_offer(store: &Store, id: u64, input: OfferInput) -> Result<OfferView, ManageError> {
    store.offer(id)?.ok_or_else(|| ManageError::not_found("offer", id))?;
    let offer = offer_from_input(input, Some(id))?;
    check_offer_advertiser(store, &offer)?;
    store.put_offer(offer.clone()).await?;
    Ok(offer.into())
}

pub fn offer(store: &Store, id: u64) -> Result<OfferView, ManageError> {
    Ok(store.offer(id)?.ok_or_else(|| ManageError::not_found("offer", id))?.into())
}

pub fn offers(store: &Store) -> Result<Vec<OfferView>, ManageError> {
    Ok(store.offers()?.into_iter().map(OfferView::from).collect())
}

// ---- coupons ----

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    /// Required on create; on update optional, and must match the URL.
    #[serde(default)]
    pub code: Option<String>,
    pub offer_id: OfferId,
    pub partner_id: PartnerId,
    /// Milliseconds since the Unix epoch; `null` or absent: unbounded.
    #[serde(default)]
    pub valid_from_ms: Option<u64>,
    /// Exclusive end, milliseconds since the Unix epoch.
    #[serde(default)]
    pub valid_until_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponView {
    pub code: String,
    pub offer_id: OfferId,
    pub partner_id: PartnerId,
    pub valid_from_ms: Option<u64>,
    pub valid_until_ms: Option<u64>,
}

/// A coupon code as stored: lowercase letters, digits, `-`, `_`.
pub fn coupon_code(field: &str, code: &str) -> Result<String, ManageError> {
    if !is_slug(code, MAX_CODE_CHARS) {
        return Err(ManageError::invalid(
            field,
            format_args!("must be 1 to {MAX_CODE_CHARS} letters, digits, '-' or '_' (no spaces)"),
        ));
    }
    Ok(code.to_ascii_lowercase())
}

/// `path_code`: the code in the URL of an update, `None` for a create.
pub fn coupon_from_input(input: CouponInput, path_code: Option<&str>) -> Result<Coupon, ManageError> {
    let code = match (&input.code, path_code) {
        (None, None) => {
            return Err(ManageError::Field {
                field: "code".into(),
                problem: FieldProblem::Missing,
                message: "code is required".into(),
            })
        }
        (Some(code), None) => coupon_code("code", code)?,
        (None, Some(path)) => path.to_ascii_lowercase(),
        (Some(code), Some(path)) => {
            if !code.eq_ignore_ascii_case(path) {
                return Err(ManageError::invalid(
                    "code",
                    format_args!(
                        "is {code:?} but the URL names {path:?}: codes cannot be changed, create a new coupon"
                    ),
                ));
            }
            path.to_ascii_lowercase()
        }
    };
    if let (Some(from), Some(until)) = (input.valid_from_ms, input.valid_until_ms) {
        if until <= from {
            return Err(ManageError::invalid("valid_until_ms", "must be later than valid_from_ms"));
        }
    }
    Ok(Coupon {
        code,
        offer_id: input.offer_id,
        partner_id: input.partner_id,
        valid_from_ms: input.valid_from_ms,
        valid_until_ms: input.valid_until_ms,
    })
}

impl From<Coupon> for CouponView {
    fn from(c: Coupon) -> Self {
        CouponView {
            code: c.code,
            offer_id: c.offer_id,
            partner_id: c.partner_id,
            valid_from_ms: c.valid_from_ms,
            valid_until_ms: c.valid_until_ms,
        }
    }
}

fn check_coupon_references(store: &Store, coupon: &Coupon) -> Result<(), ManageError> {
    if store.offer(coupon.offer_id)?.is_none() {
        return Err(ManageError::unknown_reference("offer_id", "offer", coupon.offer_id));
    }
    if store.partner(coupon.partner_id)?.is_none() {
        return Err(ManageError::unknown_reference("partner_id", "partner", coupon.partner_id));
    }
    Ok(())
}

pub async fn create_coupon(store: &Store, input: CouponInput) -> Result<CouponView, ManageError> {
    let coupon = coupon_from_input(input, None)?;
    check_coupon_references(store, &coupon)?;
    if !store.insert_coupon(coupon.clone()).await? {
        let holder = store.coupon(&coupon.code)?.map_or(String::new(), |c| format!(" by partner {}", c.partner_id));
        return Err(ManageError::Conflict {
            field: "code".into(),
            message: format!(
                "coupon code {:?} is already used{holder}; codes are unique whatever their case \
                 (PUT /api/coupons/{} to change that coupon)",
                coupon.code, coupon.code
            ),
        });
    }
    Ok(coupon.into())
}

pub async fn update_coupon(store: &Store, code: &str, input: CouponInput) -> Result<CouponView, ManageError> {
    store.coupon(code)?.ok_or_else(|| ManageError::not_found("coupon", format_args!("{code:?}")))?;
    let coupon = coupon_from_input(input, Some(code))?;
    check_coupon_references(store, &coupon)?;
    store.put_coupon(coupon.clone()).await?;
    Ok(coupon.into())
}

pub fn coupon(store: &Store, code: &str) -> Result<CouponView, ManageError> {
    Ok(store.coupon(code)?.ok_or_else(|| ManageError::not_found("coupon", format_args!("{code:?}")))?.into())
}

pub fn coupons(store: &Store) -> Result<Vec<CouponView>, ManageError> {
    Ok(store.coupons()?.into_iter().map(CouponView::from).collect())
}

// ---- tracking links ----

/// The click parameters a link carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkRequest {
    pub oid: OfferId,
    pub affid: PartnerId,
    pub sub: [String; 5],
    pub source_id: String,
}

const LINK_PARAMS: [&str; 8] = ["oid", "affid", "sub1", "sub2", "sub3", "sub4", "sub5", "source_id"];

impl LinkRequest {
    /// From `/api/links`' query: `oid` and `affid` required, subs and `source_id` optional,
    /// anything else refused (a parameter silently left out of a link is a lost sub value).
    pub fn parse(q: &Query) -> Result<LinkRequest, ManageError> {
        if let Some(name) = q.names().find(|n| !LINK_PARAMS.contains(n)) {
            return Err(ManageError::Field {
                field: name.to_owned(),
                problem: FieldProblem::Unknown,
                message: format!("{name} is not a link parameter; use {}", LINK_PARAMS.join(", ")),
            });
        }
        let id = |name: &str| -> Result<u64, ManageError> {
            let raw = q.get(name).ok_or_else(|| ManageError::Field {
                field: name.to_owned(),
                problem: FieldProblem::Missing,
                message: format!("{name} is required"),
            })?;
            raw.parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_INTEGER_ID).contains(n))
                .ok_or_else(|| ManageError::invalid(name, "must be a positive integer"))
        };
        let text = |name: &str| -> Result<String, ManageError> {
            let value = q.get(name).unwrap_or("");
            if value.chars().count() > MAX_VALUE_LEN {
                return Err(ManageError::invalid(name, format_args!("must be at most {MAX_VALUE_LEN} characters")));
            }
            if value.chars().any(char::is_control) {
                return Err(ManageError::invalid(name, "must not contain control characters"));
            }
            Ok(value.to_owned())
        };
        Ok(LinkRequest {
            oid: id("oid")?,
            affid: id("affid")?,
            sub: [text("sub1")?, text("sub2")?, text("sub3")?, text("sub4")?, text("sub5")?],
            source_id: text("source_id")?,
        })
    }

    /// `oid=…&affid=…` then the non-empty subs and `source_id`, each value encoded.
    fn query(&self) -> String {
        let mut out = format!("oid={}&affid={}", self.oid, self.affid);
        let named = ["sub1", "sub2", "sub3", "sub4", "sub5"].iter().zip(&self.sub);
        for (name, value) in named.chain(std::iter::once((&"source_id", &self.source_id))) {
            if !value.is_empty() {
                out.push('&');
                out.push_str(name);
                out.push('=');
                out.extend(utf8_percent_encode(value, QUERY_VALUE));
            }
        }
        out
    }
}

/// Everything but RFC 3986 unreserved characters is encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingLinks {
    pub oid: OfferId,
    pub affid: PartnerId,
    pub offer_status: StatusText,
    /// Through the collector: counts the click, then 302 to the offer's destination.
    pub redirect_link: String,
    /// Straight to the landing page; the SDK there records the click. `None` when the
    /// destination has macros outside its query string, which only a redirect can fill.
    pub direct_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_link_unavailable: Option<String>,
}

pub fn redirect_link(collector_url: &str, request: &LinkRequest) -> String {
    format!("{}/clk?{}", collector_url.trim_end_matches('/'), request.query())
}

/// The offer's landing URL — its destination template without the query parameters whose
/// values are macros (the SDK sends those values itself) or that the link sets — with the
/// link's parameters appended. Macros elsewhere in the URL cannot be filled without a
/// redirect: then the reason is returned instead.
pub fn direct_link(destination_template: &str, request: &LinkRequest) -> Result<String, String> {
    let (before_fragment, fragment) = match destination_template.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (destination_template, None),
    };
    let (base, query) = before_fragment.split_once('?').unwrap_or((before_fragment, ""));
    if base.contains('{') {
        return Err("the offer's destination URL has a macro in its path, which only a redirect link can fill".into());
    }
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains('{'))
        .filter(|pair| !LINK_PARAMS.contains(&pair.split('=').next().unwrap_or("")))
        .map(str::to_owned)
        .collect();
    parts.push(request.query());
    let mut link = format!("{base}?{}", parts.join("&"));
    if let Some(fragment) = fragment.filter(|f| !f.contains('{')) {
        link.push('#');
        link.push_str(fragment);
    }
    Ok(link)
}

/// Both links for an existing offer and partner. `collector_url`: scheme and host the
/// collector is reached at, as the caller of the API sees it.
pub fn tracking_links(store: &Store, collector_url: &str, request: &LinkRequest) -> Result<TrackingLinks, ManageError> {
    let offer = store.offer(request.oid)?.ok_or_else(|| ManageError::NotFound {
        field: Some("oid".into()),
        message: format!("oid: there is no offer {}", request.oid),
    })?;
    if store.partner(request.affid)?.is_none() {
        return Err(ManageError::NotFound {
            field: Some("affid".into()),
            message: format!("affid: there is no partner {}", request.affid),
        });
    }
    let direct = direct_link(&offer.destination_url, request);
    Ok(TrackingLinks {
        oid: request.oid,
        affid: request.affid,
        offer_status: OfferView::from(offer).status,
        redirect_link: redirect_link(collector_url, request),
        direct_link_unavailable: direct.as_ref().err().cloned(),
        direct_link: direct.ok(),
    })
}

/// Parse an ID from a URL path; anything else names no record.
pub fn path_id(what: &str, raw: &str) -> Result<u64, ManageError> {
    raw.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| ManageError::not_found(what, format_args!("{raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ManageError) -> (String, FieldProblem, String) {
        match e {
            ManageError::Field { field, problem, message } => (field, problem, message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    /// A valid offer body with `extra` (`, "key": value…`) merged over it.
    fn offer_json(extra: &str) -> String {
        let mut body: serde_json::Value = serde_json::from_str(
            r#"{"advertiser_id": 1, "name": "Spring", "destination_url": "https://shop.example/?t={transaction_id}"}"#,
        )
        .unwrap();
        let extra: serde_json::Value = serde_json::from_str(&format!("{{\"_\": 0{extra}}}")).unwrap();
        for (k, v) in extra.as_object().unwrap().iter().filter(|(k, _)| *k != "_") {
            body[k] = v.clone();
        }
        body.to_string()
    }

    fn offer_of(extra: &str) -> Result<Offer, ManageError> {
        offer_from_input(parse_json(offer_json(extra).as_bytes())?, None)
    }

    #[test]
    fn json_errors_name_the_field() {
        let cases = [
            (r#"{"name": "A", "bogus": 1}"#, "bogus", FieldProblem::Unknown),
            (r#"{"verification_token": null}"#, "name", FieldProblem::Missing),
            (r#"{"name": 5}"#, "name", FieldProblem::WrongType),
        ];
        for (body, field, problem) in cases {
            let (f, p, message) = field_of(parse_json::<AdvertiserInput>(body.as_bytes()).unwrap_err());
            assert_eq!((f.as_str(), p), (field, problem), "{body}");
            assert!(message.starts_with(field), "{message}");
        }
        let (f, p, m) =
            field_of(offer_of(r#", "events": [{"payout": "1"}, {"name": "x", "payout": 2.5}]"#).unwrap_err());
        assert_eq!((f.as_str(), p), ("events[1].payout", FieldProblem::WrongType));
        assert!(m.contains("decimal string"), "{m}");
        let (f, p, _) = field_of(offer_of(r#", "events": [{"payout": "1", "colour": "red"}]"#).unwrap_err());
        assert_eq!((f.as_str(), p), ("events[0].colour", FieldProblem::Unknown));
        let (f, p, _) = field_of(offer_of(r#", "events": [{"name": "x"}]"#).unwrap_err());
        assert_eq!((f.as_str(), p), ("events[0].payout", FieldProblem::Missing));
        let (f, _, m) = field_of(offer_of(r#", "status": "sleeping""#).unwrap_err());
        assert_eq!(f, "status");
        assert!(m.contains("active"), "{m}");
        let (f, p, _) = field_of(parse_json::<AdvertiserInput>(br#"{"name": "A", "name": "B"}"#).unwrap_err());
        assert_eq!((f.as_str(), p), ("name", FieldProblem::Invalid));
        for body in ["", "  ", "{", "not json", "{\"name\": \"A\"} trailing", "[1]", "\"text\""] {
            assert!(
                matches!(parse_json::<AdvertiserInput>(body.as_bytes()), Err(ManageError::MalformedJson(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn offer_defaults() {
        let o = offer_of("").unwrap();
        assert_eq!(o.id, 0);
        assert_eq!(o.status, OfferStatus::Active);
        assert_eq!(o.session_hours, 720);
        assert_eq!(o.view_through_hours, 24);
        assert_eq!(o.duplicate_click_window_secs, 86_400);
        assert!(o.accept_browser_conversions);
        assert_eq!(o.events.len(), 1);
        assert_eq!(o.events[0].name, "");
        assert_eq!(o.events[0].payout, PriceRule::Fixed(Money::ZERO));
        assert_eq!(o.fallback_url, None);
    }

    #[test]
    fn offer_round_trips_through_its_view() {
        let o = offer_of(
            r#", "status": "paused", "events": [{"payout": "5.5", "revenue": "10", "revenue_type": "percent"},
                {"name": "renewal", "payout": "1.25", "allow_duplicates": true}],
                "alternate_destinations": {"summer": "https://shop.example/summer"},
                "fallback_url": "https://shop.example/", "blocked_ips": ["203.0.113.0/24", "2001:DB8::1"]"#,
        )
        .unwrap();
        assert_eq!(o.events[0].payout, PriceRule::Fixed(Money(55_000)));
        assert_eq!(o.events[0].revenue, PriceRule::Percent(Money(100_000)));
        assert!(o.events[1].allow_duplicates);
        assert_eq!(o.blocked_ips, vec!["203.0.113.0/24", "2001:db8::1"]);
        let view = serde_json::to_value(OfferView::from(o)).unwrap();
        assert_eq!(view["status"], "paused");
        assert_eq!(view["events"][0]["payout"], "5.50");
        assert_eq!(view["events"][0]["revenue_type"], "percent");
        assert_eq!(view["events"][1]["revenue"], "0.00");
        assert_eq!(view["alternate_destinations"]["summer"], "https://shop.example/summer");
        // A view is a valid input again (PUT what you GET).
        let again: OfferInput = serde_json::from_value(view).unwrap();
        assert!(offer_from_input(again, Some(0)).is_ok());
    }

    #[test]
    fn offer_rules() {
        let cases = [
            (r#", "name": "  ""#, "name"),
            (r#", "destination_url": "javascript:alert(1)""#, "destination_url"),
            (r#", "destination_url": "https://{sub1}.example/""#, "destination_url"),
            (r#", "destination_url": "/relative/path""#, "destination_url"),
            (r#", "alternate_destinations": {"summer": "ftp://x"}"#, "alternate_destinations.summer"),
            (r#", "alternate_destinations": {"a b": "https://x.example/"}"#, "alternate_destinations.a b"),
            (r#", "fallback_url": "https://x.example/{sub1}""#, "fallback_url"),
            (r#", "session_hours": 0"#, "session_hours"),
            (r#", "session_hours": 2161"#, "session_hours"),
            (r#", "events": [{"payout": "-1"}]"#, "events[0].payout"),
            (r#", "events": [{"payout": "1.00001"}]"#, "events[0].payout"),
            (r#", "events": [{"payout": "1e3"}]"#, "events[0].payout"),
            (r#", "events": [{"payout": "100.01", "payout_type": "percent"}]"#, "events[0].payout"),
            (r#", "events": [{"payout": "1", "revenue": "-2"}]"#, "events[0].revenue"),
            (r#", "events": [{"name": "sale", "payout": "1"}]"#, "events"),
            (r#", "events": [{"payout": "1"}, {"name": "", "payout": "2"}]"#, "events[1].name"),
            (
                r#", "events": [{"payout": "1"}, {"name": "a", "payout": "2"}, {"name": "A", "payout": "2"}]"#,
                "events[2].name",
            ),
            (r#", "events": [{"payout": "1"}, {"name": "has space", "payout": "2"}]"#, "events[1].name"),
            (r#", "blocked_ips": ["10.0.0.1", "not-an-ip"]"#, "blocked_ips[1]"),
            (r#", "blocked_ips": ["10.0.0.1/33"]"#, "blocked_ips[0]"),
            (r#", "blocked_ips": ["10.0.0.1/8"]"#, "blocked_ips[0]"),
            (r#", "duplicate_click_window_secs": 2592001"#, "duplicate_click_window_secs"),
            (r#", "id": 3"#, "id"),
        ];
        for (extra, field) in cases {
            let (f, _, message) = field_of(offer_of(extra).unwrap_err());
            assert_eq!(f, field, "{extra}: {message}");
            assert!(message.starts_with(field), "{message}");
        }
        assert!(offer_of(r#", "events": [{"payout": "100", "payout_type": "percent"}]"#).is_ok());
        assert!(offer_of(r#", "blocked_ips": ["0.0.0.0/0", "::/0", "2001:db8::/32"]"#).is_ok());
    }

    #[test]
    fn update_ids_must_match() {
        let input: AdvertiserInput = parse_json(br#"{"id": 4, "name": "A"}"#).unwrap();
        assert_eq!(advertiser_from_input(input.clone(), Some(4)).unwrap().id, 4);
        assert_eq!(field_of(advertiser_from_input(input.clone(), Some(5)).unwrap_err()).0, "id");
        assert_eq!(field_of(advertiser_from_input(input, None).unwrap_err()).0, "id");
    }

    #[test]
    fn advertiser_tokens() {
        let of = |token: &str| {
            advertiser_from_input(
                AdvertiserInput { id: None, name: "A".into(), verification_token: Some(token.into()) },
                None,
            )
        };
        assert!(of("s3cret-token_1.2~").is_ok());
        for bad in ["", "short", "has space in it", "ümlautümlaut", &"x".repeat(129)] {
            assert_eq!(field_of(of(bad).unwrap_err()).0, "verification_token", "{bad:?}");
        }
    }

    #[test]
    fn partner_postbacks() {
        let input: PartnerInput = parse_json(
            br#"{"name": " P ", "postbacks": [{"url": "https://p.example/pb?t={transaction_id}"},
                {"url": "https://p.example/s", "offer_id": 2, "event": "signup"}]}"#,
        )
        .unwrap();
        let p = partner_from_input(input, None).unwrap();
        assert_eq!(p.name, "P");
        assert_eq!(p.postbacks[1].offer_id, Some(2));
        let bad: PartnerInput =
            parse_json(br#"{"name": "P", "postbacks": [{"url": "https://{affid}.p.example/"}]}"#).unwrap();
        assert_eq!(field_of(partner_from_input(bad, None).unwrap_err()).0, "postbacks[0].url");
        let bad: PartnerInput =
            parse_json(br#"{"name": "P", "postbacks": [{"url": "https://p.example/", "event": "a b"}]}"#).unwrap();
        assert_eq!(field_of(partner_from_input(bad, None).unwrap_err()).0, "postbacks[0].event");
    }

    #[test]
    fn coupon_codes() {
        let input = |code: Option<&str>| CouponInput {
            code: code.map(str::to_owned),
            offer_id: 1,
            partner_id: 2,
            valid_from_ms: None,
            valid_until_ms: None,
        };
        assert_eq!(coupon_from_input(input(Some("Spring-25_X")), None).unwrap().code, "spring-25_x");
        for bad in ["", "with space", "ü", &"x".repeat(65)] {
            assert_eq!(field_of(coupon_from_input(input(Some(bad)), None).unwrap_err()).0, "code", "{bad:?}");
        }
        assert_eq!(field_of(coupon_from_input(input(None), None).unwrap_err()).1, FieldProblem::Missing);
        assert_eq!(coupon_from_input(input(None), Some("ABC")).unwrap().code, "abc");
        assert_eq!(coupon_from_input(input(Some("abc")), Some("ABC")).unwrap().code, "abc");
        assert_eq!(field_of(coupon_from_input(input(Some("other")), Some("abc")).unwrap_err()).0, "code");
        let backwards = CouponInput { valid_from_ms: Some(10), valid_until_ms: Some(10), ..input(Some("a")) };
        assert_eq!(field_of(coupon_from_input(backwards, None).unwrap_err()).0, "valid_until_ms");
    }

    fn link(q: &str) -> Result<LinkRequest, ManageError> {
        LinkRequest::parse(&Query::parse(q.as_bytes()).unwrap())
    }

    #[test]
    fn link_parameters() {
        let r = link("oid=3&affid=7&sub1=a%20b%26c&source_id=yt").unwrap();
        assert_eq!(
            redirect_link("http://t.example/", &r),
            "http://t.example/clk?oid=3&affid=7&sub1=a%20b%26c&source_id=yt"
        );
        assert_eq!(field_of(link("affid=7").unwrap_err()).0, "oid");
        assert_eq!(field_of(link("oid=0&affid=7").unwrap_err()).0, "oid");
        assert_eq!(field_of(link("oid=3&affid=x").unwrap_err()).0, "affid");
        assert_eq!(field_of(link("oid=3&affid=7&sub6=x").unwrap_err()).0, "sub6");
        assert_eq!(field_of(link("oid=3&affid=7&sub2=%01").unwrap_err()).0, "sub2");
    }

    #[test]
    fn direct_link_drops_macro_parameters() {
        let r = link("oid=3&affid=7&sub1=spring").unwrap();
        assert_eq!(
            direct_link("https://shop.example/land?tid={transaction_id}&utm_source=aff&a={affid}&oid=9#top", &r)
                .unwrap(),
            "https://shop.example/land?utm_source=aff&oid=3&affid=7&sub1=spring#top"
        );
        assert_eq!(direct_link("https://shop.example", &r).unwrap(), "https://shop.example?oid=3&affid=7&sub1=spring");
        assert_eq!(
            direct_link("https://shop.example/p#{sub1}", &r).unwrap(),
            "https://shop.example/p?oid=3&affid=7&sub1=spring"
        );
        assert!(direct_link("https://shop.example/{sub1}/land", &r).is_err());
    }
}
