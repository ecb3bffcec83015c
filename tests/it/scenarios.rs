//! Scenario files: every example passes, and the runner itself fails what it should.

use std::path::{Path, PathBuf};

use cairn_cli::scenario::{Format, Report, run_file, run_str};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("examples")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("toml" | "json")))
        .collect();
    files.sort();
    files
}

fn run_toml(text: &str) -> Report {
    run_str(text, Format::Toml).expect("scenario parses")
}

const GENESIS: &str = r#"
profile = "devnet"
[[assets]]
symbol = "stETH"
balances = { alice = "100e18" }
"#;

fn scenario(steps: &str) -> String {
    format!("{GENESIS}\n{steps}")
}

#[test]
fn every_example_passes() {
    let files = example_files();
    for name in ["lifecycle.toml", "veto_window.toml", "incompatible_services.toml", "governance.toml"] {
        assert!(files.iter().any(|f| f.ends_with(name)), "examples/{name} is missing");
    }
    for file in &files {
        let report = run_file(file).unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
        assert!(report.ok(), "{}: {}\n{}", file.display(), report.summary_line(), report.failure_lines().join("\n"));
        assert!(report.passed > 0, "{} has no steps", file.display());
    }
}

#[test]
fn examples_are_deterministic() {
    for file in example_files() {
        let a = run_file(&file).expect("runs");
        let b = run_file(&file).expect("runs");
        assert!(a.state_hash().is_some(), "{}: no final state hash", file.display());
        assert_eq!(a.state_hash(), b.state_hash(), "{}", file.display());
        assert_eq!(a, b, "{}: reports differ between runs", file.display());
    }
}

#[test]
fn a_wrong_query_expectation_fails() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "32e18" } }

[[steps]]
block = 1
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = "31e18"
"#,
    ));
    assert_eq!((report.passed, report.failed), (1, 1));
    let step = &report.steps[1];
    assert!(!step.passed);
    assert_eq!(step.expectations.len(), 1);
    assert!(!step.expectations[0].passed);
    assert_eq!(step.result, Some(serde_json::json!("32000000000000000000")));
}

#[test]
fn a_wrong_field_expectation_fails() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
query = { strategy = { strategy = "stETH" } }
expect = { total_shares = "0", exchange_rate = "2e18" }
"#,
    ));
    assert_eq!(report.failed, 1);
}

#[test]
fn a_refused_tx_without_expect_fails() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "0" } }
"#,
    ));
    assert_eq!(report.failed, 1);
    assert_eq!(report.steps[0].outcome, "NewSharesZero");
    assert!(report.steps[0].message.is_some());
}

#[test]
fn an_expected_error_that_does_not_happen_fails() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18" } }
expect = { error = "NewSharesZero" }

[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "0" } }
expect = { error = "InsufficientBalance" }

[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "0" } }
expect = { error = "NewSharesZero" }
"#,
    ));
    assert_eq!((report.passed, report.failed), (1, 2));
    assert!(report.steps[2].passed);
}

#[test]
fn missing_events_fail() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18" } }
expect_events = ["Deposit", "exchange_rate_emitted", "OperatorSlashed"]
"#,
    ));
    assert_eq!(report.failed, 1);
    let events = report.steps[0].expectations.iter().find(|e| e.subject == "events").expect("events checked");
    assert!(!events.passed);
}

#[test]
fn unresolvable_names_fail_the_step() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "DOGE", amount = "1e18" } }

[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18", extra = 1 } }

[[steps]]
block = 1
query = { no_such_query = {} }
"#,
    ));
    assert_eq!(report.failed, 3);
    assert!(report.steps.iter().all(|s| s.outcome == "invalid"));
}

#[test]
fn malformed_files_are_errors() {
    let backwards = scenario(
        r#"
[[steps]]
block = 5
check = "invariants"

[[steps]]
block = 4
check = "invariants"
"#,
    );
    assert!(run_str(&backwards, Format::Toml).is_err());
    let two_actions = scenario(
        r#"
[[steps]]
block = 1
check = "invariants"
query = "params"
"#,
    );
    assert!(run_str(&two_actions, Format::Toml).is_err());
    let no_sender = scenario("[[steps]]\nblock = 1\ntx = { deposit = { strategy = \"stETH\", amount = \"1\" } }\n");
    assert!(run_str(&no_sender, Format::Toml).is_err());
    let bad_expect = scenario(
        "[[steps]]\nblock = 1\nsender = \"a\"\ntx = { deposit = { strategy = 0, amount = \"1\" } }\nexpect = \"Paused\"\n",
    );
    assert!(run_str(&bad_expect, Format::Toml).is_err());
    assert!(run_str("profile = \"devnet\"\n[params]\nno_such_param = 1\n", Format::Toml).is_err());
    assert!(run_str("profile = \"testnet\"\n", Format::Toml).is_err());
    assert!(run_str("{ not json", Format::Json).is_err());
}

#[test]
fn params_overrides_apply() {
    let report = run_toml(
        r#"
profile = "mainnet"
[params]
withdrawal_delay_blocks = 7
faucet_enabled = true

[[steps]]
block = 1
query = "params"
expect = { withdrawal_delay_blocks = 7, deallocation_delay_blocks = 100800, faucet_enabled = true, block_time_seconds = 12 }

[[steps]]
block = 1
sender = "governor"
tx = { mint = { asset = 0, to = "alice", amount = "1" } }
expect = { error = "UnknownAsset" }
"#,
    );
    assert!(report.ok(), "{}", report.failure_lines().join("\n"));
    assert_eq!(report.steps[0].time, 12);
}

#[test]
fn toml_and_json_give_the_same_state() {
    let toml = scenario(
        r#"
[[steps]]
block = 3
time = 1000
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "5e18" } }
"#,
    );
    let json = r#"{
        "profile": "devnet",
        "assets": [{ "symbol": "stETH", "balances": { "alice": "100e18" } }],
        "steps": [{ "block": 3, "time": 1000, "sender": "alice",
                    "tx": { "deposit": { "strategy": "stETH", "amount": "5000000000000000000" } } }]
    }"#;
    let a = run_str(&toml, Format::Toml).expect("toml runs");
    let b = run_str(json, Format::Json).expect("json runs");
    assert!(a.ok() && b.ok());
    assert_eq!(a.state_hash(), b.state_hash());
    assert_eq!(a.steps[0].time, 1000);
}

#[test]
fn invariants_are_checked_after_every_step() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18" } }

[[steps]]
block = 2
check = "invariants"
"#,
    ));
    assert!(report.ok());
    assert!(report.steps.iter().all(|s| s.invariants == "ok"));
}

/// Variant names of `pub enum <name>` in a source file (lines indented by exactly four spaces).
fn enum_variants(source: &str, name: &str) -> Vec<String> {
    let start = source.find(&format!("pub enum {name} {{")).unwrap_or_else(|| panic!("enum {name} not found"));
    let body = &source[start..];
    let end = body.find("\n}").expect("enum end");
    body[..end]
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .map(str::trim)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_string())
        .collect()
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn the_scenario_docs_name_every_transaction_error_and_event() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let docs = std::fs::read_to_string(root.join("docs/scenarios.md")).expect("docs/scenarios.md");
    let src = |f: &str| std::fs::read_to_string(root.join("crates/state/src").join(f)).expect("state source");
    let mut missing = Vec::new();
    let txs = enum_variants(&src("tx.rs"), "Tx");
    assert!(txs.len() >= 40 && txs.contains(&"SlashOperator".to_string()), "parsed transactions: {txs:?}");
    for tx in txs {
        if !docs.contains(&format!("`{}`", snake(&tx))) {
            missing.push(format!("transaction {}", snake(&tx)));
        }
    }
    let errors = [
        ("error.rs", "TxError"),
        ("ledger.rs", "LedgerError"),
        ("strategies.rs", "StrategyError"),
        ("operators.rs", "OperatorError"),
        ("delegation.rs", "DelegationError"),
        ("services.rs", "ServiceError"),
        ("allocations.rs", "AllocationError"),
        ("slashing.rs", "SlashingError"),
        ("withdrawals.rs", "WithdrawalError"),
        ("permissions.rs", "PermissionError"),
        ("governance.rs", "GovernanceError"),
        ("oracle.rs", "OracleError"),
        ("pods.rs", "PodError"),
        ("rewards.rs", "RewardsError"),
        ("vault/error.rs", "VaultError"),
    ];
    let wrappers = ["Ledger", "Strategy", "Operator", "Delegation", "Service", "Allocation", "Slashing"];
    let wrappers =
        [&wrappers[..], &["Withdrawal", "Permission", "Governance", "Oracle", "Pod", "Rewards", "Vault", "Math"]]
            .concat();
    let mut error_count = 0;
    for (file, name) in errors {
        let variants = enum_variants(&src(file), name);
        assert!(!variants.is_empty(), "no variants parsed in {name}");
        error_count += variants.len();
        for e in variants {
            if !wrappers.contains(&e.as_str()) && !docs.contains(&format!("`{e}`")) {
                missing.push(format!("error {e}"));
            }
        }
    }
    assert!(error_count >= 90, "parsed only {error_count} error variants");
    let events = enum_variants(&src("event.rs"), "Event");
    assert!(events.len() >= 48, "parsed events: {events:?}");
    for e in events {
        if !docs.contains(&format!("`{e}`")) {
            missing.push(format!("event {e}"));
        }
    }
    assert!(missing.is_empty(), "docs/scenarios.md does not mention: {missing:?}");
}

/// `cairn rewards calculate`/`proof` over the rewards example: the root is the one the scenario
/// posted, and the printed claim verifies against the final state's root 0.
#[test]
fn rewards_cli_root_and_proof_match_the_posted_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rewards.toml");
    let c = cairn_cli::rewards::calculate_file(&root, Some(259_200)).expect("calculates");
    let posted = c.run.state.distribution_roots();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].root, c.tree.root());
    let v = c.proof("bob", 0).expect("bob earned");
    let claim: cairn_state::rewards::RewardsClaim = serde_json::from_value(v["claim"].clone()).expect("a claim");
    let now = posted[0].activated_at;
    c.run.state.check_claim(&claim, now).expect("the proof verifies");
    let mut forged = claim.clone();
    forged.token_leaves[0].cumulative_earnings += cairn_primitives::U256::from(1u8);
    assert_eq!(c.run.state.check_claim(&forged, now).unwrap_err().name(), "InvalidTokenProof");
    assert!(c.proof("nobody", 0).is_err());
    assert!(cairn_cli::rewards::calculate_file(&root, Some(259_201)).is_err(), "end off a day boundary");
}
