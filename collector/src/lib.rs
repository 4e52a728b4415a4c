//! # clickstamp collector
//!
//! Records clicks and impressions, issues transaction IDs, attributes conversions and serves
//! reports, on an embedded sled store. The one question it answers: which partner sent this
//! customer?
//!
//! Layout (a request reads top to bottom: HTTP handler → parse → pure decision → one store
//! call → response):
//!
//! | module | job |
//! |---|---|
//! | [`cli`] | command line → server |
//! | [`http`] | the only actix code: routes, handlers, JSON errors, static files |
//! | [`service`] | one file per command: load, decide, write |
//! | [`params`] | query/form decoding and parameter validation (pure) |
//! | [`filters`] | which clicks are valid, where they go (pure) |
//! | [`destination`] | macro expansion into configured destinations (pure) |
//! | [`attribution`] | who gets a conversion, duplicate rules, payouts (pure) |
//! | [`postbacks`] | partner postback URLs and retry schedule (pure), the outbox worker |
//! | [`ids`], [`money`], [`model`] | transaction IDs, exact money, the records |
//! | [`maintenance`] | background housekeeping (forgetting visitors past every duplicate window) |
//! | [`metrics`] | process counters rendered as Prometheus text |
//! | [`store`] | the only sled code: trees, codecs, the group-commit writer |
//!
//! Invariants: a 2xx means the record survives `kill -9`; bad input gets a JSON error and
//! changes nothing; redirects go only to configured destinations; a conversion is counted at
//! most once per its duplicate rule, whatever the retries.

pub mod attribution;
pub mod cli;
pub mod destination;
pub mod filters;
pub mod http;
pub mod ids;
pub mod maintenance;
pub mod metrics;
pub mod model;
pub mod money;
pub mod params;
pub mod postbacks;
pub mod service;
pub mod store;
