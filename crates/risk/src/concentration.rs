//! Concentration of stake: the Herfindahl–Hirschman index and the Nakamoto coefficient, per
//! service (over the stake its validators put behind it) and over the whole network; and the
//! unique-stake (model M3) check per service.

use cairn_primitives::U256;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde::Serialize;

use crate::{
    graph::Graph,
    leverage::{Exact, big},
};

/// Concentration of one stake distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Concentration {
    /// Whose stake: a service name, or `"network"`.
    pub scope: String,
    /// HHI = Σ (share_i)², in (0, 1]; 1 means a single holder.
    pub hhi: Exact,
    /// Fewest holders whose stake together exceeds one third (the BFT halting threshold).
    pub nakamoto_one_third: usize,
    /// Fewest holders whose stake together exceeds one half.
    pub nakamoto_one_half: usize,
}

/// HHI and Nakamoto coefficients of a list of stakes (zero entries ignored).
pub fn concentration(scope: &str, stakes: &[U256]) -> Option<Concentration> {
    let mut sorted: Vec<U256> = stakes.iter().copied().filter(|s| !s.is_zero()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total = sorted.iter().fold(U256::ZERO, |a, b| a.saturating_add(*b));
    #[allow(clippy::arithmetic_side_effects)] // arbitrary precision
    let hhi = {
        let t = big(total);
        let squares: BigInt = sorted.iter().map(|s| big(*s) * big(*s)).sum();
        BigRational::new(squares, &t * &t)
    };
    // Smallest k with 3·(top k) > total (resp. 2·(top k) > total); cross-multiplied, exact.
    let nakamoto = |num: u8| {
        let mut acc = U256::ZERO;
        sorted
            .iter()
            .position(|s| {
                acc = acc.saturating_add(*s);
                acc.saturating_mul(U256::from(num)) > total
            })
            .map_or(sorted.len(), |i| i.saturating_add(1))
    };
    Some(Concentration {
        scope: scope.to_string(),
        hhi: Exact::from(&hhi),
        nakamoto_one_third: nakamoto(3),
        nakamoto_one_half: nakamoto(2),
    })
}

/// Concentration per service (allocations behind it) and over the network (all stake).
pub fn concentrations(g: &Graph) -> Vec<Concentration> {
    let mut out: Vec<Concentration> = (0..g.prize.len())
        .filter_map(|s| {
            let w: Vec<U256> = g.service_edges[s].iter().map(|(_, w)| *w).collect();
            concentration(&g.service_names[s], &w)
        })
        .collect();
    out.extend(concentration("network", &g.stake));
    out
}

/// The unique-stake (M3) verdict for one service: the cheapest corruption of divisible allocated
/// stake is θ_s·W_s, so the service is secure iff π_s ≤ θ_s·W_s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UniqueStakeCheck {
    /// Service name.
    pub service: String,
    /// W_s, the stake allocated to it.
    pub allocated: String,
    /// θ_s·W_s, the cost of corruption.
    pub cost_of_corruption: Exact,
    /// π_s, the profit from corruption.
    pub profit_from_corruption: String,
    /// π_s ≤ θ_s·W_s.
    pub secure: bool,
}

/// The M3 check for every service: decomposes service by service, since a unit of unique stake
/// is slashable by one service only.
pub fn unique_stake(g: &Graph) -> Vec<UniqueStakeCheck> {
    (0..g.prize.len())
        .map(|s| {
            let w = g.service_edges[s].iter().fold(U256::ZERO, |a, (_, w)| a.saturating_add(*w));
            let t = g.threshold[s];
            // π ≤ num·W/den  ⇔  π·den ≤ num·W (all below 2^190, no overflow).
            let secure = g.prize[s].saturating_mul(U256::from(t.den)) <= w.saturating_mul(U256::from(t.num));
            let coc = BigRational::new(big(w.saturating_mul(U256::from(t.num))), BigInt::from(t.den));
            UniqueStakeCheck {
                service: g.service_names[s].clone(),
                allocated: w.to_string(),
                cost_of_corruption: Exact::from(&coc),
                profit_from_corruption: g.prize[s].to_string(),
                secure,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    #[test]
    fn hhi_and_nakamoto() {
        let c = concentration("x", &[u(50), u(30), u(20)]).unwrap();
        // 0.25 + 0.09 + 0.04 = 0.38
        assert_eq!(c.hhi.exact, "19/50");
        assert_eq!(c.nakamoto_one_third, 1); // 50 > 100/3
        assert_eq!(c.nakamoto_one_half, 2); // 50 is not > 50; 80 is
        let single = concentration("y", &[u(7), u(0)]).unwrap();
        assert_eq!((single.hhi.exact.as_str(), single.nakamoto_one_half), ("1", 1));
        let even = concentration("z", &[u(1); 6]).unwrap();
        assert_eq!((even.hhi.exact.as_str(), even.nakamoto_one_third, even.nakamoto_one_half), ("1/6", 3, 4));
        assert!(concentration("none", &[]).is_none());
    }
}
