//! `GET /v1/risk`: the risk engine on the head state, for the web app's risk page and anyone's
//! script: the restaking graph (operators as validators, operator sets as services, allocated
//! stake as edges, each set's declared prize and threshold), the security verdict with its
//! evidence, γ*, the worst loss after a ψ-shock, leverage and concentration (docs/risk.md).
//! It runs off the async threads and never holds the state's lock while it searches, so it never
//! delays a block; the answer is cached for the head height (and ψ) it was computed at.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    routing::get,
};
use cairn_risk::{
    Options, Ratio,
    from_state::{declared_sets, graph_from_state},
    report,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{api::ApiError, node::Node};

/// The shock to evaluate.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// ψ, the share of stake lost to a shock before an attack: `p/q`, a decimal, or a
    /// comma-separated list (default `1/10`).
    pub psi: Option<String>,
}

#[utoipa::path(get, path = "/v1/risk", params(RiskParams),
    responses(
        (status = 200, description = "`block` and `psi` it was computed for, `cached` (computed earlier at this height), and `report`: the risk engine's report in schema `cairn.risk/1` (docs/risk.md), the same as `cairn risk scenario --json`: `verdict`, then `pooled` and `elastic` each with its verdict and evidence, `losses` per ψ, `leverage`, `unique_stake`, `concentration`, `searches`", body = Object),
        (status = 400, description = "BadPsi", body = ApiError)))]
pub(crate) async fn risk(
    State(node): State<Arc<Node>>,
    params: Result<Query<RiskParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let psi: Vec<Ratio> = params
        .psi
        .as_deref()
        .unwrap_or("1/10")
        .split(',')
        .map(|p| Ratio::parse(p).ok().filter(|p| p.den != 0 && p.num <= p.den))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ApiError::bad("BadPsi", "psi must be fractions p/q or decimals in [0, 1], e.g. 1/10 or 0.05,0.1")
        })?;
    let psi_text = psi.iter().map(|p| String::from(*p)).collect::<Vec<_>>().join(",");
    let head = node.read(|app| app.head().height);
    node.risk_requested.store(head.saturating_add(1), Ordering::Relaxed);
    let cached = node.risk_cache.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some((h, p, report)) = cached.filter(|(h, p, _)| *h == head && *p == psi_text) {
        return Ok(Json(json!({"block": h, "psi": p, "cached": true, "report": *report})));
    }
    // The exact search is exponential in the operators: it runs off the async threads.
    let (n, key) = (Arc::clone(&node), psi_text.clone());
    let (block, answer) = tokio::task::spawn_blocking(move || compute(&n, psi, key))
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?
        .map_err(|e| ApiError::bad("BadGraph", e))?;
    Ok(Json(json!({"block": block, "psi": psi_text, "cached": false, "report": *answer})))
}

/// The report on the head state for `psi`, kept in the cache for that height (the graph cannot
/// change until the next block). Reads the state briefly, analyses without the lock.
fn compute(node: &Node, psi: Vec<Ratio>, psi_text: String) -> Result<(u64, Arc<Value>), String> {
    let (block, graph) = node.read(|app| {
        let state = app.state();
        let block = app.head().height;
        (block, graph_from_state(state, block, &declared_sets(state), |a| a.to_string()))
    });
    let g = graph.map_err(|e| e.to_string())?;
    let mut r = report::analyse(&g, &Options { psi, ..Options::default() });
    r.unit = "wei";
    let answer = Arc::new(json!(r));
    *node.risk_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((block, psi_text, Arc::clone(&answer)));
    Ok((block, answer))
}

/// Blocks a request must be within for the node to keep computing each new block's report.
const FOLLOW_BLOCKS: u64 = 64;

/// Computes each new block's report ahead of the next request, for the ψ last asked, while
/// someone has asked within [`FOLLOW_BLOCKS`] blocks; one computation at a time, off the block
/// path (a block never waits for it; a busy follower skips to the newest head).
pub(crate) async fn follow(node: Arc<Node>) {
    let mut heads = node.committed.subscribe();
    while heads.changed().await.is_ok() {
        let head = *heads.borrow_and_update();
        let asked = node.risk_requested.load(Ordering::Relaxed);
        if asked == 0 || head > asked.saturating_add(FOLLOW_BLOCKS) {
            continue;
        }
        let last = node.risk_cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|c| (c.0, c.1.clone()));
        let Some((_, psi_text)) = last.filter(|(at, _)| *at < head) else { continue };
        let Ok(psi) = psi_text.split(',').map(Ratio::parse).collect::<Result<Vec<_>, _>>() else { continue };
        let n = Arc::clone(&node);
        if let Ok(Ok(_)) = tokio::task::spawn_blocking(move || compute(&n, psi, psi_text)).await {
            node.metrics.risk_followed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The risk route.
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/risk", get(risk))
}
