//! The `cairn` binary: output streams and exit status of `cairn scenario run`.

use std::{path::PathBuf, process::Command};

fn cairn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

const PASSING: &str = r#"
name = "tiny"
[[assets]]
symbol = "stETH"
balances = { alice = "10e18" }
[[steps]]
block = 1
sender = "alice"
tx = { deposit = { strategy = "stETH", amount = "1e18" } }
[[steps]]
block = 1
query = { deposit_shares = { staker = "alice", strategy = "stETH" } }
expect = "1e18"
"#;

#[test]
fn passing_scenario_prints_a_json_report_and_exits_0() {
    let file = temp_file("pass.toml", PASSING);
    let out = cairn().args(["scenario", "run"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["scenario"], "tiny");
    assert_eq!(report["passed"], 2);
    assert_eq!(report["failed"], 0);
    assert!(report["final_state"]["state_hash"].is_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scenario tiny: 2 passed, 0 failed"), "{stderr}");
}

#[test]
fn failing_scenario_exits_1_and_quiet_prints_nothing_on_stdout() {
    let file = temp_file("fail.toml", &PASSING.replace("expect = \"1e18\"", "expect = \"2e18\""));
    let out = cairn().args(["scenario", "run", "--quiet"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 passed, 1 failed"), "{stderr}");
    assert!(stderr.contains("FAILED step 1"), "{stderr}");
}

#[test]
fn unreadable_or_malformed_files_exit_2() {
    let out = cairn().args(["scenario", "run", "/nonexistent/cairn.toml"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let file = temp_file("bad.toml", "profile = \"devnet\"\nsteps = 3\n");
    let out = cairn().args(["scenario", "run"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = cairn().args(["scenario", "jump"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_readme_example_passes() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lifecycle.toml");
    let out = cairn().args(["scenario", "run"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["failed"], 0);
}
