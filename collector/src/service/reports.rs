//! Report rows: the raw Click Report and Conversion Report, newest first, paged by cursor.

use serde::Serialize;

use crate::ids::TimeId;
use crate::model::{Click, ClickRejection, Conversion, ConversionStatus, OfferId, PartnerId};
use crate::store::{Store, StoreError};

/// Row filters shared by the raw reports. `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct RowFilter {
    pub oid: Option<OfferId>,
    pub affid: Option<PartnerId>,
    pub sub: [Option<String>; 5],
    pub status: Option<ConversionStatus>,
}

impl RowFilter {
    fn matches(&self, oid: OfferId, affid: PartnerId, sub: &[String; 5]) -> bool {
        self.oid.is_none_or(|o| o == oid)
            && self.affid.is_none_or(|a| a == affid)
            && self.sub.iter().zip(sub).all(|(want, have)| want.as_ref().is_none_or(|w| w == have))
    }
}

/// Most rows one page returns.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Serialize)]
pub struct ClickRow {
    pub transaction_id: String,
    pub time_ms: u64,
    pub oid: OfferId,
    pub affid: PartnerId,
    pub advertiser_id: u64,
    pub sub1: String,
    pub sub2: String,
    pub sub3: String,
    pub sub4: String,
    pub sub5: String,
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
    pub ip: String,
    pub user_agent: String,
    pub referrer: String,
    pub kind: &'static str,
    pub unique: bool,
    pub error_code: u16,
    pub error: &'static str,
}

impl From<Click> for ClickRow {
    fn from(c: Click) -> Self {
        let [sub1, sub2, sub3, sub4, sub5] = c.params.sub;
        ClickRow {
            transaction_id: c.id.to_string(),
            time_ms: c.id.issued_at_ms(),
            oid: c.oid,
            affid: c.affid,
            advertiser_id: c.advertiser_id,
            sub1,
            sub2,
            sub3,
            sub4,
            sub5,
            source_id: c.params.source_id,
            uid: c.params.uid,
            creative_id: c.params.creative_id,
            coupon_code: c.params.coupon_code,
            gclid: c.params.gclid,
            fbclid: c.params.fbclid,
            ttclid: c.params.ttclid,
            idfa: c.params.idfa,
            google_aid: c.params.google_aid,
            android_id: c.params.android_id,
            ip: c.visitor.ip,
            user_agent: c.visitor.user_agent,
            referrer: c.visitor.referrer,
            kind: c.kind.as_str(),
            unique: c.unique,
            error_code: c.error_code,
            error: ClickRejection::from_code(c.error_code).map_or("", ClickRejection::message),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConversionRow {
    pub conversion_id: String,
    pub time_ms: u64,
    pub status: &'static str,
    pub error_code: u16,
    pub reason: &'static str,
    pub source: &'static str,
    pub attributed_by: &'static str,
    pub transaction_id: String,
    pub oid: OfferId,
    pub affid: PartnerId,
    pub advertiser_id: u64,
    pub event: String,
    pub amount: String,
    pub payout: String,
    pub revenue: String,
    pub order_id: String,
    pub coupon_code: String,
    pub adv1: String,
    pub adv2: String,
    pub adv3: String,
    pub adv4: String,
    pub adv5: String,
    pub sub1: String,
    pub sub2: String,
    pub sub3: String,
    pub sub4: String,
    pub sub5: String,
    pub source_id: String,
    pub click_time_ms: Option<u64>,
    /// Milliseconds from click (or impression) to conversion.
    pub click_to_conversion_ms: Option<u64>,
    pub duplicate_of: String,
    pub ip: String,
    pub user_agent: String,
}

impl From<Conversion> for ConversionRow {
    fn from(c: Conversion) -> Self {
        let time_ms = c.id.issued_at_ms();
        let [adv1, adv2, adv3, adv4, adv5] = c.adv.clone();
        let [sub1, sub2, sub3, sub4, sub5] = c.click_params.sub.clone();
        ConversionRow {
            conversion_id: c.id.to_string(),
            time_ms,
            status: c.status.as_str(),
            error_code: c.error_code(),
            reason: c.error_message(),
            source: c.source.as_str(),
            attributed_by: c.attributed_by.as_str(),
            transaction_id: c.transaction_id.map(|t| t.to_string()).unwrap_or_default(),
            oid: c.oid,
            affid: c.affid,
            advertiser_id: c.advertiser_id,
            event: c.event,
            amount: c.amount.map(|a| a.to_string()).unwrap_or_default(),
            payout: c.payout.to_string(),
            revenue: c.revenue.to_string(),
            order_id: c.order_id,
            coupon_code: c.coupon_code,
            adv1,
            adv2,
            adv3,
            adv4,
            adv5,
            sub1,
            sub2,
            sub3,
            sub4,
            sub5,
            source_id: c.click_params.source_id,
            click_time_ms: c.click_time_ms,
            click_to_conversion_ms: c.click_time_ms.map(|t| time_ms.saturating_sub(t)),
            duplicate_of: c.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
            ip: c.visitor.ip,
            user_agent: c.visitor.user_agent,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RowsPage<T> {
    pub rows: Vec<T>,
    pub next_cursor: Option<String>,
}

pub fn click_report(
    store: &Store,
    filter: &RowFilter,
    cursor: Option<TimeId>,
    limit: usize,
) -> Result<RowsPage<ClickRow>, StoreError> {
    let page = store.clicks_page(cursor, limit.min(MAX_PAGE), |c| filter.matches(c.oid, c.affid, &c.params.sub))?;
    Ok(RowsPage {
        rows: page.rows.into_iter().map(ClickRow::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    })
}

pub fn conversion_report(
    store: &Store,
    filter: &RowFilter,
    cursor: Option<TimeId>,
    limit: usize,
) -> Result<RowsPage<ConversionRow>, StoreError> {
    let page = store.conversions_page(cursor, limit.min(MAX_PAGE), |c| {
        filter.matches(c.oid, c.affid, &c.click_params.sub) && filter.status.is_none_or(|s| s == c.status)
    })?;
    Ok(RowsPage {
        rows: page.rows.into_iter().map(ConversionRow::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    })
}
