use super::*;
use crate::ids::TransactionId;
use crate::model::{
    AttributedBy, ConversionRejection, ConversionSource, ConversionStatus, LinkKind, TrackingParams, Visitor,
};
use crate::money::Money;

fn click(now_ms: u64, ip: &str) -> Click {
    Click {
        id: TransactionId::generate(now_ms),
        oid: 1,
        affid: 2,
        advertiser_id: 3,
        params: TrackingParams {
            sub: ["spring".into(), "".into(), "".into(), "".into(), "".into()],
            ..Default::default()
        },
        visitor: Visitor { ip: ip.into(), user_agent: "UA".into(), referrer: String::new() },
        kind: LinkKind::Redirect,
        unique: true,
        error_code: 0,
    }
}

fn conversion(now_ms: u64, tid: TransactionId, idempotency_key: &str) -> Conversion {
    Conversion {
        id: TimeId::generate(now_ms),
        status: ConversionStatus::Approved,
        rejection: None,
        source: ConversionSource::Server,
        attributed_by: AttributedBy::TransactionId,
        transaction_id: Some(tid),
        oid: 1,
        affid: 2,
        advertiser_id: 3,
        event: String::new(),
        amount: Some(Money(100_000)),
        payout: Money(10_000),
        revenue: Money(20_000),
        order_id: String::new(),
        coupon_code: String::new(),
        adv: Default::default(),
        idempotency_key: idempotency_key.into(),
        click_time_ms: Some(tid.issued_at_ms()),
        click_params: TrackingParams::default(),
        visitor: Visitor::default(),
        duplicate_of: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn clicks_survive_reopen_and_repeat_visitors_are_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (first, repeat, other, later) = rt.block_on(async {
        let store = Store::open(dir.path(), Durability::Durable).unwrap();
        let first = store.record_click(click(1_000_000, "10.0.0.1"), 60_000).await.unwrap();
        let repeat = store.record_click(click(1_030_000, "10.0.0.1"), 60_000).await.unwrap();
        let other = store.record_click(click(1_030_001, "10.0.0.2"), 60_000).await.unwrap();
        let later = store.record_click(click(1_070_000, "10.0.0.1"), 60_000).await.unwrap();
        store.close();
        (first, repeat, other, later)
    });
    assert!(first.unique && !repeat.unique && other.unique && later.unique);

    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    assert_eq!(store.click(&first.id).unwrap(), Some(first.clone()));
    assert_eq!(store.click(&repeat.id).unwrap(), Some(repeat.clone()));
    let page = store.clicks_page(None, 2, |_| true).unwrap();
    assert_eq!(page.rows.iter().map(|c| c.id).collect::<Vec<_>>(), vec![later.id, other.id]);
    let rest = store.clicks_page(page.next_cursor, 10, |_| true).unwrap();
    assert_eq!(rest.rows.iter().map(|c| c.id).collect::<Vec<_>>(), vec![repeat.id, first.id]);
    assert!(rest.next_cursor.is_none());

    let counters = store.counters(0, u32::MAX).unwrap();
    assert_eq!(counters.len(), 1);
    let (_, oid, affid, totals) = &counters[0];
    assert_eq!((*oid, *affid), (1, 2));
    assert_eq!((totals.gross_clicks, totals.unique_clicks, totals.duplicate_clicks), (4, 3, 1));
}

#[test]
fn concurrent_identical_conversions_approve_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    let tid = TransactionId::generate(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let results: Vec<Conversion> = rt.block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let claims = vec![DedupeKey::TransactionEvent(tid, String::new())];
                    store.record_conversion(conversion(6_000, tid, ""), claims, vec![]).await.unwrap()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let approved: Vec<_> = results.iter().filter(|c| c.status == ConversionStatus::Approved).collect();
    assert_eq!(approved.len(), 1);
    for dup in results.iter().filter(|c| c.status == ConversionStatus::Duplicate) {
        assert_eq!(dup.rejection, Some(ConversionRejection::DuplicateTransactionEvent));
        assert_eq!(dup.duplicate_of, Some(approved[0].id));
        assert_eq!(dup.payout, Money::ZERO);
    }
    let totals = store.counters(0, u32::MAX).unwrap();
    assert_eq!(totals[0].3.conversions, 1);
    assert_eq!(totals[0].3.duplicate_conversions, 49);
    assert_eq!(totals[0].3.payout, Money(10_000));
}

#[test]
fn a_repeated_idempotency_key_gets_the_first_answer_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    let tid = TransactionId::generate(5_000);
    let rt = runtime();
    let (first, retry) = rt.block_on(async {
        let claims = vec![DedupeKey::TransactionEvent(tid, String::new())];
        let first = store.record_conversion(conversion(6_000, tid, "key-1"), claims.clone(), vec![]).await.unwrap();
        let retry = store.record_conversion(conversion(7_000, tid, "key-1"), claims, vec![]).await.unwrap();
        (first, retry)
    });
    assert_eq!(first.status, ConversionStatus::Approved);
    assert_eq!(retry, first);
    assert_eq!(store.conversions_page(None, 10, |_| true).unwrap().rows.len(), 1);
}

#[test]
fn config_ids_are_assigned_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Relaxed).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let a = store.put_partner(Partner { id: 0, name: "A".into(), postbacks: vec![] }).await.unwrap();
        let b = store.put_partner(Partner { id: 0, name: "B".into(), postbacks: vec![] }).await.unwrap();
        assert_eq!((a, b), (1, 2));
        store.put_partner(Partner { id: 2, name: "B2".into(), postbacks: vec![] }).await.unwrap();
        store.put_partner(Partner { id: 7, name: "Seeded".into(), postbacks: vec![] }).await.unwrap();
        let after_seed = store.put_partner(Partner { id: 0, name: "C".into(), postbacks: vec![] }).await.unwrap();
        assert_eq!(after_seed, 8, "an explicit ID moves the sequence past it");
    });
    assert_eq!(store.partner(2).unwrap().unwrap().name, "B2");
    assert_eq!(store.partners().unwrap().len(), 4);
    assert!(store.partner(3).unwrap().is_none());
}

#[test]
fn torn_snapshots_from_a_crash_are_removed_before_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Durability::Durable).unwrap();
        store.close();
    }
    let torn = dir.path().join("snap.00000000000000AB.generating");
    std::fs::write(&torn, b"half a snapshot").unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    assert!(!torn.exists());
    assert!(store.partners().unwrap().is_empty());
}

#[test]
fn writes_after_close_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    store.close();
    let err = runtime().block_on(store.record_click(click(1, "1.1.1.1"), 0)).unwrap_err();
    assert!(matches!(err, StoreError::Closed));
}

#[test]
fn daily_rollups_are_the_sum_of_their_hours_and_hour_ranges_never_see_them() {
    const HOUR: u64 = 3_600_000;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    let rt = runtime();
    // Three days from day 19,844 (2024-05-01) 22:00, one click every 5 hours on two offers,
    // a conversion every third; some land in one batch, some in separate batches.
    let start = 19_844 * 24 * HOUR + 22 * HOUR;
    rt.block_on(async {
        for i in 0..15u64 {
            let mut c = click(start + i * 5 * HOUR + i * 1_000, &format!("10.0.0.{i}"));
            c.oid = 1 + i % 2;
            let c = store.record_click(c, 60_000).await.unwrap();
            if i % 3 == 0 {
                let mut conv = conversion(start + i * 5 * HOUR + 60_000, c.id, "");
                conv.oid = c.oid;
                store.record_conversion(conv, vec![], vec![]).await.unwrap();
            }
        }
        let batch = (0..20u64).map(|i| store.record_click(click(start + 30 * HOUR + i, &format!("10.1.0.{i}")), 0));
        for r in futures_util::future::join_all(batch).await {
            r.unwrap();
        }
    });

    let hourly = store.counters(0, u32::MAX).unwrap();
    assert!(hourly.iter().all(|(hour, ..)| *hour < keys::DAILY), "an hour range never reaches a daily key");
    let mut summed: std::collections::BTreeMap<(u32, u64, u64), Counters> = Default::default();
    for (hour, oid, affid, c) in &hourly {
        summed.entry((hour / 24, *oid, *affid)).or_default().add(c);
    }
    let daily: std::collections::BTreeMap<(u32, u64, u64), Counters> =
        store.daily_counters(0, u32::MAX).unwrap().into_iter().map(|(d, o, a, c)| ((d, o, a), c)).collect();
    assert_eq!(daily, summed);
    assert_eq!(daily.keys().map(|k| k.0).collect::<std::collections::BTreeSet<_>>(), (19_844..=19_847).collect());
    let total: u64 = daily.values().map(|c| c.gross_clicks).sum();
    assert_eq!(total, 35);
    // A day range reads only those days.
    let one_day = store.daily_counters(19_845, 19_846).unwrap();
    assert!(!one_day.is_empty() && one_day.iter().all(|(d, ..)| *d == 19_845));
    assert!(store.daily_counters(19_846, 19_846).unwrap().is_empty());
}

#[test]
fn visitors_past_every_window_are_forgotten_and_recent_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    let rt = runtime();
    rt.block_on(async {
        store.record_click(click(1_000, "10.0.0.1"), 60_000).await.unwrap();
        store.record_click(click(2_000, "10.0.0.2"), 60_000).await.unwrap();
        store.record_click(click(50_000, "10.0.0.3"), 60_000).await.unwrap();
    });
    let store2 = store.clone();
    let removed = std::thread::spawn(move || store2.forget_visitors_blocking(10_000)).join().unwrap().unwrap();
    assert_eq!(removed, 2);
    assert_eq!(store.inner.trees.visitors.len(), 1, "the recent visitor is kept");
    // Forgetting changes no verdict: the recent visitor's repeat is still a duplicate.
    let repeat = rt.block_on(store.record_click(click(51_000, "10.0.0.3"), 60_000)).unwrap();
    assert!(!repeat.unique);
    assert_eq!(store.clicks_page(None, 10, |_| true).unwrap().rows.len(), 4, "clicks themselves are never touched");
}
