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

/// The failure lines of a report, joined.
fn failures(report: &Report) -> String {
    report.failure_lines().join("\n")
}

/// Parses a scenario that must be refused, returning the whole error chain.
fn parse_error(text: &str) -> String {
    format!("{:#}", run_str(text, Format::Toml).expect_err("the file is refused"))
}

const DELEGATED: &str = r#"
[[steps]]
block = 1
sender = "op1"
tx = { register_as_operator = { allocation_delay = 0 } }
"#;

#[test]
fn expect_events_match_field_values() {
    let report = run_toml(&scenario(&format!(
        r#"{DELEGATED}
[[steps]]
block = 2
sender = "alice"
tx = {{ deposit = {{ strategy = "stETH", amount = "5e18" }} }}
expect_events = ["Deposit", {{ event = "deposit", staker = "alice", strategy = "stETH", amount = "5e18", shares = "5000000000000000000" }}]

[[steps]]
block = 3
sender = "alice"
tx = {{ delegate_to = {{ operator = "op1" }} }}
expect_events = [{{ event = "StakerDelegated", staker = "alice", operator = "op1" }}, {{ event = "operator_shares_increased", shares = "5e18" }}]
"#
    )));
    assert!(report.ok(), "{}", failures(&report));
    assert_eq!(report.steps[2].expectations[1].subject, "events");
}

#[test]
fn expect_events_with_wrong_values_or_unknown_fields_fail_naming_them() {
    let report = run_toml(&scenario(&format!(
        r#"{DELEGATED}
[[steps]]
block = 2
sender = "alice"
tx = {{ deposit = {{ strategy = "stETH", amount = "5e18" }} }}
expect_events = [{{ event = "deposit", amount = "4e18" }}]

[[steps]]
block = 3
sender = "alice"
tx = {{ delegate_to = {{ operator = "op1" }} }}
expect_events = [{{ event = "staker_delegated", operator = "op2" }}, {{ event = "staker_delegated", operatr = "op1" }}, "OperatorSlashed"]
"#
    )));
    assert_eq!((report.passed, report.failed), (1, 2), "{}", failures(&report));
    let lines = report.failure_lines();
    assert_eq!(
        lines[0],
        "step 1 (block 2): events: deposit: amount: expected \"4000000000000000000\", got \"5000000000000000000\""
    );
    let op1 = cairn_primitives::named_address("op1").to_string().to_lowercase();
    let op2 = cairn_primitives::named_address("op2");
    assert_eq!(
        lines[1],
        format!(
            "step 2 (block 3): events: staker_delegated: operator: expected \"{op2}\", got \"{op1}\"; \
             staker_delegated has no field \"operatr\" (its fields: operator, staker); OperatorSlashed was not emitted"
        )
    );
    let unknown = parse_error(&scenario(
        "[[steps]]\nblock = 1\nsender = \"alice\"\ntx = { deposit = { strategy = \"stETH\", amount = \"1\" } }\nexpect_events = [{ event = \"Deposited\", amount = \"1\" }]\n",
    ));
    assert!(unknown.contains("unknown event \"Deposited\""), "{unknown}");
    let old_form = parse_error(&scenario(
        "[[steps]]\nblock = 1\nsender = \"alice\"\ntx = { deposit = { strategy = \"stETH\", amount = \"1\" } }\nexpect_events = [\"Depositt\"]\n",
    ));
    assert!(old_form.contains("unknown event \"Depositt\""), "{old_form}");
}

#[test]
fn bounds_in_expectations_hold() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "5e18" } }
expect_events = [{ event = "deposit", shares = { between = ["4e18", "5e18"] } }]

[[steps]]
block = 1
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = { le = "5e18" }

[[steps]]
block = 1
query = { strategy = { strategy = "stETH" } }
expect = { total_shares = { ge = "5e18" }, exchange_rate = { between = ["1e18", "1e18"] } }
"#,
    ));
    assert!(report.ok(), "{}", failures(&report));
}

#[test]
fn a_broken_bound_fails_with_the_bound_and_the_value() {
    let report = run_toml(&scenario(
        r#"
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "5e18" } }
expect_events = [{ event = "deposit", shares = { le = "4e18" } }]

[[steps]]
block = 1
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = { ge = "6e18" }

[[steps]]
block = 1
query = { strategy = { strategy = "stETH" } }
expect = { total_shares = { between = ["1", "2"] } }

[[steps]]
block = 1
query = { strategy = { strategy = "stETH" } }
expect = { total_shares = { between = ["1"] } }
"#,
    ));
    assert_eq!(report.failed, 4);
    assert_eq!(
        report.failure_lines(),
        [
            "step 0 (block 1): events: deposit: shares: expected ≤ 4000000000000000000, got 5000000000000000000",
            "step 1 (block 1): result: expected ≥ 6000000000000000000, got 5000000000000000000",
            "step 2 (block 1): result: total_shares: expected between 1 and 2, got 5000000000000000000",
            "step 3 (block 1): result: total_shares: between: expected `between = [low, high]`, got [\"1\"]",
        ]
    );
}

/// A day of ORC rewards from a service to its one operator's delegators: alice (100 stETH) and
/// op1 (10% commission) earn; one block is an hour.
const REWARDS: &str = r#"
profile = "devnet"
[params]
block_time_seconds = 3600

[[assets]]
symbol = "stETH"
balances = { alice = "100e18" }

[[assets]]
symbol = "ORC"
strategy = false
balances = { avs = "100e18" }

[[steps]]
block = 1
sender = "op1"
tx = { register_as_operator = { allocation_delay = 0 } }

[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "100e18" } }

[[steps]]
block = 1
sender = "alice"
tx = { delegate_to = { operator = "op1" } }

[[steps]]
block = 1
sender = "avs"
tx = { register_service = {} }

[[steps]]
block = 1
sender = "avs"
tx = { create_operator_set = { service = "avs", set_id = 0, strategies = ["stETH"], slasher = "avs" } }

[[steps]]
block = 1
sender = "op1"
tx = { register_for_operator_sets = { operator = "op1", service = "avs", set_ids = [0] } }

[[steps]]
block = 24
sender = "avs"
tx = { create_rewards_submission = { service = "avs", submissions = [
  { strategies_and_multipliers = [{ strategy = "stETH", multiplier = "1e18" }], token = "ORC", amount = "100e18", start = 86400, duration = 86400 },
] } }
"#;

/// The ORC token's reward-leaf address.
fn orc_address() -> String {
    cairn_primitives::named_address("cairn/asset/ORC").to_string()
}

#[test]
fn rewards_earners_can_be_listed_exactly() {
    let report = run_toml(&format!(
        r#"{REWARDS}
[[steps]]
block = 49
rewards = {{ end = 172800, earners = ["op1", "alice"] }}
expect = {{ earners = {{ alice = {{ ORC = "90e18" }}, op1 = {{ ORC = {{ between = ["9e18", "10e18"] }} }} }} }}
"#
    ));
    assert!(report.ok(), "{}", failures(&report));
    let earners = report.steps.last().and_then(|s| s.expectations.iter().find(|e| e.subject == "earners"));
    assert!(earners.is_some_and(|e| e.passed));
}

#[test]
fn a_wrong_earners_list_fails_naming_the_missing_and_the_unexpected() {
    let report =
        run_toml(&format!("{REWARDS}\n[[steps]]\nblock = 49\nrewards = {{ earners = [\"alice\", \"bob\"] }}\n"));
    assert_eq!(report.failed, 1);
    assert_eq!(report.failure_lines(), [r#"step 7 (block 49): earners: missing ["bob"], unexpected ["op1"]"#]);
    let typo = parse_error(&format!("{REWARDS}\n[[steps]]\nblock = 49\nrewards = {{ earner = [\"alice\"] }}\n"));
    assert!(typo.contains("unknown field `earner`"), "{typo}");
}

/// Posts the calculated root at block 49; claims are active from block 52.
const POSTED: &str = r#"
[[steps]]
block = 49
rewards = {}

[[steps]]
block = 49
sender = "governor"
tx = { submit_root = { root = "calculated", calculation_end = "calculated" } }
"#;

#[test]
fn claims_name_tokens_by_their_0x_address() {
    let orc = orc_address();
    let report = run_toml(&format!(
        r#"{REWARDS}{POSTED}
[[steps]]
block = 52
sender = "alice"
claim = {{ earner = "alice", tokens = ["{orc}"] }}
expect_events = [{{ event = "rewards_claimed", earner = "alice", token = "{orc}", amount = "90e18" }}]

[[steps]]
block = 52
query = {{ balance = {{ account = "alice", asset = "{orc}" }} }}
expect = "90e18"
"#
    ));
    assert!(report.ok(), "{}", failures(&report));
    assert_eq!(report.assets[1].address.map(|a| a.to_string()), Some(orc.clone()));
    // op1's claim as the runner builds it, sent instead as a raw `process_claim` with its token
    // written as the address and as the symbol.
    let op1_claim = run_toml(&format!(
        "{REWARDS}{POSTED}\n[[steps]]\nblock = 52\nsender = \"op1\"\nclaim = {{ earner = \"op1\" }}\n"
    ));
    let built = op1_claim.steps[9].tx.clone().expect("op1's claim");
    let raw = |token: &str| {
        let mut tx = built.clone();
        tx["process_claim"]["claim"]["token_leaves"][0]["token"] = token.into();
        toml_inline(&tx)
    };
    for token in [orc.as_str(), "ORC"] {
        let text = format!(
            "{REWARDS}{POSTED}\n[[steps]]\nblock = 52\nsender = \"op1\"\ntx = {}\n\
             expect_events = [{{ event = \"rewards_claimed\", earner = \"op1\", token = \"ORC\", amount = \"10e18\" }}]\n",
            raw(token)
        );
        let report = run_toml(&text);
        assert!(report.ok(), "token {token}: {}", failures(&report));
    }
}

#[test]
fn an_unknown_token_address_fails_the_claim_naming_it() {
    let unknown = "0x00000000000000000000000000000000000000aa";
    let report = run_toml(&format!(
        "{REWARDS}{POSTED}\n[[steps]]\nblock = 52\nsender = \"alice\"\nclaim = {{ earner = \"alice\", tokens = [\"{unknown}\"] }}\n"
    ));
    assert_eq!(report.failed, 1);
    assert_eq!(
        report.failure_lines(),
        [format!("step 9 (block 52): invalid step: tokens: no asset has the token address {unknown}")]
    );
}

/// A JSON value written as a TOML inline value.
fn toml_inline(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let fields: Vec<String> = map.iter().map(|(k, v)| format!("{k} = {}", toml_inline(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(toml_inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

const STORIES: &str = r#"
[[steps]]
block = 5
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "10e18" } }

[[story]]
name = "more"
description = "alice deposits again"

[[story.steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "5e18" } }

[[story.steps]]
block = 1
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = "15e18"

[[story]]
name = "untouched"

[[story.steps]]
block = 0
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = "10e18"

[[story.steps]]
block = 3
time = 7
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18" } }
"#;

#[test]
fn stories_run_in_their_own_world_from_the_steps_end() {
    let report = run_toml(&scenario(STORIES));
    assert!(report.ok(), "{}", failures(&report));
    assert_eq!((report.passed, report.steps.len()), (5, 5));
    let where_: Vec<(Option<&str>, usize, u64, u64)> =
        report.steps.iter().map(|s| (s.story.as_deref(), s.index, s.block, s.time)).collect();
    assert_eq!(
        where_,
        [
            (None, 0, 5, 10),
            (Some("more"), 0, 6, 12),
            (Some("more"), 1, 6, 12),
            (Some("untouched"), 0, 5, 10),
            (Some("untouched"), 1, 8, 17)
        ]
    );
    let names: Vec<&str> = report.stories.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["more", "untouched"]);
    assert_eq!((report.stories[0].start_block, report.stories[0].start_time), (5, 10));
    assert_ne!(report.stories[0].final_state, report.stories[1].final_state);
    let main = run_toml(&scenario(STORIES.split("[[story]]").next().expect("the steps")));
    assert_eq!(report.state_hash(), main.state_hash(), "stories leave the top-level world alone");
}

#[test]
fn a_failing_story_step_is_named_by_its_story() {
    let report = run_toml(&scenario(&STORIES.replace("expect = \"15e18\"", "expect = \"14e18\"")));
    assert_eq!((report.passed, report.failed), (4, 1));
    assert_eq!(
        report.failure_lines(),
        [r#"story "more" step 1 (block 6): result: expected "14e18", got "15000000000000000000""#]
    );
    assert_eq!((report.stories[0].passed, report.stories[0].failed), (1, 1));
    let twice = parse_error(&scenario(&STORIES.replace("name = \"untouched\"", "name = \"more\"")));
    assert!(twice.contains("story \"more\": a story needs a name, unique in the file"), "{twice}");
    let backwards = parse_error(&scenario(
        &STORIES.replace("block = 3\ntime = 7", "block = 0\ntime = 7").replace("block = 0\nquery", "block = 2\nquery"),
    ));
    assert!(
        backwards.contains("story \"untouched\": step 1: block 0 is before the previous step's block 2"),
        "{backwards}"
    );
}
