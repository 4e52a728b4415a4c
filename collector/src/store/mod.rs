//! The store: the only module that knows sled.
//!
//! Its interface speaks only in model types (`Click`, `Conversion`, `Offer`…), so a second
//! backend on a distributed database can stand behind the same methods. Reads go straight to
//! sled (lock-free, cached); every write goes through the group-commit [`writer`], which
//! answers only once the write is durable (in [`Durability::Durable`] mode).
//!
//! Trees: `config` (advertisers, partners, offers, settings), `clicks` and `impressions` (by
//! transaction ID, so time-ordered), `conversions` (by conversion ID), `dedupe` (duplicate and
//! idempotency claims), `visitors` (last unique click per offer, partner and visitor),
//! `counters` (report totals per hour × offer × partner, and a daily roll-up per day × offer ×
//! partner) and `outbox` (partner postbacks waiting to be delivered, by delivery ID).
//!
//! Counter keys are a 4-byte big-endian hour since the epoch, the offer and the partner. A
//! key whose hour field has the top bit set (`1 << 31 | day`) is the daily roll-up of that
//! day: the writer adds every counter change to the hour's row and to the day's row in the
//! same transaction, so a day's row always equals the sum of its 24 hourly rows. Hour ranges
//! ([`Store::counters`], [`Store::scan_counters`]) stop below `1 << 31` and never see the
//! daily rows; [`Store::scan_daily_counters`] reads only them.

mod codec;
mod keys;
mod writer;

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

use serde::de::DeserializeOwned;

use crate::attribution::DedupeKey;
use crate::ids::TimeId;
use crate::model::{
    Advertiser, Click, Conversion, Counters, Coupon, DeliveryStatus, Impression, Offer, OfferId, Partner, PartnerId,
    PostbackDelivery,
};
pub use keys::ConfigKind;
use writer::{ConfigRecord, Op, Outcome, Pending};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
            other => StoreError::Io(other.to_string()),
        }
    }
}

/// When a write is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// After the batch holding it is flushed: survives `kill -9` (not a power cut: sled's
    /// flush is `pwrite` + `sync_file_range`, without an fsync of the device cache).
    Durable,
    /// After it is applied in memory; sled flushes every 500 ms, so a crash can lose the
    /// last half second of acknowledged writes. Faster; say so to whoever relies on it.
    Relaxed,
}

#[derive(Clone)]
struct Trees {
    config: sled::Tree,
    clicks: sled::Tree,
    impressions: sled::Tree,
    conversions: sled::Tree,
    dedupe: sled::Tree,
    visitors: sled::Tree,
    counters: sled::Tree,
    outbox: sled::Tree,
}

/// A handle on the store; clones share one database and one writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    trees: Trees,
    writes: Mutex<Option<mpsc::Sender<Pending>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    stats: Arc<writer::WriterStats>,
    durability: Durability,
}

/// The writer's totals and the store's size, for monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    pub durability: Durability,
    /// Group commits done, and the writes they carried.
    pub batches: u64,
    pub writes: u64,
    pub failed_batches: u64,
    /// Time spent applying and flushing, in microseconds: total and the slowest batch.
    pub commit_micros: u64,
    pub max_commit_micros: u64,
    /// Partner postbacks waiting in the outbox (pending or paused).
    pub outbox_depth: u64,
    pub size_on_disk: u64,
}

/// One page of records, newest first, and the cursor for the next page.
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next_cursor: Option<TimeId>,
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path, durability: Durability) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        remove_torn_snapshots(dir)?;
        let db = sled::Config::new().path(dir).open()?;
        let trees = Trees {
            config: db.open_tree("config")?,
            clicks: db.open_tree("clicks")?,
            impressions: db.open_tree("impressions")?,
            conversions: db.open_tree("conversions")?,
            dedupe: db.open_tree("dedupe")?,
            visitors: db.open_tree("visitors")?,
            counters: db.open_tree("counters")?,
            outbox: db.open_tree("outbox")?,
        };
        let (tx, rx) = mpsc::channel();
        let (writer_trees, writer_db) = (trees.clone(), db.clone());
        let stats = Arc::new(writer::WriterStats::default());
        let writer_stats = stats.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(writer_trees, writer_db, durability, rx, &writer_stats))
            .map_err(|e| StoreError::Io(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                trees,
                writes: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                stats,
                durability,
            }),
        })
    }

    /// Stop taking writes, let the writer finish and flush what it has. Idempotent.
    pub fn close(&self) {
        let sender = self.inner.writes.lock().ok().and_then(|mut s| s.take());
        drop(sender);
        let handle = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    fn submit(&self, op: Op) -> Result<tokio::sync::oneshot::Receiver<Result<Outcome, StoreError>>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let guard = self.inner.writes.lock().map_err(|_| StoreError::Closed)?;
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(Pending { op, reply }).map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }

    async fn write(&self, op: Op) -> Result<Outcome, StoreError> {
        self.submit(op)?.await.map_err(|_| StoreError::Closed)?
    }

    /// The same, for threads outside the async runtime (the postback worker).
    fn write_blocking(&self, op: Op) -> Result<Outcome, StoreError> {
        self.submit(op)?.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    // ---- configuration ----

    /// Store an advertiser; ID 0 assigns the next free ID. Returns the ID.
    pub async fn put_advertiser(&self, a: Advertiser) -> Result<u64, StoreError> {
        self.put_config(ConfigRecord::Advertiser(a)).await
    }

    pub async fn put_partner(&self, p: Partner) -> Result<u64, StoreError> {
        self.put_config(ConfigRecord::Partner(p)).await
    }

    pub async fn put_offer(&self, o: Offer) -> Result<u64, StoreError> {
        self.put_config(ConfigRecord::Offer(o)).await
    }

    /// Store a coupon under its lowercase code (replacing one with the same code).
    pub async fn put_coupon(&self, mut coupon: Coupon) -> Result<(), StoreError> {
        coupon.code = coupon.code.to_lowercase();
        self.put_config(ConfigRecord::Coupon(coupon)).await.map(|_| ())
    }

    /// Store a new coupon unless its code (whatever its case) is taken; false when taken.
    /// Decided in the writer, so two concurrent creates of one code cannot both succeed.
    pub async fn insert_coupon(&self, mut coupon: Coupon) -> Result<bool, StoreError> {
        coupon.code = coupon.code.to_lowercase();
        match self.write(Op::InsertCoupon(coupon)).await? {
            Outcome::CouponInserted(inserted) => Ok(inserted),
            other => Err(unexpected(other)),
        }
    }

    /// The coupon with this code, whatever its case.
    pub fn coupon(&self, code: &str) -> Result<Option<Coupon>, StoreError> {
        self.inner.trees.config.get(keys::coupon(code))?.map(|v| codec::decode(&v)).transpose()
    }

    pub fn coupons(&self) -> Result<Vec<Coupon>, StoreError> {
        self.inner.trees.config.scan_prefix([ConfigKind::Coupon as u8]).map(|e| codec::decode(&e?.1)).collect()
    }

    /// A small named setting (e.g. the admin token's hash).
    pub async fn put_setting(&self, id: u64, value: Vec<u8>) -> Result<(), StoreError> {
        self.put_config(ConfigRecord::Setting(id, value)).await.map(|_| ())
    }

    /// Every setting as `(id, value)`, by ID.
    pub fn settings(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner
            .trees
            .config
            .scan_prefix([ConfigKind::Setting as u8])
            .map(|entry| {
                let (key, value) = entry?;
                let id = keys::config_id(&key).ok_or_else(|| StoreError::Corrupt("short setting key".into()))?;
                Ok((id, value.to_vec()))
            })
            .collect()
    }

    async fn put_config(&self, record: ConfigRecord) -> Result<u64, StoreError> {
        match self.write(Op::PutConfig(record)).await? {
            Outcome::ConfigId(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    pub fn advertiser(&self, id: u64) -> Result<Option<Advertiser>, StoreError> {
        self.config_record(ConfigKind::Advertiser, id)
    }

    pub fn partner(&self, id: PartnerId) -> Result<Option<Partner>, StoreError> {
        self.config_record(ConfigKind::Partner, id)
    }

    pub fn offer(&self, id: OfferId) -> Result<Option<Offer>, StoreError> {
        self.config_record(ConfigKind::Offer, id)
    }

    pub fn setting(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.trees.config.get(keys::config(ConfigKind::Setting, id))?.map(|v| v.to_vec()))
    }

    pub fn advertisers(&self) -> Result<Vec<Advertiser>, StoreError> {
        self.config_records(ConfigKind::Advertiser)
    }

    pub fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        self.config_records(ConfigKind::Partner)
    }

    pub fn offers(&self) -> Result<Vec<Offer>, StoreError> {
        self.config_records(ConfigKind::Offer)
    }

    fn config_record<T: DeserializeOwned>(&self, kind: ConfigKind, id: u64) -> Result<Option<T>, StoreError> {
        self.inner.trees.config.get(keys::config(kind, id))?.map(|v| codec::decode(&v)).transpose()
    }

    fn config_records<T: DeserializeOwned>(&self, kind: ConfigKind) -> Result<Vec<T>, StoreError> {
        self.inner
            .trees
            .config
            .scan_prefix([kind as u8])
            .map(|entry| {
                let (key, value) = entry?;
                keys::config_id(&key).ok_or_else(|| StoreError::Corrupt("short config key".into()))?;
                codec::decode(&value)
            })
            .collect()
    }

    // ---- traffic ----

    /// Store a click; decides atomically whether it is unique for its visitor inside
    /// `duplicate_window_ms`. Returns the click as stored.
    pub async fn record_click(&self, click: Click, duplicate_window_ms: u64) -> Result<Click, StoreError> {
        match self.write(Op::Click { click, duplicate_window_ms }).await? {
            Outcome::Click(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    pub async fn record_impression(&self, impression: Impression) -> Result<(), StoreError> {
        match self.write(Op::Impression(impression)).await? {
            Outcome::Impression => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Store a conversion after claiming its dedupe keys: if one is taken the conversion is
    /// stored as a duplicate of its holder. A repeated idempotency key stores nothing and
    /// returns the first conversion. `postbacks` go into the outbox, in the same
    /// transaction, only if the conversion ends up approved. Returns the conversion to
    /// answer with.
    pub async fn record_conversion(
        &self,
        conversion: Conversion,
        dedupe: Vec<DedupeKey>,
        postbacks: Vec<PostbackDelivery>,
    ) -> Result<Conversion, StoreError> {
        match self.write(Op::Conversion { conversion, dedupe, postbacks }).await? {
            Outcome::Conversion(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    pub fn click(&self, id: &TimeId) -> Result<Option<Click>, StoreError> {
        self.inner.trees.clicks.get(id.as_bytes())?.map(|v| codec::decode(&v)).transpose()
    }

    pub fn impression(&self, id: &TimeId) -> Result<Option<Impression>, StoreError> {
        self.inner.trees.impressions.get(id.as_bytes())?.map(|v| codec::decode(&v)).transpose()
    }

    pub fn conversion(&self, id: &TimeId) -> Result<Option<Conversion>, StoreError> {
        self.inner.trees.conversions.get(id.as_bytes())?.map(|v| codec::decode(&v)).transpose()
    }

    /// Clicks newest first, strictly older than `before`, keeping those `keep` accepts.
    pub fn clicks_page(
        &self,
        before: Option<TimeId>,
        limit: usize,
        keep: impl Fn(&Click) -> bool,
    ) -> Result<Page<Click>, StoreError> {
        self.clicks_page_in(0..u64::MAX, before, limit, keep)
    }

    pub fn conversions_page(
        &self,
        before: Option<TimeId>,
        limit: usize,
        keep: impl Fn(&Conversion) -> bool,
    ) -> Result<Page<Conversion>, StoreError> {
        self.conversions_page_in(0..u64::MAX, before, limit, keep)
    }

    /// [`Store::clicks_page`] limited to clicks issued in `time_ms` (a key range: IDs are
    /// time-ordered, so rows outside it are never read).
    pub fn clicks_page_in(
        &self,
        time_ms: std::ops::Range<u64>,
        before: Option<TimeId>,
        limit: usize,
        keep: impl Fn(&Click) -> bool,
    ) -> Result<Page<Click>, StoreError> {
        newest_first(&self.inner.trees.clicks, time_ms, before, limit, keep, |c: &Click| c.id)
    }

    pub fn conversions_page_in(
        &self,
        time_ms: std::ops::Range<u64>,
        before: Option<TimeId>,
        limit: usize,
        keep: impl Fn(&Conversion) -> bool,
    ) -> Result<Page<Conversion>, StoreError> {
        newest_first(&self.inner.trees.conversions, time_ms, before, limit, keep, |c: &Conversion| c.id)
    }

    /// Every click issued in `time_ms`, oldest first, handed to `visit` (no collecting:
    /// a day can hold millions).
    pub fn scan_clicks(&self, time_ms: std::ops::Range<u64>, visit: impl FnMut(Click)) -> Result<(), StoreError> {
        scan_time_range(&self.inner.trees.clicks, time_ms, visit)
    }

    pub fn scan_impressions(
        &self,
        time_ms: std::ops::Range<u64>,
        visit: impl FnMut(Impression),
    ) -> Result<(), StoreError> {
        scan_time_range(&self.inner.trees.impressions, time_ms, visit)
    }

    pub fn scan_conversions(
        &self,
        time_ms: std::ops::Range<u64>,
        visit: impl FnMut(Conversion),
    ) -> Result<(), StoreError> {
        scan_time_range(&self.inner.trees.conversions, time_ms, visit)
    }

    /// Hourly counter rows `(hour, offer, partner, totals)` for hours in `from_hour..to_hour`
    /// (`to_hour` is capped below the daily roll-ups, so `0..u32::MAX` means every hour).
    pub fn counters(
        &self,
        from_hour: u32,
        to_hour: u32,
    ) -> Result<Vec<(u32, OfferId, PartnerId, Counters)>, StoreError> {
        let mut rows = Vec::new();
        self.scan_counters(from_hour, to_hour, |hour, oid, affid, c| rows.push((hour, oid, affid, c)))?;
        Ok(rows)
    }

    /// The same rows handed to `visit` one by one, without collecting them (a month of
    /// hours × offers × partners can be hundreds of thousands).
    pub fn scan_counters(
        &self,
        from_hour: u32,
        to_hour: u32,
        visit: impl FnMut(u32, OfferId, PartnerId, Counters),
    ) -> Result<(), StoreError> {
        self.scan_counter_keys(from_hour.min(keys::DAILY), to_hour.min(keys::DAILY), visit)
    }

    /// Daily roll-up rows `(day, offer, partner, totals)` for days since the epoch in
    /// `from_day..to_day`: each is the sum of that day's 24 hourly rows, so a month over
    /// many partners reads 30 rows per offer × partner instead of 720.
    pub fn daily_counters(
        &self,
        from_day: u32,
        to_day: u32,
    ) -> Result<Vec<(u32, OfferId, PartnerId, Counters)>, StoreError> {
        let mut rows = Vec::new();
        self.scan_daily_counters(from_day, to_day, |day, oid, affid, c| rows.push((day, oid, affid, c)))?;
        Ok(rows)
    }

    /// The same daily rows handed to `visit` one by one.
    pub fn scan_daily_counters(
        &self,
        from_day: u32,
        to_day: u32,
        mut visit: impl FnMut(u32, OfferId, PartnerId, Counters),
    ) -> Result<(), StoreError> {
        // Days are hours / 24, far below the flag bit; cap anyway so a huge `to_day` cannot
        // wrap around into the hourly rows.
        let cap = keys::DAILY - 1;
        let (from, to) = (keys::DAILY | from_day.min(cap), keys::DAILY | to_day.min(cap));
        self.scan_counter_keys(from, to, |field, oid, affid, c| visit(field & !keys::DAILY, oid, affid, c))
    }

    fn scan_counter_keys(
        &self,
        from_field: u32,
        to_field: u32,
        mut visit: impl FnMut(u32, OfferId, PartnerId, Counters),
    ) -> Result<(), StoreError> {
        if from_field >= to_field {
            return Ok(());
        }
        let range = keys::counter(from_field, 0, 0)..keys::counter(to_field, 0, 0);
        for entry in self.inner.trees.counters.range(range) {
            let (key, value) = entry?;
            let (field, oid, affid) =
                keys::counter_parts(&key).ok_or_else(|| StoreError::Corrupt("short counter key".into()))?;
            visit(field, oid, affid, codec::decode(&value)?);
        }
        Ok(())
    }

    /// Pending postback deliveries whose next attempt is due, oldest first.
    pub fn due_postbacks(&self, now_ms: u64, limit: usize) -> Result<Vec<PostbackDelivery>, StoreError> {
        let mut due = Vec::new();
        for entry in self.inner.trees.outbox.iter() {
            let d: PostbackDelivery = codec::decode(&entry?.1)?;
            if d.status == DeliveryStatus::Pending && d.next_attempt_ms <= now_ms {
                due.push(d);
                if due.len() == limit {
                    break;
                }
            }
        }
        Ok(due)
    }

    /// Every delivery still in the outbox (pending or paused), oldest first.
    pub fn postbacks(&self) -> Result<Vec<PostbackDelivery>, StoreError> {
        self.inner.trees.outbox.iter().map(|e| codec::decode(&e?.1)).collect()
    }

    /// After an attempt: `None` removes the delivery (delivered), `Some` stores its new state.
    pub fn finish_postback_blocking(&self, id: TimeId, updated: Option<PostbackDelivery>) -> Result<(), StoreError> {
        match self.write_blocking(Op::Postback { id, updated })? {
            Outcome::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Put a paused (or pending) delivery back in line for an attempt now. Returns it, or
    /// `None` if it is not in the outbox (already delivered).
    pub async fn retry_postback(&self, id: TimeId, now_ms: u64) -> Result<Option<PostbackDelivery>, StoreError> {
        let Some(bytes) = self.inner.trees.outbox.get(id.as_bytes())? else { return Ok(None) };
        let mut d: PostbackDelivery = codec::decode(&bytes)?;
        d.status = DeliveryStatus::Pending;
        d.attempts = 0;
        d.next_attempt_ms = now_ms;
        match self.write(Op::Postback { id, updated: Some(d.clone()) }).await? {
            Outcome::Done => Ok(Some(d)),
            other => Err(unexpected(other)),
        }
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let w = &self.inner.stats;
        Ok(StoreStats {
            durability: self.inner.durability,
            batches: w.batches.load(Relaxed),
            writes: w.writes.load(Relaxed),
            failed_batches: w.failed_batches.load(Relaxed),
            commit_micros: w.commit_micros.load(Relaxed),
            max_commit_micros: w.max_commit_micros.load(Relaxed),
            outbox_depth: self.inner.trees.outbox.len() as u64,
            size_on_disk: self.inner.db.size_on_disk()?,
        })
    }

    /// Forget visitors whose last unique click is older than `before_ms`: past every
    /// duplicate window, such a visitor's next click is unique anyway, so keeping them only
    /// grows the `visitors` tree. Reads in the caller's thread, removes through the writer in
    /// chunks (re-checking each under the transaction). Returns how many were removed.
    pub fn forget_visitors_blocking(&self, before_ms: u64) -> Result<u64, StoreError> {
        const CHUNK: usize = 1_000;
        let mut removed = 0;
        let mut stale = Vec::with_capacity(CHUNK);
        let mut flush = |stale: &mut Vec<Vec<u8>>| -> Result<(), StoreError> {
            if stale.is_empty() {
                return Ok(());
            }
            match self.write_blocking(Op::ForgetVisitors { keys: std::mem::take(stale), before_ms })? {
                Outcome::Forgotten(n) => {
                    removed += n;
                    Ok(())
                }
                other => Err(unexpected(other)),
            }
        };
        for entry in self.inner.trees.visitors.iter() {
            let (key, value) = entry?;
            if writer::visitor_last_ms(Some(value)).is_some_and(|last| last < before_ms) {
                stale.push(key.to_vec());
                if stale.len() == CHUNK {
                    flush(&mut stale)?;
                }
            }
        }
        flush(&mut stale)?;
        Ok(removed)
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()?)
    }
}

/// The key range of IDs issued in `time_ms`.
fn id_range(time_ms: &std::ops::Range<u64>) -> std::ops::Range<[u8; 16]> {
    // IDs carry 48 bits of milliseconds: clamp so "until forever" stays the largest key.
    const MAX_MS: u64 = (1 << 48) - 1;
    let end = if time_ms.end > MAX_MS { [0xff; 16] } else { *TimeId::lower_bound(time_ms.end).as_bytes() };
    *TimeId::lower_bound(time_ms.start.min(MAX_MS)).as_bytes()..end
}

fn scan_time_range<T: DeserializeOwned>(
    tree: &sled::Tree,
    time_ms: std::ops::Range<u64>,
    mut visit: impl FnMut(T),
) -> Result<(), StoreError> {
    for entry in tree.range(id_range(&time_ms)) {
        visit(codec::decode(&entry?.1)?);
    }
    Ok(())
}

fn newest_first<T: DeserializeOwned>(
    tree: &sled::Tree,
    time_ms: std::ops::Range<u64>,
    before: Option<TimeId>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
    id_of: impl Fn(&T) -> TimeId,
) -> Result<Page<T>, StoreError> {
    let mut range = id_range(&time_ms);
    if let Some(id) = before {
        range.end = range.end.min(*id.as_bytes());
    }
    if range.start >= range.end {
        return Ok(Page { rows: Vec::new(), next_cursor: None });
    }
    let iter = tree.range(range);
    let mut rows = Vec::new();
    for entry in iter.rev() {
        let (_, value) = entry?;
        let record: T = codec::decode(&value)?;
        if keep(&record) {
            if rows.len() == limit {
                let next_cursor = rows.last().map(&id_of);
                return Ok(Page { rows, next_cursor });
            }
            rows.push(record);
        }
    }
    Ok(Page { rows, next_cursor: None })
}

fn unexpected(outcome: Outcome) -> StoreError {
    StoreError::Corrupt(format!("writer answered with the wrong outcome: {outcome:?}"))
}

/// A kill during `sled::open` can leave a torn `*.generating` snapshot that sled 0.34.7 then
/// refuses to open forever. Such files are never complete data, so they are removed first.
fn remove_torn_snapshots(dir: &Path) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "generating") {
            tracing::warn!(file = %path.display(), "removing torn snapshot left by a crash");
            std::fs::remove_file(&path).map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
