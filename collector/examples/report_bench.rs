//! Report latency on a store holding 1,000,000 clicks (not a test: it prints figures).
//!
//!     cargo run --release -p clickstamp-collector --example report_bench [-- CLICKS]
//!
//! Loads the clicks (30 days, 10 offers, 50 partners, 200 sub1 values) and 20,000
//! conversions into a temporary store through the store API, in `Durability::Relaxed` mode
//! so loading takes seconds rather than minutes (the writes still go through the group-commit
//! writer and maintain the counters exactly as the server does; only the flush before each
//! acknowledgement is skipped). Then it times the report service calls the HTTP handlers make:
//! the summary by day × offer (counters: daily roll-ups for the whole days, hourly rows for
//! today's partial day), the same summary from the hourly counters only (the path before the
//! roll-ups, for comparison; the two must be equal), by sub1 over one day (range scan), and
//! the Click Report's first page, unfiltered and filtered.

use std::time::{Duration, Instant};

use clickstamp_collector::ids::TimeId;
use clickstamp_collector::model::{
    AttributedBy, Click, Conversion, ConversionSource, ConversionStatus, LinkKind, TrackingParams, Visitor,
};
use clickstamp_collector::money::Money;
use clickstamp_collector::service::reports::{
    click_report, summary, summary_from_hourly_counters, Dimension, RowFilter, SummaryFilter, SummaryRequest,
};
use clickstamp_collector::store::{Durability, Store};

const DAY_MS: u64 = 86_400_000;
const DAYS: u64 = 30;
const CONVERSIONS: u64 = 20_000;

/// A small deterministic generator (xorshift): the same data every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn click(ms: u64, rng: &mut Rng) -> Click {
    let mut params = TrackingParams::default();
    params.sub[0] = format!("campaign-{}", rng.next() % 200);
    params.sub[1] = format!("ad-{}", rng.next() % 1000);
    Click {
        id: TimeId::generate(ms),
        oid: 1 + rng.next() % 10,
        affid: 1 + rng.next() % 50,
        advertiser_id: 1,
        params,
        visitor: Visitor {
            ip: format!("10.{}.{}.{}", rng.next() % 256, rng.next() % 256, rng.next() % 256),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0".into(),
            referrer: String::new(),
        },
        kind: LinkKind::Redirect,
        unique: true,
        error_code: if rng.next().is_multiple_of(50) { 4 } else { 0 },
    }
}

fn conversion(c: &Click, ms: u64) -> Conversion {
    Conversion {
        id: TimeId::generate(ms),
        status: ConversionStatus::Approved,
        rejection: None,
        source: ConversionSource::Server,
        attributed_by: AttributedBy::TransactionId,
        transaction_id: Some(c.id),
        oid: c.oid,
        affid: c.affid,
        advertiser_id: 1,
        event: String::new(),
        amount: Some(Money::parse("49.90").unwrap_or(Money::ZERO)),
        payout: Money::parse("5").unwrap_or(Money::ZERO),
        revenue: Money::parse("8").unwrap_or(Money::ZERO),
        order_id: c.id.to_string(),
        coupon_code: String::new(),
        adv: Default::default(),
        idempotency_key: String::new(),
        click_time_ms: Some(c.id.issued_at_ms()),
        click_params: c.params.clone(),
        visitor: Visitor::default(),
        duplicate_of: None,
    }
}

/// Median and worst of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs - 1], last.expect("at least one run"))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clicks: u64 = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), Durability::Relaxed)?;
    let now = clickstamp_collector::service::now_ms();
    let start_ms = (now / DAY_MS - DAYS) * DAY_MS;
    let step = DAYS * DAY_MS / clicks;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let load = Instant::now();
    let mut sample = Vec::new();
    let chunk = 4096;
    for first in (0..clicks).step_by(chunk) {
        let batch: Vec<Click> =
            (first..(first + chunk as u64).min(clicks)).map(|i| click(start_ms + i * step, &mut rng)).collect();
        if first % (clicks / CONVERSIONS.min(clicks)).max(1) < chunk as u64 {
            sample.extend(batch.iter().step_by(chunk / 8).cloned());
        }
        let writes = batch.into_iter().map(|c| store.record_click(c, 60_000));
        for result in futures_util::future::join_all(writes).await {
            result?;
        }
    }
    let conversions: Vec<Conversion> = sample
        .iter()
        .cycle()
        .take(CONVERSIONS as usize)
        .enumerate()
        .map(|(i, c)| conversion(c, c.id.issued_at_ms() + 60_000 + i as u64))
        .collect();
    let n_conversions = conversions.len();
    for chunk in conversions.chunks(chunk) {
        let writes = chunk.iter().map(|c| store.record_conversion(c.clone(), vec![], vec![]));
        for result in futures_util::future::join_all(writes).await {
            result?;
        }
    }
    let loaded = load.elapsed();
    println!(
        "loaded {clicks} clicks over {DAYS} days and {n_conversions} conversions in {:.1} s ({:.0} writes/s, relaxed durability); {:.0} MB on disk",
        loaded.as_secs_f64(),
        (clicks as f64 + n_conversions as f64) / loaded.as_secs_f64(),
        store.size_on_disk()? as f64 / 1e6
    );

    let runs = 21;
    let all = start_ms..now + 1;
    let by_day_offer = SummaryRequest {
        group_by: vec![Dimension::Day, Dimension::Offer],
        time_ms: all.clone(),
        filter: SummaryFilter::default(),
    };
    let (median, worst, s) = time(runs, || summary(&store, &by_day_offer));
    let s = s?;
    println!(
        "summary by day x offer, {DAYS} days (counters, daily roll-ups): median {}, worst {} ({} rows, {} clicks counted)",
        ms(median),
        ms(worst),
        s.rows.len(),
        s.totals.gross_clicks
    );
    let (median, worst, hourly) = time(runs, || summary_from_hourly_counters(&store, &by_day_offer));
    let hourly = hourly?;
    println!(
        "the same from the hourly counters only: median {}, worst {} ({} rows, {} clicks counted)",
        ms(median),
        ms(worst),
        hourly.rows.len(),
        hourly.totals.gross_clicks
    );
    if serde_json::to_value(&s)? != serde_json::to_value(&hourly)? {
        return Err("the daily roll-ups and the hourly counters disagree".into());
    }

    let day = start_ms + 10 * DAY_MS..start_ms + 11 * DAY_MS;
    let by_sub1 =
        SummaryRequest { group_by: vec![Dimension::Sub(0)], time_ms: day.clone(), filter: SummaryFilter::default() };
    let (median, worst, s) = time(runs, || summary(&store, &by_sub1));
    let s = s?;
    println!(
        "summary by sub1, one day (scan): median {}, worst {} ({} rows, {} clicks scanned)",
        ms(median),
        ms(worst),
        s.rows.len(),
        s.totals.gross_clicks
    );

    let by_sub1_month = SummaryRequest { time_ms: all, ..by_sub1 };
    let (median, _, s) = time(3, || summary(&store, &by_sub1_month));
    println!(
        "summary by sub1, all {DAYS} days (scan): median {} ({} clicks scanned)",
        ms(median),
        s?.totals.gross_clicks
    );

    let (median, worst, page) = time(runs, || click_report(&store, &RowFilter::default(), None, 100));
    println!(
        "Click Report, first page of 100, no filter: median {}, worst {} ({} rows)",
        ms(median),
        ms(worst),
        page?.rows.len()
    );
    let partner = RowFilter { affid: Some(7), ..RowFilter::default() };
    let (median, worst, page) = time(runs, || click_report(&store, &partner, None, 100));
    println!(
        "Click Report, first page of 100, affid=7 (what a partner key sees; 1 click in 50 matches): median {}, worst {} ({} rows)",
        ms(median),
        ms(worst),
        page?.rows.len()
    );
    let mut filtered = RowFilter { affid: Some(7), ..RowFilter::default() };
    filtered.sub[0] = Some("campaign-42".into());
    let (median, worst, page) = time(runs, || click_report(&store, &filtered, None, 100));
    let page = page?;
    println!(
        "Click Report, first page of 100, affid=7&sub1=campaign-42 (1 click in 10,000 matches): median {}, worst {} ({} rows)",
        ms(median),
        ms(worst),
        page.rows.len()
    );
    let filtered_day = RowFilter { time_ms: Some(day), ..filtered };
    let (median, worst, page) = time(runs, || click_report(&store, &filtered_day, None, 100));
    println!(
        "Click Report, same filter within one day: median {}, worst {} ({} rows)",
        ms(median),
        ms(worst),
        page?.rows.len()
    );
    store.close();
    Ok(())
}
