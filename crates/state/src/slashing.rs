//! Slashing: EigenLayer's O(1) slash through max magnitude, the slashable withdrawal queue, the
//! shares set aside per slash and their burning or redistribution, and Cairn's veto window.
//!
//! With a veto window, a slash is first a request. While it is open the operator stays slashable
//! by the set (deregistration does not end it), the set's pending deallocations do not take
//! effect, and withdrawals from the operator that were slashable when it was made cannot
//! complete. On execution the queue is charged as of the request block, and those withdrawals
//! are paid at the magnitude after the execution.

use cairn_primitives::{Address, Block, OperatorSetKey, StrategyId, U256, WAD, math};
use serde::{Deserialize, Serialize};

use crate::{BURN_ADDRESS, Ctx, Event, State, TxError, stakers::WAD_U64, tx::VetoConfig};

/// What to slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlashParams {
    /// The operator.
    pub operator: Address,
    /// Strategies, strictly ascending.
    pub strategies: Vec<StrategyId>,
    /// Fraction of the set's allocation per strategy, in (0, WAD].
    pub wads_to_slash: Vec<U256>,
    /// Why.
    pub description: String,
}

/// Where a slash request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for its window.
    Pending,
    /// Cancelled by the committee.
    Vetoed,
    /// Carried out as this slash id.
    Executed(u32),
}

/// A slash waiting for its veto window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlashRequest {
    /// The slash.
    pub params: SlashParams,
    /// Block of the request.
    pub requested_at: Block,
    /// First block it may execute.
    pub executable_at: Block,
    /// Status.
    pub status: RequestStatus,
}

/// Shares set aside by one slash in one strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnEntry {
    /// Shares to burn or redistribute.
    pub shares: U256,
    /// First block they may be cleared.
    pub clearable_at: Block,
}

/// Why a slashing transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum SlashingError {
    /// Array lengths differ.
    #[error("{strategies} strategies against {wads} wads")]
    InputArrayLengthMismatch {
        /// Strategies.
        strategies: usize,
        /// Wads.
        wads: usize,
    },
    /// The operator is not slashable by the set.
    #[error("operator {operator} is not slashable by {set}")]
    OperatorNotSlashable {
        /// Operator.
        operator: Address,
        /// Set.
        set: OperatorSetKey,
    },
    /// Sender is not the slasher.
    #[error("{caller} is not the slasher {slasher} of the set")]
    InvalidCaller {
        /// Sender.
        caller: Address,
        /// The slasher.
        slasher: Address,
    },
    /// Strategies out of order or repeated.
    #[error("strategy {strategy} follows {previous}: strategies must be strictly ascending")]
    StrategiesMustBeInAscendingOrder {
        /// Previous.
        previous: StrategyId,
        /// This one.
        strategy: StrategyId,
    },
    /// Slash fraction outside (0, 1e18].
    #[error("wad to slash {wad} for {strategy} is outside (0, 1e18]")]
    InvalidWadToSlash {
        /// Strategy.
        strategy: StrategyId,
        /// Fraction.
        wad: U256,
    },
    /// Strategy not in the set.
    #[error("strategy {strategy} is not in {set}")]
    StrategyNotInOperatorSet {
        /// Set.
        set: OperatorSetKey,
        /// Strategy.
        strategy: StrategyId,
    },
    /// No such request.
    #[error("no slash request {request_id} in {set}")]
    UnknownSlashRequest {
        /// Set.
        set: OperatorSetKey,
        /// Request.
        request_id: u32,
    },
    /// The request is vetoed or executed.
    #[error("slash request {request_id} in {set} is {status:?}")]
    SlashRequestNotPending {
        /// Set.
        set: OperatorSetKey,
        /// Request.
        request_id: u32,
        /// Status.
        status: RequestStatus,
    },
    /// Sender is not the veto committee.
    #[error("{caller} is not the veto committee {committee:?}")]
    NotVetoCommittee {
        /// Sender.
        caller: Address,
        /// Committee.
        committee: Option<Address>,
    },
    /// The window has passed: too late to veto.
    #[error("veto window closed at block {executable_at}, now {block}")]
    VetoWindowClosed {
        /// Executable from.
        executable_at: Block,
        /// Now.
        block: Block,
    },
    /// The window is still open: too early to execute.
    #[error("slash request executable at block {executable_at}, now {block}")]
    VetoWindowOpen {
        /// Executable from.
        executable_at: Block,
        /// Now.
        block: Block,
    },
    /// Clearing delay not over.
    #[error("slash {slash_id} of {set} clearable at block {clearable_at}, now {block}")]
    NotYetClearable {
        /// Set.
        set: OperatorSetKey,
        /// Slash.
        slash_id: u32,
        /// Clearable from.
        clearable_at: Block,
        /// Now.
        block: Block,
    },
}

fn range_of(set: OperatorSetKey, slash_id: u32) -> std::ops::RangeInclusive<(OperatorSetKey, u32, StrategyId)> {
    (set, slash_id, StrategyId(0))..=(set, slash_id, StrategyId(u32::MAX))
}

impl State {
    /// Whether a slash request against `operator` by `set` is open.
    pub fn has_open_request(&self, operator: Address, set: OperatorSetKey) -> bool {
        self.open_requests.range((operator, set, 0)..=(operator, set, u32::MAX)).next().is_some()
    }

    /// Open slash requests against `operator`, as (set, request id).
    pub fn open_requests_against(&self, operator: Address) -> Vec<(OperatorSetKey, u32)> {
        let lo = (operator, OperatorSetKey { service: Address::ZERO, id: 0 }, 0);
        let hi = (operator, OperatorSetKey { service: Address::repeat_byte(0xff), id: u32::MAX }, u32::MAX);
        self.open_requests.range(lo..=hi).map(|((_, s, r), _)| (*s, *r)).collect()
    }

    /// A slash request.
    pub fn slash_request(&self, set: OperatorSetKey, request_id: u32) -> Option<&SlashRequest> {
        self.slash_requests.get(&(set, request_id))
    }

    /// Checks a slash against the set and returns the set's veto configuration.
    fn validate_slash(&self, ctx: &Ctx, set: OperatorSetKey, p: &SlashParams) -> Result<Option<VetoConfig>, TxError> {
        if p.strategies.len() != p.wads_to_slash.len() {
            return Err(SlashingError::InputArrayLengthMismatch {
                strategies: p.strategies.len(),
                wads: p.wads_to_slash.len(),
            }
            .into());
        }
        let info = self.operator_set(set)?;
        if !self.is_slashable_by(p.operator, set, ctx.block) {
            return Err(SlashingError::OperatorNotSlashable { operator: p.operator, set }.into());
        }
        let slasher = info.slasher.at(ctx.block);
        if ctx.sender != slasher {
            return Err(SlashingError::InvalidCaller { caller: ctx.sender, slasher }.into());
        }
        let mut previous: Option<StrategyId> = None;
        for (s, wad) in p.strategies.iter().zip(&p.wads_to_slash) {
            if let Some(prev) = previous.filter(|prev| prev >= s) {
                return Err(SlashingError::StrategiesMustBeInAscendingOrder { previous: prev, strategy: *s }.into());
            }
            previous = Some(*s);
            if wad.is_zero() || *wad > WAD {
                return Err(SlashingError::InvalidWadToSlash { strategy: *s, wad: *wad }.into());
            }
            if !info.strategies.contains(s) {
                return Err(SlashingError::StrategyNotInOperatorSet { set, strategy: *s }.into());
            }
        }
        Ok(info.veto)
    }

    pub(crate) fn tx_slash(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        p: SlashParams,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        match self.validate_slash(ctx, set, &p)? {
            Some(v) if v.window > 0 => {
                // Cloned only here: an immediate slash copies the set's record once, not twice.
                let mut info = self.operator_set(set)?.clone();
                info.request_count =
                    info.request_count.checked_add(1).ok_or(cairn_primitives::MathError::Overflow {
                        op: "request_count",
                        a: U256::from(info.request_count),
                        b: U256::from(1u8),
                    })?;
                let request_id = info.request_count;
                let executable_at = math::add_u64(ctx.block, v.window)?;
                self.operator_sets.insert(set, info);
                self.open_requests.insert((p.operator, set, request_id), ());
                ev.push(Event::SlashRequested {
                    set,
                    request_id,
                    operator: p.operator,
                    strategies: p.strategies.clone(),
                    wads_to_slash: p.wads_to_slash.clone(),
                    executable_at,
                });
                let req =
                    SlashRequest { params: p, requested_at: ctx.block, executable_at, status: RequestStatus::Pending };
                self.slash_requests.insert((set, request_id), req);
                Ok(())
            }
            _ => self.execute_slash(ctx.block, set, &p, ev).map(|_| ()),
        }
    }

    pub(crate) fn tx_veto_slash(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        request_id: u32,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let req = self.pending_request(set, request_id)?;
        let committee = self.operator_set(set)?.veto.map(|v| v.committee);
        if committee != Some(ctx.sender) {
            return Err(SlashingError::NotVetoCommittee { caller: ctx.sender, committee }.into());
        }
        if ctx.block >= req.executable_at {
            return Err(SlashingError::VetoWindowClosed { executable_at: req.executable_at, block: ctx.block }.into());
        }
        self.open_requests.remove(&(req.params.operator, set, request_id));
        self.record_resolution(&req, ctx.block);
        ev.push(Event::SlashVetoed { set, request_id, operator: req.params.operator });
        self.slash_requests.insert((set, request_id), SlashRequest { status: RequestStatus::Vetoed, ..req });
        Ok(())
    }

    pub(crate) fn tx_execute_slash(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        request_id: u32,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let req = self.pending_request(set, request_id)?;
        if ctx.block < req.executable_at {
            return Err(SlashingError::VetoWindowOpen { executable_at: req.executable_at, block: ctx.block }.into());
        }
        // Execute while the request is still open, so frozen deallocations are still slashable.
        let slash_id = self.execute_slash(ctx.block, set, &req.params, ev)?;
        self.open_requests.remove(&(req.params.operator, set, request_id));
        self.record_resolution(&req, ctx.block);
        ev.push(Event::SlashRequestExecuted { set, request_id, slash_id });
        self.slash_requests
            .insert((set, request_id), SlashRequest { status: RequestStatus::Executed(slash_id), ..req });
        Ok(())
    }

    /// Remembers when a request that may have held withdrawals was resolved (vetoed or executed):
    /// the withdrawals it held are priced as of that block.
    fn record_resolution(&mut self, req: &SlashRequest, block: Block) {
        let op = req.params.operator;
        for s in &req.params.strategies {
            let mut done = self.resolved_requests.get(&(op, *s)).cloned().unwrap_or_default();
            done.push((req.requested_at, block));
            self.resolved_requests.insert((op, *s), done);
        }
    }

    /// Where the slashable queue window of a slash at `block` starts being measured from: `block`,
    /// or earlier for withdrawals a request holds — requests still open, and requests resolved in
    /// this very block (those withdrawals are priced at this block's final magnitude).
    fn hold_anchor(&self, operator: Address, strategy: StrategyId, block: Block) -> Block {
        let open = self.earliest_open_request(operator, strategy).unwrap_or(block);
        let resolved_now = self
            .resolved_requests
            .get(&(operator, strategy))
            .into_iter()
            .flat_map(|v| v.iter().rev().take_while(|(_, done)| *done == block))
            .map(|(req, _)| *req)
            .min()
            .unwrap_or(block);
        block.min(open).min(resolved_now)
    }

    /// The earliest block of an open request against `operator` covering `strategy`, if any.
    pub(crate) fn earliest_open_request(&self, operator: Address, strategy: StrategyId) -> Option<Block> {
        self.open_requests_against(operator)
            .into_iter()
            .filter_map(|(set, id)| self.slash_request(set, id))
            .filter(|r| r.params.strategies.contains(&strategy))
            .map(|r| r.requested_at)
            .min()
    }

    fn pending_request(&self, set: OperatorSetKey, request_id: u32) -> Result<SlashRequest, TxError> {
        let req = self.slash_request(set, request_id).ok_or(SlashingError::UnknownSlashRequest { set, request_id })?;
        if req.status != RequestStatus::Pending {
            return Err(SlashingError::SlashRequestNotPending { set, request_id, status: req.status }.into());
        }
        Ok(req.clone())
    }

    /// `slashOperator` after validation: returns the slash id.
    fn execute_slash(
        &mut self,
        block: Block,
        set: OperatorSetKey,
        p: &SlashParams,
        ev: &mut Vec<Event>,
    ) -> Result<u32, TxError> {
        let mut info = self.operator_set(set)?.clone();
        info.slash_count = info.slash_count.checked_add(1).ok_or(cairn_primitives::MathError::Overflow {
            op: "slash_count",
            a: U256::from(info.slash_count),
            b: U256::from(1u8),
        })?;
        let slash_id = info.slash_count;
        self.operator_sets.insert(set, info);
        let op = p.operator;
        let mut wad_slashed = Vec::with_capacity(p.strategies.len());
        for (s, wad) in p.strategies.iter().zip(&p.wads_to_slash) {
            let (mut a, enc) = self.load_allocation(op, set, *s, block);
            if a.current == 0 {
                // Nothing allocated (e.g. a deallocation just took effect): skip, do not fail.
                wad_slashed.push(U256::ZERO);
                continue;
            }
            // Magnitude removed rounds up, so a slash always removes something.
            let slashed = math::to_u64(math::mul_wad_up(math::u(a.current), *wad)?)?;
            // slashed ≤ current ≤ encumbered ≤ max: a broken invariant refuses, never clamps. The
            // new max magnitude is written with the same lookup that reads the old one.
            let mut m_prev = WAD_U64;
            let m_new = self.max_magnitude.push_from_latest((op, *s), block, |m| {
                m_prev = m.unwrap_or(WAD_U64);
                math::sub_u64(m_prev, slashed)
            })?;
            wad_slashed.push(math::div_wad(math::u(slashed), math::u(m_prev))?);
            a.current = math::sub_u64(a.current, slashed)?;
            let enc = math::sub_u64(enc, slashed)?;
            if a.pending < 0 {
                // A pending decrease shrinks in proportion (rounded up), so less is freed later.
                let cut = math::to_u64(math::mul_wad_up(math::u(a.pending_decrease()), *wad)?)?;
                a.pending = a.pending.checked_add(i128::from(cut)).ok_or(cairn_primitives::MathError::Overflow {
                    op: "pending",
                    a: U256::from(cut),
                    b: U256::ZERO,
                })?;
                // As EigenLayer: the new target first, even when the slash took all of the
                // decrease (target 0), then the current magnitude [ES §5.1 steps 5–6].
                ev.push(Event::AllocationUpdated {
                    operator: op,
                    set,
                    strategy: *s,
                    magnitude: a.target(),
                    effect_block: a.effect_block,
                });
            }
            self.allocations.insert((op, set, *s), a);
            self.set_encumbered(op, *s, enc, ev);
            ev.push(Event::AllocationUpdated {
                operator: op,
                set,
                strategy: *s,
                magnitude: a.current,
                effect_block: block,
            });
            ev.push(Event::MaxMagnitudeUpdated { operator: op, strategy: *s, max_magnitude: m_new });
            self.slash_operator_shares(block, op, set, slash_id, *s, (m_prev, m_new), ev)?;
        }
        ev.push(Event::OperatorSlashed {
            operator: op,
            set,
            slash_id,
            strategies: p.strategies.clone(),
            wad_slashed,
            description: p.description.clone(),
        });
        Ok(slash_id)
    }

    /// Scaled shares still slashable in the queue: queued in [b − delay, b], where b is the
    /// earlier of `block` and the oldest open slash request covering the strategy (the
    /// withdrawals such a request holds stay slashable until it is resolved).
    pub fn slashable_scaled_in_queue(&self, operator: Address, strategy: StrategyId, block: Block) -> U256 {
        let key = (operator, strategy);
        let cur = self.cumulative_scaled.latest(&key).unwrap_or_default();
        if cur.is_zero() {
            // Nothing ever queued (the usual first slash): no window to look up.
            return U256::ZERO;
        }
        let anchor = self.hold_anchor(operator, strategy, block);
        let before = anchor.checked_sub(self.g.params.withdrawal_delay_blocks.saturating_add(1));
        let prev = before.and_then(|b| self.cumulative_scaled.at(&key, b)).unwrap_or_default();
        cur.saturating_sub(prev)
    }

    /// `getSlashableSharesInQueue`: shares in the queue a full slash would take now.
    pub fn slashable_shares_in_queue(
        &self,
        operator: Address,
        strategy: StrategyId,
        block: Block,
    ) -> Result<U256, TxError> {
        let m = U256::from(self.max_magnitude(operator, strategy));
        Ok(math::mul_wad(self.slashable_scaled_in_queue(operator, strategy, block), m)?)
    }

    /// `slashOperatorShares`: O(1) in delegators — only the operator's totals change.
    #[allow(clippy::too_many_arguments)]
    fn slash_operator_shares(
        &mut self,
        block: Block,
        op: Address,
        set: OperatorSetKey,
        slash_id: u32,
        s: StrategyId,
        (m_prev, m_new): (u64, u64),
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let (prev, new) = (math::u(m_prev), math::u(m_new));
        let shares = self.operator_shares(op, s);
        // Remaining operator shares round up, so the slashed amount rounds down.
        let slashed_active = math::sub(shares, math::mul_div_up(shares, new, prev)?)?;
        let queued = math::mul_wad(self.slashable_scaled_in_queue(op, s, block), prev)?;
        let slashed_queue = math::sub(queued, math::mul_div_up(queued, new, prev)?)?;
        let total = math::add(slashed_active, slashed_queue)?;
        if !slashed_active.is_zero() {
            self.sub_operator_shares(op, Address::ZERO, s, slashed_active, ev)?;
        }
        ev.push(Event::OperatorSharesSlashed { operator: op, strategy: s, total_slashed_shares: total });
        // ELIP-016: clearable once the resolution block (slash block + delay) has passed.
        let clearable_at = math::add_u64(math::add_u64(block, self.g.params.slash_clearing_delay_blocks)?, 1)?;
        self.burnable.insert((set, slash_id, s), BurnEntry { shares: total, clearable_at });
        ev.push(Event::BurnOrRedistributableSharesIncreased {
            set,
            slash_id,
            strategy: s,
            shares: total,
            clearable_at,
        });
        Ok(())
    }

    /// Shares set aside by slashes and not yet cleared.
    pub fn burnable_shares(&self) -> Vec<((OperatorSetKey, u32, StrategyId), BurnEntry)> {
        self.burnable.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// `clearBurnOrRedistributableShares[ByStrategy]` [ES §5.3, §5.5]: pays out the entries of a
    /// slash once its resolution block has passed; nothing recorded is a no-op.
    pub(crate) fn tx_clear_burnable(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        slash_id: u32,
        strategy: Option<StrategyId>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let recipient = self.operator_set(set)?.redistribution_recipient.unwrap_or(BURN_ADDRESS);
        let entries: Vec<_> = self.burnable.range(range_of(set, slash_id)).map(|((_, _, s), e)| (*s, *e)).collect();
        // ELIP-016: the resolution block belongs to the slash, so none of its entries (asked for
        // or not) is clearable before it; every entry of one slash shares it.
        if let Some((_, e)) = entries.iter().find(|(_, e)| ctx.block < e.clearable_at) {
            return Err(SlashingError::NotYetClearable {
                set,
                slash_id,
                clearable_at: e.clearable_at,
                block: ctx.block,
            }
            .into());
        }
        // A slash (or strategy) with nothing recorded, or already cleared, clears nothing: a
        // no-op as in EigenLayer's `clearBurnOrRedistributableShares`, not a refusal.
        for (s, e) in entries.into_iter().filter(|(s, _)| strategy.is_none_or(|want| *s == want)) {
            self.burnable.remove(&(set, slash_id, s));
            // Slashed beacon ETH has no burn path: clearing only records it (EigenLayer's
            // burnableETHShares counter); the ETH stays locked in the delegators' pods.
            let tokens = if e.shares.is_zero() || self.is_beacon(s) {
                U256::ZERO
            } else {
                self.strategy_withdraw(s, recipient, e.shares, ev)?
            };
            ev.push(Event::BurnOrRedistributableSharesDecreased {
                set,
                slash_id,
                strategy: s,
                shares: e.shares,
                tokens,
                recipient,
            });
        }
        Ok(())
    }
}
