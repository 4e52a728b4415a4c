//! Process counters for `/metrics` (Prometheus text format). Plain atomics: no actix, no sled.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::model::{ClickRejection, Conversion, ConversionStatus};
use crate::store::{Durability, StoreStats};

/// The routes requests are counted under.
pub const ROUTES: [&str; 9] = ["clk", "imp", "conversion", "pixel", "sdk", "api", "dashboard", "health", "other"];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Click error codes are small numbers (0 = valid); conversion codes are 101..=110.
const CLICK_CODES: usize = 16;
const CONVERSION_CODES: usize = 16;

#[derive(Debug)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; ROUTES.len()],
    clicks: [AtomicU64; CLICK_CODES],
    impressions: AtomicU64,
    conversions: [AtomicU64; 4],
    conversion_rejections: [AtomicU64; CONVERSION_CODES],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            clicks: std::array::from_fn(|_| AtomicU64::new(0)),
            impressions: AtomicU64::new(0),
            conversions: std::array::from_fn(|_| AtomicU64::new(0)),
            conversion_rejections: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Which counted route a request path belongs to.
pub fn route_of(path: &str) -> usize {
    let name = match path {
        "/clk" => "clk",
        "/imp" => "imp",
        "/conversion" => "conversion",
        "/pixel.gif" => "pixel",
        "/healthz" | "/metrics" => "health",
        p if p.starts_with("/sdk/") => "sdk",
        p if p.starts_with("/api/") => "api",
        p if p == "/" || p.starts_with("/dashboard") => "dashboard",
        _ => "other",
    };
    ROUTES.iter().position(|r| *r == name).unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    pub fn request(&self, route: usize, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        if let Some(row) = self.requests.get(route) {
            row[class].fetch_add(1, Relaxed);
        }
    }

    pub fn click(&self, error_code: u16) {
        if let Some(c) = self.clicks.get(usize::from(error_code)) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub fn impression(&self) {
        self.impressions.fetch_add(1, Relaxed);
    }

    pub fn conversion(&self, c: &Conversion) {
        let status = match c.status {
            ConversionStatus::Approved => 0,
            ConversionStatus::Duplicate => 1,
            ConversionStatus::Rejected => 2,
            ConversionStatus::Unattributed => 3,
        };
        self.conversions[status].fetch_add(1, Relaxed);
        if let Some(slot) = usize::from(c.error_code()).checked_sub(100).and_then(|i| self.conversion_rejections.get(i))
        {
            slot.fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition of everything counted, plus the store's and the rate
    /// limiter's figures.
    pub fn render(&self, store: &StoreStats, rate_limited: u64) -> String {
        let mut out = String::with_capacity(4096);
        let _ = self.write_all(&mut out, store, rate_limited);
        out
    }

    fn write_all(&self, out: &mut String, store: &StoreStats, rate_limited: u64) -> std::fmt::Result {
        writeln!(out, "# HELP clickstamp_http_requests_total HTTP requests by route and status class.")?;
        writeln!(out, "# TYPE clickstamp_http_requests_total counter")?;
        for (route, row) in ROUTES.iter().zip(&self.requests) {
            for (class, n) in STATUS_CLASSES.iter().zip(row) {
                let n = n.load(Relaxed);
                if n > 0 {
                    writeln!(out, "clickstamp_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {n}")?;
                }
            }
        }
        writeln!(out, "# HELP clickstamp_clicks_total Clicks recorded, by result and reason.")?;
        writeln!(out, "# TYPE clickstamp_clicks_total counter")?;
        for (code, n) in self.clicks.iter().enumerate() {
            let n = n.load(Relaxed);
            if code == 0 {
                writeln!(out, "clickstamp_clicks_total{{result=\"valid\",reason=\"\"}} {n}")?;
            } else if n > 0 {
                let reason = ClickRejection::from_code(code as u16).map_or("unknown", ClickRejection::message);
                writeln!(out, "clickstamp_clicks_total{{result=\"invalid\",reason=\"{reason}\"}} {n}")?;
            }
        }
        writeln!(
            out,
            "# HELP clickstamp_clicks_rate_limited_total Tracking requests refused by the per-IP limit (not stored)."
        )?;
        writeln!(out, "# TYPE clickstamp_clicks_rate_limited_total counter")?;
        writeln!(out, "clickstamp_clicks_rate_limited_total {rate_limited}")?;
        writeln!(out, "# HELP clickstamp_impressions_total Impressions recorded.")?;
        writeln!(out, "# TYPE clickstamp_impressions_total counter")?;
        writeln!(out, "clickstamp_impressions_total {}", self.impressions.load(Relaxed))?;
        writeln!(out, "# HELP clickstamp_conversions_total Conversions recorded, by status.")?;
        writeln!(out, "# TYPE clickstamp_conversions_total counter")?;
        for (status, n) in ["approved", "duplicate", "rejected", "unattributed"].iter().zip(&self.conversions) {
            writeln!(out, "clickstamp_conversions_total{{status=\"{status}\"}} {}", n.load(Relaxed))?;
        }
        writeln!(
            out,
            "# HELP clickstamp_conversion_rejections_total Rejected and duplicate conversions by error code."
        )?;
        writeln!(out, "# TYPE clickstamp_conversion_rejections_total counter")?;
        for (i, n) in self.conversion_rejections.iter().enumerate() {
            let n = n.load(Relaxed);
            if n > 0 {
                writeln!(out, "clickstamp_conversion_rejections_total{{code=\"{}\"}} {n}", 100 + i)?;
            }
        }
        let durable = u8::from(store.durability == Durability::Durable);
        writeln!(out, "# HELP clickstamp_store_durable 1 when writes are acknowledged only after a flush.")?;
        writeln!(out, "# TYPE clickstamp_store_durable gauge")?;
        writeln!(out, "clickstamp_store_durable {durable}")?;
        writeln!(out, "# HELP clickstamp_store_commit_seconds Group commits (apply + flush): time spent.")?;
        writeln!(out, "# TYPE clickstamp_store_commit_seconds summary")?;
        writeln!(out, "clickstamp_store_commit_seconds_sum {}", micros(store.commit_micros))?;
        writeln!(out, "clickstamp_store_commit_seconds_count {}", store.batches)?;
        writeln!(out, "# HELP clickstamp_store_commit_seconds_max The slowest group commit since start.")?;
        writeln!(out, "# TYPE clickstamp_store_commit_seconds_max gauge")?;
        writeln!(out, "clickstamp_store_commit_seconds_max {}", micros(store.max_commit_micros))?;
        writeln!(out, "# HELP clickstamp_store_writes_total Records written through group commits.")?;
        writeln!(out, "# TYPE clickstamp_store_writes_total counter")?;
        writeln!(out, "clickstamp_store_writes_total {}", store.writes)?;
        writeln!(
            out,
            "# HELP clickstamp_store_failed_batches_total Group commits that failed (nothing in them acknowledged)."
        )?;
        writeln!(out, "# TYPE clickstamp_store_failed_batches_total counter")?;
        writeln!(out, "clickstamp_store_failed_batches_total {}", store.failed_batches)?;
        writeln!(out, "# HELP clickstamp_store_size_bytes Bytes the store occupies on disk.")?;
        writeln!(out, "# TYPE clickstamp_store_size_bytes gauge")?;
        writeln!(out, "clickstamp_store_size_bytes {}", store.size_on_disk)?;
        writeln!(out, "# HELP clickstamp_postback_outbox_depth Partner postbacks waiting (pending or paused).")?;
        writeln!(out, "# TYPE clickstamp_postback_outbox_depth gauge")?;
        writeln!(out, "clickstamp_postback_outbox_depth {}", store.outbox_depth)?;
        Ok(())
    }
}

/// Microseconds as decimal seconds, exactly (no float formatting).
fn micros(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_in_prometheus_text() {
        let m = Metrics::default();
        m.request(route_of("/clk"), 200);
        m.request(route_of("/clk"), 302);
        m.request(route_of("/api/reports/clicks"), 401);
        m.click(0);
        m.click(4);
        let stats = StoreStats {
            durability: Durability::Durable,
            batches: 2,
            writes: 5,
            failed_batches: 0,
            commit_micros: 1_500_250,
            max_commit_micros: 900,
            outbox_depth: 3,
            size_on_disk: 4096,
        };
        let text = m.render(&stats, 7);
        for line in [
            "clickstamp_http_requests_total{route=\"clk\",status=\"2xx\"} 1",
            "clickstamp_http_requests_total{route=\"clk\",status=\"3xx\"} 1",
            "clickstamp_http_requests_total{route=\"api\",status=\"4xx\"} 1",
            "clickstamp_clicks_total{result=\"valid\",reason=\"\"} 1",
            "clickstamp_clicks_total{result=\"invalid\",reason=\"user agent is a known bot or crawler\"} 1",
            "clickstamp_clicks_rate_limited_total 7",
            "clickstamp_store_commit_seconds_sum 1.500250",
            "clickstamp_store_commit_seconds_count 2",
            "clickstamp_postback_outbox_depth 3",
            "clickstamp_store_durable 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
