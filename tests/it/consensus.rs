//! Four validators under the real CometBFT binary (v0.38, installed by
//! `scripts/install-cometbft.sh`), each a `cometbft` process and a `cairn node --abci` process
//! on loopback ports: the same app hash at every height with traffic on every API; a SIGKILLed
//! validator catching up; two of four down halting the chain without a fork; a diverging
//! application halted while the honest three go on; bad transactions refused at CheckTx.
//!
//! The tests take one lock (they run one at a time: eight processes each on two cores); every
//! wait is bounded in time and every process is stopped by its id.

use std::{
    path::PathBuf,
    process::Command,
    sync::{Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use alloy_primitives::U256;
use cairn_cli::testnet::{Layout, Testnet, Workers};
use cairn_node::{
    abci::{Fault, JUNK, tx_bytes},
    client::Client,
    devnet,
    envelope::address_of,
    node::unix_now,
};
use cairn_primitives::AssetId;
use cairn_state::Tx;
use serde_json::{Value, json};

use crate::node::temp_dir;

/// Stakers in the test genesis.
const STAKERS: usize = 24;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The CometBFT binary, installed by the repository's script on first use.
fn cometbft() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-cometbft.sh");
        let out = Command::new("bash").arg(&script).output().expect("runs install-cometbft.sh");
        assert!(out.status.success(), "install-cometbft.sh failed: {}", String::from_utf8_lossy(&out.stderr));
        let path = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_owned();
        PathBuf::from(path)
    })
    .clone()
}

struct Net {
    net: Testnet,
    rt: tokio::runtime::Runtime,
    apis: Vec<Client>,
    rpcs: Vec<Client>,
    dir: PathBuf,
    keys: devnet::DevKeys,
}

impl Net {
    /// Validator 0 seeds the devnet's world with `seed`; otherwise no one signs in the
    /// background.
    fn start(tag: &str, seed: bool) -> Self {
        let dir = temp_dir(tag);
        let base = cairn_cli::testnet::free_ports(16).expect("free ports");
        let layout = Layout {
            dir: dir.clone(),
            validators: 4,
            api_port: base + 12,
            base_port: base,
            stakers: STAKERS,
            block_ms: 200,
        };
        let apis = (0..4).map(|i| Client::new(&layout.api(i))).collect();
        let rpcs = (0..4).map(|i| Client::new(&layout.rpc(i))).collect();
        let net = Testnet::start(
            layout,
            crate::cli::cairn().to_path_buf(),
            cometbft(),
            if seed { Workers::Seed } else { Workers::None },
        )
        .expect("testnet starts");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        Self { net, rt, apis, rpcs, dir, keys: devnet::DevKeys::new(STAKERS) }
    }

    fn get(&self, c: &Client, path: &str) -> Option<Value> {
        let r = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), c.get(path)).await });
        match r {
            Ok(Ok((200, v))) => Some(v),
            _ => None,
        }
    }

    /// Validator `i`'s committed height, if it answers.
    fn height(&self, i: usize) -> Option<u64> {
        self.get(&self.apis[i], "/health")?["height"].as_u64()
    }

    /// Waits until `ok` holds, polling; fails the test after `limit` with `what`.
    fn wait(&mut self, limit: Duration, what: &str, mut ok: impl FnMut(&mut Self) -> bool) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{what}: not after {limit:?}; logs in {}", self.dir.display());
    }

    /// Waits until validator 0 has seeded the devnet's world and every listed validator is past
    /// `height`.
    fn wait_past(&mut self, who: &[usize], height: u64, limit: Duration) {
        let who = who.to_vec();
        self.wait(limit, &format!("validators {who:?} past height {height}"), |n| {
            who.iter().all(|&i| n.height(i).is_some_and(|h| h > height))
        });
    }

    fn wait_seeded(&mut self) {
        let log = self.net.layout.home(0).join("cairn.log");
        self.wait(Duration::from_secs(120), "the world seeded", |_| {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("the world is seeded"))
        });
    }

    /// Validator `i`'s state hash at `height` (from its API) and CometBFT's app hash recorded in
    /// the next block's header (from its RPC), when both are there.
    fn hashes(&self, i: usize, height: u64) -> Option<(String, Option<String>)> {
        let ours = self.get(&self.apis[i], &format!("/v1/blocks/{height}"))?;
        let state = ours["header"]["state_hash"].as_str()?.trim_start_matches("0x").to_lowercase();
        let comet = self
            .get(&self.rpcs[i], &format!("/block?height={}", height + 1))
            .and_then(|b| b["result"]["block"]["header"]["app_hash"].as_str().map(str::to_lowercase));
        Some((state, comet))
    }

    /// Asserts that the listed validators agree at every height from 1 to `to`: one state hash
    /// per height, and CometBFT's app hash equal to it.
    fn assert_agree(&self, who: &[usize], to: u64) {
        for h in 1..=to {
            let seen: Vec<(String, Option<String>)> = who
                .iter()
                .map(|&i| self.hashes(i, h).unwrap_or_else(|| panic!("validator {i} lacks block {h}")))
                .collect();
            let first = &seen[0].0;
            for (k, (state, comet)) in seen.iter().enumerate() {
                assert_eq!(state, first, "height {h}: validator {} has another state hash (a fork)", who[k]);
                if let Some(c) = comet {
                    assert_eq!(c, first, "height {h}: validator {}'s CometBFT app hash is not the state hash", who[k]);
                }
            }
        }
    }

    /// Waits until the listed validators report the same head, then asserts one full state hash.
    fn assert_same_full_state(&mut self, who: &[usize]) {
        let who = who.to_vec();
        let mut last = Vec::new();
        self.wait(Duration::from_secs(30), "one head and one full state hash", |n| {
            let states: Vec<Option<(u64, String)>> = who
                .iter()
                .map(|&i| {
                    let s = n.get(&n.apis[i], "/v1/state")?;
                    Some((s["head"]["height"].as_u64()?, s["full_state_hash"].as_str()?.to_owned()))
                })
                .collect();
            last = states.clone();
            let heads: Vec<_> = states.iter().map(|s| s.as_ref().map(|x| x.0)).collect();
            if heads.iter().any(Option::is_none) || heads.windows(2).any(|w| w[0] != w[1]) {
                return false;
            }
            let hashes: Vec<_> = states.iter().map(|s| s.as_ref().map(|x| x.1.clone())).collect();
            assert!(hashes.windows(2).all(|w| w[0] == w[1]), "same head, different full states: {states:?}");
            true
        });
        assert!(!last.is_empty());
    }

    /// Signs `per` stETH transfers for each staker in `stakers` (nonces from validator 0's API)
    /// and submits staker k's to validator `apis[k % apis.len()]`; returns the hashes.
    fn submit(&self, stakers: std::ops::Range<usize>, per: u64, apis: &[usize]) -> Vec<String> {
        let domain = cairn_node::Domain::new(devnet::CHAIN_ID);
        let mut hashes = Vec::new();
        for (k, s) in stakers.enumerate() {
            let key = &self.keys.stakers[s];
            let from = address_of(key);
            let acct = self.get(&self.apis[apis[0]], &format!("/v1/accounts/{from}")).expect("account");
            let first = acct["pending_nonce"].as_u64().expect("nonce");
            let to = address_of(&self.keys.stakers[(s + 1) % STAKERS]);
            let tx = Tx::Transfer { asset: AssetId(1), to, amount: U256::from(1) };
            let batch: Vec<Value> = (0..per)
                .map(|j| serde_json::to_value(domain.sign(key, &tx, first + j, unix_now() + 600)).expect("json"))
                .collect();
            let api = &self.apis[apis[k % apis.len()]];
            let (status, answer) = self.rt.block_on(api.post("/v1/txs", &Value::Array(batch))).expect("posts");
            assert!(status < 300, "{status}: {answer}");
            for r in answer.as_array().expect("results") {
                hashes.push(r["hash"].as_str().unwrap_or_else(|| panic!("refused: {r}")).to_owned());
            }
        }
        hashes
    }

    /// Waits until every hash is committed and accepted, as validator `i` sees it.
    fn wait_committed(&mut self, i: usize, hashes: &[String]) {
        let hashes = hashes.to_vec();
        self.wait(Duration::from_secs(60), "every transaction committed", |n| {
            hashes.iter().all(|h| {
                n.get(&n.apis[i], &format!("/v1/tx/{h}"))
                    .is_some_and(|s| s["status"] == "committed" && s["receipt"]["ok"] == true)
            })
        });
    }

    /// A counter from validator `i`'s `/metrics`.
    fn metric(&self, i: usize, name: &str) -> u64 {
        let v = cairn_cli::testnet::metric(self.apis[i].base(), name);
        v.unwrap_or_else(|| panic!("{name} not in validator {i}'s /metrics")) as u64
    }

    fn max_height(&self, who: &[usize]) -> u64 {
        who.iter().filter_map(|&i| self.height(i)).max().unwrap_or(0)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.net.stop();
        // Kept on failure, or with CAIRN_KEEP_TESTNETS set, for the logs.
        if !std::thread::panicking() && std::env::var_os("CAIRN_KEEP_TESTNETS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn four_validators_agree_at_every_height_with_traffic_on_every_api() {
    let _serial = serial();
    let mut n = Net::start("bft-agree", true);
    n.wait_seeded();
    let hashes = n.submit(0..8, 12, &[0, 1, 2, 3]);
    assert_eq!(hashes.len(), 96);
    for i in 0..4 {
        n.wait_committed(i, &hashes);
    }
    // Each API took 24; each validator's CheckTx admitted more: the others' reached it through
    // CometBFT's mempool (forwarded, then gossiped), and none failed to forward.
    for i in 0..4 {
        assert!(n.metric(i, "cairn_txs_admitted_total") > 24, "validator {i} saw only its own transactions");
        assert_eq!(n.metric(i, "cairn_txs_forward_failed_total"), 0);
    }
    let top = (0..4).filter_map(|i| n.height(i)).min().expect("heights");
    n.assert_agree(&[0, 1, 2, 3], top.saturating_sub(1));
    n.assert_same_full_state(&[0, 1, 2, 3]);
    assert!(n.net.exited().is_empty(), "no process died: {:?}", n.net.exited());
}

#[test]
fn a_killed_validator_replays_catches_up_and_agrees() {
    let _serial = serial();
    let mut n = Net::start("bft-kill", true);
    n.wait_seeded();
    let before = n.submit(0..4, 10, &[0, 1, 2, 3]);
    n.net.kill(3);
    let at_kill = n.max_height(&[0, 1, 2]);
    // Under load, the other three keep committing.
    let during = n.submit(4..10, 10, &[0, 1, 2]);
    n.wait_committed(0, &during);
    n.wait_past(&[0, 1, 2], at_kill + 5, Duration::from_secs(60));
    n.net.spawn(3, None).expect("restarts");
    let target = n.max_height(&[0, 1, 2]);
    n.wait_past(&[3], target, Duration::from_secs(90));
    n.wait_committed(3, &before);
    n.wait_committed(3, &during);
    n.assert_agree(&[0, 1, 2, 3], target);
    n.assert_same_full_state(&[0, 1, 2, 3]);
}

#[test]
fn two_of_four_down_halts_without_a_fork_and_resumes() {
    let _serial = serial();
    let mut n = Net::start("bft-halt", false);
    n.wait_past(&[0, 1, 2, 3], 5, Duration::from_secs(60));
    n.net.kill(2);
    n.net.kill(3);
    // A height already voted may still commit; after that nothing can (2 of 4 < 2/3).
    std::thread::sleep(Duration::from_secs(2));
    let stalled = n.max_height(&[0, 1]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(n.max_height(&[0, 1]), stalled, "no block without two thirds of the votes");
    n.assert_agree(&[0, 1], stalled.saturating_sub(1));
    n.net.spawn(2, None).expect("restarts");
    n.net.spawn(3, None).expect("restarts");
    n.wait_past(&[0, 1, 2, 3], stalled + 3, Duration::from_secs(90));
    let top = (0..4).filter_map(|i| n.height(i)).min().expect("heights");
    n.assert_agree(&[0, 1, 2, 3], top.saturating_sub(1));
}

#[test]
fn a_diverging_application_is_halted_and_the_honest_three_go_on() {
    let _serial = serial();
    let mut n = Net::start("bft-fault", false);
    n.wait_past(&[0, 1, 2, 3], 3, Duration::from_secs(60));
    // Validator 3 restarts with an application that reports a wrong app hash from a height on.
    n.net.kill(3);
    let from = n.max_height(&[0, 1, 2]) + 3;
    n.net.spawn(3, Some(Fault::AppHashFrom(from))).expect("restarts with the fault");
    n.wait_past(&[0, 1, 2], from + 6, Duration::from_secs(90));
    let faulty = n.height(3).unwrap_or(0);
    assert!(faulty <= from, "the diverging validator went past its first wrong block: {faulty} > {from}");
    let log = std::fs::read_to_string(n.net.layout.home(3).join("cometbft.log")).unwrap_or_default();
    assert!(
        log.contains("wrong Block.Header.AppHash") && log.contains("CONSENSUS FAILURE"),
        "CometBFT names the app hash mismatch and halts the validator; log in {}",
        n.dir.display()
    );
    let top = n.max_height(&[0, 1, 2]);
    n.assert_agree(&[0, 1, 2], top.saturating_sub(1));
}

#[test]
fn a_proposal_with_a_junk_transaction_is_rejected_by_every_honest_validator() {
    let _serial = serial();
    let mut n = Net::start("bft-junk", false);
    n.wait_past(&[0, 1, 2, 3], 2, Duration::from_secs(60));
    n.net.kill(3);
    let from = n.max_height(&[0, 1, 2]) + 2;
    n.net.spawn(3, Some(Fault::JunkProposalsFrom(from))).expect("restarts as a byzantine proposer");
    // Enough heights that validator 3 had its turns to propose (round-robin over four).
    n.wait_past(&[0, 1, 2, 3], from + 8, Duration::from_secs(90));
    let junk = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(JUNK)
    };
    let top = n.max_height(&[0, 1, 2]);
    for h in 1..=top {
        let block = n.get(&n.rpcs[0], &format!("/block?height={h}")).expect("CometBFT's block");
        let txs = block["result"]["block"]["data"]["txs"].as_array().cloned().unwrap_or_default();
        assert!(!txs.iter().any(|t| t == &junk), "height {h} carries the junk transaction");
    }
    for i in 0..3 {
        let log = std::fs::read_to_string(n.net.layout.home(i).join("cairn.log")).unwrap_or_default();
        assert!(log.contains("rejecting the proposal"), "validator {i} rejected a junk proposal");
    }
    n.assert_agree(&[0, 1, 2, 3], top.saturating_sub(1));
}

#[test]
fn bad_transactions_are_refused_at_check_tx_and_the_chain_goes_on() {
    let _serial = serial();
    let mut n = Net::start("bft-bad", false);
    n.wait_past(&[0, 1, 2, 3], 2, Duration::from_secs(60));
    let domain = cairn_node::Domain::new(devnet::CHAIN_ID);
    let key = &n.keys.stakers[0];
    let tx = Tx::Transfer { asset: AssetId(1), to: address_of(&n.keys.stakers[1]), amount: U256::from(1) };
    let mut forged = domain.sign(key, &tx, 0, unix_now() + 600);
    forged.nonce = 3;
    let cases =
        [("malformed", b"\x01\x02 garbage".to_vec(), 1), ("mis-signed", tx_bytes(&forged).expect("encodes"), 2)];
    use base64::Engine as _;
    for (what, bytes, code) in cases {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
            "params": {"tx": base64::engine::general_purpose::STANDARD.encode(&bytes)}});
        let (_, answer) = n.rt.block_on(n.rpcs[1].post("/", &call)).expect("rpc answers");
        assert_eq!(answer["result"]["code"], code, "{what}: {answer}");
        assert_eq!(answer["result"]["codespace"], "cairn", "{what}: {answer}");
        assert!(!answer["result"]["log"].as_str().unwrap_or_default().is_empty(), "{what}: a log says why");
    }
    let h = n.max_height(&[0, 1, 2, 3]);
    n.wait_past(&[0, 1, 2, 3], h + 3, Duration::from_secs(30));
    let top = (0..4).filter_map(|i| n.height(i)).min().expect("heights");
    for i in 0..4 {
        for height in 1..=top {
            let b = n.get(&n.apis[i], &format!("/v1/blocks/{height}")).expect("block");
            assert_eq!(b["header"]["tx_count"], 0, "nothing reached a block: {b}");
        }
    }
}
