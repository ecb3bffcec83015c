//! The devnet's developer controls through the real HTTP API: mining, moving time (a withdrawal
//! delay and a rewards day skipped), snapshot and revert, the faucet, rewards claimed through the
//! node's proofs, paged history, the `/v1/` index and CORS; every control refused on a node that
//! is not a devnet.

use std::{sync::Arc, time::Duration};

use alloy_primitives::{Address, U256};
use cairn_node::{
    Config, Node, api,
    client::Client,
    dev::DevConfig,
    devnet::{self, DevKeys},
    envelope::{Domain, address_of},
    node::Mining,
};
use cairn_primitives::StrategyId;
use cairn_state::{Tx, tx::QueueParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::node::{eth, expect_error, temp_dir};

/// A devnet node (dev controls on, blocks only when mined) served on a loopback port.
struct Dev {
    node: Arc<Node>,
    client: Client,
    keys: Arc<DevKeys>,
    domain: Domain,
    addr: std::net::SocketAddr,
}

async fn serve(config: Config, keys: Arc<DevKeys>) -> Dev {
    let node = Node::open(config, &devnet::genesis(&keys)).expect("node opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(api::serve(Arc::clone(&node), listener));
    Dev { client: Client::new(&format!("http://{addr}")), node, keys, domain: Domain::new(devnet::CHAIN_ID), addr }
}

fn dev_config(dir: &std::path::Path, keys: &DevKeys) -> Config {
    let mut c = Config::new(dir.to_path_buf(), devnet::CHAIN_ID);
    c.mining = Mining::Manual;
    c.record_rewards = true;
    c.dev = Some(DevConfig { governor: keys.governor.clone() });
    c
}

/// A quiet devnet with its world seeded (operators, sets, stakers, allocations, the vault).
async fn seeded(config: Config) -> Dev {
    let keys = Arc::new(DevKeys::new(8));
    let d = serve(config, Arc::clone(&keys)).await;
    devnet::seed_world(Arc::clone(&d.node), keys).await;
    d
}

impl Dev {
    async fn get(&self, path: &str) -> (u16, Value) {
        self.client.get(path).await.expect("transport")
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.client.post(path, &body).await.expect("transport")
    }

    /// Signs `tx` by `key` at its pending nonce, submits and mines it; returns the receipt.
    async fn send(&self, key: &k256::ecdsa::SigningKey, tx: &Tx) -> Value {
        let (_, nonce) = self.node.nonces(&address_of(key));
        let signed = self.domain.sign(key, tx, nonce, self.node.now() + 600);
        let (status, answer) = self.post("/v1/tx", serde_json::to_value(&signed).expect("json")).await;
        assert_eq!(status, 202, "{answer}");
        let (status, mined) = self.post("/v1/dev/mine", json!({})).await;
        assert_eq!(status, 200, "{mined}");
        let (_, st) = self.get(&format!("/v1/tx/{}", answer["hash"].as_str().expect("hash"))).await;
        st["receipt"].clone()
    }

    fn head(&self) -> (u64, u64) {
        self.node.read(|a| (a.head().height, a.head().time))
    }

    fn state_hash(&self) -> alloy_primitives::B256 {
        self.node.read(|a| a.state().state_hash().expect("state hash"))
    }

    fn balance(&self, who: Address, asset: u32) -> U256 {
        self.node.read(|a| a.state().balance(who, cairn_primitives::AssetId(asset)))
    }
}

#[test]
fn a_quiet_devnet_mines_moves_time_and_skips_a_withdrawal_delay() {
    let dir = temp_dir("dev-time");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = DevKeys::new(8);
        let d = seeded(dev_config(&dir, &keys)).await;
        // The world is complete and nothing moves by itself (no workers, no automatic blocks).
        let (seeded_height, _) = d.head();
        assert!(d.node.read(|a| !a.state().vault_ids().is_empty()), "the vault was created");
        let before = d.state_hash();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!((d.head().0, d.state_hash()), (seeded_height, before), "a quiet devnet stays still");

        // Mine 5 blocks, 12 s apart.
        let (_, t0) = d.head();
        let (status, mined) = d.post("/v1/dev/mine", json!({"blocks": 5, "interval_seconds": 12})).await;
        assert_eq!(status, 200, "{mined}");
        assert_eq!(mined["blocks"], 5);
        assert_eq!(mined["first"], seeded_height + 1);
        let (h, t) = d.head();
        assert_eq!(h, seeded_height + 5);
        assert!(t >= t0 + 60, "five 12 s steps: {t0} -> {t}");

        // Move the clock a day forward: the block mined at the new time says so, and /health too.
        let (status, moved) = d.post("/v1/dev/time", json!({"advance_seconds": 86_400})).await;
        assert_eq!(status, 200, "{moved}");
        assert!(moved["block"]["time"].as_u64().expect("time") >= t + 86_400, "{moved}");
        let (_, health) = d.get("/health").await;
        assert!(health["now"].as_u64().expect("now") >= t + 86_400, "{health}");
        assert_eq!(health["devnet"], true);

        // A withdrawal's delay (50 blocks on the devnet) skipped by mining.
        let staker = &d.keys.stakers[0];
        let shares = d.node.read(|a| a.state().position(address_of(staker), StrategyId(1)).deposit_shares);
        assert!(!shares.is_zero(), "staker 0 deposited into strategy 1");
        let queue = Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![StrategyId(1)], deposit_shares: vec![shares] }],
        };
        let r = d.send(staker, &queue).await;
        assert_eq!(r["ok"], true, "{r}");
        let complete = Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true };
        let early = d.send(staker, &complete).await;
        assert_eq!(early["ok"], false, "completion before the delay is refused: {early}");
        let (status, _) = d.post("/v1/dev/mine", json!({"blocks": 50})).await;
        assert_eq!(status, 200);
        let before = d.balance(address_of(staker), 1);
        let done = d.send(staker, &complete).await;
        assert_eq!(done["ok"], true, "{done}");
        assert!(d.balance(address_of(staker), 1) > before, "the tokens came back");

        // Bad input changes nothing.
        let (h, hash) = (d.head().0, d.state_hash());
        for (path, body, name) in [
            ("/v1/dev/mine", json!({"blocks": 0}), "BadBlockCount"),
            ("/v1/dev/mine", json!({"blocks": 10_001}), "BadBlockCount"),
            ("/v1/dev/mine", json!({"blocks": 2, "interval_seconds": u64::MAX}), "BadAdvance"),
            ("/v1/dev/mine", json!({"blocks": "many"}), "BadRequest"),
            ("/v1/dev/mine", json!({"block": 2}), "BadRequest"),
            ("/v1/dev/mine", json!([]), "BadRequest"),
            ("/v1/dev/mine", json!([2, 0]), "BadRequest"),
            ("/v1/dev/time", json!({"advance_seconds": 0}), "BadAdvance"),
            ("/v1/dev/time", json!({}), "BadRequest"),
            ("/v1/dev/time", json!({"advance_seconds": 5, "to": 5}), "BadRequest"),
            ("/v1/dev/time", json!({"to": 1}), "TimeNotAfter"),
            ("/v1/dev/revert", json!({"id": 99}), "UnknownSnapshot"),
        ] {
            let answer = d.post(path, body.clone()).await;
            let status = if name == "UnknownSnapshot" { 404 } else { 400 };
            expect_error(&answer, status, name);
            assert_eq!((d.head().0, d.state_hash()), (h, hash), "{path} {body} changed nothing");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn snapshot_and_revert_bring_back_the_whole_chain_and_the_faucet_funds_any_address() {
    let dir = temp_dir("dev-revert");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let keys = DevKeys::new(8);
    let (height, hash) = rt.block_on(async {
        let d = seeded(dev_config(&dir, &keys)).await;
        let fresh = Address::repeat_byte(0x42);

        // The faucet: any asset by symbol or number, committed with ?wait once a block is mined.
        let (status, funded) =
            d.post("/v1/dev/fund", json!({"address": fresh.to_string(), "asset": "rETH", "amount": "5e18"})).await;
        assert_eq!(status, 202, "{funded}");
        d.post("/v1/dev/mine", json!({})).await;
        assert_eq!(d.balance(fresh, 2), eth(5));
        let (status, _) = d.post("/v1/dev/fund", json!({"address": fresh.to_string()})).await;
        assert_eq!(status, 202);
        d.post("/v1/dev/mine", json!({})).await;
        assert_eq!(d.balance(fresh, 0), eth(100), "default: 100 ETH");
        for (body, name) in [
            (json!({"address": fresh.to_string(), "amount": "0"}), "ZeroAmount"),
            (json!({"address": fresh.to_string(), "asset": "DOGE"}), "UnknownAsset"),
            (json!({"address": "0x12"}), "BadAddress"),
            (json!({"address": fresh.to_string(), "amount": "-5"}), "BadRequest"),
        ] {
            expect_error(&d.post("/v1/dev/fund", body).await, 400, name);
        }

        // Snapshot, then change things: blocks, a transfer, the clock.
        let (_, snap) = d.post("/v1/dev/snapshot", json!({})).await;
        let id = snap["id"].as_u64().expect("id");
        let (at, at_time) = d.head();
        assert_eq!(snap["height"], at);
        let hash = d.state_hash();
        let header = d.node.read(|a| a.head().hash().expect("hash"));
        let staker = &d.keys.stakers[1];
        let r = d.send(staker, &Tx::Transfer { asset: cairn_primitives::AssetId(2), to: fresh, amount: eth(1) }).await;
        assert_eq!(r["ok"], true, "{r}");
        let later_tx = r["tx_hash"].as_str().expect("hash").to_owned();
        d.post("/v1/dev/time", json!({"advance_seconds": 7_200})).await;
        let (_, inner) = d.post("/v1/dev/snapshot", json!({})).await;
        d.post("/v1/dev/mine", json!({"blocks": 3})).await;
        assert_eq!(d.balance(fresh, 2), eth(6));
        // A transaction waiting at revert time is forgotten.
        let (_, nonce) = d.node.nonces(&address_of(staker));
        let waiting = d.domain.sign(
            staker,
            &Tx::Transfer { asset: cairn_primitives::AssetId(2), to: fresh, amount: eth(1) },
            nonce,
            d.node.now() + 600,
        );
        let (status, _) = d.post("/v1/tx", serde_json::to_value(&waiting).expect("json")).await;
        assert_eq!(status, 202);

        // A live event stream ends with `reverted` (its heights are about to be reused).
        let mut stream = tokio::net::TcpStream::connect(d.addr).await.expect("connect");
        stream.write_all(b"GET /v1/events?event=new_block HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let mut head = [0u8; 256];
        let n = stream.read(&mut head).await.expect("read");
        assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"), "the stream opened");
        let (status, reverted) = d.post("/v1/dev/revert", json!({"id": id})).await;
        assert_eq!(status, 200, "{reverted}");
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut seen)).await;
        let seen = String::from_utf8_lossy(&seen);
        assert!(seen.contains("event: reverted") && seen.contains(&format!("from_height={}", at + 1)), "{seen}");
        assert_eq!(d.head().0, at);
        assert_eq!(d.state_hash(), hash, "the state is the snapshot's");
        assert_eq!(d.node.read(|a| a.head().hash().expect("hash")), header);
        assert_eq!(d.balance(fresh, 2), eth(5));
        assert_eq!(d.node.mempool_len(), 0, "what waited after the snapshot is gone");
        // A transaction after the snapshot is gone.
        expect_error(&d.get(&format!("/v1/tx/{later_tx}")).await, 404, "NotFound");
        let (_, dev) = d.get("/v1/dev").await;
        assert_eq!(dev["offset_seconds"], 0, "the clock offset is the snapshot's: {dev}");
        assert!(d.node.now() < at_time + 7_200, "the clock moved back");
        // The snapshot and the later one are used up.
        expect_error(&d.post("/v1/dev/revert", json!({"id": id})).await, 404, "UnknownSnapshot");
        expect_error(&d.post("/v1/dev/revert", json!({"id": inner["id"]})).await, 404, "UnknownSnapshot");

        // The chain goes on from the snapshot, and a reopened store agrees.
        let r = d.send(staker, &Tx::Transfer { asset: cairn_primitives::AssetId(2), to: fresh, amount: eth(2) }).await;
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["height"], at + 1);
        (d.head().0, d.state_hash())
    });
    drop(rt); // the server lets go of the store
    let reopened = Node::open(dev_config(&dir, &keys), &devnet::genesis(&keys)).expect("reopens");
    assert_eq!(reopened.read(|a| (a.head().height, a.state().state_hash().expect("state hash"))), (height, hash));
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewards_are_claimed_through_the_nodes_proof_after_skipping_a_day_and_the_activation_delay() {
    let dir = temp_dir("dev-rewards");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = DevKeys::new(8);
        let d = seeded(dev_config(&dir, &keys)).await;
        let staker = &d.keys.stakers[0];
        let earner = address_of(staker);
        let (_, before) = d.get(&format!("/v1/rewards/{earner}")).await;
        assert_eq!(before["root"], Value::Null, "{before}");
        expect_error(&d.get(&format!("/v1/rewards/{earner}/proof")).await, 404, "NotFound");
        expect_error(&d.post("/v1/dev/rewards-root", json!({})).await, 400, "NothingEarned");

        // Services pay rewards for the current hour; the hour closes; the root is posted and
        // becomes claimable two hours later.
        for (key, tx) in devnet::reward_txs(&d.keys, d.node.now(), eth(1)) {
            let r = d.send(&key, &tx).await;
            assert_eq!(r["ok"], true, "{r}");
        }
        d.post("/v1/dev/time", json!({"advance_seconds": 3_700})).await;
        let (status, posted) = d.post("/v1/dev/rewards-root?wait=false", json!({})).await;
        assert_eq!(status, 202, "{posted}");
        d.post("/v1/dev/mine", json!({})).await;
        let (_, pending) = d.get(&format!("/v1/rewards/{earner}")).await;
        assert_eq!(pending["root"], Value::Null, "not active before the delay: {pending}");
        assert_eq!(pending["latest_root"]["calculation_end"], posted["calculation_end"], "{pending}");
        expect_error(&d.post("/v1/dev/rewards-root", json!({})).await, 400, "NothingToPost");
        d.post("/v1/dev/time", json!({"advance_seconds": 7_200})).await;

        let (status, owed) = d.get(&format!("/v1/rewards/{earner}")).await;
        assert_eq!(status, 200, "{owed}");
        assert_eq!(owed["root"]["index"], 0, "{owed}");
        let steth = owed["tokens"].as_array().expect("tokens").iter().find(|t| t["symbol"] == "stETH").cloned();
        let steth = steth.unwrap_or_else(|| panic!("staker 0 earned stETH: {owed}"));
        let claimable: U256 = steth["claimable"].as_str().expect("amount").parse().expect("number");
        assert!(!claimable.is_zero() && claimable < eth(1), "{steth}");
        assert_eq!(steth["claimed"], "0");

        // The node's claim, signed by the earner, pays exactly what it said.
        let (status, proof) = d.get(&format!("/v1/rewards/{earner}/proof")).await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(proof["action"], "process_claim");
        let tx: Tx = serde_json::from_value(json!({"process_claim": proof["body"]})).expect("a process_claim body");
        let held = d.balance(earner, 1);
        let r = d.send(staker, &tx).await;
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(d.balance(earner, 1) - held, claimable);
        let (_, after) = d.get(&format!("/v1/rewards/{earner}")).await;
        let steth = after["tokens"].as_array().expect("tokens").iter().find(|t| t["symbol"] == "stETH").cloned();
        assert_eq!(steth.expect("still listed")["claimable"], "0", "{after}");
        expect_error(&d.get(&format!("/v1/rewards/{earner}/proof")).await, 404, "NotFound");
        expect_error(&d.get("/v1/rewards/0x12/proof").await, 400, "BadAddress");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn history_pages_newest_first_and_the_index_links_every_route() {
    let dir = temp_dir("dev-history");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = DevKeys::new(8);
        let d = seeded(dev_config(&dir, &keys)).await;
        let staker = &d.keys.stakers[2];
        let who = address_of(staker);
        for i in 1..=7u64 {
            let r = d
                .send(
                    staker,
                    &Tx::Transfer {
                        asset: cairn_primitives::AssetId(1),
                        to: Address::repeat_byte(9),
                        amount: U256::from(i),
                    },
                )
                .await;
            assert_eq!(r["ok"], true, "{r}");
        }
        // Every transaction of the account, paged 3 at a time, newest first, no gaps.
        let mut seen = Vec::new();
        let mut path = Some(format!("/v1/accounts/{who}/txs?limit=3"));
        while let Some(p) = path {
            let (status, page) = d.get(&p).await;
            assert_eq!(status, 200, "{page}");
            for r in page["txs"].as_array().expect("txs") {
                assert_eq!(r["sender"].as_str().map(str::to_lowercase), Some(who.to_string().to_lowercase()));
                assert!(r["events"].is_array(), "receipts carry their decoded events: {r}");
                seen.push((r["height"].as_u64().expect("h"), r["nonce"].as_u64().expect("n")));
            }
            path = page["next"].as_str().map(str::to_owned);
        }
        let nonces: Vec<u64> = seen.iter().map(|s| s.1).collect();
        let all = d.node.read(|a| a.next_nonce(&who));
        assert_eq!(nonces, (0..all).rev().collect::<Vec<_>>(), "every nonce once, newest first");

        // Blocks, paged: heights descend by one across pages down to genesis.
        let (head, _) = d.head();
        let mut heights = Vec::new();
        let mut path = Some("/v1/blocks?limit=40".to_owned());
        while let Some(p) = path {
            let (_, page) = d.get(&p).await;
            heights.extend(page["blocks"].as_array().expect("blocks").iter().map(|b| b["height"].as_u64().expect("h")));
            path = page["next"].as_str().map(str::to_owned);
        }
        assert_eq!(heights, (0..=head).rev().collect::<Vec<_>>());
        for bad in ["/v1/blocks?limit=0", "/v1/blocks?limit=101", "/v1/blocks?before=x", "/v1/accounts/0x12/txs"] {
            let (status, answer) = d.get(bad).await;
            assert_eq!(status, 400, "{bad}: {answer}");
        }

        // The index: JSON by default, every parameterless GET link answers.
        let (status, index) = d.get("/v1/").await;
        assert_eq!(status, 200, "{index}");
        let routes = index["routes"].as_array().expect("routes");
        assert!(routes.iter().any(|r| r["path"] == "/v1/dev/mine" && r["method"] == "POST"), "{index}");
        assert!(routes.iter().any(|r| r["path"] == "/v1/rewards/{earner}/proof"), "{index}");
        for href in routes.iter().filter_map(|r| r["href"].as_str()) {
            if href == "/v1/events" || href == "/v1/snapshot" || href == "/metrics" {
                continue; // a stream and binary or text bodies
            }
            let (status, answer) = d.get(href).await;
            assert_eq!(status, 200, "{href}: {answer}");
        }
        let html = raw(d.addr, "GET /v1/ HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n").await;
        assert!(html.contains("text/html") && html.contains("<a href=\"/v1/operators\">"), "{html}");
        // `/` is the web app: its page, its embedded files, and a JSON 404 for any other file.
        let root = raw(d.addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(root.starts_with("HTTP/1.1 200") && root.contains("/ui/app.js"), "{root}");
        assert!(root.to_lowercase().contains("content-security-policy: default-src 'self'"), "{root}");
        for file in ["app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"] {
            let got = raw(d.addr, &format!("GET /ui/{file} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await;
            assert!(got.starts_with("HTTP/1.1 200"), "{file}: {}", &got[..got.len().min(200)]);
        }
        let missing = raw(d.addr, "GET /ui/nope.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404") && missing.contains("NotFound"), "{missing}");

        // No CORS unless asked.
        let preflight = "OPTIONS /v1/state HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n\
                         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n";
        assert!(!raw(d.addr, preflight).await.to_lowercase().contains("access-control-allow-origin"));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends a raw HTTP/1.1 request and returns the whole answer (the server closes after it).
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn cors_answers_the_allowed_origins_only() {
    let dir = temp_dir("dev-cors");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = Arc::new(DevKeys::new(4));
        let mut config = dev_config(&dir, &keys);
        config.in_memory = true;
        config.cors = vec!["http://app.example".into()];
        let d = serve(config, keys).await;
        let ask = |origin: &str| {
            format!(
                "OPTIONS /v1/tx HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
                 Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
            )
        };
        let ok = raw(d.addr, &ask("http://app.example")).await.to_lowercase();
        assert!(ok.contains("access-control-allow-origin: http://app.example"), "{ok}");
        let other = raw(d.addr, &ask("http://evil.example")).await.to_lowercase();
        assert!(!other.contains("access-control-allow-origin"), "{other}");
        let get =
            raw(d.addr, "GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\nConnection: close\r\n\r\n")
                .await;
        assert!(get.to_lowercase().contains("access-control-allow-origin: http://app.example"), "{get}");
        // In memory: nothing was written to the data directory.
        assert!(!dir.exists() || std::fs::read_dir(&dir).expect("dir").next().is_none(), "nothing on disk");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_dev_control_is_refused_on_a_node_that_is_not_a_devnet() {
    let dir = temp_dir("dev-refused");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = Arc::new(DevKeys::new(4));
        let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
        config.mining = Mining::Manual;
        let d = serve(config, keys).await;
        let (height, hash) = (d.head().0, d.state_hash());
        let fund = json!({"address": Address::repeat_byte(1).to_string()});
        for (path, body) in [
            ("/v1/dev/mine", json!({"blocks": 3})),
            ("/v1/dev/time", json!({"advance_seconds": 60})),
            ("/v1/dev/snapshot", json!({})),
            ("/v1/dev/revert", json!({"id": 1})),
            ("/v1/dev/fund", fund),
            ("/v1/dev/rewards-root", json!({})),
        ] {
            expect_error(&d.post(path, body).await, 403, "NotADevnet");
        }
        expect_error(&d.get("/v1/dev").await, 403, "NotADevnet");
        assert_eq!((d.head().0, d.state_hash(), d.node.mempool_len()), (height, hash, 0), "nothing changed");
        let (_, health) = d.get("/health").await;
        assert_eq!(health["devnet"], false);
    });
    let _ = std::fs::remove_dir_all(&dir);
}
