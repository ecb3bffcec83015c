//! Daily snapshots of the node's state (positions, operator shares, magnitudes, vault rates).
//!
//! Taken from the node's API the first time the indexer is at the node's head during a UTC day
//! (the indexed block's day). The head is read before and after the answers, so a snapshot is
//! of exactly one height; it is written in one transaction or not at all.

use alloy_primitives::{Address, B256, U256, hex};
use bytes::Bytes;
use cairn_node::client::Client as NodeClient;
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use serde_json::Value;
use tokio_postgres::Client;

use crate::{IndexError, Indexer};

/// Stakers' answers requested at once.
const CONCURRENCY: usize = 16;

/// Takes the snapshot of the indexed block's UTC day if it has none yet and the node's head is
/// the indexed block; returns whether one was written.
pub async fn maybe_take(indexer: &mut Indexer) -> Result<bool, IndexError> {
    // Genesis is not a day of the chain's life (its time is the genesis file's, often 0).
    let Some(at) = indexer.indexed().filter(|(h, _)| *h > 0) else { return Ok(false) };
    let height = i64::try_from(at.0).map_err(|_| IndexError::Node(format!("height {} exceeds bigint", at.0)))?;
    let Some(day) = untaken_day(indexer.db(), height).await? else { return Ok(false) };
    if !head_is(indexer.node(), at).await? {
        return Ok(false);
    }
    let snap = read_node(indexer).await?;
    // The answers were read at the node's head: if it moved they may mix heights.
    if !head_is(indexer.node(), at).await? {
        return Ok(false);
    }
    write(indexer.db_mut(), height, &day, &snap).await
}

/// A staker's position in a strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    staker: Address,
    strategy: u64,
    delegated_to: Option<Address>,
    deposit_shares: String,
    withdrawable_shares: String,
    withdrawable_tokens: String,
}

/// An operator's delegated shares and magnitudes in a strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OperatorShares {
    operator: Address,
    strategy: u64,
    shares: String,
    max_magnitude: u64,
    encumbered_magnitude: u64,
}

/// An operator's allocation to an operator set in a strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allocation {
    operator: Address,
    service: Address,
    set_id: u64,
    strategy: u64,
    magnitude: u64,
    pending: Option<i128>,
    effect_block: Option<u64>,
    allocated_stake: String,
}

/// A vault's rates and size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VaultRate {
    vault: u64,
    settled_rate: String,
    current_rate: String,
    supply: String,
    total_assets: String,
    reserve: String,
}

/// A strategy: its asset, address, shares, balance and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StrategyRow {
    strategy: u64,
    asset: u64,
    address: Address,
    total_shares: String,
    balance: String,
    exchange_rate: String,
}

/// A vault's APR over a window: the total (`source_kind` "total") or one source's part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VaultApr {
    vault: u64,
    window_days: u64,
    source_kind: String,
    /// The node's source value as JSON text (`"total"` for the total).
    source: String,
    apr_bps: i64,
}

/// Everything a snapshot holds, amounts as validated decimal strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Snapshot {
    positions: Vec<Position>,
    shares: Vec<OperatorShares>,
    allocations: Vec<Allocation>,
    vaults: Vec<VaultRate>,
    aprs: Vec<VaultApr>,
    strategies: Vec<StrategyRow>,
    /// The parameters in force, as jsonb text.
    params: String,
}

/// The indexed block's UTC day (`YYYY-MM-DD`), unless that day has a snapshot.
async fn untaken_day(db: &Client, height: i64) -> Result<Option<String>, IndexError> {
    // to_char, not ::text, so DateStyle cannot change the form COPY reads back.
    let row = db
        .query_one(
            "SELECT to_char(d, 'YYYY-MM-DD'), EXISTS (SELECT 1 FROM snapshots WHERE day = d)
             FROM (SELECT (to_timestamp(unix_time) AT TIME ZONE 'UTC')::date AS d FROM blocks WHERE height = $1) b",
            &[&height],
        )
        .await?;
    Ok((!row.get::<_, bool>(1)).then(|| row.get(0)))
}

/// Whether the node's head is the block `at` (height and hash).
async fn head_is(node: &NodeClient, (height, hash): (u64, B256)) -> Result<bool, IndexError> {
    let v = get(node, "/v1/state").await?;
    let state = At::root("GET /v1/state", &v);
    Ok(state.key("head").key("height").u64()? == height && state.key("head_hash").hash()? == hash)
}

/// `GET path` on the node: the JSON of a 200 answer.
async fn get(node: &NodeClient, path: &str) -> Result<Value, IndexError> {
    let (status, v) = crate::run::timed(crate::run::REQUEST_TIMEOUT, path, node.get(path)).await?;
    answered(&format!("GET {path}"), status, v)
}

/// The answer of a 200; "come back later" (429, 5xx) as `Unreachable`; anything else refused.
fn answered(what: &str, status: u16, v: Value) -> Result<Value, IndexError> {
    let refused = || format!("{what} answered {status}: {}", shown(&v));
    match status {
        200 => Ok(v),
        // Rate limited or overloaded: the node asks to come back later, as a follower does.
        s if crate::run::busy(s) => Err(IndexError::Unreachable(refused())),
        _ => Err(IndexError::Node(refused())),
    }
}

/// `POST /v1/query` with one query: its answer, or `None` when the node says the thing queried
/// does not exist (400 `Unknown...`).
async fn query(node: &NodeClient, q: &Value) -> Result<Option<Value>, IndexError> {
    let what = format!("POST /v1/query {q}");
    let (status, v) = crate::run::timed(crate::run::REQUEST_TIMEOUT, &what, node.post("/v1/query", q)).await?;
    if status == 400 && v["error"].as_str().is_some_and(|e| e.starts_with("Unknown")) {
        return Ok(None);
    }
    answered(&what, status, v).map(Some)
}

/// Strategies are numbered from 0 in creation order; a snapshot reads at most this many.
const MAX_STRATEGIES: u32 = 4_096;

/// Every strategy the node knows (numbered from 0 until the first unknown one) and the
/// parameters in force.
async fn read_strategies_and_params(node: &NodeClient) -> Result<(Vec<StrategyRow>, String), IndexError> {
    let mut strategies = Vec::new();
    for id in 0..MAX_STRATEGIES {
        let q = serde_json::json!({"strategy": {"strategy": id}});
        let Some(v) = query(node, &q).await? else { break };
        strategies.push(parse_strategy(u64::from(id), &v)?);
    }
    let params = query(node, &serde_json::json!({"params": {}}))
        .await?
        .ok_or_else(|| IndexError::Node("POST /v1/query params: no parameters".into()))?;
    if !params.is_object() {
        return Err(At::root("POST /v1/query params", &params).bad("an object"));
    }
    Ok((strategies, crate::families::pg_json(&params).to_string()))
}

/// A strategy query's answer.
fn parse_strategy(strategy: u64, v: &Value) -> Result<StrategyRow, IndexError> {
    let at = At::root(&format!("POST /v1/query strategy {strategy}"), v);
    Ok(StrategyRow {
        strategy,
        asset: at.key("asset").id()?,
        address: at.key("address").address()?,
        total_shares: at.key("total_shares").amount()?,
        balance: at.key("balance").amount()?,
        exchange_rate: at.key("exchange_rate").amount()?,
    })
}

/// Reads operators, vaults and every known staker's positions from the node.
async fn read_node(indexer: &Indexer) -> Result<Snapshot, IndexError> {
    let node = indexer.node();
    let (shares, allocations) = parse_operators(&get(node, "/v1/operators").await?)?;
    let vaults = parse_vaults(&get(node, "/v1/vaults").await?)?;
    let mut aprs = Vec::new();
    for v in &vaults {
        let path = format!("/v1/vaults/{}/rates", v.vault);
        aprs.extend(parse_rates(v.vault, &path, &get(node, &path).await?)?);
    }
    let positions: Vec<Vec<Position>> = stream::iter(stakers(indexer.db()).await?)
        .map(|staker| async move {
            let path = format!("/v1/stakers/{staker}");
            parse_staker(staker, &path, &get(node, &path).await?)
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let (strategies, params) = read_strategies_and_params(node).await?;
    Ok(Snapshot {
        positions: positions.into_iter().flatten().collect(),
        shares,
        allocations,
        vaults,
        aprs,
        strategies,
        params,
    })
}

/// Every address the indexed events show holding or having held a position, once each.
async fn stakers(db: &Client) -> Result<Vec<Address>, IndexError> {
    let rows = db
        .query(
            // A slash's delegated share decrease names the zero address as its staker.
            "SELECT * FROM (
                 SELECT staker FROM ev_strategy WHERE staker IS NOT NULL
                 UNION SELECT staker FROM ev_delegation WHERE staker IS NOT NULL
                 UNION SELECT staker FROM ev_withdrawal WHERE staker IS NOT NULL
                 UNION SELECT owner FROM ev_beacon WHERE owner IS NOT NULL
             ) s WHERE staker <> '\\x0000000000000000000000000000000000000000'::bytea ORDER BY 1",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let b: Vec<u8> = r.get(0);
            Address::try_from(b.as_slice())
                .map_err(|_| IndexError::Node(format!("indexed staker 0x{} is not 20 bytes", hex::encode(&b))))
        })
        .collect()
}

/// `GET /v1/operators`: each operator's shares per strategy, and its allocations.
fn parse_operators(v: &Value) -> Result<(Vec<OperatorShares>, Vec<Allocation>), IndexError> {
    let (mut shares, mut allocations) = (Vec::new(), Vec::new());
    for op in At::root("GET /v1/operators", v).items()? {
        let operator = op.key("operator").address()?;
        for s in op.key("strategies").items()? {
            shares.push(OperatorShares {
                operator,
                strategy: s.key("strategy").id()?,
                shares: s.key("shares").amount()?,
                max_magnitude: s.key("max_magnitude").u64()?,
                encumbered_magnitude: s.key("encumbered_magnitude").u64()?,
            });
        }
        for a in op.key("allocations").items()? {
            allocations.push(Allocation {
                operator,
                service: a.key("service").address()?,
                set_id: a.key("set_id").id()?,
                strategy: a.key("strategy").id()?,
                magnitude: a.key("magnitude").u64()?,
                pending: a.key("pending").opt(At::change)?,
                effect_block: a.key("effect_block").opt(At::u64)?,
                allocated_stake: a.key("allocated_stake").amount()?,
            });
        }
    }
    Ok((shares, allocations))
}

/// `GET /v1/vaults`: each vault's rates and size.
fn parse_vaults(v: &Value) -> Result<Vec<VaultRate>, IndexError> {
    At::root("GET /v1/vaults", v)
        .items()?
        .iter()
        .map(|x| {
            Ok(VaultRate {
                vault: x.key("vault").id()?,
                settled_rate: x.key("settled_rate").amount()?,
                current_rate: x.key("current_rate").amount()?,
                supply: x.key("supply").amount()?,
                total_assets: x.key("total_assets").amount()?,
                reserve: x.key("reserve").amount()?,
            })
        })
        .collect()
}

/// `GET /v1/vaults/{id}/rates` (at `path`): the 7- and 30-day APRs, total and by source.
fn parse_rates(vault: u64, path: &str, v: &Value) -> Result<Vec<VaultApr>, IndexError> {
    let root = At::root(&format!("GET {path}"), v);
    let mut out = Vec::new();
    for key in ["apr_7d", "apr_30d"] {
        let apr = root.key(key);
        let window_days = apr.key("window_seconds").u64()? / 86_400;
        let row = |source_kind: String, source: String, apr_bps| VaultApr {
            vault,
            window_days,
            source_kind,
            source,
            apr_bps,
        };
        if let Some(total) = apr.key("apr_bps").opt(At::bps)? {
            out.push(row("total".into(), "\"total\"".into(), total));
        }
        for part in apr.key("by_source").items()? {
            let pair = part.items()?;
            let [source, bps] = pair.as_slice() else { return Err(part.bad("a [source, bps] pair")) };
            // A source is a name ("base_staking") or a one-key object ({"service": {...}}).
            let kind = match source.v {
                Value::String(name) => name.clone(),
                Value::Object(o) if o.len() == 1 => o.keys().next().cloned().unwrap_or_default(),
                _ => return Err(source.bad("a source name or a one-key object")),
            };
            out.push(row(kind, crate::families::pg_json(source.v).to_string(), bps.bps()?));
        }
    }
    Ok(out)
}

/// `GET /v1/stakers/{staker}` (at `path`): the staker's positions, every one the node lists.
fn parse_staker(staker: Address, path: &str, v: &Value) -> Result<Vec<Position>, IndexError> {
    let root = At::root(&format!("GET {path}"), v);
    let answered = root.key("staker");
    if answered.address()? != staker {
        return Err(answered.bad(&format!("the staker asked for ({staker})")));
    }
    let delegated_to = root.key("delegated_to").opt(At::address)?;
    root.key("positions")
        .items()?
        .iter()
        .map(|p| {
            Ok(Position {
                staker,
                strategy: p.key("strategy").id()?,
                delegated_to,
                deposit_shares: p.key("deposit_shares").amount()?,
                withdrawable_shares: p.key("withdrawable_shares").amount()?,
                withdrawable_tokens: p.key("withdrawable_tokens").amount()?,
            })
        })
        .collect()
}

/// A value in a node's answer and its path there, so that a refusal names both.
struct At<'a> {
    v: &'a Value,
    path: String,
}

/// What a missing key reads as.
static NULL: Value = Value::Null;

impl<'a> At<'a> {
    fn root(path: &str, v: &'a Value) -> Self {
        Self { v, path: path.to_owned() }
    }

    fn key(&self, k: &str) -> Self {
        Self { v: self.v.get(k).unwrap_or(&NULL), path: format!("{}.{k}", self.path) }
    }

    fn items(&self) -> Result<Vec<Self>, IndexError> {
        let items = self.v.as_array().ok_or_else(|| self.bad("an array"))?;
        Ok(items.iter().enumerate().map(|(i, v)| Self { v, path: format!("{}[{i}]", self.path) }).collect())
    }

    fn bad(&self, expected: &str) -> IndexError {
        IndexError::Node(format!("{}: {} is not {expected}", self.path, shown(self.v)))
    }

    /// `None` for null (or missing), else `f`'s reading.
    fn opt<T>(&self, f: impl FnOnce(&Self) -> Result<T, IndexError>) -> Result<Option<T>, IndexError> {
        if self.v.is_null() { Ok(None) } else { f(self).map(Some) }
    }

    /// Basis points, signed.
    fn bps(&self) -> Result<i64, IndexError> {
        self.v.as_i64().ok_or_else(|| self.bad("an integer number of basis points"))
    }

    fn u64(&self) -> Result<u64, IndexError> {
        self.v.as_u64().ok_or_else(|| self.bad("an integer in 0..2^64"))
    }

    /// A number that fits a bigint column.
    fn id(&self) -> Result<u64, IndexError> {
        self.v.as_u64().filter(|&n| i64::try_from(n).is_ok()).ok_or_else(|| self.bad("an integer in 0..2^63"))
    }

    /// A signed magnitude change: within ±(2^64 - 1), so it fits numeric(21,0).
    fn change(&self) -> Result<i128, IndexError> {
        // The number's text, as i128 beyond i64 would need serde_json's arbitrary precision.
        let n = self.v.as_number().and_then(|n| n.to_string().parse::<i128>().ok());
        n.filter(|n| u64::try_from(n.unsigned_abs()).is_ok()).ok_or_else(|| self.bad("an integer within ±2^64"))
    }

    /// A U256 as a decimal string (digits only).
    fn amount(&self) -> Result<String, IndexError> {
        match self.v.as_str() {
            Some(s) if is_amount(s) => Ok(s.to_owned()),
            _ => Err(self.bad("a U256 as a decimal string")),
        }
    }

    fn bytes(&self, len: usize) -> Result<Vec<u8>, IndexError> {
        let hex = self.v.as_str().and_then(|s| s.strip_prefix("0x")).filter(|h| h.len() == 2 * len);
        hex.and_then(|h| hex::decode(h).ok()).ok_or_else(|| self.bad(&format!("0x and {} hex digits", 2 * len)))
    }

    fn address(&self) -> Result<Address, IndexError> {
        self.bytes(20).map(|b| Address::from_slice(&b))
    }

    fn hash(&self) -> Result<B256, IndexError> {
        self.bytes(32).map(|b| B256::from_slice(&b))
    }
}

/// Whether `s` is a U256 in decimal digits (what numeric(78,0) takes).
fn is_amount(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && U256::from_str_radix(s, 10).is_ok()
}

/// A value as compact JSON for an error message, cut to a readable length.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// COPY text's NULL.
const NULL_CELL: &str = "\\N";

/// An address as a COPY text cell: bytea's `\x` form with COPY's backslash escaped.
fn addr(a: &Address) -> String {
    format!("\\\\x{}", hex::encode(a))
}

/// Appends one COPY text row; cells need no escaping (digits, dates, `\\x` hex, `\N`).
fn line(out: &mut String, cells: &[String]) {
    out.push_str(&cells.join("\t"));
    out.push('\n');
}

impl Snapshot {
    /// Each table's COPY statement and rows, for the snapshot of `day`.
    fn tables(&self, day: &str) -> [(&'static str, String); 7] {
        let d = || day.to_owned();
        let opt = |v: Option<String>| v.unwrap_or_else(|| NULL_CELL.to_owned());
        let mut positions = String::new();
        for p in &self.positions {
            let cells = [
                d(),
                addr(&p.staker),
                p.strategy.to_string(),
                opt(p.delegated_to.as_ref().map(addr)),
                p.deposit_shares.clone(),
                p.withdrawable_shares.clone(),
                p.withdrawable_tokens.clone(),
            ];
            line(&mut positions, &cells);
        }
        let mut shares = String::new();
        for s in &self.shares {
            let cells = [
                d(),
                addr(&s.operator),
                s.strategy.to_string(),
                s.shares.clone(),
                s.max_magnitude.to_string(),
                s.encumbered_magnitude.to_string(),
            ];
            line(&mut shares, &cells);
        }
        let mut magnitudes = String::new();
        for a in &self.allocations {
            let cells = [
                d(),
                addr(&a.operator),
                addr(&a.service),
                a.set_id.to_string(),
                a.strategy.to_string(),
                a.magnitude.to_string(),
                opt(a.pending.map(|p| p.to_string())),
                opt(a.effect_block.map(|b| b.to_string())),
                a.allocated_stake.clone(),
            ];
            line(&mut magnitudes, &cells);
        }
        let mut vaults = String::new();
        for v in &self.vaults {
            let cells = [
                d(),
                v.vault.to_string(),
                v.settled_rate.clone(),
                v.current_rate.clone(),
                v.supply.clone(),
                v.total_assets.clone(),
                v.reserve.clone(),
            ];
            line(&mut vaults, &cells);
        }
        let mut aprs = String::new();
        for a in &self.aprs {
            // JSON text escapes its own control characters; only COPY's backslash needs doubling.
            let cells = [
                d(),
                a.vault.to_string(),
                a.window_days.to_string(),
                a.source_kind.replace('\\', "\\\\"),
                a.source.replace('\\', "\\\\"),
                a.apr_bps.to_string(),
            ];
            line(&mut aprs, &cells);
        }
        let mut strategies = String::new();
        for st in &self.strategies {
            let cells = [
                d(),
                st.strategy.to_string(),
                st.asset.to_string(),
                addr(&st.address),
                st.total_shares.clone(),
                st.balance.clone(),
                st.exchange_rate.clone(),
            ];
            line(&mut strategies, &cells);
        }
        let mut params = String::new();
        if !self.params.is_empty() {
            line(&mut params, &[d(), self.params.replace('\\', "\\\\")]);
        }
        [
            (
                "COPY snap_strategies (day, strategy, asset, address, total_shares, balance, exchange_rate) FROM STDIN",
                strategies,
            ),
            ("COPY snap_params (day, params) FROM STDIN", params),
            ("COPY snap_vault_apr (day, vault, window_days, source_kind, source, apr_bps) FROM STDIN", aprs),
            (
                "COPY snap_positions (day, staker, strategy, delegated_to, deposit_shares, withdrawable_shares, \
                 withdrawable_tokens) FROM STDIN",
                positions,
            ),
            (
                "COPY snap_operator_shares (day, operator, strategy, shares, max_magnitude, encumbered_magnitude) \
                 FROM STDIN",
                shares,
            ),
            (
                "COPY snap_magnitudes (day, operator, set_service, set_id, strategy, magnitude, pending, \
                 effect_block, allocated_stake) FROM STDIN",
                magnitudes,
            ),
            (
                "COPY snap_vault_rates (day, vault, settled_rate, current_rate, supply, total_assets, reserve) \
                 FROM STDIN",
                vaults,
            ),
        ]
    }
}

/// Writes the `snapshots` row and all of `snap`'s rows in one transaction; false if the day was
/// taken meanwhile.
async fn write(db: &mut Client, height: i64, day: &str, snap: &Snapshot) -> Result<bool, IndexError> {
    // Dropping `tx` unfinished (an error, or the caller's future cancelled) rolls it back.
    let tx = db.transaction().await?;
    let inserted = tx
        .execute(
            "INSERT INTO snapshots (day, height) VALUES ($1::text::date, $2) ON CONFLICT (day) DO NOTHING",
            &[&day, &height],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    for (copy, data) in snap.tables(day) {
        if data.is_empty() {
            continue;
        }
        let sink = tx.copy_in::<_, Bytes>(copy).await?;
        futures_util::pin_mut!(sink);
        sink.send(Bytes::from(data)).await?;
        sink.finish().await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OP: &str = "0x1111111111111111111111111111111111111111";
    const AVS: &str = "0x2222222222222222222222222222222222222222";
    const STAKER: &str = "0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa";

    fn a(s: &str) -> Address {
        s.parse().expect("address")
    }

    /// `GET /v1/operators` as `operator_json` builds it.
    fn operators() -> Value {
        json!([{
            "operator": OP,
            "details": {"delegation_approver": null, "metadata_uri": ""},
            "strategies": [
                {"strategy": 0, "shares": "32000000000000000000", "max_magnitude": 1000000000000000000u64,
                 "encumbered_magnitude": 250000000000000000u64},
                {"strategy": 1, "shares": "0", "max_magnitude": 1000000000000000000u64, "encumbered_magnitude": 0}
            ],
            "operator_sets": [{"service": AVS, "set_id": 7}],
            "allocations": [
                {"service": AVS, "set_id": 7, "strategy": 0, "magnitude": 250000000000000000u64,
                 "pending": -50000000000000000i64, "effect_block": 140, "allocated_stake": "8000000000000000000"},
                {"service": AVS, "set_id": 7, "strategy": 1, "magnitude": 0, "pending": 0, "effect_block": 0,
                 "allocated_stake": "0"}
            ]
        }])
    }

    #[test]
    fn operators_give_shares_per_strategy_and_allocations() {
        let (shares, allocs) = parse_operators(&operators()).expect("parses");
        assert_eq!(shares.len(), 2);
        assert_eq!(
            shares[0],
            OperatorShares {
                operator: a(OP),
                strategy: 0,
                shares: "32000000000000000000".into(),
                max_magnitude: 1_000_000_000_000_000_000,
                encumbered_magnitude: 250_000_000_000_000_000,
            }
        );
        assert_eq!(
            allocs[0],
            Allocation {
                operator: a(OP),
                service: a(AVS),
                set_id: 7,
                strategy: 0,
                magnitude: 250_000_000_000_000_000,
                pending: Some(-50_000_000_000_000_000),
                effect_block: Some(140),
                allocated_stake: "8000000000000000000".into(),
            }
        );
        assert_eq!((allocs[1].pending, allocs[1].effect_block), (Some(0), Some(0)));
        assert_eq!(parse_operators(&json!([])).expect("empty"), (vec![], vec![]));
    }

    #[test]
    fn a_bad_operator_value_is_refused_naming_its_path_and_value() {
        let mut v = operators();
        v[0]["strategies"][1]["shares"] = json!("12a");
        let e = parse_operators(&v).expect_err("refused").to_string();
        assert!(e.contains("GET /v1/operators[0].strategies[1].shares: \"12a\" is not"), "{e}");
        let mut v = operators();
        v[0]["allocations"][0]["pending"] = json!(-1.5);
        let e = parse_operators(&v).expect_err("refused").to_string();
        assert!(e.contains("GET /v1/operators[0].allocations[0].pending: -1.5 is not an integer"), "{e}");
        let mut v = operators();
        v[0]["operator"] = json!("0x1234");
        let e = parse_operators(&v).expect_err("refused").to_string();
        assert!(e.contains("GET /v1/operators[0].operator: \"0x1234\" is not 0x and 40 hex digits"), "{e}");
        let e = parse_operators(&json!({"error": "x"})).expect_err("refused").to_string();
        assert!(e.contains("GET /v1/operators: {\"error\":\"x\"} is not an array"), "{e}");
    }

    /// `GET /v1/vaults` as `api_vault::list` builds it (amounts are decimal strings).
    fn vaults() -> Value {
        json!([{"vault": 0, "symbol": "cETH", "supply": "100", "settled_rate": "1000000000000000000",
                "current_rate": "1010000000000000000", "total_assets": "101", "reserve": "0",
                "quarantine": null, "emergency": null}])
    }

    #[test]
    fn vaults_give_rates_and_sizes_and_refuse_numbers() {
        let got = parse_vaults(&vaults()).expect("parses");
        assert_eq!(
            got,
            vec![VaultRate {
                vault: 0,
                settled_rate: "1000000000000000000".into(),
                current_rate: "1010000000000000000".into(),
                supply: "100".into(),
                total_assets: "101".into(),
                reserve: "0".into(),
            }]
        );
        let mut v = vaults();
        v[0]["supply"] = json!(100);
        let e = parse_vaults(&v).expect_err("refused").to_string();
        assert!(e.contains("GET /v1/vaults[0].supply: 100 is not a U256 as a decimal string"), "{e}");
        v[0]["supply"] = json!("-1");
        assert!(parse_vaults(&v).is_err());
        v[0]["supply"] = json!("1".repeat(79));
        assert!(parse_vaults(&v).is_err(), "above U256");
    }

    /// `GET /v1/stakers/{address}` as `staker_view` builds it.
    fn staker() -> Value {
        json!({"staker": STAKER, "delegated_to": OP,
               "positions": [{"strategy": 0, "deposit_shares": "5", "withdrawable_shares": "4",
                              "withdrawable_tokens": "6"},
                             {"strategy": 2, "deposit_shares": "0", "withdrawable_shares": "0",
                              "withdrawable_tokens": "0"}],
               "queued_withdrawals": []})
    }

    #[test]
    fn a_staker_gives_every_position_listed() {
        let path = format!("/v1/stakers/{STAKER}");
        let got = parse_staker(a(STAKER), &path, &staker()).expect("parses");
        assert_eq!(got.len(), 2, "zero positions are kept");
        assert_eq!(
            got[0],
            Position {
                staker: a(STAKER),
                strategy: 0,
                delegated_to: Some(a(OP)),
                deposit_shares: "5".into(),
                withdrawable_shares: "4".into(),
                withdrawable_tokens: "6".into(),
            }
        );
        let mut v = staker();
        v["delegated_to"] = Value::Null;
        assert_eq!(parse_staker(a(STAKER), &path, &v).expect("undelegated")[1].delegated_to, None);
        v["positions"][1]["withdrawable_tokens"] = json!("1.5");
        let e = parse_staker(a(STAKER), &path, &v).expect_err("refused").to_string();
        assert!(e.contains(&format!("GET {path}.positions[1].withdrawable_tokens: \"1.5\" is not")), "{e}");
        let e = parse_staker(a(OP), "/v1/stakers/x", &staker()).expect_err("another staker").to_string();
        assert!(e.contains("GET /v1/stakers/x.staker:"), "{e}");
    }

    /// A rates answer: a 7-day APR split in two sources, a 30-day one without two settlements.
    fn rates_answer() -> Value {
        json!({
            "vault": 0,
            "apr_7d": {"window_seconds": 604800, "apr_bps": 412,
                       "by_source": [["base_staking", 300], [{"service": {"service": "0x22"}}, 112]]},
            "apr_30d": {"window_seconds": 2592000, "apr_bps": null, "by_source": []},
        })
    }

    #[test]
    fn vault_aprs_are_read_total_and_by_source() {
        let got = parse_rates(0, "/v1/vaults/0/rates", &rates_answer()).expect("parses");
        let kinds: Vec<(u64, &str, i64)> =
            got.iter().map(|a| (a.window_days, a.source_kind.as_str(), a.apr_bps)).collect();
        assert_eq!(kinds, [(7, "total", 412), (7, "base_staking", 300), (7, "service", 112)]);
        let mut bad = rates_answer();
        bad["apr_7d"]["by_source"][0] = json!(["base_staking"]);
        let e = parse_rates(0, "/v1/vaults/0/rates", &bad).expect_err("refused").to_string();
        assert!(e.contains("apr_7d.by_source[0]") && e.contains("a [source, bps] pair"), "{e}");
    }

    #[test]
    fn rows_are_copy_text_with_escaped_bytea_and_nulls() {
        let path = format!("/v1/stakers/{STAKER}");
        let mut snap =
            Snapshot { positions: parse_staker(a(STAKER), &path, &staker()).expect("parses"), ..Default::default() };
        snap.positions[1].delegated_to = None;
        let (allocs, vaults) =
            (parse_operators(&operators()).expect("parses").1, parse_vaults(&vaults()).expect("parses"));
        snap.allocations = allocs;
        snap.allocations[1].pending = None;
        snap.vaults = vaults;
        snap.aprs = parse_rates(0, "/v1/vaults/0/rates", &rates_answer()).expect("parses");
        snap.strategies = vec![
            parse_strategy(
                1,
                &json!({"address": OP, "asset": 3, "balance": "5", "exchange_rate": "1", "total_shares": "5"}),
            )
            .expect("parses"),
        ];
        snap.params = r#"{"withdrawal_delay_blocks":50}"#.into();
        let [strategies, params, aprs, positions, shares, magnitudes, rates] = snap.tables("2025-03-01");
        assert_eq!(strategies.1, "2025-03-01\t1\t3\t\\\\x1111111111111111111111111111111111111111\t5\t5\t1\n");
        assert_eq!(params.1, "2025-03-01\t{\"withdrawal_delay_blocks\":50}\n");
        assert_eq!(
            aprs.1,
            "2025-03-01\t0\t7\ttotal\t\"total\"\t412\n\
             2025-03-01\t0\t7\tbase_staking\t\"base_staking\"\t300\n\
             2025-03-01\t0\t7\tservice\t{\"service\":{\"service\":\"0x22\"}}\t112\n"
        );
        assert!(positions.0.starts_with("COPY snap_positions (day, staker,"));
        assert_eq!(
            positions.1,
            "2025-03-01\t\\\\xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t0\t\\\\x1111111111111111111111111111111111111111\t5\t4\t6\n\
             2025-03-01\t\\\\xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t2\t\\N\t0\t0\t0\n"
        );
        assert!(shares.1.is_empty());
        assert_eq!(
            magnitudes.1.lines().next(),
            Some(
                "2025-03-01\t\\\\x1111111111111111111111111111111111111111\t\\\\x2222222222222222222222222222222222222222\
                 \t7\t0\t250000000000000000\t-50000000000000000\t140\t8000000000000000000"
            )
        );
        assert!(magnitudes.1.lines().nth(1).is_some_and(|l| l.contains("\t0\t\\N\t0\t0")));
        assert_eq!(rates.1, "2025-03-01\t0\t1000000000000000000\t1010000000000000000\t100\t101\t0\n");
    }
}
