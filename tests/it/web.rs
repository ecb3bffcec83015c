//! The web app in a real browser: a devnet (the `cairn` binary, quiet, in memory) with a rewards
//! root its staker can claim, then `scripts/web-test/run.mjs` in Debian's Chromium through
//! playwright-core, both installed by `scripts/install-browser.sh`. Screenshots of every page go
//! to `target/web-test/screenshots`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::U256;
use cairn_node::{
    Domain,
    client::Client,
    devnet::{self, DevKeys},
    envelope::address_of,
};
use serde_json::json;

use crate::node::temp_dir;

const STAKERS: usize = 20;

struct Devnet {
    child: Child,
    dir: PathBuf,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `scripts/install-browser.sh`: Chromium and the npm packages; returns their directory.
fn install() -> PathBuf {
    let out = Command::new("bash").arg(repo().join("scripts/install-browser.sh")).output().expect("runs the script");
    assert!(out.status.success(), "install-browser.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim())
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within {limit:?}");
}

/// Signs `tx` from `key` with its pending nonce and waits for its commit; asserts it was accepted.
async fn submit(c: &Client, key: &k256::ecdsa::SigningKey, tx: &cairn_state::Tx) {
    let from = address_of(key);
    let (_, acct) = c.get(&format!("/v1/accounts/{from}")).await.expect("account");
    let nonce = acct["pending_nonce"].as_u64().expect("nonce");
    let (_, health) = c.get("/health").await.expect("health");
    let now = health["now"].as_u64().expect("now");
    let signed = Domain::new(devnet::CHAIN_ID).sign(key, tx, nonce, now + 600);
    let (status, answer) =
        c.post("/v1/tx?wait=true", &serde_json::to_value(signed).expect("json")).await.expect("posts");
    assert!(status < 300 && answer["status"]["receipt"]["ok"] == true, "{status}: {answer}");
}

#[test]
fn the_web_app_in_a_real_browser() {
    let modules = install();
    let dir = temp_dir("web");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(crate::cli::cairn())
        .args(["devnet", "--in-memory", "--no-workers", "--stakers", &STAKERS.to_string()])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--exempt-ip", "127.0.0.1", "--data-dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts the devnet");
    let _devnet = Devnet { child, dir };
    let keys = DevKeys::new(STAKERS);
    let staker = &keys.stakers[0];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = Client::new(&base);
        // The world is seeded once the vault exists and nothing waits.
        wait_for("the devnet's world", Duration::from_secs(120), || async {
            let vaults = c.get("/v1/vaults").await.ok().map(|(_, v)| v);
            let health = c.get("/health").await.ok().map(|(_, v)| v);
            vaults.is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
                && health.is_some_and(|h| h["mempool"] == 0)
        })
        .await;
        // A rewards root the staker can claim: every service pays for the current hour, the
        // hour closes, the root is posted, and its activation delay passes.
        let (_, health) = c.get("/health").await.expect("health");
        let now = health["now"].as_u64().expect("now");
        for (key, tx) in devnet::reward_txs(&keys, now, U256::from(devnet::HOURLY_REWARD)) {
            submit(&c, &key, &tx).await;
        }
        let time = |seconds: u64| json!({"advance_seconds": seconds, "mine": true});
        assert_eq!(c.post("/v1/dev/time", &time(7_300)).await.expect("time").0, 200);
        let (status, root) = c.post("/v1/dev/rewards-root?wait=true", &json!({})).await.expect("root");
        assert!(status < 300 && root["status"]["receipt"]["ok"] == true, "{status}: {root}");
        assert_eq!(c.post("/v1/dev/time", &time(7_300)).await.expect("time").0, 200);
        let (_, rewards) = c.get(&format!("/v1/rewards/{}", address_of(staker))).await.expect("rewards");
        let claimable = rewards["tokens"].as_array().is_some_and(|t| t.iter().any(|x| x["claimable"] != "0"));
        assert!(claimable, "the staker has rewards to claim: {rewards}");
    });

    let runner = modules.join("run.mjs");
    std::fs::copy(repo().join("scripts/web-test/run.mjs"), &runner).expect("copies the runner");
    let out = modules.join("screenshots");
    let result = Command::new("node")
        .arg(&runner)
        .env("BASE", &base)
        .env("OUT", &out)
        .env("KEY", devnet::key_hex(staker))
        .env("ADDRESS", address_of(staker).to_string().to_lowercase())
        .output()
        .expect("runs node");
    let log = format!("{}{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    assert!(result.status.success(), "the browser test failed (screenshots in {}):\n{log}", out.display());
    for page in ["network", "account", "preview", "refused", "vault", "risk", "operator", "service"] {
        assert!(out.join(format!("{page}.png")).is_file(), "no screenshot of {page}");
    }
}
