//! The networked verbs: `cairn keys`, `cairn tx`, `cairn query`
//! and `cairn bench node`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use alloy_primitives::Address;
use anyhow::{Context, Result, anyhow, bail};
use cairn_node::{
    client::Client,
    devnet,
    envelope::{Domain, SignedTx, address_of, key_from_bytes},
    node::unix_now,
};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

/// The directory keys live in: `--keys-dir`, else `$CAIRN_HOME/keys`, else `~/.cairn/keys`.
pub fn keys_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("CAIRN_HOME").map(|h| PathBuf::from(h).join("keys")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cairn/keys"))
}

fn write_key(dir: &Path, name: &str, key: &SigningKey) -> Result<PathBuf> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("key name {name:?}: use letters, digits, - and _");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
    }
    let path = dir.join(format!("{name}.json"));
    let body = json!({"name": name, "address": address_of(key), "private_key": devnet::key_hex(key)});
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f =
        opts.open(&path).with_context(|| format!("creating {} (does the key exist already?)", path.display()))?;
    f.write_all(serde_json::to_string_pretty(&body)?.as_bytes())?;
    Ok(path)
}

/// Reads a key by name from `dir`, or a raw `0x` private key.
pub fn read_key(dir: &Path, name: &str) -> Result<SigningKey> {
    if name.starts_with("0x") && name.len() == 66 {
        return parse_key(name);
    }
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading key {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)?;
    parse_key(v["private_key"].as_str().ok_or_else(|| anyhow!("{} has no private_key", path.display()))?)
}

fn parse_key(hex: &str) -> Result<SigningKey> {
    let bytes = alloy_primitives::hex::decode(hex).context("private key is not hex")?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| anyhow!("a private key is 32 bytes"))?;
    key_from_bytes(&arr).ok_or_else(|| anyhow!("not a valid secp256k1 private key"))
}

/// `cairn keys create NAME`: a new random key.
pub fn keys_create(dir: &Path, name: &str) -> Result<Value> {
    let mut seed = [0u8; 32];
    let key = loop {
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
        if let Some(k) = key_from_bytes(&seed) {
            break k;
        }
    };
    let path = write_key(dir, name, &key)?;
    Ok(json!({"name": name, "address": address_of(&key), "file": path}))
}

/// `cairn keys import NAME 0xKEY`.
pub fn keys_import(dir: &Path, name: &str, hex: &str) -> Result<Value> {
    let key = parse_key(hex)?;
    let path = write_key(dir, name, &key)?;
    Ok(json!({"name": name, "address": address_of(&key), "file": path}))
}

/// `cairn keys list`.
pub fn keys_list(dir: &Path) -> Result<Value> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Value::Array(out));
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p)?).with_context(|| format!("reading {}", p.display()))?;
        out.push(json!({"name": v["name"], "address": v["address"]}));
    }
    Ok(Value::Array(out))
}

/// Turns `field=value` pairs into a JSON object: a value that parses as JSON is taken as JSON,
/// except numbers that are not exact 64-bit integers, which stay strings like anything else
/// (`amount=10e18` and `amount=100000000000000000000` stay exact: amounts accept strings).
pub fn body_from_pairs(pairs: &[String]) -> Result<Value> {
    let mut obj = serde_json::Map::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| anyhow!("{p:?}: expected field=value"))?;
        let value = match serde_json::from_str::<Value>(v) {
            Ok(Value::Number(n)) if n.is_f64() => Value::String(v.to_owned()),
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

/// The error for a node's JSON error answer.
pub fn refusal(status: u16, v: &Value) -> anyhow::Error {
    anyhow!("{status}: {}: {}", v["error"].as_str().unwrap_or("?"), v["message"].as_str().unwrap_or(""))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// `cairn tx ACTION field=value ...`: builds, signs and submits a transaction.
pub fn tx(node: &str, key: &SigningKey, action: &str, body: Value, wait: bool, expiry_secs: u64) -> Result<Value> {
    let body = body.to_string();
    cairn_node::envelope::decode_tx(action, &body)?;
    runtime()?.block_on(async {
        let c = Client::new(node);
        let (status, health) = c.get("/health").await?;
        if status != 200 {
            bail!("{}/health answered {status}: {health}", c.base());
        }
        let chain_id = health["chain_id"].as_u64().ok_or_else(|| anyhow!("no chain id in {health}"))?;
        let from = address_of(key);
        let (_, acct) = c.get(&format!("/v1/accounts/{from}")).await?;
        let nonce = acct["pending_nonce"].as_u64().ok_or_else(|| anyhow!("no nonce in {acct}"))?;
        let domain = Domain::new(chain_id);
        let expiry = unix_now() + expiry_secs;
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
        let (status, answer) = c.post(path, &serde_json::to_value(&signed)?).await?;
        if status >= 400 {
            bail!("refused ({status}): {}: {}", answer["error"], answer["message"]);
        }
        Ok(answer)
    })
}

/// `cairn query RESOURCE [ARG]`: a GET against the API, or `ask JSON` for `/v1/query`.
pub fn query(node: &str, resource: &str, arg: Option<&str>) -> Result<Value> {
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
        ("ask", Some(_)) => String::new(),
        _ => bail!(
            "unknown query {resource:?}{}: health, state, block [H], tx HASH, account ADDR, staker ADDR, withdrawals ADDR, operators, operator ADDR, allocations ADDR, services, operator-sets, slashes, rewards, claimed ADDR, eip712, ask JSON",
            arg.map(|a| format!(" {a}")).unwrap_or_default()
        ),
    };
    runtime()?.block_on(async {
        let c = Client::new(node);
        let (status, v) = if path.is_empty() {
            let q: Value = serde_json::from_str(arg.unwrap_or_default()).context("ask: the query is not JSON")?;
            c.post("/v1/query", &q).await?
        } else {
            c.get(&path).await?
        };
        if status >= 400 {
            bail!("{status}: {}: {}", v["error"], v["message"]);
        }
        Ok(v)
    })
}

/// Parses an address argument.
pub fn address(s: &str) -> Result<Address> {
    s.parse().map_err(|e| anyhow!("{s:?} is not an address: {e}"))
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
        println!("{}", serde_json::to_string(&built)?);
        std::io::stdout().flush()?;
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
