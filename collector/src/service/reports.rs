//! Reports: the summary (totals grouped by time, offer, partner, advertiser, sub values,
//! source or event), the raw Click Report and Conversion Report (newest first, paged by
//! cursor), and their CSV form.
//!
//! A summary grouped only by day, hour, offer, partner or advertiser (and filtered only by
//! those) is read from the `counters` tree, which the writer keeps per hour × offer ×
//! partner and, rolled up, per day × offer × partner: whole UTC days of the range are read
//! from the daily rows, the partial days at its edges (and every hour when grouping by hour)
//! from the hourly rows. Its cost depends on days (or hours) × offers × partners, never on
//! traffic. Groupings by
//! sub values, source or event scan the raw records of the requested time range only
//! (record IDs are time-ordered, so a time range is a key range).

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;

use crate::ids::TimeId;
use crate::model::TrackingParams;
use crate::model::{
    AdvertiserId, Click, ClickRejection, Conversion, ConversionStatus, Counters, Impression, OfferId, PartnerId,
};
use crate::money::Money;
use crate::store::{Store, StoreError};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Row filters shared by the raw reports. `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct RowFilter {
    pub oid: Option<OfferId>,
    pub affid: Option<PartnerId>,
    pub sub: [Option<String>; 5],
    pub status: Option<ConversionStatus>,
    /// Only records issued in this range (milliseconds since the epoch); `None`: any time.
    pub time_ms: Option<Range<u64>>,
}

impl RowFilter {
    fn matches(&self, oid: OfferId, affid: PartnerId, sub: &[String; 5]) -> bool {
        self.oid.is_none_or(|o| o == oid)
            && self.affid.is_none_or(|a| a == affid)
            && self.sub.iter().zip(sub).all(|(want, have)| want.as_ref().is_none_or(|w| w == have))
    }

    fn time_range(&self) -> Range<u64> {
        self.time_ms.clone().unwrap_or(0..u64::MAX)
    }
}

/// Most rows one JSON page returns.
pub const MAX_PAGE: usize = 500;
/// Most rows one CSV export returns (it is a download, not a screenful).
pub const MAX_EXPORT: usize = 100_000;

#[derive(Debug, Default, Serialize)]
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

#[derive(Debug, Default, Serialize)]
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
    let page = store.clicks_page_in(filter.time_range(), cursor, limit.min(MAX_EXPORT), |c| {
        filter.matches(c.oid, c.affid, &c.params.sub)
    })?;
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
    let page = store.conversions_page_in(filter.time_range(), cursor, limit.min(MAX_EXPORT), |c| {
        filter.matches(c.oid, c.affid, &c.click_params.sub) && filter.status.is_none_or(|s| s == c.status)
    })?;
    Ok(RowsPage {
        rows: page.rows.into_iter().map(ConversionRow::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    })
}

// ---- time ranges ----

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 time (2024-05-01T10:00:00Z) or a date (2024-05-01)")]
pub struct TimeError;

/// Which end of a range a time bounds: a bare date means the start of that day for `from` and
/// the end of that day (the next midnight) for `to`, so `from=D&to=D` is the whole day `D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    From,
    To,
}

/// Parse `YYYY-MM-DD` (UTC) or RFC 3339 (`2024-05-01T10:00:00Z`, `…T10:00:00.5+02:00`) into
/// milliseconds since the epoch.
pub fn parse_time(text: &str, end: RangeEnd) -> Result<u64, TimeError> {
    let b = text.as_bytes();
    let date = parse_date(b.get(..10).ok_or(TimeError)?)?;
    if b.len() == 10 {
        return Ok(date + if end == RangeEnd::To { DAY_MS } else { 0 });
    }
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(TimeError);
    }
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if hour > 23 || minute > 59 || second > 60 {
        return Err(TimeError);
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(TimeError);
        }
        // Milliseconds: further digits are below the IDs' resolution.
        let mut scaled = fraction[..n.min(3)].to_vec();
        scaled.resize(3, b'0');
        millis = digits(&scaled)?;
        rest = &fraction[n..];
    }
    let offset_minutes: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = (digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?) as i64;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return Err(TimeError),
    };
    let local = date as i64 + ((hour * 3600 + minute * 60 + second) * 1000 + millis) as i64;
    u64::try_from(local - offset_minutes * 60_000).map_err(|_| TimeError)
}

fn digits(b: &[u8]) -> Result<u64, TimeError> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return Err(TimeError);
    }
    Ok(b.iter().fold(0, |n, c| n * 10 + u64::from(c - b'0')))
}

/// Midnight UTC of `YYYY-MM-DD`, in milliseconds since the epoch (1970 onwards).
fn parse_date(b: &[u8]) -> Result<u64, TimeError> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(TimeError);
    }
    let (year, month, day) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return Err(TimeError);
    }
    Ok(days_from_civil(year as i64, month as u32, day as u32) as u64 * DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

/// `2024-05-01` (UTC) of a time.
pub fn format_day(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / DAY_MS) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2024-05-01T10:00:00Z`: the start of the hour (UTC) holding a time.
pub fn format_hour(ms: u64) -> String {
    format!("{}T{:02}:00:00Z", format_day(ms), (ms % DAY_MS) / HOUR_MS)
}

/// RFC 3339 (UTC, whole seconds) of a time.
pub fn format_time(ms: u64) -> String {
    let in_day = (ms % DAY_MS) / 1000;
    format!("{}T{:02}:{:02}:{:02}Z", format_day(ms), in_day / 3600, (in_day % 3600) / 60, in_day % 60)
}

/// A summary's range: whole hours (the counters' resolution), `from` rounded down and `to`
/// rounded up, so the counter path and the scan path count exactly the same records.
pub fn whole_hours(range: Range<u64>) -> Range<u64> {
    let start = range.start / HOUR_MS * HOUR_MS;
    let end = range.end.div_ceil(HOUR_MS).saturating_mul(HOUR_MS);
    start..end.max(start)
}

/// The default summary range: the last 7 days up to the end of the current hour.
pub fn last_seven_days(now_ms: u64) -> Range<u64> {
    now_ms.saturating_sub(7 * DAY_MS)..now_ms
}

// ---- the summary ----

/// What a summary can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Day,
    Hour,
    Offer,
    Partner,
    Advertiser,
    /// `sub1`..`sub5` as 0..4.
    Sub(usize),
    SourceId,
    Event,
}

impl Dimension {
    pub const ALL: [Dimension; 12] = [
        Dimension::Day,
        Dimension::Hour,
        Dimension::Offer,
        Dimension::Partner,
        Dimension::Advertiser,
        Dimension::Sub(0),
        Dimension::Sub(1),
        Dimension::Sub(2),
        Dimension::Sub(3),
        Dimension::Sub(4),
        Dimension::SourceId,
        Dimension::Event,
    ];

    /// The name in `group_by` and the column name in rows.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Hour => "hour",
            Dimension::Offer => "offer",
            Dimension::Partner => "partner",
            Dimension::Advertiser => "advertiser",
            Dimension::Sub(i) => ["sub1", "sub2", "sub3", "sub4", "sub5"][i.min(4)],
            Dimension::SourceId => "source_id",
            Dimension::Event => "event",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether the counters (hour × offer × partner) can answer it.
    fn in_counters(self) -> bool {
        matches!(self, Dimension::Day | Dimension::Hour | Dimension::Offer | Dimension::Partner | Dimension::Advertiser)
    }
}

/// Summary filters; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct SummaryFilter {
    pub oid: Option<OfferId>,
    pub affid: Option<PartnerId>,
    pub advertiser_id: Option<AdvertiserId>,
    pub sub: [Option<String>; 5],
}

impl SummaryFilter {
    fn matches(&self, oid: OfferId, affid: PartnerId, advertiser: AdvertiserId, sub: &[String; 5]) -> bool {
        self.oid.is_none_or(|o| o == oid)
            && self.affid.is_none_or(|a| a == affid)
            && self.advertiser_id.is_none_or(|a| a == advertiser)
            && self.sub.iter().zip(sub).all(|(want, have)| want.as_ref().is_none_or(|w| w == have))
    }
}

#[derive(Debug, Clone)]
pub struct SummaryRequest {
    /// One or more dimensions, in the order the rows show them.
    pub group_by: Vec<Dimension>,
    /// Milliseconds since the epoch; widened to whole hours.
    pub time_ms: Range<u64>,
    pub filter: SummaryFilter,
}

/// One value of one dimension. Days and hours are kept as numbers while grouping (cheap to
/// hash, and they sort in time order) and written as text only in the answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupValue {
    /// Days since the epoch (UTC).
    Day(u64),
    /// Hours since the epoch.
    Hour(u64),
    Id(u64),
    Text(String),
}

impl GroupValue {
    pub fn to_text(&self) -> String {
        match self {
            GroupValue::Day(d) => format_day(d * DAY_MS),
            GroupValue::Hour(h) => format_hour(h * HOUR_MS),
            GroupValue::Id(id) => id.to_string(),
            GroupValue::Text(t) => t.clone(),
        }
    }
}

impl Serialize for GroupValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GroupValue::Id(id) => s.serialize_u64(*id),
            GroupValue::Text(t) => s.serialize_str(t),
            other => s.serialize_str(&other.to_text()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidReason {
    pub error_code: u16,
    pub reason: &'static str,
    pub clicks: u64,
}

/// The metrics of one summary row. Money is an exact decimal string; ratios are strings with
/// fixed decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub gross_clicks: u64,
    pub unique_clicks: u64,
    pub duplicate_clicks: u64,
    pub invalid_clicks: u64,
    pub invalid_by_reason: Vec<InvalidReason>,
    pub impressions: u64,
    /// Approved conversions on the base event (view-through ones included).
    pub conversions: u64,
    pub view_through_conversions: u64,
    /// Approved conversions on extra (named) events.
    pub events: u64,
    pub rejected_conversions: u64,
    pub duplicate_conversions: u64,
    pub unattributed_conversions: u64,
    pub revenue: String,
    pub payout: String,
    /// Revenue minus payout.
    pub profit: String,
    /// Conversions per 100 unique clicks, two decimals ("0.00" without clicks).
    pub cvr: String,
    /// Payout per unique click: what a click earned the partner.
    pub epc: String,
}

/// The metric columns of a summary, in CSV order (invalid clicks by reason follow them, one
/// column per reason).
pub const METRIC_COLUMNS: [&str; 16] = [
    "gross_clicks",
    "unique_clicks",
    "duplicate_clicks",
    "invalid_clicks",
    "impressions",
    "conversions",
    "view_through_conversions",
    "events",
    "rejected_conversions",
    "duplicate_conversions",
    "unattributed_conversions",
    "revenue",
    "payout",
    "profit",
    "cvr",
    "epc",
];

impl Metrics {
    pub fn from_counters(c: &Counters) -> Metrics {
        let base_conversions = c.conversions.saturating_sub(c.events);
        Metrics {
            gross_clicks: c.gross_clicks,
            unique_clicks: c.unique_clicks,
            duplicate_clicks: c.duplicate_clicks,
            invalid_clicks: c.invalid_clicks,
            invalid_by_reason: c
                .invalid_by_reason
                .iter()
                .map(|(&code, &clicks)| InvalidReason {
                    error_code: code,
                    reason: ClickRejection::from_code(code).map_or("other", ClickRejection::message),
                    clicks,
                })
                .collect(),
            impressions: c.impressions,
            conversions: base_conversions,
            view_through_conversions: c.view_through_conversions,
            events: c.events,
            rejected_conversions: c.rejected_conversions,
            duplicate_conversions: c.duplicate_conversions,
            unattributed_conversions: c.unattributed_conversions,
            revenue: c.revenue.to_string(),
            payout: c.payout.to_string(),
            profit: c.revenue.saturating_sub(c.payout).to_string(),
            cvr: percent_text(base_conversions, c.unique_clicks),
            epc: per_click(c.payout, c.unique_clicks).to_string(),
        }
    }

    fn column(&self, name: &str) -> String {
        match name {
            "gross_clicks" => self.gross_clicks.to_string(),
            "unique_clicks" => self.unique_clicks.to_string(),
            "duplicate_clicks" => self.duplicate_clicks.to_string(),
            "invalid_clicks" => self.invalid_clicks.to_string(),
            "impressions" => self.impressions.to_string(),
            "conversions" => self.conversions.to_string(),
            "view_through_conversions" => self.view_through_conversions.to_string(),
            "events" => self.events.to_string(),
            "rejected_conversions" => self.rejected_conversions.to_string(),
            "duplicate_conversions" => self.duplicate_conversions.to_string(),
            "unattributed_conversions" => self.unattributed_conversions.to_string(),
            "revenue" => self.revenue.clone(),
            "payout" => self.payout.clone(),
            "profit" => self.profit.clone(),
            "cvr" => self.cvr.clone(),
            "epc" => self.epc.clone(),
            _ => String::new(),
        }
    }
}

/// `part / whole × 100` with two decimals, rounded half up, in integers.
fn percent_text(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.00".into();
    }
    let hundredths = (u128::from(part) * 10_000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// `money / clicks`, rounded half away from zero to Money's four decimals.
fn per_click(money: Money, clicks: u64) -> Money {
    if clicks == 0 {
        return Money::ZERO;
    }
    let (total, n) = (i128::from(money.0), i128::from(clicks));
    let rounded = if total >= 0 { (total + n / 2) / n } else { (total - n / 2) / n };
    Money(rounded as i64)
}

/// One summary row: its group values (in `group_by` order) and its metrics.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    pub group: Vec<(Dimension, GroupValue)>,
    pub metrics: Metrics,
}

impl Serialize for SummaryRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (dim, value) in &self.group {
            map.serialize_entry(dim.name(), value)?;
        }
        map.serialize_entry("metrics", &self.metrics)?;
        map.end()
    }
}

/// Where a summary's numbers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    /// The counters: daily roll-ups for whole days, hourly rows for the rest.
    Counters,
    /// A scan of the range's raw clicks, impressions and conversions.
    Scan,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The range actually counted (whole hours), RFC 3339.
    pub from: String,
    pub to: String,
    pub group_by: Vec<&'static str>,
    pub source: SummarySource,
    pub rows: Vec<SummaryRow>,
    /// True when there were more groups than [`MAX_SUMMARY_ROWS`]; the totals still count all.
    pub truncated: bool,
    pub totals: Metrics,
}

/// Most rows one summary returns (a grouping by a free-text sub value can have many).
pub const MAX_SUMMARY_ROWS: usize = 10_000;

pub fn summary(store: &Store, request: &SummaryRequest) -> Result<Summary, StoreError> {
    summary_with(store, request, Rollup::Daily)
}

/// The summary read from the hourly counters only, never the daily roll-ups: the reference
/// the roll-up path must equal (the tests compare them), and the benchmark's "before".
pub fn summary_from_hourly_counters(store: &Store, request: &SummaryRequest) -> Result<Summary, StoreError> {
    summary_with(store, request, Rollup::HourlyOnly)
}

/// Whether a counter summary may read whole days from the daily roll-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rollup {
    Daily,
    HourlyOnly,
}

fn summary_with(store: &Store, request: &SummaryRequest, rollup: Rollup) -> Result<Summary, StoreError> {
    let time_ms = whole_hours(request.time_ms.clone());
    let dims = &request.group_by;
    let by_counters = dims.iter().all(|d| d.in_counters()) && request.filter.sub.iter().all(Option::is_none);
    let mut groups: HashMap<Vec<GroupValue>, Counters> = HashMap::new();
    let source = if by_counters {
        counter_groups(store, request, &time_ms, rollup, &mut groups)?;
        SummarySource::Counters
    } else {
        scanned_groups(store, request, &time_ms, &mut groups)?;
        SummarySource::Scan
    };
    let mut totals = Counters::default();
    for c in groups.values() {
        totals.add(c);
    }
    let mut keyed: Vec<(Vec<GroupValue>, Counters)> = groups.into_iter().collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let truncated = keyed.len() > MAX_SUMMARY_ROWS;
    keyed.truncate(MAX_SUMMARY_ROWS);
    let rows = keyed
        .into_iter()
        .map(|(key, c)| SummaryRow {
            group: dims.iter().copied().zip(key).collect(),
            metrics: Metrics::from_counters(&c),
        })
        .collect();
    Ok(Summary {
        from: format_time(time_ms.start),
        to: format_time(time_ms.end),
        group_by: dims.iter().map(|d| d.name()).collect(),
        source,
        rows,
        truncated,
        totals: Metrics::from_counters(&totals),
    })
}

/// What one record contributes to a group key.
struct Fields<'a> {
    time_ms: u64,
    oid: OfferId,
    affid: PartnerId,
    advertiser: AdvertiserId,
    sub: &'a [String; 5],
    source_id: &'a str,
    event: &'a str,
}

impl<'a> Fields<'a> {
    /// The grouping fields of a stored visit or conversion: its ID's time, its offer, partner
    /// and advertiser, and the click parameters it carries.
    fn of(
        id: &TimeId,
        oid: OfferId,
        affid: PartnerId,
        advertiser: AdvertiserId,
        params: &'a TrackingParams,
        event: &'a str,
    ) -> Self {
        Fields {
            time_ms: id.issued_at_ms(),
            oid,
            affid,
            advertiser,
            sub: &params.sub,
            source_id: &params.source_id,
            event,
        }
    }
}

fn group_key(dims: &[Dimension], f: &Fields) -> Vec<GroupValue> {
    dims.iter()
        .map(|d| match d {
            Dimension::Day => GroupValue::Day(f.time_ms / DAY_MS),
            Dimension::Hour => GroupValue::Hour(f.time_ms / HOUR_MS),
            Dimension::Offer => GroupValue::Id(f.oid),
            Dimension::Partner => GroupValue::Id(f.affid),
            Dimension::Advertiser => GroupValue::Id(f.advertiser),
            Dimension::Sub(i) => GroupValue::Text(f.sub[(*i).min(4)].clone()),
            Dimension::SourceId => GroupValue::Text(f.source_id.to_owned()),
            Dimension::Event => GroupValue::Text(f.event.to_owned()),
        })
        .collect()
}

fn counter_groups(
    store: &Store,
    request: &SummaryRequest,
    time_ms: &Range<u64>,
    rollup: Rollup,
    groups: &mut HashMap<Vec<GroupValue>, Counters>,
) -> Result<(), StoreError> {
    let needs_advertiser = request.filter.advertiser_id.is_some() || request.group_by.contains(&Dimension::Advertiser);
    let advertiser_of: HashMap<OfferId, AdvertiserId> = if needs_advertiser {
        store.offers()?.into_iter().map(|o| (o.id, o.advertiser_id)).collect()
    } else {
        HashMap::new()
    };
    // Counter dimensions are all numbers: group on a fixed array (no allocation per row),
    // then turn the few groups into group values.
    let dims = &request.group_by;
    let mut numeric: HashMap<[u64; 5], Counters> = HashMap::new();
    let no_subs: [String; 5] = Default::default();
    let hour_of = |ms: u64| u32::try_from(ms / HOUR_MS).unwrap_or(u32::MAX);
    let (from_hour, to_hour) = (hour_of(time_ms.start), hour_of(time_ms.end));
    let mut add = |hour: u32, oid: OfferId, affid: PartnerId, counters: Counters| {
        let advertiser = advertiser_of.get(&oid).copied().unwrap_or(0);
        if !request.filter.matches(oid, affid, advertiser, &no_subs) {
            return;
        }
        let mut key = [0u64; 5];
        for (slot, dim) in key.iter_mut().zip(dims) {
            *slot = match dim {
                Dimension::Day => u64::from(hour) / 24,
                Dimension::Hour => u64::from(hour),
                Dimension::Offer => oid,
                Dimension::Partner => affid,
                _ => advertiser,
            };
        }
        numeric.entry(key).or_default().add(&counters);
    };
    // Whole UTC days inside the range come from the daily roll-ups (a day's row is the sum of
    // its 24 hours, written in the same transaction); the partial days at the edges, and
    // every hour when grouping by hour, from the hourly rows.
    let (first_day, end_day) = (from_hour.div_ceil(24), to_hour / 24);
    if rollup == Rollup::Daily && !dims.contains(&Dimension::Hour) && first_day < end_day {
        store.scan_counters(from_hour, first_day * 24, &mut add)?;
        store
            .scan_daily_counters(first_day, end_day, |day, oid, affid, counters| add(day * 24, oid, affid, counters))?;
        store.scan_counters(end_day * 24, to_hour, &mut add)?;
    } else {
        store.scan_counters(from_hour, to_hour, &mut add)?;
    }
    for (key, counters) in numeric {
        let values = dims
            .iter()
            .zip(key)
            .map(|(dim, n)| match dim {
                Dimension::Day => GroupValue::Day(n),
                Dimension::Hour => GroupValue::Hour(n),
                _ => GroupValue::Id(n),
            })
            .collect();
        groups.entry(values).or_default().add(&counters);
    }
    Ok(())
}

fn scanned_groups(
    store: &Store,
    request: &SummaryRequest,
    time_ms: &Range<u64>,
    groups: &mut HashMap<Vec<GroupValue>, Counters>,
) -> Result<(), StoreError> {
    let (dims, filter) = (&request.group_by, &request.filter);
    // Clicks and impressions have no event: a grouping by event shows conversions only.
    if !dims.contains(&Dimension::Event) {
        store.scan_clicks(time_ms.clone(), |c: Click| {
            if filter.matches(c.oid, c.affid, c.advertiser_id, &c.params.sub) {
                let fields = Fields::of(&c.id, c.oid, c.affid, c.advertiser_id, &c.params, "");
                groups.entry(group_key(dims, &fields)).or_default().add(&Counters::for_click(&c));
            }
        })?;
        store.scan_impressions(time_ms.clone(), |i: Impression| {
            if filter.matches(i.oid, i.affid, i.advertiser_id, &i.params.sub) {
                let fields = Fields::of(&i.id, i.oid, i.affid, i.advertiser_id, &i.params, "");
                groups.entry(group_key(dims, &fields)).or_default().add(&Counters::for_impression(&i));
            }
        })?;
    }
    store.scan_conversions(time_ms.clone(), |c: Conversion| {
        if filter.matches(c.oid, c.affid, c.advertiser_id, &c.click_params.sub) {
            let fields = Fields::of(&c.id, c.oid, c.affid, c.advertiser_id, &c.click_params, &c.event);
            groups.entry(group_key(dims, &fields)).or_default().add(&Counters::for_conversion(&c));
        }
    })?;
    Ok(())
}

// ---- CSV ----

/// One CSV cell: quoted when it holds a comma, quote or line break; a cell a spreadsheet
/// would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a
/// leading single quote.
pub fn csv_cell(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let mut first = true;
    for cell in cells {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&csv_cell(&cell));
    }
    out.push_str("\r\n");
}

/// Rows of a raw report as CSV: the columns are the JSON fields, in the same order.
pub fn rows_csv<T: Serialize>(rows: &[T]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let fields = ordered_fields(row)?;
        if i == 0 {
            csv_line(&mut out, fields.iter().map(|(name, _)| name.clone()));
        }
        csv_line(
            &mut out,
            fields.into_iter().map(|(_, value)| match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            }),
        );
    }
    Ok(out)
}

/// The header row of an empty raw report, so an empty download still says what it holds.
pub fn header_csv<T: Serialize>(example: &T) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    csv_line(&mut out, ordered_fields(example)?.into_iter().map(|(name, _)| name));
    Ok(out)
}

/// A struct's fields in declaration order (serde_json's `Map` would sort them).
fn ordered_fields<T: Serialize>(row: &T) -> Result<Vec<(String, serde_json::Value)>, serde_json::Error> {
    struct Ordered(Vec<(String, serde_json::Value)>);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Fields;
            impl<'de> serde::de::Visitor<'de> for Fields {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        out.push(entry);
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(Fields)
        }
    }
    let text = serde_json::to_string(row)?;
    Ok(serde_json::from_str::<Ordered>(&text)?.0)
}

/// The Click Report's CSV header (for an empty report).
pub fn click_header_csv() -> Result<String, serde_json::Error> {
    header_csv(&ClickRow::default())
}

pub fn conversion_header_csv() -> Result<String, serde_json::Error> {
    header_csv(&ConversionRow::default())
}

/// A summary as CSV: the group columns, the metric columns, then one `invalid_<code>` column
/// per click rejection reason.
pub fn summary_csv(summary: &Summary) -> String {
    let reasons: Vec<u16> = (1..=u16::from(u8::MAX)).filter(|c| ClickRejection::from_code(*c).is_some()).collect();
    let mut out = String::new();
    csv_line(
        &mut out,
        summary
            .group_by
            .iter()
            .map(|d| (*d).to_owned())
            .chain(METRIC_COLUMNS.iter().map(|m| (*m).to_owned()))
            .chain(reasons.iter().map(|c| format!("invalid_{c}"))),
    );
    for row in &summary.rows {
        let invalid = |code: u16| {
            row.metrics.invalid_by_reason.iter().find(|r| r.error_code == code).map_or(0, |r| r.clicks).to_string()
        };
        csv_line(
            &mut out,
            row.group
                .iter()
                .map(|(_, v)| v.to_text())
                .chain(METRIC_COLUMNS.iter().map(|m| row.metrics.column(m)))
                .chain(reasons.iter().map(|c| invalid(*c))),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_rfc3339_times() {
        assert_eq!(parse_time("1970-01-01", RangeEnd::From), Ok(0));
        assert_eq!(parse_time("1970-01-01", RangeEnd::To), Ok(DAY_MS));
        assert_eq!(parse_time("2024-02-29", RangeEnd::From), Ok(1_709_164_800_000));
        assert_eq!(parse_time("2024-05-01T10:00:00Z", RangeEnd::From), Ok(1_714_557_600_000));
        assert_eq!(parse_time("2024-05-01T12:00:00.250+02:00", RangeEnd::To), Ok(1_714_557_600_250));
        assert_eq!(parse_time("2024-05-01T05:30:00-04:30", RangeEnd::From), Ok(1_714_557_600_000));
        for bad in [
            "",
            "2024-5-1",
            "2023-02-29",
            "2024-13-01",
            "2024-05-01T10:00Z",
            "2024-05-01T25:00:00Z",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00:00.Z",
            "1969-12-31",
            "yesterday",
            "2024-05-01T10:00:00+2",
        ] {
            assert_eq!(parse_time(bad, RangeEnd::From), Err(TimeError), "{bad:?}");
        }
    }

    #[test]
    fn formats_days_and_hours_in_utc() {
        let ms = parse_time("2024-12-31T23:59:59Z", RangeEnd::From).unwrap();
        assert_eq!(format_day(ms), "2024-12-31");
        assert_eq!(format_hour(ms), "2024-12-31T23:00:00Z");
        assert_eq!(format_time(ms), "2024-12-31T23:59:59Z");
        assert_eq!(format_day(0), "1970-01-01");
        for day in [0, 59, 365, 10_956, 19_782, 50_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn ranges_widen_to_whole_hours() {
        assert_eq!(whole_hours(HOUR_MS + 1..2 * HOUR_MS + 1), HOUR_MS..3 * HOUR_MS);
        assert_eq!(whole_hours(HOUR_MS..2 * HOUR_MS), HOUR_MS..2 * HOUR_MS);
    }

    #[test]
    fn ratios_are_exact_fixed_decimals() {
        assert_eq!(percent_text(1, 3), "33.33");
        assert_eq!(percent_text(2, 3), "66.67");
        assert_eq!(percent_text(5, 5), "100.00");
        assert_eq!(percent_text(3, 0), "0.00");
        assert_eq!(per_click(Money::parse("10").unwrap(), 3).to_string(), "3.3333");
        assert_eq!(per_click(Money::parse("5").unwrap(), 0), Money::ZERO);
    }

    #[test]
    fn csv_cells_are_quoted_and_formula_safe() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-5.00"), "'-5.00");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn raw_rows_keep_their_field_order_in_csv() {
        #[derive(Serialize)]
        struct Row {
            zeta: &'static str,
            alpha: u64,
            none: Option<u64>,
        }
        let csv = rows_csv(&[Row { zeta: "=1", alpha: 2, none: None }]).unwrap();
        assert_eq!(csv, "zeta,alpha,none\r\n'=1,2,\r\n");
    }
}
