//! Load benchmark: clicks and conversions per second and their latency, against a plain
//! actix-web endpoint that returns a constant answer, measured in the same run on the same
//! machine. Prints a table of figures and ratios; it asserts nothing.
//!
//! Usage (release build, so the figures mean something):
//!   cargo build --release -p clickstamp-collector --bins --examples
//!   target/release/examples/load_bench [--seconds 3] [--connections 1,16,128] [--relaxed]
//!
//! The collector runs as its own process with durable writes (group commit) unless
//! `--relaxed`; the load generator (wrk, keep-alive HTTP/1.1) and the baseline server share
//! the machine with it, as a load test on one box does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    per_second: f64,
    /// CPU time (user + system) the server process spent per request, in microseconds:
    /// steadier than throughput on a machine that is busy with other work.
    cpu_micros_per_request: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Non-2xx/3xx answers and socket errors.
    errors: u64,
}

/// wrk's Lua: the scenario's method, path, headers and body; a per-request counter makes
/// every click's sub1 and every conversion's order ID distinct.
fn wrk_script(scenario: Scenario, tid: &str) -> String {
    let (method, path, body) = match scenario {
        Scenario::Baseline => ("GET", "/constant?oid=1&affid=1&sub1=", ""),
        Scenario::JsonClick => ("GET", "/clk?oid=1&affid=1&format=json&sub1=", ""),
        Scenario::RedirectClick => ("GET", "/clk?oid=1&affid=1&sub1=", ""),
        Scenario::Conversion => ("POST", "/conversion", "amount=10.00&transaction_id="),
    };
    format!(
        r#"local n = 0
wrk.method = "{method}"
wrk.headers["User-Agent"] = "{USER_AGENT}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  n = n + 1
  if wrk.method == "POST" then
    return wrk.format(nil, "{path}", nil, "{body}{tid}&order_id=" .. n .. "-" .. math.random(1e9))
  end
  return wrk.format(nil, "{path}" .. n .. "-" .. math.random(1e9))
end
"#
    )
}

/// CPU time a process has used, in clock ticks (utime + stime from /proc).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// Clock ticks per second (USER_HZ): 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// Run wrk against `port` (served by process `server_pid`) and read its summary.
fn run(scenario: Scenario, port: u16, server_pid: u32, connections: usize, seconds: u64, tid: &str) -> Figures {
    let cpu_before = cpu_ticks(server_pid);
    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), wrk_script(scenario, tid)).expect("write wrk script");
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"])
        .args(["-s", script.path().to_str().unwrap(), &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("wrk is installed (apt-get install wrk; scripts/bench.sh does it)");
    let cpu_ticks_used = cpu_ticks(server_pid).saturating_sub(cpu_before);
    let text = String::from_utf8_lossy(&output.stdout);
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let number_after = |label: &str| -> Option<&str> {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .map(|rest| rest.split_whitespace().next().unwrap_or(""))
    };
    let millis = |v: &str| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let num: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => num / 1000.0,
            "ms" => num,
            "s" => num * 1000.0,
            "m" => num * 60_000.0,
            _ => f64::NAN,
        }
    };
    let errors =
        text.lines()
            .filter_map(|l| l.trim_start().strip_prefix("Non-2xx or 3xx responses:"))
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum::<u64>()
            + text.lines().find_map(|l| l.trim_start().strip_prefix("Socket errors:")).map_or(0, |rest| {
                rest.split(',').filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok()).sum()
            });
    Figures {
        per_second: number_after("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        cpu_micros_per_request: cpu_ticks_used as f64 / TICKS_PER_SECOND * 1e6 / requests.max(1.0),
        p50_ms: number_after("50%").map_or(f64::NAN, millis),
        p99_ms: number_after("99%").map_or(f64::NAN, millis),
        errors,
    }
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
    println!("| scenario | connections | req/s | p50 ms | p99 ms | errors | vs baseline | server CPU µs/req |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (me, collector_pid) = (std::process::id(), collector.id());
    // Conversions are attributed to one click; after the first approval the rest are stored
    // as duplicates (distinct order IDs): the same durable write path as approvals.
    let click = agent()
        .get(&format!("http://127.0.0.1:{collector_port}/clk?oid=1&affid=1&format=json&sub1=bench"))
        .header("User-Agent", USER_AGENT)
        .call()
        .expect("a click for the conversions")
        .into_body()
        .read_to_string()
        .expect("click answer");
    let tid = serde_json::from_str::<serde_json::Value>(&click).expect("JSON")["transaction_id"]
        .as_str()
        .expect("transaction ID")
        .to_owned();
    for &connections in &o.connections {
        let base = run(Scenario::Baseline, baseline_port, me, connections, o.seconds, &tid);
        println!(
            "| {} | {connections} | {:.0} | {:.2} | {:.2} | {} | 1.00 | {:.0} |",
            Scenario::Baseline.name(),
            base.per_second,
            base.p50_ms,
            base.p99_ms,
            base.errors,
            base.cpu_micros_per_request
        );
        for scenario in [Scenario::JsonClick, Scenario::RedirectClick, Scenario::Conversion] {
            let f = run(scenario, collector_port, collector_pid, connections, o.seconds, &tid);
            println!(
                "| {} | {connections} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.0} |",
                scenario.name(),
                f.per_second,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                f.per_second / base.per_second.max(1.0),
                f.cpu_micros_per_request
            );
        }
    }
    let _ = collector.kill();
    let _ = collector.wait();
}
