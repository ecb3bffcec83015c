//! History and rewards reads: blocks and an account's transactions, paged newest first; an
//! earner's claimable rewards against the active root and the claim ready to sign.

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use axum::{
    Json, Router,
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::StatusCode,
    routing::get,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::{
    api::{ApiError, dec, parse_address, path_param, query_params},
    app::AppError,
    block::Receipt,
    node::{Node, RewardsTree},
};

type Shared = State<Arc<Node>>;

/// Default page size.
pub const DEFAULT_PAGE: usize = 20;
/// Largest page.
pub const MAX_PAGE: usize = 100;

/// A page request: entries strictly before a cursor, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Cursor: a height (`"120"`), or for transactions a position (`"120-3"`, height and index);
    /// entries strictly before it. Default: from the head.
    pub before: Option<String>,
    /// Entries per page, 1 to 100 (default 20).
    pub limit: Option<usize>,
}

fn page(q: Result<Query<PageParams>, QueryRejection>) -> Result<(Option<(u64, u32)>, usize), ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let limit = p.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad("BadLimit", format!("limit must be 1 to {MAX_PAGE}, got {limit}")));
    }
    let Some(cursor) = p.before else { return Ok((None, limit)) };
    let bad = || {
        ApiError::bad(
            "BadCursor",
            format!("before must be a height or height-index, e.g. 120 or 120-3; got {cursor:?}"),
        )
    };
    let (h, i) = match cursor.split_once('-') {
        Some((h, i)) => (h.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?),
        None => (cursor.parse().map_err(|_| bad())?, 0),
    };
    Ok((Some((h, i)), limit))
}

fn store_err(e: crate::store::StoreError) -> ApiError {
    ApiError::from(AppError::from(e))
}

/// A block's header in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockSummary {
    /// Height.
    pub height: u64,
    /// Header hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// Block time (unix seconds).
    pub time: u64,
    /// Transactions in it.
    pub tx_count: u32,
    /// State hash after it.
    #[schema(value_type = String)]
    pub state_hash: B256,
}

/// A page of blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockPage {
    /// Newest first.
    pub blocks: Vec<BlockSummary>,
    /// The next page's path, or `null` at genesis.
    pub next: Option<String>,
}

#[utoipa::path(get, path = "/v1/blocks", params(PageParams),
    responses((status = 200, body = BlockPage), (status = 400, body = ApiError)))]
async fn blocks(
    State(node): Shared,
    q: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<BlockPage>, ApiError> {
    let (before, limit) = page(q)?;
    let headers = node.read(|a| {
        let top = before.map_or(Some(a.head().height), |(h, _)| h.checked_sub(1));
        top.map_or(Ok(Vec::new()), |top| a.store().headers_below(top, limit))
    });
    let headers = headers.map_err(store_err)?;
    let next = headers.last().filter(|h| h.height > 0 && headers.len() == limit);
    let next = next.map(|h| format!("/v1/blocks?before={}&limit={limit}", h.height));
    let blocks = headers
        .into_iter()
        .map(|h| {
            Ok(BlockSummary {
                height: h.height,
                hash: h.hash().map_err(AppError::from)?,
                time: h.time,
                tx_count: h.tx_count,
                state_hash: h.state_hash,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(BlockPage { blocks, next }))
}

/// A page of an account's transactions.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxPage {
    /// The signer.
    #[schema(value_type = String)]
    pub address: Address,
    /// Receipts (with their decoded events), newest first.
    pub txs: Vec<Receipt>,
    /// The next page's path, or `null` when this is the last.
    pub next: Option<String>,
    /// The lowest height whose transactions this node keeps (a pruned node forgets older ones).
    pub kept_from: u64,
}

#[utoipa::path(get, path = "/v1/accounts/{address}/txs", params(crate::api::AddressPath, PageParams),
    responses((status = 200, body = TxPage), (status = 400, body = ApiError)))]
async fn account_txs(
    State(node): Shared,
    address: Result<Path<String>, PathRejection>,
    q: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<TxPage>, ApiError> {
    let a = parse_address(&path_param(address)?)?;
    let (before, limit) = page(q)?;
    let (txs, kept_from) = node
        .read(|app| {
            let s = app.store();
            let before = before.unwrap_or((u64::MAX, 0));
            let mut out = Vec::new();
            for (h, i) in s.account_txs(&a, before, limit)? {
                out.extend(s.receipt(h, i)?);
            }
            Ok((out, s.bodies_from()?))
        })
        .map_err(store_err)?;
    let next = txs
        .last()
        .filter(|_| txs.len() == limit)
        .map(|r| format!("/v1/accounts/{a}/txs?before={}-{}&limit={limit}", r.height, r.index));
    Ok(Json(TxPage { address: a, txs, next, kept_from }))
}

/// The claimable root's tree, or why there is none.
async fn claimable(node: &Arc<Node>) -> Result<Option<Arc<RewardsTree>>, ApiError> {
    let n = Arc::clone(node);
    let tree = tokio::task::spawn_blocking(move || n.claimable_tree())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?;
    match tree {
        None if !node.config.record_rewards => {
            Err(ApiError::not_found("this node does not record the rewards history (it cannot build proofs)"))
        }
        None => Ok(None),
        Some(Err(msg)) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "RewardsCalculationFailed", msg)),
        Some(Ok(t)) => Ok(Some(t)),
    }
}

/// Per token: earned through the root, claimed so far, claimable now.
fn earner_tokens(node: &Node, tree: &RewardsTree, earner: Address) -> Vec<(Address, Value, U256)> {
    let Some(claim) = tree.tree.claim(tree.index, earner, None) else { return Vec::new() };
    node.read(|app| {
        let s = app.state();
        claim
            .token_leaves
            .iter()
            .map(|leaf| {
                let asset = s.asset_by_address(leaf.token);
                let claimed = asset.map_or(U256::ZERO, |id| s.cumulative_claimed(earner, id));
                let claimable = leaf.cumulative_earnings.saturating_sub(claimed);
                let symbol = asset.and_then(|id| s.asset_symbol(id));
                let row = json!({"asset": asset, "symbol": symbol, "token": leaf.token,
                    "cumulative_earnings": dec(leaf.cumulative_earnings), "claimed": dec(claimed),
                    "claimable": dec(claimable)});
                (leaf.token, row, claimable)
            })
            .collect()
    })
}

fn root_json(t: &RewardsTree) -> Value {
    json!({"index": t.index, "root": t.root, "calculation_end": t.calculation_end, "activated_at": t.activated_at})
}

fn earner_param(p: Result<Path<String>, PathRejection>) -> Result<Address, ApiError> {
    parse_address(&path_param(p)?)
}

#[utoipa::path(get, path = "/v1/rewards/{earner}", params(("earner" = String, Path, description = "Earner, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses((status = 200, description = "Claimable rewards per token against the active root (the latest one not disabled whose activation time has passed): cumulative earnings through it, claimed so far, claimable now", body = Object),
        (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn earner(State(node): Shared, earner: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let e = earner_param(earner)?;
    let claimer = node.read(|a| a.state().claimer_for(e));
    let Some(tree) = claimable(&node).await? else {
        let pending = node.read(|a| a.state().distribution_roots().last().copied());
        return Ok(Json(json!({"earner": e, "claimer": claimer, "root": null, "tokens": [],
            "reason": "no root is claimable yet", "latest_root": pending.map(|r| json!({"root": r.root,
            "calculation_end": r.calculation_end, "activated_at": r.activated_at, "disabled": r.disabled}))})));
    };
    let tokens: Vec<Value> = earner_tokens(&node, &tree, e).into_iter().map(|(_, row, _)| row).collect();
    Ok(Json(json!({"earner": e, "claimer": claimer, "root": root_json(&tree), "tokens": tokens})))
}

/// The proof's options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofParams {
    /// Who receives the tokens (default: the earner).
    pub recipient: Option<String>,
}

#[utoipa::path(get, path = "/v1/rewards/{earner}/proof", params(("earner" = String, Path, description = "Earner, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$"), ProofParams),
    responses((status = 200, description = "A `process_claim` transaction ready to sign (by the earner or its claimer) for every token with something claimable: `{action, body, root, tokens}`", body = Object),
        (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn proof(
    State(node): Shared,
    earner: Result<Path<String>, PathRejection>,
    q: Result<Query<ProofParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let e = earner_param(earner)?;
    let q = query_params(q)?;
    let recipient = q.recipient.as_deref().map(parse_address).transpose()?.unwrap_or(e);
    let Some(tree) = claimable(&node).await? else {
        return Err(ApiError::not_found("no root is claimable yet"));
    };
    let tokens = earner_tokens(&node, &tree, e);
    let due: Vec<Address> = tokens.iter().filter(|(_, _, c)| !c.is_zero()).map(|(t, _, _)| *t).collect();
    let claim = tree.tree.claim(tree.index, e, Some(&due)).filter(|_| !due.is_empty()).ok_or_else(|| {
        ApiError::not_found(format!(
            "{e} has nothing to claim against root {}: {}",
            tree.index,
            if tokens.is_empty() { "it earned nothing through it" } else { "everything earned is claimed" }
        ))
    })?;
    let rows: Vec<Value> = tokens.into_iter().filter(|(_, _, c)| !c.is_zero()).map(|(_, row, _)| row).collect();
    Ok(Json(json!({"action": "process_claim", "body": {"claim": claim, "recipient": recipient},
        "root": root_json(&tree), "tokens": rows})))
}

/// The history and rewards routes.
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/blocks", get(blocks))
        .route("/v1/accounts/{address}/txs", get(account_txs))
        .route("/v1/rewards/{earner}", get(earner))
        .route("/v1/rewards/{earner}/proof", get(proof))
}
