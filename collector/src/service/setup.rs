//! Start-up chores: the admin token and the demo data.

use crate::filters::BotFilter;
use crate::ids::TimeId;
use crate::model::{
    Advertiser, LinkKind, Offer, OfferEvent, OfferStatus, Partner, PriceRule, TrackingParams, Visitor,
    DEFAULT_SESSION_HOURS,
};
use crate::money::Money;
use crate::params::ConversionRequest;
use crate::service::clicks::{track_click, VisitInput};
use crate::service::conversions::{record_conversion, ConversionContext, ConversionError};
use crate::store::{Store, StoreError};

/// Setting ID under which a generated admin token is kept.
const ADMIN_TOKEN_SETTING: u64 = 1;

/// Where the admin token came from; a generated one is printed once, at its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminToken {
    FromEnvironment(String),
    Stored(String),
    Generated(String),
}

impl AdminToken {
    pub fn secret(&self) -> &str {
        match self {
            AdminToken::FromEnvironment(t) | AdminToken::Stored(t) | AdminToken::Generated(t) => t,
        }
    }
}

/// The token from the environment if set, else the stored one, else a new random one (stored).
pub async fn admin_token(store: &Store, from_env: Option<String>) -> Result<AdminToken, StoreError> {
    if let Some(token) = from_env.filter(|t| !t.is_empty()) {
        return Ok(AdminToken::FromEnvironment(token));
    }
    if let Some(bytes) = store.setting(ADMIN_TOKEN_SETTING)? {
        return String::from_utf8(bytes)
            .map(AdminToken::Stored)
            .map_err(|_| StoreError::Corrupt("admin token is not UTF-8".into()));
    }
    let token = crate::ids::random_secret();
    store.put_setting(ADMIN_TOKEN_SETTING, token.clone().into_bytes()).await?;
    Ok(AdminToken::Generated(token))
}

/// Seed the demo advertiser, offer and partners. Records that exist are kept (changes made
/// through the API survive a restart); offer 1's destination follows the demo site address.
pub async fn seed_demo(store: &Store, site_origin: &str) -> Result<(), StoreError> {
    if store.advertiser(1)?.is_none() {
        store.put_advertiser(Advertiser { id: 1, name: "Demo Shop".into(), verification_token: None }).await?;
    }
    for (id, name) in [(1, "Demo Partner"), (2, "Second Partner")] {
        if store.partner(id)?.is_none() {
            store.put_partner(Partner { id, name: name.into(), postbacks: vec![] }).await?;
        }
    }
    let destination_url = format!("{site_origin}/index.html?cs_tid={{transaction_id}}");
    let fallback_url = Some(format!("{site_origin}/index.html"));
    let offer = match store.offer(1)? {
        Some(existing) => Offer { destination_url, fallback_url, ..existing },
        None => demo_offer(destination_url, fallback_url),
    };
    store.put_offer(offer).await?;
    Ok(())
}

/// One click (a direct-link visit from partner 1, sub1 "spring") and its approved
/// conversion, recorded through the same service calls as real traffic — only when the store
/// has no click yet. Returns their IDs when it recorded them.
pub async fn seed_demo_traffic(store: &Store, now_ms: u64) -> Result<Option<(TimeId, TimeId)>, StoreError> {
    if !store.clicks_page(None, 1, |_| true)?.rows.is_empty() {
        return Ok(None);
    }
    let visitor = Visitor {
        ip: "198.51.100.23".into(),
        user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148".into(),
        referrer: "https://www.google.com/".into(),
    };
    let mut params = TrackingParams { gclid: "demo-gclid".into(), ..TrackingParams::default() };
    params.sub[0] = "spring".into();
    let input = VisitInput { oid: 1, affid: 1, params, visitor: visitor.clone(), now_ms };
    let click = track_click(store, &BotFilter::default(), input, LinkKind::Sdk).await?.click;
    let request = ConversionRequest {
        cookie_tid: Some(click.id),
        oid: Some(1),
        amount: Money::parse("49.90").ok(),
        order_id: "DEMO-1001".into(),
        ..ConversionRequest::default()
    };
    let ctx = ConversionContext { visitor, tracking_cookie: None, now_ms: now_ms + 60_000 };
    let conversion = record_conversion(store, request, ctx).await.map_err(|e| match e {
        ConversionError::Store(s) => s,
        other => StoreError::Corrupt(other.to_string()),
    })?;
    Ok(Some((click.id, conversion.id)))
}

fn demo_offer(destination_url: String, fallback_url: Option<String>) -> Offer {
    let fixed = |s: &str| PriceRule::Fixed(Money::parse(s).unwrap_or(Money::ZERO));
    Offer {
        id: 1,
        advertiser_id: 1,
        name: "Demo Shop — spring sale".into(),
        status: OfferStatus::Active,
        destination_url,
        alternate_destinations: vec![],
        fallback_url,
        session_hours: DEFAULT_SESSION_HOURS,
        view_through_hours: 24,
        events: vec![
            OfferEvent { name: String::new(), payout: fixed("5.00"), revenue: fixed("8.00"), allow_duplicates: false },
            OfferEvent {
                name: "signup".into(),
                payout: fixed("1.00"),
                revenue: fixed("2.00"),
                allow_duplicates: false,
            },
        ],
        accept_browser_conversions: true,
        duplicate_click_window_secs: 3600,
        blocked_ips: vec![],
    }
}
