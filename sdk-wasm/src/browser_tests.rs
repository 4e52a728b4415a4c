//! Browser tests (headless Chromium via wasm-bindgen-test-runner) of the code that touches the
//! browser: cookies, the localStorage copy, the address bar, consent and the retry queue.
//! Run: CHROMEDRIVER=/usr/bin/chromedriver cargo test -p clickstamp-sdk --target wasm32-unknown-unknown

use crate::browser::{self, Promise};
use crate::cookies::{offer_key, stored_value};
use crate::queue;
use crate::sdk::{self, CONSENT_KEY, QUEUE_KEY};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TID: &str = "0192f3a4b5c6d7e8f90123456789abcd";
/// Nothing listens there (and Chromium refuses the port): every request fails like a dead network.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:1";

/// A fresh page load: nothing stored, default configuration.
fn fresh() {
    sdk::reset();
    sdk::forget_stored_data();
    browser::storage_remove(CONSENT_KEY);
    sdk::reset();
}

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = browser::object();
    for (k, v) in pairs {
        browser::set(&o, k, v);
    }
    o
}

async fn settled(p: Promise) -> JsValue {
    JsFuture::from(p.unchecked_into::<js_sys_promise::Promise>()).await.expect("SDK promises never reject")
}

/// wasm-bindgen-futures wants its own Promise type; both are the same JS object.
mod js_sys_promise {
    pub use wasm_bindgen_futures::js_sys::Promise;
}

#[wasm_bindgen_test]
fn cookie_is_written_and_read_back() {
    fresh();
    sdk::store_transaction_id(&offer_key("7"), TID, 2);
    let cookie = browser::document_cookie();
    assert!(cookie.contains(&crate::ids::concat(&["cs_tid_o_7=", TID])), "{cookie}");
    assert_eq!(crate::get_transaction_id(JsValue::from_f64(7.0)).as_string().unwrap(), TID);
    assert_eq!(crate::get_transaction_id(JsValue::from_str("7")).as_string().unwrap(), TID);
    assert_eq!(crate::get_transaction_id(JsValue::from_str("8")).as_string().unwrap(), "");
}

#[wasm_bindgen_test]
fn local_storage_copy_is_used_when_the_cookie_is_gone() {
    fresh();
    sdk::store_transaction_id(&offer_key("3"), TID, 1);
    // The cookie expires (Safari's ITP cap, a cookie cleaner): only the copy is left.
    browser::write_cookie("cs_tid_o_3=; Path=/; Max-Age=0");
    assert!(!browser::document_cookie().contains("cs_tid_o_3="));
    assert_eq!(sdk::stored_transaction_id("cs_tid_o_3").as_deref(), Some(TID));
    // An expired copy is not used.
    browser::storage_set("cs_tid_o_3", &stored_value(TID, browser::now_ms() - 1));
    assert_eq!(sdk::stored_transaction_id("cs_tid_o_3"), None);
}

#[wasm_bindgen_test]
fn stored_click_cleans_the_address_bar_and_sets_both_cookies() {
    fresh();
    let before = browser::location_href();
    let landing =
        crate::ids::concat(&["?utm_source=mail&oid=5&affid=2&sub1=x&cs_tid=", TID, "&gclid=G1&page=3#reviews"]);
    browser::replace_url(&landing);
    assert_eq!(crate::url_parameter("sub1".into()).as_string().unwrap(), "x");
    let answer = options(&[
        ("transaction_id", TID.into()),
        ("oid", JsValue::from_f64(5.0)),
        ("advertiser_id", JsValue::from_f64(9.0)),
        ("session_duration", JsValue::from_f64(24.0)),
    ]);
    sdk::remember_click(&answer, TID);
    let href = browser::location_href();
    assert!(href.ends_with("?utm_source=mail&gclid=G1&page=3#reviews"), "{href}");
    assert_eq!(crate::url_parameter("oid".into()).as_string().unwrap(), "");
    assert_eq!(crate::get_transaction_id("5".into()).as_string().unwrap(), TID);
    assert_eq!(crate::get_advertiser_transaction_id("9".into()).as_string().unwrap(), TID);
    browser::replace_url(&before);
}

#[wasm_bindgen_test]
fn consent_withdrawal_removes_cookies_copies_and_queue() {
    fresh();
    sdk::store_transaction_id(&offer_key("1"), TID, 1);
    sdk::store_transaction_id("cs_tid_a_4", TID, 1);
    browser::storage_set(QUEUE_KEY, "\tidempotency_key=abc\n");
    browser::write_cookie("other_site_cookie=keep; Path=/");
    browser::storage_set("other_key", "keep");
    crate::consent(JsValue::FALSE);
    let cookie = browser::document_cookie();
    assert!(!cookie.contains("cs_tid_"), "{cookie}");
    assert!(cookie.contains("other_site_cookie=keep"));
    assert_eq!(browser::storage_get("cs_tid_o_1"), None);
    assert_eq!(browser::storage_get("cs_tid_a_4"), None);
    assert_eq!(browser::storage_get(QUEUE_KEY), None);
    assert_eq!(browser::storage_get("other_key").as_deref(), Some("keep"));
    assert_eq!(browser::storage_get(CONSENT_KEY).as_deref(), Some("0"));
    // Withdrawn consent is remembered: nothing is stored by a later click in a new page view.
    sdk::reset();
    assert_eq!(crate::get_transaction_id("1".into()).as_string().unwrap(), "");
    browser::storage_remove("other_key");
    browser::write_cookie("other_site_cookie=; Path=/; Max-Age=0");
}

#[wasm_bindgen_test]
async fn nothing_to_track_resolves_empty() {
    fresh();
    sdk::configure(&options(&[("endpoint", DEAD_ENDPOINT.into())]));
    let id = settled(crate::click(JsValue::UNDEFINED)).await;
    assert_eq!(id.as_string().as_deref(), Some(""));
    let id = settled(crate::click(options(&[("offer_id", "x1".into()), ("affiliate_id", "2".into())]))).await;
    assert_eq!(id.as_string().as_deref(), Some(""));
}

#[wasm_bindgen_test]
async fn failed_click_resolves_empty_and_stores_nothing() {
    fresh();
    sdk::configure(&options(&[("endpoint", DEAD_ENDPOINT.into())]));
    let id = settled(crate::click(options(&[("offer_id", "1".into()), ("affiliate_id", "2".into())]))).await;
    assert_eq!(id.as_string().as_deref(), Some(""));
    assert_eq!(crate::get_transaction_id("1".into()).as_string().unwrap(), "");
}

#[wasm_bindgen_test]
async fn unreachable_collector_queues_the_conversion_with_an_idempotency_key() {
    fresh();
    sdk::configure(&options(&[("endpoint", DEAD_ENDPOINT.into())]));
    sdk::store_transaction_id(&offer_key("1"), TID, 1);
    let result = settled(crate::conversion(options(&[
        ("offer_id", JsValue::from_f64(1.0)),
        ("amount", "49.90".into()),
        ("order_id", "A-1".into()),
    ])))
    .await;
    assert_eq!(browser::get_text(&result, "status").as_deref(), Some("queued"));
    assert_eq!(browser::get_text(&result, "conversion_id"), None);
    let entries = queue::decode(&browser::storage_get(QUEUE_KEY).unwrap_or_default());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].endpoint, DEAD_ENDPOINT);
    let key = entries[0].key();
    assert_eq!(key.len(), 32);
    assert!(crate::ids::is_transaction_id(&key), "idempotency key is 32 hex: {key}");
    let body = crate::ids::concat(&["?", &entries[0].body]);
    assert_eq!(crate::params::query_value(&body, "cookie_tid").as_deref(), Some(TID));
    assert_eq!(crate::params::query_value(&body, "oid").as_deref(), Some("1"));
    assert_eq!(crate::params::query_value(&body, "amount").as_deref(), Some("49.90"));
    assert_eq!(crate::params::query_value(&body, "transaction_id"), None);
    // A second conversion gets its own key.
    let _ = settled(crate::conversion(options(&[("advertiser_id", "4".into()), ("transaction_id", TID.into())]))).await;
    let entries = queue::decode(&browser::storage_get(QUEUE_KEY).unwrap_or_default());
    assert_eq!(entries.len(), 2);
    assert_ne!(entries[1].key(), key);
    let body = crate::ids::concat(&["?", &entries[1].body]);
    assert_eq!(crate::params::query_value(&body, "transaction_id").as_deref(), Some(TID));
}

#[wasm_bindgen_test]
async fn calls_before_consent_are_held_until_granted() {
    fresh();
    sdk::configure(&options(&[("endpoint", DEAD_ENDPOINT.into()), ("requireConsent", JsValue::TRUE)]));
    let held = crate::conversion(options(&[("offer_id", "1".into())]));
    // Held: nothing stored yet.
    let _ = settled(browser::resolved(&JsValue::UNDEFINED)).await;
    assert_eq!(browser::storage_get(QUEUE_KEY), None);
    crate::consent(JsValue::TRUE);
    let result = settled(held).await;
    assert_eq!(browser::get_text(&result, "status").as_deref(), Some("queued"));
    assert_eq!(browser::storage_get(CONSENT_KEY).as_deref(), Some("1"));
    assert_eq!(queue::decode(&browser::storage_get(QUEUE_KEY).unwrap_or_default()).len(), 1);
}

#[wasm_bindgen_test]
async fn calls_before_consent_are_dropped_when_refused() {
    fresh();
    sdk::configure(&options(&[("endpoint", DEAD_ENDPOINT.into()), ("requireConsent", JsValue::TRUE)]));
    let held = crate::conversion(options(&[("offer_id", "1".into())]));
    crate::consent(JsValue::FALSE);
    let result = settled(held).await;
    assert_eq!(browser::get_text(&result, "status").as_deref(), Some("error"));
    assert_eq!(browser::get_text(&result, "error").as_deref(), Some("no consent"));
    assert_eq!(browser::storage_get(QUEUE_KEY), None);
}
