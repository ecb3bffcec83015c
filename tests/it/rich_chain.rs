//! A rich chain for tests that read a chain back (the indexer's): a fresh devnet-genesis node,
//! served over HTTP with the devnet's controls and mined by hand, driven through as many of the
//! state machine's event kinds as a node can produce. The seeded world (operators, services,
//! operator sets, deposits, delegations, allocations, the vault through timelocked governance);
//! transfers, the faucet, deposits; redelegation, undelegation (by the staker, and forced by an
//! appointee), a delegation with the approver's approval; withdrawals queued and completed as
//! tokens and as shares; a slash request vetoed and one executed, its shares redistributed; a pod
//! verified, checkpointed at a gain and then at a loss from the beacon oracle's reports; the
//! vault priced, deposited into, moved, redeemed, a ticket transferred, finalized and claimed,
//! targets set, a place opened, unbonded and completed, the rate quarantined, rejected, accepted
//! and smoothed, its settings re-set through governance; pausing; permissions (appointees,
//! admins); rewards submitted, a root posted and claimed through the node's proof, another root
//! disabled.
//!
//! Every transaction is submitted over `POST /v1/tx` and committed in blocks of at most five
//! (`POST /v1/dev/mine`); each is checked against its receipt. Exactly one is refused on purpose
//! (an `execute_slash` inside the veto window, `VetoWindowOpen`), so the chain also holds a
//! receipt with an `error`. Not reached (they need the keeper's long-running rounds, an emergency
//! or an asset without a strategy): `strategy_created`, `vault_fees_minted`,
//! `vault_validators_deposited`, `vault_validators_verified`, `vault_validator_exits_requested`,
//! `vault_ticket_cancelled`, `vault_emergency_unwind`, `vault_emergency_exit`,
//! `vault_rewards_claimed`.

use std::{collections::BTreeSet, path::Path, time::Instant};

use alloy_primitives::{Address, U256};
use cairn_node::{
    Config,
    dev::DevConfig,
    devnet::{self, DevKeys},
    devnet_vault,
    envelope::{address_of, dev_key},
    node::Mining,
};
use cairn_primitives::{AssetId, StrategyId};
use cairn_state::{
    Tx, TxKind,
    oracle::{BeaconWithdrawal, ValidatorRecord},
    pause::Module,
    pods::{pod_address, pod_credentials},
    services::Consent,
    tx::{AllocateParams, GovernanceAction, ParamName, QueueParams, VetoConfig},
    vault::{
        TargetWeight,
        tx::{
            Approve, AssetPrice, ClaimTicket, Deposit, FinalizeTickets, Redeem, ReportPrices, RequestWithdrawal,
            SetAssetPaused, SetTargets, Transfer as VaultTransfer, TransferTicket, VaultRef,
        },
    },
};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::node::{Harness, eth, temp_dir};

/// What [`build`] made.
pub(crate) struct RichChain {
    /// The head height once everything is committed.
    pub(crate) head: u64,
    /// Every event name (`event` field) in the receipts of blocks 1..=head.
    pub(crate) kinds: BTreeSet<String>,
}

/// The configuration [`build`] needs: devnet controls (the governor's key, for the faucet and
/// the rewards root), blocks only when mined, the rewards history recorded (for the root and the
/// claim's proof), and loopback exempt from the per-IP rate limit.
pub(crate) fn config(dir: &Path) -> Config {
    let mut c = Config::new(dir.to_path_buf(), devnet::CHAIN_ID);
    c.mining = Mining::Manual;
    c.record_rewards = true;
    c.dev = Some(DevConfig { governor: DevKeys::new(8).governor });
    // Building (and reading back) the chain takes well over the default 100 requests a second.
    c.http.exempt = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    // Read back over HTTP only: nothing needs to outlive the test on disk.
    c.in_memory = true;
    c
}

/// A fresh devnet-genesis node over `dir` with [`config`], served on a loopback port: the
/// harness [`build`] takes.
pub(crate) async fn start(dir: &Path) -> Harness {
    crate::node::start_with(config(dir)).await
}

/// Builds the rich chain on `h`, which must be a fresh node from [`start`] (or
/// `crate::node::start_with(config(dir))`): at genesis, devnet controls on, manual mining,
/// rewards recorded. Panics, with the receipt, on any transaction that does not end as
/// intended. About 175 blocks of at most 5 transactions (many empty: the withdrawal, veto,
/// clearing, timelock, ticket and rebalance delays are waited out block by block) and three
/// clock jumps (the rewards hour, the root's activation, a second hour); about a second in a
/// debug build. The block times jump forward by hours near the end: read the chain back with
/// the node's clock, not the wall clock.
pub(crate) async fn build(h: &Harness) -> RichChain {
    let mut c = Chain { h, waiting: Vec::new(), refused: 0 };
    assert_eq!(c.head().await, 0, "build starts from a fresh node");
    let k = &h.keys;
    let op = |i: usize| address_of(&k.operators[i]);
    let svc = |i: usize| address_of(&k.services[i]);
    let staker = |i: usize| address_of(&k.stakers[i]);
    let gov = address_of(&k.governor);
    let keeper = address_of(&k.keeper);
    let lsts = || vec![StrategyId(1), StrategyId(2), StrategyId(3)];

    // The seeded world, a few transactions a block: operators and services register, services
    // create and declare their sets; operators join them; stakers deposit and delegate; the
    // operators allocate.
    for chunk in devnet::seed_setup_txs(k).chunks(4) {
        c.block(chunk.to_vec()).await;
    }
    for chunk in devnet::seed_participant_txs(k).chunks(5) {
        c.block(chunk.to_vec()).await;
    }
    let allocations = devnet::allocation_txs(k);
    c.block(allocations[..3].to_vec()).await;
    c.block(allocations[3..].to_vec()).await;

    // Governance: the devnet's vault (proposal 1), a parameter (2), one to cancel (3). Rewards
    // for the current hour from every service.
    let vault_spec = GovernanceAction::CreateVault(Box::new(devnet_vault::vault_spec(k)));
    let param = GovernanceAction::SetParam { name: ParamName::MaxStakerStrategies, value: 33 };
    let cancelled = GovernanceAction::SetDepositCap { strategy: StrategyId(3), cap: Some(eth(1)) };
    let r = c
        .block(vec![
            (k.governor.clone(), Tx::Propose { action: vault_spec }),
            (k.governor.clone(), Tx::Propose { action: param }),
            (k.governor.clone(), Tx::Propose { action: cancelled }),
        ])
        .await;
    let eta = r[0]["events"][0]["eta"].as_u64().unwrap_or_else(|| panic!("proposal eta: {}", r[0]));
    let now = h.node.now();
    c.block(devnet::reward_txs(k, now, eth(1))).await;
    c.block(vec![(k.governor.clone(), Tx::CancelProposal { id: 3 })]).await;

    // Tokens: transfers, the faucet's mint, a deposit.
    c.block(vec![
        (k.stakers[0].clone(), Tx::Transfer { asset: AssetId(1), to: staker(7), amount: eth(1) }),
        (k.stakers[1].clone(), Tx::Transfer { asset: AssetId(0), to: Address::repeat_byte(0x42), amount: eth(1) }),
        (k.stakers[6].clone(), Tx::Deposit { strategy: StrategyId(1), amount: eth(5) }),
    ])
    .await;
    c.fund(Address::repeat_byte(0x43), "rETH", "3e18").await;
    c.mine().await;

    // Operators and services: metadata, details, an allocation delay, the slasher, an
    // allow-list set, incompatibility, and the set with a veto window (the governor vetoes; 3
    // blocks) that redistributes to the governor.
    c.block(vec![
        (k.operators[2].clone(), Tx::UpdateOperatorMetadata { operator: op(2), metadata_uri: "https://two".into() }),
        (k.operators[2].clone(), Tx::SetAllocationDelay { operator: op(2), delay: 1 }),
        (k.operators[3].clone(), Tx::ModifyOperatorDetails { operator: op(3), delegation_approver: Some(keeper) }),
    ])
    .await;
    let veto_set = Tx::CreateOperatorSet {
        service: svc(0),
        set_id: 1,
        strategies: lsts(),
        slasher: svc(0),
        redistribution_recipient: Some(gov),
        consent: Consent::Open,
        veto: Some(VetoConfig { committee: gov, window: 3 }),
    };
    let allow_list = Tx::CreateOperatorSet {
        service: svc(1),
        set_id: 1,
        strategies: vec![StrategyId(1)],
        slasher: svc(1),
        redistribution_recipient: None,
        consent: Consent::AllowList,
        veto: None,
    };
    // A service nobody allocates to yet, so it may declare another incompatible.
    let newcomer = dev_key("cairn/rich-chain/service/newcomer");
    let register = Tx::RegisterService { metadata_uri: "https://newcomer.devnet".into() };
    c.block(vec![(k.services[0].clone(), veto_set), (k.services[1].clone(), allow_list), (newcomer.clone(), register)])
        .await;
    c.block(vec![
        (
            k.services[1].clone(),
            Tx::SetRegistrationAllowed { service: svc(1), set_id: 1, operator: op(2), allowed: true },
        ),
        (
            k.services[1].clone(),
            Tx::AddStrategiesToOperatorSet { service: svc(1), set_id: 1, strategies: vec![StrategyId(2)] },
        ),
        (
            k.services[1].clone(),
            Tx::RemoveStrategiesFromOperatorSet { service: svc(1), set_id: 1, strategies: vec![StrategyId(2)] },
        ),
        (k.services[3].clone(), Tx::UpdateSlasher { service: svc(3), set_id: 0, slasher: gov }),
    ])
    .await;
    c.block(vec![
        (
            newcomer.clone(),
            Tx::SetIncompatibleService { service: address_of(&newcomer), other: svc(2), incompatible: true },
        ),
        (k.operators[0].clone(), Tx::RegisterForOperatorSets { operator: op(0), service: svc(0), set_ids: vec![1] }),
        (k.operators[1].clone(), Tx::RegisterForOperatorSets { operator: op(1), service: svc(0), set_ids: vec![1] }),
        (k.operators[2].clone(), Tx::RegisterForOperatorSets { operator: op(2), service: svc(1), set_ids: vec![1] }),
    ])
    .await;
    let five_percent = vec![AllocateParams {
        service: svc(0),
        set_id: 1,
        strategies: lsts(),
        new_magnitudes: vec![50_000_000_000_000_000; 3],
    }];
    c.block(vec![
        (k.operators[0].clone(), Tx::ModifyAllocations { operator: op(0), allocations: five_percent.clone() }),
        (k.operators[1].clone(), Tx::ModifyAllocations { operator: op(1), allocations: five_percent }),
    ])
    .await;

    // Withdrawals and delegation: staker 0 queues half of its stETH shares, staker 1
    // redelegates, staker 2 undelegates, staker 3 is undelegated by an appointee of its
    // operator and delegates back with the approver's approval.
    let shares = h.node.read(|a| a.state().position(staker(0), StrategyId(1)).deposit_shares);
    let queue = QueueParams { strategies: vec![StrategyId(1)], deposit_shares: vec![shares / U256::from(2u8)] };
    let r = c
        .block(vec![
            (k.stakers[0].clone(), Tx::QueueWithdrawals { withdrawals: vec![queue] }),
            (k.stakers[1].clone(), Tx::Redelegate { operator: op(2), approval_salt: None }),
            (k.stakers[2].clone(), Tx::Undelegate { staker: staker(2) }),
            (
                k.operators[3].clone(),
                Tx::SetAppointee { account: op(3), appointee: keeper, action: TxKind::Undelegate },
            ),
        ])
        .await;
    let queued_at = r[0]["height"].as_u64().expect("height");
    c.block(vec![
        (k.keeper.clone(), Tx::Undelegate { staker: staker(3) }),
        (k.operators[3].clone(), Tx::RemoveAppointee { account: op(3), appointee: keeper, action: TxKind::Undelegate }),
    ])
    .await;
    let expiry_block = c.head().await + 100;
    c.block(vec![(
        k.keeper.clone(),
        Tx::ApproveDelegation { staker: staker(3), operator: op(3), salt: 7, expiry: expiry_block },
    )])
    .await;
    c.block(vec![(k.stakers[3].clone(), Tx::DelegateTo { operator: op(3), approval_salt: Some(7) })]).await;

    // Slashing in the veto set: request 1 is vetoed; request 2 is executed once its window has
    // passed (an early execution is refused first).
    let slash = |strategies: Vec<StrategyId>, wad: u64, why: &str| Tx::SlashOperator {
        service: svc(0),
        set_id: 1,
        operator: op(0),
        wads_to_slash: vec![U256::from(wad); strategies.len()],
        strategies,
        description: why.into(),
    };
    c.block(vec![(k.services[0].clone(), slash(vec![StrategyId(1)], 200_000_000_000_000_000, "disputed"))]).await;
    c.block(vec![(k.governor.clone(), Tx::VetoSlash { service: svc(0), set_id: 1, request_id: 1 })]).await;
    let r = c
        .block(vec![(
            k.services[0].clone(),
            slash(vec![StrategyId(1), StrategyId(2)], 500_000_000_000_000_000, "equivocation"),
        )])
        .await;
    let executable_at = r[0]["events"][0]["executable_at"].as_u64().unwrap_or_else(|| panic!("{}", r[0]));
    let execute = Tx::ExecuteSlash { service: svc(0), set_id: 1, request_id: 2 };
    c.submit_refused(&k.services[2], execute.clone(), "VetoWindowOpen").await;
    c.mine().await;
    c.mine_until(executable_at - 1).await;
    let r = c.block(vec![(k.services[2].clone(), execute)]).await;
    let cleared_from = r[0]["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["event"] == "burn_or_redistributable_shares_increased"))
        .and_then(|e| e["clearable_at"].as_u64())
        .unwrap_or_else(|| panic!("the executed slash set shares aside: {}", r[0]));
    c.block(vec![(
        k.operators[1].clone(),
        Tx::DeregisterFromOperatorSets { operator: op(1), service: svc(0), set_ids: vec![1] },
    )])
    .await;

    // A pod: created, its validator reported by the oracle committee (2 of 3) and verified;
    // then a report with more balance and a withdrawal to the pod, and a checkpoint over both.
    let pod_owner = staker(5);
    let credentials = pod_credentials(pod_address(pod_owner));
    let validator = |balance_gwei: u64| ValidatorRecord {
        index: 900_001,
        withdrawal_credentials: credentials,
        effective_balance_gwei: 32_000_000_000,
        balance_gwei,
        slashed: false,
        exited: balance_gwei == 0,
        activation_epoch_set: true,
    };
    let paid =
        |amount_gwei: u64| BeaconWithdrawal { validator_index: 900_001, address: pod_address(pod_owner), amount_gwei };
    c.block(vec![(k.stakers[5].clone(), Tx::CreatePod {})]).await;
    let report = Tx::PostBeaconReport { slot: 1_000, validators: vec![validator(32_000_000_000)], withdrawals: vec![] };
    c.block(vec![(k.oracle[0].clone(), report.clone()), (k.oracle[1].clone(), report)]).await;
    c.block(vec![(k.stakers[5].clone(), Tx::VerifyWithdrawalCredentials { slot: 1_000, validators: vec![900_001] })])
        .await;
    let report = Tx::PostBeaconReport {
        slot: 1_010,
        validators: vec![validator(32_100_000_000)],
        withdrawals: vec![paid(50_000_000)],
    };
    c.block(vec![(k.oracle[1].clone(), report.clone()), (k.oracle[2].clone(), report)]).await;
    c.block(vec![(k.stakers[5].clone(), Tx::StartCheckpoint { revert_if_no_balance: true })]).await;
    c.block(vec![(k.stakers[7].clone(), Tx::VerifyCheckpointProofs { pod_owner, validators: vec![900_002, 900_001] })])
        .await;
    // The validator exits with 31 of its 32.1 ETH: the next checkpoint withdraws it at a loss.
    let report =
        Tx::PostBeaconReport { slot: 1_020, validators: vec![validator(0)], withdrawals: vec![paid(31_000_000_000)] };
    c.block(vec![(k.oracle[0].clone(), report.clone()), (k.oracle[2].clone(), report)]).await;
    c.block(vec![(k.stakers[5].clone(), Tx::StartCheckpoint { revert_if_no_balance: false })]).await;
    c.block(vec![(k.stakers[5].clone(), Tx::VerifyCheckpointProofs { pod_owner, validators: vec![900_001] })]).await;

    // The vault, once the timelock has passed: priced by its committee, deposited into, its
    // receipt tokens approved; after the deposit lock, moved, redeemed at once and through a
    // ticket that changes hands and is finalized and claimed.
    c.mine_until(eta).await;
    c.block(vec![
        (k.governor.clone(), Tx::ExecuteProposal { id: 1 }),
        (k.governor.clone(), Tx::ExecuteProposal { id: 2 }),
    ])
    .await;
    let vault = devnet_vault::VAULT;
    let wad = U256::from(1_000_000_000_000_000_000u64);
    let prices = ReportPrices {
        vault,
        round: 1,
        prices: vec![
            AssetPrice { asset: AssetId(1), price: wad },
            AssetPrice { asset: AssetId(2), price: wad * U256::from(11u8) / U256::from(10u8) },
            AssetPrice { asset: AssetId(3), price: wad * U256::from(105u8) / U256::from(100u8) },
        ],
    };
    // Proposals 4 to 7 (the vault must exist to be proposed for): its parameters, one asset, its
    // policy and its roles, each as it is.
    let spec = devnet_vault::vault_spec(k);
    let roles = spec.roles();
    let vault_proposals = vec![
        GovernanceAction::SetVaultParams { vault, params: spec.params },
        GovernanceAction::SetVaultAsset { vault, config: spec.assets[3].clone() },
        GovernanceAction::SetVaultPolicy { vault, policy: spec.policy.clone() },
        GovernanceAction::SetVaultRoles { vault, roles },
    ];
    c.block(vec![
        (k.oracle[0].clone(), Tx::VaultReportPrices(prices.clone())),
        (k.oracle[1].clone(), Tx::VaultReportPrices(prices.clone())),
    ])
    .await;
    let r =
        c.block(vault_proposals.into_iter().map(|action| (k.governor.clone(), Tx::Propose { action })).collect()).await;
    let vault_eta = r[3]["events"][0]["eta"].as_u64().unwrap_or_else(|| panic!("proposal eta: {}", r[3]));
    let deposit = |asset: u32, amount: U256| {
        Tx::VaultDeposit(Deposit { vault, asset: AssetId(asset), amount, min_out: U256::ZERO, receiver: None })
    };
    c.block(vec![
        (k.stakers[4].clone(), deposit(1, eth(4))),
        (k.stakers[6].clone(), deposit(0, eth(2))),
        (k.stakers[4].clone(), Tx::VaultApprove(Approve { vault, spender: staker(7), amount: eth(1) })),
    ])
    .await;
    let lock = devnet_vault::vault_spec(k).params.deposit_lock_blocks;
    c.mine_n(lock + 1).await;
    let held = h.node.read(|a| a.state().vault_balance(vault, staker(4)));
    let fifth = held / U256::from(5u8);
    c.block(vec![
        (k.stakers[4].clone(), Tx::VaultTransfer(VaultTransfer { vault, to: staker(7), amount: fifth })),
        (
            k.stakers[4].clone(),
            Tx::VaultRedeem(Redeem { vault, shares: fifth, asset: AssetId(1), min_out: U256::ZERO }),
        ),
        (k.stakers[7].clone(), Tx::VaultUpdateRate(VaultRef { vault })),
    ])
    .await;
    let r = c
        .block(vec![(
            k.stakers[4].clone(),
            Tx::VaultRequestWithdrawal(RequestWithdrawal {
                vault,
                shares: fifth,
                asset: AssetId(1),
                min_out: U256::ZERO,
            }),
        )])
        .await;
    let requested = r[0]["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["event"] == "vault_withdrawal_requested"))
        .cloned()
        .unwrap_or_else(|| panic!("a ticket: {}", r[0]));
    let ticket = requested["ticket"].as_u64().expect("ticket id");
    c.block(vec![(k.stakers[4].clone(), Tx::VaultTransferTicket(TransferTicket { vault, ticket, to: staker(7) }))])
        .await;
    c.mine_until(requested["eta_block"].as_u64().expect("eta") - 1).await;
    c.block(vec![(k.stakers[6].clone(), Tx::VaultFinalizeTickets(FinalizeTickets { vault, max: 10 }))]).await;
    c.block(vec![(k.stakers[7].clone(), Tx::VaultClaimTicket(ClaimTicket { vault, ticket }))]).await;
    // The keeper's targets (30% at operator 2) and a rebalance toward them; the guardian pauses
    // one asset's deposits.
    let targets =
        SetTargets { vault, buffer_bps: 7_000, operators: vec![TargetWeight { operator: op(2), bps: 3_000 }] };
    c.mine_until(vault_eta).await;
    c.block((4..=7).map(|id| (k.governor.clone(), Tx::ExecuteProposal { id })).collect()).await;
    c.block(vec![
        (k.keeper.clone(), Tx::VaultSetTargets(targets)),
        (k.governor.clone(), Tx::VaultSetAssetPaused(SetAssetPaused { vault, asset: AssetId(3), paused: true })),
    ])
    .await;
    let r = c.block(vec![(k.stakers[7].clone(), Tx::VaultRebalance(VaultRef { vault }))]).await;
    let rebalanced_at = r[0]["height"].as_u64().expect("height");
    // Then all back to the buffer: the next rebalance unbonds the place, a later one completes
    // the unbonding.
    let targets = SetTargets { vault, buffer_bps: 10_000, operators: vec![] };
    c.block(vec![(k.keeper.clone(), Tx::VaultSetTargets(targets))]).await;

    // Shares set aside by the slash are redistributed; a pause and an unpause.
    c.mine_until(cleared_from - 1).await;
    c.block(vec![(
        k.stakers[7].clone(),
        Tx::ClearBurnOrRedistributableShares { service: svc(0), set_id: 1, slash_id: 1, strategy: None },
    )])
    .await;
    c.block(vec![(k.governor.clone(), Tx::Pause { modules: vec![Module::SlashClearing, Module::Pods] })]).await;
    c.block(vec![(k.governor.clone(), Tx::Unpause { modules: vec![Module::SlashClearing, Module::Pods] })]).await;

    // The rebalance after the interval unbonds the place.
    let interval = spec.params.rebalance_interval_blocks;
    c.mine_until(rebalanced_at + interval - 1).await;
    let r = c.block(vec![(k.stakers[6].clone(), Tx::VaultRebalance(VaultRef { vault }))]).await;
    let unbonding = r[0]["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["event"] == "vault_unbonding_queued"))
        .cloned()
        .unwrap_or_else(|| panic!("the place unbonds: {}", r[0]));
    let rebalanced_at = r[0]["height"].as_u64().expect("height");
    let completable = unbonding["completable_at"].as_u64().expect("completable_at");

    // Queued withdrawals complete once the delay has passed: as tokens, and as shares.
    let delay = devnet::params().withdrawal_delay_blocks;
    c.mine_until(queued_at + delay).await;
    c.block(vec![
        (k.stakers[0].clone(), Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true }),
        (k.stakers[1].clone(), Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: false }),
        (k.stakers[2].clone(), Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: false }),
    ])
    .await;
    // The next one, once the unbonding is due, completes it.
    c.mine_until((rebalanced_at + interval).max(completable) - 1).await;
    let r = c.block(vec![(k.stakers[6].clone(), Tx::VaultRebalance(VaultRef { vault }))]).await;
    assert!(
        r[0]["events"].as_array().is_some_and(|e| e.iter().any(|e| e["event"] == "vault_unbonding_completed")),
        "{}",
        r[0]
    );

    // The rate: stETH's price falls 0.9%, more than the rate may fall at once; the rate is
    // quarantined, rejected by the guardian, quarantined again and accepted. The price comes back:
    // the rise is faster than the APR cap allows, so the rate is smoothed.
    let reprice = |round: u64, steth: U256| {
        let mut p = prices.clone();
        p.round = round;
        p.prices[0].price = steth;
        vec![(k.oracle[0].clone(), Tx::VaultReportPrices(p.clone())), (k.oracle[2].clone(), Tx::VaultReportPrices(p))]
    };
    let update = || vec![(k.stakers[7].clone(), Tx::VaultUpdateRate(VaultRef { vault }))];
    c.block(reprice(2, wad * U256::from(991u16) / U256::from(1_000u16))).await;
    c.block(update()).await;
    c.block(vec![(k.governor.clone(), Tx::VaultRejectRate(VaultRef { vault }))]).await;
    c.block(update()).await;
    c.block(vec![(k.governor.clone(), Tx::VaultAcceptRate(VaultRef { vault }))]).await;
    c.block(reprice(3, wad)).await;
    c.block(update()).await;

    // Rewards: splits, a claimer, the fee opt-in; the hour closes, the root is posted and
    // activates; an earner claims through the node's proof.
    c.block(vec![
        (k.operators[1].clone(), Tx::SetOperatorServiceSplit { operator: op(1), service: svc(1), split_bips: 500 }),
        (k.stakers[6].clone(), Tx::SetClaimerFor { earner: staker(6), claimer: Some(staker(7)) }),
        (k.services[3].clone(), Tx::SetProtocolFeeOptIn { submitter: svc(3), opt_in: false }),
    ])
    .await;
    c.advance(3_700).await;
    let (status, posted) = h.post("/v1/dev/rewards-root?wait=false", &json!({})).await;
    assert_eq!(status, 202, "{posted}");
    c.expect(posted["hash"].as_str().expect("hash"), "submit_root", true);
    c.mine().await;
    let activation = devnet::params().rewards_activation_delay_seconds;
    c.advance(activation + 1).await;
    let earners: Vec<(&SigningKey, Address)> =
        k.stakers.iter().chain(&k.operators).map(|key| (key, address_of(key))).collect();
    let mut claimed = false;
    for (key, earner) in earners {
        let (status, proof) = h.client.get(&format!("/v1/rewards/{earner}/proof")).await.expect("transport");
        if status != 200 {
            continue;
        }
        let tx: Tx = serde_json::from_value(json!({"process_claim": proof["body"]})).expect("a process_claim body");
        c.block(vec![(key.clone(), tx)]).await;
        claimed = true;
        break;
    }
    assert!(claimed, "some staker or operator has a claim against the root");
    // Another hour closes; its root is posted and disabled before it activates.
    c.advance(3_600).await;
    let (status, posted) = h.post("/v1/dev/rewards-root?wait=false", &json!({})).await;
    assert_eq!(status, 202, "{posted}");
    c.expect(posted["hash"].as_str().expect("hash"), "submit_root", true);
    c.mine().await;
    c.block(vec![(k.governor.clone(), Tx::DisableRoot { index: 1 })]).await;

    // Permissions, last (an admin replaces the account's own rights): a pending admin withdrawn,
    // another accepted.
    c.block(vec![
        (k.operators[4].clone(), Tx::AddPendingAdmin { account: op(4), admin: gov }),
        (k.operators[4].clone(), Tx::RemovePendingAdmin { account: op(4), admin: gov }),
        (k.operators[4].clone(), Tx::AddPendingAdmin { account: op(4), admin: keeper }),
    ])
    .await;
    c.block(vec![(k.keeper.clone(), Tx::AcceptAdmin { account: op(4) })]).await;
    // The new admin brings the operator back as an admin of itself and steps down.
    c.block(vec![(k.keeper.clone(), Tx::AddPendingAdmin { account: op(4), admin: op(4) })]).await;
    c.block(vec![(k.operators[4].clone(), Tx::AcceptAdmin { account: op(4) })]).await;
    c.block(vec![(k.operators[4].clone(), Tx::RemoveAdmin { account: op(4), admin: keeper })]).await;

    assert_eq!(c.refused, 1, "exactly one transaction was refused on purpose");
    let head = c.head().await;
    let mut kinds = BTreeSet::new();
    let mut refused = Vec::new();
    for height in 1..=head {
        let (status, block) = h.client.get(&format!("/v1/blocks/{height}")).await.expect("transport");
        assert_eq!(status, 200, "{block}");
        let receipts = block["receipts"].as_array().expect("receipts");
        assert!(receipts.len() <= 5, "block {height} is small: {} transactions", receipts.len());
        for r in receipts {
            if r["ok"] != true {
                refused.push(r.clone());
            }
            for e in r["events"].as_array().expect("events") {
                kinds.insert(e["event"].as_str().expect("event name").to_owned());
            }
        }
    }
    assert!(refused.len() == 1 && refused[0]["error"]["name"] == "VetoWindowOpen", "refused: {refused:#?}");
    RichChain { head, kinds }
}

/// Submits over HTTP, mines over HTTP, and checks every receipt.
struct Chain<'a> {
    h: &'a Harness,
    /// Submitted and not yet checked: hash, action (`action:ErrorName` when it must be refused),
    /// whether it must succeed.
    waiting: Vec<(String, String, bool)>,
    /// Refused on purpose so far.
    refused: usize,
}

impl Chain<'_> {
    /// The head's height.
    async fn head(&self) -> u64 {
        let (status, b) = self.h.client.get("/v1/blocks/latest").await.expect("transport");
        assert_eq!(status, 200, "{b}");
        b["header"]["height"].as_u64().expect("height")
    }

    /// Signs `tx` by `key` at its next free nonce and submits it, to be checked at the next
    /// mine: accepted (`ok`) or refused.
    async fn submit(&mut self, key: &SigningKey, tx: &Tx, ok: bool) {
        let (_, nonce) = self.h.node.nonces(&address_of(key));
        let signed = self.h.domain.sign(key, tx, nonce, self.h.node.now() + 600);
        let (status, answer) = self.h.submit(&signed).await;
        let kind = signed.action;
        assert_eq!(status, 202, "{kind} was not admitted: {answer}");
        self.expect(answer["hash"].as_str().expect("hash"), &kind, ok);
    }

    /// Remembers a submitted transaction (`kind`: its action) for the next mine's checks.
    fn expect(&mut self, hash: &str, kind: &str, ok: bool) {
        self.waiting.push((hash.to_owned(), kind.to_owned(), ok));
    }

    /// Submits a transaction the state machine must refuse with `error`; checked at the next mine.
    async fn submit_refused(&mut self, key: &SigningKey, tx: Tx, error: &str) {
        self.submit(key, &tx, false).await;
        if let Some(w) = self.waiting.last_mut() {
            w.1 = format!("{}:{error}", w.1);
        }
        self.refused += 1;
    }

    /// The faucet mints `amount` of `asset` to `to` (committed at the next mine).
    async fn fund(&mut self, to: Address, asset: &str, amount: &str) {
        let body = json!({"address": to.to_string(), "asset": asset, "amount": amount});
        let (status, answer) = self.h.post("/v1/dev/fund?wait=false", &body).await;
        assert_eq!(status, 202, "{answer}");
        self.expect(answer["hash"].as_str().expect("hash"), "mint", true);
    }

    /// Mines one block; checks the receipt of everything waiting; returns them in order.
    async fn mine(&mut self) -> Vec<Value> {
        let (status, mined) = self.h.post("/v1/dev/mine", &json!({})).await;
        assert_eq!(status, 200, "{mined}");
        let mut out = Vec::new();
        for (hash, kind, ok) in std::mem::take(&mut self.waiting) {
            let (status, st) = self.h.client.get(&format!("/v1/tx/{hash}")).await.expect("transport");
            assert_eq!(status, 200, "{st}");
            assert_eq!(st["status"], "committed", "{kind} was not committed: {st}");
            let r = st["receipt"].clone();
            let (action, error) = kind.split_once(':').unwrap_or((&kind, ""));
            assert_eq!(r["action"], action, "{r}");
            if ok {
                assert_eq!(r["ok"], true, "{kind} was refused: {r}");
            } else {
                assert_eq!(r["ok"], false, "{kind} should have been refused: {r}");
                assert_eq!(r["error"]["name"], error, "{r}");
            }
            out.push(r);
        }
        out
    }

    /// Submits every transaction (each must succeed) and mines them in one block.
    async fn block(&mut self, txs: Vec<(SigningKey, Tx)>) -> Vec<Value> {
        for (key, tx) in &txs {
            self.submit(key, tx, true).await;
        }
        self.mine().await
    }

    /// Mines `n` empty blocks.
    async fn mine_n(&mut self, n: u64) {
        assert!(self.waiting.is_empty());
        let (status, mined) = self.h.post("/v1/dev/mine", &json!({"blocks": n})).await;
        assert_eq!(status, 200, "{mined}");
    }

    /// Mines empty blocks until the head is at least `height`.
    async fn mine_until(&mut self, height: u64) {
        let head = self.head().await;
        if head < height {
            self.mine_n(height - head).await;
        }
    }

    /// Moves the clock `seconds` forward, mining a block there.
    async fn advance(&mut self, seconds: u64) {
        assert!(self.waiting.is_empty());
        let (status, moved) = self.h.post("/v1/dev/time", &json!({"advance_seconds": seconds})).await;
        assert_eq!(status, 200, "{moved}");
    }
}

#[test]
fn a_rich_chain_has_the_event_kinds_an_indexer_must_handle() {
    let dir = temp_dir("rich-chain");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let started = Instant::now();
        let h = start(&dir).await;
        let chain = build(&h).await;
        eprintln!(
            "rich chain: {} blocks, {} event kinds in {:.1?}: {:?}",
            chain.head,
            chain.kinds.len(),
            started.elapsed(),
            chain.kinds
        );
        assert!(chain.head >= 30, "{}", chain.head);
        for kind in [
            "transfer",
            "deposit",
            "staker_delegated",
            "operator_shares_increased",
            "operator_slashed",
            "slash_vetoed",
            "withdrawal_queued",
            "withdrawal_completed",
            "rewards_submission_created",
            "distribution_root_submitted",
            "rewards_claimed",
        ] {
            assert!(chain.kinds.contains(kind), "no {kind} in {:?}", chain.kinds);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
