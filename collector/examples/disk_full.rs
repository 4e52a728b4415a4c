//! Disk-full test: a store that cannot write answers 503 with a clear message and loses
//! nothing it acknowledged.
//!
//! Mounts a 4 MiB tmpfs (needs root; exits with status 77, "skipped", where mounting is not
//! allowed), runs the collector on it and sends clicks until the disk is full. Every answer
//! must be a 200 with a transaction ID or a 503 `storage_unavailable` JSON error, the process
//! must stay up and keep answering, and after the disk is grown again every acknowledged click
//! must be in the store.
//!
//! Usage: `cargo run --example disk_full -- [--bin PATH]`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clickstamp_collector::ids::TimeId;
use clickstamp_collector::store::{Durability, Store};

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const SKIPPED: i32 = 77;

fn default_bin() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.parent().and_then(Path::parent).map(|dir| dir.join("clickstamp")).expect("target dir")
}

fn mount(dir: &Path, size: &str, remount: bool) -> bool {
    let options = if remount { format!("remount,size={size}") } else { format!("size={size}") };
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &options, "tmpfs", dir.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

fn main() {
    let bin = std::env::args().skip_while(|a| a != "--bin").nth(1).map(PathBuf::from).unwrap_or_else(default_bin);
    let mount_point = tempfile::tempdir().expect("temp dir");
    if !mount(mount_point.path(), "4m", false) {
        println!("disk-full test: skipped (cannot mount a tmpfs here; it needs root)");
        std::process::exit(SKIPPED);
    }
    let _unmount = Unmount(mount_point.path());
    let data = mount_point.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let mut child = Command::new(&bin)
        .args(["serve", "--data", data.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}"), "--demo"])
        .args(["--click-rate-limit", "0"])
        .env("CLICKSTAMP_ADMIN_TOKEN", "disk-full")
        .env("CLICKSTAMP_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.get(&format!("{base}/healthz")).call().map_or(true, |r| r.status() != 200) {
        assert!(Instant::now() < deadline, "collector did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let pad = "p".repeat(250);
    let (mut acknowledged, mut refused) = (Vec::new(), 0usize);
    let mut n = 0u32;
    // Fill the disk, then keep going a while: a full store must keep refusing cleanly.
    while refused < 200 {
        n += 1;
        assert!(n < 200_000, "the 4 MiB disk never filled");
        let url = format!("{base}/clk?oid=1&affid=1&format=json&sub1={pad}&sub2={pad}&sub3={n}");
        let resp = agent.get(&url).header("User-Agent", USER_AGENT).call().expect("the collector stays up");
        let status = resp.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&resp.into_body().read_to_string().expect("body")).expect("JSON");
        match status {
            200 => acknowledged.push((TimeId::parse(body["transaction_id"].as_str().unwrap()).unwrap(), n)),
            503 => {
                assert_eq!(body["code"], "storage_unavailable", "{body}");
                assert!(body["message"].as_str().is_some_and(|m| m.contains("nothing was recorded")), "{body}");
                refused += 1;
            }
            other => panic!("a full disk answered {other}: {body}"),
        }
    }
    let health = agent.get(&format!("{base}/healthz")).call().map(|r| r.status().as_u16());
    assert_eq!(health.ok(), Some(200), "reads still work on a full disk");
    let _ = child.kill();
    let _ = child.wait();

    // Give the store room again; everything acknowledged must be there.
    assert!(mount(mount_point.path(), "64m", true), "cannot grow the tmpfs");
    let store = Store::open(&data, Durability::Durable).expect("the store opens once there is room");
    for (tid, n) in &acknowledged {
        let click = store.click(tid).expect("click decodes").unwrap_or_else(|| panic!("acknowledged click {n} lost"));
        assert_eq!(click.params.sub[2], n.to_string());
    }
    store.close();
    println!(
        "disk-full test passed: {} clicks acknowledged before the 4 MiB disk filled, then {} refused with 503 storage_unavailable; the collector stayed up and all {} acknowledged clicks were intact",
        acknowledged.len(),
        refused,
        acknowledged.len()
    );
}
