//! The restaking graph G = (S, V, E, π, σ, α) of Durvasula and Roughgarden, with per-edge
//! allocations for the elastic and unique-stake models.

use std::collections::BTreeMap;

use cairn_primitives::{U256, parse_amount};
use serde::{Deserialize, Serialize};

/// A rational in (0, 1], written `"p/q"` (or `"1"`), used for corruption thresholds α.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (non-zero).
    pub den: u64,
}

impl TryFrom<String> for Ratio {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let (n, d) = s.split_once('/').unwrap_or((s.as_str(), "1"));
        let num = n.trim().parse().map_err(|_| format!("bad numerator in {s:?}"))?;
        let den = d.trim().parse().map_err(|_| format!("bad denominator in {s:?}"))?;
        Ok(Ratio { num, den })
    }
}

impl From<Ratio> for String {
    fn from(r: Ratio) -> String {
        format!("{}/{}", r.num, r.den)
    }
}

/// A graph as written in a document: nodes by name, amounts as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// Validators (operators) with their stake σ_v.
    pub validators: Vec<ValidatorSpec>,
    /// Services with profit from corruption π_s and threshold α_s.
    pub services: Vec<ServiceSpec>,
    /// Which validator secures which service, and with how much stake (elastic / unique models).
    pub edges: Vec<EdgeSpec>,
}

/// A validator in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Unique name.
    pub name: String,
    /// Stake σ_v (integer base units).
    pub stake: String,
}

/// A service in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique name.
    pub name: String,
    /// Profit from corruption π_s (integer base units).
    pub prize: String,
    /// Fraction α_s of the service's stake needed to corrupt it, in (0, 1].
    pub threshold: Ratio,
}

/// An edge in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// Service name.
    pub service: String,
    /// Validator name.
    pub validator: String,
    /// Stake the validator allocates to the service (defaults to its whole stake).
    #[serde(default)]
    pub allocation: Option<String>,
}

/// Why a graph was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A name used twice (validators and services share one namespace).
    #[error("name {name:?} is used twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// An amount that is not a non-negative integer.
    #[error("{field} of {name:?} is not an amount: {value:?}")]
    BadAmount {
        /// Which field.
        field: &'static str,
        /// Node name.
        name: String,
        /// The text.
        value: String,
    },
    /// Zero stake.
    #[error("validator {name:?} has zero stake")]
    ZeroStake {
        /// The validator.
        name: String,
    },
    /// Zero profit from corruption.
    #[error("service {name:?} has zero profit from corruption")]
    ZeroPrize {
        /// The service.
        name: String,
    },
    /// α outside (0, 1].
    #[error("threshold {num}/{den} of service {name:?} is outside (0, 1]")]
    ThresholdOutOfRange {
        /// The service.
        name: String,
        /// Numerator.
        num: u64,
        /// Denominator.
        den: u64,
    },
    /// An edge names an unknown node.
    #[error("edge names unknown {kind} {name:?}")]
    UnknownNode {
        /// "validator" or "service".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The same edge twice.
    #[error("edge {service:?}–{validator:?} appears twice")]
    DuplicateEdge {
        /// Service.
        service: String,
        /// Validator.
        validator: String,
    },
    /// An allocation larger than the validator's stake (or zero).
    #[error("allocation {allocation} of {validator:?} to {service:?} is zero or above its stake {stake}")]
    BadAllocation {
        /// Service.
        service: String,
        /// Validator.
        validator: String,
        /// The allocation.
        allocation: U256,
        /// The stake.
        stake: U256,
    },
    /// Too many validators for exact enumeration.
    #[error("{validators} validators exceed the exact-enumeration limit of {limit}")]
    TooLargeForExact {
        /// Validators in the graph.
        validators: usize,
        /// The limit.
        limit: usize,
    },
    /// Sums exceed 256 bits.
    #[error("stakes or prizes too large: sums overflow 256 bits")]
    Overflow,
}

/// A validated graph with adjacency by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Validator names.
    pub validator_names: Vec<String>,
    /// σ_v.
    pub stake: Vec<U256>,
    /// Service names.
    pub service_names: Vec<String>,
    /// π_s.
    pub prize: Vec<U256>,
    /// α_s.
    pub threshold: Vec<Ratio>,
    /// For each service, its validators with their allocations w(v, s).
    pub service_edges: Vec<Vec<(usize, U256)>>,
    /// For each validator, its services.
    pub validator_edges: Vec<Vec<usize>>,
}

fn amount(field: &'static str, name: &str, value: &str) -> Result<U256, GraphError> {
    parse_amount(value).ok_or_else(|| GraphError::BadAmount { field, name: name.to_string(), value: value.to_string() })
}

impl Graph {
    /// Validates a document into a graph.
    pub fn from_spec(spec: &GraphSpec) -> Result<Self, GraphError> {
        let mut names: BTreeMap<&str, (bool, usize)> = BTreeMap::new();
        let mut g = Graph {
            validator_names: Vec::new(),
            stake: Vec::new(),
            service_names: Vec::new(),
            prize: Vec::new(),
            threshold: Vec::new(),
            service_edges: vec![Vec::new(); spec.services.len()],
            validator_edges: vec![Vec::new(); spec.validators.len()],
        };
        for (i, v) in spec.validators.iter().enumerate() {
            if names.insert(&v.name, (true, i)).is_some() {
                return Err(GraphError::DuplicateName { name: v.name.clone() });
            }
            let stake = amount("stake", &v.name, &v.stake)?;
            if stake.is_zero() {
                return Err(GraphError::ZeroStake { name: v.name.clone() });
            }
            g.validator_names.push(v.name.clone());
            g.stake.push(stake);
        }
        for (i, s) in spec.services.iter().enumerate() {
            if names.insert(&s.name, (false, i)).is_some() {
                return Err(GraphError::DuplicateName { name: s.name.clone() });
            }
            let prize = amount("prize", &s.name, &s.prize)?;
            if prize.is_zero() {
                return Err(GraphError::ZeroPrize { name: s.name.clone() });
            }
            let Ratio { num, den } = s.threshold;
            if num == 0 || den == 0 || num > den {
                return Err(GraphError::ThresholdOutOfRange { name: s.name.clone(), num, den });
            }
            g.service_names.push(s.name.clone());
            g.prize.push(prize);
            g.threshold.push(s.threshold);
        }
        for e in &spec.edges {
            let unknown = |kind, name: &str| GraphError::UnknownNode { kind, name: name.to_string() };
            let s = match names.get(e.service.as_str()) {
                Some((false, i)) => *i,
                _ => return Err(unknown("service", &e.service)),
            };
            let v = match names.get(e.validator.as_str()) {
                Some((true, i)) => *i,
                _ => return Err(unknown("validator", &e.validator)),
            };
            if g.validator_edges[v].contains(&s) {
                return Err(GraphError::DuplicateEdge { service: e.service.clone(), validator: e.validator.clone() });
            }
            let stake = g.stake[v];
            let w = match &e.allocation {
                Some(a) => amount("allocation", &e.validator, a)?,
                None => stake,
            };
            if w.is_zero() || w > stake {
                return Err(GraphError::BadAllocation {
                    service: e.service.clone(),
                    validator: e.validator.clone(),
                    allocation: w,
                    stake,
                });
            }
            g.service_edges[s].push((v, w));
            g.validator_edges[v].push(s);
        }
        // Every sum the engine forms must fit in 256 bits (with room for cross-multiplication).
        let total = g.stake.iter().try_fold(U256::ZERO, |a, b| a.checked_add(*b)).ok_or(GraphError::Overflow)?;
        let prizes = g.prize.iter().try_fold(U256::ZERO, |a, b| a.checked_add(*b)).ok_or(GraphError::Overflow)?;
        if total.bit_len() > 120 || prizes.bit_len() > 120 {
            return Err(GraphError::Overflow);
        }
        Ok(g)
    }

    /// Parses and validates a JSON document.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let spec: GraphSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Graph::from_spec(&spec).map_err(|e| e.to_string())
    }

    /// σ_V, the total stake.
    pub fn total_stake(&self) -> U256 {
        self.stake.iter().fold(U256::ZERO, |a, b| a.saturating_add(*b))
    }

    /// σ_{N(s)}: the whole stake of the validators on service `s` (pooled model).
    pub fn service_stake(&self, s: usize) -> U256 {
        self.service_edges[s].iter().fold(U256::ZERO, |a, (v, _)| a.saturating_add(self.stake[*v]))
    }
}
