//! The node end to end: signed transactions over HTTP, every kind of bad input answered with the
//! right 4xx and a JSON error, restart from the store, replay from genesis; `crash` SIGKILLs a
//! node in a child process again and again under load.

mod crash;

use std::{
    io::{Read, Write},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use alloy_primitives::U256;
use cairn_node::{
    App, Config, Node, api,
    block::Block,
    client::Client,
    devnet::{self, DevKeys},
    envelope::{Domain, SignedTx, address_of},
    node::unix_now,
};
use cairn_primitives::StrategyId;
use cairn_state::Tx;
use serde_json::{Value, json};

/// A fresh directory under the system temp dir.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cairn-it-{tag}-{}-{}", std::process::id(), unix_now()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `n` whole tokens (18 decimals).
pub(crate) fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

/// A deposit of `n` tokens into strategy 1.
pub(crate) fn deposit(n: u64) -> Tx {
    Tx::Deposit { strategy: StrategyId(1), amount: eth(n) }
}

/// A node served on a loopback port, with a client and its development keys.
pub(crate) struct Harness {
    pub(crate) node: Arc<Node>,
    pub(crate) client: Client,
    pub(crate) keys: DevKeys,
    pub(crate) domain: Domain,
}

/// A devnet-genesis node over `dir` with the default configuration, served on a loopback port.
pub(crate) async fn start(dir: &std::path::Path) -> Harness {
    start_with(Config::new(dir.to_path_buf(), devnet::CHAIN_ID)).await
}

/// A devnet-genesis node with `config`, served on a loopback port.
pub(crate) async fn start_with(config: Config) -> Harness {
    let keys = DevKeys::new(8);
    let node = Node::open(config, &devnet::genesis(&keys)).expect("node opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = Client::new(&format!("http://{}", listener.local_addr().expect("addr")));
    tokio::spawn(api::serve(Arc::clone(&node), listener));
    Harness { domain: Domain::new(devnet::CHAIN_ID), node, client, keys }
}

impl Harness {
    /// Staker `who`'s signature of `tx` with `nonce`, valid for 10 minutes.
    pub(crate) fn sign(&self, who: usize, tx: &Tx, nonce: u64) -> SignedTx {
        self.domain.sign(&self.keys.stakers[who], tx, nonce, unix_now() + 600)
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.client.post(path, body).await.expect("transport")
    }

    pub(crate) async fn submit(&self, tx: &SignedTx) -> (u16, Value) {
        self.post("/v1/tx", &serde_json::to_value(tx).expect("json")).await
    }

    /// Produces one block now.
    pub(crate) fn block(&self) {
        self.node.produce_block(unix_now()).expect("block");
    }
}

/// Asserts a JSON error answer: its status, name and a non-empty message.
pub(crate) fn expect_error(answer: &(u16, Value), status: u16, name: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], name, "{}", answer.1);
    assert!(answer.1["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.1);
}

#[test]
fn signed_transactions_commit_and_bad_input_gets_a_json_4xx() {
    let dir = temp_dir("api");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        let staker = address_of(&h.keys.stakers[0]);

        // Accepted, committed, with a receipt and events.
        let tx = h.sign(0, &deposit(5), 0);
        let (status, answer) = h.submit(&tx).await;
        assert_eq!(status, 202, "{answer}");
        let hash = answer["hash"].as_str().expect("hash").to_owned();
        assert_eq!(answer["status"]["status"], "pending");
        h.block();
        let (status, st) = h.client.get(&format!("/v1/tx/{hash}")).await.expect("get");
        assert_eq!(status, 200);
        assert_eq!(st["status"], "committed");
        assert_eq!(st["receipt"]["ok"], true);
        assert!(st["receipt"]["events"].as_array().is_some_and(|e| e.iter().any(|e| e["event"] == "deposit")), "{st}");
        let (_, pos) = h.client.get(&format!("/v1/stakers/{staker}")).await.expect("get");
        assert_eq!(pos["positions"][0]["deposit_shares"], eth(5).to_string());
        let (_, acct) = h.client.get(&format!("/v1/accounts/{staker}")).await.expect("get");
        assert_eq!(acct["nonce"], 1);

        // Replay of a used nonce; the very same bytes again.
        expect_error(&h.submit(&h.sign(0, &deposit(1), 0)).await, 400, "StaleNonce");
        expect_error(&h.submit(&tx).await, 400, "StaleNonce");
        // A second transaction for a waiting (sender, nonce).
        assert_eq!(h.submit(&h.sign(0, &deposit(1), 1)).await.0, 202);
        let (_, acct) = h.client.get(&format!("/v1/accounts/{staker}")).await.expect("get");
        assert_eq!((acct["nonce"].as_u64(), acct["pending_nonce"].as_u64()), (Some(1), Some(2)));
        expect_error(&h.submit(&h.sign(0, &deposit(2), 1)).await, 409, "NonceTaken");
        // Too far ahead.
        expect_error(&h.submit(&h.sign(0, &deposit(1), 500)).await, 400, "FutureNonce");
        // Expired; valid for longer than the mempool keeps anything.
        let old = h.domain.sign(&h.keys.stakers[1], &deposit(1), 0, unix_now() - 10);
        expect_error(&h.submit(&old).await, 400, "Expired");
        let far = h.domain.sign(&h.keys.stakers[1], &deposit(1), 0, unix_now() + 2 * 86_400);
        expect_error(&h.submit(&far).await, 400, "ExpiryTooFar");
        // Another chain: declared, or only in the signature.
        let other = Domain::new(1).sign(&h.keys.stakers[1], &deposit(1), 0, unix_now() + 60);
        expect_error(&h.submit(&other).await, 400, "WrongChain");
        let mut forged = other.clone();
        forged.chain_id = devnet::CHAIN_ID;
        expect_error(&h.submit(&forged).await, 400, "SignerMismatch");
        // A body changed after signing; a signature from someone else.
        let mut tampered = h.sign(1, &deposit(1), 0);
        tampered.body = tampered.body.replace("1000000000000000000", "9000000000000000000");
        expect_error(&h.submit(&tampered).await, 400, "SignerMismatch");
        let mut impostor = h.sign(1, &deposit(1), 0);
        impostor.from = staker;
        expect_error(&h.submit(&impostor).await, 400, "SignerMismatch");
        // Malformed signature, unknown action, bad body.
        let mut bad_sig = h.sign(1, &deposit(1), 0);
        bad_sig.signature = "0x1234".into();
        expect_error(&h.submit(&bad_sig).await, 400, "MalformedSignature");
        let mut unknown = h.sign(1, &deposit(1), 0);
        unknown.action = "print_money".into();
        expect_error(&h.submit(&unknown).await, 400, "UnknownAction");
        let mut bad_body = h.sign(1, &deposit(1), 0);
        bad_body.body = r#"{"strategy": "one"}"#.into();
        expect_error(&h.submit(&bad_body).await, 400, "BadBody");

        // Malformed, oversized and non-JSON bodies.
        let raw = |body: Vec<u8>| h.client.request(hyper::Method::POST, "/v1/tx", Some(body));
        expect_error(&raw(b"{not json".to_vec()).await.expect("transport"), 400, "MalformedBody");
        expect_error(&h.post("/v1/tx", &json!({"action": "deposit"})).await, 422, "MalformedBody");
        let huge = vec![b' '; api::MAX_BODY_BYTES + 10];
        expect_error(&raw(huge).await.expect("transport"), 413, "BodyTooLarge");
        let batch: Vec<Value> = (0..api::MAX_BATCH + 1).map(|_| json!(1)).collect();
        expect_error(&h.post("/v1/txs", &Value::Array(batch)).await, 413, "BatchTooLarge");

        // Routes, methods, paths.
        expect_error(&h.client.get("/v1/nothing").await.expect("get"), 404, "NotFound");
        let del = h.client.request(hyper::Method::DELETE, "/health", None).await.expect("transport");
        expect_error(&del, 405, "MethodNotAllowed");
        expect_error(&h.client.get("/v1/stakers/0xnope").await.expect("get"), 400, "BadAddress");
        expect_error(&h.client.get("/v1/tx/0x12").await.expect("get"), 400, "BadHash");
        expect_error(&h.client.get(&format!("/v1/tx/0x{}", "ab".repeat(32))).await.expect("get"), 404, "NotFound");
        expect_error(&h.client.get("/v1/blocks/999").await.expect("get"), 404, "NotFound");
        expect_error(&h.client.get("/v1/blocks/x").await.expect("get"), 400, "BadHeight");
        expect_error(&h.client.get("/v1/tx/%FF").await.expect("get"), 400, "BadPath");
        expect_error(&h.client.get("/v1/events?color=red").await.expect("get"), 400, "BadQueryString");
        expect_error(&h.post("/v1/query", &json!({"no_such_query": {}})).await, 400, "BadQuery");
        let q = h.post("/v1/query", &json!({"withdrawable_shares": {"staker": staker, "strategy": 1}})).await;
        assert_eq!(q, (200, json!(eth(5).to_string())));

        // A transaction the state machine refuses is committed with its error and uses its nonce.
        let broke = h.sign(2, &Tx::Deposit { strategy: StrategyId(1), amount: eth(1_000_000) }, 0);
        let hash = h.submit(&broke).await.1["hash"].as_str().expect("hash").to_owned();
        h.block();
        let (_, st) = h.client.get(&format!("/v1/tx/{hash}")).await.expect("get");
        assert_eq!(st["receipt"]["ok"], false, "{st}");
        assert!(st["receipt"]["error"]["name"].as_str().is_some_and(|n| n.contains("Insufficient")), "{st}");
        let (_, acct) = h.client.get(&format!("/v1/accounts/{}", address_of(&h.keys.stakers[2]))).await.expect("get");
        assert_eq!(acct["nonce"], 1);

        // Batches keep per-item results.
        let good = serde_json::to_value(h.sign(3, &deposit(1), 0)).expect("json");
        let twin = serde_json::to_value(h.sign(3, &deposit(2), 0)).expect("json");
        let malformed = h.post("/v1/txs", &json!([good, {"not": "a transaction"}])).await;
        expect_error(&malformed, 400, "MalformedBody");
        assert!(malformed.1["message"].as_str().is_some_and(|m| m.starts_with("item 1:")), "{}", malformed.1);
        let (status, answer) = h.post("/v1/txs", &json!([good, twin])).await;
        assert_eq!(status, 200);
        assert!(answer[0]["hash"].is_string(), "{answer}");
        assert_eq!(answer[1]["error"], "NonceTaken", "{answer}");

        // The API documents itself; health and metrics answer.
        let (status, doc) = h.client.get("/openapi.json").await.expect("get");
        assert_eq!(status, 200);
        for path in ["/v1/tx", "/v1/stakers/{address}", "/v1/events", "/v1/operators", "/v1/rewards"] {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
        assert_eq!(h.client.get("/health").await.expect("get").1["status"], "ok");
        let text = reqwest_text(&h.client, "/metrics").await;
        assert!(text.contains("cairn_txs_committed_total 3"), "{text}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

pub(crate) async fn reqwest_text(client: &Client, path: &str) -> String {
    // `Client` parses JSON; metrics are text, so read them with a raw request.
    let addr = client.base().trim_start_matches("http://").to_owned();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || raw_get(&addr, &path, None)).await.expect("join")
}

/// A raw HTTP/1.1 GET that reads until `until` appears (or the connection closes / 10 s pass).
fn raw_get(addr: &str, path: &str, until: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if until.is_some_and(|u| String::from_utf8_lossy(&out).contains(u)) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_event_stream_filters_by_event_and_address() {
    let dir = temp_dir("sse");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        let staker = address_of(&h.keys.stakers[4]);
        let addr = h.client.base().trim_start_matches("http://").to_owned();
        let path = format!("/v1/events?event=staker_delegated&address={staker}");
        let reader = tokio::task::spawn_blocking(move || raw_get(&addr, &path, Some("event: staker_delegated")));
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (who, tx) in [(3, deposit(1)), (4, deposit(1))] {
            assert_eq!(h.submit(&h.sign(who, &tx, 0)).await.0, 202);
        }
        let op = h.keys.operators[0].clone();
        let reg =
            Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
        assert_eq!(h.submit(&h.domain.sign(&op, &reg, 0, unix_now() + 60)).await.0, 202);
        h.block();
        let delegate = Tx::DelegateTo { operator: address_of(&op), approval_salt: None };
        assert_eq!(h.submit(&h.sign(4, &delegate, 1)).await.0, 202);
        h.block();
        let text = reader.await.expect("join");
        assert!(text.contains("text/event-stream"), "{text}");
        assert!(text.contains("event: staker_delegated"), "{text}");
        assert!(!text.contains("event: deposit"), "the filter keeps deposits out: {text}");
        assert!(text.contains(&staker.to_string().to_lowercase()), "{text}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replays every stored block of `src` from genesis into a fresh store and returns the app.
fn replay(src: &[Block], keys: &DevKeys, dir: &std::path::Path) -> App {
    let mut app = App::open(&dir.join("replay.redb"), &devnet::genesis(keys), devnet::CHAIN_ID).expect("genesis");
    assert_eq!(app.head().hash().expect("hash"), src[0].header.hash().expect("hash"), "same genesis header");
    for b in &src[1..] {
        app.replay_block(b).unwrap_or_else(|e| panic!("replaying block {}: {e}", b.header.height));
    }
    app
}

fn stored_blocks(node: &Node) -> Vec<Block> {
    node.read(|a| (0..=a.head().height).map(|h| a.store().block(h).expect("read").expect("stored")).collect())
}

#[test]
fn a_restarted_node_resumes_and_equals_a_replay_from_genesis() {
    let dir = temp_dir("restart");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (head, state_hash, blocks) = rt.block_on(async {
        let h = start(&dir).await;
        for round in 0..3u64 {
            for who in 0..6 {
                assert_eq!(h.submit(&h.sign(who, &deposit(1 + round), round)).await.0, 202);
            }
            h.block();
        }
        let head = h.node.read(|a| a.head().clone());
        (head, h.node.read(|a| a.state().state_hash()), stored_blocks(&h.node))
    });
    drop(rt);
    let keys = DevKeys::new(8);
    let reopened = Node::open(Config::new(dir.clone(), devnet::CHAIN_ID), &devnet::genesis(&keys)).expect("reopens");
    assert_eq!(reopened.read(|a| a.head().clone()), head);
    assert_eq!(reopened.read(|a| a.state().state_hash()), state_hash);
    assert_eq!(reopened.read(|a| a.next_nonce(&address_of(&keys.stakers[0]))), 3);
    let replayed = replay(&blocks, &keys, &dir.join("replay"));
    assert_eq!(replayed.head(), &head);
    assert_eq!(replayed.state().state_hash(), state_hash);
    // Another chain id cannot open the store.
    drop(reopened);
    let wrong = Node::open(Config::new(dir.clone(), 1), &devnet::genesis(&keys));
    assert!(matches!(wrong, Err(cairn_node::app::AppError::WrongChain { stored: devnet::CHAIN_ID, wanted: 1 })));
    // A tampered block does not replay.
    let mut forged = blocks.clone();
    forged[2].txs[0].body = forged[2].txs[0].body.replace('2', "3");
    let dir2 = dir.join("forged");
    let mut app = App::open(&dir2.join("x.redb"), &devnet::genesis(&keys), devnet::CHAIN_ID).expect("genesis");
    app.replay_block(&forged[1]).expect("block 1 replays");
    let err = app.replay_block(&forged[2]).unwrap_err().to_string();
    assert!(err.contains("SignerMismatch") || err.contains("recovers"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn process_proposal_refuses_bad_blocks() {
    let dir = temp_dir("proposal");
    let keys = DevKeys::new(2);
    let app = App::open(&dir.join("p.redb"), &devnet::genesis(&keys), devnet::CHAIN_ID).expect("genesis");
    let d = Domain::new(devnet::CHAIN_ID);
    let now = unix_now();
    let t0 = d.sign(&keys.stakers[0], &deposit(1), 0, now + 60);
    let t1 = d.sign(&keys.stakers[0], &deposit(1), 1, now + 60);
    assert!(app.process_proposal(1, now, &[t0.clone(), t1.clone()]).is_ok());
    let e = app.process_proposal(2, now, &[]).unwrap_err().to_string();
    assert_eq!(e, "proposal for height 2, expected 1");
    let e = app.process_proposal(1, now, &[t1.clone(), t0.clone()]).unwrap_err().to_string();
    assert!(e.contains("nonce 1, expected 0"), "{e}");
    let e = app.process_proposal(1, now + 120, std::slice::from_ref(&t0)).unwrap_err().to_string();
    assert!(e.contains("expired"), "{e}");
    let mut bad = t0;
    bad.nonce = 7;
    let e = app.process_proposal(1, now, &[bad]).unwrap_err().to_string();
    assert!(e.contains("recovers"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_devnet_world_seeds_cleanly_and_its_rewards_root_is_posted() {
    let dir = temp_dir("devnet");
    let keys = DevKeys::new(30);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    config.record_rewards = true;
    let node = Node::open(config, &devnet::genesis(&keys)).expect("node opens");
    let t0 = unix_now();
    let hour = devnet::params().rewards_interval_seconds;
    let h0 = t0 / hour * hour;
    let mut signer = devnet::Signer::new(Arc::clone(&node));
    let mut time = t0;
    let block = |time: u64| node.produce_block(time).expect("block");
    assert_eq!(signer.submit(devnet::seed_setup_txs(&keys)), 5 + 4 * 3);
    block(time);
    assert_eq!(signer.submit(devnet::seed_participant_txs(&keys)), 14 + 2 * 30);
    for _ in 0..12 {
        time += 2;
        block(time);
    }
    assert_eq!(signer.submit(devnet::allocation_txs(&keys)), 5);
    assert_eq!(signer.submit(devnet::reward_txs(&keys, t0 + hour, eth(100))), 4, "rewards over the next hour");
    block(time + 2);
    // Every seeding transaction was accepted by the state machine.
    let failed: Vec<_> = stored_blocks(&node)
        .iter()
        .flat_map(|b| node.read(|a| a.store().receipts_of(b.header.height).expect("receipts")))
        .filter(|r| !r.ok)
        .collect();
    assert!(failed.is_empty(), "refused seeding transactions: {failed:#?}");
    let (ops, sets) = node.read(|a| (a.state().operator_addresses().len(), a.state().operator_set_list().len()));
    assert_eq!((ops, sets), (5, 4));
    // Two interval boundaries pass; the calculator's root over the second hour is posted.
    block(h0 + hour + 1);
    block(h0 + 2 * hour + 1);
    let end = h0 + 2 * hour;
    let root = node.rewards_root(end).expect("someone earned").expect("calculation");
    let expiry = unix_now() + 86_000;
    let post =
        Domain::new(devnet::CHAIN_ID).sign(&keys.governor, &Tx::SubmitRoot { root, calculation_end: end }, 0, expiry);
    node.submit(post).expect("admitted");
    block(h0 + 2 * hour + 2);
    let roots = node.read(|a| a.state().distribution_roots());
    assert_eq!(roots.len(), 1);
    assert_eq!((roots[0].root, roots[0].calculation_end), (root, end));
    // The whole world (reward submissions, roots, allocations) survives a restart...
    let (head, hash) = node.read(|a| (a.head().clone(), a.state().state_hash()));
    drop(signer);
    drop(node);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    config.record_rewards = true;
    let reopened = Node::open(config, &devnet::genesis(&keys)).expect("reopens with rewards and roots stored");
    assert_eq!(reopened.read(|a| (a.head().clone(), a.state().state_hash())), (head, hash));
    // ...and its rewards history is rebuilt from the stored blocks: the same root again.
    assert_eq!(reopened.rewards_root(end), Some(Ok(root)));
    drop(reopened);
    // A devnet with another genesis (another staker count) cannot open this store.
    let other = Node::open(Config::new(dir.clone(), devnet::CHAIN_ID), &devnet::genesis(&DevKeys::new(31)));
    assert!(matches!(other, Err(cairn_node::app::AppError::GenesisMismatch { .. })), "{other:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cli_manages_keys_signs_submits_and_queries() {
    use cairn_cli::net;
    let dir = temp_dir("cli");
    let keys_dir = dir.join("keys");
    // Keys: create, import, list; files are owner-only; names and keys are checked.
    let created = net::keys_create(&keys_dir, "alice").expect("create");
    let devkeys = DevKeys::new(8);
    let staker_hex = devnet::key_hex(&devkeys.stakers[0]);
    let imported = net::keys_import(&keys_dir, "staker0", &staker_hex).expect("import");
    assert_eq!(imported["address"], json!(address_of(&devkeys.stakers[0])));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys_dir.join("alice.json")).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key files are readable by their owner only");
        let mode = std::fs::metadata(&keys_dir).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the keys directory is its owner's only");
    }
    let listed = net::keys_list(&keys_dir).expect("list");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(listed[0]["address"], created["address"]);
    assert!(net::keys_create(&keys_dir, "alice").is_err(), "an existing key is not overwritten");
    assert!(net::keys_create(&keys_dir, "../evil").is_err());
    assert!(net::keys_import(&keys_dir, "bad", "0x1234").is_err());
    assert!(net::read_key(&keys_dir, "nobody").is_err());

    // A node in its own runtime thread; the CLI functions run their own.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let h = rt.block_on(start(&dir.join("node")));
    let producer = h.node.spawn_producer();
    let base = h.client.base().to_owned();
    let key = net::read_key(&keys_dir, "staker0").expect("read");
    let big =
        net::body_from_pairs(&["a=100000000000000000000".into(), "b=10e18".into(), "c=[1,2]".into(), "d=x".into()]);
    assert_eq!(big.expect("pairs"), json!({"a": "100000000000000000000", "b": "10e18", "c": [1, 2], "d": "x"}));
    let body = net::body_from_pairs(&["strategy=1".into(), "amount=2e18".into()]).expect("pairs");
    assert_eq!(body, json!({"strategy": 1, "amount": "2e18"}));
    let answer = net::tx(&base, &key, "deposit", body, true, 60).expect("submitted");
    assert_eq!(answer["status"]["status"], "committed", "{answer}");
    assert_eq!(answer["status"]["receipt"]["ok"], true, "{answer}");
    let staker = address_of(&devkeys.stakers[0]).to_string();
    let pos = net::query(&base, "staker", Some(&staker)).expect("query");
    assert_eq!(pos["positions"][0]["deposit_shares"], "2000000000000000000");
    let shares =
        net::query(&base, "ask", Some(&format!(r#"{{"deposit_shares": {{"staker": "{staker}", "strategy": 1}}}}"#)))
            .expect("ask");
    assert_eq!(shares, json!("2000000000000000000"));
    // Bad input is refused before or by the node, with the reason.
    // Two calls in a row without waiting take consecutive nonces.
    let a = net::tx(&base, &key, "deposit", json!({"strategy": 1, "amount": "1"}), false, 60).expect("first");
    let b = net::tx(&base, &key, "deposit", json!({"strategy": 1, "amount": "1"}), false, 60).expect("second");
    assert_eq!((a["nonce"].as_u64(), b["nonce"].as_u64()), (Some(1), Some(2)));
    let e = net::tx(&base, &key, "deposit", json!({"strategy": "x"}), false, 60).unwrap_err().to_string();
    assert!(e.contains("does not decode"), "{e}");
    let e = net::tx(&base, &key, "no_such_action", json!({}), false, 60).unwrap_err().to_string();
    assert!(e.contains("unknown action"), "{e}");
    let e = net::query(&base, "nonsense", None).unwrap_err().to_string();
    assert!(e.contains("unknown query"), "{e}");
    let e = net::query(&base, "staker", Some("0xzz")).unwrap_err().to_string();
    assert!(e.contains("is not an address"), "{e}");
    assert!(net::body_from_pairs(&["novalue".into()]).is_err());
    h.node.stop();
    let _ = producer.join();
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_load_generator_commits_everything_it_submits() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    for batch in [1, 100] {
        let spec = cairn_node::loadgen::LoadSpec {
            txs: 1_000,
            accounts: 100,
            clients: 4,
            batch,
            reads: 200,
            block_interval: Duration::from_millis(20),
            progress: Some({
                let sink = Arc::clone(&sink);
                Arc::new(move |phase, done, total| sink.lock().expect("lock").push((phase, done, total)))
            }),
            rate: None,
        };
        let r = rt.block_on(cairn_node::loadgen::run(spec)).expect("load run");
        assert_eq!((r.committed, r.refused, r.reads), (1_000, 0, 200), "batch {batch}: {r:?}");
        assert!(r.blocks >= 1 && r.latency_p99_ms >= r.latency_p50_ms, "{r:?}");
        #[cfg(target_os = "linux")]
        assert!(r.cpu_us_per_tx > 0.0, "the process used CPU to commit them: {r:?}");
    }
    let seen = seen.lock().expect("lock");
    assert!(seen.contains(&("submitting", 1_000, 1_000)) && seen.contains(&("signing", 1_000, 1_000)), "{seen:?}");
}
