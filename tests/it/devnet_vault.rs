//! The devnet's vault end to end: the workers (`devnet::Workers`, the same code `cairn devnet`
//! runs every 2 s) create it through timelocked governance, price it, set targets with the
//! keeper's optimizer, rebalance, settle the rate, stake and verify validators, serve stakers'
//! deposits, redemptions and tickets — with blocks produced by hand, and every keeper, oracle and
//! governance transaction accepted by the state machine. The API serves it under `/v1/vaults`.

use std::sync::Arc;

use cairn_node::{
    Config, Node, api,
    client::Client,
    devnet::{self, DevKeys, Workers},
    envelope::address_of,
    node::unix_now,
};
use cairn_primitives::VaultId;

#[test]
fn the_devnet_vault_is_created_kept_and_served() {
    let dir = std::env::temp_dir().join(format!("cairn-it-devnet-vault-{}-{}", std::process::id(), unix_now()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = Arc::new(DevKeys::new(40));
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    config.record_rewards = true;
    let node = Node::open(config, &devnet::genesis(&keys)).expect("node opens");
    let mut w = Workers::new(Arc::clone(&node), Arc::clone(&keys));
    // Simulated time ends about now, so the CLI's transactions (which expire by the clock) fit.
    let mut time = unix_now() - 900;
    let block = |t: u64| node.produce_block(t).expect("block");
    while w.seed() {
        block(time);
    }
    let mut keeper_log = Vec::new();
    // About 400 ticks of 2 s (13 minutes of devnet time), one block per tick.
    for _ in 0..400 {
        time += 2;
        keeper_log.extend(w.step(time));
        block(time);
    }
    let s = node.read(|a| a.state().clone());
    let head = node.read(|a| a.head().height);
    // Every governance, oracle and keeper transaction was accepted.
    let trusted: Vec<_> =
        std::iter::once(&keys.governor).chain(&keys.oracle).chain([&keys.keeper]).map(address_of).collect();
    let refused: Vec<_> = (1..=head)
        .flat_map(|h| node.read(|a| a.store().receipts_of(h).expect("receipts")))
        .filter(|r| !r.ok && trusted.contains(&r.sender))
        .map(|r| (r.action, r.error))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:#?}\nkeeper: {keeper_log:#?}");
    let view = s.vault_view(VaultId(0), head, time).expect("the vault exists");
    assert!(view.targets.is_some(), "the keeper set targets: {keeper_log:?}");
    assert!(view.places.len() >= 2, "the rebalance opened places: {:?}", view.places);
    assert!(!view.supply.is_zero() && view.price_round > 3, "{view:?}");
    let settlements = s.vault_rate_history(VaultId(0), 0, 1_000);
    assert!(settlements.len() > 5, "rate settlements: {}; keeper: {keeper_log:#?}", settlements.len());
    assert!(view.settled_rate > cairn_primitives::WAD, "the rate moved: {}", view.settled_rate);
    assert!(
        keeper_log.iter().any(|l| l.starts_with("targets:")) && keeper_log.iter().any(|l| l == "rebalance"),
        "{keeper_log:?}"
    );
    // Validators the vault deposited were reported and verified (the last few may be on their
    // way: a report every 6 ticks, the verification at the next tick).
    let pending = s.vault_places_of(VaultId(0)).iter().map(|(_, p)| p.pending_validators).sum::<u32>();
    let verified = s.pod_validators().len();
    assert!(verified > 0 && pending < 5, "validators: {verified} verified, {pending} pending");
    // Stakers used every tier.
    let actions: Vec<String> = (1..=head)
        .flat_map(|h| node.read(|a| a.store().receipts_of(h).expect("receipts")))
        .filter(|r| r.ok)
        .map(|r| r.action)
        .collect();
    for a in ["vault_deposit", "vault_redeem", "vault_request_withdrawal", "vault_rebalance", "vault_update_rate"] {
        assert!(actions.iter().any(|x| x == a), "no accepted {a}");
    }
    // The API serves it; the CLI's vault verbs and the keeper over HTTP use it.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let base = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(api::serve(Arc::clone(&node), listener));
        let client = Client::new(&base);
        let (status, list) = client.get("/v1/vaults").await.expect("list");
        assert_eq!(status, 200);
        assert_eq!(list[0]["symbol"], "cETH");
        for path in [
            "/v1/vaults/0",
            "/v1/vaults/0/holdings",
            "/v1/vaults/0/policy",
            "/v1/vaults/0/rates",
            "/v1/vaults/0/tickets",
        ] {
            let (status, v) = client.get(path).await.expect(path);
            assert_eq!(status, 200, "{path}: {v}");
        }
        let (_, rates) = client.get("/v1/vaults/0/rates").await.expect("rates");
        assert!(rates["settlements"].as_array().is_some_and(|s| !s.is_empty()));
        assert_eq!(rates["apr_7d"]["window_seconds"], 7 * 86_400);
        let (status, e) = client.get("/v1/vaults/9").await.expect("unknown");
        assert_eq!((status, e["error"].as_str()), (404, Some("NotFound")));
        let (status, e) = client.get("/v1/vaults/x").await.expect("bad");
        assert_eq!((status, e["error"].as_str()), (400, Some("BadVault")));
        let (status, doc) = client.get("/openapi.json").await.expect("openapi");
        assert_eq!(status, 200);
        assert!(doc["paths"]["/v1/vaults/{id}/tickets"].is_object());
        base
    });
    let producer = node.spawn_producer();
    use cairn_cli::vault as cli;
    let key = keys.stakers[1].clone();
    let me = address_of(&key).to_string();
    let w = cli::Write { node: &base, key: &key, vault: 0, wait: true };
    let shown = cli::show(&base, 0).expect("show");
    assert_eq!(shown["symbol"], "cETH");
    let dep = cli::deposit(&w, "stETH", "2e18", "0").expect("deposit");
    assert_eq!(dep["status"]["receipt"]["ok"], true, "{dep}");
    let pos = cli::position(&base, 0, &me).expect("position");
    assert!(pos["shares"].as_str().is_some_and(|s| s != "0"), "{pos}");
    let refused = cli::deposit(&w, "stETH", "1", "0").expect_err("below the minimum");
    assert!(refused.to_string().contains("BelowMinimum"), "{refused}");
    assert!(cli::deposit(&w, "NOPE", "1e18", "0").is_err());
    let req = cli::request(&w, "1e18", "stETH", "0").expect("request");
    assert_eq!(req["status"]["receipt"]["ok"], true, "{req}");
    let tickets = cli::tickets(&base, 0, Some(&me)).expect("tickets");
    assert!(tickets.as_array().is_some_and(|t| !t.is_empty()), "{tickets}");
    let e = cli::claim(&w, 999_999).expect_err("no such ticket");
    assert!(e.to_string().contains("UnknownTicket"), "{e}");
    assert!(cli::rates(&base, 0).expect("rates")["settlements"].is_array());
    assert!(cli::policy(&base, 0).expect("policy")["exposure"]["by_service"].is_array());
    // One round of the keeper over HTTP, with two committee keys and the devnet's price feed.
    let mut chain =
        cairn_cli::keeper::HttpChain::new(&base, keys.keeper.clone(), keys.oracle[..2].to_vec()).expect("chain");
    let mut bot = devnet_vault_bot();
    let done = cairn_cli::keeper::run(&mut chain, &mut bot, true, std::time::Duration::from_millis(10), true)
        .expect("a round");
    assert!(
        done.as_array().is_some_and(|d| d.iter().any(|l| l.as_str().is_some_and(|l| l.starts_with("price round")))),
        "{done}"
    );
    node.stop();
    let _ = producer.join();
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}

fn devnet_vault_bot() -> cairn_keeper::bot::Bot {
    cairn_node::devnet_vault::bot()
}
