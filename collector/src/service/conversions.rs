//! `/conversion` and `/pixel.gif`: attribute a conversion and store it, whatever the verdict.

use crate::attribution::{attribute_conversion, choose_touchpoint, AttributionInput, Decision, Evidence, Touchpoint};
use crate::ids::{ConversionId, TransactionId};
use crate::model::{
    Advertiser, AttributedBy, Click, Conversion, ConversionRejection, ConversionSource, ConversionStatus, Coupon,
    Impression, Offer, TrackingParams, Visitor,
};
use crate::money::Money;
use crate::params::ConversionRequest;
use crate::postbacks::deliveries_for;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error("a conversion needs a transaction_id, or an oid or advertiser_id to be counted under")]
    NoScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What came with the request besides its parameters.
#[derive(Debug, Default, Clone)]
pub struct ConversionContext {
    pub visitor: Visitor,
    /// The tracking-domain cookie a redirect link set (pixel conversions).
    pub tracking_cookie: Option<TransactionId>,
    pub now_ms: u64,
}

/// A stored visit found by ID: a click, or an impression for view-through.
enum Found {
    Click(Click),
    Impression(Impression),
}

impl Found {
    fn touchpoint(&self) -> Touchpoint<'_> {
        match self {
            Found::Click(c) => Touchpoint::Click(c),
            Found::Impression(i) => Touchpoint::Impression(i),
        }
    }
}

fn find_visit(store: &Store, id: &TransactionId) -> Result<Option<Found>, StoreError> {
    if let Some(click) = store.click(id)? {
        return Ok(Some(Found::Click(click)));
    }
    Ok(store.impression(id)?.map(Found::Impression))
}

/// Attribute and store one conversion. Returns it as stored (or, for a repeated idempotency
/// key, as first stored).
pub async fn record_conversion(
    store: &Store,
    request: ConversionRequest,
    ctx: ConversionContext,
) -> Result<Conversion, ConversionError> {
    let candidates = [
        (AttributedBy::TransactionId, request.transaction_id),
        (AttributedBy::FirstPartyCookie, request.cookie_tid),
        (AttributedBy::TrackingCookie, ctx.tracking_cookie),
    ];
    let mut found = Vec::new();
    for (by, id) in candidates {
        if let Some(id) = id {
            found.push((by, id, find_visit(store, &id)?));
        }
    }
    let evidence: Vec<Evidence<'_>> = found
        .iter()
        .map(|(by, id, visit)| Evidence { by: *by, id: *id, found: visit.as_ref().map(Found::touchpoint) })
        .collect();
    if evidence.is_empty() && request.oid.is_none() && request.advertiser_id.is_none() {
        return Err(ConversionError::NoScope);
    }

    let coupon = coupon_in_scope(store, &request, ctx.now_ms)?;
    let (touch, early_rejection) = match choose_touchpoint(&evidence, coupon.as_ref()) {
        Ok(touch) => (touch, None),
        Err(why) => (None, Some(why)),
    };
    let offer_id = touch.map(|(t, _)| t.oid()).or(request.oid);
    let offer = offer_id.map(|id| store.offer(id)).transpose()?.flatten();
    let advertiser_id = offer.as_ref().map(|o| o.advertiser_id).or(request.advertiser_id);
    let advertiser = advertiser_id.map(|id| store.advertiser(id)).transpose()?.flatten();

    let decision = match early_rejection {
        Some(why) => rejected(&request, advertiser.as_ref(), why),
        None => attribute_conversion(AttributionInput {
            request: &request,
            touch,
            offer: offer.as_ref(),
            advertiser: advertiser.as_ref(),
            now_ms: ctx.now_ms,
        }),
    };
    let conversion = build(&request, &ctx, touch, offer.as_ref(), advertiser_id, &decision);
    let postbacks = match store.partner(conversion.affid)? {
        Some(partner) if conversion.status == ConversionStatus::Approved => {
            deliveries_for(&partner, &conversion, ctx.now_ms)
        }
        _ => Vec::new(),
    };
    let stored = store.record_conversion(conversion, decision.dedupe, postbacks).await?;
    tracing::info!(
        conversion_id = %stored.id,
        status = stored.status.as_str(),
        code = stored.error_code(),
        oid = stored.oid,
        affid = stored.affid,
        "conversion"
    );
    Ok(stored)
}

/// The conversion's coupon, if it names one that is valid now and belongs to the offer or
/// advertiser the conversion is for.
fn coupon_in_scope(store: &Store, request: &ConversionRequest, now_ms: u64) -> Result<Option<Coupon>, StoreError> {
    if request.coupon_code.is_empty() {
        return Ok(None);
    }
    let Some(coupon) = store.coupon(&request.coupon_code)?.filter(|c| c.is_valid_at(now_ms)) else { return Ok(None) };
    if request.oid.is_some_and(|oid| oid != coupon.offer_id) {
        return Ok(None);
    }
    if let Some(advertiser_id) = request.advertiser_id {
        if store.offer(coupon.offer_id)?.is_none_or(|o| o.advertiser_id != advertiser_id) {
            return Ok(None);
        }
    }
    Ok(Some(coupon))
}

/// A rejection found before the offer rules ran (an unknown explicit transaction ID); the
/// token still decides whether the sender was a server.
fn rejected(request: &ConversionRequest, advertiser: Option<&Advertiser>, why: ConversionRejection) -> Decision {
    let source = crate::attribution::conversion_source(request, advertiser).unwrap_or(ConversionSource::Browser);
    Decision {
        status: ConversionStatus::Rejected,
        rejection: Some(why),
        source,
        attributed_by: AttributedBy::TransactionId,
        payout: Money::ZERO,
        revenue: Money::ZERO,
        dedupe: Vec::new(),
    }
}

fn build(
    request: &ConversionRequest,
    ctx: &ConversionContext,
    touch: Option<(Touchpoint<'_>, AttributedBy)>,
    offer: Option<&Offer>,
    advertiser_id: Option<u64>,
    decision: &Decision,
) -> Conversion {
    let (affid, click_time_ms, click_params) = match touch.map(|(t, _)| t) {
        Some(Touchpoint::Click(c)) => (c.affid, Some(c.id.issued_at_ms()), c.params.clone()),
        Some(Touchpoint::Impression(i)) => (i.affid, Some(i.id.issued_at_ms()), i.params.clone()),
        Some(Touchpoint::Coupon(c)) => {
            (c.partner_id, None, TrackingParams { coupon_code: c.code.clone(), ..TrackingParams::default() })
        }
        None => (0, None, TrackingParams::default()),
    };
    Conversion {
        id: ConversionId::generate(ctx.now_ms),
        status: decision.status,
        rejection: decision.rejection,
        source: decision.source,
        attributed_by: decision.attributed_by,
        transaction_id: touch.and_then(|(t, _)| t.id()).or(request.transaction_id),
        oid: offer.map(|o| o.id).or(request.oid).unwrap_or(0),
        affid,
        advertiser_id: advertiser_id.unwrap_or(0),
        event: request.event.clone(),
        amount: request.amount,
        payout: decision.payout,
        revenue: decision.revenue,
        order_id: request.order_id.clone(),
        coupon_code: request.coupon_code.clone(),
        adv: request.adv.clone(),
        idempotency_key: request.idempotency_key.clone(),
        click_time_ms,
        click_params,
        visitor: ctx.visitor.clone(),
        duplicate_of: None,
    }
}
