//! The command line: `clickstamp serve --data DIR --addr HOST:PORT [--demo] …`.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::num::NonZeroU32;

use crate::http::rate_limit::ClickRateLimiter;
use crate::http::{serve, AppState, ServerOptions};
use crate::maintenance::Maintenance;
use crate::postbacks::{PostbackWorker, RetryPolicy};
use crate::service::now_ms;
use crate::service::setup::{admin_token, seed_demo, seed_demo_traffic, AdminToken};
use crate::store::{Durability, Store};

pub const USAGE: &str = "\
clickstamp — first-party click and conversion tracker

USAGE:
    clickstamp serve [OPTIONS]

OPTIONS:
    --data DIR             sled data directory [default: clickstamp-data]
    --addr HOST:PORT       collector listen address [default: 127.0.0.1:8080]
    --public-url URL       how browsers reach the collector [default: http://<addr>]
    --www DIR              static files (SDK build in DIR/sdk, demo in DIR/demo) [default: the repo's www/]
    --demo                 seed a demo advertiser, offer 1 and partners 1 and 2
    --demo-traffic         with --demo: record one click and its conversion on first start
    --demo-site HOST:PORT  also serve the demo advertiser site (www/demo) on this address
    --relaxed              acknowledge writes before they are flushed (faster; a crash can
                           lose the last ~500 ms of acknowledged writes)
    --trust-proxy          take the client IP from X-Forwarded-For (only behind your own proxy)
    --workers N            HTTP worker threads [default: one per core]
    --click-rate-limit N   clicks+impressions per second per IP, bursts of 5×N; over it: 429,
                           counted, not stored; 0 = off [default: 20]

ENVIRONMENT:
    CLICKSTAMP_ADMIN_TOKEN  admin API token; without it one is generated on first start,
                            stored, and printed once
    CLICKSTAMP_LOG          log level: error, warn, info (default), debug, trace
";

/// A visitor's IP may burst to this many seconds' worth of clicks.
const BURST_FACTOR: NonZeroU32 = NonZeroU32::new(5).unwrap();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    pub data: PathBuf,
    pub addr: SocketAddr,
    pub public_url: Option<String>,
    pub www: PathBuf,
    pub demo: bool,
    /// With `demo`: record one click and its conversion on first start, so the dashboard
    /// has something to show before anyone clicks.
    pub demo_traffic: bool,
    pub demo_site: Option<SocketAddr>,
    pub relaxed: bool,
    pub trust_proxy: bool,
    pub workers: Option<usize>,
    /// Clicks and impressions per second per IP (bursts of 5×); 0 turns the limit off.
    pub click_rate_limit: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("help requested")]
    Help,
}

fn default_www() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))
}

pub fn parse_args(args: &[String]) -> Result<ServeArgs, CliError> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("serve") => {}
        Some("-h" | "--help" | "help") | None => return Err(CliError::Help),
        Some(other) => return Err(CliError::Usage(format!("unknown command '{other}'"))),
    }
    let mut out = ServeArgs {
        data: PathBuf::from("clickstamp-data"),
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        public_url: None,
        www: default_www(),
        demo: false,
        demo_traffic: false,
        demo_site: None,
        relaxed: false,
        trust_proxy: false,
        workers: None,
        click_rate_limit: 20,
    };
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| CliError::Usage(format!("{name} needs a value")));
        let addr = |name: &str, v: String| {
            v.parse::<SocketAddr>()
                .map_err(|_| CliError::Usage(format!("{name} must be HOST:PORT with an IP, got '{v}'")))
        };
        match flag.as_str() {
            "--data" => out.data = PathBuf::from(value("--data")?),
            "--addr" => out.addr = addr("--addr", value("--addr")?)?,
            "--public-url" => out.public_url = Some(value("--public-url")?.trim_end_matches('/').to_owned()),
            "--www" => out.www = PathBuf::from(value("--www")?),
            "--demo" => out.demo = true,
            "--demo-traffic" => out.demo_traffic = true,
            "--demo-site" => out.demo_site = Some(addr("--demo-site", value("--demo-site")?)?),
            "--relaxed" => out.relaxed = true,
            "--trust-proxy" => out.trust_proxy = true,
            "--workers" => {
                let v = value("--workers")?;
                out.workers = Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| CliError::Usage(format!("--workers must be a positive integer, got '{v}'")))?,
                )
            }
            "--click-rate-limit" => {
                let v = value("--click-rate-limit")?;
                out.click_rate_limit = v.parse().map_err(|_| {
                    CliError::Usage(format!("--click-rate-limit must be a whole number (0 = off), got '{v}'"))
                })?
            }
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(CliError::Usage(format!("unknown option '{other}'"))),
        }
    }
    Ok(out)
}

/// A browser-usable origin for a listen address (0.0.0.0 is not somewhere to browse to).
fn origin(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    format!("http://{host}:{}", addr.port())
}

pub async fn run_serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let durability = if args.relaxed { Durability::Relaxed } else { Durability::Durable };
    let store = Store::open(&args.data, durability)?;
    let collector_url = args.public_url.clone().unwrap_or_else(|| origin(args.addr));
    let token = admin_token(&store, std::env::var("CLICKSTAMP_ADMIN_TOKEN").ok()).await?;
    if let AdminToken::Generated(secret) = &token {
        // Printed once, to the terminal only: it is not logged.
        println!("Admin token (shown once; set CLICKSTAMP_ADMIN_TOKEN to choose your own): {secret}");
    }
    let demo_site = args.demo_site.map(|addr| (addr, collector_url.clone()));
    if args.demo {
        let site = args.demo_site.map(origin).unwrap_or_else(|| "http://127.0.0.1:8081".into());
        seed_demo(&store, &site).await?;
        tracing::info!(site = %site, "demo data seeded: advertiser 1, offer 1, partners 1 and 2");
        if args.demo_traffic {
            if let Some((click, conversion)) = seed_demo_traffic(&store, now_ms()).await? {
                tracing::info!(transaction_id = %click, conversion_id = %conversion, "demo click and conversion recorded");
            }
        }
        println!("Demo ready:");
        println!("  dashboard:                 {collector_url}/dashboard/");
        // A demo's token is no secret worth hiding from the person running it.
        println!("  admin token (sign-in):     {}", token.secret());
        println!("  direct link (ad click):    {site}/index.html?oid=1&affid=1&sub1=spring&gclid=demo-gclid");
        println!("  redirect link (partner 2): {collector_url}/clk?oid=1&affid=2&sub1=newsletter");
        println!("  then buy on the shop's page, or open {site}/thank-you.html");
    }
    tracing::info!(addr = %args.addr, data = %args.data.display(), durability = ?durability, "collector listening");
    let mut state = AppState::new(store.clone(), token.secret().to_owned(), args.www);
    state.trust_proxy = args.trust_proxy;
    state.click_limiter = NonZeroU32::new(args.click_rate_limit)
        .map(|per_second| ClickRateLimiter::new(per_second, per_second.saturating_mul(BURST_FACTOR)));
    let postbacks = PostbackWorker::spawn(store.clone(), RetryPolicy::default())?;
    let maintenance = Maintenance::spawn(store.clone())?;
    let result = serve(state, ServerOptions { addr: args.addr, demo_site, workers: args.workers }).await;
    maintenance.stop();
    postbacks.stop();
    store.close();
    tracing::info!("store flushed and closed");
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_serve() {
        let a = parse_args(&args("serve --data /tmp/x --addr 0.0.0.0:9000 --demo --demo-site 127.0.0.1:9001")).unwrap();
        assert_eq!(a.data, PathBuf::from("/tmp/x"));
        assert_eq!(a.addr, "0.0.0.0:9000".parse().unwrap());
        assert!(a.demo && !a.relaxed);
        assert_eq!(a.demo_site, Some("127.0.0.1:9001".parse().unwrap()));
        assert_eq!(origin(a.addr), "http://127.0.0.1:9000");
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(matches!(parse_args(&args("serve --addr localhost")), Err(CliError::Usage(_))));
        assert!(matches!(parse_args(&args("serve --bogus")), Err(CliError::Usage(_))));
        assert!(matches!(parse_args(&args("serve --data")), Err(CliError::Usage(_))));
        assert!(matches!(parse_args(&args("launch")), Err(CliError::Usage(_))));
        assert_eq!(parse_args(&args("--help")), Err(CliError::Help));
        assert_eq!(parse_args(&[]), Err(CliError::Help));
    }
}
