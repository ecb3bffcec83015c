//! The protocol's invariants as code (reference section 7.3, plus token conservation and
//! strategy solvency). Tests check them after every step of random operation sequences.

use std::collections::BTreeMap;

use cairn_primitives::{Address, AssetId, Block, StrategyId, U256, WAD, math};

use crate::{State, TxError};

/// A broken invariant, described with the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant violated: {0}")]
pub struct Violation(pub String);

/// Saturating accumulation for the checks (a saturated sum can only make a check fail loudly).
trait SatAdd: Copy {
    fn sat_add(self, other: Self) -> Self;
}

impl SatAdd for U256 {
    fn sat_add(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl SatAdd for u32 {
    fn sat_add(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl SatAdd for u128 {
    fn sat_add(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

fn add_to<T: SatAdd>(slot: &mut T, v: T) {
    *slot = slot.sat_add(v);
}

fn fail<T>(msg: String) -> Result<T, Violation> {
    Err(Violation(msg))
}

fn ok<T>(r: Result<T, TxError>) -> Result<T, Violation> {
    r.map_err(|e| Violation(format!("arithmetic failed while checking: {e}")))
}

impl State {
    /// Checks every invariant as of `block`.
    pub fn check_invariants(&self, block: Block) -> Result<(), Violation> {
        self.check_tokens()?;
        self.check_shares(block)?;
        self.check_magnitudes(block)?;
        self.check_incompatibility()?;
        self.check_pods()?;
        self.check_rewards_escrow()?;
        self.check_vault_invariants(block)?;
        Ok(())
    }

    /// Σ balances = minted, per asset (tokens in accounts + strategies + burned = minted).
    fn check_tokens(&self) -> Result<(), Violation> {
        let mut sums: BTreeMap<_, U256> = BTreeMap::new();
        for ((_, asset), b) in self.balances.sorted() {
            let e = sums.entry(*asset).or_default();
            *e = e.saturating_add(*b);
        }
        for (id, a) in self.assets.iter() {
            let held = sums.get(id).copied().unwrap_or_default();
            if held != a.minted {
                return fail(format!("asset {id}: balances {held} != minted {}", a.minted));
            }
        }
        Ok(())
    }

    fn check_shares(&self, block: Block) -> Result<(), Violation> {
        let mut delegated: BTreeMap<(Address, StrategyId), U256> = BTreeMap::new();
        let mut claims: BTreeMap<StrategyId, U256> = BTreeMap::new();
        let mut per_staker: BTreeMap<Address, u32> = BTreeMap::new();
        let mut allowances: BTreeMap<(Address, StrategyId), U256> = BTreeMap::new();
        for (staker, s, shares, dsf) in self.all_positions() {
            if shares.is_zero() {
                return fail(format!("{staker} keeps an empty position in {s}"));
            }
            if dsf.is_zero() {
                return fail(format!("{staker} in {s}: dsf is zero"));
            }
            let w = ok(self.withdrawable_shares(staker, s))?;
            if w > shares {
                return fail(format!("{staker} in {s}: withdrawable {w} > deposit shares {shares}"));
            }
            if !self.is_beacon(s) {
                add_to(per_staker.entry(staker).or_default(), 1);
            }
            add_to(claims.entry(s).or_default(), w);
            if let Some(op) = self.delegated_to(staker) {
                add_to(delegated.entry((op, s)).or_default(), w);
                if self.is_beacon(s) {
                    add_to(allowances.entry((op, s)).or_default(), ok(self.beacon_allowance(staker, op, s))?);
                }
            }
        }
        for (staker, n) in per_staker {
            if n > self.g.params.max_staker_strategies {
                return fail(format!("{staker} holds {n} strategies"));
            }
        }
        for ((op, s), sum) in &delegated {
            let op_shares = self.operator_shares(*op, *s);
            let allowance = allowances.get(&(*op, *s)).copied().unwrap_or_default();
            if op_shares.saturating_add(allowance) < *sum {
                return fail(format!("operator {op} in {s}: shares {op_shares} < Σ withdrawable {sum}"));
            }
        }
        for ((staker, _), w) in self.withdrawals.iter() {
            for (s, x) in w.strategies.iter().zip(ok(self.withdrawal_payout(*staker, w, block))?) {
                add_to(claims.entry(*s).or_default(), x);
            }
        }
        // Beacon burns are a record only (EigenLayer's burnableETHShares counter): the queued part
        // is priced without the pods' factors, so it may overstate, and nothing is paid from it.
        for ((_, _, s), e) in self.burnable.iter().filter(|((_, _, s), _)| !self.is_beacon(*s)) {
            add_to(claims.entry(*s).or_default(), e.shares);
        }
        for (s, c) in claims {
            let total = ok(self.strategy_total_shares(s))?;
            if c > total {
                return fail(format!("strategy {s}: claims {c} exceed total shares {total}"));
            }
        }
        for (key, hist) in self.cumulative_scaled.iter() {
            if hist.windows(2).any(|p| p[0].0 >= p[1].0 || p[0].1 > p[1].1) {
                return fail(format!("cumulative scaled shares of {key:?} not increasing"));
            }
        }
        Ok(())
    }

    /// How far a beacon staker's withdrawable may drift above its part of the operator's shares:
    /// each operator slash can leave `floor(m · l)` up to one unit above the proportional factor
    /// (at most `floor(s · k / WAD) / WAD + 1` wei), each pod loss up to one wei (reference 7.3(1)).
    fn beacon_allowance(&self, staker: Address, op: Address, s: StrategyId) -> Result<U256, TxError> {
        let p = self.position(staker, s);
        let per_event = math::add(
            math::mul_div_down(p.deposit_shares, p.dsf, WAD)?.checked_div(WAD).unwrap_or_default(),
            U256::from(2u8),
        )?;
        let slashes = self.max_magnitude.len_of(&(op, s));
        let losses = self.pods.get(&staker).map_or(0, |p| p.losses);
        let events = U256::from(slashes).saturating_add(U256::from(losses)).saturating_add(U256::from(1u8));
        Ok(math::mul(per_event, events)?)
    }

    /// Pods: checkpointed ETH is in the pod, factors within [0, WAD], validator counts agree.
    fn check_pods(&self) -> Result<(), Violation> {
        let Some(native) = self.g.native else {
            return Ok(());
        };
        let mut active: BTreeMap<Address, u32> = BTreeMap::new();
        for (index, v) in self.pod_validators.iter() {
            if !self.pods.contains(&v.owner) {
                return fail(format!("validator {index} belongs to {} which has no pod", v.owner));
            }
            if v.status == crate::pods::ValidatorStatus::Active {
                add_to(active.entry(v.owner).or_default(), 1);
            }
        }
        for (owner, pod) in self.pods.iter() {
            let held = self.balance(pod.address, native.asset);
            let restaked = U256::from(pod.restaked_gwei).saturating_mul(crate::oracle::GWEI);
            if restaked > held {
                return fail(format!("pod of {owner}: restaked {restaked} wei > ETH held {held}"));
            }
            if pod.bcsf > crate::stakers::WAD_U64 {
                return fail(format!("pod of {owner}: beacon factor {} above WAD", pod.bcsf));
            }
            let n = active.get(owner).copied().unwrap_or(0);
            if n != pod.active_validators {
                return fail(format!(
                    "pod of {owner}: {} active validators recorded, {n} found",
                    pod.active_validators
                ));
            }
            if pod.checkpoint.is_some_and(|c| c.proofs_remaining > n) {
                return fail(format!("pod of {owner}: checkpoint expects more proofs than validators"));
            }
            if self.pod_accounts.get(&pod.address) != Some(owner) {
                return fail(format!("pod of {owner}: address {} not registered to it", pod.address));
            }
        }
        Ok(())
    }

    /// The rewards escrow holds exactly what submissions escrowed (net of fees) less what claims
    /// paid out, per token: nothing else enters or leaves it.
    fn check_rewards_escrow(&self) -> Result<(), Violation> {
        let mut owed: BTreeMap<AssetId, U256> = BTreeMap::new();
        for (_, s) in self.submissions.iter() {
            add_to(owed.entry(s.token).or_default(), s.amount);
        }
        let mut paid: BTreeMap<AssetId, U256> = BTreeMap::new();
        for ((_, token), c) in self.claimed.iter() {
            add_to(paid.entry(*token).or_default(), *c);
        }
        let escrow = crate::rewards::escrow_address();
        for (token, _) in self.assets.iter() {
            let o = owed.get(token).copied().unwrap_or_default();
            let p = paid.get(token).copied().unwrap_or_default();
            let held = self.balance(escrow, *token);
            if o.checked_sub(p) != Some(held) {
                return fail(format!("rewards escrow of {token}: holds {held}, escrowed {o} − claimed {p}"));
            }
        }
        Ok(())
    }

    fn check_magnitudes(&self, block: Block) -> Result<(), Violation> {
        for (key, hist) in self.max_magnitude.iter() {
            if hist.windows(2).any(|p| p[0].0 >= p[1].0 || p[0].1 < p[1].1) {
                return fail(format!("max magnitude history of {key:?} not monotone"));
            }
            if hist.last().is_some_and(|l| l.0 > block) {
                return fail(format!("max magnitude of {key:?} recorded in the future"));
            }
        }
        let mut stored: BTreeMap<(Address, StrategyId), u128> = BTreeMap::new();
        for ((op, set, s), a) in self.allocations.iter() {
            if a.pending < 0 && a.pending.unsigned_abs() > u128::from(a.current) {
                return fail(format!("{op} {set} {s}: pending decrease {} > current {}", a.pending, a.current));
            }
            if a.effect_block == 0 && a.pending != 0 {
                return fail(format!("{op} {set} {s}: pending without effect block"));
            }
            let alloc = u128::from(a.current).saturating_add(u128::try_from(a.pending.max(0)).unwrap_or(0));
            add_to(stored.entry((*op, *s)).or_default(), alloc);
        }
        for ((op, s), enc) in self.encumbered.sorted() {
            let sum = stored.remove(&(*op, *s)).unwrap_or(0);
            if u128::from(*enc) != sum {
                return fail(format!("{op} {s}: encumbered {enc} != Σ allocations {sum}"));
            }
            if *enc > self.max_magnitude(*op, *s) {
                return fail(format!("{op} {s}: encumbered {enc} > max {}", self.max_magnitude(*op, *s)));
            }
        }
        if let Some(((op, s), sum)) = stored.into_iter().find(|(_, v)| *v != 0) {
            return fail(format!("{op} {s}: allocations {sum} without encumbered magnitude"));
        }
        Ok(())
    }

    fn check_incompatibility(&self) -> Result<(), Violation> {
        for op in self.operator_addresses() {
            let services: Vec<_> = self.allocated_services(op).into_iter().collect();
            for (i, a) in services.iter().enumerate() {
                for b in services.iter().skip(i.saturating_add(1)) {
                    if self.are_incompatible(*a, *b) {
                        return fail(format!("operator {op} secures incompatible {a} and {b}"));
                    }
                }
            }
        }
        Ok(())
    }
}
