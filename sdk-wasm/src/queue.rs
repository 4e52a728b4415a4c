//! The bounded retry queue of conversions, kept in localStorage as text: one entry a line,
//! `<endpoint>\t<form body>`. The body carries the entry's `idempotency_key`, so a retry of a
//! conversion the collector already has is answered with the first answer and never counts twice.

use crate::ids::{split_byte, split_once_byte};
use crate::params::query_value;
use alloc::string::String;
use alloc::vec::Vec;

/// Most entries kept: a blocked or dead collector cannot fill the visitor's storage.
pub const CAPACITY: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Collector base URL (`""` = the page's own origin).
    pub endpoint: String,
    /// `application/x-www-form-urlencoded` body of `POST {endpoint}/conversion`.
    pub body: String,
}

impl Entry {
    pub fn key(&self) -> String {
        let url = crate::ids::concat(&["?", &self.body]);
        query_value(&url, "idempotency_key").unwrap_or_default()
    }
}

/// Endpoints and bodies never hold tabs or newlines (bodies are percent-encoded, endpoints are
/// checked by `configure`), so the text format needs no escaping.
pub fn is_storable_endpoint(endpoint: &str) -> bool {
    !endpoint.bytes().any(|b| b <= b' ')
}

/// Entries of the stored text; lines that are not entries (damaged storage) are skipped.
pub fn decode(text: &str) -> Vec<Entry> {
    // Plain loops, here and in cookies.rs: iterator adapter chains each cost their own code.
    let mut entries = Vec::new();
    for line in split_byte(text, b'\n') {
        if let Some((endpoint, body)) = split_once_byte(line, b'\t') {
            let entry = Entry { endpoint: endpoint.into(), body: body.into() };
            if is_storable_endpoint(endpoint) && !entry.key().is_empty() {
                entries.push(entry);
            }
        }
    }
    entries
}

pub fn encode(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.endpoint);
        out.push('\t');
        out.push_str(&e.body);
        out.push('\n');
    }
    out
}

/// Adds `entry` unless its key is already queued; drops the oldest beyond [`CAPACITY`].
pub fn push(entries: &mut Vec<Entry>, entry: Entry) {
    let key = entry.key();
    if entries.iter().any(|e| e.key() == key) {
        return;
    }
    entries.push(entry);
    // Keep the newest CAPACITY. `retain` with a counter: `drain`, `split_off` and `reverse` all
    // bring index panics whose messages link core's number formatting into the wasm.
    let mut excess = entries.len().saturating_sub(CAPACITY);
    entries.retain(|_| {
        let keep = excess == 0;
        excess = excess.saturating_sub(1);
        keep
    });
}

/// Removes the entry with idempotency key `key`; true when one was there.
pub fn remove(entries: &mut Vec<Entry>, key: &str) -> bool {
    let before = entries.len();
    entries.retain(|e| e.key() != key);
    entries.len() != before
}

/// What to do with a queued conversion after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the collector has it.
    Delivered,
    /// A 4xx that sending again cannot fix (400, 401, 403, 404, 410, 422, ...): drop it.
    Refused,
    /// Network failure or timeout (status 0), 408, 429 or 5xx: keep it for the next page load.
    Retry,
}

pub fn outcome(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        0 | 408 | 425 | 429 | 500..=599 => Outcome::Retry,
        _ => Outcome::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        let mut body = String::from("oid=1&event=sale&idempotency_key=k");
        crate::ids::push_decimal(&mut body, n as u64);
        Entry { endpoint: "https://t.example".into(), body }
    }

    #[test]
    fn round_trip_and_damaged_lines() {
        let entries = vec![entry(1), entry(2), Entry { endpoint: "".into(), body: "idempotency_key=z".into() }];
        let text = encode(&entries);
        assert_eq!(decode(&text), entries);
        let damaged = ["garbage\n", &text, "https://t.example\toid=1\n\n\tno_key=1\n"].concat();
        assert_eq!(decode(&damaged), entries);
        assert!(decode("").is_empty());
        assert_eq!(entries[0].key(), "k1");
    }

    #[test]
    fn bounded_oldest_dropped_and_no_duplicate_keys() {
        let mut q = Vec::new();
        for n in 0..CAPACITY + 7 {
            push(&mut q, entry(n));
        }
        assert_eq!(q.len(), CAPACITY);
        assert_eq!(q[0], entry(7));
        assert_eq!(q[CAPACITY - 1], entry(CAPACITY + 6));
        push(&mut q, entry(CAPACITY + 6));
        assert_eq!(q.len(), CAPACITY);
    }

    #[test]
    fn remove_by_key() {
        let mut q = vec![entry(1), entry(2), entry(3)];
        assert!(remove(&mut q, "k2"));
        assert!(!remove(&mut q, "k2"));
        assert_eq!(q, vec![entry(1), entry(3)]);
    }

    #[test]
    fn retry_policy() {
        for s in [200, 201, 204] {
            assert_eq!(outcome(s), Outcome::Delivered);
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert_eq!(outcome(s), Outcome::Refused);
        }
        for s in [0, 408, 429, 500, 502, 503, 504] {
            assert_eq!(outcome(s), Outcome::Retry);
        }
    }

    #[test]
    fn endpoints_with_whitespace_are_not_storable() {
        assert!(is_storable_endpoint("https://t.example/track"));
        assert!(is_storable_endpoint(""));
        assert!(!is_storable_endpoint("https://t.example\t"));
        assert!(!is_storable_endpoint("https://t.example/\nx"));
    }
}
