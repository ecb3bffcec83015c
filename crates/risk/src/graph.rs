//! The restaking graph G = (S, V, E, π, σ, α) of Durvasula and Roughgarden, with per-edge
//! allocations for the elastic and unique-stake models.

use std::collections::BTreeMap;

use cairn_primitives::{U256, parse_amount};
use serde::{Deserialize, Serialize};

/// A rational such as a corruption threshold α or a shock ψ, written `"p/q"`, as a decimal
/// (`"0.5"`, `0.5`) or as an integer (`"1"`); reduced when read from a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RatioText", into = "String")]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (non-zero).
    pub den: u64,
}

/// A ratio as a document may write it: text or a JSON number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RatioText {
    /// `"2/3"`, `"0.5"`, `"1"`.
    Text(String),
    /// `0.5`, `1`.
    Number(serde_json::Number),
}

impl TryFrom<RatioText> for Ratio {
    type Error = String;

    fn try_from(t: RatioText) -> Result<Self, String> {
        match t {
            RatioText::Text(s) => Ratio::parse(&s),
            RatioText::Number(n) => Ratio::parse(&n.to_string()),
        }
    }
}

impl TryFrom<String> for Ratio {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Ratio::parse(&s)
    }
}

impl Ratio {
    /// Reads `p/q`, an integer or a decimal with at most 18 decimals (`0.05` is 1/20).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if let Some((n, d)) = t.split_once('/') {
            let num = n.trim().parse().map_err(|_| format!("bad numerator in {t:?}"))?;
            let den = d.trim().parse().map_err(|_| format!("bad denominator in {t:?}"))?;
            return Ok(Ratio { num, den });
        }
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = format!("{whole}{frac}");
        let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && frac.len() <= 18;
        let num = if ok { digits.parse::<u64>().ok() } else { None };
        let num = num.ok_or_else(|| format!("{t:?} is not a fraction (2/3) or a decimal (0.5)"))?;
        let den = 10u64.pow(u32::try_from(frac.len()).unwrap_or(0));
        // Reduced by the greatest common divisor (checked: b ≠ 0 and g ≥ 1 make them total).
        let (mut a, mut b) = (num, den);
        while let Some(r) = a.checked_rem(b) {
            (a, b) = (b, r);
        }
        let g = a.max(1);
        Ok(Ratio { num: num.checked_div(g).unwrap_or(num), den: den.checked_div(g).unwrap_or(den) })
    }

    /// The ratio as a float, for display and for floating-point solvers only.
    #[allow(clippy::cast_precision_loss)]
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl From<Ratio> for String {
    fn from(r: Ratio) -> String {
        if r.den == 1 { r.num.to_string() } else { format!("{}/{}", r.num, r.den) }
    }
}

/// Most decimals an amount may have.
pub const MAX_DECIMALS: u32 = 18;

/// An amount as a document writes it: an integer, a decimal (`"1.5"`), scientific (`"32e18"`,
/// `"2.5e-3"`), hex (`"0x10"`) or a JSON number; exactly `digits / 10^decimals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AmountText", into = "String")]
pub struct Amount {
    /// The digits, as an integer.
    pub digits: U256,
    /// Where the decimal point goes (at most [`MAX_DECIMALS`]).
    pub decimals: u32,
}

/// An amount as text or a JSON number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AmountText {
    /// `"1.5"`, `"32e18"`.
    Text(String),
    /// `1.5`, `32`.
    Number(serde_json::Number),
}

impl TryFrom<AmountText> for Amount {
    type Error = String;

    fn try_from(t: AmountText) -> Result<Self, String> {
        match t {
            AmountText::Text(s) => Amount::parse(&s).ok_or_else(|| format!("{s:?} is not an amount")),
            AmountText::Number(n) => Amount::from_number(&n),
        }
    }
}

impl From<U256> for Amount {
    fn from(digits: U256) -> Self {
        Amount { digits, decimals: 0 }
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> String {
        decimal_text(a.digits, a.decimals)
    }
}

/// `digits / 10^decimals` as a decimal without trailing zeros (`1.5`, `32`, `0.001`).
pub fn decimal_text(digits: U256, decimals: u32) -> String {
    let text = digits.to_string();
    let d = decimals as usize;
    if d == 0 {
        return text;
    }
    let padded = format!("{text:0>width$}", width = d.saturating_add(1));
    let (whole, frac) = padded.split_at(padded.len().saturating_sub(d));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { whole.to_string() } else { format!("{whole}.{frac}") }
}

impl Amount {
    /// Reads an amount (see the type); `None` when it is not one or has too many decimals.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.starts_with("0x") {
            return parse_amount(t).map(Amount::from);
        }
        let (mantissa, exp) = match t.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().ok()?),
            None => (t, 0),
        };
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && frac.is_empty() || whole.starts_with(['+', '-']) || frac.starts_with('_') {
            return None;
        }
        let digits = parse_amount(&format!("{}{frac}", if whole.is_empty() { "0" } else { whole }))?;
        let frac_digits = i32::try_from(frac.chars().filter(char::is_ascii_digit).count()).ok()?;
        let decimals = frac_digits.checked_sub(exp)?;
        if decimals <= 0 {
            let scale = U256::from(10u8).checked_pow(U256::from(decimals.unsigned_abs()))?;
            return Some(Amount { digits: digits.checked_mul(scale)?, decimals: 0 });
        }
        let decimals = u32::try_from(decimals).ok()?;
        (decimals <= MAX_DECIMALS).then_some(Amount { digits, decimals })
    }

    /// A JSON number: integers exactly; fractions through their shortest decimal form, refused
    /// at 2^53 and beyond, where a double no longer holds every digit (write those as strings).
    pub fn from_number(n: &serde_json::Number) -> Result<Self, String> {
        if let Some(u) = n.as_u64() {
            return Ok(Amount::from(U256::from(u)));
        }
        let f = n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).ok_or_else(|| format!("{n} is not an amount"))?;
        if f >= 9_007_199_254_740_992.0 {
            return Err(format!("{n} has more digits than a JSON number keeps exactly: write it as a string"));
        }
        Amount::parse(&f.to_string()).ok_or_else(|| format!("{n} is not an amount (at most {MAX_DECIMALS} decimals)"))
    }

    /// The amount in units of 10^-`decimals` (`decimals` ≥ its own), or `None` on overflow.
    pub fn scaled(self, decimals: u32) -> Option<U256> {
        let shift = decimals.checked_sub(self.decimals)?;
        self.digits.checked_mul(U256::from(10u8).checked_pow(U256::from(shift))?)
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
    /// L, what an attacker is willing to lose (the elastic model's budget; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Amount>,
}

/// A validator in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Unique name.
    pub name: String,
    /// Stake σ_v (positive).
    pub stake: Amount,
}

/// A service in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique name.
    pub name: String,
    /// Profit from corruption π_s (positive).
    pub prize: Amount,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Amount>,
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
    /// Amounts whose common scale overflows 256 bits.
    #[error("{field} of {name:?} ({value}) does not fit once every amount has {decimals} decimals")]
    BadAmount {
        /// Which field.
        field: &'static str,
        /// Node name.
        name: String,
        /// The amount as written.
        value: String,
        /// The document's common number of decimals.
        decimals: u32,
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
    /// Amounts are held as integers in units of 10^-decimals of the document's unit.
    pub decimals: u32,
    /// L, the attacker's budget (elastic model), in the same units.
    pub budget: U256,
}

impl Graph {
    /// Validates a document into a graph.
    pub fn from_spec(spec: &GraphSpec) -> Result<Self, GraphError> {
        let mut names: BTreeMap<&str, (bool, usize)> = BTreeMap::new();
        // One scale for the whole document: the most decimals any amount has.
        let decimals = spec
            .validators
            .iter()
            .map(|v| v.stake.decimals)
            .chain(spec.services.iter().map(|s| s.prize.decimals))
            .chain(spec.edges.iter().filter_map(|e| e.allocation.map(|a| a.decimals)))
            .chain(spec.budget.map(|b| b.decimals))
            .max()
            .unwrap_or(0);
        let amount = |field: &'static str, name: &str, a: Amount| {
            a.scaled(decimals).ok_or_else(|| GraphError::BadAmount {
                field,
                name: name.to_string(),
                value: String::from(a),
                decimals,
            })
        };
        let mut g = Graph {
            decimals,
            budget: match spec.budget {
                Some(b) => amount("budget", "the document", b)?,
                None => U256::ZERO,
            },
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
            let stake = amount("stake", &v.name, v.stake)?;
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
            let prize = amount("prize", &s.name, s.prize)?;
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
                Some(a) => amount("allocation", &e.validator, *a)?,
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
        if total.bit_len() > 120 || prizes.bit_len() > 120 || g.budget.bit_len() > 120 {
            return Err(GraphError::Overflow);
        }
        Ok(g)
    }

    /// Parses and validates a JSON document.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let spec: GraphSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Graph::from_spec(&spec).map_err(|e| e.to_string())
    }

    /// An amount held by the graph, as a decimal in the document's units (`1.5`).
    pub fn show(&self, v: U256) -> String {
        decimal_text(v, self.decimals)
    }

    /// A signed amount held by the graph (a profit), as a decimal in the document's units.
    pub fn show_signed(&self, gain: U256, loss: U256) -> String {
        if gain >= loss {
            self.show(gain.saturating_sub(loss))
        } else {
            format!("-{}", self.show(loss.saturating_sub(gain)))
        }
    }

    /// An exact amount (a rational in the graph's integer units) in the document's units.
    #[allow(clippy::arithmetic_side_effects)] // arbitrary precision
    pub fn unscale(&self, r: &num_rational::BigRational) -> num_rational::BigRational {
        let ten = num_bigint::BigInt::from(10u8);
        r / num_rational::BigRational::from_integer(num_traits::pow(ten, self.decimals as usize))
    }

    /// The graph restricted to some validators and services (indices; every edge of those
    /// services must lead to those validators), keeping names, scale and budget.
    pub fn subgraph(&self, validators: &[usize], services: &[usize]) -> Graph {
        let mut index = vec![None; self.stake.len()];
        for (i, v) in validators.iter().enumerate() {
            index[*v] = Some(i);
        }
        let service_edges: Vec<Vec<(usize, U256)>> = services
            .iter()
            .map(|s| self.service_edges[*s].iter().filter_map(|(v, w)| index[*v].map(|i| (i, *w))).collect())
            .collect();
        let mut validator_edges = vec![Vec::new(); validators.len()];
        for (s, edges) in service_edges.iter().enumerate() {
            for (v, _) in edges {
                validator_edges[*v].push(s);
            }
        }
        Graph {
            validator_names: validators.iter().map(|v| self.validator_names[*v].clone()).collect(),
            stake: validators.iter().map(|v| self.stake[*v]).collect(),
            service_names: services.iter().map(|s| self.service_names[*s].clone()).collect(),
            prize: services.iter().map(|s| self.prize[*s]).collect(),
            threshold: services.iter().map(|s| self.threshold[*s]).collect(),
            service_edges,
            validator_edges,
            decimals: self.decimals,
            budget: self.budget,
        }
    }

    /// The connected components that hold a service: (validators, services), each sorted, in
    /// order of their smallest service. Validators without a service are in none.
    pub fn components(&self) -> Vec<(Vec<usize>, Vec<usize>)> {
        let n = self.stake.len();
        // Union-find over validators (0..n) and services (n..n + S).
        let mut parent: Vec<usize> = (0..n.saturating_add(self.prize.len())).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for (s, edges) in self.service_edges.iter().enumerate() {
            for (v, _) in edges {
                let (a, b) = (root(&mut parent, *v), root(&mut parent, n.saturating_add(s)));
                parent[a] = b;
            }
        }
        let mut groups: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        let mut order: Vec<usize> = Vec::new();
        for s in 0..self.prize.len() {
            let r = root(&mut parent, n.saturating_add(s));
            if !groups.contains_key(&r) {
                order.push(r);
            }
            groups.entry(r).or_default().1.push(s);
        }
        for v in 0..n {
            let r = root(&mut parent, v);
            if let Some(g) = groups.get_mut(&r) {
                g.0.push(v);
            }
        }
        order.into_iter().filter_map(|r| groups.remove(&r)).collect()
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
