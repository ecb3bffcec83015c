//! The devnet's REST controls under `/v1/dev` (`crate::dev`): mine, move time, snapshot,
//! revert, fund, post a rewards root. A node that is not a devnet answers 403 `NotADevnet`.

use std::sync::Arc;

use alloy_primitives::U256;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::{
    api::{ApiError, SubmitAnswer, WAIT_FOR_COMMIT, WaitParam, parse_address, query_params},
    block::Header,
    dev::{DevError, DevStatus, SnapshotTaken},
    node::{Node, Submitted, TxStatus},
};

type Shared = State<Arc<Node>>;

impl From<DevError> for ApiError {
    fn from(e: DevError) -> Self {
        let status = match &e {
            DevError::NotADevnet { .. } => StatusCode::FORBIDDEN,
            DevError::UnknownSnapshot { .. } => StatusCode::NOT_FOUND,
            DevError::Submit(s) => return ApiError::from(s.clone()),
            DevError::App(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.name(), e.to_string())
    }
}

/// A body of a dev control: JSON (any content type, so `curl -d` works), unknown fields
/// refused; an empty body is `{}`.
fn body<T: DeserializeOwned>(raw: &Bytes) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_value(json!({})).map_err(|e| ApiError::bad("BadRequest", e.to_string()));
    }
    // A JSON object only: serde would also read a struct from an array of its fields.
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| ApiError::bad("BadRequest", e.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::bad("BadRequest", format!("the body must be a JSON object, got {value}")));
    }
    serde_json::from_value(value).map_err(|e| ApiError::bad("BadRequest", e.to_string()))
}

/// Runs a blocking control off the async threads (blocks are committed to disk).
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R, DevError> + Send + 'static) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?
        .map_err(ApiError::from)
}

#[utoipa::path(get, path = "/v1/dev", responses((status = 200, body = DevStatus), (status = 403, body = ApiError)))]
async fn status(State(node): Shared) -> Result<Json<DevStatus>, ApiError> {
    Ok(Json(node.dev_status()?))
}

/// `POST /v1/dev/mine`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    /// Blocks to produce (1 to 10,000; default 1).
    #[serde(default = "one")]
    pub blocks: u64,
    /// Seconds the clock moves before each block (default 0).
    #[serde(default)]
    pub interval_seconds: u64,
}

fn one() -> u64 {
    1
}

/// What mining produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mined {
    /// Blocks produced.
    pub blocks: usize,
    /// The first one's height.
    pub first: u64,
    /// The new head.
    pub head: Header,
}

#[utoipa::path(post, path = "/v1/dev/mine", request_body(content = Option<MineRequest>, description = "Optional; default one block"),
    responses((status = 200, body = Mined), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn mine(State(node): Shared, raw: Bytes) -> Result<Json<Mined>, ApiError> {
    let req: MineRequest = body(&raw)?;
    let headers = blocking(move || node.dev_mine(req.blocks, req.interval_seconds)).await?;
    let (Some(first), Some(head)) = (headers.first(), headers.last()) else {
        return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", "no block was produced"));
    };
    Ok(Json(Mined { blocks: headers.len(), first: first.height, head: head.clone() }))
}

/// `POST /v1/dev/time`: exactly one of `advance_seconds` and `to`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRequest {
    /// Seconds to move the clock forward.
    pub advance_seconds: Option<u64>,
    /// Unix time to move the clock forward to.
    pub to: Option<u64>,
    /// Produce a block at the new time (default true).
    #[serde(default = "yes")]
    pub mine: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/v1/dev/time", request_body = TimeRequest,
    responses((status = 200, description = "The node's clock and the block mined at it", body = Object), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn time(State(node): Shared, raw: Bytes) -> Result<Json<Value>, ApiError> {
    let req: TimeRequest = body(&raw)?;
    let n = Arc::clone(&node);
    let block = match (req.advance_seconds, req.to) {
        (Some(s), None) => blocking(move || n.dev_advance_time(s, req.mine)).await?,
        (None, Some(t)) => blocking(move || n.dev_set_time(t, req.mine)).await?,
        _ => return Err(ApiError::bad("BadRequest", "give exactly one of advance_seconds and to")),
    };
    let status = node.dev_status()?;
    Ok(Json(json!({"now": status.now, "offset_seconds": status.offset_seconds, "block": block})))
}

#[utoipa::path(post, path = "/v1/dev/snapshot",
    responses((status = 200, body = SnapshotTaken), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn snapshot(State(node): Shared) -> Result<Json<SnapshotTaken>, ApiError> {
    Ok(Json(blocking(move || node.dev_snapshot()).await?))
}

/// `POST /v1/dev/revert`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertRequest {
    /// The snapshot's id.
    pub id: u64,
}

#[utoipa::path(post, path = "/v1/dev/revert", request_body = RevertRequest,
    responses((status = 200, description = "The head after the revert", body = Object), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revert(State(node): Shared, raw: Bytes) -> Result<Json<Value>, ApiError> {
    let req: RevertRequest = body(&raw)?;
    let head = blocking(move || node.dev_revert(req.id)).await?;
    Ok(Json(json!({"reverted_to": req.id, "head": head})))
}

/// `POST /v1/dev/fund`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundRequest {
    /// The account to fund.
    pub address: String,
    /// Asset symbol or number (default `ETH`).
    #[serde(default = "eth")]
    pub asset: String,
    /// Amount in the smallest unit, e.g. `"100e18"` (default 100 tokens of 18 decimals).
    #[serde(default = "hundred", with = "cairn_primitives::serde_dec")]
    #[schema(value_type = String)]
    pub amount: U256,
}

fn eth() -> String {
    "ETH".into()
}

fn hundred() -> U256 {
    U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64))
}

async fn answer(node: &Node, submitted: Submitted, wait: bool, extra: Value) -> Result<Response, ApiError> {
    let status = if wait { node.wait_committed(submitted.hash, WAIT_FOR_COMMIT).await? } else { TxStatus::Pending };
    let mut v = serde_json::to_value(SubmitAnswer { submitted, status }).unwrap_or_default();
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

fn wait_param(q: Result<Query<WaitParam>, QueryRejection>) -> Result<bool, ApiError> {
    query_params(q).map(|w: WaitParam| w.wait)
}

#[utoipa::path(post, path = "/v1/dev/fund", request_body = FundRequest, params(WaitParam),
    responses((status = 202, description = "The faucet's mint, admitted (committed with `?wait=true`)", body = SubmitAnswer), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn fund(
    State(node): Shared,
    wait: Result<Query<WaitParam>, QueryRejection>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let wait = wait_param(wait)?;
    let req: FundRequest = body(&raw)?;
    let to = parse_address(&req.address)?;
    let n = Arc::clone(&node);
    let submitted = blocking(move || n.dev_fund(to, &req.asset, req.amount)).await?;
    answer(&node, submitted, wait, json!({})).await
}

#[utoipa::path(post, path = "/v1/dev/rewards-root", params(WaitParam),
    responses((status = 202, description = "The root through the last closed interval, submitted by the governor; `calculation_end` says through when", body = SubmitAnswer), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn rewards_root(
    State(node): Shared,
    wait: Result<Query<WaitParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let wait = wait_param(wait)?;
    let n = Arc::clone(&node);
    let (submitted, end) = blocking(move || n.dev_post_root()).await?;
    answer(&node, submitted, wait, json!({"calculation_end": end})).await
}

/// The `/v1/dev` routes.
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/dev", get(status))
        .route("/v1/dev/mine", post(mine))
        .route("/v1/dev/time", post(time))
        .route("/v1/dev/snapshot", post(snapshot))
        .route("/v1/dev/revert", post(revert))
        .route("/v1/dev/fund", post(fund))
        .route("/v1/dev/rewards-root", post(rewards_root))
}
