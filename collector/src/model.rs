//! The records the collector keeps: configuration (advertisers, partners, offers) and
//! traffic (clicks, impressions, conversions). Plain data: no I/O, no sled, no actix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ConversionId, TransactionId};
use crate::money::Money;

pub type AdvertiserId = u64;
pub type PartnerId = u64;
pub type OfferId = u64;

/// Hours a click stays attributable when an offer does not say (30 days).
pub const DEFAULT_SESSION_HOURS: u32 = 720;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advertiser {
    pub id: AdvertiserId,
    pub name: String,
    /// Server-to-server postbacks must carry this token when it is set.
    pub verification_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    /// URLs the collector calls when one of this partner's conversions is approved.
    pub postbacks: Vec<PostbackTemplate>,
}

/// A partner's postback: a URL template with `{transaction_id}`-style macros, for every offer
/// or one, for every event or one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostbackTemplate {
    pub url: String,
    /// `None`: every offer.
    pub offer_id: Option<OfferId>,
    /// `None`: every event; `Some("")`: the base event only.
    pub event: Option<String>,
}

impl PostbackTemplate {
    pub fn applies_to(&self, oid: OfferId, event: &str) -> bool {
        self.offer_id.is_none_or(|o| o == oid) && self.event.as_deref().is_none_or(|e| e.eq_ignore_ascii_case(event))
    }
}

/// A coupon code that credits a partner when a conversion carries it and no click does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// Stored lowercase: codes are case-insensitive.
    pub code: String,
    pub offer_id: OfferId,
    pub partner_id: PartnerId,
    /// Milliseconds since the epoch; `None` means unbounded.
    pub valid_from_ms: Option<u64>,
    pub valid_until_ms: Option<u64>,
}

impl Coupon {
    pub fn is_valid_at(&self, now_ms: u64) -> bool {
        self.valid_from_ms.is_none_or(|f| now_ms >= f) && self.valid_until_ms.is_none_or(|u| now_ms < u)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferStatus {
    Active,
    Paused,
}

/// How a payout or revenue is computed from a conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceRule {
    /// The same amount for every conversion.
    Fixed(Money),
    /// A percentage (scaled like `Money`: 12.5 % is `Money(125_000)`) of the conversion's `amount`.
    Percent(Money),
}

impl PriceRule {
    pub fn apply(self, amount: Option<Money>) -> Money {
        match self {
            PriceRule::Fixed(m) => m,
            PriceRule::Percent(p) => amount.unwrap_or(Money::ZERO).percent(p),
        }
    }
}

/// One event of an offer. The base event has the empty name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferEvent {
    pub name: String,
    pub payout: PriceRule,
    pub revenue: PriceRule,
    /// When false, a second conversion on the same transaction ID and event is a duplicate.
    pub allow_duplicates: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub advertiser_id: AdvertiserId,
    pub name: String,
    pub status: OfferStatus,
    /// Destination URL template with `{transaction_id}`-style macros.
    pub destination_url: String,
    /// Alternate destinations chosen by the click's `uid`.
    pub alternate_destinations: Vec<(String, String)>,
    /// Where rejected redirect clicks go; none means a plain error page.
    pub fallback_url: Option<String>,
    pub session_hours: u32,
    pub view_through_hours: u32,
    pub events: Vec<OfferEvent>,
    /// Whether conversions without a verification token (SDK, pixel) are accepted.
    pub accept_browser_conversions: bool,
    /// A repeat click from the same visitor inside this many seconds is a duplicate.
    pub duplicate_click_window_secs: u32,
    /// IP addresses and CIDR ranges whose clicks are refused (`203.0.113.0/24`, `2001:db8::1`).
    pub blocked_ips: Vec<String>,
}

impl Offer {
    pub fn event(&self, name: &str) -> Option<&OfferEvent> {
        self.events.iter().find(|e| e.name.eq_ignore_ascii_case(name))
    }
}

/// The optional click parameters partners and ad platforms pass along.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingParams {
    pub sub: [String; 5],
    pub source_id: String,
    pub uid: String,
    pub creative_id: String,
    pub coupon_code: String,
    pub gclid: String,
    pub fbclid: String,
    pub ttclid: String,
    pub idfa: String,
    pub google_aid: String,
    pub android_id: String,
}

/// How a click reached the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    /// A tracking link answered with a 302 to the offer.
    Redirect,
    /// A server-side click asking for JSON.
    ServerSide,
    /// The browser SDK on the advertiser's landing page (a direct link).
    Sdk,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Redirect => "redirect",
            LinkKind::ServerSide => "server",
            LinkKind::Sdk => "sdk",
        }
    }
}

/// Who sent the visit and what the request looked like.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    pub ip: String,
    pub user_agent: String,
    pub referrer: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    pub id: TransactionId,
    pub oid: OfferId,
    pub affid: PartnerId,
    /// Zero when the offer was unknown (an invalid click).
    pub advertiser_id: AdvertiserId,
    pub params: TrackingParams,
    pub visitor: Visitor,
    pub kind: LinkKind,
    /// False for a repeat click from the same visitor inside the offer's window.
    pub unique: bool,
    /// Zero for a valid click, else a [`ClickRejection`] code.
    pub error_code: u16,
}

impl Click {
    pub fn is_valid(&self) -> bool {
        self.error_code == 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impression {
    pub id: TransactionId,
    pub oid: OfferId,
    pub affid: PartnerId,
    pub advertiser_id: AdvertiserId,
    pub params: TrackingParams,
    pub visitor: Visitor,
    pub error_code: u16,
}

/// Why a click is invalid. Codes are stable: partners and reports show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClickRejection {
    UnknownOffer = 1,
    OfferPaused = 2,
    UnknownPartner = 3,
    BotUserAgent = 4,
    EmptyUserAgent = 5,
    BlockedIp = 6,
}

impl ClickRejection {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<ClickRejection> {
        [
            ClickRejection::UnknownOffer,
            ClickRejection::OfferPaused,
            ClickRejection::UnknownPartner,
            ClickRejection::BotUserAgent,
            ClickRejection::EmptyUserAgent,
            ClickRejection::BlockedIp,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    pub fn message(self) -> &'static str {
        match self {
            ClickRejection::UnknownOffer => "offer not found",
            ClickRejection::OfferPaused => "offer is paused",
            ClickRejection::UnknownPartner => "partner not found",
            ClickRejection::BotUserAgent => "user agent is a known bot or crawler",
            ClickRejection::EmptyUserAgent => "user agent is empty",
            ClickRejection::BlockedIp => "IP address is blocked for this offer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversionStatus {
    Approved,
    Duplicate,
    Rejected,
    Unattributed,
}

impl ConversionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionStatus::Approved => "approved",
            ConversionStatus::Duplicate => "duplicate",
            ConversionStatus::Rejected => "rejected",
            ConversionStatus::Unattributed => "unattributed",
        }
    }
}

/// Whether the sender proved it is the advertiser's server (a valid verification token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversionSource {
    Server,
    Browser,
}

impl ConversionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionSource::Server => "server",
            ConversionSource::Browser => "browser",
        }
    }
}

/// Which piece of evidence tied the conversion to its click.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributedBy {
    TransactionId,
    FirstPartyCookie,
    TrackingCookie,
    Coupon,
    Impression,
    Nothing,
}

impl AttributedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributedBy::TransactionId => "transaction_id",
            AttributedBy::FirstPartyCookie => "first_party_cookie",
            AttributedBy::TrackingCookie => "tracking_cookie",
            AttributedBy::Coupon => "coupon",
            AttributedBy::Impression => "impression",
            AttributedBy::Nothing => "none",
        }
    }
}

/// Why a conversion was not approved. Codes are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversionRejection {
    UnknownTransaction = 101,
    SessionExpired = 102,
    OfferPaused = 103,
    EventNotOnOffer = 104,
    DuplicateTransactionEvent = 105,
    DuplicateOrder = 106,
    BadVerificationToken = 107,
    OfferMismatch = 108,
    BrowserConversionsRefused = 109,
    UnknownOffer = 110,
}

impl ConversionRejection {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn message(self) -> &'static str {
        match self {
            ConversionRejection::UnknownTransaction => "transaction ID not found",
            ConversionRejection::SessionExpired => "click is older than the offer's session duration",
            ConversionRejection::OfferPaused => "offer is paused",
            ConversionRejection::EventNotOnOffer => "event is not configured on the offer",
            ConversionRejection::DuplicateTransactionEvent => {
                "a conversion for this transaction and event was already recorded"
            }
            ConversionRejection::DuplicateOrder => "a conversion with this order_id was already recorded",
            ConversionRejection::BadVerificationToken => "verification token is missing or wrong",
            ConversionRejection::OfferMismatch => "the click belongs to another offer or advertiser",
            ConversionRejection::BrowserConversionsRefused => "offer accepts server-to-server conversions only",
            ConversionRejection::UnknownOffer => "offer or advertiser not found",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub id: ConversionId,
    pub status: ConversionStatus,
    pub rejection: Option<ConversionRejection>,
    pub source: ConversionSource,
    pub attributed_by: AttributedBy,
    pub transaction_id: Option<TransactionId>,
    pub oid: OfferId,
    pub affid: PartnerId,
    pub advertiser_id: AdvertiserId,
    pub event: String,
    pub amount: Option<Money>,
    pub payout: Money,
    pub revenue: Money,
    pub order_id: String,
    pub coupon_code: String,
    pub adv: [String; 5],
    pub idempotency_key: String,
    /// The attributed click's time and sub values, copied so reports need no join.
    pub click_time_ms: Option<u64>,
    pub click_params: TrackingParams,
    pub visitor: Visitor,
    /// For a duplicate: the conversion it duplicates.
    pub duplicate_of: Option<ConversionId>,
}

impl Conversion {
    pub fn error_code(&self) -> u16 {
        self.rejection.map_or(0, ConversionRejection::code)
    }

    pub fn error_message(&self) -> &'static str {
        self.rejection.map_or("", ConversionRejection::message)
    }
}

/// Report totals for one hour, offer and partner, kept up to date at write time so a summary
/// never scans raw clicks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub gross_clicks: u64,
    pub unique_clicks: u64,
    pub duplicate_clicks: u64,
    pub invalid_clicks: u64,
    /// Invalid clicks by [`ClickRejection`] code.
    pub invalid_by_reason: BTreeMap<u16, u64>,
    pub impressions: u64,
    /// Approved conversions (view-through ones included).
    pub conversions: u64,
    pub view_through_conversions: u64,
    /// The approved conversions that are on a named (extra) event rather than the base event.
    pub events: u64,
    pub rejected_conversions: u64,
    pub duplicate_conversions: u64,
    pub unattributed_conversions: u64,
    pub revenue: Money,
    pub payout: Money,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.gross_clicks += other.gross_clicks;
        self.unique_clicks += other.unique_clicks;
        self.duplicate_clicks += other.duplicate_clicks;
        self.invalid_clicks += other.invalid_clicks;
        for (code, n) in &other.invalid_by_reason {
            *self.invalid_by_reason.entry(*code).or_default() += n;
        }
        self.impressions += other.impressions;
        self.conversions += other.conversions;
        self.view_through_conversions += other.view_through_conversions;
        self.events += other.events;
        self.rejected_conversions += other.rejected_conversions;
        self.duplicate_conversions += other.duplicate_conversions;
        self.unattributed_conversions += other.unattributed_conversions;
        self.revenue = self.revenue.saturating_add(other.revenue);
        self.payout = self.payout.saturating_add(other.payout);
    }

    pub fn for_click(click: &Click) -> Counters {
        Counters {
            gross_clicks: 1,
            unique_clicks: u64::from(click.is_valid() && click.unique),
            duplicate_clicks: u64::from(click.is_valid() && !click.unique),
            invalid_clicks: u64::from(!click.is_valid()),
            invalid_by_reason: if click.is_valid() { BTreeMap::new() } else { BTreeMap::from([(click.error_code, 1)]) },
            ..Counters::default()
        }
    }

    pub fn for_impression(imp: &Impression) -> Counters {
        Counters { impressions: u64::from(imp.error_code == 0), ..Counters::default() }
    }

    pub fn for_conversion(c: &Conversion) -> Counters {
        let approved = c.status == ConversionStatus::Approved;
        Counters {
            conversions: u64::from(approved),
            view_through_conversions: u64::from(approved && c.attributed_by == AttributedBy::Impression),
            events: u64::from(approved && !c.event.is_empty()),
            rejected_conversions: u64::from(c.status == ConversionStatus::Rejected),
            duplicate_conversions: u64::from(c.status == ConversionStatus::Duplicate),
            unattributed_conversions: u64::from(c.status == ConversionStatus::Unattributed),
            revenue: if approved { c.revenue } else { Money::ZERO },
            payout: if approved { c.payout } else { Money::ZERO },
            ..Counters::default()
        }
    }
}

/// Where a partner-postback delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Gave up after the bounded number of tries; waits for someone to retry it.
    Paused,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Paused => "paused",
        }
    }
}

/// One call of a partner's postback URL for one approved conversion, kept in the outbox until
/// the partner's server answers 2xx.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostbackDelivery {
    pub id: crate::ids::TimeId,
    pub conversion_id: ConversionId,
    pub partner_id: PartnerId,
    /// The URL with every macro filled in.
    pub url: String,
    pub attempts: u32,
    pub next_attempt_ms: u64,
    pub status: DeliveryStatus,
    pub last_error: String,
}
