//! Unit tests of the state machine: exact formulas, delay boundaries, every refusal.

mod accounting;
mod conformance;
mod extensions;
mod hashes;
mod lifecycle;
mod native;
mod rewards;

use cairn_primitives::{Address, AssetId, OperatorSetKey, Params, Profile, StrategyId, U256, named_address};

use crate::{Ctx, Event, Genesis, GenesisAsset, State, Tx, TxError, oracle::OracleCommittee, tx::AllocateParams};

pub(crate) const E18: u128 = 1_000_000_000_000_000_000;

pub(crate) fn a(name: &str) -> Address {
    named_address(name)
}

pub(crate) fn u(v: u128) -> U256 {
    U256::from(v)
}

/// A small world: two assets with strategies, funded accounts, devnet parameters.
pub(crate) struct World {
    pub(crate) s: State,
    pub(crate) block: u64,
}

pub(crate) const ST: StrategyId = StrategyId(0);
pub(crate) const RE: StrategyId = StrategyId(1);
pub(crate) const STETH: AssetId = AssetId(0);
pub(crate) const BEACON: StrategyId = StrategyId(2);
pub(crate) const ETH: AssetId = AssetId(2);

impl World {
    pub(crate) fn new() -> Self {
        let funded = ["alice", "bob", "carol", "op1", "op2", "attacker"];
        let balances = funded.iter().map(|n| (a(n), u(1_000_000 * E18))).collect();
        let mut assets: Vec<_> = ["stETH", "rETH"]
            .iter()
            .map(|s| GenesisAsset {
                symbol: s.to_string(),
                decimals: 18,
                strategy: true,
                balances: Clone::clone(&balances),
                native: false,
            })
            .collect();
        // Native ETH: its beacon strategy is BEACON; pods are fed by the oracle below.
        assets.push(GenesisAsset {
            symbol: "ETH".into(),
            decimals: 18,
            strategy: false,
            balances: Clone::clone(&balances),
            native: true,
        });
        let g = Genesis {
            params: Params::profile(Profile::Devnet),
            governor: a("gov"),
            unpauser: a("unpauser"),
            pausers: vec![a("pauser")],
            assets,
            oracle: OracleCommittee { members: vec![a("oracle1"), a("oracle2"), a("oracle3")], quorum: 2 },
        };
        World { s: State::genesis(&g).expect("genesis"), block: 1 }
    }

    pub(crate) fn ctx(&self, sender: &str) -> Ctx {
        Ctx { sender: a(sender), block: self.block, time: self.block.saturating_mul(2) }
    }

    pub(crate) fn ok(&mut self, sender: &str, tx: Tx) -> Vec<Event> {
        let ctx = self.ctx(sender);
        let r = self.s.apply(&ctx, &tx);
        let ev = r.unwrap_or_else(|e| panic!("{tx:?} by {sender} refused: {e}"));
        self.s.check_invariants(self.block).expect("invariants");
        ev
    }

    /// Applies a transaction that must fail, and checks the state is bit-for-bit unchanged.
    pub(crate) fn err(&mut self, sender: &str, tx: Tx) -> TxError {
        let before = self.s.canonical_bytes();
        let ctx = self.ctx(sender);
        let e = self.s.apply(&ctx, &tx).expect_err("expected a refusal");
        assert_eq!(before, self.s.canonical_bytes(), "refused {tx:?} changed the state");
        e
    }

    pub(crate) fn to(&mut self, block: u64) {
        self.block = block;
    }

    pub(crate) fn deposit(&mut self, who: &str, s: StrategyId, amount: u128) {
        self.ok(who, Tx::Deposit { strategy: s, amount: u(amount) });
    }

    pub(crate) fn operator(&mut self, who: &str, delay: u64) {
        self.ok(
            who,
            Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: delay, metadata_uri: String::new() },
        );
    }

    /// Registers service `svc` with set 0 over both strategies, slashed by `<svc>_slasher`.
    pub(crate) fn service(&mut self, svc: &str) -> OperatorSetKey {
        self.service_with(svc, &[ST, RE])
    }

    /// Registers service `svc` with set 0 over `strategies`, slashed by `<svc>_slasher`.
    pub(crate) fn service_with(&mut self, svc: &str, strategies: &[StrategyId]) -> OperatorSetKey {
        self.ok(svc, Tx::RegisterService { metadata_uri: String::new() });
        self.ok(
            svc,
            Tx::CreateOperatorSet {
                service: a(svc),
                set_id: 0,
                strategies: strategies.to_vec(),
                slasher: a(&format!("{svc}_slasher")),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: None,
            },
        );
        OperatorSetKey { service: a(svc), id: 0 }
    }

    pub(crate) fn register(&mut self, op: &str, set: OperatorSetKey) {
        self.ok(op, Tx::RegisterForOperatorSets { operator: a(op), service: set.service, set_ids: vec![set.id] });
    }

    pub(crate) fn allocate(&mut self, op: &str, set: OperatorSetKey, s: StrategyId, mag: u64) {
        let p = AllocateParams { service: set.service, set_id: set.id, strategies: vec![s], new_magnitudes: vec![mag] };
        self.ok(op, Tx::ModifyAllocations { operator: a(op), allocations: vec![p] });
    }

    pub(crate) fn slash_tx(set: OperatorSetKey, op: &str, s: StrategyId, wad: u128) -> Tx {
        Tx::SlashOperator {
            service: set.service,
            set_id: set.id,
            operator: a(op),
            strategies: vec![s],
            wads_to_slash: vec![u(wad)],
            description: "test".into(),
        }
    }

    pub(crate) fn withdrawable(&self, who: &str, s: StrategyId) -> U256 {
        self.s.withdrawable_shares(a(who), s).expect("withdrawable")
    }
}
