//! The `cairn` binary itself against a devnet-genesis node served on a loopback port: exit
//! codes (0 ok, 1 refused, 2 bad input, 3 unreachable), a closed pipe, field errors, defaults
//! from the signer, encrypted key files, completions and help, `bench node --node`.
//!
//! The binary is `$CAIRN_BIN` if set, else `target/<profile>/cairn` beside this test binary,
//! built first with `cargo build -p cairn-cli --bin cairn` (a no-op when it is fresh).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use cairn_node::{Config, devnet, envelope::address_of};
use serde_json::{Value, json};

use crate::node::{Harness, start_with, temp_dir};

/// The `cairn` binary, built once per test run.
pub(crate) fn cairn() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CAIRN_BIN") {
            return PathBuf::from(bin);
        }
        // target/<profile>/deps/it-<hash> → target/<profile>/cairn
        let exe = std::env::current_exe().expect("test binary");
        let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
        let release = dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "cairn-cli", "--bin", "cairn"]);
        if release {
            build.arg("--release");
        }
        let status = build.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("cargo build");
        assert!(status.success(), "building the cairn binary failed");
        dir.join(format!("cairn{}", std::env::consts::EXE_SUFFIX))
    })
}

/// `cairn ARGS` with a clean environment (no `CAIRN_*` from the caller), no stdin, `envs` added.
fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(cairn());
    c.args(args).stdin(Stdio::null());
    for var in ["CAIRN_KEY", "CAIRN_PASSWORD", "CAIRN_HOME"] {
        c.env_remove(var);
    }
    c.envs(envs.iter().copied());
    c
}

/// Runs `cairn ARGS` to the end.
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(args, envs).output().expect("runs cairn")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit status, showing the output otherwise.
#[track_caller]
fn expect_code(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

/// The output as JSON.
#[track_caller]
fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

/// A devnet-genesis node (8 stakers) producing blocks every 20 ms, its loopback limits lifted.
struct Node {
    h: Harness,
    base: String,
    producer: Option<std::thread::JoinHandle<()>>,
    rt: Option<tokio::runtime::Runtime>,
    dir: PathBuf,
}

impl Node {
    fn start(tag: &str, chain_id: u64) -> Self {
        let dir = temp_dir(tag);
        let mut config = Config::new(dir.clone(), chain_id);
        config.block_interval = std::time::Duration::from_millis(20);
        config.http.exempt = vec![std::net::Ipv4Addr::LOCALHOST.into()];
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let h = rt.block_on(start_with(config));
        let producer = h.node.spawn_producer();
        let base = h.client.base().to_owned();
        Self { h, base, producer: Some(producer), rt: Some(rt), dir }
    }

    /// Staker `i`'s private key as `0x` hex.
    fn key(&self, i: usize) -> String {
        devnet::key_hex(&self.h.keys.stakers[i])
    }

    fn address(&self, i: usize) -> String {
        address_of(&self.h.keys.stakers[i]).to_string()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.h.node.stop();
        if let Some(p) = self.producer.take() {
            let _ = p.join();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn exit_codes_say_refused_bad_input_or_unreachable() {
    let n = Node::start("cli-exit", devnet::CHAIN_ID);
    let (key, node) = (n.key(0), n.base.as_str());

    // 0: committed and accepted.
    let o =
        run(&["tx", "deposit", "strategy=1", "amount=1e18", "--key", &key, "--node", node, "--wait", "--json"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["status"]["receipt"]["ok"], true);

    // 1: committed but refused by the chain (more than the balance); the receipt is printed.
    let o = run(&["tx", "deposit", "strategy=1", "amount=1e30", "--key", &key, "--node", node, "--wait"], &[]);
    expect_code(&o, 1);
    assert_eq!(json(&o)["status"]["receipt"]["ok"], false);
    assert!(stderr(&o).contains("deposit committed but refused by the chain: Insufficient"), "{}", stderr(&o));
    // 1: refused at submission: not an operator (checked on admission), valid for too long.
    let o = run(
        &["tx", "delegate_to", &format!("operator={}", n.address(7)), "--key", &key, "--node", node, "--wait"],
        &[],
    );
    expect_code(&o, 1);
    assert!(stderr(&o).contains("NotAnOperator"), "{}", stderr(&o));
    let o = run(&["tx", "deposit", "strategy=1", "amount=1", "--key", &key, "--node", node, "--expiry", "999999"], &[]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("ExpiryTooFar"), "{}", stderr(&o));
    // 1: a query the node answers 404.
    expect_code(&run(&["query", "tx", &format!("0x{}", "ab".repeat(32)), "--node", node], &[]), 1);

    // 2: bad input, named.
    for amount in ["amount=-5", r#"amount="-5""#] {
        let o = run(&["tx", "deposit", "strategy=1", amount, "--key", &key, "--node", node], &[]);
        expect_code(&o, 2);
        let want = r#"amount must be a non-negative integer, e.g. 1000 or 1e18 (got "-5")"#;
        assert!(stderr(&o).contains(want), "{amount}: {}", stderr(&o));
    }
    let o = run(&["tx", "deposit", "strategy=1", "amount=1.5", "--key", &key, "--node", node], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains(r#"(got "1.5")"#), "{}", stderr(&o));
    let empty = n.dir.join("no-keys");
    let empty = empty.to_str().expect("utf-8 path");
    let o =
        run(&["tx", "deposit", "strategy=1", "amount=1", "--key", "nobody", "--keys-dir", empty, "--node", node], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("--key nobody: no key file"), "{}", stderr(&o));
    expect_code(&run(&["tx", "deposit", "strategy=1", "amount=1", "--node", node], &[]), 2); // no --key
    expect_code(&run(&["tx", "deposit", "strategy", "--key", &key, "--node", node], &[]), 2); // not name=value
    expect_code(&run(&["query", "nonsense", "--node", node], &[]), 2);
    let o = run(&["query", "staker", "0xzz", "--node", node], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("is not an address (0x and 40 hex digits)"), "{}", stderr(&o));
    let o = run(&["query", "staker", "--node", node], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("staker needs an address: cairn query staker 0x… (or --key NAME"), "{}", stderr(&o));

    // 3: nothing listens.
    let closed = closed_port();
    let o = run(&["query", "health", "--node", &closed], &[]);
    expect_code(&o, 3);
    assert!(stderr(&o).contains("Connection refused"), "{}", stderr(&o));
    expect_code(&run(&["tx", "deposit", "strategy=1", "amount=1", "--key", &key, "--node", &closed], &[]), 3);
    expect_code(&run(&["vault", "show", "--node", &closed], &[]), 3);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let n = Node::start("cli-pipe", devnet::CHAIN_ID);
    let key = n.key(1);
    let runs: [&[&str]; 3] = [
        &["query", "state", "--node", &n.base],
        &["tx", "deposit", "strategy=1", "amount=1", "--key", &key, "--node", &n.base, "--json"],
        &["completions", "bash"],
    ];
    for args in runs {
        let mut child = command(args, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        drop(child.stdout.take()); // the reader goes away before anything is written
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    // Like `| head -c 10`: a reader that takes a little and leaves.
    let mut child =
        command(&["completions", "zsh"], &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut first = [0u8; 10];
    std::io::Read::read_exact(child.stdout.as_mut().expect("stdout"), &mut first).expect("10 bytes");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn signer_fields_default_to_the_signer() {
    let n = Node::start("cli-signer", devnet::CHAIN_ID);
    let (operator, staker) = (n.key(2), n.key(3));
    let node = n.base.as_str();
    let ok = |args: &[&str]| {
        let o = run(args, &[]);
        expect_code(&o, 0);
        json(&o)
    };
    ok(&["tx", "register_as_operator", "allocation_delay=1", "--key", &operator, "--node", node, "--wait"]);
    ok(&["tx", "deposit", "strategy=1", "amount=2e18", "--key", &staker, "--node", node, "--wait"]);
    ok(&["tx", "delegate_to", &format!("operator={}", n.address(2)), "--key", &staker, "--node", node, "--wait"]);
    // `undelegate` without `staker=`: the signer undelegates itself.
    let answer = ok(&["tx", "undelegate", "--key", &staker, "--node", node, "--wait"]);
    let event = &answer["status"]["receipt"]["events"][0];
    assert_eq!(event["event"], "staker_undelegated", "{answer}");
    assert_eq!(event["staker"].as_str().map(str::to_lowercase), Some(n.address(3).to_lowercase()), "{answer}");
    // `query staker` without an address reads the key's (--key, or $CAIRN_KEY).
    let by_flag = ok(&["query", "staker", "--key", &staker, "--node", node]);
    let by_env = {
        let o = run(&["query", "staker", "--node", node], &[("CAIRN_KEY", &staker)]);
        expect_code(&o, 0);
        json(&o)
    };
    let by_address = ok(&["query", "staker", &n.address(3), "--node", node]);
    assert_eq!(by_flag, by_address);
    assert_eq!(by_env, by_address);
    assert!(by_address["delegated_to"].is_null(), "{by_address}");
    assert_eq!(by_address["queued_withdrawals"].as_array().map(Vec::len), Some(1), "{by_address}");
    // An operator's own settings default to the signer too.
    let answer = ok(&["tx", "set_allocation_delay", "delay=5", "--key", &operator, "--node", node, "--wait"]);
    assert_eq!(answer["status"]["receipt"]["ok"], true, "{answer}");
}

#[test]
fn key_files_are_encrypted_keystores_and_old_files_still_work() {
    let n = Node::start("cli-keys", devnet::CHAIN_ID);
    let dir = n.dir.join("keys");
    let keys_dir = dir.to_str().expect("utf-8 path");
    let node = n.base.as_str();
    let pw = [("CAIRN_PASSWORD", "correct horse")];

    // Create: a keystore v3 file, owner-only, with a funding hint.
    let o = run(&["keys", "create", "alice", "--keys-dir", keys_dir], &pw);
    expect_code(&o, 0);
    let alice = json(&o);
    assert_eq!(alice["encrypted"], true);
    assert!(stderr(&o).contains(&format!("cairn dev fund {}", alice["address"].as_str().expect("address"))));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("alice.json")).expect("file")).expect("json");
    assert_eq!((file["version"].as_u64(), file["crypto"]["kdf"].as_str()), (Some(3), Some("scrypt")), "{file}");
    assert!(file.get("private_key").is_none() && !file.to_string().contains("private"), "{file}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("alice.json")).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    expect_code(&run(&["keys", "create", "alice", "--keys-dir", keys_dir], &pw), 2); // exists

    // Import a funded key encrypted, another in the old plaintext form; list says which is which.
    expect_code(&run(&["keys", "import", "bob", &n.key(4), "--keys-dir", keys_dir], &pw), 0);
    let o = run(&["keys", "import", "carol", &n.key(5), "--keys-dir", keys_dir, "--insecure-plaintext"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["encrypted"], false);
    let list = json(&run(&["keys", "list", "--keys-dir", keys_dir], &[]));
    let flags: Vec<(String, bool)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|k| (k["name"].as_str().unwrap_or_default().to_owned(), k["encrypted"] == true))
        .collect();
    assert_eq!(flags, [("alice".into(), true), ("bob".into(), true), ("carol".into(), false)]);
    assert_eq!(list[1]["address"].as_str().map(str::to_lowercase), Some(n.address(4).to_lowercase()));

    // Round trip: the encrypted key signs with its password; the plaintext one needs none.
    let deposit = ["tx", "deposit", "strategy=1", "amount=1e18", "--node", node, "--keys-dir", keys_dir, "--wait"];
    let o = run(&[&deposit[..], &["--key", "bob"]].concat(), &pw);
    expect_code(&o, 0);
    assert_eq!(
        json(&o)["status"]["receipt"]["sender"].as_str().map(str::to_lowercase),
        Some(n.address(4).to_lowercase())
    );
    expect_code(&run(&[&deposit[..], &["--key", "carol"]].concat(), &[]), 0);
    // A wrong password: bad input, said plainly.
    let o = run(&[&deposit[..], &["--key", "bob"]].concat(), &[("CAIRN_PASSWORD", "wrong")]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains(r#"wrong password for key "bob""#), "{}", stderr(&o));
    // An address query reads the keystore's address without a password.
    let o = run(&["query", "account", "--key", "bob", "--keys-dir", keys_dir, "--node", node], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["nonce"], 1);
}

#[test]
fn risk_checks_exit_by_verdict_and_take_psi_lists_and_deep_before_the_file() {
    let example = |f: &str| format!("{}/../examples/risk/{f}", env!("CARGO_MANIFEST_DIR"));
    // `--deep` before the file no longer reads the file name as seconds.
    let o = run(&["risk", "check", "--deep", &example("dr5.json")], &[]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("SECURE"), "{}", stdout(&o));
    let o = run(&["risk", "check", &example("dr5b.json"), "--psi", "0.05,1/10,0.2", "--json"], &[]);
    expect_code(&o, 1);
    let report = json(&o);
    assert_eq!((&report["schema"], &report["verdict"]), (&json!("cairn.risk/1"), &json!("insecure")));
    let shocks: Vec<Value> = report["losses"].as_array().expect("losses").iter().map(|l| l["psi"].clone()).collect();
    assert_eq!(shocks.len(), 3, "{report}");
    assert_eq!(shocks, ["1/20", "1/10", "1/5"].map(Value::from).to_vec(), "decimals reduced, in order");
    for bad in ["1.5", "x", "2/1"] {
        let o = run(&["risk", "check", &example("dr5.json"), "--psi", bad], &[]);
        expect_code(&o, 2);
        assert!(stderr(&o).contains("--psi"), "{}", stderr(&o));
    }
    // dr5's best elastic attack loses 2: secure at a budget of 1.5, not at 2.5.
    let o = run(&["risk", "check", "--budget", "1.5", &example("dr5.json"), "--json"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["elastic"]["budget"], "1.5");
    let o = run(&["risk", "check", &example("dr5.json"), "--budget", "2.5"], &[]);
    expect_code(&o, 1);
    assert!(stdout(&o).contains("INSECURE   elastic model (budget 2.5)"), "{}", stdout(&o));
    let o = run(&["risk", "check", &example("dr5.json"), "--budget", "lots"], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("--budget"), "{}", stderr(&o));
}

#[test]
fn completions_and_help_with_examples() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell], &[]);
        expect_code(&o, 0);
        assert!(stdout(&o).len() > 1_000 && stdout(&o).contains("cairn"), "{shell}");
    }
    expect_code(&run(&["completions", "tcsh"], &[]), 2);
    for verb in [&["tx"][..], &["query"], &["keys", "create"], &["vault", "deposit"], &["bench", "node"], &["devnet"]] {
        let o = run(&[verb, &["--help"]].concat(), &[]);
        expect_code(&o, 0);
        assert!(stdout(&o).contains("Examples:\n  cairn "), "{verb:?}: {}", stdout(&o));
    }
}

#[test]
fn bench_node_loads_a_running_devnet() {
    let n = Node::start("cli-bench", devnet::CHAIN_ID);
    let args = ["bench", "node", "--node", &n.base, "--txs", "500", "--accounts", "8", "--clients", "2"];
    let o = run(&[&args[..], &["--batch", "50", "--reads", "100"]].concat(), &[]);
    expect_code(&o, 0);
    let r = json(&o);
    assert_eq!(
        (r["committed"].as_u64(), r["refused"].as_u64(), r["reads"].as_u64()),
        (Some(500), Some(0), Some(100)),
        "{r}"
    );
    assert!(r["blocks"].as_u64().is_some_and(|b| b >= 1) && r["committed_per_second"].as_f64() > Some(0.0), "{r}");
    // More accounts than the devnet funds: refused before anything is sent.
    let o = run(&["bench", "node", "--node", &n.base, "--txs", "10", "--accounts", "9"], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("use --accounts 8 or fewer"), "{}", stderr(&o));
    drop(n);

    // Not a devnet: refused, naming the chain.
    let other = Node::start("cli-bench-other", 1);
    let o = run(&["bench", "node", "--node", &other.base, "--txs", "10", "--accounts", "2"], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("serves chain 1, not a devnet (31337)"), "{}", stderr(&o));
}

/// A `cairn devnet` child process, killed when dropped.
struct Devnet {
    child: std::process::Child,
    base: String,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts `cairn devnet ARGS --listen 127.0.0.1:PORT --stakers 8` and waits (at most 60 s) until
/// its world is seeded and quiet.
fn devnet_child(args: &[&str]) -> Devnet {
    let listen = format!("127.0.0.1:{}", free_port());
    let child = command(&[&["devnet", "--listen", &listen, "--stakers", "8"], args].concat(), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts cairn devnet");
    let d = Devnet { child, base: format!("http://{listen}") };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let h = run(&["query", "health", "--node", &d.base], &[]);
        if h.status.success() {
            let v = run(&["vault", "list", "--node", &d.base, "--json"], &[]);
            if v.status.success() && json(&v).as_array().is_some_and(|a| !a.is_empty()) {
                return d;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the devnet did not seed within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn height(base: &str) -> u64 {
    let o = run(&["query", "health", "--node", base, "--json"], &[]);
    expect_code(&o, 0);
    json(&o)["height"].as_u64().expect("height")
}

#[test]
fn devnet_flags_and_dev_verbs_through_the_binary() {
    let dir = temp_dir("cli-devnet");
    let data = dir.join("chain");
    let data = data.to_str().expect("utf-8 path");

    // A busy port fails before anything is written.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = busy.local_addr().expect("addr").to_string();
    let o = run(&["devnet", "--listen", &listen, "--data-dir", data], &[]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("busy"), "{}", stderr(&o));
    assert!(!std::path::Path::new(data).exists(), "nothing created for a busy port");
    drop(busy);

    // In memory, quiet, mined by hand.
    let d = devnet_child(&["--in-memory", "--no-workers", "--no-mining", "--data-dir", data]);
    let base = d.base.as_str();
    assert!(!std::path::Path::new(data).exists(), "--in-memory writes nothing");
    let h0 = height(base);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(height(base), h0, "no workers, no mining: the chain stands still");
    let o = run(&["dev", "mine", "3", "--interval", "12", "--node", base, "--json"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["head"]["height"], h0 + 3);
    let o = run(&["dev", "time", "2h", "--node", base, "--json"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["offset_seconds"], 36 + 7_200, "{}", stdout(&o));
    let o = run(&["dev", "snapshot", "--node", base, "--json"], &[]);
    expect_code(&o, 0);
    let id = json(&o)["id"].as_u64().expect("id").to_string();
    let fresh = format!("0x{}", "42".repeat(20));
    expect_code(&run(&["dev", "fund", &fresh, "--asset", "stETH", "--amount", "7e18", "--node", base], &[]), 0);
    expect_code(&run(&["dev", "mine", "--node", base], &[]), 0);
    let o = run(&["query", "account", &fresh, "--node", base, "--json"], &[]);
    assert_eq!(json(&o)["balances"][1]["amount"], "7000000000000000000", "{}", stdout(&o));
    // A transaction signed after the clock moved is valid (the CLI signs against the node's
    // clock) and shows in the account's history.
    let o = run(
        &[
            "tx",
            "deposit",
            "strategy=1",
            "amount=1e18",
            "--key",
            &devnet::key_hex(&devnet::DevKeys::new(1).stakers[0]),
            "--node",
            base,
        ],
        &[],
    );
    expect_code(&o, 0);
    expect_code(&run(&["dev", "mine", "--node", base], &[]), 0);
    let staker = address_of(&devnet::DevKeys::new(1).stakers[0]).to_string();
    let o = run(&["query", "txs", &staker, "--node", base, "--json"], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["txs"][0]["action"], "deposit", "{}", stdout(&o));
    assert_eq!(json(&o)["txs"][0]["ok"], true, "{}", stdout(&o));
    let o = run(&["query", "blocks", "--node", base, "--json"], &[]);
    assert_eq!(json(&o)["blocks"][0]["height"], h0 + 6);
    // Revert: the funding and the deposit are gone; the snapshot is used up (refused: 1).
    expect_code(&run(&["dev", "revert", &id, "--node", base], &[]), 0);
    assert_eq!(height(base), h0 + 4);
    let o = run(&["query", "account", &fresh, "--node", base, "--json"], &[]);
    assert_eq!(json(&o)["balances"][1]["amount"], "0");
    let o = run(&["dev", "revert", &id, "--node", base], &[]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("UnknownSnapshot"), "{}", stderr(&o));
    // Bad input: 2.
    expect_code(&run(&["dev", "time", "soon", "--node", base], &[]), 2);
    expect_code(&run(&["dev", "fund", "0x12", "--node", base], &[]), 2);
    // Rewards on the node: nothing claimable yet (no root), so a claim is refused.
    let o = run(&["rewards", "show", &staker, "--node", base], &[]);
    expect_code(&o, 0);
    assert_eq!(json(&o)["root"], Value::Null);
    let key = devnet::key_hex(&devnet::DevKeys::new(1).stakers[0]);
    let o = run(&["rewards", "claim", "--key", &key, "--node", base], &[]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("no root is claimable yet"), "{}", stderr(&o));
    drop(d);

    // On disk; --reset starts the chain over.
    let d = devnet_child(&["--no-workers", "--data-dir", data]);
    expect_code(&run(&["dev", "mine", "200", "--node", &d.base], &[]), 0);
    let tall = height(&d.base);
    assert!(tall > 200);
    drop(d);
    let d = devnet_child(&["--no-workers", "--data-dir", data]);
    assert!(height(&d.base) >= tall, "a restart resumes");
    drop(d);
    let d = devnet_child(&["--no-workers", "--reset", "--data-dir", data]);
    assert!(height(&d.base) < 200, "--reset starts over");
    drop(d);

    // A node that is not a devnet refuses the controls: 1, naming why.
    let n = Node::start("cli-not-devnet", devnet::CHAIN_ID);
    let o = run(&["dev", "mine", "--node", &n.base], &[]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("NotADevnet"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
