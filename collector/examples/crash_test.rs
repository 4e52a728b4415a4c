//! Crash test: nothing acknowledged is lost, nothing is half-written or doubled.
//!
//! Drives JSON clicks and S2S conversions at a real collector process from many connections,
//! kills it with SIGKILL at random moments, and after each kill opens its data directory and
//! checks that every acknowledged click and conversion is there, intact, with consistent
//! report counters, and that no transaction has two approved conversions. Conversions whose
//! answer was lost in the kill are retried after the restart with the same idempotency key:
//! each must end up counted once. Every other round also kills a collector while it is still
//! opening its store.
//!
//! Usage: `cargo run --example crash_test -- [--kills N] [--connections N] [--bin PATH]`
//! (the collector binary defaults to the one built next to this example).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickstamp_collector::ids::TimeId;
use clickstamp_collector::model::ConversionStatus;
use clickstamp_collector::store::{Durability, Store};

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const TOKEN: &str = "crash-test-token";

#[derive(Default)]
struct Acknowledged {
    /// Transaction ID → sub1 sent with it.
    clicks: HashMap<TimeId, String>,
    /// Conversion ID → (transaction ID, status answered).
    conversions: HashMap<TimeId, (TimeId, String)>,
    /// Conversions sent but not answered (the kill came first): retried after the restart.
    unanswered: Vec<(TimeId, String)>,
}

struct Options {
    kills: usize,
    connections: usize,
    bin: PathBuf,
}

fn options() -> Options {
    let mut o = Options { kills: 5, connections: 16, bin: default_bin() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--kills" => o.kills = value.parse().expect("--kills N"),
            "--connections" => o.connections = value.parse().expect("--connections N"),
            "--bin" => o.bin = PathBuf::from(value),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

/// `target/<profile>/clickstamp`, next to `target/<profile>/examples/crash_test`.
fn default_bin() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.parent().and_then(Path::parent).map(|dir| dir.join("clickstamp")).expect("target dir")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start(bin: &Path, data: &Path, port: u16) -> Child {
    Command::new(bin)
        .args(["serve", "--data", data.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}"), "--demo"])
        .args(["--click-rate-limit", "0"])
        .env("CLICKSTAMP_ADMIN_TOKEN", TOKEN)
        .env("CLICKSTAMP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

fn wait_healthy(agent: &ureq::Agent, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if agent.get(&format!("http://127.0.0.1:{port}/healthz")).call().is_ok_and(|r| r.status() == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("collector did not become healthy in 30 s");
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn random_key() -> String {
    clickstamp_collector::ids::random_secret()
}

/// One connection's loop: a click, then a conversion for it, until stopped.
fn drive(port: u16, worker: usize, stop: &AtomicBool, acked: &Mutex<Acknowledged>, sent: &AtomicU64) {
    let agent = agent();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let sub1 = format!("w{worker}-{n}");
        let url = format!("http://127.0.0.1:{port}/clk?oid=1&affid=1&sub1={sub1}&format=json");
        sent.fetch_add(1, Ordering::Relaxed);
        let Ok(resp) = agent.get(&url).header("User-Agent", USER_AGENT).call() else { continue };
        let Ok(body) = resp.into_body().read_to_string() else { continue };
        let json: serde_json::Value = serde_json::from_str(&body).expect("click answer is JSON");
        let tid = TimeId::parse(json["transaction_id"].as_str().unwrap_or("")).expect("a valid click has an ID");
        acked.lock().unwrap().clicks.insert(tid, sub1);

        let key = random_key();
        match send_conversion(&agent, port, tid, &key) {
            Some((conversion_id, status)) => {
                acked.lock().unwrap().conversions.insert(conversion_id, (tid, status));
            }
            None => acked.lock().unwrap().unanswered.push((tid, key)),
        }
    }
}

fn send_conversion(agent: &ureq::Agent, port: u16, tid: TimeId, key: &str) -> Option<(TimeId, String)> {
    let url = format!("http://127.0.0.1:{port}/conversion");
    let body = format!("transaction_id={tid}&amount=10.00&idempotency_key={key}");
    let resp = agent.post(&url).header("Content-Type", "application/x-www-form-urlencoded").send(body).ok()?;
    if resp.status() != 200 {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&resp.into_body().read_to_string().ok()?).ok()?;
    let id = TimeId::parse(json["conversion_id"].as_str()?).ok()?;
    Some((id, json["status"].as_str()?.to_owned()))
}

/// Open the dead collector's data and check every promise. Returns (clicks, conversions) stored.
fn verify(data: &Path, acked: &Acknowledged) -> (usize, usize) {
    let store = Store::open(data, Durability::Durable).expect("the data directory opens after a kill");
    for (tid, sub1) in &acked.clicks {
        let click = store.click(tid).expect("click decodes").unwrap_or_else(|| panic!("acknowledged click {tid} lost"));
        assert_eq!(&click.params.sub[0], sub1, "click {tid} changed");
    }
    for (id, (tid, status)) in &acked.conversions {
        let c = store
            .conversion(id)
            .expect("conversion decodes")
            .unwrap_or_else(|| panic!("acknowledged conversion {id} lost"));
        assert_eq!((c.transaction_id, c.status.as_str()), (Some(*tid), status.as_str()), "conversion {id} changed");
    }
    let clicks = store.clicks_page(None, usize::MAX, |_| true).expect("clicks decode").rows;
    let conversions = store.conversions_page(None, usize::MAX, |_| true).expect("conversions decode").rows;
    let mut approved = HashSet::new();
    for c in conversions.iter().filter(|c| c.status == ConversionStatus::Approved) {
        assert!(approved.insert(c.transaction_id), "transaction {:?} has two approved conversions", c.transaction_id);
    }
    // Counters are written in the same transaction as their records: they must add up.
    let totals = store.counters(0, u32::MAX).expect("counters decode");
    let gross: u64 = totals.iter().map(|t| t.3.gross_clicks).sum();
    let counted: u64 = totals.iter().map(|t| t.3.conversions).sum();
    assert_eq!(gross as usize, clicks.len(), "click counters disagree with stored clicks (half-written batch)");
    assert_eq!(counted as usize, approved.len(), "conversion counters disagree with stored conversions");
    store.close();
    (clicks.len(), conversions.len())
}

fn main() {
    let o = options();
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut seed = clickstamp_collector::service::now_ms();
    println!("crash test: {} kills, {} connections, {}", o.kills, o.connections, o.bin.display());

    for round in 1..=o.kills {
        if round % 2 == 0 {
            // A kill while the collector is still opening its store (sled writes a snapshot
            // then): the next start must still open the data with everything in it.
            let mut early = start(&o.bin, data.path(), port);
            std::thread::sleep(Duration::from_millis(seed % 40));
            early.kill().expect("SIGKILL");
            early.wait().expect("reaped");
        }
        let mut child = start(&o.bin, data.path(), port);
        let client = agent();
        wait_healthy(&client, port);

        // Answers lost in the last kill: the same idempotency key must not count twice.
        let retries = std::mem::take(&mut acked.lock().unwrap().unanswered);
        let mut retried = 0;
        for (tid, key) in retries {
            if !acked.lock().unwrap().clicks.contains_key(&tid) {
                continue;
            }
            if let Some((id, status)) = send_conversion(&client, port, tid, &key) {
                acked.lock().unwrap().conversions.insert(id, (tid, status));
                retried += 1;
            }
        }

        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..o.connections)
            .map(|w| {
                let (stop, acked, sent) = (stop.clone(), acked.clone(), sent.clone());
                std::thread::spawn(move || drive(port, w, &stop, &acked, &sent))
            })
            .collect();
        // A pseudo-random moment between 0.3 and 1.5 s into the load.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(300 + seed % 1200);
        std::thread::sleep(run_for);
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().expect("client thread");
        }

        let snapshot = acked.lock().unwrap();
        let (clicks, conversions) = verify(data.path(), &snapshot);
        println!(
            "kill {round}: after {} ms — {} clicks and {} conversions acknowledged so far ({} retried), {} clicks and {} conversions stored: all acknowledged present",
            run_for.as_millis(),
            snapshot.clicks.len(),
            snapshot.conversions.len(),
            retried,
            clicks,
            conversions
        );
    }
    let a = acked.lock().unwrap();
    println!(
        "crash test passed: {} kills in {:.1} s; {} requests sent; {} clicks and {} conversions acknowledged, 0 lost, 0 doubled",
        o.kills,
        started.elapsed().as_secs_f64(),
        sent.load(Ordering::Relaxed),
        a.clicks.len(),
        a.conversions.len()
    );
}
