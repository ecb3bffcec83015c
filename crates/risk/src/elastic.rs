//! The elastic model of Bar-Zur and Eyal, symmetric case (reference §4.4): n validators of stake
//! σ, S services of prize π and threshold θ, restaking degree d spread evenly, an optional base
//! service every validator backs in full, an attacker budget L, and h Byzantine services that
//! slash everything allocated to them (the remaining stake stretches over the rest).
//!
//! All arithmetic is exact (rationals). Tie convention, pinned: the network is secure iff the
//! best attack profit is ≤ −L (with L = 0, a profit of exactly 0 is secure, as in D&R).

#![allow(clippy::arithmetic_side_effects)] // arbitrary-precision rationals cannot overflow

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use crate::graph::Ratio;

/// A fully symmetric elastic network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symmetric {
    /// n, validators.
    pub validators: u64,
    /// S, services (besides the base).
    pub services: u64,
    /// σ, each validator's stake.
    pub stake: BigRational,
    /// π, each service's prize.
    pub prize: BigRational,
    /// θ, the attack threshold of every service (and of the base).
    pub threshold: Ratio,
    /// d, the restaking degree (with a base, d − 1 is spread over the services).
    pub degree: BigRational,
    /// π_0 of the base service, if there is one.
    pub base_prize: Option<BigRational>,
    /// L, what the attacker is willing to lose.
    pub budget: BigRational,
}

/// Why a symmetric network was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymmetricError {
    /// No validators or services, or θ outside (0, 1].
    #[error("need n ≥ 1, S ≥ 1 and θ in (0, 1]; got n = {validators}, S = {services}, θ = {num}/{den}")]
    Shape {
        /// n.
        validators: u64,
        /// S.
        services: u64,
        /// θ numerator.
        num: u64,
        /// θ denominator.
        den: u64,
    },
    /// Stake, prize or budget negative, or a degree outside what the allocation allows.
    #[error("{0}")]
    Value(String),
}

fn int(v: u64) -> BigRational {
    BigRational::from_integer(BigInt::from(v))
}

impl Symmetric {
    /// Validates the shape and values.
    pub fn validate(&self) -> Result<(), SymmetricError> {
        let Ratio { num, den } = self.threshold;
        if self.validators == 0 || self.services == 0 || num == 0 || den == 0 || num > den {
            return Err(SymmetricError::Shape { validators: self.validators, services: self.services, num, den });
        }
        let zero = BigRational::zero();
        if self.stake <= zero
            || self.prize <= zero
            || self.budget < zero
            || self.base_prize.as_ref().is_some_and(|p| *p <= zero)
        {
            return Err(SymmetricError::Value("stake and prizes must be positive, the budget non-negative".into()));
        }
        let spread = self.spread_degree();
        if spread < zero || spread > int(self.services) {
            return Err(SymmetricError::Value(format!(
                "degree {} leaves {spread} for {} services",
                self.degree, self.services
            )));
        }
        Ok(())
    }

    /// The part of the degree spread over the services (d, or d − 1 with a base).
    fn spread_degree(&self) -> BigRational {
        if self.base_prize.is_some() { &self.degree - BigRational::one() } else { self.degree.clone() }
    }

    /// The best attack profit when `byzantine` services have turned Byzantine and slashed
    /// everything allocated to them: max over k attacked services and the base (b) of
    /// prize(k, b) − cost(k, b), with (k, b) ≠ (0, 0); none if nothing is left to attack.
    pub fn best_profit(&self, byzantine: u64) -> Option<BigRational> {
        let n = int(self.validators);
        let theta = BigRational::new(BigInt::from(self.threshold.num), BigInt::from(self.threshold.den));
        let m = (&n * &theta).floor();
        let f = &n * &theta - &m;
        let a = self.spread_degree() * &self.stake / int(self.services);
        let zero = BigRational::zero();
        let stake = (&self.stake - int(byzantine) * &a).max(zero.clone());
        let a = a.min(stake.clone());
        let left = self.services.saturating_sub(byzantine);
        let bases: &[u64] = if self.base_prize.is_some() { &[0, 1] } else { &[0] };
        let mut best: Option<BigRational> = None;
        for k in 0..=left {
            for &b in bases {
                if k == 0 && b == 0 {
                    continue;
                }
                let exposed = int(k) * &a + int(b) * &stake;
                let full = (&stake).min(&exposed).clone();
                let partial = if f.is_zero() { zero.clone() } else { (&stake).min(&(&f * &exposed)).clone() };
                let cost = &m * full + partial;
                let prize =
                    int(k) * &self.prize + self.base_prize.clone().filter(|_| b == 1).unwrap_or_else(BigRational::zero);
                let profit = prize - cost;
                best = Some(best.map_or(profit.clone(), |x| x.max(profit)));
            }
        }
        best
    }

    /// Secure after `byzantine` Byzantine services: best profit ≤ −L.
    pub fn secure(&self, byzantine: u64) -> bool {
        self.best_profit(byzantine).is_none_or(|p| p <= -self.budget.clone())
    }

    /// Robustness: the smallest number of Byzantine services that makes the network insecure
    /// (equal weights, so the fraction is that over S); none if it survives all of them.
    pub fn robustness(&self) -> Option<u64> {
        (0..=self.services).find(|h| !self.secure(*h))
    }

    /// The minimum stake per validator for security with no Byzantine service and L = 0:
    /// max over (k, b) of prize / cost at σ = 1 (everything scales linearly in σ).
    pub fn min_secure_stake(&self) -> Option<BigRational> {
        let unit = Symmetric { stake: BigRational::one(), budget: BigRational::zero(), ..self.clone() };
        // cost(k, b) at σ = 1 is prize − profit.
        let n = int(self.validators);
        let theta = BigRational::new(BigInt::from(self.threshold.num), BigInt::from(self.threshold.den));
        let m = (&n * &theta).floor();
        let f = &n * &theta - &m;
        let a = unit.spread_degree() / int(self.services);
        let bases: &[u64] = if self.base_prize.is_some() { &[0, 1] } else { &[0] };
        let mut best: Option<BigRational> = None;
        for k in 0..=self.services {
            for &b in bases {
                if k == 0 && b == 0 {
                    continue;
                }
                let exposed = int(k) * &a + int(b);
                let one = BigRational::one();
                let cost = &m * (&one).min(&exposed).clone()
                    + if f.is_zero() { BigRational::zero() } else { one.min(&f * &exposed) };
                if cost.is_zero() {
                    return None; // free to attack at any stake
                }
                let prize =
                    int(k) * &self.prize + self.base_prize.clone().filter(|_| b == 1).unwrap_or_else(BigRational::zero);
                let ratio = prize / cost;
                best = Some(best.map_or(ratio.clone(), |x| x.max(ratio)));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    fn net(n: u64, s: u64, stake: BigRational, theta: (u64, u64), degree: BigRational) -> Symmetric {
        Symmetric {
            validators: n,
            services: s,
            stake,
            prize: q(1, 1),
            threshold: Ratio { num: theta.0, den: theta.1 },
            degree,
            base_prize: None,
            budget: q(0, 1),
        }
    }

    #[test]
    fn el1_reference_example() {
        // 3 validators σ = 2 on 3 services π = 1, θ = 1/2, full allocation (d = 3): secure with
        // best profit −1; one Byzantine service slashes every stake to 0, then +2 for the rest.
        let g = net(3, 3, q(2, 1), (1, 2), q(3, 1));
        g.validate().unwrap();
        assert_eq!(g.best_profit(0), Some(q(-1, 1)));
        assert!(g.secure(0));
        assert_eq!(g.best_profit(1), Some(q(2, 1)));
        assert_eq!(g.robustness(), Some(1));
    }

    #[test]
    fn minimum_secure_stake_matches_the_closed_form() {
        // n = S = 10, θ = 1/3: σ_min = 10 / (3 + min(d/3, 1)).
        for d in [q(1, 1), q(3, 2), q(2, 1), q(3, 1), q(6, 1), q(9, 1)] {
            let g = net(10, 10, q(1, 1), (1, 3), d.clone());
            let expected = q(10, 1) / (q(3, 1) + (d.clone() / q(3, 1)).min(q(1, 1)));
            assert_eq!(g.min_secure_stake(), Some(expected), "d = {d}");
        }
    }

    /// The explicit network of a symmetric one: every validator allocates a = dσ/S to each service.
    fn explicit(n: u64, s: u64, stake: u64, prize: u64, theta: &str, degree_num: u64) -> crate::graph::Graph {
        let a = degree_num * stake / s;
        let v: Vec<String> = (0..n).map(|i| format!(r#"{{"name":"v{i}","stake":"{stake}"}}"#)).collect();
        let sv: Vec<String> =
            (0..s).map(|j| format!(r#"{{"name":"s{j}","prize":"{prize}","threshold":"{theta}"}}"#)).collect();
        let e: Vec<String> = (0..s)
            .flat_map(|j| (0..n).map(move |i| format!(r#"{{"service":"s{j}","validator":"v{i}","allocation":"{a}"}}"#)))
            .collect();
        crate::graph::Graph::from_json(&format!(
            r#"{{"validators":[{}],"services":[{}],"edges":[{}]}}"#,
            v.join(","),
            sv.join(","),
            e.join(",")
        ))
        .unwrap()
    }

    #[test]
    fn explicit_elastic_milp_matches_the_closed_form() {
        // n = S = 3, θ ∈ {1/3, 1/2}, σ = 6, π = 4, d ∈ {1, 2, 3}: the MILP on the explicit network
        // and the closed form agree (the reference's own cross-check, §4.4).
        for (theta, (tn, td)) in [("1/3", (1, 3)), ("1/2", (1, 2))] {
            for d in 1..=3u64 {
                let sym = Symmetric {
                    validators: 3,
                    services: 3,
                    stake: q(6, 1),
                    prize: q(4, 1),
                    threshold: Ratio { num: tn, den: td },
                    degree: q(d as i64, 1),
                    base_prize: None,
                    budget: q(0, 1),
                };
                let closed = sym.best_profit(0).unwrap();
                let milp = crate::milp::elastic_best_profit(&explicit(3, 3, 6, 4, theta, d)).unwrap();
                let closed_f: f64 = closed.numer().to_string().parse::<f64>().unwrap()
                    / closed.denom().to_string().parse::<f64>().unwrap();
                assert!((milp - closed_f).abs() < 1e-6, "θ = {theta}, d = {d}: MILP {milp} vs closed form {closed}");
            }
        }
    }

    #[test]
    fn explicit_robustness_matches_el1() {
        // EL-1 explicit: 3 validators σ = 2, every edge w = 2, 3 services π = 1, θ = 1/2. Secure
        // (best −1); one Byzantine service zeroes every stake, so robustness is 1/3.
        let g = explicit(3, 3, 2, 1, "1/2", 3);
        assert!((crate::milp::elastic_best_profit(&g).unwrap() - (-1.0)).abs() < 1e-6);
        let (fraction, byzantine) = crate::milp::elastic_robustness(&g, 0.0).unwrap().unwrap();
        assert_eq!(fraction.exact, "1/3");
        assert_eq!(byzantine.len(), 1);
    }

    #[test]
    fn budget_and_refusals() {
        let g = net(3, 3, q(2, 1), (1, 2), q(3, 1));
        // Best profit −1: secure while −1 ≤ −L, i.e. for a budget up to 1 (ties are secure).
        assert!(Symmetric { budget: q(1, 1), ..g.clone() }.secure(0));
        assert!(!Symmetric { budget: q(3, 2), ..g.clone() }.secure(0));
        assert!(Symmetric { validators: 0, ..g.clone() }.validate().is_err());
        assert!(Symmetric { threshold: Ratio { num: 3, den: 2 }, ..g.clone() }.validate().is_err());
        assert!(Symmetric { degree: q(4, 1), ..g.clone() }.validate().is_err());
        assert!(Symmetric { stake: q(0, 1), ..g }.validate().is_err());
    }
}
