//! `GET /v1/risk`: the risk engine on the head state, for the web app's risk page and anyone's
//! script: the restaking graph (operators as validators, operator sets as services, allocated
//! stake as edges, each set's declared prize and threshold), the security verdict with its
//! evidence, γ*, the worst loss after a ψ-shock, leverage and concentration (docs/risk.md).
//! It runs off the async threads and never holds the state's lock while it searches, so it never
//! delays a block; the answer is cached for the head height (and ψ) it was computed at.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    routing::get,
};
use cairn_risk::{
    Ratio, bounds, concentration,
    exact::{self, SECURITY_LIMIT},
    from_state::{SetRisk, graph_from_state},
    leverage,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{api::ApiError, node::Node};

/// The shock to evaluate.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// ψ, the share of stake lost to a shock before an attack, as `p/q` (default `1/10`).
    pub psi: Option<String>,
}

#[utoipa::path(get, path = "/v1/risk", params(RiskParams),
    responses(
        (status = 200, description = "`block` and `psi` it was computed for, `cached` (computed earlier at this height), and `report`: `verdict` (secure / insecure / undecided) with `method` and `witness` (the most profitable coalition: the attack when insecure, the closest call when secure), `gamma` (γ*, the slack), `loss` (worst loss after a ψ-shock), `leverage` (ρ per operator, over-leveraged flags), `concentration`, `size`", body = Object),
        (status = 400, description = "BadPsi", body = ApiError)))]
pub(crate) async fn risk(
    State(node): State<Arc<Node>>,
    params: Result<Query<RiskParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let psi = Ratio::try_from(params.psi.unwrap_or_else(|| "1/10".into()))
        .ok()
        .filter(|p| p.den != 0 && p.num <= p.den)
        .ok_or_else(|| ApiError::bad("BadPsi", "psi must be a fraction p/q in [0, 1], e.g. 1/10"))?;
    let psi_text = format!("{}/{}", psi.num, psi.den);
    let cached = node.risk_cache.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let head = node.read(|app| app.head().height);
    if let Some((h, p, report)) = cached.filter(|(h, p, _)| *h == head && *p == psi_text) {
        return Ok(Json(json!({"block": h, "psi": p, "cached": true, "report": *report})));
    }
    let (block, graph) = node.read(|app| {
        let state = app.state();
        let sets: Vec<SetRisk> = state
            .set_risks()
            .into_iter()
            .map(|(set, d)| SetRisk {
                set,
                prize: d.prize,
                threshold: Ratio { num: d.threshold_num, den: d.threshold_den },
            })
            .collect();
        let block = app.head().height;
        (block, graph_from_state(state, block, &sets, |a| a.to_string()))
    });
    let g = graph.map_err(|e| ApiError::bad("BadGraph", e.to_string()))?;
    // The exact search is exponential in the operators: it runs off the async threads.
    let answer = Arc::new(
        tokio::task::spawn_blocking(move || analyse(&g, psi))
            .await
            .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal", e.to_string()))?,
    );
    // Kept for this height: the graph cannot change until the next block.
    *node.risk_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((block, psi_text.clone(), Arc::clone(&answer)));
    Ok(Json(json!({"block": block, "psi": psi_text, "cached": false, "report": *answer})))
}

fn analyse(g: &cairn_risk::graph::Graph, psi: Ratio) -> Value {
    let lev = leverage::leverage(g);
    let size = json!({"operators": g.stake.len(), "services": g.prize.len()});
    let common = |v: Value| {
        let mut v = v;
        v["size"] = size.clone();
        v["leverage"] = json!(lev);
        v["concentration"] = json!(concentration::concentrations(g));
        v
    };
    if g.stake.len() <= SECURITY_LIMIT
        && let Ok(s) = exact::security(g)
    {
        let loss = exact::worst_case_loss(g, psi).map_err(|e| e.to_string());
        return common(json!({
            "verdict": if s.secure { "secure" } else { "insecure" },
            "method": "exact: every coalition of operators checked",
            "witness": s.best_attack,
            "gamma": s.slack,
            "loss": loss.map_or_else(|e| json!({"error": e}), |l| json!(l)),
        }));
    }
    let b = bounds::bounds(g);
    common(json!({
        "verdict": b.verdict,
        "method": format!("certified bounds: more than {SECURITY_LIMIT} operators for the exact search"),
        "witness": b.best_found,
        "gamma": lev.certified_slack,
        "upper_bound": b.upper_bound,
        "loss": {"error": "the exact ψ-shock search needs at most 26 operators"},
    }))
}

/// The risk route.
pub(crate) fn routes(r: Router<Arc<Node>>) -> Router<Arc<Node>> {
    r.route("/v1/risk", get(risk))
}
