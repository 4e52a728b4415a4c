//! Key layouts. Big-endian integers so sled's byte order is numeric and time order.

use crate::attribution::DedupeKey;
use crate::ids::TimeId;
use crate::model::{OfferId, PartnerId};

/// Config records are keyed by kind then ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    Advertiser = b'a' as isize,
    Partner = b'p' as isize,
    Offer = b'o' as isize,
    Coupon = b'c' as isize,
    Setting = b's' as isize,
}

pub fn config(kind: ConfigKind, id: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = kind as u8;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

/// Coupons are keyed by their lowercase code.
pub fn coupon(code: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(code.len() + 1);
    key.push(ConfigKind::Coupon as u8);
    key.extend_from_slice(code.to_lowercase().as_bytes());
    key
}

pub fn config_id(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

pub fn dedupe(key: &DedupeKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    match key {
        DedupeKey::TransactionEvent(tid, event) => {
            out.push(b't');
            out.extend_from_slice(tid.as_bytes());
            out.extend_from_slice(event.as_bytes());
        }
        DedupeKey::Order(advertiser, order) => {
            out.push(b'o');
            out.extend_from_slice(&advertiser.to_be_bytes());
            out.extend_from_slice(order.as_bytes());
        }
    }
    out
}

pub fn idempotency(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(b'i');
    out.extend_from_slice(key.as_bytes());
    out
}

/// A visitor of one offer and partner: IP and user agent, hashed so the key stays short.
pub fn visitor(oid: OfferId, affid: PartnerId, ip: &str, user_agent: &str) -> [u8; 24] {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: stable across restarts, which the duplicate window needs.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x636c_6963_6b73_7461, 0x6d70_7669_7369_746f);
    ip.hash(&mut h);
    user_agent.hash(&mut h);
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&oid.to_be_bytes());
    key[8..16].copy_from_slice(&affid.to_be_bytes());
    key[16..].copy_from_slice(&h.finish().to_be_bytes());
    key
}

/// The top bit of a counter key's hour field marks a daily roll-up: `DAILY | day` (day since
/// the epoch) holds the sum of that day's 24 hourly counters. Real hours stay below it (until
/// the year 246,953), so an hour range never reaches a daily key.
pub const DAILY: u32 = 1 << 31;

/// Report counters: hour since the epoch (or `DAILY | day`), offer, partner.
pub fn counter(hour: u32, oid: OfferId, affid: PartnerId) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..4].copy_from_slice(&hour.to_be_bytes());
    key[4..12].copy_from_slice(&oid.to_be_bytes());
    key[12..].copy_from_slice(&affid.to_be_bytes());
    key
}

/// The daily roll-up key of a day since the epoch.
pub fn daily_counter(day: u32, oid: OfferId, affid: PartnerId) -> [u8; 20] {
    counter(DAILY | day, oid, affid)
}

pub fn counter_parts(key: &[u8]) -> Option<(u32, OfferId, PartnerId)> {
    Some((
        u32::from_be_bytes(key.get(..4)?.try_into().ok()?),
        u64::from_be_bytes(key.get(4..12)?.try_into().ok()?),
        u64::from_be_bytes(key.get(12..20)?.try_into().ok()?),
    ))
}

pub fn hour_of(id: &TimeId) -> u32 {
    (id.issued_at_ms() / 3_600_000) as u32
}
