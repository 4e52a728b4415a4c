//! The request paths, one file per command: load what the rules need from the store, call the
//! pure rules, make one store write, return the result. No actix here: the HTTP module
//! translates requests into these calls and their results into responses.

pub mod clicks;
pub mod conversions;
pub mod keys;
pub mod manage;
pub mod reports;
pub mod setup;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
