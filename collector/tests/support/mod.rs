//! Shared set-up for the HTTP tests: a real store in a temp dir behind the real routes.

#![allow(dead_code)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use clickstamp_collector::http::{build_app, AppState};
use clickstamp_collector::model::{Advertiser, Offer, OfferEvent, OfferStatus, Partner, PriceRule};
use clickstamp_collector::money::Money;
use clickstamp_collector::store::{Durability, Store};

pub const TOKEN: &str = "test-admin-token";

pub struct Harness {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
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
        let mut h = Harness::in_dir(dir.path()).await;
        h._dir = Some(dir);
        h
    }

    /// The same set-up on a data directory the caller keeps (for restart tests); records
    /// that exist are rewritten with the same values.
    pub async fn in_dir(path: &std::path::Path) -> Harness {
        let store = Store::open(path, Durability::Durable).unwrap();
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
        Harness { store, _dir: None }
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
        test::init_service(build_app(web::Data::new(state))).await
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

/// The collector's routes on a real socket (for tests that need real concurrency or a real
/// HTTP client). Stops when the returned handle is dropped with the runtime.
pub async fn start_server(h: &Harness) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let www = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"));
    let state = web::Data::new(AppState::new(h.store.clone(), TOKEN.into(), www));
    let server = actix_web::HttpServer::new(move || build_app(state.clone())).workers(2).bind("127.0.0.1:0").unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// A partner's postback endpoint: a real HTTP server on loopback that answers each request
/// with the next scripted status (200 once the script runs out) and remembers the paths.
pub struct PostbackEndpoint {
    pub addr: std::net::SocketAddr,
    pub script: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl PostbackEndpoint {
    pub fn start(script: &[u16]) -> PostbackEndpoint {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let script = std::sync::Arc::new(std::sync::Mutex::new(
            script.iter().copied().collect::<std::collections::VecDeque<u16>>(),
        ));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (script2, seen2) = (script.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok() && line.trim_end() != "" {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen2.lock().unwrap().push(path);
                let status = script2.lock().unwrap().pop_front().unwrap_or(200);
                let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
        });
        PostbackEndpoint { addr, script, seen }
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Wait up to `seconds` for `done` to hold.
pub fn eventually(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}
