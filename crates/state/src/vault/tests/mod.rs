//! Vault unit tests: a vault world (`VaultWorld`), then one file per concern. Every refusal is
//! checked to leave the state's canonical bytes unchanged (`World::err`), and every accepted
//! step runs the core's and the vault's invariants (`World::ok`).

mod deposit;
mod liveness;
mod native;
mod policy;
mod pricing;
mod rate;
mod rebalance;
mod refusals;
mod rewards;
mod tickets;
mod token;

use cairn_primitives::{AssetId, OperatorSetKey, U256, VaultId, WAD};

use crate::{
    Event, Tx, TxError,
    tests::{E18, RE, ST, World, a, u},
    tx::{AllocateParams, GovernanceAction, VetoConfig},
    vault::{
        AssetConfig, OperatorLimit, Policy, TargetWeight, VaultParams,
        tx::{AssetPrice, Deposit, Redeem, ReportPrices, SetTargets, VaultRef, VaultSpec},
    },
};

pub(crate) const V: VaultId = VaultId(0);
pub(crate) const STETH: AssetId = AssetId(0);
pub(crate) const RETH: AssetId = AssetId(1);
pub(crate) const ETH: AssetId = AssetId(2);
pub(crate) const MAG: u64 = 1_000_000_000_000_000_000;

pub(crate) fn params() -> VaultParams {
    VaultParams {
        price_staleness_seconds: 86_400,
        max_price_change_bps: 100,
        max_apr_bps: 2_000,
        max_rate_up_bps: 50,
        max_rate_down_bps: 10,
        performance_fee_bps: 1_000,
        management_fee_bps: 0,
        instant_fee_min_bps: 10,
        instant_fee_max_bps: 110,
        ticket_delay_blocks: 5,
        rebalance_interval_blocks: 10,
        finalization_period_blocks: 100,
        finalization_cap: U256::ZERO,
        emergency_delay_blocks: 50,
        deposit_lock_blocks: 0,
    }
}

pub(crate) fn committee() -> Vec<cairn_primitives::Address> {
    let mut c = vec![a("p1"), a("p2"), a("p3")];
    c.sort();
    c
}

pub(crate) fn policy() -> Policy {
    let mut operators = vec![
        OperatorLimit { operator: a("op1"), cap_bps: 6_000, approval_salt: None },
        OperatorLimit { operator: a("op2"), cap_bps: 6_000, approval_salt: None },
    ];
    operators.sort_by_key(|o| o.operator);
    Policy {
        operators,
        min_buffer_bps: 1_000,
        service_cap_bps: 5_000,
        service_caps: Vec::new(),
        risk_budget_bps: 5_000,
    }
}

pub(crate) fn spec() -> VaultSpec {
    VaultSpec {
        symbol: "cETH".into(),
        committee: committee(),
        quorum: 2,
        guardian: a("guardian"),
        keeper: a("keeper"),
        fee_recipient: a("treasury"),
        params: params(),
        assets: vec![
            AssetConfig { asset: STETH, deposits: true, cap: None, min_deposit: u(E18 / 1_000), paused: false },
            AssetConfig { asset: RETH, deposits: true, cap: None, min_deposit: u(E18 / 1_000), paused: false },
            AssetConfig { asset: ETH, deposits: true, cap: None, min_deposit: u(E18 / 1_000), paused: false },
        ],
        policy: policy(),
    }
}

/// The test world with one vault over stETH, rETH and ETH; operators op1 and op2; services
/// svcA (no veto) and svcB (veto window 10, committee `vetoer`) over both LST strategies. op1
/// allocates 30% to svcA and 20% to svcB, op2 50% to svcA. Prices: stETH 1.0, rETH 1.1.
pub(crate) struct VaultWorld {
    pub(crate) w: World,
    pub(crate) a: OperatorSetKey,
    pub(crate) b: OperatorSetKey,
    round: u64,
}

impl VaultWorld {
    pub(crate) fn new() -> Self {
        let mut w = World::new();
        w.operator("op1", 0);
        w.operator("op2", 0);
        let sa = w.service("svcA");
        w.ok("svcB", Tx::RegisterService { metadata_uri: String::new() });
        w.ok(
            "svcB",
            Tx::CreateOperatorSet {
                service: a("svcB"),
                set_id: 0,
                strategies: vec![ST, RE],
                slasher: a("svcB_slasher"),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: Some(VetoConfig { committee: a("vetoer"), window: 10 }),
            },
        );
        let sb = OperatorSetKey { service: a("svcB"), id: 0 };
        w.register("op1", sa);
        w.register("op1", sb);
        w.register("op2", sa);
        for (op, set, mag) in [("op1", sa, 3 * MAG / 10), ("op1", sb, 2 * MAG / 10), ("op2", sa, 5 * MAG / 10)] {
            let p = AllocateParams {
                service: set.service,
                set_id: set.id,
                strategies: vec![ST, RE],
                new_magnitudes: vec![mag, mag],
            };
            w.ok(op, Tx::ModifyAllocations { operator: a(op), allocations: vec![p] });
        }
        let mut vw = VaultWorld { w, a: sa, b: sb, round: 0 };
        vw.gov(GovernanceAction::CreateVault(Box::new(spec())));
        vw.prices(&[(STETH, E18), (RETH, 11 * E18 / 10)]);
        vw
    }

    /// Proposes a governance action, waits out the timelock and executes it.
    pub(crate) fn gov(&mut self, action: GovernanceAction) -> Vec<Event> {
        let ev = self.w.ok("gov", Tx::Propose { action });
        let Some(Event::ProposalCreated { id, eta, .. }) =
            ev.into_iter().find(|e| matches!(e, Event::ProposalCreated { .. }))
        else {
            panic!("no proposal")
        };
        self.w.to(eta.max(self.w.block));
        self.w.ok("gov", Tx::ExecuteProposal { id })
    }

    /// The next price round, reported by two of the three members (quorum).
    pub(crate) fn prices(&mut self, prices: &[(AssetId, u128)]) -> Vec<Event> {
        self.round += 1;
        let r = self.report(self.round, prices);
        self.w.ok("p1", Tx::VaultReportPrices(r.clone()));
        self.w.ok("p2", Tx::VaultReportPrices(r))
    }

    pub(crate) fn report(&self, round: u64, prices: &[(AssetId, u128)]) -> ReportPrices {
        ReportPrices {
            vault: V,
            round,
            prices: prices.iter().map(|(asset, p)| AssetPrice { asset: *asset, price: u(*p) }).collect(),
        }
    }

    pub(crate) fn next_round(&self) -> u64 {
        self.round + 1
    }

    pub(crate) fn deposit_tx(asset: AssetId, amount: u128) -> Tx {
        Tx::VaultDeposit(Deposit { vault: V, asset, amount: u(amount), min_out: U256::ZERO, receiver: None })
    }

    /// Deposits and returns the tokens minted.
    pub(crate) fn deposit(&mut self, who: &str, asset: AssetId, amount: u128) -> U256 {
        let ev = self.w.ok(who, Self::deposit_tx(asset, amount));
        ev.iter()
            .find_map(|e| match e {
                Event::VaultDeposited(d) => Some(d.tokens),
                _ => None,
            })
            .expect("VaultDeposited")
    }

    pub(crate) fn redeem_tx(tokens: U256, asset: AssetId) -> Tx {
        Tx::VaultRedeem(Redeem { vault: V, shares: tokens, asset, min_out: U256::ZERO })
    }

    /// Redeems at once and returns the asset amount paid.
    pub(crate) fn redeem(&mut self, who: &str, tokens: U256, asset: AssetId) -> U256 {
        let ev = self.w.ok(who, Self::redeem_tx(tokens, asset));
        ev.iter()
            .find_map(|e| match e {
                Event::VaultRedeemed(r) => Some(r.amount),
                _ => None,
            })
            .expect("VaultRedeemed")
    }

    pub(crate) fn tokens(&self, who: &str) -> U256 {
        self.w.s.vault_balance(V, a(who))
    }

    pub(crate) fn book(&self) -> crate::vault::Book {
        self.w.s.vault_book(V).expect("book")
    }

    pub(crate) fn settled(&self) -> U256 {
        self.book().settled_rate
    }

    pub(crate) fn current(&self) -> U256 {
        self.w.s.vault_current_rate(V, self.w.block, self.w.block * 2).expect("rate")
    }

    pub(crate) fn update(&mut self) -> Vec<Event> {
        self.w.ok("anyone", Tx::VaultUpdateRate(VaultRef { vault: V }))
    }

    /// Targets op1/op2 at `b1`/`b2` bps, the buffer the rest.
    pub(crate) fn targets_tx(b1: u16, b2: u16) -> Tx {
        let mut operators =
            vec![TargetWeight { operator: a("op1"), bps: b1 }, TargetWeight { operator: a("op2"), bps: b2 }];
        operators.sort_by_key(|t| t.operator);
        Tx::VaultSetTargets(SetTargets { vault: V, buffer_bps: 10_000 - b1 - b2, operators })
    }

    pub(crate) fn rebalance(&mut self) -> Vec<Event> {
        self.w.ok("anyone", Tx::VaultRebalance(VaultRef { vault: V }))
    }

    pub(crate) fn err(&mut self, who: &str, tx: Tx) -> TxError {
        self.w.err(who, tx)
    }

    pub(crate) fn to(&mut self, block: u64) {
        self.w.to(block);
    }

    pub(crate) fn advance(&mut self, blocks: u64) {
        let b = self.w.block + blocks;
        self.w.to(b);
    }
}

pub(crate) fn wad() -> U256 {
    WAD
}
