//! The networked verbs: `cairn keys`, `cairn tx`, `cairn query`
//! and `cairn bench node`.

use std::{path::Path, sync::Arc, time::Duration};

use alloy_primitives::Address;
use anyhow::{Context, Result, anyhow};
use cairn_node::{
    client::{Client, ClientError},
    envelope::{Domain, SignedTx, address_of},
    node::unix_now,
};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::{
    keys::{self, Protection},
    out::{bad_input, refused, refused_with, unreachable},
};

pub use crate::keys::{keys_dir, read_key};

/// `cairn keys create NAME --insecure-plaintext`: a new random key, stored unencrypted.
pub fn keys_create(dir: &Path, name: &str) -> Result<Value> {
    keys::create(dir, name, Protection::Plaintext)
}

/// `cairn keys import NAME 0xKEY --insecure-plaintext`.
pub fn keys_import(dir: &Path, name: &str, hex: &str) -> Result<Value> {
    keys::import(dir, name, hex, Protection::Plaintext)
}

/// `cairn keys list`.
pub fn keys_list(dir: &Path) -> Result<Value> {
    keys::list(dir)
}

/// Turns `field=value` pairs into a JSON object: a value that parses as JSON is taken as JSON,
/// except numbers that are not exact unsigned 64-bit integers, which stay strings like anything
/// else (`amount=10e18` and `amount=100000000000000000000` stay exact: amounts accept strings;
/// `amount=-5` is refused as `(got "-5")`, as typed).
pub fn body_from_pairs(pairs: &[String]) -> Result<Value> {
    let mut obj = serde_json::Map::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| bad_input(format!("{p:?}: fields are written name=value, e.g. amount=10e18")))?;
        let value = match serde_json::from_str::<Value>(v) {
            Ok(Value::Number(n)) if !n.is_u64() => Value::String(v.to_owned()),
            Ok(value) => value,
            Err(_) => Value::String(v.to_owned()),
        };
        obj.insert(k.to_owned(), value);
    }
    Ok(Value::Object(obj))
}

/// Runs a request future on a one-thread runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    runtime()?.block_on(f)
}

/// The error for a node's JSON error answer: a refusal (exit 1).
pub fn refusal(status: u16, v: &Value) -> anyhow::Error {
    refused(format!("{status}: {}: {}", v["error"].as_str().unwrap_or("?"), v["message"].as_str().unwrap_or("")))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// The longest the CLI waits for one answer (a `?wait=true` submission waits up to 30 s).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The node's answer to a request: no connection or no answer in time is
/// [`Kind::Unreachable`](crate::out::Kind::Unreachable).
pub(crate) async fn answer(
    base: &str,
    request: impl Future<Output = Result<(u16, Value), ClientError>>,
) -> Result<(u16, Value)> {
    match tokio::time::timeout(ANSWER_TIMEOUT, request).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => {
            Err(unreachable(format!("no node at {base}: {} (is it running? `cairn devnet` starts one)", e.reason)))
        }
        Err(_) => Err(unreachable(format!("{base} did not answer within {} s", ANSWER_TIMEOUT.as_secs()))),
    }
}

/// A GET whose 4xx/5xx answer is a refusal (exit 1).
pub(crate) async fn get_ok(c: &Client, path: &str) -> Result<Value> {
    let (status, v) = answer(c.base(), c.get(path)).await?;
    if status >= 400 {
        return Err(refusal(status, &v));
    }
    Ok(v)
}

/// Fields whose value, when missing, is the signer's address: the staker who undelegates,
/// the operator who changes its own settings.
pub const SIGNER_DEFAULTS: &[(&str, &str)] = &[
    ("undelegate", "staker"),
    ("modify_operator_details", "operator"),
    ("update_operator_metadata", "operator"),
    ("set_allocation_delay", "operator"),
    ("register_for_operator_sets", "operator"),
    ("modify_allocations", "operator"),
    ("set_operator_service_split", "operator"),
    ("set_operator_set_split", "operator"),
];

/// Fills the fields of [`SIGNER_DEFAULTS`] the body leaves out with `signer`.
pub fn with_signer_defaults(action: &str, mut body: Value, signer: Address) -> Value {
    if let Value::Object(fields) = &mut body {
        for (_, field) in SIGNER_DEFAULTS.iter().filter(|(a, _)| *a == action) {
            fields.entry(*field).or_insert_with(|| json!(signer));
        }
    }
    body
}

/// `cairn tx ACTION field=value ...`: builds, signs and submits a transaction. Missing signer
/// fields are filled ([`SIGNER_DEFAULTS`]). A body that does not decode is bad input; a 4xx
/// answer, or with `wait` a committed receipt with `ok: false`, is a refusal (the latter carries
/// the answer, printed all the same).
pub fn tx(node: &str, key: &SigningKey, action: &str, body: Value, wait: bool, expiry_secs: u64) -> Result<Value> {
    let from = address_of(key);
    let body = with_signer_defaults(action, body, from).to_string();
    cairn_node::envelope::decode_tx(action, &body).map_err(|e| bad_input(e.to_string()))?;
    runtime()?.block_on(async {
        let c = Client::new(node);
        let (status, health) = answer(c.base(), c.get("/health")).await?;
        if status != 200 {
            return Err(unreachable(format!("{}/health answered {status}: {health}", c.base())));
        }
        let chain_id = health["chain_id"].as_u64().ok_or_else(|| unreachable(format!("no chain id in {health}")))?;
        let acct = get_ok(&c, &format!("/v1/accounts/{from}")).await?;
        let nonce = acct["pending_nonce"].as_u64().ok_or_else(|| anyhow!("no nonce in {acct}"))?;
        let domain = Domain::new(chain_id);
        // The node's clock, which a devnet may have moved forward (`cairn dev time`).
        let now = health["now"].as_u64().unwrap_or_else(unix_now);
        let expiry = now + expiry_secs;
        let hash = domain.signing_hash(action, &body, nonce, expiry);
        let sig = cairn_node::envelope::sign_hash(key, hash);
        let signed = SignedTx {
            from,
            chain_id,
            action: action.to_owned(),
            body,
            nonce,
            expiry,
            signature: cairn_node::envelope::hex(&sig),
        };
        let path = if wait { "/v1/tx?wait=true" } else { "/v1/tx" };
        let (status, reply) = answer(c.base(), c.post(path, &serde_json::to_value(&signed)?)).await?;
        if status >= 400 {
            return Err(refused(format!("refused ({status}): {}: {}", reply["error"], reply["message"])));
        }
        let receipt = &reply["status"]["receipt"];
        if receipt["ok"] == Value::Bool(false) {
            let why = match (receipt["error"]["name"].as_str(), receipt["error"]["message"].as_str()) {
                (Some(name), Some(message)) => format!("{name}: {message}"),
                _ => receipt["error"].to_string(),
            };
            return Err(refused_with(format!("{action} committed but refused by the chain: {why}"), reply));
        }
        Ok(reply)
    })
}

/// The queries that read one address, and what the address is.
const ADDRESS_QUERIES: &[(&str, &str)] = &[
    ("account", "an account"),
    ("staker", "a staker"),
    ("withdrawals", "a staker"),
    ("allocations", "an operator"),
    ("operator", "an operator"),
    ("claimed", "an earner"),
    ("txs", "an account"),
];

/// The argument of `cairn query RESOURCE`: as given, or for the address queries the address of
/// `key` (`--key` or `$CAIRN_KEY`); without either, bad input naming the forms.
pub fn query_arg(resource: &str, arg: Option<String>, key: Option<String>, dir: &Path) -> Result<Option<String>> {
    if arg.is_some() || !ADDRESS_QUERIES.iter().any(|(r, _)| *r == resource) {
        return Ok(arg);
    }
    match keys::key_name(key) {
        Some(k) => Ok(Some(keys::read_address(dir, &k)?.to_string())),
        None => Err(bad_input(format!(
            "{resource} needs an address: cairn query {resource} 0x… (or --key NAME, or ${})",
            keys::KEY_ENV
        ))),
    }
}

/// `cairn query RESOURCE [ARG]`: a GET against the API, or `ask JSON` for `/v1/query`. An
/// address argument is checked before asking; a 4xx answer (e.g. 404) is a refusal.
pub fn query(node: &str, resource: &str, arg: Option<&str>) -> Result<Value> {
    if let (Some((_, what)), Some(a)) = (ADDRESS_QUERIES.iter().find(|(r, _)| *r == resource), arg) {
        address(a).map_err(|e| bad_input(format!("{resource}: {what}: {e}")))?;
    }
    let path = match (resource, arg) {
        ("health", None) => "/health".to_owned(),
        ("state", None) => "/v1/state".to_owned(),
        ("block", None) => "/v1/blocks/latest".to_owned(),
        ("block", Some(h)) => format!("/v1/blocks/{h}"),
        ("tx", Some(h)) => format!("/v1/tx/{h}"),
        ("account", Some(a)) => format!("/v1/accounts/{a}"),
        ("staker", Some(a)) => format!("/v1/stakers/{a}"),
        ("withdrawals", Some(a)) => format!("/v1/withdrawals/{a}"),
        ("operators", None) => "/v1/operators".to_owned(),
        ("operator", Some(a)) => format!("/v1/operators/{a}"),
        ("allocations", Some(a)) => format!("/v1/allocations/{a}"),
        ("services", None) => "/v1/services".to_owned(),
        ("operator-sets", None) => "/v1/operator-sets".to_owned(),
        ("slashes", None) => "/v1/slashes".to_owned(),
        ("rewards", None) => "/v1/rewards".to_owned(),
        ("claimed", Some(a)) => format!("/v1/rewards/claimed/{a}"),
        ("eip712", None) => "/v1/eip712".to_owned(),
        ("blocks", None) => "/v1/blocks".to_owned(),
        ("blocks", Some(before)) => format!("/v1/blocks?before={before}"),
        ("txs", Some(a)) => format!("/v1/accounts/{a}/txs"),
        ("ask", Some(_)) => String::new(),
        _ => {
            return Err(bad_input(format!(
                "unknown query {resource:?}{}: health, state, block [H], tx HASH, account ADDR, staker ADDR, withdrawals ADDR, operators, operator ADDR, allocations ADDR, services, operator-sets, slashes, rewards, claimed ADDR, blocks [BEFORE], txs ADDR, eip712, ask JSON",
                arg.map(|a| format!(" {a}")).unwrap_or_default()
            )));
        }
    };
    runtime()?.block_on(async {
        let c = Client::new(node);
        if path.is_empty() {
            let q: Value = serde_json::from_str(arg.unwrap_or_default())
                .map_err(|e| bad_input(format!("ask: the query is not JSON ({e}), e.g. '{{\"operators\": {{}}}}'")))?;
            let (status, v) = answer(c.base(), c.post("/v1/query", &q)).await?;
            if status >= 400 {
                return Err(refused(format!("{status}: {}: {}", v["error"], v["message"])));
            }
            return Ok(v);
        }
        get_ok(&c, &path).await
    })
}

/// Parses an address argument (bad input naming the form otherwise).
pub fn address(s: &str) -> Result<Address> {
    s.parse().map_err(|e| bad_input(format!("{s:?} is not an address (0x and 40 hex digits): {e}")))
}

/// A progress bar on stderr for `cairn bench node` (hidden when stderr is not a terminal).
pub fn progress_bar() -> cairn_node::loadgen::Progress {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Arc::new(move |phase, done, total| {
        if bar.message() != phase {
            bar.set_message(phase);
            bar.reset();
        }
        bar.set_length(total);
        bar.set_position(done);
        if done >= total && phase == "reading" {
            bar.finish_and_clear();
        }
    })
}

/// `cairn bench restart`: a child process builds the chain and is SIGKILLed once it is stored;
/// then the store is opened (the first open follows the kill) and reopened cleanly `reopens`
/// times. With `build_into`, this process is that child.
pub fn bench_restart(
    spec: &cairn_node::loadgen::RestartSpec,
    reopens: usize,
    build_into: Option<&Path>,
) -> Result<Value> {
    use std::io::BufRead;
    if let Some(dir) = build_into {
        let (_node, built) = cairn_node::loadgen::build_chain(dir, spec, None)?;
        crate::out::print(&serde_json::to_string(&built)?);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    let dir = std::env::temp_dir().join(format!("cairn-restart-{}-{}", std::process::id(), unix_now()));
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "restart", "--txs", &spec.txs.to_string(), "--accounts", &spec.accounts.to_string()])
        .args(["--per-block", &spec.per_block.to_string(), "--build-into"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout from the builder"))?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    child.kill()?;
    child.wait()?;
    let built: cairn_node::loadgen::BuiltChain =
        serde_json::from_str(&line).with_context(|| format!("the builder said {line:?}"))?;
    let after_kill = cairn_node::loadgen::time_open(&dir, spec, built.blocks)?;
    let clean =
        (0..reopens).map(|_| cairn_node::loadgen::time_open(&dir, spec, built.blocks)).collect::<Result<Vec<_>>>()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(json!({"built": built, "open_after_sigkill_seconds": after_kill, "open_clean_seconds": clean}))
}
