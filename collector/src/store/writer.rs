//! The group-commit writer: one thread owns every write. It takes all pending writes, applies
//! them as one multi-tree sled transaction, flushes once, and only then answers their
//! requests. One flush serves the whole batch (throughput), no request is answered before its
//! data is on disk (durability), and duplicate checks run in one place (atomicity).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;
use tokio::sync::oneshot;

use super::codec::{decode, encode};
use super::keys::{self, ConfigKind};
use super::{Durability, StoreError, Trees};
use crate::attribution::DedupeKey;
use crate::ids::TimeId;
use crate::model::{
    Advertiser, Click, Conversion, ConversionStatus, Counters, Coupon, Impression, Offer, OfferId, Partner, PartnerId,
    PostbackDelivery,
};

/// Most writes one transaction takes: bounds the latency a batch adds to its first request.
const MAX_BATCH: usize = 2048;

#[derive(Clone, Debug)]
pub enum ConfigRecord {
    Advertiser(Advertiser),
    Partner(Partner),
    Offer(Offer),
    Coupon(Coupon),
    Setting(u64, Vec<u8>),
}

// Built once per request and moved, never stored: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Op {
    /// Store a config record; an ID of zero asks for the next free one.
    PutConfig(ConfigRecord),
    /// Store a coupon only if no coupon holds its code.
    InsertCoupon(Coupon),
    Click {
        click: Click,
        duplicate_window_ms: u64,
    },
    Impression(Impression),
    /// Claim the dedupe keys and the idempotency key, then store the conversion (and, if it
    /// is approved, its postback deliveries).
    Conversion {
        conversion: Conversion,
        dedupe: Vec<DedupeKey>,
        postbacks: Vec<PostbackDelivery>,
    },
    /// Replace a postback delivery's state, or remove it (`None`: delivered). A delivery that
    /// is no longer there (delivered meanwhile) is not brought back.
    Postback {
        id: TimeId,
        updated: Option<PostbackDelivery>,
    },
    /// Forget these visitors' last unique click if it is still older than `before_ms` (a
    /// click since then refreshed it and keeps it). Returns how many were removed.
    ForgetVisitors {
        keys: Vec<Vec<u8>>,
        before_ms: u64,
    },
}

// Built once per request and moved, never stored: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome {
    ConfigId(u64),
    /// False when the code was taken and nothing was written.
    CouponInserted(bool),
    Click(Click),
    Impression,
    /// The conversion as stored, or the earlier answer for a repeated idempotency key.
    Conversion(Conversion),
    Done,
    Forgotten(u64),
}

pub struct Pending {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

type Tx = TransactionalTree;
type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// What the writer has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
    pub failed_batches: AtomicU64,
    /// Time spent applying and flushing batches, in microseconds.
    pub commit_micros: AtomicU64,
    pub max_commit_micros: AtomicU64,
}

pub fn run(trees: Trees, db: sled::Db, durability: Durability, rx: mpsc::Receiver<Pending>, stats: &WriterStats) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let mut results = apply(&trees, &batch);
        if results.is_ok() && durability == Durability::Durable {
            if let Err(e) = db.flush() {
                results = Err(StoreError::from(e));
            }
        }
        let micros = started.elapsed().as_micros() as u64;
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats.commit_micros.fetch_add(micros, Ordering::Relaxed);
        stats.max_commit_micros.fetch_max(micros, Ordering::Relaxed);
        if results.is_err() {
            stats.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        tracing::trace!(writes = batch.len(), micros, "batch committed");
        match results {
            Ok(outcomes) => {
                for (p, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = p.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = batch.len(), "batch failed; nothing in it was acknowledged");
                for p in batch {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
    // Every sender is gone: the store is closing. Make what was written durable.
    if let Err(e) = db.flush() {
        tracing::error!(error = %e, "final flush failed");
    }
}

fn apply(t: &Trees, batch: &[Pending]) -> Result<Vec<Outcome>, StoreError> {
    let trees = (&t.config, &t.clicks, &t.impressions, &t.conversions, &t.dedupe, &t.visitors, &t.counters, &t.outbox);
    trees
        .transaction(|(config, clicks, impressions, conversions, dedupe, visitors, counters, outbox)| {
            let mut out = Vec::with_capacity(batch.len());
            // Report counters are summed over the batch and written once per key: a batch of
            // clicks on one offer and partner costs one counter write, not one per click.
            let mut deltas = CounterDeltas::new();
            for p in batch {
                out.push(match &p.op {
                    Op::PutConfig(record) => Outcome::ConfigId(put_config(config, record.clone())?),
                    Op::InsertCoupon(coupon) => Outcome::CouponInserted(insert_coupon(config, coupon)?),
                    Op::Click { click, duplicate_window_ms } => {
                        Outcome::Click(put_click(clicks, visitors, &mut deltas, click.clone(), *duplicate_window_ms)?)
                    }
                    Op::Impression(imp) => {
                        impressions.insert(&imp.id.as_bytes()[..], encode(imp).map_err(abort)?)?;
                        let c = Counters::for_impression(imp);
                        add_delta(&mut deltas, keys::hour_of(&imp.id), imp.oid, imp.affid, &c);
                        Outcome::Impression
                    }
                    Op::Conversion { conversion, dedupe: claims, postbacks } => {
                        let stored = put_conversion(conversions, dedupe, &mut deltas, conversion.clone(), claims)?;
                        // A replayed idempotency key returns the first conversion: its postbacks
                        // were queued then, and must not be queued twice.
                        if stored.id == conversion.id && stored.status == ConversionStatus::Approved {
                            for d in postbacks {
                                outbox.insert(&d.id.as_bytes()[..], encode(d).map_err(abort)?)?;
                            }
                        }
                        Outcome::Conversion(stored)
                    }
                    Op::Postback { id, updated } => {
                        let key = &id.as_bytes()[..];
                        match updated {
                            None => {
                                outbox.remove(key)?;
                            }
                            Some(d) if outbox.get(key)?.is_some() => {
                                outbox.insert(key, encode(d).map_err(abort)?)?;
                            }
                            Some(_) => {}
                        }
                        Outcome::Done
                    }
                    Op::ForgetVisitors { keys, before_ms } => {
                        let mut removed = 0;
                        for key in keys {
                            if visitor_last_ms(visitors.get(key)?).is_some_and(|last| last < *before_ms) {
                                visitors.remove(key.as_slice())?;
                                removed += 1;
                            }
                        }
                        Outcome::Forgotten(removed)
                    }
                });
            }
            write_counters(counters, deltas)?;
            Ok(out)
        })
        .map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::from(e),
        })
}

fn put_config(config: &Tx, record: ConfigRecord) -> TxResult<u64> {
    if let ConfigRecord::Coupon(coupon) = &record {
        config.insert(keys::coupon(&coupon.code), encode(coupon).map_err(abort)?)?;
        return Ok(0);
    }
    let (kind, id) = match &record {
        ConfigRecord::Advertiser(a) => (ConfigKind::Advertiser, a.id),
        ConfigRecord::Partner(p) => (ConfigKind::Partner, p.id),
        ConfigRecord::Offer(o) => (ConfigKind::Offer, o.id),
        ConfigRecord::Setting(id, _) => (ConfigKind::Setting, *id),
        ConfigRecord::Coupon(_) => unreachable!("coupons are keyed by code, handled above"),
    };
    let id = if id == 0 { next_id(config, kind)? } else { claim_id(config, kind, id)? };
    let value = match record {
        ConfigRecord::Advertiser(mut a) => {
            a.id = id;
            encode(&a)
        }
        ConfigRecord::Partner(mut p) => {
            p.id = id;
            encode(&p)
        }
        ConfigRecord::Offer(mut o) => {
            o.id = id;
            encode(&o)
        }
        ConfigRecord::Setting(_, bytes) => Ok(bytes),
        ConfigRecord::Coupon(_) => unreachable!("coupons are keyed by code, handled above"),
    }
    .map_err(abort)?;
    config.insert(&keys::config(kind, id)[..], value)?;
    Ok(id)
}

fn insert_coupon(config: &Tx, coupon: &Coupon) -> TxResult<bool> {
    let key = keys::coupon(&coupon.code);
    if config.get(&key)?.is_some() {
        return Ok(false);
    }
    config.insert(key, encode(coupon).map_err(abort)?)?;
    Ok(true)
}

/// Next ID of a config kind: kept in a sequence key so a deleted last ID is never reused.
fn next_id(config: &Tx, kind: ConfigKind) -> TxResult<u64> {
    let next = last_id(config, kind)? + 1;
    config.insert(&[b'#', kind as u8][..], &next.to_be_bytes()[..])?;
    Ok(next)
}

/// An explicit ID moves the sequence past it, so a later automatic ID never overwrites it.
fn claim_id(config: &Tx, kind: ConfigKind, id: u64) -> TxResult<u64> {
    if kind != ConfigKind::Setting && id > last_id(config, kind)? {
        config.insert(&[b'#', kind as u8][..], &id.to_be_bytes()[..])?;
    }
    Ok(id)
}

fn last_id(config: &Tx, kind: ConfigKind) -> TxResult<u64> {
    Ok(config.get([b'#', kind as u8])?.and_then(|v| v.as_ref().try_into().ok()).map_or(0, u64::from_be_bytes))
}

/// The time of a visitor's last unique click, as the `visitors` tree keeps it.
pub fn visitor_last_ms(value: Option<sled::IVec>) -> Option<u64> {
    value.and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
}

fn put_click(
    clicks: &Tx,
    visitors: &Tx,
    deltas: &mut CounterDeltas,
    mut click: Click,
    window_ms: u64,
) -> TxResult<Click> {
    if click.is_valid() {
        let key = keys::visitor(click.oid, click.affid, &click.visitor.ip, &click.visitor.user_agent);
        let now = click.id.issued_at_ms();
        let last = visitor_last_ms(visitors.get(key)?);
        click.unique = last.is_none_or(|last| now.saturating_sub(last) >= window_ms);
        if click.unique {
            visitors.insert(&key[..], &now.to_be_bytes()[..])?;
        }
    } else {
        click.unique = false;
    }
    clicks.insert(&click.id.as_bytes()[..], encode(&click).map_err(abort)?)?;
    add_delta(deltas, keys::hour_of(&click.id), click.oid, click.affid, &Counters::for_click(&click));
    Ok(click)
}

fn put_conversion(
    conversions: &Tx,
    dedupe: &Tx,
    deltas: &mut CounterDeltas,
    mut conversion: Conversion,
    claims: &[DedupeKey],
) -> TxResult<Conversion> {
    let idem_key = (!conversion.idempotency_key.is_empty()).then(|| keys::idempotency(&conversion.idempotency_key));
    if let Some(key) = &idem_key {
        if let Some(earlier) = dedupe.get(key)? {
            if let Some(stored) = conversions.get(earlier)? {
                return decode(&stored).map_err(abort);
            }
        }
    }
    if matches!(conversion.status, ConversionStatus::Approved | ConversionStatus::Unattributed) {
        let claim_keys: Vec<Vec<u8>> = claims.iter().map(keys::dedupe).collect();
        for (claim, key) in claims.iter().zip(&claim_keys) {
            if let Some(holder) = dedupe.get(key)? {
                conversion.status = ConversionStatus::Duplicate;
                conversion.rejection = Some(claim.rejection());
                conversion.duplicate_of = holder.as_ref().try_into().ok().map(crate::ids::TimeId::from_bytes);
                conversion.payout = crate::money::Money::ZERO;
                conversion.revenue = crate::money::Money::ZERO;
                break;
            }
        }
        if conversion.status != ConversionStatus::Duplicate {
            for key in claim_keys {
                dedupe.insert(key, &conversion.id.as_bytes()[..])?;
            }
        }
    }
    if let Some(key) = idem_key {
        dedupe.insert(key, &conversion.id.as_bytes()[..])?;
    }
    conversions.insert(&conversion.id.as_bytes()[..], encode(&conversion).map_err(abort)?)?;
    let hour = keys::hour_of(&conversion.id);
    add_delta(deltas, hour, conversion.oid, conversion.affid, &Counters::for_conversion(&conversion));
    Ok(conversion)
}

/// Counter changes of one batch, by counter key (hourly and daily).
type CounterDeltas = std::collections::BTreeMap<[u8; 20], Counters>;

/// Count `delta` in its hour's counter and in its day's roll-up (`keys::DAILY | day`), so the
/// daily row is always the sum of its 24 hourly rows: both change in the same transaction.
fn add_delta(deltas: &mut CounterDeltas, hour: u32, oid: OfferId, affid: PartnerId, delta: &Counters) {
    deltas.entry(keys::counter(hour, oid, affid)).or_default().add(delta);
    deltas.entry(keys::daily_counter(hour / 24, oid, affid)).or_default().add(delta);
}

/// Add the batch's counter changes to the stored totals, in the batch's transaction.
fn write_counters(counters: &Tx, deltas: CounterDeltas) -> TxResult<()> {
    for (key, delta) in deltas {
        let mut total: Counters = match counters.get(key)? {
            Some(v) => decode(&v).map_err(abort)?,
            None => Counters::default(),
        };
        total.add(&delta);
        counters.insert(&key[..], encode(&total).map_err(abort)?)?;
    }
    Ok(())
}
