//! Browser tests (headless Chromium via wasm-bindgen-test-runner) of the code that touches the
//! browser: cookies, localStorage, the address bar, consent withdrawal and the retry queue.
