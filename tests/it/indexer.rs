//! The indexer (crates/indexer) against a real PostgreSQL (`indexer/pg.rs`): every indexed row
//! equals the node's own answer; a SIGKILLed indexer resumes to the same database as an
//! uninterrupted one; a lying node is refused with nothing written.

mod pg;
mod proxy;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use cairn_indexer::{IndexError, Indexer, families, verify::BadBlock};
use cairn_node::client::Client;
use serde_json::Value;
use tokio_postgres::NoTls;

use self::pg::Pg;

/// A runtime for one test.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A client of `url` for reading.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (db, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    db
}

/// A `blocks` row: hash, parent, unix time twice (column and timestamp), roots, count.
type BlockRow = (Vec<u8>, Vec<u8>, i64, i64, Vec<u8>, Vec<u8>, Vec<u8>, i32);

/// Compares every indexed block, transaction and event up to `head` with the node's answers, row
/// by row, and that no table holds more rows than the node served. Returns the events compared.
async fn assert_same_as_node(db: &tokio_postgres::Client, node: &Client, head: u64) -> usize {
    let mut events = 0;
    let mut txs = 0;
    for h in 0..=head {
        let block = cairn_indexer::fetch(node, h).await.expect("the node serves the block");
        let hi = i64::try_from(h).expect("height");
        let row = db
            .query_one(
                "SELECT hash, parent_hash, unix_time, extract(epoch FROM time)::bigint, tx_root, receipt_root, state_hash, tx_count \
                 FROM blocks WHERE height = $1",
                &[&hi],
            )
            .await
            .unwrap_or_else(|e| panic!("block {h} is indexed: {e}"));
        let hdr = &block.header;
        let got: BlockRow =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5), row.get(6), row.get(7));
        let time = i64::try_from(hdr.time).expect("time");
        let want = (
            block.hash.to_vec(),
            hdr.parent_hash.to_vec(),
            time,
            time,
            hdr.tx_root.to_vec(),
            hdr.receipt_root.to_vec(),
            hdr.state_hash.to_vec(),
            i32::try_from(hdr.tx_count).expect("count"),
        );
        assert_eq!(got, want, "block {h}");
        let rows = db
            .query(
                "SELECT tx_index, hash, sender, nonce::text, chain_id::text, expiry::text, action, body::text, signature, ok, \
                 error_name, error_message, event_count FROM transactions WHERE height = $1 ORDER BY tx_index",
                &[&hi],
            )
            .await
            .expect("transactions");
        assert_eq!(rows.len(), block.txs.len(), "block {h}: transactions");
        for ((row, tx), r) in rows.iter().zip(&block.txs).zip(&block.receipts) {
            let body: Value = serde_json::from_str(row.get::<_, &str>(7)).expect("jsonb");
            // jsonb cannot hold NUL: the indexer stores it as U+FFFD there.
            let want_body = families::pg_json(&serde_json::from_str(&tx.body).expect("body")).into_owned();
            assert_eq!(row.get::<_, i32>(0), i32::try_from(r.index).expect("index"), "block {h}");
            assert_eq!(row.get::<_, Vec<u8>>(1), r.tx_hash.to_vec(), "block {h} tx {}", r.index);
            assert_eq!(row.get::<_, Vec<u8>>(2), tx.from.to_vec());
            assert_eq!(row.get::<_, String>(3), tx.nonce.to_string());
            assert_eq!(row.get::<_, String>(4), tx.chain_id.to_string());
            assert_eq!(row.get::<_, String>(5), tx.expiry.to_string());
            assert_eq!(row.get::<_, String>(6), tx.action);
            assert_eq!(body, want_body);
            assert_eq!(
                alloy_primitives::hex::encode_prefixed(row.get::<_, Vec<u8>>(8)),
                tx.signature.to_ascii_lowercase()
            );
            assert_eq!(row.get::<_, bool>(9), r.ok);
            let error = r.error.as_ref().map(|e| (e.name.clone(), e.message.clone()));
            assert_eq!(row.get::<_, Option<String>>(10).zip(row.get::<_, Option<String>>(11)), error);
            assert_eq!(row.get::<_, i32>(12), i32::try_from(r.events.len()).expect("events"));
        }
        txs += rows.len();
        let mut indexed = Vec::new();
        for family in families::FAMILIES {
            let cols: Vec<String> = families::columns(family).into_iter().map(|(c, _)| format!("{c}::text")).collect();
            let sql = format!(
                "SELECT tx_index, event_index, event, {} FROM {} WHERE height = $1",
                cols.join(", "),
                family.table
            );
            for row in db.query(&sql, &[&hi]).await.expect("events") {
                let name: String = row.get(2);
                let (fam, kind) = families::kind(&name).expect("a known event");
                assert_eq!(fam.table, family.table, "{name} is in its family's table");
                let cells: Vec<Option<String>> = (3..row.len()).map(|i| row.get(i)).collect();
                let event = families::decode(fam, kind, &cells).expect("decodes");
                indexed.push(((row.get::<_, i32>(0), row.get::<_, i32>(1)), event));
            }
        }
        indexed.sort_by_key(|(k, _)| *k);
        let served: Vec<((i32, i32), Value)> = block
            .receipts
            .iter()
            .flat_map(|r| {
                r.events
                    .iter()
                    .enumerate()
                    .map(move |(i, e)| ((i32::try_from(r.index).expect("i"), i32::try_from(i).expect("i")), e.clone()))
            })
            .collect();
        assert_eq!(indexed.len(), served.len(), "block {h}: events");
        for ((got_at, got), (want_at, want)) in indexed.iter().zip(&served) {
            assert_eq!(got_at, want_at, "block {h}: event position");
            // PostgreSQL cannot hold NUL: the mirror has U+FFFD in its place.
            assert_eq!(got, families::pg_json(want).as_ref(), "block {h}: event");
        }
        events += served.len();
    }
    let count = |sql: String| async move { db.query_one(&sql, &[]).await.expect("count").get::<_, i64>(0) };
    assert_eq!(count("SELECT count(*) FROM blocks".into()).await, i64::try_from(head + 1).expect("n"));
    assert_eq!(count("SELECT count(*) FROM transactions".into()).await, i64::try_from(txs).expect("n"));
    let mut all = 0;
    for family in families::FAMILIES {
        all += count(format!("SELECT count(*) FROM {}", family.table)).await;
    }
    assert_eq!(all, i64::try_from(events).expect("n"), "no event row beyond the node's");
    events
}

/// A rich chain (tests/it/rich_chain.rs) on a node served over HTTP.
async fn rich_node(tag: &str) -> (crate::node::Harness, u64, std::collections::BTreeSet<String>) {
    let dir = crate::node::temp_dir(tag);
    let h = crate::rich_chain::start(&dir).await;
    let chain = crate::rich_chain::build(&h).await;
    (h, chain.head, chain.kinds)
}

/// The indexed height in the database (None before the first block, or before the schema).
fn indexed_height(pg: &Pg) -> Option<u64> {
    pg.try_sql("SELECT height FROM indexer_state").ok()?.trim().parse().ok()
}

/// Kills in the kill test before the run that is left to finish.
const KILL_ROUNDS: u64 = 6;

#[test]
fn every_indexed_row_equals_the_nodes_answer_and_the_follower_keeps_up() {
    let pg = Pg::new("rows");
    runtime().block_on(async {
        let (h, head, kinds) = rich_node("idx-rows").await;
        let base = h.client.base().to_owned();
        let mut ix = Indexer::connect(&base, &pg.url).await.expect("connect");
        assert!(!ix.fk_checks(), "the test cluster's superuser skips the per-row checks");
        let p = ix.catch_up(head).await.expect("catch up");
        assert_eq!(p.blocks, head + 1);
        let db = connect(&pg.url).await;
        let compared = assert_same_as_node(&db, &h.client, head).await;
        assert_eq!(u64::try_from(compared).expect("n"), p.events);
        // Every kind the chain produced has rows in its table.
        for kind in &kinds {
            let (family, _) = families::kind(kind).expect("a known kind");
            let n = pg.sql(&format!("SELECT count(*) FROM {} WHERE event = '{kind}'", family.table));
            assert!(n.trim() != "0", "{kind} has no rows in {}", family.table);
        }
        // Following: blocks mined after the catch-up are indexed as the node announces them.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let follower = tokio::spawn(async move {
            ix.follow(async {
                let _ = stopped.await;
            })
            .await
            .expect("follow");
            ix
        });
        // Strings with NUL, which PostgreSQL cannot store: an accepted transaction whose event
        // carries one, a refused one whose body does, then an empty block.
        let key = cairn_node::envelope::dev_key("cairn/it/indexer/nul");
        // The rich chain's clock runs hours ahead of the wall clock.
        let (_, health) = h.client.get("/health").await.expect("health");
        let expiry = health["now"].as_u64().expect("the node's time") + 3_600;
        let operator = cairn_node::envelope::address_of(&key);
        let nul_txs = [
            cairn_state::Tx::RegisterService { metadata_uri: "https://nul\u{0}.example".into() },
            cairn_state::Tx::UpdateOperatorMetadata { operator, metadata_uri: "a\u{0}b".into() },
        ];
        for (nonce, tx) in nul_txs.iter().enumerate() {
            let signed = h.domain.sign(&key, tx, nonce as u64, expiry);
            let (status, answer) = h.submit(&signed).await;
            assert!(status < 300, "{answer}");
            let (status, _) = h.post("/v1/dev/mine", &serde_json::json!({"blocks": 1})).await;
            assert_eq!(status, 200);
        }
        let (status, _) = h.post("/v1/dev/mine", &serde_json::json!({"blocks": 1})).await;
        assert_eq!(status, 200);
        let new_head = head + 3;
        let started = Instant::now();
        while indexed_height(&pg) != Some(new_head) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the follower is at {:?}, the node at {new_head}",
                indexed_height(&pg)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // At the head, the follower took today's snapshot (of the chain's day); a block a day
        // later brings the next one.
        // The snapshot is written after the block that brought the follower to the head.
        let started = Instant::now();
        while pg.sql("SELECT count(*) FROM snapshots").trim() != "1" {
            assert!(started.elapsed() < Duration::from_secs(30), "no snapshot at the head");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let nul = pg.sql("SELECT metadata_uri FROM ev_operator_set WHERE event = 'service_registered' AND metadata_uri LIKE 'https://nul%'");
        assert_eq!(nul.trim(), "https://nul\u{FFFD}.example", "a NUL is stored as U+FFFD");
        let refused =
            pg.sql("SELECT ok, body->>'metadata_uri' FROM transactions WHERE action = 'update_operator_metadata' AND NOT ok");
        assert_eq!(refused.trim(), "f|a\u{FFFD}b", "the refused body, U+FFFD in jsonb");
        let (status, _) = h.post("/v1/dev/time", &serde_json::json!({"advance_seconds": 86_400})).await;
        assert_eq!(status, 200);
        let (status, _) = h.post("/v1/dev/mine", &serde_json::json!({"blocks": 1})).await;
        assert_eq!(status, 200);
        let started = Instant::now();
        while pg.sql("SELECT count(*) FROM snapshots").trim() != "2" {
            assert!(started.elapsed() < Duration::from_secs(30), "no snapshot for the next day");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
        let ix = follower.await.expect("follower");
        let final_head = ix.node_head().await.expect("head");
        assert!(final_head > new_head);
        assert_eq!(ix.indexed().map(|(h, _)| h), Some(final_head));
        assert_same_as_node(&db, &h.client, final_head).await;
        assert_snapshot_is_the_nodes(&pg, &h.client).await;
        // The check views recompute from the events what the snapshots read from the node.
        for view in ["check_operator_shares", "check_positions"] {
            let rows = pg.sql(&format!("SELECT count(*) FROM {view}"));
            assert_ne!(rows.trim(), "0", "{view} compares something");
            let wrong = pg.sql(&format!("SELECT * FROM {view} WHERE NOT equal"));
            assert_eq!(wrong, "", "{view}: events and snapshots disagree");
        }
        assert_views_run_and_agree(&pg, &h.client).await;
        assert_named_columns(&pg, &h.client, final_head).await;
        // The foreign keys bind every other writer.
        let orphan =
            pg.try_sql("INSERT INTO ev_token (height, tx_index, event_index, event) VALUES (999999, 0, 0, 'transfer')");
        assert!(orphan.is_err_and(|e| e.contains("foreign key")), "an event without its transaction is refused");
    });
}

/// Every view runs, and `operator_stake` (from the events) equals the node's operator shares.
async fn assert_views_run_and_agree(pg: &Pg, node: &Client) {
    let views = pg.sql("SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1");
    assert!(views.lines().count() >= 11, "the views: {views}");
    for view in views.lines() {
        pg.sql(&format!("SELECT count(*) FROM {view}"));
    }
    let (_, ops) = node.get("/v1/operators").await.expect("operators");
    let mut want = Vec::new();
    for op in ops.as_array().expect("list") {
        for st in op["strategies"].as_array().expect("strategies") {
            let shares = st["shares"].as_str().expect("shares");
            if shares != "0" {
                want.push(format!("{}|{}|{shares}", op["operator"].as_str().expect("address"), st["strategy"]));
            }
        }
    }
    want.sort();
    let got = pg.sql(
        "SELECT '0x' || encode(operator, 'hex') || '|' || strategy || '|' || shares FROM operator_stake \
         WHERE shares <> 0 ORDER BY 1",
    );
    assert_eq!(got.lines().map(str::to_owned).collect::<Vec<_>>(), want, "operator_stake is /v1/operators");
}

/// An event kind, its table, and (SQL expression, JSON path) pairs to compare.
type NamedCheck<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A few events read back by their documented column names (not through the crate's decoder, so
/// a mapping wrong in both directions shows): the first transfer, deposit and operator slash.
async fn assert_named_columns(pg: &Pg, node: &Client, head: u64) {
    let checks: [NamedCheck<'_>; 3] = [
        (
            "transfer",
            "ev_token",
            &[
                ("'0x' || encode(from_address, 'hex')", "from"),
                ("'0x' || encode(to_address, 'hex')", "to"),
                ("amount", "amount"),
                ("asset", "asset"),
            ],
        ),
        (
            "deposit",
            "ev_strategy",
            &[
                ("'0x' || encode(staker, 'hex')", "staker"),
                ("strategy", "strategy"),
                ("amount", "amount"),
                ("shares", "shares"),
            ],
        ),
        (
            "operator_slashed",
            "ev_slashing",
            &[
                ("'0x' || encode(operator, 'hex')", "operator"),
                ("'0x' || encode(set_service, 'hex')", "set.service"),
                ("set_id", "set.id"),
                ("slash_id", "slash_id"),
                ("array_to_string(wad_slashed, ',')", "wad_slashed"),
                ("description", "description"),
            ],
        ),
    ];
    for (kind, table, cols) in checks {
        let mut first = None;
        'blocks: for h in 1..=head {
            let block = cairn_indexer::fetch(node, h).await.expect("block");
            for r in &block.receipts {
                if let Some(e) = r.events.iter().find(|e| e["event"] == kind) {
                    first = Some(e.clone());
                    break 'blocks;
                }
            }
        }
        let event = first.unwrap_or_else(|| panic!("the chain has a {kind}"));
        let select: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        let got = pg.sql(&format!(
            "SELECT {} FROM {table} WHERE event = '{kind}' ORDER BY height, tx_index, event_index LIMIT 1",
            select.join(" || '|' || ")
        ));
        let want: Vec<String> = cols
            .iter()
            .map(|(_, key)| {
                let v = key.split('.').fold(&event, |v, k| &v[k]);
                match v {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                }
            })
            .collect();
        assert_eq!(got.trim(), want.join("|"), "{kind}'s columns by name");
    }
}

/// The newest snapshot equals the node's answers now (the node has not moved since).
async fn assert_snapshot_is_the_nodes(pg: &Pg, node: &Client) {
    let day = pg.sql("SELECT max(day) FROM snapshots");
    let day = day.trim();
    let (_, ops) = node.get("/v1/operators").await.expect("operators");
    let mut want = Vec::new();
    for op in ops.as_array().expect("list") {
        for st in op["strategies"].as_array().expect("strategies") {
            want.push(format!(
                "{}|{}|{}",
                op["operator"].as_str().expect("address"),
                st["strategy"],
                st["shares"].as_str().expect("shares")
            ));
        }
    }
    want.sort();
    let got = pg.sql(&format!(
        "SELECT '0x' || encode(operator, 'hex') || '|' || strategy || '|' || shares FROM snap_operator_shares \
         WHERE day = '{day}' ORDER BY 1"
    ));
    let got: Vec<String> = got.lines().map(str::to_owned).collect();
    assert_eq!(got, want, "snap_operator_shares of {day} is the node's /v1/operators");
    let stakers =
        pg.sql(&format!("SELECT DISTINCT '0x' || encode(staker, 'hex') FROM snap_positions WHERE day = '{day}'"));
    let mut checked = 0;
    for staker in stakers.lines().take(20) {
        let (_, v) = node.get(&format!("/v1/stakers/{staker}")).await.expect("staker");
        for p in v["positions"].as_array().expect("positions") {
            let row = pg.sql(&format!(
                "SELECT deposit_shares || '|' || withdrawable_shares FROM snap_positions \
                 WHERE day = '{day}' AND staker = decode('{}', 'hex') AND strategy = {}",
                &staker[2..],
                p["strategy"]
            ));
            let want = format!(
                "{}|{}",
                p["deposit_shares"].as_str().expect("d"),
                p["withdrawable_shares"].as_str().expect("w")
            );
            assert_eq!(row.trim(), want, "{staker} in strategy {}", p["strategy"]);
            checked += 1;
        }
    }
    assert!(checked > 0, "positions were compared");
    // Every strategy, genesis ones included, and the parameters: what the views fall back on.
    let strategies = pg.sql(&format!(
        "SELECT strategy || '|' || asset || '|' || total_shares FROM snap_strategies WHERE day = '{day}' ORDER BY strategy"
    ));
    assert!(strategies.lines().count() >= 4, "the genesis strategies: {strategies}");
    for row in strategies.lines() {
        let id: u64 = row.split('|').next().and_then(|x| x.parse().ok()).expect("a strategy");
        let (_, v) = node.post("/v1/query", &serde_json::json!({"strategy": {"strategy": id}})).await.expect("query");
        assert_eq!(row, format!("{id}|{}|{}", v["asset"], v["total_shares"].as_str().expect("shares")));
    }
    let (_, params) = node.post("/v1/query", &serde_json::json!({"params": {}})).await.expect("params");
    let delay = pg.sql(&format!("SELECT params->>'withdrawal_delay_blocks' FROM snap_params WHERE day = '{day}'"));
    assert_eq!(delay.trim(), params["withdrawal_delay_blocks"].to_string());
    assert_eq!(
        pg.sql("SELECT count(*) FROM tvl_daily WHERE asset IS NULL").trim(),
        "0",
        "every strategy's asset is known"
    );
    let delays = pg.sql("SELECT DISTINCT delay_blocks FROM withdrawal_queue");
    let want_delay = params["withdrawal_delay_blocks"].to_string();
    assert!(delays.lines().all(|d| d == want_delay), "{delays}");
    // The vault's APR by source, as the node attributes it.
    let (_, rates) = node.get("/v1/vaults/0/rates").await.expect("rates");
    let mut want = Vec::new();
    for (key, days) in [("apr_7d", 7), ("apr_30d", 30)] {
        if let Some(total) = rates[key]["apr_bps"].as_i64() {
            want.push(format!("{days}|total|{total}"));
        }
        for pair in rates[key]["by_source"].as_array().expect("by_source") {
            let kind = pair[0].as_str().map_or_else(
                || pair[0].as_object().and_then(|o| o.keys().next().cloned()).expect("a one-key source"),
                str::to_owned,
            );
            want.push(format!("{days}|{kind}|{}", pair[1]));
        }
    }
    want.sort();
    let got = pg.sql(&format!(
        "SELECT window_days || '|' || source_kind || '|' || apr_bps FROM apr_vault_by_source \
         WHERE day = '{day}' AND vault = 0 ORDER BY 1"
    ));
    assert_eq!(got.lines().map(str::to_owned).collect::<Vec<_>>(), want, "apr_vault_by_source is the node's");
    eprintln!("apr_vault_by_source: {} rows on {day}", want.len());
}

/// The child of the kill test: indexes the node at `CAIRN_INDEX_CHILD_NODE` into
/// `CAIRN_INDEX_CHILD_PG` up to its head, then exits. Run only by that test.
#[test]
#[ignore = "run by a_killed_indexer_resumes_to_the_database_of_an_uninterrupted_one"]
fn index_child() {
    let (Ok(node), Ok(pg)) = (std::env::var("CAIRN_INDEX_CHILD_NODE"), std::env::var("CAIRN_INDEX_CHILD_PG")) else {
        return;
    };
    runtime().block_on(async {
        let mut ix = Indexer::connect(&node, &pg).await.expect("connect").with_prefetch(2);
        let head = ix.node_head().await.expect("head");
        ix.catch_up(head).await.expect("catch up");
    });
}

#[test]
fn a_killed_indexer_resumes_to_the_database_of_an_uninterrupted_one() {
    let whole = Pg::new("whole");
    let seed: u64 = std::env::var("CAIRN_INDEX_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| cairn_node::node::unix_now() % 10_000);
    eprintln!("indexer kill loop: seed {seed} (CAIRN_INDEX_KILL_SEED={seed} repeats the kill points)");
    let rt = runtime();
    let (h, head, _) = rt.block_on(rich_node("idx-kill"));
    let base = h.client.base().to_owned();
    let t = Instant::now();
    rt.block_on(async {
        let mut ix = Indexer::connect(&base, &whole.url).await.expect("connect");
        ix.catch_up(head).await.expect("catch up");
    });
    let span = t.elapsed().as_millis();
    // xorshift from the seed (never zero, which would stay zero).
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n.max(1)
    };
    // A child may finish before a kill lands (a loaded machine's polling is late): then the
    // loop starts over on a new database, at most three times.
    for attempt in 0..3 {
        let killed = Pg::new("killed");
        let kills = kill_loop(&rt, &base, head, &killed, &mut next);
        eprintln!("indexer kill loop: {kills} SIGKILLs over a {span} ms catch-up, then caught up to {head}");
        if kills < KILL_ROUNDS / 3 && attempt < 2 {
            continue;
        }
        assert!(kills >= KILL_ROUNDS / 3, "only {kills} kills landed before the end, three times");
        assert_eq!(killed.dump(), whole.dump(), "the resumed database equals the uninterrupted one");
        break;
    }
    drop(h);
}

/// Runs the indexer child into `killed` again and again, SIGKILLing it at kill points drawn
/// from `next`, until a run finishes; checks the indexed height never goes back and ends at
/// `head`. Returns the kills that landed.
fn kill_loop(
    rt: &tokio::runtime::Runtime,
    base: &str,
    head: u64,
    killed: &Pg,
    next: &mut impl FnMut(u64) -> u64,
) -> u64 {
    let exe = std::env::current_exe().expect("test binary");
    // One reading session, polled every few milliseconds (a table not yet created reads as None).
    let db = rt.block_on(connect(&killed.url));
    let indexed = || {
        let row = rt.block_on(db.query_opt("SELECT height FROM indexer_state", &[])).ok().flatten()?;
        u64::try_from(row.get::<_, i64>(0)).ok()
    };
    let mut last = None;
    let mut kills = 0;
    for round in 0..KILL_ROUNDS + 1 {
        let mut child = Command::new(&exe)
            .args(["--exact", "indexer::index_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env("CAIRN_INDEX_CHILD_NODE", base)
            .env("CAIRN_INDEX_CHILD_PG", &killed.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the indexer child");
        // A kill point: once the child has written past a height between where it starts and
        // a third of the way to the head, after up to 10 ms more (mid-transaction, often). The
        // last round is left to finish.
        let from = last.map_or(0, |h| h + 1);
        let target = (round < KILL_ROUNDS && from < head).then(|| from + next((head - from) / 3 + 1));
        let extra = Duration::from_millis(next(10));
        let started = Instant::now();
        let mut reached: Option<Instant> = None;
        let finished = loop {
            if let Some(status) = child.try_wait().expect("child") {
                assert!(status.success(), "the indexer child failed: {status}");
                break true;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "the indexer child hangs");
            if let Some(target) = target
                && reached.is_none()
                && indexed().is_some_and(|h| h >= target)
            {
                reached = Some(Instant::now());
            }
            if reached.is_some_and(|t| t.elapsed() >= extra) {
                child.kill().expect("SIGKILL");
                child.wait().expect("reaped");
                kills += 1;
                break false;
            }
            std::thread::sleep(Duration::from_millis(3));
        };
        let now = indexed();
        assert!(now >= last, "the indexed height went back from {last:?} to {now:?}");
        last = now;
        if finished {
            break;
        }
    }
    assert_eq!(last, Some(head), "the killed indexer finished");
    kills
}

#[test]
fn a_lying_node_is_refused_and_nothing_is_written() {
    runtime().block_on(async {
        let (a, head, _) = rich_node("idx-lie-a").await;
        // Another chain from the same genesis: empty blocks, so its block 1 already differs.
        let b = crate::rich_chain::start(&crate::node::temp_dir("idx-lie-b")).await;
        let (status, _) = b.post("/v1/dev/mine", &serde_json::json!({"blocks": 8})).await;
        assert_eq!(status, 200);
        let real = a.client.base().to_owned();
        let cases = [
            (proxy::Lie::ServesTheNextBlock { from: 5 }, "OutOfOrder"),
            (proxy::Lie::SplicesAnotherChain { from: 5, other: b.client.base().to_owned() }, "WrongParent"),
            (proxy::Lie::EditsAnEvent { at: first_block_with_events(&a.client, 5, head).await }, "Root"),
        ];
        for (lie, want) in cases {
            let pg = Pg::new("lie");
            let mut ix = Indexer::connect(&real, &pg.url).await.expect("connect");
            // The honest part with the foreign keys checked on every row too.
            ix.keep_fk_checks().await.expect("checks on");
            assert!(ix.fk_checks());
            let before_lie = match &lie {
                proxy::Lie::EditsAnEvent { at } => *at - 1,
                _ => 4,
            };
            ix.catch_up(before_lie).await.expect("the honest part");
            drop(ix);
            let dump = pg.dump();
            let url = proxy::start(&real, lie.clone()).await;
            let mut ix = Indexer::connect(&url, &pg.url).await.expect("connect");
            let err = ix.catch_up(head).await.expect_err("refused");
            let named = match &err {
                IndexError::BadBlock(BadBlock::OutOfOrder { expected: 5, got: 6 }) => "OutOfOrder",
                IndexError::BadBlock(BadBlock::WrongParent { height: 5, below: 4, .. }) => "WrongParent",
                IndexError::BadBlock(BadBlock::Root { root: "receipt_root", .. }) => "Root",
                _ => "other",
            };
            assert_eq!(named, want, "{lie:?}: {err}");
            eprintln!("refused as expected: {err}");
            assert_eq!(ix.indexed().map(|(h, _)| h), Some(before_lie));
            drop(ix);
            assert_eq!(pg.dump(), dump, "{lie:?}: nothing was written");
        }
    });
}

#[test]
fn a_database_failure_mid_block_writes_nothing_and_the_same_session_goes_on() {
    let pg = Pg::new("midblock");
    runtime().block_on(async {
        let (h, head, _) = rich_node("idx-midblock").await;
        let mut n = None;
        for height in 1..=head {
            let block = cairn_indexer::fetch(&h.client, height).await.expect("block");
            if block.receipts.iter().flat_map(|r| &r.events).any(|e| e["event"] == "transfer") {
                n = Some(height);
                break;
            }
        }
        let n = n.expect("a block with a transfer");
        let mut ix = Indexer::connect(h.client.base(), &pg.url).await.expect("connect");
        ix.catch_up(n - 1).await.expect("up to the block before");
        let before = pg.dump();
        // The block's `transactions` COPY succeeds, then its `ev_token` COPY fails.
        pg.sql(&format!("ALTER TABLE ev_token ADD CONSTRAINT refuse_one_block CHECK (height <> {n})"));
        let err = ix.catch_up(head).await.expect_err("the write fails");
        let text = err.to_string();
        assert!(matches!(err, IndexError::Write(_)), "{text}");
        assert!(text.contains(&format!("writing block {n}")) && text.contains("refuse_one_block"), "{text}");
        assert_eq!(ix.indexed().map(|(h, _)| h), Some(n - 1));
        assert_eq!(pg.dump(), before, "nothing of block {n} was written");
        pg.sql("ALTER TABLE ev_token DROP CONSTRAINT refuse_one_block");
        let p = ix.catch_up(head).await.expect("the same session goes on");
        assert_eq!(p.blocks, head - n + 1);
        assert_same_as_node(&connect(&pg.url).await, &h.client, head).await;
    });
}

/// The first block at or after `from` whose receipts hold an event with an amount.
async fn first_block_with_events(node: &Client, from: u64, head: u64) -> u64 {
    for h in from..=head {
        let block = cairn_indexer::fetch(node, h).await.expect("block");
        let has = block.receipts.iter().any(|r| {
            r.events.first().is_some_and(|e| ["amount", "shares", "tokens"].iter().any(|k| e.get(k).is_some()))
        });
        if has {
            return h;
        }
    }
    panic!("no block with an amount event after {from}");
}
