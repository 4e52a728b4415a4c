//! Bad input, generated: every public endpoint gets random broken parameters, bodies, methods
//! and headers. Whatever arrives, the collector must not panic, must answer a 4xx JSON error
//! (`error_code`, `code`, `message`) — or, for the image pixel, its GIF — and must leave the
//! stored data exactly as it was. Bounded (`PROPTEST_CASES`, default 200 per property) so it
//! runs in CI.

mod support;

use actix_web::test::{self, TestRequest};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use support::Harness;

/// Broken percent-encoding or invalid UTF-8 once decoded: invalid on every endpoint.
fn encoding_poison() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sub1=%".to_string()),
        Just("sub2=%zz".to_string()),
        Just("sub3=%C0%AF".to_string()),
        Just("sub4=%ED%A0%80".to_string()),
        // A continuation byte cannot start a UTF-8 character, whatever follows it.
        (0x80u8..=0xbfu8, prop::collection::vec(0x80u8..=0xffu8, 0..8)).prop_map(|(first, rest)| {
            format!("sub5=%{first:02X}{}", rest.iter().map(|b| format!("%{b:02X}")).collect::<String>())
        }),
    ]
}

/// An offer ID that is not a positive integer, or given twice with different values: invalid
/// for clicks, impressions and conversions alike.
fn oid_poison() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z.+-]{1,12}".prop_map(|v| format!("oid={v}")),
        "[0-9]{17,40}".prop_map(|v| format!("oid={v}")),
        Just("oid=0".to_string()),
        Just("oid=1&oid=2".to_string()),
    ]
}

/// Invalid only where a partner is due (clicks and impressions; a conversion has no `affid`).
fn id_poison() -> impl Strategy<Value = String> {
    prop_oneof![oid_poison(), "[0-9]{17,40}".prop_map(|v| format!("affid={v}")), Just("affid=1&affid=3".to_string())]
}

/// One ingredient that makes a click or impression invalid, whatever else it carries.
fn poison() -> impl Strategy<Value = String> {
    prop_oneof![
        encoding_poison(),
        id_poison(),
        // Too long, control characters, malformed device IDs.
        (256usize..2000).prop_map(|n| format!("sub1={}", "x".repeat(n))),
        (1u8..32).prop_map(|c| format!("sub2=a%{c:02X}b")),
        "[g-z]{8}-[0-9]{4}".prop_map(|v| format!("idfa={v}")),
    ]
}

fn junk_value() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect())
}

/// Some plausible parameters, some junk, and one poison, shuffled.
fn with_poison(poison: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop_oneof![
                Just("oid=1".to_string()),
                Just("affid=1".to_string()),
                Just("format=json".to_string()),
                junk_value().prop_map(|v| format!("sub3={v}")),
                ("[a-z_]{1,10}", junk_value()).prop_map(|(k, v)| format!("{k}={v}")),
            ],
            0..5,
        ),
        poison,
    )
        .prop_flat_map(|(parts, poison): (Vec<String>, String)| {
            let at = 0..=parts.len();
            at.prop_map(move |i| {
                let mut parts = parts.clone();
                parts.insert(i, poison.clone());
                parts.join("&")
            })
        })
}

/// A conversion with one broken field.
fn bad_conversion_query() -> impl Strategy<Value = String> {
    let tid = "0194f0b0c0d0e0f00112233445566778";
    prop_oneof![
        "[a-zA-Z+-]{1,6}|[0-9]{1,3}\\.[0-9]{4,7}[1-9]|[0-9]e[0-9]"
            .prop_map(move |a| format!("transaction_id={tid}&amount={a}")),
        "[g-z0-9]{1,40}".prop_map(|t| format!("transaction_id={t}")),
        (129usize..400).prop_map(move |n| format!("transaction_id={tid}&order_id={}", "o".repeat(n))),
        "[a-z]{1,5}(\\+|%20|%2F)[a-z]{1,5}".prop_map(move |k| format!("transaction_id={tid}&idempotency_key={k}")),
        with_poison(prop_oneof![encoding_poison(), oid_poison()]),
        Just("amount=5".to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Case {
    Get { path: &'static str, query: String },
    PostBody { content_type: &'static str, body: Vec<u8>, query: String },
    OddMethod { method: &'static str, path: &'static str },
    OddHeader { path: &'static str, header: Vec<u8> },
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        (prop::sample::select(vec!["/clk", "/imp"]), with_poison(poison()))
            .prop_map(|(path, query)| Case::Get { path, query }),
        bad_conversion_query().prop_map(|query| Case::Get { path: "/conversion", query }),
        (
            prop::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain"]),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..200),
                Just(b"{\"transaction_id\": [1, 2]}".to_vec()),
                Just(b"[\"not an object\"]".to_vec()),
                Just(b"{\"amount\": {\"a\": 1}}".to_vec()),
                bad_conversion_query().prop_map(String::into_bytes),
            ],
            prop_oneof![Just(String::new()), Just("oid=x".to_string())],
        )
            .prop_map(|(content_type, body, query)| Case::PostBody { content_type, body, query }),
        (
            prop::sample::select(vec!["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"]),
            prop::sample::select(vec![
                "/clk",
                "/imp",
                "/conversion",
                "/pixel.gif",
                "/api/offers",
                "/api/reports/clicks"
            ]),
        )
            .prop_map(|(method, path)| Case::OddMethod { method, path }),
        (
            prop::sample::select(vec!["/clk?oid=abc&affid=1", "/conversion?amount=x"]),
            prop::collection::vec(0x80u8..=0xff, 1..600)
        )
            .prop_map(|(path, header)| Case::OddHeader { path, header }),
    ]
}

/// Everything a request could have changed: raw records and report counters.
fn snapshot(h: &Harness) -> (usize, usize, usize, String) {
    let counters = format!("{:?}", h.store.counters(0, u32::MAX).unwrap());
    (h.click_count(), h.conversion_count(), h.store.postbacks().unwrap().len(), counters)
}

#[test]
fn bad_input_never_panics_never_writes_and_always_gets_a_json_4xx() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    actix_web::rt::System::new().block_on(async move {
        let h = Harness::new().await;
        let app = h.app().await;
        let before = snapshot(&h);
        // Generate first (proptest's runner is synchronous), then drive the async app.
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let strategy = case();
        let generated: Vec<Case> =
            (0..cases).map(|_| strategy.new_tree(&mut runner).expect("generate a case").current()).collect();
        for case in generated {
            let request = match &case {
                Case::Get { path, query } => TestRequest::get().uri(&format!("{path}?{query}")),
                Case::PostBody { content_type, body, query } => TestRequest::post()
                    .uri(&format!("/conversion?{query}"))
                    .insert_header(("Content-Type", *content_type))
                    .set_payload(body.clone()),
                Case::OddMethod { method, path } => {
                    TestRequest::default().method(method.parse().unwrap()).uri(&format!("{path}?oid=1&affid=1"))
                }
                Case::OddHeader { path, header } => TestRequest::get()
                    .uri(path)
                    .insert_header(("User-Agent", actix_web::http::header::HeaderValue::from_bytes(header).unwrap())),
            };
            let resp =
                test::call_service(&app, request.peer_addr("198.51.100.1:1".parse().unwrap()).to_request()).await;
            let status = resp.status().as_u16();
            let body = test::read_body(resp).await;
            assert!((400..500).contains(&status), "{case:?} answered {status}: {}", String::from_utf8_lossy(&body));
            let json: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("{case:?}: not JSON: {}", String::from_utf8_lossy(&body)));
            assert!(json["error_code"].as_u64().is_some_and(|c| c > 0), "{case:?}: {json}");
            assert!(json["code"].as_str().is_some_and(|c| !c.is_empty()), "{case:?}: {json}");
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{case:?}: {json}");
            assert_eq!(snapshot(&h), before, "{case:?} changed stored data");
        }
    });
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// The pixel always answers with its image, and bad input through it stores nothing.
    #[test]
    fn the_pixel_answers_a_gif_and_stores_nothing_for_bad_input(query in bad_conversion_query()) {
        actix_web::rt::System::new().block_on(async {
            let h = Harness::new().await;
            let app = h.app().await;
            let before = snapshot(&h);
            let resp = test::call_service(&app, TestRequest::get().uri(&format!("/pixel.gif?{query}")).to_request()).await;
            assert_eq!(resp.headers().get("content-type").unwrap(), "image/gif");
            assert_eq!(snapshot(&h), before);
        });
    }
}
