//! The daily calculation (reference 6.6): for every day of every submission, who earns what,
//! read from the state as it was at the start of that day, accumulated into cumulative earnings.
//!
//! Rounding: every division rounds down, so a day never pays out more than its tokens; what the
//! floors leave stays in escrow, undistributed. Amounts that cannot be distributed on a day of an
//! operator-directed or operator-set submission (an operator not registered, no stake) are
//! refunded to the service as its own earnings.

use std::{cell::RefCell, collections::BTreeMap, ops::Range, rc::Rc, sync::Arc};

use cairn_primitives::{Address, AssetId, B256, Block, MathError, OperatorSetKey, StrategyId, Timestamp, U256, math};
use cairn_state::{
    State,
    rewards::{SplitTarget, Submission, SubmissionKind},
    stakers::{Staker, calc_withdrawable},
};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::tree::{Earnings, RewardsTree};

/// The state at the start of a day (the latest state before that moment) and the chain's height
/// then (the last block dated before the day).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The state.
    pub state: Arc<State>,
    /// The block height at the start of the day.
    pub block: Block,
}

/// Snapshots by day timestamp.
pub type Snapshots = BTreeMap<Timestamp, Snapshot>;

/// Where a calculation reads the state at the start of each day: memory ([`Snapshots`]) or a
/// node's store, which rebuilds each day from its history rows instead of keeping whole states.
pub trait SnapshotSource {
    /// Calls `visit` with the snapshot of each of `days` (given ascending), newest day first, so
    /// a store can walk its history backwards once. A day without a snapshot is
    /// [`CalcError::MissingSnapshot`].
    fn visit_newest_first(
        &self,
        days: &[Timestamp],
        visit: &mut dyn FnMut(Timestamp, &Snapshot) -> Result<(), CalcError>,
    ) -> Result<(), CalcError>;
}

impl SnapshotSource for Snapshots {
    fn visit_newest_first(
        &self,
        days: &[Timestamp],
        visit: &mut dyn FnMut(Timestamp, &Snapshot) -> Result<(), CalcError>,
    ) -> Result<(), CalcError> {
        for day in days.iter().rev() {
            visit(*day, self.get(day).ok_or(CalcError::MissingSnapshot { day: *day })?)?;
        }
        Ok(())
    }
}

/// Precision of a staker's proportion: `floor(w · 1e15 / Σw)`, as EigenLayer's Sidecar.
const PROPORTION: U256 = U256::from_limbs([1_000_000_000_000_000, 0, 0, 0]);
const BIPS: U256 = U256::from_limbs([10_000, 0, 0, 0]);

/// Why a calculation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    /// A day a submission covers has no snapshot.
    #[error("no snapshot of the state at the start of day {day}")]
    MissingSnapshot {
        /// The day's timestamp.
        day: Timestamp,
    },
    /// The calculation end is not a day boundary.
    #[error("calculation end {end} is not a multiple of the interval {interval}")]
    EndNotAligned {
        /// End.
        end: Timestamp,
        /// Interval.
        interval: u64,
    },
    /// A day paid more than its budget or a submission more than it escrowed (a bug).
    #[error("conservation broken for submission {hash}: {detail}")]
    Conservation {
        /// The submission.
        hash: B256,
        /// What.
        detail: String,
    },
    /// Checked arithmetic failed.
    #[error(transparent)]
    Math(#[from] MathError),
    /// A state view failed.
    #[error("state view failed: {0}")]
    State(String),
}

/// One submission's account after the calculation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The service.
    pub service: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Its hash.
    pub hash: B256,
    /// Token.
    pub token: AssetId,
    /// Tokens escrowed.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub escrowed: U256,
    /// Paid to operators and stakers so far.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub distributed: U256,
    /// Refunded to the service so far.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub refunded: U256,
    /// Days calculated so far, of all its days.
    pub days_done: u64,
    /// All its days.
    pub days: u64,
}

/// The result: cumulative earnings through `end`, and each submission's tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Calculation {
    /// Days up to and including this timestamp are counted.
    pub end: Timestamp,
    /// Cumulative earnings per (earner, token), never decreasing as `end` grows.
    pub earnings: BTreeMap<(Address, AssetId), U256>,
    /// Per submission.
    pub tallies: Vec<Tally>,
}

impl Calculation {
    /// The earnings keyed by token address, as the tree wants them.
    pub fn earnings_by_address(&self, state: &State) -> Earnings {
        let mut out = Earnings::new();
        for ((earner, token), amount) in &self.earnings {
            if amount.is_zero() {
                continue;
            }
            let address = state.asset_address(*token).unwrap_or_default();
            out.entry(*earner).or_default().insert(address, *amount);
        }
        out
    }

    /// The distribution tree of these earnings.
    pub fn tree(&self, state: &State) -> RewardsTree {
        RewardsTree::build(&self.earnings_by_address(state))
    }
}

/// Who a day's payment goes to: a delegated staker of the day (by its index in the day's view,
/// so payments accumulate in a dense array) or any other account (operators, refunded services).
#[derive(Debug, Clone, Copy)]
enum Payee {
    Staker(usize),
    Account(Address),
}

/// Staker weights for one list of strategies and multipliers, one per staker of the day.
type Weights = Rc<Vec<U256>>;

/// A day's view of the state, built once per snapshot: every delegated staker, grouped by
/// operator, and the stake weights each distinct strategy list gives them (computed once a day
/// however many submissions share the list).
struct DayView<'a> {
    state: &'a State,
    day: Timestamp,
    /// The chain's height at the start of the day (allocations are read as of it).
    block: Block,
    stakers: Vec<(Address, &'a Staker)>,
    groups: FxHashMap<Address, Range<usize>>,
    weights: RefCell<FxHashMap<Vec<(StrategyId, U256)>, Weights>>,
}

impl<'a> DayView<'a> {
    fn new(state: &'a State, day: Timestamp, block: Block) -> Self {
        let mut by_op: FxHashMap<Address, Vec<(Address, &'a Staker)>> = FxHashMap::default();
        for (a, rec) in state.stakers_unordered() {
            if let Some(op) = rec.delegated_to {
                by_op.entry(op).or_default().push((*a, rec));
            }
        }
        let mut stakers = Vec::with_capacity(by_op.values().map(Vec::len).sum());
        let mut groups = FxHashMap::default();
        for (op, list) in by_op {
            let lo = stakers.len();
            stakers.extend(list);
            groups.insert(op, lo..stakers.len());
        }
        Self { state, day, block, stakers, groups, weights: RefCell::default() }
    }

    /// The stakers of `op` as a range of staker indices.
    fn group(&self, op: Address) -> Range<usize> {
        self.groups.get(&op).cloned().unwrap_or(0..0)
    }

    /// `Σ multiplier × withdrawable shares` of every staker of the day for `strategies`.
    fn weights(&self, strategies: &[(StrategyId, U256)]) -> Result<Weights, CalcError> {
        if let Some(w) = self.weights.borrow().get(strategies) {
            return Ok(Rc::clone(w));
        }
        let st = self.state;
        let mut out = vec![U256::ZERO; self.stakers.len()];
        for (op, range) in &self.groups {
            let factors: Vec<(StrategyId, U256, U256, bool)> = strategies
                .iter()
                .map(|(s, m)| (*s, *m, U256::from(st.max_magnitude(*op, *s)), st.is_beacon(*s)))
                .collect();
            for i in range.clone() {
                let (staker, rec) = self.stakers[i];
                let mut w = U256::ZERO;
                for (s, mult, m, beacon) in &factors {
                    let Some(p) = rec.position(*s) else { continue };
                    let sf = if *beacon { math::mul_wad(*m, U256::from(st.beacon_factor(staker)))? } else { *m };
                    let shares =
                        calc_withdrawable(p.deposit_shares, p.dsf, sf).map_err(|e| CalcError::State(e.to_string()))?;
                    w = math::add(w, math::mul(shares, *mult)?)?;
                }
                out[i] = w;
            }
        }
        let w = Rc::new(out);
        self.weights.borrow_mut().insert(strategies.to_vec(), Rc::clone(&w));
        Ok(w)
    }

    fn registered(&self, op: Address, service: Address, set: Option<OperatorSetKey>) -> bool {
        match set {
            Some(set) => self.state.is_registered(op, set),
            None => self.state.operator_sets_of(service).into_iter().any(|k| self.state.is_registered(op, k)),
        }
    }

    fn split(&self, op: Address, service: Address, set: Option<OperatorSetKey>) -> U256 {
        let target = set.map_or(SplitTarget::Service(service), SplitTarget::Set);
        U256::from(self.state.operator_split(op, target, self.day))
    }
}

/// What one day of one submission paid, and what it refunds.
#[derive(Default)]
struct DayPay {
    paid: Vec<(Payee, U256)>,
    refund: U256,
}

impl DayPay {
    fn pay(&mut self, to: Payee, amount: U256) {
        if !amount.is_zero() {
            self.paid.push((to, amount));
        }
    }

    /// Splits `num/den` among the stakers `range` by `floor(floor(w·1e15/Σw) · num / (1e15·den))`;
    /// false when none of them has weight.
    fn by_weight(
        &mut self,
        weights: &[U256],
        range: Range<usize>,
        (num, den): (U256, U256),
    ) -> Result<bool, CalcError> {
        let total = weights[range.clone()].iter().try_fold(U256::ZERO, |a, w| math::add(a, *w))?;
        if total.is_zero() {
            return Ok(false);
        }
        let scale = math::mul(PROPORTION, den)?;
        for i in range {
            if weights[i].is_zero() {
                continue;
            }
            let p = math::mul_div_down(weights[i], PROPORTION, total)?;
            self.pay(Payee::Staker(i), math::mul_div_down(p, num, scale)?);
        }
        Ok(true)
    }

    /// The operator keeps `floor(num/den · split)`; its stakers share the rest by weight (refunded,
    /// rounded down, when no staker has weight). `num/den` is the operator's amount for the day,
    /// kept as a fraction so no rounding happens before the split (Sidecar's decimal amounts).
    fn operator_and_stakers(
        &mut self,
        view: &DayView<'_>,
        op: Address,
        (num, den): (U256, U256),
        split: U256,
        weights: &[U256],
    ) -> Result<(), CalcError> {
        let cut = math::mul_div_down(num, split, math::mul(BIPS, den)?)?;
        self.pay(Payee::Account(op), cut);
        let rest = math::sub(num, math::mul(cut, den)?)?;
        if !self.by_weight(weights, view.group(op), (rest, den))? {
            self.refund = math::add(self.refund, math::mul_div_down(rest, U256::from(1u8), den)?)?;
        }
        Ok(())
    }
}

/// Strategies of a submission that count on a day: all of them, or those in the set.
fn counted(view: &DayView<'_>, s: &Submission, set: Option<OperatorSetKey>) -> Vec<(StrategyId, U256)> {
    let in_set = set.and_then(|k| view.state.operator_set(k).ok()).map(|o| o.strategies.clone());
    s.strategies
        .iter()
        .filter(|sm| set.is_none() || in_set.as_ref().is_some_and(|ss| ss.contains(&sm.strategy)))
        .map(|sm| (sm.strategy, sm.multiplier))
        .collect()
}

/// Strategies of a service-wide submission that count for `op`: those in a set of the service the
/// operator is registered to ("restaked in the strategy" for the service).
fn restaked(view: &DayView<'_>, s: &Submission, op: Address) -> Vec<(StrategyId, U256)> {
    let st = view.state;
    let sets: Vec<_> = st.operator_sets_of(s.service).into_iter().filter(|k| st.is_registered(op, *k)).collect();
    s.strategies
        .iter()
        .filter(|sm| sets.iter().any(|k| st.operator_set(*k).is_ok_and(|o| o.strategies.contains(&sm.strategy))))
        .map(|sm| (sm.strategy, sm.multiplier))
        .collect()
}

/// One day of one submission.
fn pay_day(view: &DayView<'_>, s: &Submission, days: u64) -> Result<DayPay, CalcError> {
    let mut out = DayPay::default();
    let set = s.set_id.map(|id| OperatorSetKey { service: s.service, id });
    let n = U256::from(days);
    match s.kind {
        SubmissionKind::ServiceWide => {
            // Tokens per day stay the fraction amount / N: pair = floor(p · amount / (1e15 · N)).
            let mut groups = Vec::new();
            let mut total = U256::ZERO;
            for op in view.state.operator_addresses() {
                if !view.registered(op, s.service, None) {
                    continue;
                }
                let weights = view.weights(&restaked(view, s, op))?;
                for w in &weights[view.group(op)] {
                    total = math::add(total, *w)?;
                }
                groups.push((op, weights));
            }
            // v1 has no refunds: a day without stake stays in escrow.
            let scale = math::mul(PROPORTION, n)?;
            for (op, weights) in groups {
                let split = view.split(op, s.service, None);
                let mut cut_total = U256::ZERO;
                for i in view.group(op) {
                    if weights[i].is_zero() {
                        continue;
                    }
                    let p = math::mul_div_down(weights[i], PROPORTION, total)?;
                    let pair = math::mul_div_down(p, s.amount, scale)?;
                    let cut = math::mul_div_down(pair, split, BIPS)?;
                    cut_total = math::add(cut_total, cut)?;
                    out.pay(Payee::Staker(i), math::sub(pair, cut)?);
                }
                out.pay(Payee::Account(op), cut_total);
            }
        }
        SubmissionKind::OperatorDirected | SubmissionKind::OperatorDirectedSet => {
            let strategies = counted(view, s, set);
            let weights = view.weights(&strategies)?;
            for r in &s.operator_rewards {
                if !view.registered(r.operator, s.service, set) || strategies.is_empty() {
                    out.refund = math::add(out.refund, math::mul_div_down(r.amount, U256::from(1u8), n)?)?;
                    continue;
                }
                let split = view.split(r.operator, s.service, set);
                out.operator_and_stakers(view, r.operator, (r.amount, n), split, &weights)?;
            }
        }
        SubmissionKind::UniqueStake | SubmissionKind::TotalStake => {
            // v2.2 floors the tokens per day first, as the Sidecar does.
            let budget = math::mul_div_down(s.amount, U256::from(1u8), n)?;
            let set = set.ok_or_else(|| CalcError::State("set-scoped submission without a set".into()))?;
            let strategies = counted(view, s, Some(set));
            let weights = view.weights(&strategies)?;
            let mut op_weights = Vec::new();
            for op in view.state.operator_addresses() {
                if !view.registered(op, s.service, Some(set)) {
                    continue;
                }
                let mut w = U256::ZERO;
                for (st, mult) in &strategies {
                    let stake = if s.kind == SubmissionKind::UniqueStake {
                        let block = view.block;
                        view.state.allocated_stake(op, set, *st, block).map_err(|e| CalcError::State(e.to_string()))?
                    } else {
                        view.state.operator_shares(op, *st)
                    };
                    w = math::add(w, math::mul(stake, *mult)?)?;
                }
                if !w.is_zero() {
                    op_weights.push((op, w));
                }
            }
            let total = op_weights.iter().try_fold(U256::ZERO, |a, (_, w)| math::add(a, *w))?;
            if total.is_zero() {
                out.refund = budget;
            }
            for (op, w) in op_weights {
                let amount = math::mul_div_down(budget, w, total)?;
                let split = view.split(op, s.service, Some(set));
                out.operator_and_stakers(view, op, (amount, U256::from(1u8)), split, &weights)?;
            }
        }
    }
    Ok(out)
}

/// The tokens one day of `s` may pay at most, as a fraction `(num, den)`.
fn day_budget(s: &Submission, days: u64) -> Result<(U256, U256), MathError> {
    let n = U256::from(days);
    Ok(match s.kind {
        SubmissionKind::OperatorDirected | SubmissionKind::OperatorDirectedSet => {
            (s.operator_rewards.iter().try_fold(U256::ZERO, |a, r| math::add(a, r.amount))?, n)
        }
        SubmissionKind::ServiceWide => (s.amount, n),
        SubmissionKind::UniqueStake | SubmissionKind::TotalStake => {
            (math::mul_div_down(s.amount, U256::from(1u8), n)?, U256::from(1u8))
        }
    })
}

/// Calculates cumulative earnings through `end` (a day boundary) for `submissions`, reading each
/// day `D` from the snapshot of `D`. Days are independent and their payments only add up, so the
/// order the source visits them in does not change the result.
pub fn calculate(
    submissions: &[((Address, u64), Submission)],
    snapshots: &dyn SnapshotSource,
    interval: u64,
    end: Timestamp,
) -> Result<Calculation, CalcError> {
    let interval = interval.max(1);
    if !end.is_multiple_of(interval) {
        return Err(CalcError::EndNotAligned { end, interval });
    }
    // Days of each submission: start + k·interval for k = 1..=N (the start day itself is not
    // paid), up to `end`.
    let mut by_day: BTreeMap<Timestamp, Vec<usize>> = BTreeMap::new();
    let mut tallies = Vec::with_capacity(submissions.len());
    for (i, ((service, nonce), s)) in submissions.iter().enumerate() {
        let days = s.duration.checked_div(interval).unwrap_or(0);
        let mut done = 0u64;
        for k in 1..=days {
            let day = math::add_u64(s.start, math::to_u64(math::mul(U256::from(k), U256::from(interval))?)?)?;
            if day > end {
                break;
            }
            by_day.entry(day).or_default().push(i);
            done = math::add_u64(done, 1)?;
        }
        tallies.push(Tally {
            service: *service,
            nonce: *nonce,
            hash: s.hash,
            token: s.token,
            escrowed: s.amount,
            distributed: U256::ZERO,
            refunded: U256::ZERO,
            days_done: done,
            days,
        });
    }
    let mut earnings: FxHashMap<(Address, AssetId), U256> = FxHashMap::default();
    let days: Vec<Timestamp> = by_day.keys().copied().collect();
    snapshots.visit_newest_first(&days, &mut |day, snap| {
        let subs = by_day.get(&day).map_or(&[][..], Vec::as_slice);
        pay_snapshot_day(submissions, subs, &mut tallies, &mut earnings, day, snap)
    })?;
    for t in &tallies {
        if math::add(t.distributed, t.refunded)? > t.escrowed {
            let detail = format!("distributed {} + refunded {} > escrowed {}", t.distributed, t.refunded, t.escrowed);
            return Err(CalcError::Conservation { hash: t.hash, detail });
        }
    }
    Ok(Calculation { end, earnings: earnings.into_iter().collect(), tallies })
}

/// Pays one day of the submissions `subs` (indices into `submissions` and `tallies`) from the
/// state of that day, adding to the tallies and the cumulative earnings.
fn pay_snapshot_day(
    submissions: &[((Address, u64), Submission)],
    subs: &[usize],
    tallies: &mut [Tally],
    earnings: &mut FxHashMap<(Address, AssetId), U256>,
    day: Timestamp,
    snap: &Snapshot,
) -> Result<(), CalcError> {
    let view = DayView::new(&snap.state, day, snap.block);
    // Stakers' payments of the day in one dense array per token, folded in once at the end.
    let mut dense: BTreeMap<AssetId, Vec<U256>> = BTreeMap::new();
    for &i in subs {
        let s = &submissions[i].1;
        let t = &mut tallies[i];
        let pay = pay_day(&view, s, t.days)?;
        let paid = pay.paid.iter().try_fold(U256::ZERO, |a, (_, x)| math::add(a, *x))?;
        let (num, den) = day_budget(s, t.days)?;
        if math::mul(math::add(paid, pay.refund)?, den)? > num {
            let detail = format!("day {day} paid {paid} + refunded {} > budget {num}/{den}", pay.refund);
            return Err(CalcError::Conservation { hash: s.hash, detail });
        }
        t.distributed = math::add(t.distributed, paid)?;
        t.refunded = math::add(t.refunded, pay.refund)?;
        let staker_sums = dense.entry(s.token).or_insert_with(|| vec![U256::ZERO; view.stakers.len()]);
        for (who, x) in pay.paid {
            let slot = match who {
                Payee::Staker(k) => &mut staker_sums[k],
                Payee::Account(a) => earnings.entry((a, s.token)).or_default(),
            };
            *slot = math::add(*slot, x)?;
        }
        if !pay.refund.is_zero() {
            let e = earnings.entry((s.service, s.token)).or_default();
            *e = math::add(*e, pay.refund)?;
        }
    }
    for (token, sums) in dense {
        for (k, x) in sums.into_iter().enumerate().filter(|(_, x)| !x.is_zero()) {
            let e = earnings.entry((view.stakers[k].0, token)).or_default();
            *e = math::add(*e, x)?;
        }
    }
    Ok(())
}

/// Records the state as of each day boundary while a chain of transactions is applied: call
/// [`Recorder::advance`] with the block and time of each transaction before applying it (and
/// before calculating), so the snapshot of day `D` is the state after every transaction dated
/// before `D`. The height at `D` is interpolated between the transactions around it (exact when
/// blocks have a fixed duration): allocations whose effect block passed by then count.
#[derive(Debug, Clone)]
pub struct Recorder {
    interval: u64,
    next: Timestamp,
    prev: Option<(Block, Timestamp)>,
    snapshots: Snapshots,
}

impl Recorder {
    /// A recorder whose first day boundary is the first one after `start`.
    pub fn new(interval: u64, start: Timestamp) -> Self {
        let interval = interval.max(1);
        let next = start.checked_div(interval).unwrap_or(0).saturating_add(1).saturating_mul(interval);
        Self { interval, next, prev: None, snapshots: Snapshots::new() }
    }

    /// Records `state` for every day boundary up to `time` not yet recorded; `block` and `time`
    /// are those of the transaction about to be applied.
    pub fn advance(&mut self, state: &State, block: Block, time: Timestamp) {
        let (pb, pt) = self.prev.unwrap_or((state.last_block(), 0));
        if self.next <= time {
            let shared = Arc::new(state.clone());
            while self.next <= time {
                let day = self.next;
                let height = height_at(day, (pb, pt), (block, time)).max(state.last_block());
                self.snapshots.insert(day, Snapshot { state: Arc::clone(&shared), block: height });
                self.next = self.next.saturating_add(self.interval);
            }
        }
        if time >= pt {
            self.prev = Some((block, time));
        }
    }

    /// The snapshots so far.
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// The interval.
    pub fn interval(&self) -> u64 {
        self.interval
    }
}

/// The last block dated before `day`, interpolating linearly between two known (block, time)
/// points around it; never the later block itself.
fn height_at(day: Timestamp, (pb, pt): (Block, Timestamp), (b, t): (Block, Timestamp)) -> Block {
    let before = b.saturating_sub(1).max(pb);
    if t <= pt || b <= pb {
        return before;
    }
    let elapsed = U256::from(day.saturating_sub(1).saturating_sub(pt));
    let est = math::mul_div_down(elapsed, U256::from(b.saturating_sub(pb)), U256::from(t.saturating_sub(pt)))
        .ok()
        .and_then(|x| u64::try_from(x).ok())
        .unwrap_or(0);
    pb.saturating_add(est).min(before)
}
