//! Start-up chores: the admin token and the demo data.

use crate::model::{Advertiser, Offer, OfferEvent, OfferStatus, Partner, PriceRule, DEFAULT_SESSION_HOURS};
use crate::money::Money;
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
