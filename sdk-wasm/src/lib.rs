//! clickstamp browser SDK: direct-link clicks, first-party cookies and conversions, compiled to
//! WebAssembly. This file is the JavaScript API (wasm-bindgen exports) and nothing else:
//! `sdk.rs` is the behaviour, `browser.rs` the only code touching the browser, and `params.rs`,
//! `cookies.rs`, `queue.rs`, `ids.rs` pure logic unit-tested on the host.
//!
//! `no_std` on wasm32 (outside tests) to keep the download small; see `runtime.rs`.
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

mod browser;
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
pub mod cookies;
pub mod ids;
pub mod params;
pub mod queue;
#[cfg(all(target_arch = "wasm32", not(test)))]
mod runtime;
mod sdk;

use alloc::string::String;
use browser::Promise;
use wasm_bindgen::prelude::*;

/// Retries conversions queued on an earlier page load.
#[wasm_bindgen(start)]
pub fn start() {
    sdk::start_queue_flush();
}

/// `configure({endpoint, cookieDomain, requireConsent, respectGpc})`: only the given fields change.
#[wasm_bindgen]
pub fn configure(
    #[wasm_bindgen(
        unchecked_param_type = "{endpoint?: string, cookieDomain?: string, requireConsent?: boolean, respectGpc?: boolean}"
    )]
    options: JsValue,
) {
    sdk::configure(&options);
}

/// Records a click (or reuses the landing URL's `cs_tid`); resolves its transaction ID, or ""
/// when there is nothing to track or it failed.
#[wasm_bindgen(unchecked_return_type = "Promise<string>")]
pub fn click(#[wasm_bindgen(unchecked_param_type = "Record<string, string | number>")] options: JsValue) -> Promise {
    sdk::click(options)
}

/// Records an impression; resolves its ID, or "".
#[wasm_bindgen(unchecked_return_type = "Promise<string>")]
pub fn impression(
    #[wasm_bindgen(unchecked_param_type = "Record<string, string | number>")] options: JsValue,
) -> Promise {
    sdk::impression(options)
}

/// Sends a conversion with the stored transaction ID; always resolves
/// `{conversion_id, status, error_code, error}`.
#[wasm_bindgen(
    unchecked_return_type = "Promise<{conversion_id: string, status: string, error_code: number, error: string}>"
)]
pub fn conversion(
    #[wasm_bindgen(unchecked_param_type = "Record<string, string | number>")] options: JsValue,
) -> Promise {
    sdk::conversion(options)
}

/// A parameter of the page URL, "" when absent. Strings cross as `JsValue`s: a `String` return
/// costs every export a copy-and-free wrapper in the JS glue.
#[wasm_bindgen(js_name = urlParameter, unchecked_return_type = "string")]
pub fn url_parameter(#[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> JsValue {
    JsValue::from_str(&browser::text(&name).map(|n| sdk::url_parameter(&n)).unwrap_or_default())
}

/// The transaction ID stored for an offer, "" when none.
#[wasm_bindgen(js_name = getTransactionId, unchecked_return_type = "string")]
pub fn get_transaction_id(#[wasm_bindgen(unchecked_param_type = "string | number")] oid: JsValue) -> JsValue {
    stored(&oid, cookies::offer_key)
}

/// The transaction ID stored for an advertiser, "" when none.
#[wasm_bindgen(js_name = getAdvertiserTransactionId, unchecked_return_type = "string")]
pub fn get_advertiser_transaction_id(
    #[wasm_bindgen(unchecked_param_type = "string | number")] advertiser_id: JsValue,
) -> JsValue {
    stored(&advertiser_id, cookies::advertiser_key)
}

fn stored(id: &JsValue, key: fn(&str) -> String) -> JsValue {
    JsValue::from_str(&browser::text(id).and_then(|id| sdk::stored_transaction_id(&key(&id))).unwrap_or_default())
}

/// `consent(true)` allows storage and requests (and releases held calls); `consent(false)`
/// removes everything stored and stops tracking.
#[wasm_bindgen]
pub fn consent(granted: JsValue) {
    sdk::consent(granted.is_truthy());
}
