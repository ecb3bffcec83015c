//! `cairn keeper run`: the vault keeper against a node over HTTP — the same bot the devnet runs
//! in process (`cairn_keeper::bot`), with queries through `/v1/query`, transactions signed here
//! and reward proofs from `/v1/rewards/proof`.

use std::time::Duration;

use alloy_primitives::Address;
use anyhow::{Context, Result, anyhow, bail};
use cairn_keeper::bot::{Bot, Chain, GrowthFeed, PriceFeed, Role};
use cairn_node::client::Client;
use cairn_state::{Tx, rewards::RewardsClaim};
use k256::ecdsa::SigningKey;
use serde_json::Value;

use crate::net;

/// The node over HTTP, with the keeper's and the reporters' keys.
pub struct HttpChain {
    node: String,
    keeper: SigningKey,
    reporters: Vec<SigningKey>,
    rt: tokio::runtime::Runtime,
}

impl HttpChain {
    /// A chain at `node` signing with these keys.
    pub fn new(node: &str, keeper: SigningKey, reporters: Vec<SigningKey>) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Self { node: node.to_owned(), keeper, reporters, rt })
    }

    fn get(&self, path: &str) -> Result<(u16, Value)> {
        Ok(self.rt.block_on(Client::new(&self.node).get(path))?)
    }
}

impl Chain for HttpChain {
    fn query(&self, q: Value) -> Result<Value> {
        let q = match q {
            Value::String(name) => serde_json::json!({ name: {} }),
            other => other,
        };
        let (status, v) = self.rt.block_on(Client::new(&self.node).post("/v1/query", &q))?;
        if status >= 400 {
            bail!("{}: {}", v["error"], v["message"]);
        }
        Ok(v)
    }

    fn head(&self) -> Result<(u64, u64)> {
        let (_, b) = self.get("/v1/blocks/latest")?;
        let h = &b["header"];
        Ok((h["height"].as_u64().unwrap_or(0), h["time"].as_u64().unwrap_or(0)))
    }

    fn submit(&mut self, role: Role, tx: Tx) -> Result<()> {
        let key = match role {
            Role::Keeper => &self.keeper,
            Role::Reporter(i) => self.reporters.get(i).ok_or_else(|| anyhow!("no reporter key {i}"))?,
        };
        let v = serde_json::to_value(&tx)?;
        let (action, body) = v
            .as_object()
            .and_then(|m| m.iter().next())
            .map(|(a, b)| (a.clone(), b.clone()))
            .ok_or_else(|| anyhow!("a transaction is one action"))?;
        net::tx(&self.node, key, &action, body, false, 600).map(|_| ())
    }

    fn reward_claims(&self, earners: &[Address]) -> Result<Vec<RewardsClaim>> {
        let mut out = Vec::new();
        for e in earners {
            let (status, v) = self.get(&format!("/v1/rewards/proof/{e}"))?;
            if status == 404 {
                continue;
            }
            if status >= 400 {
                bail!("proof of {e}: {}: {}", v["error"], v["message"]);
            }
            out.push(serde_json::from_value(v).context("a claim")?);
        }
        Ok(out)
    }
}

/// The prices the keeper reports: the devnet's deterministic feed, or none (a keeper without
/// committee keys).
enum Feed {
    Devnet(GrowthFeed),
    None,
}

impl PriceFeed for Feed {
    fn prices(&self, time: u64) -> Vec<(cairn_primitives::AssetId, cairn_primitives::U256)> {
        match self {
            Feed::Devnet(f) => f.prices(time),
            Feed::None => Vec::new(),
        }
    }
}

/// Runs the keeper: a tick every `every`, printing what it does; `once` stops after one.
pub fn run(chain: &mut HttpChain, bot: &mut Bot, devnet_feed: bool, every: Duration, once: bool) -> Result<Value> {
    let feed = if devnet_feed {
        let (_, first) = chain.get("/v1/blocks/1")?;
        let start = first["header"]["time"].as_u64().ok_or_else(|| anyhow!("no block 1 on this node"))?;
        Feed::Devnet(cairn_node::devnet_vault::feed(start))
    } else {
        Feed::None
    };
    let mut all = Vec::new();
    loop {
        match bot.tick(chain, &feed) {
            Ok(lines) => {
                for l in &lines {
                    eprintln!("keeper: {l}");
                }
                all.extend(lines);
            }
            Err(e) => {
                if once {
                    return Err(e);
                }
                eprintln!("keeper: {e:#}");
            }
        }
        if once {
            return Ok(Value::from(all));
        }
        std::thread::sleep(every);
    }
}
