//! Partner postbacks: which URLs an approved conversion calls (pure), the retry schedule
//! (pure), and the outbox worker that calls them.
//!
//! Deliveries are written to the store's outbox in the same transaction as their conversion,
//! so an acknowledged conversion never loses its postbacks. The worker deletes a delivery
//! only after the partner answered 2xx; a crash between that answer and the delete sends it
//! once more on restart (at-least-once; the window is one flush, milliseconds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::destination::{expand, tracking_macro};
use crate::ids::TimeId;
use crate::model::{Conversion, DeliveryStatus, Partner, PostbackDelivery};
use crate::store::{Store, StoreError};

/// How often and how long a failing postback is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt; each later one doubles it.
    pub first_delay_ms: u64,
    pub max_delay_ms: u64,
    /// After this many failed attempts the delivery is paused.
    pub max_attempts: u32,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 10 tries over about 17 minutes (1 s, 2 s, 4 s … 256 s), then paused for a person.
    fn default() -> Self {
        RetryPolicy {
            first_delay_ms: 1_000,
            max_delay_ms: 3_600_000,
            max_attempts: 10,
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failures, or `None` to pause.
    pub fn next_attempt_ms(&self, attempts: u32, now_ms: u64) -> Option<u64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(40);
        Some(now_ms + self.first_delay_ms.saturating_mul(1 << doublings).min(self.max_delay_ms))
    }
}

/// The value of a postback macro for a conversion.
pub fn conversion_macro(c: &Conversion, name: &str) -> Option<String> {
    let value = match name {
        "transaction_id" => c.transaction_id.map(|t| t.to_string()).unwrap_or_default(),
        "conversion_id" => c.id.to_string(),
        "oid" | "offer_id" => c.oid.to_string(),
        "affid" | "affiliate_id" | "partner_id" => c.affid.to_string(),
        "advertiser_id" => c.advertiser_id.to_string(),
        "event" => c.event.clone(),
        "payout" => c.payout.to_string(),
        "amount" | "sale_amount" => c.amount.map(|a| a.to_string()).unwrap_or_default(),
        "order_id" => c.order_id.clone(),
        "coupon_code" => c.coupon_code.clone(),
        "adv1" => c.adv[0].clone(),
        "adv2" => c.adv[1].clone(),
        "adv3" => c.adv[2].clone(),
        "adv4" => c.adv[3].clone(),
        "adv5" => c.adv[4].clone(),
        "timestamp" => (c.id.issued_at_ms() / 1000).to_string(),
        // The click's sub values, source and click IDs, as the partner sent them.
        _ => return tracking_macro(&c.click_params, name),
    };
    Some(value)
}

/// The deliveries an approved conversion owes its partner.
pub fn deliveries_for(partner: &Partner, conversion: &Conversion, now_ms: u64) -> Vec<PostbackDelivery> {
    partner
        .postbacks
        .iter()
        .filter(|t| t.applies_to(conversion.oid, &conversion.event))
        .map(|t| PostbackDelivery {
            id: TimeId::generate(now_ms),
            conversion_id: conversion.id,
            partner_id: partner.id,
            url: expand(&t.url, |name| conversion_macro(conversion, name)),
            attempts: 0,
            next_attempt_ms: now_ms,
            status: DeliveryStatus::Pending,
            last_error: String::new(),
        })
        .collect()
}

/// What happened when a delivery was attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    Failed(String),
}

/// The delivery after a failed attempt: rescheduled, or paused when the tries are spent.
pub fn after_failure(mut d: PostbackDelivery, error: String, policy: &RetryPolicy, now_ms: u64) -> PostbackDelivery {
    d.attempts += 1;
    d.last_error = error;
    match policy.next_attempt_ms(d.attempts, now_ms) {
        Some(next) => d.next_attempt_ms = next,
        None => d.status = DeliveryStatus::Paused,
    }
    d
}

/// Most deliveries attempted at once: one slow partner must not hold up the others.
const PARALLEL: usize = 8;

/// The outbox worker: a thread that calls due postbacks until stopped.
pub struct PostbackWorker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PostbackWorker {
    pub fn spawn(store: Store, policy: RetryPolicy) -> std::io::Result<PostbackWorker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("postbacks".into()).spawn(move || run(&store, &policy, &flag))?;
        Ok(PostbackWorker { stop, thread: Some(thread) })
    }

    /// Finish the attempts under way and stop.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(store: &Store, policy: &RetryPolicy, stop: &AtomicBool) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(policy.request_timeout))
        .http_status_as_error(false)
        .user_agent("clickstamp-postback/0.1")
        .build()
        .into();
    while !stop.load(Ordering::Relaxed) {
        let now = crate::service::now_ms();
        let due = match store.due_postbacks(now, PARALLEL) {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the postback outbox");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if due.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let attempts: Vec<(PostbackDelivery, Attempt)> = std::thread::scope(|s| {
            let running: Vec<_> = due
                .into_iter()
                .map(|d| {
                    let agent = &agent;
                    s.spawn(move || {
                        let attempt = call(agent, &d.url);
                        (d, attempt)
                    })
                })
                .collect();
            running.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (delivery, attempt) in attempts {
            if let Err(e) = record(store, policy, delivery, attempt) {
                tracing::error!(error = %e, "cannot record a postback attempt");
                if matches!(e, StoreError::Closed) {
                    return;
                }
            }
        }
    }
}

fn call(agent: &ureq::Agent, url: &str) -> Attempt {
    match agent.get(url).call() {
        Ok(resp) if resp.status().is_success() => Attempt::Delivered,
        Ok(resp) => Attempt::Failed(format!("HTTP {}", resp.status().as_u16())),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}

fn record(store: &Store, policy: &RetryPolicy, delivery: PostbackDelivery, attempt: Attempt) -> Result<(), StoreError> {
    let now = crate::service::now_ms();
    match attempt {
        Attempt::Delivered => {
            tracing::info!(delivery = %delivery.id, partner = delivery.partner_id, "postback delivered");
            store.finish_postback_blocking(delivery.id, None)
        }
        Attempt::Failed(error) => {
            let updated = after_failure(delivery, error, policy, now);
            if updated.status == DeliveryStatus::Paused {
                tracing::warn!(delivery = %updated.id, partner = updated.partner_id, error = %updated.last_error, attempts = updated.attempts, "postback paused");
            } else {
                tracing::info!(delivery = %updated.id, error = %updated.last_error, attempts = updated.attempts, "postback failed; will retry");
            }
            store.finish_postback_blocking(updated.id, Some(updated))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TransactionId;
    use crate::model::{AttributedBy, ConversionSource, ConversionStatus, PostbackTemplate, TrackingParams, Visitor};
    use crate::money::Money;

    fn conversion() -> Conversion {
        Conversion {
            id: TimeId::generate(2_000_000),
            status: ConversionStatus::Approved,
            rejection: None,
            source: ConversionSource::Server,
            attributed_by: AttributedBy::TransactionId,
            transaction_id: Some(TransactionId::generate(1_000_000)),
            oid: 3,
            affid: 7,
            advertiser_id: 1,
            event: "signup".into(),
            amount: Some(Money::parse("49.9").unwrap()),
            payout: Money::parse("4.99").unwrap(),
            revenue: Money::parse("6").unwrap(),
            order_id: "A&B 1".into(),
            coupon_code: String::new(),
            adv: Default::default(),
            idempotency_key: String::new(),
            click_time_ms: Some(1_000_000),
            click_params: TrackingParams {
                sub: ["s 1".into(), "".into(), "".into(), "".into(), "".into()],
                ..Default::default()
            },
            visitor: Visitor::default(),
            duplicate_of: None,
        }
    }

    #[test]
    fn builds_urls_for_matching_templates_only() {
        let c = conversion();
        let template = |url: &str, offer_id, event: Option<&str>| PostbackTemplate {
            url: url.into(),
            offer_id,
            event: event.map(Into::into),
        };
        let partner = Partner {
            id: 7,
            name: "P".into(),
            postbacks: vec![
                template(
                    "https://p.example/pb?t={transaction_id}&p={payout}&e={event}&o={order_id}&s={sub1}",
                    None,
                    None,
                ),
                template("https://p.example/offer3", Some(3), Some("signup")),
                template("https://p.example/offer4", Some(4), None),
                template("https://p.example/base-only", None, Some("")),
            ],
        };
        let urls: Vec<String> = deliveries_for(&partner, &c, 5).into_iter().map(|d| d.url).collect();
        let tid = c.transaction_id.unwrap();
        assert_eq!(
            urls,
            vec![
                format!("https://p.example/pb?t={tid}&p=4.99&e=signup&o=A%26B%201&s=s%201"),
                "https://p.example/offer3".into()
            ]
        );
    }

    #[test]
    fn backs_off_then_pauses() {
        let policy =
            RetryPolicy { first_delay_ms: 100, max_delay_ms: 1_000, max_attempts: 4, ..RetryPolicy::default() };
        assert_eq!(policy.next_attempt_ms(1, 0), Some(100));
        assert_eq!(policy.next_attempt_ms(2, 0), Some(200));
        assert_eq!(policy.next_attempt_ms(3, 0), Some(400));
        assert_eq!(policy.next_attempt_ms(4, 0), None);
        let big = RetryPolicy { max_attempts: 100, ..policy };
        assert_eq!(big.next_attempt_ms(60, 0), Some(1_000), "capped, no overflow");

        let partner = Partner {
            id: 7,
            name: "P".into(),
            postbacks: vec![PostbackTemplate { url: "https://x.example/".into(), offer_id: None, event: None }],
        };
        let mut d = deliveries_for(&partner, &conversion(), 0).remove(0);
        for _ in 0..3 {
            d = after_failure(d, "HTTP 500".into(), &policy, 0);
            assert_eq!(d.status, DeliveryStatus::Pending);
        }
        d = after_failure(d, "HTTP 500".into(), &policy, 0);
        assert_eq!((d.status, d.attempts, d.last_error.as_str()), (DeliveryStatus::Paused, 4, "HTTP 500"));
    }
}
