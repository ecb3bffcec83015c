//! The REST API: `/v1/...` resources, `/health`, `/metrics` and `/openapi.json`.
//!
//! Handlers are thin: parse, then either submit to the node or read the state under its lock.
//! Every failure is a JSON `{error, message}` with a 4xx status (a 5xx only if the store
//! fails, and 503 when the mempool is full); unknown routes and methods, malformed JSON and
//! oversized bodies included. Refusals worth retrying later (a full mempool, an account over its
//! bound or budget) carry a `Retry-After` header.

use std::{sync::Arc, time::Duration};

use alloy_primitives::{Address, B256};
use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, FromRequest, Path, Query, Request, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use cairn_primitives::{StrategyId, U256};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::{
    app::AppError,
    block::{Block, Header, Receipt},
    envelope::{self, SignedTx},
    node::{EventRecord, Node, SubmitError, Submitted, TxStatus},
    query,
};

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most transactions in one batch.
pub const MAX_BATCH: usize = 1_000;
/// Longest a request may take (the event stream excepted).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest `?wait=true` waits for a commit (inside the request timeout).
pub const WAIT_FOR_COMMIT: Duration = Duration::from_secs(25);
/// Most requests in their handlers at once, by default (`HttpLimits::max_concurrent_requests`);
/// beyond that a request is shed with 503 `Overloaded`.
pub const MAX_CONCURRENT_REQUESTS: usize = 1_024;
/// `Retry-After` seconds on a full mempool or an account over its bound: a block or a few.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// An API error: a status, the error's name and a message naming the values.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiError {
    /// Error name, e.g. `StaleNonce`, `NotFound`.
    pub error: String,
    /// What went wrong, with the values.
    pub message: String,
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with its status, name and message.
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Self { error: error.to_owned(), message: message.into(), status, retry_after: None }
    }

    /// Its HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn bad(error: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, message)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.retry_after {
            Some(secs) => (self.status, [(header::RETRY_AFTER, secs.to_string())], Json(self)).into_response(),
            None => (self.status, Json(self)).into_response(),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "StoreError", e.to_string())
    }
}

/// A refused submission's status: 400 for a bad envelope, nonce or expiry; 413 for a `body`
/// over `envelope::MAX_BODY_BYTES`; 409 for a taken nonce; 422 for an admission rule (the
/// transaction would certainly fail or do nothing); 429 for an account over its bound or its
/// budget and 503 for a full mempool (both with `Retry-After`).
fn submit_status(e: &SubmitError) -> (StatusCode, Option<u64>) {
    use crate::{envelope::EnvelopeError, mempool::MempoolError};
    let retry = Some(RETRY_AFTER_SECONDS);
    match e {
        SubmitError::Envelope(EnvelopeError::BodyTooLarge { .. }) => (StatusCode::PAYLOAD_TOO_LARGE, None),
        SubmitError::Envelope(_) => (StatusCode::BAD_REQUEST, None),
        SubmitError::Mempool(MempoolError::Full { .. } | MempoolError::FullBytes { .. }) => {
            (StatusCode::SERVICE_UNAVAILABLE, retry)
        }
        SubmitError::Mempool(MempoolError::AccountFull { .. }) => (StatusCode::TOO_MANY_REQUESTS, retry),
        SubmitError::Mempool(MempoolError::NonceTaken { .. }) => (StatusCode::CONFLICT, None),
        SubmitError::Mempool(_) => (StatusCode::BAD_REQUEST, None),
        SubmitError::Admission(a) if a.is_budget() => (StatusCode::TOO_MANY_REQUESTS, retry),
        SubmitError::Admission(_) => (StatusCode::UNPROCESSABLE_ENTITY, None),
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let (status, retry_after) = submit_status(&e);
        Self { retry_after, ..Self::new(status, e.name(), e.to_string()) }
    }
}

/// A submitted transaction from its JSON: a mixed-case `from` without its EIP-55 checksum is
/// `BadChecksum` (400), any other shape error `MalformedBody` (422).
fn signed_tx(v: Value) -> Result<SignedTx, ApiError> {
    if let Some(from) = v.get("from").and_then(Value::as_str) {
        envelope::check_checksum(from).map_err(|e| ApiError::from(SubmitError::from(e)))?;
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "MalformedBody", e.to_string()))
}

/// [`signed_tx`] of one JSON text, read straight into the type; only a text that does not read
/// (whose error [`signed_tx`] words) builds the JSON tree.
fn signed_tx_text(text: &str) -> Result<SignedTx, ApiError> {
    serde_json::from_str(text)
        .or_else(|_| signed_tx(serde_json::from_str(text).map_err(|e| ApiError::bad("MalformedBody", e.to_string()))?))
}

/// A JSON body whose rejections are JSON errors (400 malformed, 413 too large, 415 not JSON).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let name = match rej.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => "BodyTooLarge",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "NotJson",
                    _ => "MalformedBody",
                };
                let status = if rej.status().is_client_error() { rej.status() } else { StatusCode::BAD_REQUEST };
                Err(ApiError::new(status, name, rej.body_text()))
            }
        }
    }
}

type Shared = State<Arc<Node>>;

/// An account in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AddressPath {
    /// `0x` and 40 hex digits.
    #[param(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub address: String,
}

/// A transaction id in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HashPath {
    /// `0x` and 64 hex digits.
    #[param(pattern = "^0x[0-9a-fA-F]{64}$")]
    pub hash: String,
}

/// A block height in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HeightPath {
    /// Decimal height.
    #[param(pattern = "^[0-9]{1,19}$")]
    pub height: String,
}

/// An address from a path or query string.
pub(crate) fn parse_address(s: &str) -> Result<Address, ApiError> {
    s.parse().map_err(|e| ApiError::bad("BadAddress", format!("{s:?} is not an address: {e}")))
}

/// A 32-byte hash from a path or query string.
pub(crate) fn parse_hash(s: &str) -> Result<B256, ApiError> {
    s.parse().map_err(|e| ApiError::bad("BadHash", format!("{s:?} is not a 32-byte hash: {e}")))
}

pub(crate) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(v)| v).map_err(|e| ApiError::bad("BadPath", e.body_text()))
}

pub(crate) fn query_params<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| ApiError::bad("BadQueryString", e.body_text()))
}

pub(crate) fn dec(v: U256) -> String {
    v.to_string()
}

/// Liveness and the head.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the node answers.
    pub status: String,
    /// Head height.
    pub height: u64,
    /// Chain id.
    pub chain_id: u64,
    /// Waiting transactions.
    pub mempool: usize,
    /// The node's clock (unix seconds; a devnet may have moved it forward): sign expiries
    /// against it.
    pub now: u64,
    /// Whether the devnet controls (`/v1/dev`) are on.
    pub devnet: bool,
}

#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health(State(node): Shared) -> Json<Health> {
    let height = node.read(|a| a.head().height);
    Json(Health {
        status: "ok".into(),
        height,
        chain_id: node.config.chain_id,
        mempool: node.mempool_len(),
        now: node.now(),
        devnet: node.config.dev.is_some(),
    })
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", body = String)))]
async fn metrics(State(node): Shared) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let m = &node.metrics;
    let height = node.read(|a| a.head().height);
    let mem = node.memory();
    let (gauge, counter) = ("gauge", "counter");
    let rows: [(&str, &str, &str, u64); 20] = [
        ("height", gauge, "Head block height.", height),
        ("mempool_transactions", gauge, "Transactions waiting.", node.mempool_len() as u64),
        ("mempool_bytes", gauge, "Memory the waiting transactions take.", node.mempool_bytes() as u64),
        ("txs_admitted_total", counter, "Transactions admitted to the mempool.", m.txs_admitted.load(Relaxed)),
        ("txs_refused_total", counter, "Submissions refused.", m.txs_refused.load(Relaxed)),
        ("txs_committed_total", counter, "Transactions committed.", m.txs_committed.load(Relaxed)),
        ("txs_failed_total", counter, "Committed transactions the state machine refused.", m.txs_failed.load(Relaxed)),
        (
            "txs_dropped_total",
            counter,
            "Admitted transactions that left the mempool uncommitted.",
            m.txs_dropped.load(Relaxed),
        ),
        (
            "txs_forward_failed_total",
            counter,
            "Admitted transactions CometBFT's mempool did not take (under CometBFT).",
            m.txs_forward_failed.load(Relaxed),
        ),
        (
            "risk_followed_total",
            counter,
            "Risk reports computed for a new block ahead of the next /v1/risk request.",
            m.risk_followed.load(Relaxed),
        ),
        ("blocks_total", counter, "Blocks committed by this process.", m.blocks.load(Relaxed)),
        ("block_seconds_micros_total", counter, "Microseconds spent producing blocks.", m.block_micros.load(Relaxed)),
        ("http_requests_total", counter, "HTTP requests served.", m.http_requests.load(Relaxed)),
        ("resident_memory_bytes", gauge, "Resident set size of the process (Linux).", mem.rss_bytes),
        ("store_cache_limit_bytes", gauge, "Most memory the store's page cache may use.", mem.cache_limit_bytes),
        ("store_file_bytes", gauge, "Size of the store file on disk.", mem.store_file_bytes),
        (
            "http_connections_refused_total",
            counter,
            "Connections refused by the connection caps.",
            m.http_refused.load(Relaxed),
        ),
        (
            "http_rate_limited_total",
            counter,
            "Requests refused by the per-IP rate limit.",
            m.http_rate_limited.load(Relaxed),
        ),
        ("http_shed_total", counter, "Requests and event streams shed at capacity.", m.http_shed.load(Relaxed)),
        ("uptime_seconds", gauge, "Seconds since the node opened its store.", node.uptime_seconds()),
    ];
    let mut out = String::new();
    for (name, kind, help, v) in rows {
        out.push_str(&format!("# HELP cairn_{name} {help}\n# TYPE cairn_{name} {kind}\ncairn_{name} {v}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// `?wait=true`: answer once the transaction is committed (or after 30 s).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitParam {
    /// Wait for the commit.
    #[serde(default)]
    pub wait: bool,
}

/// A submission's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitAnswer {
    /// What was admitted.
    #[serde(flatten)]
    pub submitted: Submitted,
    /// Its status now (`committed` with the receipt when waited for).
    pub status: TxStatus,
}

#[utoipa::path(post, path = "/v1/tx", request_body = SignedTx, params(WaitParam),
    responses((status = 202, body = SubmitAnswer), (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 413, body = ApiError),
        (status = 415, body = ApiError), (status = 422, body = ApiError), (status = 429, body = ApiError), (status = 503, body = ApiError)))]
async fn submit_tx(
    State(node): Shared,
    wait: Result<Query<WaitParam>, QueryRejection>,
    ApiJson(tx): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let wait = query_params(wait)?.wait;
    let tx = signed_tx(tx)?;
    let n = Arc::clone(&node);
    let submitted = tokio::task::spawn_blocking(move || n.submit(tx))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))??;
    let status = if wait { node.wait_committed(submitted.hash, WAIT_FOR_COMMIT).await? } else { TxStatus::Pending };
    Ok((StatusCode::ACCEPTED, Json(SubmitAnswer { submitted, status })).into_response())
}

/// One entry of a batch answer: the submission or its error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// Admitted.
    Ok(Submitted),
    /// Refused.
    Err(ApiError),
}

#[utoipa::path(post, path = "/v1/txs", request_body = Vec<SignedTx>,
    responses((status = 200, body = Vec<BatchItem>), (status = 400, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError),
        (status = 422, body = ApiError)))]
async fn submit_batch(
    State(node): Shared,
    ApiJson(items): ApiJson<Vec<Box<serde_json::value::RawValue>>>,
) -> Result<Json<Vec<BatchItem>>, ApiError> {
    if items.len() > MAX_BATCH {
        let msg = format!("{} transactions, at most {MAX_BATCH}", items.len());
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BatchTooLarge", msg));
    }
    // A structurally malformed item makes the request malformed; the rest are verified together
    // and each gets its own result.
    let mut txs = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let tx = signed_tx_text(raw.get()).map_err(|e| ApiError::bad(&e.error, format!("item {i}: {}", e.message)))?;
        txs.push(tx);
    }
    let results = tokio::task::spawn_blocking(move || node.submit_batch(txs))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?;
    let out = results.into_iter().map(|r| r.map_or_else(|e| BatchItem::Err(e.into()), BatchItem::Ok)).collect();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/v1/tx/{hash}", params(HashPath),
    responses((status = 200, body = TxStatus), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn tx_status(State(node): Shared, hash: Result<Path<String>, PathRejection>) -> Result<Json<TxStatus>, ApiError> {
    let hash = path_param(hash)?;
    let hash = parse_hash(&hash)?;
    match node.status(&hash)? {
        TxStatus::Unknown => Err(ApiError::not_found(format!("transaction {hash} is neither waiting nor committed"))),
        s => Ok(Json(s)),
    }
}

/// A block with its receipts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// Header.
    pub header: Header,
    /// Header hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// Transactions as submitted.
    pub txs: Vec<SignedTx>,
    /// Receipts in order.
    pub receipts: Vec<Receipt>,
    /// The node pruned this block's transactions and receipts (`--prune-blocks-older-than`):
    /// only the header is kept; an archive node has them.
    pub pruned: bool,
}

fn block_view(node: &Node, height: u64) -> Result<BlockView, ApiError> {
    node.read(|a| {
        let Some(Block { header, txs }) = a.store().block(height).map_err(AppError::from)? else {
            return Err(ApiError::not_found(format!("no block at height {height}; head is {}", a.head().height)));
        };
        let receipts = a.store().receipts_of(height).map_err(AppError::from)?;
        let pruned = height > 0 && height < a.store().bodies_from().map_err(AppError::from)?;
        Ok(BlockView { hash: header.hash().map_err(AppError::from)?, header, txs, receipts, pruned })
    })
}

#[utoipa::path(get, path = "/v1/blocks/latest", responses((status = 200, body = BlockView)))]
async fn latest_block(State(node): Shared) -> Result<Json<BlockView>, ApiError> {
    let h = node.read(|a| a.head().height);
    block_view(&node, h).map(Json)
}

#[utoipa::path(get, path = "/v1/blocks/{height}", params(HeightPath),
    responses((status = 200, body = BlockView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn block_at(
    State(node): Shared,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<BlockView>, ApiError> {
    let height = path_param(height)?;
    let h: u64 = height.parse().map_err(|_| ApiError::bad("BadHeight", format!("{height:?} is not a block height")))?;
    block_view(&node, h).map(Json)
}

#[utoipa::path(get, path = "/v1/accounts/{address}", params(AddressPath),
    responses((status = 200, description = "Committed nonce, next free nonce after waiting transactions (`pending_nonce`), balances", body = Object), (status = 400, body = ApiError)))]
async fn account(State(node): Shared, address: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let address = path_param(address)?;
    let a = parse_address(&address)?;
    let (nonce, pending_nonce) = node.nonces(&a);
    Ok(Json(node.read(|app| {
        let balances = balances_view(app.state(), a);
        json!({"address": a, "nonce": nonce, "pending_nonce": pending_nonce, "balances": balances})
    })))
}

/// An account's token balances in `s` (`/v1/accounts/{address}`).
pub(crate) fn balances_view(s: &cairn_state::State, a: Address) -> Vec<Value> {
    s.asset_list()
        .into_iter()
        .map(|(id, asset)| json!({"asset": id, "symbol": asset.symbol, "amount": dec(s.balance(a, id))}))
        .collect()
}

fn staker_json(app: &crate::App, a: Address) -> Result<Value, cairn_state::TxError> {
    staker_view(app.state(), a, app.head().height)
}

/// A staker's positions and queued withdrawals in `s` as of `block` (`/v1/stakers/{address}`).
pub(crate) fn staker_view(s: &cairn_state::State, a: Address, block: u64) -> Result<Value, cairn_state::TxError> {
    let mut positions = Vec::new();
    for strategy in s.staker_strategies(a) {
        let p = s.position(a, strategy);
        let withdrawable = s.withdrawable_shares(a, strategy)?;
        positions.push(json!({
            "strategy": strategy,
            "deposit_shares": dec(p.deposit_shares),
            "withdrawable_shares": dec(withdrawable),
            "withdrawable_tokens": dec(s.shares_to_underlying(strategy, withdrawable)?),
        }));
    }
    Ok(json!({
        "staker": a,
        "delegated_to": s.delegated_to(a),
        "positions": positions,
        "queued_withdrawals": withdrawals_json(s, a, block)?,
    }))
}

fn withdrawals_json(s: &cairn_state::State, a: Address, block: u64) -> Result<Vec<Value>, cairn_state::TxError> {
    let mut out = Vec::new();
    for (nonce, w) in s.withdrawals_of(a) {
        let shares = s.withdrawal_payout(a, &w, block)?;
        let strategies: Vec<StrategyId> = w.strategies.clone();
        out.push(json!({
            "nonce": nonce,
            "start_block": w.start_block,
            "completable_after_block": w.start_block.saturating_add(s.params().withdrawal_delay_blocks),
            "strategies": strategies,
            "expected_shares": shares.iter().map(|x| dec(*x)).collect::<Vec<_>>(),
        }));
    }
    Ok(out)
}

fn state_error(e: cairn_state::TxError) -> ApiError {
    ApiError::bad(e.name(), e.to_string())
}

#[utoipa::path(get, path = "/v1/stakers/{address}", params(AddressPath),
    responses((status = 200, description = "Positions (deposit, withdrawable) and queued withdrawals", body = Object), (status = 400, body = ApiError)))]
async fn staker(State(node): Shared, address: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let address = path_param(address)?;
    let a = parse_address(&address)?;
    node.read(|app| staker_json(app, a)).map(Json).map_err(state_error)
}

#[utoipa::path(get, path = "/v1/withdrawals/{address}", params(AddressPath),
    responses((status = 200, description = "Queued withdrawals with expected payouts", body = [Object]), (status = 400, body = ApiError)))]
async fn withdrawals(
    State(node): Shared,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let address = path_param(address)?;
    let a = parse_address(&address)?;
    node.read(|app| withdrawals_json(app.state(), a, app.head().height))
        .map(|v| Json(Value::Array(v)))
        .map_err(state_error)
}

fn operator_json(app: &crate::App, op: Address) -> Result<Value, cairn_state::TxError> {
    let s = app.state();
    let block = app.head().height;
    let strategies: Vec<Value> = s
        .strategy_ids()
        .into_iter()
        .map(|st| {
            json!({"strategy": st, "shares": dec(s.operator_shares(op, st)), "max_magnitude": s.max_magnitude(op, st),
                   "encumbered_magnitude": s.encumbered_magnitude(op, st, block)})
        })
        .collect();
    let sets: Vec<Value> =
        s.operator_sets_of(op).into_iter().map(|k| json!({"service": k.service, "set_id": k.id})).collect();
    Ok(json!({"operator": op, "details": s.operator(op).ok(), "strategies": strategies, "operator_sets": sets,
              "allocations": allocations_json(app, op)?}))
}

fn allocations_json(app: &crate::App, op: Address) -> Result<Vec<Value>, cairn_state::TxError> {
    let s = app.state();
    let block = app.head().height;
    let mut out = Vec::new();
    for (set, st, a) in s.operator_allocations(op, block) {
        out.push(json!({"service": set.service, "set_id": set.id, "strategy": st, "magnitude": a.current,
            "pending": a.pending, "effect_block": a.effect_block,
            "allocated_stake": dec(s.allocated_stake(op, set, st, block)?)}));
    }
    Ok(out)
}

#[utoipa::path(get, path = "/v1/operators", responses((status = 200, description = "Every operator", body = [Object])))]
async fn operators(State(node): Shared) -> Result<Json<Value>, ApiError> {
    node.read(|app| {
        let list: Result<Vec<Value>, _> =
            app.state().operator_addresses().into_iter().map(|op| operator_json(app, op)).collect();
        list.map(|l| Json(Value::Array(l)))
    })
    .map_err(state_error)
}

#[utoipa::path(get, path = "/v1/operators/{address}", params(AddressPath),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn operator(State(node): Shared, address: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let address = path_param(address)?;
    let op = parse_address(&address)?;
    node.read(|app| {
        if !app.state().is_operator(op) {
            return Err(ApiError::not_found(format!("{op} is not a registered operator")));
        }
        operator_json(app, op).map(Json).map_err(state_error)
    })
}

#[utoipa::path(get, path = "/v1/allocations/{operator}", params(("operator" = String, Path, description = "Operator, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses((status = 200, body = [Object]), (status = 400, body = ApiError)))]
async fn allocations(
    State(node): Shared,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let address = path_param(address)?;
    let op = parse_address(&address)?;
    node.read(|app| allocations_json(app, op)).map(|v| Json(Value::Array(v))).map_err(state_error)
}

#[utoipa::path(get, path = "/v1/services", responses((status = 200, description = "Every service with its operator sets", body = [Object])))]
async fn services(State(node): Shared) -> Json<Value> {
    Json(node.read(|app| {
        let s = app.state();
        let sets = s.operator_set_list();
        Value::Array(
            s.service_list()
                .into_iter()
                .map(|(addr, svc)| {
                    let own: Vec<Value> = sets
                        .iter()
                        .filter(|(k, _)| k.service == addr)
                        .map(|(k, set)| json!({"set_id": k.id, "set": set, "risk": s.set_risk(*k)}))
                        .collect();
                    json!({"service": addr, "details": svc, "operator_sets": own})
                })
                .collect(),
        )
    }))
}

#[utoipa::path(get, path = "/v1/operator-sets", responses((status = 200, description = "Every operator set", body = [Object])))]
async fn operator_sets(State(node): Shared) -> Json<Value> {
    Json(node.read(|app| {
        let s = app.state();
        Value::Array(
            s.operator_set_list()
                .into_iter()
                .map(|(k, set)| json!({"service": k.service, "set_id": k.id, "set": set, "risk": s.set_risk(k)}))
                .collect(),
        )
    }))
}

#[utoipa::path(get, path = "/v1/slashes", responses((status = 200, description = "Open slash requests and uncleared slashed shares", body = Object)))]
async fn slashes(State(node): Shared) -> Json<Value> {
    Json(node.read(|app| {
        let s = app.state();
        let open: Vec<Value> = s
            .operator_addresses()
            .into_iter()
            .flat_map(|op| s.open_requests_against(op).into_iter().map(move |(k, id)| (op, k, id)))
            .map(|(op, k, id)| json!({"operator": op, "service": k.service, "set_id": k.id, "request_id": id, "request": s.slash_request(k, id)}))
            .collect();
        let burnable: Vec<Value> = s
            .burnable_shares()
            .into_iter()
            .map(|((k, id, st), e)| json!({"service": k.service, "set_id": k.id, "slash_id": id, "strategy": st, "entry": e}))
            .collect();
        json!({"open_requests": open, "burnable": burnable})
    }))
}

#[utoipa::path(get, path = "/v1/rewards", responses((status = 200, description = "Distribution roots and the updater", body = Object)))]
async fn rewards(State(node): Shared) -> Json<Value> {
    Json(node.read(|app| {
        let s = app.state();
        json!({"rewards_updater": s.rewards_updater(), "distribution_roots": s.distribution_roots()})
    }))
}

#[utoipa::path(get, path = "/v1/rewards/claimed/{earner}", params(("earner" = String, Path, description = "Earner, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses((status = 200, description = "Cumulative claimed per asset and the claimer", body = Object), (status = 400, body = ApiError)))]
async fn claimed(State(node): Shared, earner: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let earner = path_param(earner)?;
    let e = parse_address(&earner)?;
    Ok(Json(node.read(|app| {
        let s = app.state();
        let claimed: Vec<Value> = s
            .asset_list()
            .into_iter()
            .map(|(id, a)| json!({"asset": id, "symbol": a.symbol, "claimed": dec(s.cumulative_claimed(e, id))}))
            .collect();
        json!({"earner": e, "claimer": s.claimer_for(e), "claimed": claimed})
    })))
}

#[utoipa::path(get, path = "/v1/rewards/proof/{earner}", params(("earner" = String, Path, description = "Earner, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses((status = 200, description = "The earner's claim against the latest posted root, with merkle proofs (a `process_claim` body's `claim`)", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn proof(State(node): Shared, earner: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let earner = path_param(earner)?;
    let e = parse_address(&earner)?;
    let n = Arc::clone(&node);
    let claims = tokio::task::spawn_blocking(move || n.rewards_claims(&[e]))
        .await
        .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", err.to_string()))?;
    match claims {
        None => Err(ApiError::not_found("no root posted, or this node does not record the rewards history")),
        Some(Err(msg)) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "RewardsCalculationFailed", msg)),
        Some(Ok(c)) => match c.into_iter().next() {
            Some(claim) => Ok(Json(serde_json::to_value(claim).unwrap_or_default())),
            None => Err(ApiError::not_found(format!("{e} earned nothing in the latest root"))),
        },
    }
}

#[utoipa::path(post, path = "/v1/query", request_body(content = Object, description = "One scenario query, e.g. {\"withdrawable_shares\": {\"staker\": \"0x..\", \"strategy\": 1}}"),
    responses((status = 200, body = Value), (status = 400, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn run_query(State(node): Shared, ApiJson(q): ApiJson<Value>) -> Result<Json<Value>, ApiError> {
    let q: query::Query = serde_json::from_value(q).map_err(|e| ApiError::bad("BadQuery", e.to_string()))?;
    node.read(|app| query::evaluate(app.state(), &q, app.head().height, app.head().time))
        .map(Json)
        .map_err(|e| ApiError::bad(&e.name, e.message))
}

#[utoipa::path(get, path = "/v1/state", responses((status = 200, description = "Head and the hash of the whole state", body = Object)))]
async fn state_hash(State(node): Shared) -> Result<Json<Value>, ApiError> {
    node.read(|app| {
        let head_hash = app.head().hash().map_err(AppError::from)?;
        let full = app.state().state_hash().map_err(AppError::from)?;
        Ok(Json(json!({"head": app.head(), "head_hash": head_hash, "full_state_hash": full})))
    })
}

#[utoipa::path(get, path = "/v1/eip712", responses((status = 200, description = "The typed-data template wallets sign", body = Object)))]
async fn eip712(State(node): Shared) -> Json<Value> {
    Json(json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "CairnTx": [
                {"name": "action", "type": "string"}, {"name": "body", "type": "string"},
                {"name": "nonce", "type": "uint64"}, {"name": "expiry", "type": "uint64"}],
        },
        "primaryType": "CairnTx",
        "domain": {"name": envelope::DOMAIN_NAME, "version": envelope::DOMAIN_VERSION,
                   "chainId": node.config.chain_id, "verifyingContract": envelope::verifying_contract()},
    }))
}

#[utoipa::path(get, path = "/v1/snapshot",
    responses((status = 200, description = "The state at the head as postcard bytes (`StateSnapshot`): start a new node from it with `cairn devnet --from-snapshot FILE`", content_type = "application/octet-stream")))]
async fn snapshot(State(node): Shared) -> Result<Response, ApiError> {
    // The read is taken under the app lock (blocks wait for nothing else); the state is read,
    // hashed and encoded outside it, on a blocking thread.
    let reader = node.read(|a| a.store().read()).map_err(AppError::from)?;
    let built = tokio::task::spawn_blocking(move || {
        let snap = reader.build().map_err(AppError::from)?;
        let snap = snap.ok_or_else(|| ApiError::not_found("no chain yet".to_owned()))?;
        postcard::to_allocvec(&snap)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Encode", e.to_string()))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Snapshot", e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], built?).into_response())
}

/// The timeout layer answers with an empty body: give it the API's JSON error.
async fn json_timeout(res: Response) -> Response {
    if res.status() == StatusCode::REQUEST_TIMEOUT && res.headers().get(header::CONTENT_TYPE).is_none() {
        let msg = format!("the request took longer than {} s", REQUEST_TIMEOUT.as_secs());
        return ApiError::new(StatusCode::REQUEST_TIMEOUT, "Timeout", msg).into_response();
    }
    res
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn node API",
        description = "Signed transactions, blocks, positions, operators, services, slashes, withdrawals, rewards and liquid restaking vaults of a Cairn node. Any operation may be refused with 429 (`RateLimited`, `TooManyConnections`: this client is over its share) or 503 (`Overloaded`, `ServerBusy`: the node is at capacity), both with `Retry-After` in seconds; a body that does not arrive in time gets 408 `BodyTimeout`."
    ),
    paths(
        health,
        metrics,
        submit_tx,
        submit_batch,
        tx_status,
        latest_block,
        block_at,
        account,
        staker,
        withdrawals,
        operators,
        operator,
        allocations,
        services,
        operator_sets,
        slashes,
        rewards,
        claimed,
        proof,
        run_query,
        state_hash,
        eip712,
        snapshot,
        crate::api_events::events,
        crate::api_history::blocks,
        crate::api_preview::simulate,
        crate::api_preview::rpc,
        crate::api_risk::risk,
        crate::api_history::account_txs,
        crate::api_history::earner,
        crate::api_history::proof,
        crate::api_dev::status,
        crate::api_dev::mine,
        crate::api_dev::time,
        crate::api_dev::snapshot,
        crate::api_dev::revert,
        crate::api_dev::fund,
        crate::api_dev::rewards_root,
        crate::api_vault::list,
        crate::api_vault::vault,
        crate::api_vault::holdings,
        crate::api_vault::policy,
        crate::api_vault::rates,
        crate::api_vault::tickets,
        crate::api_vault::position
    ),
    components(schemas(
        ApiError,
        crate::api_preview::Intent,
        SignedTx,
        Submitted,
        TxStatus,
        Receipt,
        Header,
        BlockView,
        Health,
        SubmitAnswer,
        BatchItem,
        EventRecord,
        crate::api_events::NewBlock,
        crate::api_history::BlockSummary,
        crate::api_history::BlockPage,
        crate::api_history::TxPage,
        crate::api_dev::MineRequest,
        crate::api_dev::Mined,
        crate::api_dev::TimeRequest,
        crate::api_dev::RevertRequest,
        crate::api_dev::FundRequest,
        crate::dev::SnapshotTaken,
        crate::dev::DevStatus,
        crate::api_events::Lagged
    )),
    modifiers(&Refusals)
)]
pub struct ApiDoc;

/// Adds the refusals every operation may answer (429, 503 with `Retry-After`) to the document.
struct Refusals;

impl utoipa::Modify for Refusals {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder, Type, schema::ObjectBuilder};
        let refusal = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build(),
                )
                .header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                        .description(Some("Seconds to wait"))
                        .build(),
                )
                .build()
        };
        let limited = refusal(
            "RateLimited or TooManyConnections: this client is over its share; on submissions also AccountFull, \
             EmptyAccountBudget or EmptyAccountsBusy: this account is over its bound",
        );
        let busy = refusal(
            "Overloaded, ServerBusy or TooManyStreams: the node is at capacity; on submissions also Full: the \
             mempool is full",
        );
        // Every operation gets both, replacing a plainer entry an operation declared itself.
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                op.responses.responses.insert("429".into(), limited.clone().into());
                op.responses.responses.insert("503".into(), busy.clone().into());
            }
        }
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn count_requests(State(node): Shared, req: Request, next: axum::middleware::Next) -> Response {
    node.metrics.http_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    next.run(req).await
}

/// The router: every route, the limits and the JSON fallbacks. Layers run outside in: count,
/// the per-IP rate limit, the body read under its deadline, routing, then (all but `/health`,
/// `/metrics` and the event stream) the concurrency limit and the request timeout.
pub fn router(node: Arc<Node>) -> Router {
    let guards = crate::http::Guards::new(&node);
    let timed = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/v1/tx", post(submit_tx))
        .route("/v1/txs", post(submit_batch))
        .route("/v1/tx/{hash}", get(tx_status))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block_at))
        .route("/v1/accounts/{address}", get(account))
        .route("/v1/stakers/{address}", get(staker))
        .route("/v1/withdrawals/{address}", get(withdrawals))
        .route("/v1/operators", get(operators))
        .route("/v1/operators/{address}", get(operator))
        .route("/v1/allocations/{operator}", get(allocations))
        .route("/v1/services", get(services))
        .route("/v1/operator-sets", get(operator_sets))
        .route("/v1/slashes", get(slashes))
        .route("/v1/rewards", get(rewards))
        .route("/v1/rewards/claimed/{earner}", get(claimed))
        .route("/v1/rewards/proof/{earner}", get(proof))
        .route("/v1/query", post(run_query))
        .route("/v1/state", get(state_hash))
        .route("/v1/eip712", get(eip712))
        .route("/v1/snapshot", get(snapshot));
    let timed = crate::api_history::routes(crate::api_dev::routes(crate::api_vault::routes(timed)));
    let timed = crate::api_risk::routes(crate::api_preview::routes(timed))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(axum::middleware::map_response(json_timeout))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&guards), crate::http::shed));
    let router = Router::new()
        .merge(timed)
        .route("/", get(crate::web::page).post(crate::api_preview::root_rpc))
        .route("/ui/{file}", get(crate::web::asset))
        .route("/v1", get(index))
        .route("/v1/", get(index))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/events", get(crate::api_events::events))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::Extension(Arc::clone(&guards)))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&guards), crate::http::read_body))
        .layer(axum::middleware::from_fn_with_state(guards, crate::http::limit_rate))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&node), count_requests));
    match cors(&node.config.cors) {
        Some(layer) => router.layer(layer).with_state(node),
        None => router.with_state(node),
    }
}

/// The CORS layer for `origins` (`*`: any origin), or none: browsers on other origins may then
/// call every route with any method and header.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    Some(CorsLayer::new().allow_origin(allow).allow_methods(Any).allow_headers(Any).expose_headers(Any))
}

/// Every route of the OpenAPI document: (method, path, summary), in path order.
fn routes_listed() -> Vec<(&'static str, String, String)> {
    let doc = ApiDoc::openapi();
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [("GET", &item.get), ("POST", &item.post)] {
            if let Some(op) = op {
                let ok = op.responses.responses.iter().find(|(code, _)| code.starts_with('2'));
                let summary = ok.and_then(|(_, r)| match r {
                    utoipa::openapi::RefOr::T(r) => Some(r.description.clone()),
                    utoipa::openapi::RefOr::Ref(_) => None,
                });
                out.push((method, path.clone(), summary.unwrap_or_default()));
            }
        }
    }
    out
}

/// `/v1/`: the routes with links (HTML for a browser, JSON otherwise).
async fn index(State(node): Shared, headers: axum::http::HeaderMap) -> Response {
    let routes = routes_listed();
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        let list: Vec<Value> = routes
            .iter()
            .map(|(m, p, d)| {
                let href = (*m == "GET" && !p.contains('{')).then(|| p.clone());
                json!({"method": m, "path": p, "href": href, "description": d})
            })
            .collect();
        return Json(json!({"name": "Cairn node API", "chain_id": node.config.chain_id,
            "devnet": node.config.dev.is_some(), "openapi": "/openapi.json", "routes": list}))
        .into_response();
    }
    let mut html = format!(
        "<!doctype html><meta charset=utf-8><title>Cairn node API</title>\n<h1>Cairn node API</h1>\n<p>Chain {}. \
         The OpenAPI document: <a href=\"/openapi.json\">/openapi.json</a>.</p>\n<table>\n",
        node.config.chain_id
    );
    for (m, p, d) in &routes {
        let shown = escape(p);
        let link = if *m == "GET" && !p.contains('{') { format!("<a href=\"{shown}\">{shown}</a>") } else { shown };
        html.push_str(&format!("<tr><td>{m}</td><td><code>{link}</code></td><td>{}</td></tr>\n", escape(d)));
    }
    html.push_str("</table>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Serves the API on `listener` until the process ends, with the timeouts and limits of
/// `node.config.http` (see `crate::http`).
pub async fn serve(node: Arc<Node>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    crate::http::serve(node, listener).await
}
