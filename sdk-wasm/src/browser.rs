//! The only code that touches the browser: hand-written bindings (no web-sys/js-sys, which cost
//! bytes) and small safe wrappers. Storage access can throw (sandboxed iframes, disabled storage):
//! those bindings use `catch` and fail as "nothing stored".

use alloc::boxed::Box;
use alloc::string::String;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    pub type Promise;
    #[wasm_bindgen(constructor)]
    fn new(executor: &JsValue) -> Promise;
    #[wasm_bindgen(method)]
    fn then(this: &Promise, on_fulfilled: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = Promise, js_name = resolve)]
    fn promise_resolve(value: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = Promise, js_name = allSettled)]
    fn all_settled(promises: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = Array, js_name = of)]
    fn array_of(value: &Promise) -> JsValue;

    pub type Object;
    #[wasm_bindgen(constructor)]
    fn new() -> Object;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    fn reflect_get(target: &JsValue, key: &str) -> JsValue;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = String)]
    fn js_string(value: &JsValue) -> String;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);

    #[wasm_bindgen(js_name = fetch)]
    fn fetch(url: &str, init: &Object) -> Promise;
    type Response;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Response) -> u16;
    #[wasm_bindgen(method)]
    fn json(this: &Response) -> Promise;
    #[wasm_bindgen(catch, js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: u32) -> Result<JsValue, JsValue>;

    // Globals read through static getters: `thread_local_v2` statics cost a lazy cell each.
    #[wasm_bindgen(js_name = document)]
    type Document;
    #[wasm_bindgen(static_method_of = Document, getter, catch, js_name = cookie)]
    fn document_cookie_get() -> Result<String, JsValue>;
    #[wasm_bindgen(static_method_of = Document, setter, catch, js_name = cookie)]
    fn document_cookie_set(value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = location)]
    type Location;
    #[wasm_bindgen(static_method_of = Location, getter, js_name = href)]
    fn location_href_get() -> String;
    #[wasm_bindgen(js_name = history)]
    type History;
    #[wasm_bindgen(static_method_of = History, getter, js_name = state)]
    fn history_state() -> JsValue;
    #[wasm_bindgen(static_method_of = History, catch, js_name = replaceState)]
    fn replace_state(state: &JsValue, unused: &str, url: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = navigator)]
    type Navigator;
    #[wasm_bindgen(static_method_of = Navigator, getter, js_name = globalPrivacyControl)]
    fn global_privacy_control_get() -> JsValue;

    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = getItem)]
    fn ls_get_item(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = setItem)]
    fn ls_set_item(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = removeItem)]
    fn ls_remove_item(key: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = key)]
    fn ls_key(index: u32) -> Result<Option<String>, JsValue>;
}

/// A settled promise's result, handed to a one-shot callback.
pub type Settled = Result<JsValue, JsValue>;

pub fn resolved(value: &JsValue) -> Promise {
    Promise::promise_resolve(value)
}

/// A one-shot JS function running `f`, freed after its call. Every callback goes through this one
/// closure type: each distinct closure type costs its own glue in the wasm.
fn callback(f: Box<dyn FnOnce(JsValue) -> JsValue>) -> JsValue {
    Closure::once_into_js(move |arg: JsValue| f(arg))
}

/// Runs `f` once `p` settles, with its value or its rejection reason; the returned promise takes
/// `f`'s result (a promise returned by `f` is followed). One callback, freed after its call:
/// `allSettled` never rejects, so no second handler is left behind.
pub fn settle(p: &Promise, f: impl FnOnce(Settled) -> JsValue + 'static) -> Promise {
    settle_boxed(p, Box::new(f))
}

fn settle_boxed(p: &Promise, f: Box<dyn FnOnce(Settled) -> JsValue>) -> Promise {
    let on_settled = callback(Box::new(move |results: JsValue| {
        let outcome = reflect_get(&results, "0");
        if text(&reflect_get(&outcome, "status")).as_deref() == Some("fulfilled") {
            f(Ok(reflect_get(&outcome, "value")))
        } else {
            f(Err(reflect_get(&outcome, "reason")))
        }
    }));
    Promise::all_settled(&array_of(p)).then(&on_settled)
}

/// A promise and the function that resolves it.
pub fn deferred() -> (Promise, JsValue) {
    // A `Cell`, not a `RefCell`: no borrow panics (they link core's formatting code).
    let resolve = alloc::rc::Rc::new(core::cell::Cell::new(JsValue::UNDEFINED));
    let slot = resolve.clone();
    // The executor runs synchronously inside `new Promise`.
    let executor = callback(Box::new(move |resolve_fn: JsValue| {
        slot.set(resolve_fn);
        JsValue::UNDEFINED
    }));
    let promise = Promise::new(&executor);
    (promise, resolve.take())
}

pub fn call_resolve(resolve: &JsValue, value: &JsValue) {
    let f: &js_function::Function = resolve.unchecked_ref();
    f.call(&JsValue::UNDEFINED, value);
}

mod js_function {
    use wasm_bindgen::prelude::*;
    #[wasm_bindgen]
    extern "C" {
        pub type Function;
        #[wasm_bindgen(method)]
        pub fn call(this: &Function, this_arg: &JsValue, arg: &JsValue) -> JsValue;
    }
}

/// A new plain object.
pub fn object() -> JsValue {
    Object::new().into()
}

pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    reflect_set(target, key, value);
}

/// `target[key]`, or undefined when `target` is not an object.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_object() {
        reflect_get(target, key)
    } else {
        JsValue::UNDEFINED
    }
}

/// `target[key]` as text (numbers included); `None` when absent, null or empty.
pub fn get_text(target: &JsValue, key: &str) -> Option<String> {
    text(&get(target, key))
}

/// A JS value as text (numbers included); `None` when null, undefined or empty.
pub fn text(v: &JsValue) -> Option<String> {
    if v.is_null_or_undefined() {
        return None;
    }
    // `String(v)` for strings too: one conversion import instead of two.
    let s = js_string(v);
    (!s.is_empty()).then_some(s)
}

pub fn now_ms() -> u64 {
    date_now() as u64
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    get_random_values(&mut buf);
    buf
}

/// The outcome of an HTTP request: status (0 = network failure or timeout) and the JSON body
/// (undefined when there is none).
pub struct Reply {
    pub status: u16,
    pub json: JsValue,
}

/// `fetch` with a timeout. A `body` makes it a keepalive POST with a form-encoded body: a CORS
/// "simple request", so no preflight, and it survives the page being unloaded.
pub fn request(
    url: &str,
    body: Option<&str>,
    timeout_ms: u32,
    done: impl FnOnce(Reply) -> JsValue + 'static,
) -> Promise {
    request_boxed(url, body, timeout_ms, Box::new(done))
}

fn request_boxed(url: &str, body: Option<&str>, timeout_ms: u32, done: Box<dyn FnOnce(Reply) -> JsValue>) -> Promise {
    let init = object();
    if let Some(body) = body {
        set(&init, "method", &"POST".into());
        set(&init, "body", &body.into());
        set(&init, "keepalive", &JsValue::TRUE);
        let headers = object();
        set(&headers, "content-type", &"application/x-www-form-urlencoded".into());
        set(&init, "headers", &headers);
    }
    // Browsers without AbortSignal.timeout (before 2022) rely on their own network timeout.
    if let Ok(signal) = abort_signal_timeout(timeout_ms) {
        set(&init, "signal", &signal);
    }
    let sent = fetch(url, init.unchecked_ref());
    settle(&sent, move |response| match response {
        Err(_) => done(Reply { status: 0, json: JsValue::UNDEFINED }),
        Ok(response) => {
            let response: Response = response.unchecked_into();
            let status = response.status();
            settle(&response.json(), move |json| done(Reply { status, json: json.unwrap_or(JsValue::UNDEFINED) }))
                .into()
        }
    })
}

pub fn document_cookie() -> String {
    Document::document_cookie_get().unwrap_or_default()
}

pub fn write_cookie(assignment: &str) {
    let _ = Document::document_cookie_set(assignment);
}

pub fn location_href() -> String {
    Location::location_href_get()
}

pub fn is_https() -> bool {
    location_href().starts_with("https:")
}

/// Replaces the address bar URL without a navigation, keeping the history entry's state.
pub fn replace_url(url: &str) {
    let _ = History::replace_state(&History::history_state(), "", url);
}

pub fn global_privacy_control() -> bool {
    Navigator::global_privacy_control_get().as_bool() == Some(true)
}

pub fn storage_get(key: &str) -> Option<String> {
    ls_get_item(key).ok().flatten()
}

/// False when storage is unavailable or full.
pub fn storage_set(key: &str, value: &str) -> bool {
    ls_set_item(key, value).is_ok()
}

pub fn storage_remove(key: &str) {
    let _ = ls_remove_item(key);
}

/// localStorage keys starting with `prefix`.
pub fn storage_keys(prefix: &str) -> alloc::vec::Vec<String> {
    let mut keys = alloc::vec::Vec::new();
    let mut i = 0;
    while let Ok(Some(key)) = ls_key(i) {
        if key.starts_with(prefix) {
            keys.push(key);
        }
        i += 1;
    }
    keys
}
