//! Housekeeping in the background: forget visitors no duplicate window can still reach, so
//! the `visitors` tree stays the size of recent traffic instead of growing forever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::service::manage::MAX_DUPLICATE_CLICK_WINDOW_SECS;
use crate::store::Store;

/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Visitors whose last unique click is older than the longest duplicate window an offer can
/// have (plus a day of margin) can never make a click a duplicate again.
pub fn forget_before_ms(now_ms: u64) -> u64 {
    now_ms.saturating_sub((u64::from(MAX_DUPLICATE_CLICK_WINDOW_SECS) + 86_400) * 1000)
}

pub struct Maintenance {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Maintenance {
    pub fn spawn(store: Store) -> std::io::Result<Maintenance> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("maintenance".into()).spawn(move || {
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    match store.forget_visitors_blocking(forget_before_ms(crate::service::now_ms())) {
                        Ok(removed) => tracing::info!(removed, "visitors past every duplicate window forgotten"),
                        Err(e) => tracing::warn!(error = %e, "visitor sweep failed; will retry"),
                    }
                    next = Instant::now() + EVERY;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })?;
        Ok(Maintenance { stop, thread: Some(thread) })
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_only_past_the_longest_window() {
        let day = 86_400_000;
        assert_eq!(forget_before_ms(100 * day), 100 * day - 31 * day);
        assert_eq!(forget_before_ms(5), 0, "no underflow at the epoch");
    }
}
