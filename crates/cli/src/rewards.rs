//! `cairn rewards`: the rewards calculator over a scenario's history.
//!
//! The scenario runs as with `cairn scenario run`, recording the state at the start of every day;
//! the calculator then computes cumulative earnings through `end` and the distribution tree.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use cairn_primitives::{Address, Timestamp, named_address};
use cairn_rewards::{Calculation, RewardsTree, calculate};
use serde_json::Value;

use crate::scenario::{Run, Scenario, rewards_json, run_full};

/// A calculation over a scenario file: the run, the calculation and its tree.
pub struct Calculated {
    /// The scenario run (report, final state, snapshots).
    pub run: Run,
    /// Cumulative earnings.
    pub calc: Calculation,
    /// The distribution tree.
    pub tree: RewardsTree,
}

/// Runs `file` and calculates through `end` (default: the last day boundary before the last
/// step's time).
pub fn calculate_file(file: &Path, end: Option<Timestamp>) -> Result<Calculated> {
    let scenario = Scenario::from_file(file)?;
    let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
    let mut run = run_full(&scenario, name).with_context(|| format!("in {}", file.display()))?;
    if !run.report.ok() {
        bail!("{}: the scenario has failing steps:\n{}", file.display(), run.report.failure_lines().join("\n"));
    }
    let interval = run.state.params().rewards_interval_seconds.max(1);
    let end = end.unwrap_or(run.last_time.saturating_sub(1) / interval * interval);
    if end > run.last_time {
        bail!("--end {end} is after the scenario's last step (time {})", run.last_time);
    }
    run.snapshots.advance(&run.state, run.last_block, run.last_time);
    let calc = calculate(&run.state.submissions(), run.snapshots.snapshots(), interval, end)
        .map_err(|e| anyhow!("calculation failed: {e}"))?;
    let tree = calc.tree(&run.state);
    Ok(Calculated { run, calc, tree })
}

impl Calculated {
    /// The JSON of `cairn rewards calculate`: root, end, earnings by account and submissions.
    pub fn to_json(&self) -> Value {
        rewards_json(&self.run.state, &self.calc, &self.tree, &self.run.accounts)
    }

    /// The claim of `earner` (a name or an address) against root `root_index`, as JSON ready for
    /// a `process_claim` transaction.
    pub fn proof(&self, earner: &str, root_index: u32) -> Result<Value> {
        let address = match earner.parse::<Address>() {
            Ok(a) if earner.starts_with("0x") => a,
            _ => named_address(earner),
        };
        let claim = self
            .tree
            .claim(root_index, address, None)
            .ok_or_else(|| anyhow!("{earner} ({address}) earned nothing through {}", self.calc.end))?;
        Ok(serde_json::json!({
            "root": self.tree.root(),
            "calculation_end": self.calc.end,
            "claim": claim,
        }))
    }
}
