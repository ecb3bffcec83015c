//! Scenario files: a genesis, then steps (transactions, queries, checks) with expected outcomes.
//!
//! The format is documented in `docs/scenarios.md`. A file is TOML, or JSON when its extension is
//! `.json`; both are read into the same serde types. Transactions and queries stay
//! `serde_json::Value`s until the step runs, because names (accounts, asset symbols) are resolved
//! against the state of that moment (module `resolve`).

mod expect;

mod resolve;
mod run;

use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, Result, bail};
use cairn_primitives::{Block, Profile, Timestamp, U256, serde_dec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use run::{
    AssetInfo, Expectation, Report, Run, StepKind, StepReport, StoryReport, rewards_json, run, run_file, run_full,
    run_str, run_with_state,
};

/// The syntax of a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (the default).
    Toml,
    /// JSON (files ending in `.json`).
    Json,
}

impl Format {
    /// The format of a file, from its extension: `.json` is JSON, anything else TOML.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name shown in the report (default: the file name without extension).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text describing the story.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameter profile the genesis starts from (default: devnet).
    #[serde(default = "default_profile")]
    pub profile: Profile,
    /// Overrides of individual `Params` fields.
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
    /// Governance account (default: the name `governor`).
    #[serde(default)]
    pub governor: Option<String>,
    /// The single unpauser (default: the name `unpauser`).
    #[serde(default)]
    pub unpauser: Option<String>,
    /// Accounts allowed to pause (default: the single name `pauser`).
    #[serde(default)]
    pub pausers: Option<Vec<String>>,
    /// Assets registered at genesis, numbered in this order.
    #[serde(default)]
    pub assets: Vec<AssetSpec>,
    /// The beacon-chain oracle committee at genesis (default: none).
    #[serde(default)]
    pub oracle: Option<OracleSpec>,
    /// The steps, run in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Independent sub-stories, each run in its own copy of the world as the steps leave it.
    #[serde(default)]
    pub story: Vec<Story>,
    /// What each service declares for its operator sets, for `cairn risk scenario` (ignored by
    /// `cairn scenario run`).
    #[serde(default)]
    pub risk: Vec<RiskSpec>,
}

/// A service's declaration for one operator set: profit from corruption and threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSpec {
    /// The service (name or address).
    pub service: String,
    /// The set's number.
    pub set_id: u32,
    /// Profit from corrupting the set, in underlying tokens.
    pub prize: Amount,
    /// Fraction of the set's allocated stake needed to corrupt it, `"p/q"`.
    pub threshold: String,
}

/// A sub-story: steps run in a copy of the world the top-level steps leave, with blocks and
/// times counted from there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Story {
    /// Name, unique in the file; shown in the report and in failure lines.
    pub name: String,
    /// Free text describing the sub-story.
    #[serde(default)]
    pub description: Option<String>,
    /// The steps; `block` and `time` are offsets from the story's start.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// The beacon-chain oracle committee: member names and the quorum (a strict majority).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleSpec {
    /// Members (names or addresses).
    pub members: Vec<String>,
    /// Matching reports needed for a report to take effect.
    pub quorum: u32,
}

fn default_profile() -> Profile {
    Profile::Devnet
}

/// One genesis asset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Ticker, unique; steps name the asset (and its strategy) by it.
    pub symbol: String,
    /// Decimals (informational, default 18).
    #[serde(default = "default_decimals")]
    pub decimals: u8,
    /// Whether the asset gets a strategy at genesis (default true).
    #[serde(default = "default_true")]
    pub strategy: bool,
    /// Initial balances by account name (or address).
    #[serde(default)]
    pub balances: BTreeMap<String, Amount>,
    /// Native ETH: gets the beacon-chain strategy (pods) instead of a token strategy.
    #[serde(default)]
    pub native: bool,
}

fn default_decimals() -> u8 {
    18
}

fn default_true() -> bool {
    true
}

/// An amount written as a decimal, `0x` hex or `<int>e<exp>` string, or a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Amount(#[serde(with = "serde_dec")] pub U256);

/// One step of a scenario: exactly one of `tx`, `query` or `check`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Block height of the step; never lower than the previous step's.
    pub block: Block,
    /// Block timestamp (default: `block * params.block_time_seconds`).
    #[serde(default)]
    pub time: Option<Timestamp>,
    /// Short title shown in the report.
    #[serde(default)]
    pub label: Option<String>,
    /// Longer comment, copied to the report.
    #[serde(default)]
    pub note: Option<String>,
    /// Signer of a transaction (name or address).
    #[serde(default)]
    pub sender: Option<String>,
    /// A transaction: `{ <variant> = { fields } }`.
    #[serde(default)]
    pub tx: Option<Value>,
    /// A query: `{ <query> = { fields } }` or the name of a query without fields.
    #[serde(default)]
    pub query: Option<Value>,
    /// A check; the only one is `"invariants"`.
    #[serde(default)]
    pub check: Option<String>,
    /// Run the rewards calculation: `{ end = T }` (default end: the last day boundary before the
    /// step's time).
    #[serde(default)]
    pub rewards: Option<Value>,
    /// Claim from the latest calculation: `{ earner, root_index, tokens, recipient }`, sent by
    /// `sender` like a transaction.
    #[serde(default)]
    pub claim: Option<Value>,
    /// Expected outcome (transactions) or result (queries).
    #[serde(default)]
    pub expect: Option<Value>,
    /// Events a transaction must emit (each at least once), by name or with field values.
    #[serde(default)]
    pub expect_events: Vec<EventExpect>,
}

/// One entry of `expect_events`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EventExpect {
    /// An event name (CamelCase or snake_case): some event of that name is emitted.
    Name(String),
    /// `{ event = NAME, <field> = <value>, ... }`: an event of that name with these field values.
    Fields(serde_json::Map<String, Value>),
}

/// What a `rewards` step's table holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RewardsSpec {
    /// The day boundary the calculation runs through.
    #[serde(default)]
    pub(crate) end: Option<Timestamp>,
    /// The exact set of earners the calculation must have (accounts).
    #[serde(default)]
    pub(crate) earners: Option<Vec<String>>,
}

impl RewardsSpec {
    /// Reads a `rewards` step's value.
    pub(crate) fn parse(v: &Value) -> Result<Self, String> {
        serde_json::from_value(v.clone())
            .map_err(|e| format!("`rewards` takes `{{ end = T, earners = [accounts] }}` (both optional): {e}"))
    }
}

impl Scenario {
    /// Parses a scenario from text and checks its shape (one action per step, blocks in order).
    pub fn parse(text: &str, format: Format) -> Result<Self> {
        let value: Value = match format {
            Format::Toml => toml::from_str(text).context("scenario is not valid TOML")?,
            Format::Json => serde_json::from_str(text).context("scenario is not valid JSON")?,
        };
        let scenario: Scenario = serde_json::from_value(value).context("scenario does not match the format")?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file (format from the extension).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text, Format::of_path(path)).with_context(|| format!("in {}", path.display()))
    }

    fn validate(&self) -> Result<()> {
        validate_steps(&self.steps)?;
        let mut seen = std::collections::BTreeSet::new();
        for story in &self.story {
            if story.name.is_empty() || !seen.insert(story.name.as_str()) {
                bail!("story {:?}: a story needs a name, unique in the file", story.name);
            }
            validate_steps(&story.steps).with_context(|| format!("story {:?}", story.name))?;
        }
        Ok(())
    }
}

/// Checks each step's shape and that blocks never go backwards.
fn validate_steps(steps: &[Step]) -> Result<()> {
    let mut last = 0;
    for (i, step) in steps.iter().enumerate() {
        step.validate().with_context(|| format!("step {i}"))?;
        if step.block < last {
            bail!("step {i}: block {} is before the previous step's block {last}", step.block);
        }
        last = step.block;
    }
    Ok(())
}

impl Step {
    /// What the step does.
    pub fn kind(&self) -> Option<StepKind> {
        let present = [
            self.tx.is_some(),
            self.query.is_some(),
            self.check.is_some(),
            self.rewards.is_some(),
            self.claim.is_some(),
        ];
        if present.iter().filter(|p| **p).count() != 1 {
            return None;
        }
        let kinds = [StepKind::Tx, StepKind::Query, StepKind::Check, StepKind::Rewards, StepKind::Claim];
        present.iter().zip(kinds).find(|(p, _)| **p).map(|(_, k)| k)
    }

    fn validate(&self) -> Result<()> {
        let Some(kind) = self.kind() else {
            bail!("a step needs exactly one of `tx`, `query`, `check`, `rewards` or `claim`");
        };
        if kind == StepKind::Tx || kind == StepKind::Claim {
            self.validate_sending()?;
        } else if self.sender.is_some() || !self.expect_events.is_empty() {
            bail!("`sender` and `expect_events` belong to `tx` and `claim` steps only");
        }
        if let Some(r) = &self.rewards {
            RewardsSpec::parse(r).map_err(anyhow::Error::msg)?;
        }
        if kind == StepKind::Check {
            if self.check.as_deref() != Some("invariants") {
                bail!("unknown check {:?}: the only check is \"invariants\"", self.check);
            }
            if self.expect.is_some() {
                bail!("a `check` step takes no `expect`");
            }
        }
        Ok(())
    }

    /// A `tx` or `claim` step: a sender, an outcome expectation, known expected events.
    fn validate_sending(&self) -> Result<()> {
        if self.sender.is_none() {
            bail!("a `tx` step needs a `sender`");
        }
        expect::TxExpect::parse(self.expect.as_ref()).map_err(anyhow::Error::msg)?;
        for spec in &self.expect_events {
            expect::check_event_spec(spec).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
}
