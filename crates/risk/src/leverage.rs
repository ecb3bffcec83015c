//! The EigenLayer sufficient condition (D&R Claim 1): per-validator leverage
//! ρ_v = Σ_{s∈N(v)} π_s / (α_s · σ_{N(s)}); the network is secure if every ρ_v ≤ 1, and the
//! certified slack γ_EL = min_v 1/ρ_v − 1 bounds the exact slack γ* from below. Exact rationals.

// Arbitrary-precision rationals cannot overflow; divisions are by non-zero constants or by
// denominators checked for zero, so the U256-oriented lint does not apply here.
#![allow(clippy::arithmetic_side_effects)]

use cairn_primitives::U256;
use num_bigint::{BigInt, Sign};
use num_rational::BigRational;
use num_traits::{One, Zero};
use serde::Serialize;

use crate::graph::Graph;

/// A U256 as a big integer.
pub fn big(v: U256) -> BigInt {
    BigInt::from_bytes_be(Sign::Plus, &v.to_be_bytes::<32>())
}

/// A rational printed exactly (`"p/q"`) and approximately (for people; never used to decide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exact {
    /// Exact value, reduced, as `p/q` (or `p`).
    pub exact: String,
    /// Decimal approximation for display.
    pub approx: String,
}

impl From<&BigRational> for Exact {
    fn from(r: &BigRational) -> Self {
        let exact = if r.denom().is_one() { r.numer().to_string() } else { format!("{}/{}", r.numer(), r.denom()) };
        // Six decimals, rounded toward zero, computed in integers.
        let scaled = (r * BigRational::from_integer(BigInt::from(1_000_000))).to_integer();
        let (sign, mag) = if scaled < BigInt::zero() { ("-", -scaled) } else { ("", scaled) };
        let million = BigInt::from(1_000_000);
        let approx = format!("{sign}{}.{:06}", &mag / &million, &mag % &million);
        Exact { exact, approx }
    }
}

/// One validator's leverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatorLeverage {
    /// Validator name.
    pub validator: String,
    /// ρ_v.
    pub rho: Exact,
    /// Whether ρ_v > 1.
    pub over_leveraged: bool,
}

/// The EigenLayer condition over the whole graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeverageReport {
    /// Per validator, in input order.
    pub validators: Vec<ValidatorLeverage>,
    /// Services no validator secures: free to corrupt whatever the leverage (ρ = ∞).
    pub unsecured_services: Vec<String>,
    /// Whether every ρ_v ≤ 1 and every service has stake (then the network is secure).
    pub condition_holds: bool,
    /// γ_EL = min_v 1/ρ_v − 1 over validators with services, a lower bound on γ* (none if no
    /// validator has a service, or if some service has no stake).
    pub certified_slack: Option<Exact>,
}

/// ρ_v for every validator, exactly.
pub fn rhos(g: &Graph) -> Vec<BigRational> {
    let per_service = rates(g);
    g.validator_edges.iter().map(|services| services.iter().map(|s| per_service[*s].clone()).sum()).collect()
}

/// Each service's prize per unit of the stake needed to corrupt it, `π_s / (α_s σ_N(s))` (zero for
/// a service without stake).
pub(crate) fn rates(g: &Graph) -> Vec<BigRational> {
    (0..g.prize.len())
        .map(|s| {
            let t = g.threshold[s];
            let stake = big(g.service_stake(s));
            // π_s / (α_s σ_N(s)) = π_s · den / (num · σ_N(s)); a service without stake has no
            // validator, so its term never appears in a sum.
            let denom = BigInt::from(t.num) * stake;
            if denom.is_zero() {
                BigRational::zero()
            } else {
                BigRational::new(big(g.prize[s]) * BigInt::from(t.den), denom)
            }
        })
        .collect()
}

/// The EigenLayer condition, leverage per validator and the certified slack.
pub fn leverage(g: &Graph) -> LeverageReport {
    let rhos = rhos(g);
    let one = BigRational::one();
    let validators = rhos
        .iter()
        .zip(&g.validator_names)
        .map(|(r, name)| ValidatorLeverage { validator: name.clone(), rho: r.into(), over_leveraged: *r > one })
        .collect();
    let max_rho = rhos.iter().filter(|r| !r.is_zero()).max().cloned();
    let unsecured_services: Vec<String> =
        (0..g.prize.len()).filter(|s| g.service_stake(*s).is_zero()).map(|s| g.service_names[s].clone()).collect();
    let unsecured_services_empty = unsecured_services.is_empty();
    LeverageReport {
        validators,
        condition_holds: unsecured_services.is_empty() && rhos.iter().all(|r| *r <= one),
        unsecured_services,
        // Only meaningful when every service has stake: a free service has no finite bound.
        certified_slack: max_rho.filter(|_| unsecured_services_empty).map(|m| Exact::from(&(m.recip() - one))),
    }
}
