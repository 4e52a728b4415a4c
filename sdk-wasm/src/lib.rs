//! clickstamp browser SDK (placeholder crate root; the SDK is built in sdk-wasm/).
