//! The vault's REST resources under `/v1/vaults`: the vault, its holdings per place, its policy
//! and exposure, its rate history with attribution and APRs, tickets with their ETA, and a
//! holder's position. Each is the scenario query of the same meaning (`query.rs`), evaluated at
//! the head.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    routing::get,
};
use cairn_primitives::VaultId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    api::ApiError,
    node::Node,
    query::{self, Query as Q},
};

type Shared = State<Arc<Node>>;

fn vault_id(p: Result<Path<String>, PathRejection>) -> Result<VaultId, ApiError> {
    let Path(s) = p.map_err(|e| ApiError::bad("BadPath", e.body_text()))?;
    s.parse::<u32>().map(VaultId).map_err(|_| ApiError::bad("BadVault", format!("{s:?} is not a vault number")))
}

fn eval(node: &Node, q: Q) -> Result<Value, ApiError> {
    node.read(|app| query::evaluate(app.state(), &q, app.head().height, app.head().time)).map_err(|e| {
        if e.name == "UnknownVault" { ApiError::not_found(e.message) } else { ApiError::bad(&e.name, e.message) }
    })
}

#[utoipa::path(get, path = "/v1/vaults", responses((status = 200, description = "Every vault with its supply, rates and assets", body = [Object])))]
async fn list(State(node): Shared) -> Result<Json<Value>, ApiError> {
    let ids = node.read(|app| app.state().vault_ids());
    let mut out = Vec::new();
    for id in ids {
        let v = eval(&node, Q::Vault { vault: id })?;
        let pick = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        out.push(json!({
            "vault": id.0,
            "symbol": pick("symbol"),
            "supply": pick("supply"),
            "settled_rate": pick("settled_rate"),
            "current_rate": pick("current_rate"),
            "total_assets": pick("total_assets"),
            "reserve": pick("reserve"),
            "quarantine": pick("quarantine"),
            "emergency": pick("emergency"),
        }));
    }
    Ok(Json(Value::Array(out)))
}

#[utoipa::path(get, path = "/v1/vaults/{id}", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$")),
    responses((status = 200, description = "The vault valued at the head: rates, assets, reserve, places, unbondings, targets", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn vault(State(node): Shared, id: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let vault = vault_id(id)?;
    eval(&node, Q::Vault { vault }).map(Json)
}

#[utoipa::path(get, path = "/v1/vaults/{id}/holdings", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$")),
    responses((status = 200, description = "The buffer per asset, each place's holdings and weight, unbondings in flight, validators in transit", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn holdings(State(node): Shared, id: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let vault = vault_id(id)?;
    let v = eval(&node, Q::Vault { vault })?;
    let pick = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Ok(Json(json!({
        "vault": vault.0,
        "total_assets": pick("total_assets"),
        "buffer": pick("assets"),
        "places": pick("places"),
        "unbondings": pick("unbondings"),
    })))
}

#[utoipa::path(get, path = "/v1/vaults/{id}/policy", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$")),
    responses((status = 200, description = "The policy, the targets in force and the exposure per service (targets and holdings)", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn policy(State(node): Shared, id: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let vault = vault_id(id)?;
    let exposure = eval(&node, Q::VaultExposure { vault })?;
    let (policy, params, targets) = node
        .read(|app| {
            let cfg = app.state().vault_cfg(vault).ok()?;
            Some((
                serde_json::to_value(&cfg.policy).ok()?,
                serde_json::to_value(cfg.params).ok()?,
                serde_json::to_value(&cfg.targets).ok()?,
            ))
        })
        .ok_or_else(|| ApiError::not_found(format!("no vault {}", vault.0)))?;
    Ok(Json(json!({"vault": vault.0, "policy": policy, "params": params, "targets": targets, "exposure": exposure})))
}

/// Paging of the rate history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RatesParams {
    /// First settlement number (default 0).
    #[serde(default)]
    pub first: u64,
    /// Most records (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/vaults/{id}/rates", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$"), RatesParams),
    responses((status = 200, description = "Settlements with their attribution; the open period's parts; APRs over 7 and 30 days with their windows and sources", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn rates(
    State(node): Shared,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<RatesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let vault = vault_id(id)?;
    let Query(p) = params.map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let limit = p.limit.unwrap_or(100).min(1_000);
    let settlements = eval(&node, Q::VaultRates { vault, first: p.first, limit })?;
    let open = eval(&node, Q::VaultAttribution { vault })?;
    let apr_7d = eval(&node, Q::VaultApr { vault, window: 7 * 86_400 })?;
    let apr_30d = eval(&node, Q::VaultApr { vault, window: 30 * 86_400 })?;
    Ok(Json(json!({"vault": vault.0, "settlements": settlements, "open": open, "apr_7d": apr_7d, "apr_30d": apr_30d})))
}

/// Filter of the tickets.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketsParams {
    /// Only this owner's tickets (`0x` and 40 hex digits).
    pub owner: Option<String>,
}

#[utoipa::path(get, path = "/v1/vaults/{id}/tickets", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$"), TicketsParams),
    responses((status = 200, description = "Tickets with their ETA block and time (fixed at request) and the blocks left", body = [Object]), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn tickets(
    State(node): Shared,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<TicketsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let vault = vault_id(id)?;
    let Query(p) = params.map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let owner = p.owner.as_deref().map(crate::api::parse_address).transpose()?;
    eval(&node, Q::Vault { vault })?;
    eval(&node, Q::VaultTickets { vault, owner }).map(Json)
}

#[utoipa::path(get, path = "/v1/vaults/{id}/positions/{address}", params(("id" = String, Path, description = "Vault number", pattern = "^[0-9]{1,10}$"), ("address" = String, Path, description = "Holder, `0x` and 40 hex digits", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses((status = 200, description = "A holder's receipt tokens, their value now and at the redemption rate, its tickets, and what it could redeem at once per asset", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn position(
    State(node): Shared,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((id, address)) = path.map_err(|e| ApiError::bad("BadPath", e.body_text()))?;
    let vault = id
        .parse::<u32>()
        .map(VaultId)
        .map_err(|_| ApiError::bad("BadVault", format!("{id:?} is not a vault number")))?;
    let owner = crate::api::parse_address(&address)?;
    let mut p = eval(&node, Q::VaultPosition { vault, owner })?;
    let assets =
        node.read(|app| app.state().vault_cfg(vault).map(|c| c.assets.iter().map(|a| a.asset).collect::<Vec<_>>()));
    let mut max_redeem = Vec::new();
    for asset in assets.unwrap_or_default() {
        let m = eval(&node, Q::VaultMaxRedeem { vault, owner, asset })?;
        max_redeem.push(json!({"asset": asset.0, "shares": m}));
    }
    if let Value::Object(map) = &mut p {
        map.insert("max_redeem".into(), Value::Array(max_redeem));
    }
    Ok(Json(p))
}

/// The vault routes, added to the API's timed router.
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/vaults", get(list))
        .route("/v1/vaults/{id}", get(vault))
        .route("/v1/vaults/{id}/holdings", get(holdings))
        .route("/v1/vaults/{id}/policy", get(policy))
        .route("/v1/vaults/{id}/rates", get(rates))
        .route("/v1/vaults/{id}/tickets", get(tickets))
        .route("/v1/vaults/{id}/positions/{address}", get(position))
}
