//! Who gets the conversion: the attribution rules as pure functions over records the caller
//! has already loaded. No I/O here, so every rule is tested without a store or a server.
//!
//! Duplicate rules are expressed as [`DedupeKey`]s: the store claims them atomically with the
//! conversion, which is what makes "at most once" hold under concurrent retries.

use crate::ids::TransactionId;
use crate::model::{
    Advertiser, AdvertiserId, AttributedBy, Click, ConversionRejection, ConversionSource, ConversionStatus, Coupon,
    Impression, Offer, OfferStatus,
};
use crate::money::Money;
use crate::params::ConversionRequest;

/// What a conversion is credited to: a click, an impression (view-through) or a coupon.
#[derive(Clone, Copy, Debug)]
pub enum Touchpoint<'a> {
    Click(&'a Click),
    Impression(&'a Impression),
    Coupon(&'a Coupon),
}

impl Touchpoint<'_> {
    /// The transaction ID, for clicks and impressions; a coupon has none.
    pub fn id(&self) -> Option<TransactionId> {
        match self {
            Touchpoint::Click(c) => Some(c.id),
            Touchpoint::Impression(i) => Some(i.id),
            Touchpoint::Coupon(_) => None,
        }
    }

    pub fn oid(&self) -> u64 {
        match self {
            Touchpoint::Click(c) => c.oid,
            Touchpoint::Impression(i) => i.oid,
            Touchpoint::Coupon(c) => c.offer_id,
        }
    }

    pub fn affid(&self) -> u64 {
        match self {
            Touchpoint::Click(c) => c.affid,
            Touchpoint::Impression(i) => i.affid,
            Touchpoint::Coupon(c) => c.partner_id,
        }
    }

    fn is_valid(&self) -> bool {
        match self {
            Touchpoint::Click(c) => c.is_valid(),
            Touchpoint::Impression(i) => i.error_code == 0,
            Touchpoint::Coupon(_) => true,
        }
    }
}

/// One piece of evidence, in the order it is tried: explicit ID, SDK first-party cookie,
/// tracking-domain cookie. `found` is what the store had for that ID.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    pub by: AttributedBy,
    pub id: TransactionId,
    pub found: Option<Touchpoint<'a>>,
}

/// Pick the touchpoint in DESIGN.md's order: a click named by the evidence (explicit ID,
/// then SDK cookie, then tracking cookie) → the coupon → an impression named by the evidence
/// (view-through) → nothing. A click beats a coupon; a coupon beats an impression. An
/// explicit transaction ID that names nothing is an error, not a reason to guess.
pub fn choose_touchpoint<'a>(
    evidence: &[Evidence<'a>],
    coupon: Option<&'a Coupon>,
) -> Result<Option<(Touchpoint<'a>, AttributedBy)>, ConversionRejection> {
    let mut impression = None;
    for e in evidence {
        match e.found {
            Some(t @ Touchpoint::Click(_)) => return Ok(Some((t, e.by))),
            Some(t) => impression = impression.or(Some(t)),
            None if e.by == AttributedBy::TransactionId => return Err(ConversionRejection::UnknownTransaction),
            None => {}
        }
    }
    if let Some(c) = coupon {
        return Ok(Some((Touchpoint::Coupon(c), AttributedBy::Coupon)));
    }
    Ok(impression.map(|t| (t, AttributedBy::Impression)))
}

/// A claim the store makes atomically with an approved or unattributed conversion; if the
/// claim is already taken the conversion is a duplicate of its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DedupeKey {
    /// One conversion per transaction and event (unless the event allows duplicates).
    TransactionEvent(TransactionId, String),
    /// One conversion per advertiser and order ID.
    Order(AdvertiserId, String),
}

impl DedupeKey {
    pub fn rejection(&self) -> ConversionRejection {
        match self {
            DedupeKey::TransactionEvent(..) => ConversionRejection::DuplicateTransactionEvent,
            DedupeKey::Order(..) => ConversionRejection::DuplicateOrder,
        }
    }
}

/// Everything the rules look at for one conversion.
#[derive(Clone, Copy, Debug)]
pub struct AttributionInput<'a> {
    pub request: &'a ConversionRequest,
    /// The chosen touchpoint and how it was found, or `None` for an unattributed conversion.
    pub touch: Option<(Touchpoint<'a>, AttributedBy)>,
    /// The offer of the touchpoint, else the offer the request names.
    pub offer: Option<&'a Offer>,
    pub advertiser: Option<&'a Advertiser>,
    pub now_ms: u64,
}

/// The verdict before duplicate claims are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub status: ConversionStatus,
    pub rejection: Option<ConversionRejection>,
    pub source: ConversionSource,
    pub attributed_by: AttributedBy,
    pub payout: Money,
    pub revenue: Money,
    pub dedupe: Vec<DedupeKey>,
}

impl Decision {
    fn rejected(source: ConversionSource, attributed_by: AttributedBy, why: ConversionRejection) -> Decision {
        Decision {
            status: ConversionStatus::Rejected,
            rejection: Some(why),
            source,
            attributed_by,
            payout: Money::ZERO,
            revenue: Money::ZERO,
            dedupe: Vec::new(),
        }
    }
}

/// Compare secrets in time independent of where they first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Server when the request carries the advertiser's token; browser when it carries none.
/// A wrong token is an error: someone is trying.
pub fn conversion_source(
    request: &ConversionRequest,
    advertiser: Option<&Advertiser>,
) -> Result<ConversionSource, ConversionRejection> {
    let expected = advertiser.and_then(|a| a.verification_token.as_deref());
    match (&request.verification_token, expected) {
        (None, _) => Ok(ConversionSource::Browser),
        (Some(given), Some(expected)) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => {
            Ok(ConversionSource::Server)
        }
        (Some(_), _) => Err(ConversionRejection::BadVerificationToken),
    }
}

fn order_claim(advertiser: AdvertiserId, request: &ConversionRequest) -> Vec<DedupeKey> {
    if request.order_id.is_empty() {
        Vec::new()
    } else {
        vec![DedupeKey::Order(advertiser, request.order_id.clone())]
    }
}

/// Apply the offer's rules to one conversion.
pub fn attribute_conversion(input: AttributionInput<'_>) -> Decision {
    let request = input.request;
    let attributed_by = input.touch.map_or(AttributedBy::Nothing, |(_, by)| by);
    let source = match conversion_source(request, input.advertiser) {
        Ok(source) => source,
        Err(why) => return Decision::rejected(ConversionSource::Browser, attributed_by, why),
    };
    let reject = |why| Decision::rejected(source, attributed_by, why);

    let Some(offer) = input.offer else {
        // Scoped by advertiser only, with no visit to credit: kept as "Others" for that advertiser.
        return match (input.touch, input.advertiser) {
            (None, Some(adv)) if request.oid.is_none() => Decision {
                status: ConversionStatus::Unattributed,
                rejection: None,
                source,
                attributed_by,
                payout: Money::ZERO,
                revenue: Money::ZERO,
                dedupe: order_claim(adv.id, request),
            },
            _ => reject(ConversionRejection::UnknownOffer),
        };
    };
    if request.oid.is_some_and(|oid| oid != offer.id)
        || request.advertiser_id.is_some_and(|aid| aid != offer.advertiser_id)
    {
        return reject(ConversionRejection::OfferMismatch);
    }
    if source == ConversionSource::Browser && !offer.accept_browser_conversions {
        return reject(ConversionRejection::BrowserConversionsRefused);
    }
    if offer.status == OfferStatus::Paused {
        return reject(ConversionRejection::OfferPaused);
    }
    let Some(event) = offer.event(&request.event) else {
        return reject(ConversionRejection::EventNotOnOffer);
    };

    let mut dedupe = order_claim(offer.advertiser_id, request);
    let Some((touch, _)) = input.touch else {
        return Decision {
            status: ConversionStatus::Unattributed,
            rejection: None,
            source,
            attributed_by,
            payout: Money::ZERO,
            revenue: event.revenue.apply(request.amount),
            dedupe,
        };
    };
    if !touch.is_valid() {
        return reject(ConversionRejection::UnknownTransaction);
    }
    // A coupon's own validity dates were checked when it was looked up.
    let window_hours = match touch {
        Touchpoint::Click(_) => Some(offer.session_hours),
        Touchpoint::Impression(_) => Some(offer.view_through_hours),
        Touchpoint::Coupon(_) => None,
    };
    if let (Some(hours), Some(id)) = (window_hours, touch.id()) {
        if input.now_ms.saturating_sub(id.issued_at_ms()) > u64::from(hours) * 3_600_000 {
            return reject(ConversionRejection::SessionExpired);
        }
    }
    // Many customers share a coupon, so only the order ID deduplicates coupon conversions.
    if let (false, Some(id)) = (event.allow_duplicates, touch.id()) {
        dedupe.push(DedupeKey::TransactionEvent(id, event.name.clone()));
    }
    Decision {
        status: ConversionStatus::Approved,
        rejection: None,
        source,
        attributed_by,
        payout: event.payout.apply(request.amount),
        revenue: event.revenue.apply(request.amount),
        dedupe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LinkKind, OfferEvent, PriceRule, TrackingParams, Visitor};

    const NOW: u64 = 1_800_000_000_000;
    const HOUR: u64 = 3_600_000;

    fn offer() -> Offer {
        Offer {
            id: 1,
            advertiser_id: 10,
            name: "Shoes".into(),
            status: OfferStatus::Active,
            destination_url: "https://shop.example/".into(),
            alternate_destinations: vec![],
            fallback_url: None,
            session_hours: 24,
            view_through_hours: 2,
            events: vec![
                OfferEvent {
                    name: String::new(),
                    payout: PriceRule::Percent(Money::parse("10").unwrap()),
                    revenue: PriceRule::Percent(Money::parse("15").unwrap()),
                    allow_duplicates: false,
                },
                OfferEvent {
                    name: "renewal".into(),
                    payout: PriceRule::Fixed(Money::parse("2").unwrap()),
                    revenue: PriceRule::Fixed(Money::parse("3").unwrap()),
                    allow_duplicates: true,
                },
            ],
            accept_browser_conversions: true,
            duplicate_click_window_secs: 0,
            blocked_ips: vec![],
        }
    }

    fn advertiser(token: Option<&str>) -> Advertiser {
        Advertiser { id: 10, name: "Shop".into(), verification_token: token.map(Into::into) }
    }

    fn click(age_ms: u64) -> Click {
        Click {
            id: TransactionId::generate(NOW - age_ms),
            oid: 1,
            affid: 7,
            advertiser_id: 10,
            params: TrackingParams::default(),
            visitor: Visitor::default(),
            kind: LinkKind::Redirect,
            unique: true,
            error_code: 0,
        }
    }

    fn decide(request: &ConversionRequest, click: Option<&Click>, offer: &Offer, adv: &Advertiser) -> Decision {
        attribute_conversion(AttributionInput {
            request,
            touch: click.map(|c| (Touchpoint::Click(c), AttributedBy::TransactionId)),
            offer: Some(offer),
            advertiser: Some(adv),
            now_ms: NOW,
        })
    }

    #[test]
    fn approves_inside_the_session_with_exact_payouts() {
        let c = click(HOUR);
        let request = ConversionRequest {
            amount: Some(Money::parse("19.99").unwrap()),
            order_id: "A1".into(),
            ..Default::default()
        };
        let d = decide(&request, Some(&c), &offer(), &advertiser(None));
        assert_eq!(d.status, ConversionStatus::Approved);
        assert_eq!(d.source, ConversionSource::Browser);
        assert_eq!(d.payout.to_string(), "1.999");
        assert_eq!(d.revenue.to_string(), "2.9985");
        assert_eq!(d.dedupe, vec![DedupeKey::Order(10, "A1".into()), DedupeKey::TransactionEvent(c.id, String::new())]);
    }

    #[test]
    fn events_that_allow_duplicates_claim_no_transaction_key() {
        let c = click(HOUR);
        let request = ConversionRequest { event: "renewal".into(), ..Default::default() };
        let d = decide(&request, Some(&c), &offer(), &advertiser(None));
        assert_eq!(d.status, ConversionStatus::Approved);
        assert_eq!(d.payout, Money::parse("2").unwrap());
        assert!(d.dedupe.is_empty());
    }

    #[test]
    fn rejections_carry_their_reason() {
        let adv = advertiser(Some("s3cret"));
        let fresh = click(HOUR);
        let old = click(25 * HOUR);
        let mut paused = offer();
        paused.status = OfferStatus::Paused;
        let mut s2s_only = offer();
        s2s_only.accept_browser_conversions = false;
        let plain = ConversionRequest::default();
        let with = |f: fn(&mut ConversionRequest)| {
            let mut r = ConversionRequest::default();
            f(&mut r);
            r
        };
        let cases: Vec<(ConversionRequest, &Click, Offer, ConversionRejection)> = vec![
            (plain.clone(), &old, offer(), ConversionRejection::SessionExpired),
            (plain.clone(), &fresh, paused, ConversionRejection::OfferPaused),
            (with(|r| r.event = "refund".into()), &fresh, offer(), ConversionRejection::EventNotOnOffer),
            (
                with(|r| r.verification_token = Some("guess".into())),
                &fresh,
                offer(),
                ConversionRejection::BadVerificationToken,
            ),
            (plain.clone(), &fresh, s2s_only.clone(), ConversionRejection::BrowserConversionsRefused),
            (with(|r| r.oid = Some(2)), &fresh, offer(), ConversionRejection::OfferMismatch),
            (with(|r| r.advertiser_id = Some(11)), &fresh, offer(), ConversionRejection::OfferMismatch),
        ];
        for (request, c, o, why) in cases {
            let d = decide(&request, Some(c), &o, &adv);
            assert_eq!((d.status, d.rejection), (ConversionStatus::Rejected, Some(why)));
            assert!(d.dedupe.is_empty() && d.payout == Money::ZERO);
        }
        let server = with(|r| r.verification_token = Some("s3cret".into()));
        let d = decide(&server, Some(&fresh), &s2s_only, &adv);
        assert_eq!((d.status, d.source), (ConversionStatus::Approved, ConversionSource::Server));
    }

    #[test]
    fn no_touchpoint_is_unattributed_but_still_claims_the_order() {
        let request = ConversionRequest { order_id: "O9".into(), ..Default::default() };
        let d = decide(&request, None, &offer(), &advertiser(None));
        assert_eq!(d.status, ConversionStatus::Unattributed);
        assert_eq!(d.payout, Money::ZERO);
        assert_eq!(d.dedupe, vec![DedupeKey::Order(10, "O9".into())]);
    }

    #[test]
    fn explicit_id_beats_cookies_and_unknown_explicit_id_is_an_error() {
        let a = click(HOUR);
        let b = click(2 * HOUR);
        let explicit = Evidence { by: AttributedBy::TransactionId, id: a.id, found: Some(Touchpoint::Click(&a)) };
        let cookie = Evidence { by: AttributedBy::FirstPartyCookie, id: b.id, found: Some(Touchpoint::Click(&b)) };
        let (t, by) = choose_touchpoint(&[explicit, cookie], None).unwrap().unwrap();
        assert_eq!((t.id(), by), (Some(a.id), AttributedBy::TransactionId));

        let stale_cookie = Evidence { by: AttributedBy::FirstPartyCookie, id: a.id, found: None };
        let tracking = Evidence { by: AttributedBy::TrackingCookie, id: b.id, found: Some(Touchpoint::Click(&b)) };
        let (t, by) = choose_touchpoint(&[stale_cookie, tracking], None).unwrap().unwrap();
        assert_eq!((t.id(), by), (Some(b.id), AttributedBy::TrackingCookie));

        let unknown = Evidence { by: AttributedBy::TransactionId, id: a.id, found: None };
        assert_eq!(choose_touchpoint(&[unknown, tracking], None).unwrap_err(), ConversionRejection::UnknownTransaction);
        assert!(choose_touchpoint(&[], None).unwrap().is_none());
    }

    #[test]
    fn a_click_beats_a_coupon_and_a_coupon_beats_an_impression() {
        let c = click(HOUR);
        let imp = Impression {
            id: TransactionId::generate(NOW - HOUR),
            oid: 1,
            affid: 9,
            advertiser_id: 10,
            params: TrackingParams::default(),
            visitor: Visitor::default(),
            error_code: 0,
        };
        let coupon =
            Coupon { code: "spring10".into(), offer_id: 1, partner_id: 8, valid_from_ms: None, valid_until_ms: None };
        let clicked = Evidence { by: AttributedBy::FirstPartyCookie, id: c.id, found: Some(Touchpoint::Click(&c)) };
        let viewed =
            Evidence { by: AttributedBy::TransactionId, id: imp.id, found: Some(Touchpoint::Impression(&imp)) };

        let (t, by) = choose_touchpoint(&[viewed, clicked], Some(&coupon)).unwrap().unwrap();
        assert_eq!((t.affid(), by), (7, AttributedBy::FirstPartyCookie));
        let (t, by) = choose_touchpoint(&[viewed], Some(&coupon)).unwrap().unwrap();
        assert_eq!((t.affid(), by), (8, AttributedBy::Coupon));
        let (t, by) = choose_touchpoint(&[viewed], None).unwrap().unwrap();
        assert_eq!((t.affid(), by), (9, AttributedBy::Impression));

        // A coupon conversion is deduplicated by order only; the impression by its view window.
        let request = ConversionRequest { order_id: "O1".into(), ..Default::default() };
        let decide_touch = |touch| {
            attribute_conversion(AttributionInput {
                request: &request,
                touch: Some(touch),
                offer: Some(&offer()),
                advertiser: Some(&advertiser(None)),
                now_ms: NOW,
            })
        };
        let d = decide_touch((Touchpoint::Coupon(&coupon), AttributedBy::Coupon));
        assert_eq!((d.status, d.dedupe.clone()), (ConversionStatus::Approved, vec![DedupeKey::Order(10, "O1".into())]));
        let d = decide_touch((Touchpoint::Impression(&imp), AttributedBy::Impression));
        assert_eq!(d.status, ConversionStatus::Approved);
        let old = Impression { id: TransactionId::generate(NOW - 3 * HOUR), ..imp.clone() };
        let d = decide_touch((Touchpoint::Impression(&old), AttributedBy::Impression));
        assert_eq!(d.rejection, Some(ConversionRejection::SessionExpired), "outside the 2 h view-through window");
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
