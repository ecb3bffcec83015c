//! Admission over HTTP: every transaction that would certainly fail or do nothing, every
//! non-canonical signature and every bound is refused with its JSON 4xx (or 503) before it gets
//! a nonce — the account's next nonce is unchanged and a valid transaction with the same nonce
//! then commits.

use std::{
    io::{Read, Write},
    time::Duration,
};

use alloy_primitives::{Address, U256};
use cairn_node::{
    Config,
    admission::{EMPTY_ACCOUNT_MAX_WAITING, EMPTY_ACCOUNTS_MAX_WAITING},
    api::RETRY_AFTER_SECONDS,
    devnet,
    envelope::{MAX_BODY_BYTES, SignedTx, address_of, dev_key, hex, sign_hash},
    mempool::MAX_WAITING_PER_ACCOUNT,
    node::unix_now,
};
use cairn_state::Tx;
use serde_json::{Value, json};

use crate::node::{Harness, deposit, expect_error, start_with, temp_dir};

/// secp256k1's group order n.
const N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

async fn node(tag: &str, capacity: Option<usize>) -> (Harness, std::path::PathBuf) {
    let dir = temp_dir(tag);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    if let Some(c) = capacity {
        config.mempool_capacity = c;
    }
    (start_with(config).await, dir)
}

/// Signs `body` as written (not re-encoded) for staker `who`.
fn sign_text(h: &Harness, who: usize, action: &str, body: &str, nonce: u64) -> SignedTx {
    let expiry = unix_now() + 600;
    let key = &h.keys.stakers[who];
    let signature = hex(&sign_hash(key, h.domain.signing_hash(action, body, nonce, expiry)));
    SignedTx {
        from: address_of(key),
        chain_id: devnet::CHAIN_ID,
        action: action.to_owned(),
        body: body.to_owned(),
        nonce,
        expiry,
        signature,
    }
}

/// `(nonce, pending_nonce)` of an account.
async fn nonces(h: &Harness, who: Address) -> (u64, u64) {
    let (_, a) = h.client.get(&format!("/v1/accounts/{who}")).await.expect("get");
    (a["nonce"].as_u64().expect("nonce"), a["pending_nonce"].as_u64().expect("pending nonce"))
}

/// The refusal used no nonce: the account's nonces are still `nonce`, and `valid` (with that
/// nonce) is admitted, committed and succeeds.
async fn nonce_is_unused(h: &Harness, who: Address, nonce: u64, valid: Value) {
    assert_eq!(nonces(h, who).await, (nonce, nonce), "the refusal used no nonce");
    let (status, answer) = h.post("/v1/tx", &valid).await;
    assert_eq!(status, 202, "{answer}");
    h.block();
    let hash = answer["hash"].as_str().expect("hash");
    let (_, st) = h.client.get(&format!("/v1/tx/{hash}")).await.expect("get");
    assert_eq!((st["status"].as_str(), st["receipt"]["ok"].as_bool()), (Some("committed"), Some(true)), "{st}");
    assert_eq!(nonces(h, who).await, (nonce + 1, nonce + 1));
}

fn json_of(tx: &SignedTx) -> Value {
    serde_json::to_value(tx).expect("json")
}

/// A signature with its `v` byte replaced.
fn with_v(tx: &SignedTx, v: u8) -> SignedTx {
    let mut bytes = alloy_primitives::hex::decode(&tx.signature).expect("hex");
    bytes[64] = v;
    SignedTx { signature: hex(&bytes), ..tx.clone() }
}

/// The same signature in its high-s form `(r, n − s, v ^ 1)`: it recovers the same signer.
fn high_s(tx: &SignedTx) -> SignedTx {
    let bytes = alloy_primitives::hex::decode(&tx.signature).expect("hex");
    let n = U256::from_str_radix(N, 16).expect("n");
    let s = n - U256::from_be_slice(&bytes[32..64]);
    let mut out = bytes.clone();
    out[32..64].copy_from_slice(&s.to_be_bytes::<32>());
    out[64] = if bytes[64] == 27 { 28 } else { 27 };
    SignedTx { signature: hex(&out), ..tx.clone() }
}

/// `from` with the case of its first letter flipped: no longer its EIP-55 checksum.
fn wrong_checksum(who: Address) -> String {
    let good = who.to_checksum(None);
    let i = good[2..].find(|c: char| c.is_ascii_alphabetic()).expect("a letter") + 2;
    let c = good.as_bytes()[i] as char;
    let flipped = if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
    format!("{}{flipped}{}", &good[..i], &good[i + 1..])
}

/// A refused submission: what, the request for a nonce, the status and the error's name.
type Case<'a> = (&'static str, Box<dyn Fn(u64) -> Value + 'a>, u16, &'static str);

#[test]
fn invalid_transactions_and_signatures_are_refused_before_they_use_a_nonce() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (h, dir) = node("admission-rules", None).await;
        let me = address_of(&h.keys.stakers[0]);
        let raw = |body: &str, n: u64| json_of(&sign_text(&h, 0, "deposit", body, n));
        let qw = |body: &str, n: u64| json_of(&sign_text(&h, 0, "queue_withdrawals", body, n));
        let cases: Vec<Case<'_>> = vec![
            ("empty amount", Box::new(|n| raw(r#"{"strategy":1,"amount":""}"#, n)), 400, "BadBody"),
            ("padded amount", Box::new(|n| raw(r#"{"strategy":1,"amount":" 1"}"#, n)), 400, "BadBody"),
            ("signed amount", Box::new(|n| raw(r#"{"strategy":1,"amount":"+1"}"#, n)), 400, "BadBody"),
            ("zero amount", Box::new(|n| raw(r#"{"strategy":1,"amount":"0"}"#, n)), 422, "ZeroAmount"),
            ("unknown strategy", Box::new(|n| raw(r#"{"strategy":99,"amount":"1"}"#, n)), 422, "UnknownStrategy"),
            (
                "mismatched lengths",
                Box::new(|n| qw(r#"{"withdrawals":[{"strategies":[1],"deposit_shares":["1","2"]}]}"#, n)),
                422,
                "LengthMismatch",
            ),
            ("empty withdrawals list", Box::new(|n| qw(r#"{"withdrawals":[]}"#, n)), 422, "EmptyList"),
            ("v = 0", Box::new(|n| json_of(&with_v(&h.sign(0, &deposit(1), n), 0))), 400, "NonCanonicalV"),
            ("v = 1", Box::new(|n| json_of(&with_v(&h.sign(0, &deposit(1), n), 1))), 400, "NonCanonicalV"),
            ("high s", Box::new(|n| json_of(&high_s(&h.sign(0, &deposit(1), n)))), 400, "HighS"),
            (
                "wrong checksum",
                Box::new(|n| {
                    let mut v = json_of(&h.sign(0, &deposit(1), n));
                    v["from"] = json!(wrong_checksum(me));
                    v
                }),
                400,
                "BadChecksum",
            ),
            (
                "body over 16 KiB",
                Box::new(|n| {
                    let uri = "x".repeat(MAX_BODY_BYTES + 1);
                    json_of(&h.sign(0, &Tx::RegisterService { metadata_uri: uri }, n))
                }),
                413,
                "BodyTooLarge",
            ),
        ];
        for (nonce, (what, tx, status, name)) in cases.iter().enumerate() {
            let nonce = nonce as u64;
            let answer = h.post("/v1/tx", &tx(nonce)).await;
            assert_eq!(answer.0, *status, "{what}: {}", answer.1);
            expect_error(&answer, *status, name);
            // A valid transaction with the same nonce commits; its `from` is written checksummed
            // or in one case (both are accepted).
            let mut valid = json_of(&h.sign(0, &deposit(1), nonce));
            let forms = [me.to_checksum(None), format!("0x{}", me.to_string()[2..].to_uppercase())];
            valid["from"] = json!(forms[nonce as usize % 2]);
            nonce_is_unused(&h, me, nonce, valid).await;
        }
        // The refusals name the values.
        let answer = h.post("/v1/tx", &raw(r#"{"strategy":1,"amount":" 1"}"#, 99)).await;
        assert!(answer.1["message"].as_str().is_some_and(|m| m.contains(r#"" 1""#)), "{}", answer.1);
        let answer = h.post("/v1/tx", &raw(r#"{"strategy":99,"amount":"1"}"#, 99)).await;
        assert!(answer.1["message"].as_str().is_some_and(|m| m.contains("strategy#99")), "{}", answer.1);

        // In a batch, a refused item is that item's error; a bad checksum makes the request bad.
        let n = cases.len() as u64;
        let zero = raw(r#"{"strategy":1,"amount":"0"}"#, n);
        let (status, answer) = h.post("/v1/txs", &json!([zero, json_of(&h.sign(0, &deposit(1), n))])).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer[0]["error"], "ZeroAmount", "{answer}");
        assert!(answer[1]["hash"].is_string(), "{answer}");
        let mut bad = json_of(&h.sign(1, &deposit(1), 0));
        bad["from"] = json!(wrong_checksum(address_of(&h.keys.stakers[1])));
        let answer = h.post("/v1/txs", &json!([bad])).await;
        expect_error(&answer, 400, "BadChecksum");
        assert!(answer.1["message"].as_str().is_some_and(|m| m.starts_with("item 0:")), "{}", answer.1);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A POST over a raw connection: status, `Retry-After` and the JSON body.
fn post_raw(addr: &str, path: &str, body: &Value) -> (u16, Option<String>, Value) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status");
    let retry = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("retry-after")))
        .map(|(_, v)| v.trim().to_owned());
    (status, retry, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn post_with_headers(h: &Harness, body: Value) -> (u16, Option<String>, Value) {
    let addr = h.client.base().trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || post_raw(&addr, "/v1/tx", &body)).await.expect("join")
}

fn expect_retry(answer: &(u16, Option<String>, Value), status: u16, name: &str) {
    assert_eq!((answer.0, answer.2["error"].as_str()), (status, Some(name)), "{}", answer.2);
    assert_eq!(answer.1, Some(RETRY_AFTER_SECONDS.to_string()), "Retry-After");
    assert!(answer.2["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn a_full_mempool_answers_503_with_retry_after() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (h, dir) = node("admission-full", Some(2)).await;
        for who in 0..2 {
            assert_eq!(h.submit(&h.sign(who, &deposit(1), 0)).await.0, 202);
        }
        let answer = post_with_headers(&h, json_of(&h.sign(2, &deposit(1), 0))).await;
        expect_retry(&answer, 503, "Full");
        h.block();
        let who = address_of(&h.keys.stakers[2]);
        nonce_is_unused(&h, who, 0, json_of(&h.sign(2, &deposit(1), 0))).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn an_account_over_its_bound_answers_429_with_retry_after() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (h, dir) = node("admission-account", None).await;
        let limit = MAX_WAITING_PER_ACCOUNT as u64;
        for n in 0..limit {
            assert_eq!(h.submit(&h.sign(0, &deposit(1), n)).await.0, 202);
        }
        let answer = post_with_headers(&h, json_of(&h.sign(0, &deposit(1), limit))).await;
        expect_retry(&answer, 429, "AccountFull");
        let who = address_of(&h.keys.stakers[0]);
        assert_eq!(nonces(&h, who).await, (0, limit), "the refusal used no nonce");
        h.block();
        assert_eq!(nonces(&h, who).await, (limit, limit));
        nonce_is_unused(&h, who, limit, json_of(&h.sign(0, &deposit(1), limit))).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn accounts_that_hold_nothing_cannot_fill_blocks() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (h, dir) = node("admission-spam", None).await;
        // A fresh key: no balance, no position, no role. Deposits it cannot pay for would each
        // fail in a block; it may have only a few waiting at once.
        let key = dev_key("admission/spammer");
        let sign = |tx: &Tx, n: u64| json_of(&h.domain.sign(&key, tx, n, unix_now() + 600));
        let budget = EMPTY_ACCOUNT_MAX_WAITING as u64;
        for n in 0..budget {
            assert_eq!(h.post("/v1/tx", &sign(&deposit(1), n)).await.0, 202);
        }
        let answer = post_with_headers(&h, sign(&deposit(1), budget)).await;
        expect_retry(&answer, 429, "EmptyAccountBudget");
        assert_eq!(nonces(&h, address_of(&key)).await, (0, budget), "the refusal used no nonce");
        h.block();
        // What it sent failed in the block; the refused one's nonce is free and a valid
        // transaction with it commits (creating a pod costs nothing and lifts no budget).
        nonce_is_unused(&h, address_of(&key), budget, sign(&Tx::CreatePod {}, budget)).await;

        // Many fresh keys share one budget: at most EMPTY_ACCOUNTS_MAX_WAITING per block.
        let per = EMPTY_ACCOUNT_MAX_WAITING;
        let batch: Vec<Value> = (0..EMPTY_ACCOUNTS_MAX_WAITING)
            .map(|i| {
                let k = dev_key(&format!("admission/sybil/{}", i / per));
                json_of(&h.domain.sign(&k, &deposit(1), (i % per) as u64, unix_now() + 600))
            })
            .collect();
        let (status, answer) = h.post("/v1/txs", &Value::Array(batch)).await;
        assert_eq!(status, 200);
        assert!(answer.as_array().is_some_and(|a| a.iter().all(|r| r["hash"].is_string())), "{answer}");
        let one_more = dev_key("admission/sybil/one-more");
        let answer = post_with_headers(&h, json_of(&h.domain.sign(&one_more, &deposit(1), 0, unix_now() + 600))).await;
        expect_retry(&answer, 429, "EmptyAccountsBusy");
        // A funded account is not budgeted.
        assert_eq!(h.submit(&h.sign(0, &deposit(1), 0)).await.0, 202);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
