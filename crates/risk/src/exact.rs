//! Exact answers for small graphs by enumeration (pooled model M1, D&R): the most profitable
//! attack with its witness, the exact slack γ*, and the worst-case loss L_ψ after a shock with
//! cascades (which collapse to one attack on G↓D, D&R Corollary 1).
//!
//! An attack (A, B) is valid when every s ∈ A has σ_{B∩N(s)} ≥ α_s·σ_{N(s)} and π_A > σ_B
//! (strict). For a set B the best A is A*(B), every service whose threshold B meets.

use cairn_primitives::U256;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde::Serialize;

use crate::{
    graph::{Graph, GraphError, Ratio},
    leverage::{Exact, big},
};

/// Most validators the security check and γ* enumerate (2^n subsets).
pub const SECURITY_LIMIT: usize = 22;
/// Most validators the worst-case loss enumerates (3^n shock/attack pairs).
pub const LOSS_LIMIT: usize = 12;

/// An attack: services corrupted, validators that pay with their whole stake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attack {
    /// Services corrupted (A).
    pub services: Vec<String>,
    /// Validators attacking (B).
    pub validators: Vec<String>,
    /// π_A.
    pub prize: String,
    /// σ_B.
    pub cost: String,
    /// π_A − σ_B (negative: unprofitable).
    pub profit: String,
}

/// The exact security check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityReport {
    /// No valid attack exists.
    pub secure: bool,
    /// The most profitable coalition (the witness when insecure; the closest call when secure).
    pub best_attack: Option<Attack>,
    /// γ* = min over coalitions with A ≠ ∅ of σ_B/π_A − 1 (none if no coalition exists).
    pub slack: Option<Exact>,
}

/// The worst-case loss after a shock of size ψ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LossReport {
    /// ψ.
    pub psi: Ratio,
    /// L_ψ = (σ_D + σ_B)/σ_V.
    pub loss: Exact,
    /// σ_B/σ_V, the part lost to the attack the shock enables.
    pub attack_loss: Exact,
    /// The shock D.
    pub shock: Vec<String>,
    /// The attack on G↓D, if one is valid.
    pub attack: Option<Attack>,
}

/// Per-service thresholds as integers: B meets s iff den_s·σ_{B∩N(s)} ≥ num_s·σ_{N(s)}.
struct Thresholds {
    den: Vec<U256>,
    rhs: Vec<U256>,
}

fn thresholds(g: &Graph, removed: u32) -> Thresholds {
    let mut den = Vec::with_capacity(g.prize.len());
    let mut rhs = Vec::with_capacity(g.prize.len());
    for (s, edges) in g.service_edges.iter().enumerate() {
        let remaining = edges
            .iter()
            .filter(|(v, _)| removed & bit(*v) == 0)
            .fold(U256::ZERO, |a, (v, _)| a.saturating_add(g.stake[*v]));
        den.push(U256::from(g.threshold[s].den));
        rhs.push(U256::from(g.threshold[s].num).saturating_mul(remaining));
    }
    Thresholds { den, rhs }
}

fn bit(v: usize) -> u32 {
    1u32.checked_shl(u32::try_from(v).unwrap_or(u32::MAX)).unwrap_or(0)
}

fn stake_of(g: &Graph, set: u32) -> U256 {
    (0..g.stake.len()).filter(|v| set & bit(*v) != 0).fold(U256::ZERO, |a, v| a.saturating_add(g.stake[v]))
}

/// A*(B): the services whose threshold B meets (given thresholds for the current G↓D), and π_A.
fn best_services(g: &Graph, t: &Thresholds, b: u32) -> (Vec<usize>, U256) {
    let mut services = Vec::new();
    let mut prize = U256::ZERO;
    for (s, edges) in g.service_edges.iter().enumerate() {
        let in_b =
            edges.iter().filter(|(v, _)| b & bit(*v) != 0).fold(U256::ZERO, |a, (v, _)| a.saturating_add(g.stake[*v]));
        if t.den[s].saturating_mul(in_b) >= t.rhs[s] {
            services.push(s);
            prize = prize.saturating_add(g.prize[s]);
        }
    }
    (services, prize)
}

fn attack(g: &Graph, services: &[usize], b: u32, prize: U256, cost: U256) -> Attack {
    let profit =
        if prize >= cost { prize.saturating_sub(cost).to_string() } else { format!("-{}", cost.saturating_sub(prize)) };
    Attack {
        services: services.iter().map(|s| g.service_names[*s].clone()).collect(),
        validators: (0..g.stake.len()).filter(|v| b & bit(*v) != 0).map(|v| g.validator_names[v].clone()).collect(),
        prize: prize.to_string(),
        cost: cost.to_string(),
        profit,
    }
}

fn check_size(g: &Graph, limit: usize) -> Result<(), GraphError> {
    if g.stake.len() > limit {
        return Err(GraphError::TooLargeForExact { validators: g.stake.len(), limit });
    }
    Ok(())
}

/// The exact security check with witness and γ*, by enumerating every validator subset.
pub fn security(g: &Graph) -> Result<SecurityReport, GraphError> {
    check_size(g, SECURITY_LIMIT)?;
    let t = thresholds(g, 0);
    let n = g.stake.len();
    // (prize, cost, B, A) of the most profitable coalition and of the lowest σ_B/π_A.
    let mut best: Option<(U256, U256, u32, Vec<usize>)> = None;
    let mut tightest: Option<(U256, U256)> = None;
    for b in 0..(1u32 << n) {
        let (services, prize) = best_services(g, &t, b);
        if services.is_empty() {
            continue;
        }
        let cost = stake_of(g, b);
        // prize − cost > best_prize − best_cost  ⇔  prize + best_cost > best_prize + cost
        let better = best.as_ref().is_none_or(|(bp, bc, _, _)| prize.saturating_add(*bc) > bp.saturating_add(cost));
        if better {
            best = Some((prize, cost, b, services));
        }
        // cost/prize < tc/tp  ⇔  cost·tp < tc·prize
        if tightest.is_none_or(|(tp, tc)| cost.saturating_mul(tp) < tc.saturating_mul(prize)) {
            tightest = Some((prize, cost));
        }
    }
    let secure = best.as_ref().is_none_or(|(p, c, _, _)| p <= c);
    let slack = tightest.map(|(p, c)| {
        // Arbitrary precision: cannot overflow; p > 0 because every prize is positive.
        #[allow(clippy::arithmetic_side_effects)]
        let r = BigRational::new(big(c), big(p)) - BigRational::from_integer(BigInt::from(1));
        Exact::from(&r)
    });
    Ok(SecurityReport { secure, best_attack: best.map(|(p, c, b, a)| attack(g, &a, b, p, c)), slack })
}

/// The worst-case loss L_ψ: the largest σ_D + σ_B over shocks D with σ_D ≤ ψ·σ_V and valid
/// attacks (A*(B), B) on G↓D, by enumerating every disjoint (D, B).
pub fn worst_case_loss(g: &Graph, psi: Ratio) -> Result<LossReport, GraphError> {
    check_size(g, LOSS_LIMIT)?;
    let n = g.stake.len();
    let total = g.total_stake();
    let budget = U256::from(psi.num).saturating_mul(total);
    let full = (1u32 << n).saturating_sub(1);
    // (σ_D + σ_B, σ_B, D, B, A, π_A)
    let mut worst: (U256, U256, u32, u32, Vec<usize>, U256) = (U256::ZERO, U256::ZERO, 0, 0, Vec::new(), U256::ZERO);
    for d in 0..=full {
        let shock = stake_of(g, d);
        if U256::from(psi.den).saturating_mul(shock) > budget {
            continue;
        }
        let t = thresholds(g, d);
        let rest = full & !d;
        // Every B ⊆ V \ D, including the empty attack.
        let mut b = rest;
        loop {
            let (services, prize) = best_services(g, &t, b);
            let cost = stake_of(g, b);
            let valid = !services.is_empty() && prize > cost;
            let lost = if valid { shock.saturating_add(cost) } else { shock };
            if lost > worst.0 {
                let (cost, b, services, prize) =
                    if valid { (cost, b, services, prize) } else { (U256::ZERO, 0, Vec::new(), U256::ZERO) };
                worst = (lost, cost, d, b, services, prize);
            }
            if b == 0 {
                break;
            }
            b = (b.saturating_sub(1)) & rest;
        }
    }
    let (lost, attack_cost, d, b, services, prize) = worst;
    let ratio = |x: U256| Exact::from(&BigRational::new(big(x), big(total)));
    Ok(LossReport {
        psi,
        loss: ratio(lost),
        attack_loss: ratio(attack_cost),
        shock: (0..n).filter(|v| d & bit(*v) != 0).map(|v| g.validator_names[v].clone()).collect(),
        attack: (!services.is_empty()).then(|| attack(g, &services, b, prize, attack_cost)),
    })
}
