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
pub const SECURITY_LIMIT: usize = 26;
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
    /// π_A > σ_B: a valid attack (ties are not).
    pub profitable: bool,
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
    let validators: Vec<usize> = (0..g.stake.len()).filter(|v| b & bit(*v) != 0).collect();
    attack_of(g, services, &validators, prize, cost)
}

/// An attack given by validator indices (for searches that do not use bitmasks).
pub(crate) fn attack_of(g: &Graph, services: &[usize], validators: &[usize], prize: U256, cost: U256) -> Attack {
    Attack {
        services: services.iter().map(|s| g.service_names[*s].clone()).collect(),
        validators: validators.iter().map(|v| g.validator_names[*v].clone()).collect(),
        prize: g.show(prize),
        cost: g.show(cost),
        profit: g.show_signed(prize, cost),
        profitable: prize > cost && !services.is_empty(),
    }
}

fn check_size(g: &Graph, limit: usize) -> Result<(), GraphError> {
    if g.stake.len() > limit {
        return Err(GraphError::TooLargeForExact { validators: g.stake.len(), limit });
    }
    Ok(())
}

/// Thresholds in stake units: B meets s iff σ_{B∩N(s)} ≥ ⌈α_s·σ_{N(s)}⌉ (exact, because the
/// left side is an integer). Graph validation keeps every stake sum below 2^120, so u128 holds.
fn stake_thresholds(g: &Graph) -> Vec<u128> {
    (0..g.prize.len())
        .map(|s| {
            let t = g.threshold[s];
            let need = U256::from(t.num).saturating_mul(g.service_stake(s));
            let den = U256::from(t.den);
            let (q, r) = need.div_rem(den);
            let q = if r.is_zero() { q } else { q.saturating_add(U256::from(1u8)) };
            u128::try_from(q).unwrap_or(u128::MAX)
        })
        .collect()
}

fn small(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// The exact security check with witness and γ*, by enumerating every validator subset in Gray
/// code order (one validator toggled per step, sums updated incrementally).
pub fn security(g: &Graph) -> Result<SecurityReport, GraphError> {
    check_size(g, SECURITY_LIMIT)?;
    let n = g.stake.len();
    let need = stake_thresholds(g);
    let stake: Vec<u128> = g.stake.iter().map(|s| small(*s)).collect();
    let prize: Vec<u128> = g.prize.iter().map(|p| small(*p)).collect();
    let masks: Vec<u32> = (0..n).map(bit).collect();
    let mut in_b = vec![0u128; prize.len()];
    // Services whose threshold B meets (A*(B)), kept incrementally: count and Σπ.
    let mut met = vec![false; prize.len()];
    let (mut met_count, mut total) = (0usize, 0u128);
    for s in 0..prize.len() {
        if need[s] == 0 {
            // A service without stake is met by the empty set.
            met[s] = true;
            met_count = met_count.saturating_add(1);
            total = total.saturating_add(prize[s]);
        }
    }
    let mut cost = 0u128;
    let mut b = 0u32;
    // (prize, cost, B) of the most profitable coalition, and (prize, cost) of the lowest σ_B/π_A.
    let mut best: Option<(u128, u128, u32)> = None;
    let mut tightest: Option<(u128, u128)> = None;
    let steps = 1u64.checked_shl(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(0);
    for i in 0..steps {
        if i > 0 {
            // Gray code: step i flips validator trailing_zeros(i); only its services change.
            let v = i.trailing_zeros() as usize;
            let on = b & masks[v] == 0;
            b ^= masks[v];
            cost = if on { cost.saturating_add(stake[v]) } else { cost.saturating_sub(stake[v]) };
            for &s in &g.validator_edges[v] {
                in_b[s] = if on { in_b[s].saturating_add(stake[v]) } else { in_b[s].saturating_sub(stake[v]) };
                let now = in_b[s] >= need[s];
                if now != met[s] {
                    met[s] = now;
                    if now {
                        met_count = met_count.saturating_add(1);
                        total = total.saturating_add(prize[s]);
                    } else {
                        met_count = met_count.saturating_sub(1);
                        total = total.saturating_sub(prize[s]);
                    }
                }
            }
        }
        if met_count == 0 {
            continue;
        }
        // prize − cost > best_prize − best_cost  ⇔  prize + best_cost > best_prize + cost
        if best.is_none_or(|(bp, bc, _)| total.saturating_add(bc) > bp.saturating_add(cost)) {
            best = Some((total, cost, b));
        }
        // cost/prize < tc/tp  ⇔  cost·tp < tc·prize: in u128 when both products fit, else in
        // 256 bits (exact either way).
        let lower = |(tp, tc): (u128, u128)| match (cost.checked_mul(tp), tc.checked_mul(total)) {
            (Some(l), Some(r)) => l < r,
            _ => U256::from(cost).saturating_mul(U256::from(tp)) < U256::from(tc).saturating_mul(U256::from(total)),
        };
        if tightest.is_none_or(lower) {
            tightest = Some((total, cost));
        }
    }
    let secure = best.is_none_or(|(p, c, _)| p <= c);
    let slack = tightest.map(|(p, c)| {
        // Arbitrary precision: cannot overflow; p > 0 because every prize is positive.
        #[allow(clippy::arithmetic_side_effects)]
        let r = BigRational::new(BigInt::from(c), BigInt::from(p)) - BigRational::from_integer(BigInt::from(1));
        Exact::from(&r)
    });
    let best_attack = best.map(|(p, c, b)| {
        let (services, _) = best_services(g, &thresholds(g, 0), b);
        attack(g, &services, b, U256::from(p), U256::from(c))
    });
    Ok(SecurityReport { secure, best_attack, slack })
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
    // A graph without stake loses nothing (and has no ratio to divide by).
    let ratio = |x: U256| {
        if total.is_zero() {
            Exact::from(&BigRational::from_integer(BigInt::from(0)))
        } else {
            Exact::from(&BigRational::new(big(x), big(total)))
        }
    };
    Ok(LossReport {
        psi,
        loss: ratio(lost),
        attack_loss: ratio(attack_cost),
        shock: (0..n).filter(|v| d & bit(*v) != 0).map(|v| g.validator_names[v].clone()).collect(),
        attack: (!services.is_empty()).then(|| attack(g, &services, b, prize, attack_cost)),
    })
}

/// The exact loss of a given shock D and attack B (validator indices): σ_D + σ_B over σ_V when
/// B is a valid attack on G↓D (else σ_D alone); none when σ_D exceeds ψ·σ_V.
pub(crate) fn loss_of(g: &Graph, psi: Ratio, shock: &[usize], attackers: &[usize]) -> Option<LossReport> {
    let sum = |vs: &[usize]| vs.iter().fold(U256::ZERO, |a, v| a.saturating_add(g.stake[*v]));
    let (total, lost_to_shock, cost) = (g.total_stake(), sum(shock), sum(attackers));
    if U256::from(psi.den).saturating_mul(lost_to_shock) > U256::from(psi.num).saturating_mul(total) {
        return None;
    }
    let mut services = Vec::new();
    let mut prize = U256::ZERO;
    for (s, edges) in g.service_edges.iter().enumerate() {
        let of = |set: &[usize]| {
            edges.iter().filter(|(v, _)| set.contains(v)).fold(U256::ZERO, |a, (v, _)| a.saturating_add(g.stake[*v]))
        };
        let remaining = g.service_stake(s).saturating_sub(of(shock));
        let t = g.threshold[s];
        if U256::from(t.den).saturating_mul(of(attackers)) >= U256::from(t.num).saturating_mul(remaining) {
            services.push(s);
            prize = prize.saturating_add(g.prize[s]);
        }
    }
    let valid = !attackers.is_empty() && !services.is_empty() && prize > cost;
    let attack_cost = if valid { cost } else { U256::ZERO };
    let ratio = |x: U256| {
        if total.is_zero() {
            Exact::from(&BigRational::from_integer(BigInt::from(0)))
        } else {
            Exact::from(&BigRational::new(big(x), big(total)))
        }
    };
    Some(LossReport {
        psi,
        loss: ratio(lost_to_shock.saturating_add(attack_cost)),
        attack_loss: ratio(attack_cost),
        shock: shock.iter().map(|v| g.validator_names[*v].clone()).collect(),
        attack: valid.then(|| attack_of(g, &services, attackers, prize, cost)),
    })
}
