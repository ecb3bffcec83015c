//! The runner: builds the genesis, runs every step against the state machine, checks the step's
//! expectations and the protocol invariants, and assembles the JSON report.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use anyhow::{Context, Result, anyhow};
use cairn_node::query::{Query, evaluate};
use cairn_primitives::{Address, AssetId, Block, Params, Profile, Timestamp};
use cairn_rewards::{Calculation, Recorder, RewardsTree, calculate};
use cairn_state::{Ctx, Genesis, GenesisAsset, State, Tx, oracle::OracleCommittee};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    EventExpect, Format, RewardsSpec, Scenario, Step, Story,
    expect::{TxExpect, event_mismatch, mismatch},
    resolve::{Names, Resolver, normalize_bare_name},
};

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A transaction.
    Tx,
    /// A query.
    Query,
    /// An explicit invariant check.
    Check,
    /// A rewards calculation over the run so far.
    Rewards,
    /// A claim built from the latest rewards calculation, sent as a transaction.
    Claim,
}

/// One checked expectation of a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    /// What was checked: `outcome`, `result` or `events`.
    pub subject: String,
    /// What the scenario expected.
    pub expected: Value,
    /// What happened.
    pub actual: Value,
    /// Whether they agree.
    pub passed: bool,
}

/// The record of one step in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The sub-story the step belongs to (none for the top-level steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    /// Position of the step in its list (the top-level steps or its story's), from 0.
    pub index: usize,
    /// Block height.
    pub block: Block,
    /// Block timestamp.
    pub time: Timestamp,
    /// The step's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The step's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the step does.
    pub kind: StepKind,
    /// The sender as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The sender's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_address: Option<Address>,
    /// The transaction, names resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx: Option<Value>,
    /// The query, names resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    /// The check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The rewards calculation or claim as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewards: Option<Value>,
    /// `ok`, the error name of a refused transaction or failed query, `InvariantViolated`, or
    /// `invalid` when the step could not be resolved or decoded.
    pub outcome: String,
    /// The error message, when the outcome is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The module that refused a transaction (`TxError::module`, e.g. `Slashing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Events of a transaction (empty when refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Value>>,
    /// The result of a query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Expectations checked.
    pub expectations: Vec<Expectation>,
    /// `ok`, or the invariant violated after the step.
    pub invariants: String,
    /// Whether every expectation held and the invariants hold.
    pub passed: bool,
    /// Why the step failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl StepReport {
    fn new(index: usize, step: &Step, kind: StepKind, time: Timestamp) -> Self {
        Self {
            story: None,
            index,
            block: step.block,
            time,
            label: step.label.clone(),
            note: step.note.clone(),
            kind,
            sender: step.sender.clone(),
            sender_address: None,
            tx: None,
            query: None,
            check: step.check.clone(),
            rewards: step.rewards.clone().or_else(|| step.claim.clone()),
            outcome: "ok".to_string(),
            message: None,
            module: None,
            events: None,
            result: None,
            expectations: Vec::new(),
            invariants: "ok".to_string(),
            passed: false,
            failures: Vec::new(),
        }
    }

    fn invalid(&mut self, message: String) {
        self.outcome = "invalid".to_string();
        self.failures.push(format!("invalid step: {message}"));
        self.message = Some(message);
    }

    /// Records an expectation; `why` (the reason it failed) is `None` when it held.
    fn expect(&mut self, subject: &str, expected: Value, actual: Value, why: Option<String>) {
        let passed = why.is_none();
        if let Some(why) = why {
            self.failures.push(format!("{subject}: {why}"));
        }
        self.expectations.push(Expectation { subject: subject.to_string(), expected, actual, passed });
    }

    /// `step 3 "label" (block 12)`, prefixed by `story "name" ` in a story: how the summary names
    /// the step.
    pub fn title(&self) -> String {
        let story = self.story.as_ref().map_or_else(String::new, |s| format!("story {s:?} "));
        match &self.label {
            Some(l) => format!("{story}step {} {l:?} (block {})", self.index, self.block),
            None => format!("{story}step {} (block {})", self.index, self.block),
        }
    }
}

/// An asset of the scenario with its ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetInfo {
    /// Ticker.
    pub symbol: String,
    /// Asset id.
    pub asset: AssetId,
    /// Its strategy's id, if it has one at the end of the run.
    pub strategy: Option<u32>,
    /// Its address in reward leaves (what a raw claim's `token` may be written as).
    pub address: Option<Address>,
}

/// How a sub-story ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoryReport {
    /// The story's name.
    pub name: String,
    /// The story's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The block its relative blocks count from (the last top-level step's).
    pub start_block: Block,
    /// The time its relative times count from (the last top-level step's).
    pub start_time: Timestamp,
    /// Steps of the story that passed.
    pub passed: usize,
    /// Steps of the story that failed.
    pub failed: usize,
    /// `State::summary` of the story's world as of its last step's block.
    pub final_state: Value,
}

/// The report of a scenario run, printed as JSON by `cairn scenario run`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Parameter profile.
    pub profile: Profile,
    /// Every account name used, with its address.
    pub accounts: BTreeMap<String, Address>,
    /// Assets with their ids.
    pub assets: Vec<AssetInfo>,
    /// One record per step: the top-level steps, then each story's.
    pub steps: Vec<StepReport>,
    /// `State::summary` after the top-level steps, as of the last one's block.
    pub final_state: Value,
    /// How each sub-story ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stories: Vec<StoryReport>,
    /// Steps that passed (stories included).
    pub passed: usize,
    /// Steps that failed (stories included).
    pub failed: usize,
}

impl Report {
    /// Whether every step passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// `scenario NAME: P passed, F failed`.
    pub fn summary_line(&self) -> String {
        format!("scenario {}: {} passed, {} failed", self.scenario, self.passed, self.failed)
    }

    /// One line per failure of a failed step.
    pub fn failure_lines(&self) -> Vec<String> {
        let failed = self.steps.iter().filter(|s| !s.passed);
        failed.flat_map(|s| s.failures.iter().map(move |f| format!("{}: {f}", s.title()))).collect()
    }

    /// The final state hash (`final_state.state_hash`).
    pub fn state_hash(&self) -> Option<&str> {
        self.final_state.get("state_hash").and_then(Value::as_str)
    }
}

/// Runs a scenario file (TOML, or JSON for `.json`).
pub fn run_file(path: impl AsRef<Path>) -> Result<Report> {
    let path = path.as_ref();
    let scenario = Scenario::from_file(path)?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
    run(&scenario, name).with_context(|| format!("in {}", path.display()))
}

/// Runs a scenario given as text.
pub fn run_str(text: &str, format: Format) -> Result<Report> {
    run(&Scenario::parse(text, format)?, "scenario")
}

/// Runs a parsed scenario; `default_name` names it when the file has no `name`.
pub fn run(scenario: &Scenario, default_name: &str) -> Result<Report> {
    run_with_state(scenario, default_name).map(|(report, _)| report)
}

/// Runs a parsed scenario and also returns its final state (for tools built on a scenario).
pub fn run_with_state(scenario: &Scenario, default_name: &str) -> Result<(Report, State)> {
    run_full(scenario, default_name).map(|r| (r.report, r.state))
}

/// Everything a run leaves: the report, the final state, the day snapshots the rewards
/// calculator reads, and the names used.
pub struct Run {
    /// The report.
    pub report: Report,
    /// The final state.
    pub state: State,
    /// The state at the start of every day the run crossed.
    pub snapshots: Recorder,
    /// The block of the last step.
    pub last_block: Block,
    /// The time of the last step.
    pub last_time: Timestamp,
    /// Account names seen, name → address.
    pub accounts: BTreeMap<String, Address>,
}

/// Runs a parsed scenario and keeps what rewards tools need.
pub fn run_full(scenario: &Scenario, default_name: &str) -> Result<Run> {
    let mut runner = Runner::new(scenario)?;
    let mut steps: Vec<StepReport> = scenario.steps.iter().enumerate().map(|(i, s)| runner.step(i, s)).collect();
    let last = scenario.steps.last();
    let (last_block, last_time) = (last.map_or(0, |s| s.block), last.map_or(0, |s| runner.time_of(s)));
    let mut stories = Vec::with_capacity(scenario.story.len());
    for story in &scenario.story {
        let (report, story_steps) = runner.clone().story(story, last_block, last_time);
        stories.push(report);
        steps.extend(story_steps);
    }
    let mut report = runner.report(scenario, default_name, steps);
    report.stories = stories;
    Ok(Run {
        report,
        state: runner.state,
        snapshots: runner.rec,
        last_block,
        last_time,
        accounts: runner.names.all().clone(),
    })
}

/// The latest rewards calculation of a run and its tree.
#[derive(Clone)]
struct Calculated {
    calc: Calculation,
    tree: RewardsTree,
}

/// The state being driven, the names seen so far, the day snapshots and the latest calculation.
#[derive(Clone)]
struct Runner {
    state: State,
    names: Names,
    rec: Recorder,
    calculated: Option<Calculated>,
}

impl Runner {
    fn new(scenario: &Scenario) -> Result<Self> {
        let mut names = Names::default();
        let genesis = genesis(scenario, &mut names)?;
        let state = State::genesis(&genesis).map_err(|e| anyhow!("genesis refused: {e} ({})", e.name()))?;
        let rec = Recorder::new(state.params().rewards_interval_seconds, 0);
        Ok(Self { state, names, rec, calculated: None })
    }

    fn time_of(&self, step: &Step) -> Timestamp {
        step.time.unwrap_or_else(|| step.block.saturating_mul(self.state.params().block_time_seconds))
    }

    /// Runs a story in this world (a copy), its blocks and times offset by the start's.
    fn story(mut self, story: &Story, start_block: Block, start_time: Timestamp) -> (StoryReport, Vec<StepReport>) {
        let block_time = self.state.params().block_time_seconds;
        let mut steps = Vec::with_capacity(story.steps.len());
        for (i, written) in story.steps.iter().enumerate() {
            let mut step = written.clone();
            step.block = start_block.saturating_add(written.block);
            let offset = written.time.unwrap_or_else(|| written.block.saturating_mul(block_time));
            step.time = Some(start_time.saturating_add(offset));
            let mut rep = self.step(i, &step);
            rep.story = Some(story.name.clone());
            steps.push(rep);
        }
        let last = steps.last().map_or(start_block, |s| s.block).max(self.state.last_block());
        let passed = steps.iter().filter(|s| s.passed).count();
        let report = StoryReport {
            name: story.name.clone(),
            description: story.description.clone(),
            start_block,
            start_time,
            passed,
            failed: steps.len() - passed,
            final_state: self.final_state(last),
        };
        (report, steps)
    }

    fn step(&mut self, index: usize, step: &Step) -> StepReport {
        let kind = step.kind().unwrap_or(StepKind::Check);
        let time = self.time_of(step);
        let mut rep = StepReport::new(index, step, kind, time);
        match kind {
            StepKind::Tx | StepKind::Claim => self.tx_step(step, time, &mut rep),
            StepKind::Query => self.query_step(step, &mut rep),
            StepKind::Rewards => self.rewards_step(step, time, &mut rep),
            StepKind::Check => {}
        }
        self.check_invariants(step.block, &mut rep);
        rep.passed = rep.failures.is_empty();
        rep
    }

    fn tx_step(&mut self, step: &Step, time: Timestamp, rep: &mut StepReport) {
        let expect = match TxExpect::parse(step.expect.as_ref()) {
            Ok(e) => e,
            Err(e) => return rep.invalid(e),
        };
        let prepared = if step.claim.is_some() { self.prepare_claim(step) } else { self.prepare_tx(step) };
        let (sender, tx) = match prepared {
            Ok(p) => p,
            Err(e) => return rep.invalid(e),
        };
        rep.sender_address = Some(sender);
        rep.tx = serde_json::to_value(&tx).ok();
        // The state before this transaction is the snapshot of every day boundary up to now.
        self.rec.advance(&self.state, step.block, time);
        let ctx = Ctx { sender, block: step.block, time };
        let before = self.state.state_hash();
        match self.state.apply(&ctx, &tx) {
            Ok(events) => {
                rep.events = Some(events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect())
            }
            Err(e) => {
                rep.events = Some(Vec::new());
                rep.outcome = e.name().to_string();
                rep.module = Some(e.module().to_string());
                rep.message = Some(e.to_string());
                if self.state.state_hash() != before {
                    rep.failures.push("the refused transaction changed the state".to_string());
                }
            }
        }
        let (expected, actual) = (expect.to_value(), Value::String(rep.outcome.clone()));
        let why = (!expect.met_by(&rep.outcome)).then(|| match &rep.message {
            Some(message) => format!("expected {expected}, got {actual} ({message})"),
            None => format!("expected {expected}, got {actual}"),
        });
        rep.expect("outcome", expected, actual, why);
        if !step.expect_events.is_empty() {
            self.check_events(step, rep);
        }
    }

    /// Checks that each expected event (names resolved) is among the step's events.
    fn check_events(&mut self, step: &Step, rep: &mut StepReport) {
        let emitted = rep.events.clone().unwrap_or_default();
        let mut reasons = Vec::new();
        for spec in &step.expect_events {
            let mut want = match spec {
                EventExpect::Name(name) => {
                    serde_json::Map::from_iter([("event".to_string(), Value::from(name.as_str()))])
                }
                EventExpect::Fields(fields) => fields.clone(),
            };
            let mut resolver = Resolver::new(&self.state, &mut self.names);
            let why = match want.iter_mut().try_for_each(|(k, v)| resolver.resolve_entry(k, v)) {
                Ok(()) => event_mismatch(&want, &emitted),
                Err(e) => Some(format!("cannot resolve {}: {e}", Value::Object(want.clone()))),
            };
            reasons.extend(why);
        }
        let names: Vec<Value> = emitted.iter().filter_map(|e| e.get("event").cloned()).collect();
        let expected = serde_json::to_value(&step.expect_events).unwrap_or_default();
        let why = (!reasons.is_empty()).then(|| reasons.join("; "));
        rep.expect("events", expected, Value::Array(names), why);
    }

    fn prepare_tx(&mut self, step: &Step) -> Result<(Address, Tx), String> {
        let sender =
            self.names.address(step.sender.as_deref().unwrap_or_default()).map_err(|e| format!("sender: {e}"))?;
        let mut v = step.tx.clone().unwrap_or_default();
        self.fill_calculated(&mut v)?;
        Resolver::new(&self.state, &mut self.names).resolve(&mut v)?;
        let tx = serde_json::from_value(v).map_err(|e| format!("not a transaction: {e}"))?;
        Ok((sender, tx))
    }

    /// `submit_root = { root = "calculated", calculation_end = "calculated" }` takes the latest
    /// calculation's root and end.
    fn fill_calculated(&self, v: &mut Value) -> Result<(), String> {
        let Some(fields) = v.get_mut("submit_root").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let wants =
            |f: &serde_json::Map<String, Value>, k: &str| f.get(k).and_then(Value::as_str) == Some("calculated");
        if !wants(fields, "root") && !wants(fields, "calculation_end") {
            return Ok(());
        }
        let c = self.calculated.as_ref().ok_or("\"calculated\" needs an earlier `rewards` step")?;
        if wants(fields, "root") {
            fields.insert("root".into(), Value::String(c.tree.root().to_string()));
        }
        if wants(fields, "calculation_end") {
            fields.insert("calculation_end".into(), Value::from(c.calc.end));
        }
        Ok(())
    }

    /// The transaction a `claim` step describes, from the latest calculation: `ProcessClaim` for
    /// one earner, or `VaultClaimRewards` for every sub-account of `vault` that earned.
    fn prepare_claim(&mut self, step: &Step) -> Result<(Address, Tx), String> {
        let sender =
            self.names.address(step.sender.as_deref().unwrap_or_default()).map_err(|e| format!("sender: {e}"))?;
        let mut v = step.claim.clone().unwrap_or_default();
        Resolver::new(&self.state, &mut self.names).resolve(&mut v)?;
        let spec: ClaimSpec = serde_json::from_value(v).map_err(|e| format!("not a claim: {e}"))?;
        let c = self.calculated.as_ref().ok_or("a `claim` step needs an earlier `rewards` step")?;
        let tokens: Option<Vec<Address>> = spec
            .tokens
            .map(|ts| ts.iter().map(|t| self.state.asset_address(*t).ok_or(format!("unknown asset {t}"))).collect())
            .transpose()?;
        if let Some(vault) = spec.vault {
            let claims: Vec<_> = self
                .state
                .vault_places_of(vault)
                .into_iter()
                .filter_map(|(_, p)| c.tree.claim(spec.root_index, p.account, tokens.as_deref()))
                .collect();
            if claims.is_empty() {
                return Err(format!("no sub-account of {vault} earned anything in the latest calculation"));
            }
            return Ok((sender, Tx::VaultClaimRewards(cairn_state::vault::tx::ClaimRewards { vault, claims })));
        }
        let earner = spec.earner.ok_or("a `claim` step names an `earner` or a `vault`")?;
        let claim = c
            .tree
            .claim(spec.root_index, earner, tokens.as_deref())
            .ok_or(format!("{earner} earned nothing in the latest calculation"))?;
        Ok((sender, Tx::ProcessClaim { claim, recipient: spec.recipient.unwrap_or(sender) }))
    }

    fn rewards_step(&mut self, step: &Step, time: Timestamp, rep: &mut StepReport) {
        let interval = self.state.params().rewards_interval_seconds.max(1);
        let spec = match step.rewards.as_ref().map(RewardsSpec::parse).transpose() {
            Ok(spec) => spec.unwrap_or_default(),
            Err(e) => return rep.invalid(e),
        };
        let end = spec.end.unwrap_or(time.saturating_sub(1) / interval * interval);
        // Every day up to the step's time has a snapshot: the state has not changed since.
        self.rec.advance(&self.state, step.block, time);
        let calc = match calculate(&self.state.submissions(), self.rec.snapshots(), interval, end) {
            Ok(c) => c,
            Err(e) => {
                rep.outcome = "RewardsCalculationFailed".to_string();
                rep.failures.push(format!("rewards calculation failed: {e}"));
                rep.message = Some(e.to_string());
                return;
            }
        };
        let tree = calc.tree(&self.state);
        if let Some(earners) = &spec.earners {
            self.check_earners(earners, &calc, rep);
        }
        let result = rewards_json(&self.state, &calc, &tree, self.names.all());
        if let Some(want) = &step.expect {
            let mut resolved = want.clone();
            match Resolver::new(&self.state, &mut self.names).resolve(&mut resolved) {
                Ok(()) => rep.expect("result", want.clone(), result.clone(), mismatch(&resolved, &result)),
                Err(e) => return rep.invalid(format!("expect: {e}")),
            }
        }
        rep.result = Some(result);
        self.calculated = Some(Calculated { calc, tree });
    }

    /// `rewards = { earners = [...] }`: the calculation's earners are exactly these accounts.
    fn check_earners(&mut self, written: &[String], calc: &Calculation, rep: &mut StepReport) {
        let mut resolver = Resolver::new(&self.state, &mut self.names);
        let want: Result<BTreeSet<Address>, String> = written.iter().map(|w| resolver.account(w)).collect();
        let want = match want {
            Ok(w) => w,
            Err(e) => return rep.invalid(format!("rewards.earners: {e}")),
        };
        let have: BTreeSet<Address> = calc.earnings.keys().map(|(earner, _)| *earner).collect();
        let by_address: BTreeMap<Address, &String> = self.names.all().iter().map(|(n, a)| (*a, n)).collect();
        let name = |a: &Address| by_address.get(a).map_or_else(|| a.to_string(), |n| (*n).clone());
        let list = |set: &BTreeSet<Address>| set.iter().map(name).collect::<Vec<_>>();
        let (missing, unexpected) = (list(&(&want - &have)), list(&(&have - &want)));
        let why = (!missing.is_empty() || !unexpected.is_empty())
            .then(|| format!("missing {missing:?}, unexpected {unexpected:?}"));
        let actual = serde_json::to_value(list(&have)).unwrap_or_default();
        rep.expect("earners", serde_json::to_value(written).unwrap_or_default(), actual, why);
    }

    fn query_step(&mut self, step: &Step, rep: &mut StepReport) {
        let (q, want) = match self.prepare_query(step) {
            Ok(p) => p,
            Err(e) => return rep.invalid(e),
        };
        rep.query = serde_json::to_value(&q).ok();
        match evaluate(&self.state, &q, step.block, self.time_of(step)) {
            Ok(result) => {
                if let (Some(written), Some(want)) = (&step.expect, want) {
                    rep.expect("result", written.clone(), result.clone(), mismatch(&want, &result));
                }
                rep.result = Some(result);
            }
            Err(e) => {
                rep.failures.push(format!("query failed: {} ({})", e.message, e.name));
                rep.outcome = e.name;
                rep.message = Some(e.message);
            }
        }
    }

    /// The query and its expected value, names resolved in both.
    fn prepare_query(&mut self, step: &Step) -> Result<(Query, Option<Value>), String> {
        let mut v = step.query.clone().unwrap_or_default();
        normalize_bare_name(&mut v);
        let mut resolver = Resolver::new(&self.state, &mut self.names);
        resolver.resolve(&mut v)?;
        let mut want = step.expect.clone();
        if let Some(w) = want.as_mut() {
            resolver.resolve(w).map_err(|e| format!("expect: {e}"))?;
        }
        let q = serde_json::from_value(v).map_err(|e| format!("not a query: {e}"))?;
        Ok((q, want))
    }

    fn check_invariants(&self, block: Block, rep: &mut StepReport) {
        if let Err(v) = self.state.check_invariants(block) {
            rep.invariants = v.0.clone();
            rep.failures.push(format!("invariant violated after the step: {}", v.0));
            if rep.kind == StepKind::Check {
                rep.outcome = "InvariantViolated".to_string();
                rep.message = Some(v.0);
            }
        }
    }

    /// The state summary as of `block`.
    fn final_state(&self, block: Block) -> Value {
        match self.state.summary(block) {
            Ok(s) => serde_json::to_value(s).unwrap_or_default(),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        }
    }

    fn report(&self, scenario: &Scenario, default_name: &str, steps: Vec<StepReport>) -> Report {
        let last = scenario.steps.last().map_or(0, |s| s.block).max(self.state.last_block());
        let final_state = self.final_state(last);
        let passed = steps.iter().filter(|s| s.passed).count();
        Report {
            scenario: scenario.name.clone().unwrap_or_else(|| default_name.to_string()),
            description: scenario.description.clone(),
            profile: scenario.profile,
            accounts: self.names.all().clone(),
            assets: self.assets(scenario),
            failed: steps.len() - passed,
            passed,
            steps,
            final_state,
            stories: Vec::new(),
        }
    }

    fn assets(&self, scenario: &Scenario) -> Vec<AssetInfo> {
        let ids = (0u32..).map(AssetId);
        let infos = scenario.assets.iter().zip(ids).map(|(a, id)| AssetInfo {
            symbol: a.symbol.clone(),
            asset: id,
            strategy: self.state.strategy_of_asset(id).map(|s| s.0),
            address: self.state.asset_address(id),
        });
        infos.collect()
    }
}

/// What a `claim` step names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimSpec {
    #[serde(default)]
    earner: Option<Address>,
    #[serde(default)]
    vault: Option<cairn_primitives::VaultId>,
    #[serde(default)]
    root_index: u32,
    #[serde(default)]
    tokens: Option<Vec<AssetId>>,
    #[serde(default)]
    recipient: Option<Address>,
}

/// A calculation as the report shows it: earnings by account name (or address) and symbol.
pub fn rewards_json(state: &State, calc: &Calculation, tree: &RewardsTree, names: &BTreeMap<String, Address>) -> Value {
    let by_address: BTreeMap<Address, &String> = names.iter().map(|(n, a)| (*a, n)).collect();
    let name = |a: &Address| by_address.get(a).map_or_else(|| a.to_string(), |n| (*n).clone());
    let symbol = |t: &AssetId| state.asset_symbol(*t).unwrap_or_else(|| t.to_string());
    let mut earners: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for ((earner, token), amount) in &calc.earnings {
        earners.entry(name(earner)).or_default().insert(symbol(token), amount.to_string());
    }
    let submissions: Vec<Value> = calc
        .tallies
        .iter()
        .map(|t| {
            let undistributed = t.escrowed.saturating_sub(t.distributed).saturating_sub(t.refunded);
            serde_json::json!({
                "service": name(&t.service),
                "nonce": t.nonce,
                "hash": t.hash,
                "token": t.token.0,
                "escrowed": t.escrowed.to_string(),
                "distributed": t.distributed.to_string(),
                "refunded": t.refunded.to_string(),
                "undistributed": undistributed.to_string(),
                "days_done": t.days_done,
                "days": t.days,
            })
        })
        .collect();
    serde_json::json!({
        "calculation_end": calc.end,
        "root": tree.root(),
        "earner_count": tree.len(),
        "earners": earners,
        "submissions": submissions,
    })
}

fn genesis(s: &Scenario, names: &mut Names) -> Result<Genesis> {
    let mut account = |n: &str| names.address(n).map_err(anyhow::Error::msg);
    let governor = account(s.governor.as_deref().unwrap_or("governor"))?;
    let unpauser = account(s.unpauser.as_deref().unwrap_or("unpauser"))?;
    let default_pausers = vec!["pauser".to_string()];
    let pausers = s.pausers.as_ref().unwrap_or(&default_pausers).iter().map(|p| account(p)).collect::<Result<_>>()?;
    let mut assets = Vec::with_capacity(s.assets.len());
    for a in &s.assets {
        let mut balances = BTreeMap::new();
        for (who, amount) in &a.balances {
            balances.insert(account(who).with_context(|| format!("balances of {}", a.symbol))?, amount.0);
        }
        assets.push(GenesisAsset {
            symbol: a.symbol.clone(),
            decimals: a.decimals,
            strategy: a.strategy,
            balances,
            native: a.native,
        });
    }
    let mut oracle = OracleCommittee::default();
    if let Some(o) = &s.oracle {
        oracle.members = o.members.iter().map(|m| account(m)).collect::<Result<_>>().context("oracle members")?;
        oracle.quorum = o.quorum;
    }
    Ok(Genesis { params: params(s)?, governor, unpauser, pausers, assets, oracle })
}

/// The profile's parameters with the scenario's overrides applied.
fn params(s: &Scenario) -> Result<Params> {
    let mut v = serde_json::to_value(Params::profile(s.profile))?;
    if let Value::Object(map) = &mut v {
        map.extend(s.params.iter().map(|(k, x)| (k.clone(), x.clone())));
    }
    serde_json::from_value(v).context("invalid [params] override")
}
