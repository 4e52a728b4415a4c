//! Shared set-up for the HTTP tests: a real store in a temp dir behind the real routes.

#![allow(dead_code)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use clickstamp_collector::http::{routes, AppState};
use clickstamp_collector::model::{Advertiser, Offer, OfferEvent, OfferStatus, Partner, PriceRule};
use clickstamp_collector::money::Money;
use clickstamp_collector::store::{Durability, Store};

pub const TOKEN: &str = "test-admin-token";

pub struct Harness {
    pub store: Store,
    _dir: tempfile::TempDir,
}

pub fn offer(id: u64, advertiser_id: u64) -> Offer {
    Offer {
        id,
        advertiser_id,
        name: format!("Offer {id}"),
        status: OfferStatus::Active,
        destination_url: "https://shop.example/land?tid={transaction_id}&a={affid}&s1={sub1}&g={gclid}".into(),
        alternate_destinations: vec![("summer".into(), "https://shop.example/summer?tid={transaction_id}".into())],
        fallback_url: Some("https://shop.example/sorry".into()),
        session_hours: 24,
        view_through_hours: 2,
        events: vec![
            OfferEvent {
                name: String::new(),
                payout: PriceRule::Fixed(Money::parse("5").unwrap()),
                revenue: PriceRule::Percent(Money::parse("10").unwrap()),
                allow_duplicates: false,
            },
            OfferEvent {
                name: "renewal".into(),
                payout: PriceRule::Fixed(Money::parse("1").unwrap()),
                revenue: PriceRule::Fixed(Money::parse("2").unwrap()),
                allow_duplicates: true,
            },
        ],
        accept_browser_conversions: true,
        duplicate_click_window_secs: 60,
        blocked_ips: vec![],
    }
}

impl Harness {
    /// A store with advertiser 1, offer 1 (active) and offer 2 (paused), partners 1 and 2.
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Durability::Durable).unwrap();
        store.put_advertiser(Advertiser { id: 1, name: "Shop".into(), verification_token: None }).await.unwrap();
        store
            .put_advertiser(Advertiser { id: 2, name: "Bank".into(), verification_token: Some("s3cret".into()) })
            .await
            .unwrap();
        store.put_partner(Partner { id: 1, name: "P1".into(), postbacks: vec![] }).await.unwrap();
        store.put_partner(Partner { id: 2, name: "P2".into(), postbacks: vec![] }).await.unwrap();
        store.put_offer(offer(1, 1)).await.unwrap();
        store.put_offer(Offer { status: OfferStatus::Paused, ..offer(2, 1) }).await.unwrap();
        let mut s2s = offer(3, 2);
        s2s.accept_browser_conversions = false;
        store.put_offer(s2s).await.unwrap();
        Harness { store, _dir: dir }
    }

    pub async fn app(
        &self,
    ) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
        self.app_with(|_| {}).await
    }

    /// The app with some of its state changed first.
    pub async fn app_with(
        &self,
        change: impl FnOnce(&mut AppState),
    ) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
        let www = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"));
        let mut state = AppState::new(self.store.clone(), TOKEN.into(), www);
        change(&mut state);
        test::init_service(App::new().app_data(web::Data::new(state)).configure(routes)).await
    }

    pub fn click_count(&self) -> usize {
        self.store.clicks_page(None, 10_000, |_| true).unwrap().rows.len()
    }

    pub fn conversion_count(&self) -> usize {
        self.store.conversions_page(None, 10_000, |_| true).unwrap().rows.len()
    }
}

/// A GET from a visitor with an IP and a browser user agent.
pub fn get(uri: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .peer_addr("203.0.113.7:50000".parse().unwrap())
        .insert_header(("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"))
}

pub async fn json_of(resp: ServiceResponse<impl MessageBody>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    let value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, value)
}
