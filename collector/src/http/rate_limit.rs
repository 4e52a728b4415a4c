//! Per-IP rate limit on the tracking endpoints (`/clk`, `/imp`). Over the limit a request is
//! refused with a JSON 429 and counted, but not stored: a flood must not become a write load.
//! Conversions are not limited: an advertiser's server legitimately sends them from one IP.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct ClickRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
    pub refused: AtomicU64,
}

impl ClickRateLimiter {
    /// `per_second` sustained requests per IP, with bursts up to `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> ClickRateLimiter {
        ClickRateLimiter {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Whether this IP may make another tracking request now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        // Forget idle IPs now and then so the table stays the size of the active traffic.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 65_536 == 65_535 {
            self.limiter.retain_recent();
        }
        let allowed = self.limiter.check_key(&ip).is_ok();
        if !allowed {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_ip_separately() {
        let limiter = ClickRateLimiter::new(NonZeroU32::new(1).unwrap(), NonZeroU32::new(3).unwrap());
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow(a)));
        assert!(!limiter.allow(a), "the burst is spent");
        assert!(limiter.allow(b), "another IP has its own budget");
        assert_eq!(limiter.refused.load(Ordering::Relaxed), 1);
    }
}
