//! Load benchmark: clicks and conversions per second and their latency, against a plain
//! actix-web endpoint that returns a constant answer, measured in the same run on the same
//! machine. Prints a table of figures and ratios; it asserts nothing.
//!
//! Usage (release build, so the figures mean something):
//!   cargo build --release -p clickstamp-collector --bins --examples
//!   target/release/examples/load_bench [--seconds 3] [--connections 1,16,128] [--relaxed]
//!
//! The collector runs as its own process with durable writes (group commit) unless
//! `--relaxed`; the load generator (keep-alive HTTP/1.1, one connection per thread) and the
//! baseline server share the machine with it, as a load test on one box does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

struct Options {
    seconds: u64,
    connections: Vec<usize>,
    relaxed: bool,
    bin: PathBuf,
}

fn options() -> Options {
    let me = std::env::current_exe().expect("own path");
    let bin = me.parent().and_then(Path::parent).map(|d| d.join("clickstamp")).expect("target dir");
    let mut o = Options { seconds: 3, connections: vec![1, 16, 128], relaxed: false, bin };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--relaxed" => o.relaxed = true,
            "--seconds" => o.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            "--connections" => {
                o.connections = it
                    .next()
                    .expect("--connections 1,16,128")
                    .split(',')
                    .map(|n| n.parse().expect("connection counts are integers"))
                    .collect()
            }
            "--bin" => o.bin = PathBuf::from(it.next().expect("--bin PATH")),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn wait_healthy(url: &str) {
    let a = agent();
    for _ in 0..1500 {
        if a.get(url).call().is_ok_and(|r| r.status() == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{url} did not answer in 30 s");
}

/// The baseline: an actix-web server with the collector's worker count that answers every
/// GET with a constant JSON body, run in this process.
fn start_baseline(port: u16) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new().route(
                    "/constant",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(r#"{"transaction_id":"0","error_code":0}"#)
                    }),
                )
            })
            .workers(2)
            .bind(("127.0.0.1", port))
            .expect("bind baseline")
            .run()
            .await
            .expect("baseline server")
        })
    });
}

fn start_collector(o: &Options, data: &Path, port: u16) -> Child {
    let mut cmd = Command::new(&o.bin);
    cmd.args(["serve", "--data", data.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}"), "--demo"])
        .args(["--click-rate-limit", "0", "--workers", "2"])
        .env("CLICKSTAMP_ADMIN_TOKEN", "bench")
        .env("CLICKSTAMP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if o.relaxed {
        cmd.arg("--relaxed");
    }
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", o.bin.display()))
}

#[derive(Clone, Copy)]
enum Scenario {
    Baseline,
    JsonClick,
    RedirectClick,
    Conversion,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline (constant)",
            Scenario::JsonClick => "JSON click",
            Scenario::RedirectClick => "redirect click",
            Scenario::Conversion => "S2S conversion",
        }
    }
}

struct Figures {
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// One connection's requests until `stop`; returns latencies in microseconds and errors.
fn connection(scenario: Scenario, port: u16, thread: usize, stop: &AtomicBool) -> (Vec<u32>, usize) {
    let a = agent();
    let base = format!("http://127.0.0.1:{port}");
    // A conversion needs a click to be attributed to: each connection makes one first. After
    // the first approval the rest are stored as duplicates: the same durable write path.
    let tid = match scenario {
        Scenario::Conversion => {
            let url = format!("{base}/clk?oid=1&affid=1&format=json&sub1=bench-{thread}");
            let body = a
                .get(&url)
                .header("User-Agent", USER_AGENT)
                .call()
                .ok()
                .and_then(|r| r.into_body().read_to_string().ok());
            let json: serde_json::Value = serde_json::from_str(&body.unwrap_or_default()).unwrap_or_default();
            json["transaction_id"].as_str().unwrap_or("").to_owned()
        }
        _ => String::new(),
    };
    let mut latencies = Vec::with_capacity(65_536);
    let mut errors = 0;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let started = Instant::now();
        let ok = match scenario {
            Scenario::Baseline => a
                .get(&format!("{base}/constant?oid=1&affid=1&sub1=t{thread}-{n}"))
                .call()
                .is_ok_and(|r| r.status() == 200),
            Scenario::JsonClick => a
                .get(&format!("{base}/clk?oid=1&affid=1&format=json&sub1=t{thread}-{n}"))
                .header("User-Agent", USER_AGENT)
                .call()
                .is_ok_and(|r| r.status() == 200),
            Scenario::RedirectClick => a
                .get(&format!("{base}/clk?oid=1&affid=1&sub1=t{thread}-{n}"))
                .header("User-Agent", USER_AGENT)
                .call()
                .is_ok_and(|r| r.status() == 302),
            Scenario::Conversion => a
                .post(&format!("{base}/conversion"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(format!("transaction_id={tid}&amount=10.00&order_id=o-{thread}-{n}&verification_token="))
                .is_ok_and(|r| r.status() == 200),
        };
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        if ok {
            latencies.push(micros);
        } else {
            errors += 1;
        }
    }
    (latencies, errors)
}

fn run(scenario: Scenario, port: u16, connections: usize, seconds: u64) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..connections)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || connection(scenario, port, t, &stop))
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().expect("load thread");
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).map_or(0.0, |v| *v as f64 / 1000.0)
    };
    Figures { errors, per_second: all.len() as f64 / elapsed, p50_ms: pct(0.50), p99_ms: pct(0.99) }
}

fn main() {
    let o = options();
    let data = tempfile::tempdir().expect("temp dir");
    let (collector_port, baseline_port) = (free_port(), free_port());
    start_baseline(baseline_port);
    let mut collector = start_collector(&o, data.path(), collector_port);
    wait_healthy(&format!("http://127.0.0.1:{collector_port}/healthz"));
    wait_healthy(&format!("http://127.0.0.1:{baseline_port}/constant"));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "load bench: {} s per cell, {} cores, collector {} ({} writes), 2 HTTP workers each",
        o.seconds,
        cores,
        o.bin.display(),
        if o.relaxed { "relaxed" } else { "durable" }
    );
    println!("| scenario | connections | req/s | p50 ms | p99 ms | errors | vs baseline |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for &connections in &o.connections {
        let base = run(Scenario::Baseline, baseline_port, connections, o.seconds);
        println!(
            "| {} | {connections} | {:.0} | {:.2} | {:.2} | {} | 1.00 |",
            Scenario::Baseline.name(),
            base.per_second,
            base.p50_ms,
            base.p99_ms,
            base.errors
        );
        for scenario in [Scenario::JsonClick, Scenario::RedirectClick, Scenario::Conversion] {
            let f = run(scenario, collector_port, connections, o.seconds);
            println!(
                "| {} | {connections} | {:.0} | {:.2} | {:.2} | {} | {:.2} |",
                scenario.name(),
                f.per_second,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                f.per_second / base.per_second.max(1.0)
            );
        }
    }
    let _ = collector.kill();
    let _ = collector.wait();
}
