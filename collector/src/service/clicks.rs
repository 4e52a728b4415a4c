//! `/clk` and `/imp`: record a click or impression and say where the visitor goes next.

use crate::destination::{click_macro, expand};
use crate::filters::{click_rejection, destination_template, BotFilter};
use crate::ids::TransactionId;
use crate::model::{Click, ClickRejection, Impression, LinkKind, Offer, OfferId, PartnerId, TrackingParams, Visitor};
use crate::store::{Store, StoreError};

/// The outcome of a click request.
#[derive(Debug)]
pub struct TrackedClick {
    /// The click as stored (invalid clicks are stored too, with their error code).
    pub click: Click,
    pub offer: Option<Offer>,
    pub rejection: Option<ClickRejection>,
}

impl TrackedClick {
    /// Where a redirect link sends the visitor: the filled-in destination, the offer's
    /// fallback for a rejected click, or nowhere (the caller shows an error).
    pub fn redirect_url(&self) -> Option<String> {
        let offer = self.offer.as_ref()?;
        match self.rejection {
            None => {
                let template = destination_template(offer, &self.click.params.uid);
                Some(expand(template, |name| click_macro(&self.click, name)))
            }
            Some(_) => offer.fallback_url.clone(),
        }
    }

    pub fn session_hours(&self) -> u32 {
        self.offer.as_ref().map_or(0, |o| o.session_hours)
    }
}

/// A click or impression request, parsed.
#[derive(Debug, Clone)]
pub struct VisitInput {
    pub oid: OfferId,
    pub affid: PartnerId,
    pub params: TrackingParams,
    pub visitor: Visitor,
    pub now_ms: u64,
}

/// Load the offer and partner a visit names and decide whether it is valid.
fn screen(
    store: &Store,
    bots: &BotFilter,
    input: &VisitInput,
) -> Result<(Option<Offer>, Option<ClickRejection>), StoreError> {
    let offer = store.offer(input.oid)?;
    let partner = store.partner(input.affid)?;
    let rejection = click_rejection(offer.as_ref(), partner.as_ref(), &input.visitor, bots);
    Ok((offer, rejection))
}

pub async fn track_click(
    store: &Store,
    bots: &BotFilter,
    input: VisitInput,
    kind: LinkKind,
) -> Result<TrackedClick, StoreError> {
    let (offer, rejection) = screen(store, bots, &input)?;
    let click = Click {
        id: TransactionId::generate(input.now_ms),
        oid: input.oid,
        affid: input.affid,
        advertiser_id: offer.as_ref().map_or(0, |o| o.advertiser_id),
        params: input.params,
        visitor: input.visitor,
        kind,
        unique: true,
        error_code: rejection.map_or(0, ClickRejection::code),
    };
    let window_ms = offer.as_ref().map_or(0, |o| u64::from(o.duplicate_click_window_secs) * 1000);
    let click = store.record_click(click, window_ms).await?;
    if let Some(why) = rejection {
        tracing::info!(
            oid = click.oid,
            affid = click.affid,
            code = why.code(),
            reason = why.message(),
            "invalid click"
        );
    }
    Ok(TrackedClick { click, offer, rejection })
}

/// A click issued earlier (the SDK found its ID on a redirect link's landing URL).
pub fn existing_click(store: &Store, id: &TransactionId) -> Result<Option<TrackedClick>, StoreError> {
    let Some(click) = store.click(id)?.filter(Click::is_valid) else { return Ok(None) };
    let offer = store.offer(click.oid)?;
    Ok(Some(TrackedClick { click, offer, rejection: None }))
}

/// The outcome of an impression request.
#[derive(Debug)]
pub struct TrackedImpression {
    pub impression: Impression,
    pub offer: Option<Offer>,
    pub rejection: Option<ClickRejection>,
}

pub async fn track_impression(
    store: &Store,
    bots: &BotFilter,
    input: VisitInput,
) -> Result<TrackedImpression, StoreError> {
    let (offer, rejection) = screen(store, bots, &input)?;
    let impression = Impression {
        id: TransactionId::generate(input.now_ms),
        oid: input.oid,
        affid: input.affid,
        advertiser_id: offer.as_ref().map_or(0, |o| o.advertiser_id),
        params: input.params,
        visitor: input.visitor,
        error_code: rejection.map_or(0, ClickRejection::code),
    };
    store.record_impression(impression.clone()).await?;
    Ok(TrackedImpression { impression, offer, rejection })
}
