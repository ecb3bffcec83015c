//! What a wallet and a web app need before they sign: `POST /v1/tx/simulate` (a transaction's
//! effect at the next block, the state unchanged) and the few Ethereum JSON-RPC calls a wallet
//! asks to add the network (`eth_chainId`, `net_version`, `eth_blockNumber`), on `POST /rpc`
//! and `POST /`. A request that is not JSON-RPC at all gets HTTP 400 with the JSON-RPC error.

use std::sync::Arc;

use alloy_primitives::Address;
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use cairn_state::Ctx;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    api::{ApiError, ApiJson, balances_view, parse_address, staker_view},
    envelope::decode_tx,
    node::Node,
};

/// An unsigned transaction to preview: what the signer would sign, without nonce or signature.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The account that would sign it.
    #[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub from: String,
    /// Transaction kind, e.g. `deposit`.
    pub action: String,
    /// The action's fields: the JSON object as it would be signed, or that object's text.
    #[schema(value_type = Object)]
    pub body: Value,
}

/// The account's balances and staker view (positions, delegation, queued withdrawals).
fn position(s: &cairn_state::State, a: Address, block: u64) -> Result<Value, cairn_state::TxError> {
    Ok(json!({"balances": balances_view(s, a), "staker": staker_view(s, a, block)?}))
}

#[utoipa::path(post, path = "/v1/tx/simulate", request_body = Intent,
    responses(
        (status = 200, description = "The preview at the next block: `ok`, and either the events with the signer's position before and after (`before`, `after`: balances and staker view), or the state machine's typed error (`error`, `message`). Nothing changes.", body = Object),
        (status = 400, description = "BadAddress, UnknownAction, BadBody, BadJson", body = ApiError),
        (status = 413, body = ApiError), (status = 415, body = ApiError),
        (status = 422, description = "MalformedBody: a field missing, unknown or of the wrong type", body = ApiError)))]
pub(crate) async fn simulate(
    State(node): State<Arc<Node>>,
    ApiJson(intent): ApiJson<Intent>,
) -> Result<Json<Value>, ApiError> {
    let from = parse_address(&intent.from)?;
    let body = match intent.body {
        Value::String(text) => text,
        Value::Object(fields) => Value::Object(fields).to_string(),
        other => return Err(ApiError::bad("BadBody", format!("body must be a JSON object or its text, got {other}"))),
    };
    let tx = decode_tx(&intent.action, &body).map_err(|e| ApiError::bad(e.name(), e.to_string()))?;
    let now = node.now();
    // A write lock for the length of one transaction: the preview runs on the live state and
    // undoes itself, so nothing is cloned.
    let mut app = node.app.write().unwrap_or_else(|p| p.into_inner());
    let block = app.head().height.saturating_add(1);
    let time = now.max(app.head().time);
    let ctx = Ctx { sender: from, block, time };
    let before = position(app.state(), from, block).map_err(|e| ApiError::bad(e.name(), e.to_string()))?;
    let outcome = app.simulate(&ctx, &tx, |s| position(s, from, block));
    drop(app);
    let at = json!({"height": block, "time": time});
    Ok(Json(match outcome {
        Ok((events, after)) => {
            let after = after.map_err(|e| ApiError::bad(e.name(), e.to_string()))?;
            json!({"ok": true, "at": at, "events": events, "before": before, "after": after})
        }
        Err(e) => json!({"ok": false, "at": at, "error": e.name(), "message": e.to_string(), "before": before}),
    }))
}

/// A JSON-RPC 2.0 error answer.
fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// The methods a wallet calls to add the network.
const METHODS: &str = "eth_chainId, net_version, eth_blockNumber";

/// One JSON-RPC call's answer.
fn rpc_call(node: &Node, call: &Value) -> Value {
    let Some(obj) = call.as_object() else {
        return rpc_error(Value::Null, -32600, "a call must be a JSON object");
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return rpc_error(id, -32600, "\"jsonrpc\" must be \"2.0\"");
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return rpc_error(id, -32600, "\"method\" must be a string");
    };
    let result = match method {
        "eth_chainId" => json!(format!("{:#x}", node.config.chain_id)),
        "net_version" => json!(node.config.chain_id.to_string()),
        "eth_blockNumber" => json!(format!("{:#x}", node.read(|a| a.head().height))),
        other => {
            let other: String = other.chars().take(64).collect();
            return rpc_error(id, -32601, format!("the method {other:?} does not exist; this node answers {METHODS}"));
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[utoipa::path(post, path = "/rpc", request_body(content = Value, description = "A JSON-RPC 2.0 call (an object) or a batch of them (an array)"),
    responses(
        (status = 200, description = "JSON-RPC answers, one object per call, an array for a batch: `eth_chainId` (hex), `net_version` (decimal), `eth_blockNumber` (hex head height); any other method is error -32601, a malformed call in a batch -32600", body = Value),
        (status = 400, description = "The request is not JSON-RPC at all: unreadable JSON (error -32700), an empty batch or a single malformed call (-32600); the body is the JSON-RPC error", body = Object)))]
pub(crate) async fn rpc(State(node): State<Arc<Node>>, body: Bytes) -> Response {
    let bad = |v: Value| (StatusCode::BAD_REQUEST, Json(v)).into_response();
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(rpc_error(Value::Null, -32700, format!("not JSON: {e}"))),
    };
    match parsed {
        Value::Array(calls) if calls.is_empty() => bad(rpc_error(Value::Null, -32600, "an empty batch")),
        Value::Array(calls) => {
            Json(Value::Array(calls.iter().take(100).map(|c| rpc_call(&node, c)).collect())).into_response()
        }
        call => {
            let answer = rpc_call(&node, &call);
            if answer["error"]["code"] == -32600 { bad(answer) } else { Json(answer).into_response() }
        }
    }
}

/// The preview and JSON-RPC routes (`POST /` is JSON-RPC too, where wallets look first).
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/tx/simulate", post(simulate)).route("/rpc", post(rpc))
}

/// `POST /`: JSON-RPC, as on `/rpc`.
pub(crate) async fn root_rpc(node: State<Arc<Node>>, body: Bytes) -> Response {
    rpc(node, body).await
}
