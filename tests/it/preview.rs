//! `POST /v1/tx/simulate` (a transaction's effect before signing, the state unchanged) and the
//! wallet's JSON-RPC calls on `/rpc` and `/`.

use cairn_node::envelope::{address_of, encode_tx};
use cairn_risk::{
    Options, Ratio,
    from_state::{declared_sets, graph_from_state},
    report,
};
use serde_json::{Value, json};

use crate::node::{deposit, eth, expect_error, reqwest_text, start, temp_dir};

fn intent(from: &str, tx: &cairn_state::Tx) -> Value {
    let (action, body) = encode_tx(tx);
    json!({"from": from, "action": action, "body": body})
}

#[test]
fn a_preview_shows_the_events_and_position_change_and_changes_nothing() {
    let dir = temp_dir("preview");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        let staker = address_of(&h.keys.stakers[0]).to_string();
        let state = || async { h.client.get("/v1/state").await.expect("state").1["full_state_hash"].clone() };
        let before_hash = state().await;

        let (status, preview) = h.post("/v1/tx/simulate", &intent(&staker, &deposit(5))).await;
        assert_eq!(status, 200, "{preview}");
        assert_eq!(preview["ok"], true, "{preview}");
        assert_eq!(preview["at"]["height"], 1);
        let events = preview["events"].as_array().expect("events").clone();
        assert!(events.iter().any(|e| e["event"] == "deposit"), "{preview}");
        assert_eq!(preview["before"]["staker"]["positions"], json!([]), "no position before");
        let after = &preview["after"]["staker"]["positions"][0];
        assert_eq!(after["strategy"], 1);
        assert_eq!(after["withdrawable_tokens"], eth(5).to_string(), "{preview}");
        let steth = |v: &Value| v["balances"].as_array().and_then(|b| b.iter().find(|x| x["asset"] == 1).cloned());
        assert_ne!(steth(&preview["before"]), steth(&preview["after"]), "the balance moves in the preview");
        assert_eq!(state().await, before_hash, "the preview changed the state");

        // The same transaction signed and committed gives the events the preview showed.
        let (status, answer) = h.submit(&h.sign(0, &deposit(5), 0)).await;
        assert_eq!(status, 202, "{answer}");
        h.block();
        let hash = answer["hash"].as_str().expect("hash");
        let (_, committed) = h.client.get(&format!("/v1/tx/{hash}")).await.expect("status");
        assert_eq!(committed["receipt"]["events"], Value::Array(events), "preview and receipt agree");

        // The body may also be the object itself.
        let object = json!({"from": staker, "action": "deposit", "body": {"strategy": 1, "amount": "1000"}});
        let (status, preview) = h.post("/v1/tx/simulate", &object).await;
        assert_eq!((status, &preview["ok"]), (200, &json!(true)), "{preview}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_preview_names_the_error_and_bad_input_is_a_400() {
    let dir = temp_dir("preview-bad");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        let staker = address_of(&h.keys.stakers[0]).to_string();
        let hash = h.client.get("/v1/state").await.expect("state").1["full_state_hash"].clone();

        let (status, preview) = h.post("/v1/tx/simulate", &intent(&staker, &deposit(1_000_000))).await;
        assert_eq!(status, 200, "{preview}");
        assert_eq!(preview["ok"], false, "{preview}");
        assert!(preview["error"].as_str().is_some_and(|e| !e.is_empty()), "{preview}");
        assert!(preview["message"].as_str().is_some_and(|m| m.contains("1000000")), "names the amount: {preview}");
        assert!(preview.get("after").is_none());

        let cases = [
            (json!({"from": "0x12", "action": "deposit", "body": "{}"}), "BadAddress"),
            (json!({"from": staker, "action": "no_such_action", "body": "{}"}), "UnknownAction"),
            (json!({"from": staker, "action": "deposit", "body": [1, 2]}), "BadBody"),
            (json!({"from": staker, "action": "deposit", "body": {"strategy": "x"}}), "BadBody"),
        ];
        for (body, name) in cases {
            let answer = h.post("/v1/tx/simulate", &body).await;
            expect_error(&answer, 400, name);
        }
        let unknown = json!({"from": staker, "action": "deposit", "body": "{}", "nonce": 3});
        expect_error(&h.post("/v1/tx/simulate", &unknown).await, 422, "MalformedBody");
        let after = h.client.get("/v1/state").await.expect("state").1["full_state_hash"].clone();
        assert_eq!(after, hash, "nothing changed");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wallet_adds_the_network_over_json_rpc_and_unknown_calls_get_rpc_errors() {
    let dir = temp_dir("rpc");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        h.block();
        let call = |method: &str, id: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": []});
        for path in ["/rpc", "/"] {
            let (status, v) = h.post(path, &call("eth_chainId", json!(1))).await;
            assert_eq!((status, &v["result"], &v["id"]), (200, &json!("0x7a69"), &json!(1)), "{path}: {v}");
            let (_, v) = h.post(path, &call("net_version", json!("a"))).await;
            assert_eq!((&v["result"], &v["id"]), (&json!("31337"), &json!("a")));
            let (_, v) = h.post(path, &call("eth_blockNumber", json!(2))).await;
            assert_eq!(v["result"], "0x1", "{v}");
        }
        let (_, v) = h.post("/rpc", &call("eth_sendTransaction", json!(7))).await;
        assert_eq!((&v["error"]["code"], &v["id"]), (&json!(-32601), &json!(7)), "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("eth_chainId")), "lists what it answers");
        let (_, v) = h.post("/rpc", &json!([call("eth_chainId", json!(1)), json!(5), call("nope", json!(3))])).await;
        let codes: Vec<Value> = v.as_array().expect("batch").iter().map(|a| a["error"]["code"].clone()).collect();
        assert_eq!(codes, vec![Value::Null, json!(-32600), json!(-32601)], "{v}");
        // Not JSON-RPC at all: HTTP 400, with the JSON-RPC error as the body.
        let (status, v) = h.post("/rpc", &json!([])).await;
        assert_eq!((status, &v["error"]["code"]), (400, &json!(-32600)), "{v}");
        let (status, v) = h.post("/rpc", &json!({"id": 1, "method": "eth_chainId"})).await;
        assert_eq!((status, &v["error"]["code"], &v["id"]), (400, &json!(-32600), &json!(1)), "{v}");
        for body in [&b"{not json"[..], b""] {
            let (status, v) = h.client.request(hyper::Method::POST, "/rpc", Some(body.to_vec())).await.expect("posts");
            assert_eq!((status, &v["error"]["code"]), (400, &json!(-32700)), "{v}");
        }
        // GET / is the web app's page.
        let (status, _) = h.client.get("/").await.expect("get");
        assert_eq!(status, 200);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_risk_report_is_cached_per_height_and_names_a_bad_psi() {
    let dir = temp_dir("risk-api");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = start(&dir).await;
        let (status, first) = h.client.get("/v1/risk").await.expect("risk");
        assert_eq!(status, 200, "{first}");
        assert_eq!((&first["cached"], &first["psi"]), (&json!(false), &json!("1/10")), "{first}");
        assert!(["secure", "insecure", "undecided"].contains(&first["report"]["verdict"].as_str().unwrap_or("")));
        assert_eq!(first["report"]["schema"], "cairn.risk/1");
        // The API's report is the engine's on the head state, as `cairn risk scenario` runs it.
        let height = first["block"].as_u64().expect("block");
        let local = h.node.read(|app| {
            assert_eq!(app.head().height, height);
            let state = app.state();
            let g = graph_from_state(state, height, &declared_sets(state), |a| a.to_string()).expect("graph");
            json!(report::analyse(&g, &Options { psi: vec![Ratio { num: 1, den: 10 }], ..Options::default() }))
        });
        for key in ["verdict", "size", "budget", "losses", "leverage", "unique_stake", "concentration"] {
            assert_eq!(first["report"][key], local[key], "{key}");
        }
        for key in ["verdict", "method", "witness", "closest", "profit", "gamma"] {
            assert_eq!(first["report"]["pooled"][key], local["pooled"][key], "pooled.{key}");
        }
        let (_, again) = h.client.get("/v1/risk").await.expect("risk");
        assert_eq!(again["cached"], true, "the same height answers from the cache");
        assert_eq!(again["report"], first["report"]);
        let (_, other) = h.client.get("/v1/risk?psi=1/4").await.expect("risk");
        assert_eq!((&other["cached"], &other["psi"]), (&json!(false), &json!("1/4")), "another ψ is computed");
        h.block();
        // Someone is watching: the node computes the new block's report ahead of the request
        // (off the block path), for the ψ last asked; the metric counts it.
        let mut followed = false;
        for _ in 0..500 {
            let metrics = reqwest_text(&h.client, "/metrics").await;
            followed = metrics.lines().any(|l| l.starts_with("cairn_risk_followed_total ") && !l.ends_with(" 0"));
            if followed {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(followed, "the follower computed the new block's report");
        let (_, next) = h.client.get("/v1/risk?psi=1/4").await.expect("risk");
        assert_eq!(next["block"], first["block"].as_u64().expect("block") + 1);
        assert_eq!((&next["cached"], &next["psi"]), (&json!(true), &json!("1/4")), "{next}");
        let (_, list) = h.client.get("/v1/risk?psi=0.05,1/10").await.expect("risk");
        assert_eq!(list["psi"], "1/20,1/10", "decimals reduced, in order");
        assert_eq!(list["report"]["losses"].as_array().map(Vec::len), Some(2), "{list}");
        for bad in ["2/1", "x", "1/0", "0.1,2"] {
            let answer = h.client.get(&format!("/v1/risk?psi={bad}")).await.expect("risk");
            expect_error(&answer, 400, "BadPsi");
        }
        expect_error(&h.client.get("/v1/risk?nope=1").await.expect("risk"), 400, "BadQueryString");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
