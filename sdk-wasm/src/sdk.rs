//! The SDK's behaviour: configuration, consent, clicks, impressions and conversions, written as
//! promise chains over `browser.rs` (no futures executor: it costs bytes) and the pure modules.

use crate::browser::{self, get, get_text, request, resolved, settle, Promise, Reply};
use crate::cookies::{self, advertiser_key, offer_key, Scope};
use crate::ids::{concat, hex, is_numeric_id, is_transaction_id, push_decimal};
use crate::params::{query_value, strip_tracking, Form, CLICK_PARAMS, CONVERSION_FIELDS, TID_PARAM};
use crate::queue::{self, Entry, Outcome};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use wasm_bindgen::{JsCast, JsValue};

/// localStorage key of the retry queue.
pub(crate) const QUEUE_KEY: &str = "cs_queue";
/// localStorage key of the visitor's consent decision ("1" given, "0" withdrawn).
pub(crate) const CONSENT_KEY: &str = "cs_consent";
/// Every key the SDK stores starts with this (consent withdrawal removes them all).
const STORAGE_PREFIX: &str = "cs_";
const CLICK_TIMEOUT_MS: u32 = 5_000;
const CONVERSION_TIMEOUT_MS: u32 = 10_000;
/// Used when the collector does not say (hours).
const DEFAULT_SESSION_HOURS: u64 = 720;

struct State {
    /// Collector base URL without a trailing `/`; "" = the page's own origin.
    endpoint: String,
    cookie_domain: String,
    require_consent: bool,
    respect_gpc: bool,
    /// `None` until read from storage; then the visitor's decision, if any.
    decision: Option<Option<bool>>,
    /// Calls made while consent is pending wait on this promise; `consent()` resolves it.
    gate: Option<(Promise, JsValue)>,
    flush_started: bool,
    /// Idempotency keys being sent now, so the queue flush does not send them a second time.
    in_flight: Vec<String>,
}

/// The SDK's state. An `UnsafeCell`, not a `RefCell`: a `RefCell`'s borrow panics link core's
/// formatting code into the download. Sound because wasm32 without threads has one thread and
/// [`with`] never nests (its closures only read or write fields; they call nothing that calls
/// `with`).
struct Global(UnsafeCell<State>);
// SAFETY: wasm32 without the atomics feature has a single thread.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State {
    endpoint: String::new(),
    cookie_domain: String::new(),
    require_consent: false,
    respect_gpc: false,
    decision: None,
    gate: None,
    flush_started: false,
    in_flight: Vec::new(),
}));

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    // SAFETY: one thread, and no call of `with` runs inside another (see `Global`), so this is
    // the only reference to the state while `f` runs.
    f(unsafe { &mut *STATE.0.get() })
}

/// Back to a fresh page load's state (browser tests share one page).
#[cfg(all(test, target_arch = "wasm32"))]
pub fn reset() {
    with(|s| {
        s.endpoint.clear();
        s.cookie_domain.clear();
        s.require_consent = false;
        s.respect_gpc = false;
        s.decision = None;
        s.gate = None;
        s.flush_started = false;
        s.in_flight.clear();
    })
}

pub fn configure(options: &JsValue) {
    with(|s| {
        if let Some(endpoint) = get_text(options, "endpoint") {
            if queue::is_storable_endpoint(&endpoint) {
                s.endpoint = String::from(endpoint.trim_end_matches('/'));
            }
        }
        if let Some(domain) = get_text(options, "cookieDomain") {
            if !domain.bytes().any(|b| b <= b' ' || b == b';') {
                s.cookie_domain = domain;
            }
        }
        if let Some(b) = get(options, "requireConsent").as_bool() {
            s.require_consent = b;
        }
        if let Some(b) = get(options, "respectGpc").as_bool() {
            s.respect_gpc = b;
        }
    });
    start_queue_flush();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Permission {
    Allowed,
    /// `requireConsent` and no decision yet: calls wait for `consent()`.
    Pending,
    Denied,
}

fn permission() -> Permission {
    let (respect_gpc, require_consent, decision) = with(|s| {
        let decision = *s.decision.get_or_insert_with(|| match browser::storage_get(CONSENT_KEY).as_deref() {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        });
        (s.respect_gpc, s.require_consent, decision)
    });
    if respect_gpc && browser::global_privacy_control() {
        return Permission::Denied;
    }
    match decision {
        Some(true) => Permission::Allowed,
        Some(false) => Permission::Denied,
        None if require_consent => Permission::Pending,
        None => Permission::Allowed,
    }
}

/// Runs `work` now, or once consent is given; `not_sent` answers when it may not run (or failed
/// unexpectedly: the page always gets a value, never a rejection).
fn when_allowed(work: impl FnOnce() -> JsValue + 'static, not_sent: fn(&str) -> JsValue) -> Promise {
    when_allowed_boxed(Box::new(work), not_sent)
}

fn when_allowed_boxed(work: Box<dyn FnOnce() -> JsValue>, not_sent: fn(&str) -> JsValue) -> Promise {
    let started = match permission() {
        Permission::Allowed => resolved(&work()),
        Permission::Denied => resolved(&not_sent("no consent")),
        Permission::Pending => settle(&consent_gate(), move |_| match permission() {
            Permission::Allowed => work(),
            _ => not_sent("no consent"),
        }),
    };
    settle(&started, move |r| r.unwrap_or_else(|_| not_sent("internal error")))
}

fn consent_gate() -> Promise {
    if let Some(p) = with(|s| s.gate.as_ref().map(|(p, _)| JsValue::clone(p))) {
        return p.unchecked_into();
    }
    let (p, resolve) = browser::deferred();
    with(|s| s.gate = Some((JsValue::clone(&p).unchecked_into(), resolve)));
    p
}

/// Records the visitor's decision (remembered in localStorage for later page views). Withdrawal
/// removes every transaction ID and queued conversion; waiting calls are released either way.
pub fn consent(granted: bool) {
    with(|s| s.decision = Some(Some(granted)));
    if !granted {
        forget_stored_data();
    }
    browser::storage_set(CONSENT_KEY, if granted { "1" } else { "0" });
    if let Some((_, resolve)) = with(|s| s.gate.take()) {
        browser::call_resolve(&resolve, &JsValue::UNDEFINED);
    }
    if granted {
        start_queue_flush();
    }
}

fn cookie_scope_domain() -> String {
    with(|s| s.cookie_domain.clone())
}

pub(crate) fn forget_stored_data() {
    let domain = cookie_scope_domain();
    let secure = browser::is_https();
    for name in cookies::tid_cookie_names(&browser::document_cookie()) {
        // Delete both the host-only cookie and the one scoped to the configured domain.
        browser::write_cookie(&cookies::set_cookie(&name, "", 0, &Scope { domain: "", secure }));
        if !domain.is_empty() {
            let scope = Scope { domain: &domain, secure };
            browser::write_cookie(&cookies::set_cookie(&name, "", 0, &scope));
        }
    }
    for key in browser::storage_keys(STORAGE_PREFIX) {
        browser::storage_remove(&key);
    }
    with(|s| s.in_flight.clear());
}

/// Stores `tid` under `key` as a cookie and a localStorage copy, for `hours`.
pub(crate) fn store_transaction_id(key: &str, tid: &str, hours: u64) {
    let max_age = hours * 3600;
    let domain = cookie_scope_domain();
    let scope = Scope { domain: &domain, secure: browser::is_https() };
    browser::write_cookie(&cookies::set_cookie(key, tid, max_age, &scope));
    let expires = browser::now_ms() + max_age * 1000;
    browser::storage_set(key, &cookies::stored_value(tid, expires));
}

/// The transaction ID stored under `key`: the cookie, else the localStorage copy.
pub fn stored_transaction_id(key: &str) -> Option<String> {
    cookies::find_transaction_id(&browser::document_cookie(), key).or_else(|| stored_copy(key))
}

fn stored_copy(key: &str) -> Option<String> {
    cookies::parse_stored(&browser::storage_get(key)?, browser::now_ms())
}

fn empty_id(_reason: &str) -> JsValue {
    JsValue::from_str("")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    Click,
    Impression,
}

pub fn click(options: JsValue) -> Promise {
    when_allowed(move || track(options, Visit::Click), empty_id)
}

pub fn impression(options: JsValue) -> Promise {
    when_allowed(move || track(options, Visit::Impression), empty_id)
}

/// A click or impression: option values first, else the landing URL's parameters.
fn track(options: JsValue, visit: Visit) -> JsValue {
    let href = browser::location_href();
    let value = |url_name: &str, option: &str| {
        get_text(&options, option).or_else(|| query_value(&href, url_name).filter(|v| !v.is_empty()))
    };
    let mut query = Form::default();
    query.push("format", "json");
    let reused = match visit {
        Visit::Click => value(TID_PARAM, "transaction_id").filter(|t| is_transaction_id(t)),
        Visit::Impression => None,
    };
    if let Some(tid) = reused {
        // A redirect link already counted this click: only learn its offer and advertiser.
        query.push("kind", "sdk");
        query.push("transaction_id", &tid);
    } else {
        let offer = value("oid", "offer_id");
        let partner = value("affid", "affiliate_id");
        if !(offer.as_deref().is_some_and(is_numeric_id) && partner.as_deref().is_some_and(is_numeric_id)) {
            return empty_id("nothing to track");
        }
        if visit == Visit::Click {
            query.push("kind", "sdk");
        }
        for (url_name, option) in CLICK_PARAMS {
            if url_name != TID_PARAM {
                if let Some(v) = value(url_name, option) {
                    query.push(url_name, &v);
                }
            }
        }
    }
    let path = if visit == Visit::Click { "/clk?" } else { "/imp?" };
    let url = concat(&[&with(|s| s.endpoint.clone()), path, &query.0]);
    request(&url, None, CLICK_TIMEOUT_MS, move |reply| {
        let tid = accepted_id(&reply);
        if let (Some(tid), Visit::Click) = (&tid, visit) {
            remember_click(&reply.json, tid);
        }
        JsValue::from_str(tid.as_deref().unwrap_or(""))
    })
    .into()
}

/// The ID in a successful `/clk` or `/imp` answer.
fn accepted_id(reply: &Reply) -> Option<String> {
    let error_code = get(&reply.json, "error_code").as_f64().unwrap_or(0.0);
    let tid = get_text(&reply.json, "transaction_id")?;
    (reply.status == 200 && error_code == 0.0 && is_transaction_id(&tid)).then_some(tid)
}

/// Stores the click per offer and per advertiser, then cleans the address bar.
pub(crate) fn remember_click(answer: &JsValue, tid: &str) {
    let hours = get(answer, "session_duration")
        .as_f64()
        .filter(|h| *h >= 1.0 && *h <= 87_600.0)
        .map_or(DEFAULT_SESSION_HOURS, |h| h as u64);
    if let Some(oid) = get_text(answer, "oid").filter(|o| is_numeric_id(o)) {
        store_transaction_id(&offer_key(&oid), tid, hours);
    }
    if let Some(aid) = get_text(answer, "advertiser_id").filter(|a| is_numeric_id(a)) {
        store_transaction_id(&advertiser_key(&aid), tid, hours);
    }
    if let Some(clean) = strip_tracking(&browser::location_href()) {
        browser::replace_url(&clean);
    }
}

/// `{conversion_id, status, error_code, error}` made by the SDK (the collector's own answer is
/// passed through as it is).
fn conversion_result(status: &str, error_code: f64, error: &str) -> JsValue {
    let r = browser::object();
    browser::set(&r, "conversion_id", &JsValue::from_str(""));
    browser::set(&r, "status", &JsValue::from_str(status));
    browser::set(&r, "error_code", &JsValue::from_f64(error_code));
    browser::set(&r, "error", &JsValue::from_str(error));
    r
}

fn conversion_not_sent(reason: &str) -> JsValue {
    conversion_result("error", 0.0, reason)
}

pub fn conversion(options: JsValue) -> Promise {
    when_allowed(move || send_conversion(&options), conversion_not_sent)
}

fn send_conversion(options: &JsValue) -> JsValue {
    let mut body = Form::default();
    for (option, field) in CONVERSION_FIELDS {
        if let Some(v) = get_text(options, option) {
            body.push(field, &v);
        }
    }
    if let Some(tid) = get_text(options, "transaction_id") {
        body.push("transaction_id", &tid);
    } else if let Some(tid) = find_for_conversion(options) {
        body.push("cookie_tid", &tid);
    }
    body.push("idempotency_key", &hex(&browser::random_bytes::<16>()));
    let entry = Entry { endpoint: with(|s| s.endpoint.clone()), body: body.0 };
    // Queued before sending: if the page unloads before the answer, the next page load retries
    // it with the same key, and the collector answers that retry with its first answer.
    let queued = update_queue(|q| queue::push(q, entry.clone()));
    deliver(entry, queued).into()
}

/// Cookie for the offer, cookie for the advertiser, then their localStorage copies.
fn find_for_conversion(options: &JsValue) -> Option<String> {
    let cookie = browser::document_cookie();
    let offer = get_text(options, "offer_id").map(|o| offer_key(&o)).unwrap_or_default();
    let advertiser = get_text(options, "advertiser_id").map(|a| advertiser_key(&a)).unwrap_or_default();
    let keys = [offer, advertiser];
    let keys = keys.iter().filter(|k| !k.is_empty());
    keys.clone()
        .find_map(|k| cookies::find_transaction_id(&cookie, k))
        .or_else(|| keys.clone().find_map(|k| stored_copy(k)))
}

/// Applies `change` to the stored queue; false when storage is unavailable.
fn update_queue(change: impl FnOnce(&mut Vec<Entry>)) -> bool {
    let mut entries = queue::decode(&browser::storage_get(QUEUE_KEY).unwrap_or_default());
    change(&mut entries);
    if entries.is_empty() {
        browser::storage_remove(QUEUE_KEY);
        true
    } else {
        browser::storage_set(QUEUE_KEY, &queue::encode(&entries))
    }
}

/// POSTs a conversion; the entry leaves the queue unless the collector could not be reached or
/// failed in a way a retry can fix.
fn deliver(entry: Entry, queued: bool) -> Promise {
    let key = entry.key();
    with(|s| s.in_flight.push(key.clone()));
    let url = concat(&[&entry.endpoint, "/conversion"]);
    request(&url, Some(&entry.body), CONVERSION_TIMEOUT_MS, move |reply| {
        with(|s| s.in_flight.retain(|k| *k != key));
        let outcome = queue::outcome(reply.status);
        if outcome != Outcome::Retry {
            update_queue(|q| {
                queue::remove(q, &key);
            });
        }
        match outcome {
            Outcome::Delivered if reply.json.is_object() => reply.json,
            Outcome::Delivered => conversion_result("sent", 0.0, ""),
            Outcome::Refused => {
                let code = get(&reply.json, "error_code").as_f64().unwrap_or(f64::from(reply.status));
                let status = get_text(&reply.json, "status").unwrap_or_else(|| "error".into());
                let error =
                    get_text(&reply.json, "error").or_else(|| get_text(&reply.json, "message")).unwrap_or_else(|| {
                        let mut e = String::from("HTTP ");
                        push_decimal(&mut e, u64::from(reply.status));
                        e
                    });
                conversion_result(&status, code, &error)
            }
            Outcome::Retry if queued => conversion_result("queued", 0.0, "collector unreachable: queued for retry"),
            Outcome::Retry => conversion_result("error", 0.0, "collector unreachable"),
        }
    })
}

/// Retries the queued conversions, once per page load, after the current task (so a
/// `configure()` right after loading applies first) and only with permission.
pub fn start_queue_flush() {
    if with(|s| core::mem::replace(&mut s.flush_started, true)) {
        return;
    }
    let _ = settle(&resolved(&JsValue::UNDEFINED), |_| {
        if permission() != Permission::Allowed {
            // `consent(true)` starts it again.
            with(|s| s.flush_started = false);
            return JsValue::UNDEFINED;
        }
        let entries = queue::decode(&browser::storage_get(QUEUE_KEY).unwrap_or_default());
        for entry in entries {
            if !with(|s| s.in_flight.contains(&entry.key())) {
                let _ = deliver(entry, true);
            }
        }
        JsValue::UNDEFINED
    });
}

/// `urlParameter(name)`: the landing URL's parameter, "" when absent.
pub fn url_parameter(name: &str) -> String {
    query_value(&browser::location_href(), name).unwrap_or_default()
}
