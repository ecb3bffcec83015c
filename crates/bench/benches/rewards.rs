//! Rewards targets (release build, one core for the calculation):
//!
//! - `rewards_daily/1m_stakers_200_operators_20_submissions`: one day of the calculation over a
//!   state of 1,000,000 delegated stakers, 200 operators registered in 4 services' sets, and 20
//!   submissions active that day (8 service-wide, 4 unique-stake, 4 total-stake, 4
//!   operator-directed per set naming all 200 operators): ≤ 10 s;
//! - `rewards_root/1m_earners_3_tokens`: building the distribution tree: ≤ 2 s;
//! - `rewards_proof/generate`: one earner's claim (earner proof + 3 token proofs): ≤ 50 µs;
//! - `rewards_proof/check`: `State::check_claim` of that claim against a posted root: ≤ 20 µs.

use std::{collections::BTreeMap, hint::black_box, sync::Arc, time::Duration};

use cairn_bench::{SplitMix64, account, ctx, governor, must_apply, staker_fixture, tokens};
use cairn_primitives::{Address, U256, named_address};
use cairn_rewards::{RewardsTree, Snapshot, Snapshots, calculate};
use cairn_state::{
    State, Tx,
    rewards::{OperatorDirectedSubmission, OperatorReward, RewardsSubmission, StrategyMultiplier},
    tx::AllocateParams,
};
use criterion::{Criterion, criterion_group, criterion_main};

const DAY: u64 = 86_400;
const SERVICES: usize = 4;

fn services() -> Vec<Address> {
    (0..SERVICES).map(|i| named_address(&format!("cairn-bench/rewards-service/{i}"))).collect()
}

/// The 1,000,000-staker state with services, sets, registrations, allocations and 20
/// submissions, all paying on day `start + DAY`.
fn daily_fixture() -> (Arc<State>, u64) {
    let mut f = staker_fixture(1_000_000, 1_000_000, 200, 0);
    let mut block = f.block;
    let state = &mut f.state;
    let strategies =
        vec![StrategyMultiplier { strategy: cairn_bench::STRATEGY, multiplier: U256::from(10u64.pow(18)) }];
    for svc in services() {
        must_apply(
            state,
            governor(),
            block,
            &Tx::Mint { asset: cairn_bench::ASSET, to: svc, amount: tokens(1_000_000_000) },
        );
        must_apply(state, svc, block, &Tx::RegisterService { metadata_uri: String::new() });
        let set = Tx::CreateOperatorSet {
            service: svc,
            set_id: 0,
            strategies: vec![cairn_bench::STRATEGY],
            slasher: svc,
            redistribution_recipient: None,
            consent: Default::default(),
            veto: None,
        };
        must_apply(state, svc, block, &set);
    }
    for op in &f.operators {
        for svc in services() {
            must_apply(
                state,
                *op,
                block,
                &Tx::RegisterForOperatorSets { operator: *op, service: svc, set_ids: vec![0] },
            );
        }
        let allocations = services()
            .into_iter()
            .map(|svc| AllocateParams {
                service: svc,
                set_id: 0,
                strategies: vec![cairn_bench::STRATEGY],
                new_magnitudes: vec![250_000_000_000_000_000],
            })
            .collect();
        must_apply(state, *op, block, &Tx::ModifyAllocations { operator: *op, allocations });
    }
    // Submissions: start on the day of `now`, one day long; operator-directed ones are sent
    // after that day has ended (they must be retroactive).
    let now = ctx(Address::ZERO, block).time;
    let start = now / DAY * DAY;
    let amount = RewardsSubmission {
        strategies_and_multipliers: strategies.clone(),
        token: cairn_bench::ASSET,
        amount: tokens(1_000),
        start,
        duration: DAY,
    };
    for svc in services() {
        let subs = vec![amount.clone(), amount.clone()];
        must_apply(state, svc, block, &Tx::CreateRewardsSubmission { service: svc, submissions: subs });
        let one = vec![amount.clone()];
        must_apply(
            state,
            svc,
            block,
            &Tx::CreateUniqueStakeRewardsSubmission { service: svc, set_id: 0, submissions: one.clone() },
        );
        must_apply(
            state,
            svc,
            block,
            &Tx::CreateTotalStakeRewardsSubmission { service: svc, set_id: 0, submissions: one },
        );
    }
    block += DAY; // two-second blocks: well past the day
    let mut ops = f.operators.clone();
    ops.sort();
    let operator_rewards: Vec<OperatorReward> =
        ops.iter().map(|o| OperatorReward { operator: *o, amount: tokens(5) }).collect();
    for svc in services() {
        let s = OperatorDirectedSubmission {
            strategies_and_multipliers: strategies.clone(),
            token: cairn_bench::ASSET,
            operator_rewards: operator_rewards.clone(),
            start,
            duration: DAY,
            description: String::new(),
        };
        must_apply(
            state,
            svc,
            block,
            &Tx::CreateOperatorDirectedOperatorSetRewardsSubmission { service: svc, set_id: 0, submissions: vec![s] },
        );
    }
    assert_eq!(state.submissions().len(), 20);
    (Arc::new(f.state), start + DAY)
}

fn bench_daily(c: &mut Criterion) {
    let (state, day) = daily_fixture();
    let submissions = state.submissions();
    let mut snapshots = Snapshots::new();
    snapshots.insert(day, Snapshot { state: Arc::clone(&state), block: state.last_block() });
    let mut g = c.benchmark_group("rewards_daily");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(30));
    g.bench_function("1m_stakers_200_operators_20_submissions", |b| {
        b.iter(|| {
            let r = calculate(&submissions, &snapshots, DAY, day).expect("calculation");
            assert!(r.earnings.len() > 1_000_000);
            black_box(r)
        })
    });
    g.finish();
}

/// 1,000,000 earners with 3 tokens each, pseudo-random addresses and amounts.
fn earnings() -> BTreeMap<Address, BTreeMap<Address, U256>> {
    let tokens: Vec<Address> = (0..3).map(|i| named_address(&format!("cairn-bench/token/{i}"))).collect();
    let mut g = SplitMix64(7);
    (0..1_000_000u64).map(|i| (account(i), tokens.iter().map(|t| (*t, U256::from(g.next_u64()))).collect())).collect()
}

fn bench_tree(c: &mut Criterion) {
    let e = earnings();
    let mut g = c.benchmark_group("rewards_root");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    g.bench_function("1m_earners_3_tokens", |b| b.iter(|| black_box(RewardsTree::build(&e).root())));
    g.finish();
    let tree = RewardsTree::build(&e);
    let earners: Vec<Address> = e.keys().copied().collect();
    // A tiny chain whose root 0 is this tree's root, to time the state machine's check.
    let mut state = State::genesis(&cairn_bench::genesis([account(0)], tokens(1))).expect("genesis");
    let submit = Tx::SubmitRoot { root: tree.root(), calculation_end: DAY };
    must_apply(&mut state, governor(), 1, &submit);
    let now = state.distribution_roots()[0].activated_at;
    let mut g = c.benchmark_group("rewards_proof");
    let mut rng = SplitMix64(11);
    g.bench_function("generate", |b| {
        b.iter(|| black_box(tree.claim(0, earners[rng.below(earners.len())], None).expect("an earner")))
    });
    let claims: Vec<_> = (0..1_000).map(|i| tree.claim(0, earners[i * 997], None).expect("an earner")).collect();
    let mut i = 0;
    g.bench_function("check", |b| {
        b.iter(|| {
            i = (i + 1) % claims.len();
            state.check_claim(&claims[i], now).expect("valid");
        })
    });
    g.finish();
}

criterion_group!(benches, bench_tree, bench_daily);
criterion_main!(benches);
