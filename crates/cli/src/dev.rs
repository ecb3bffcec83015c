//! `cairn dev …`: the devnet's controls (`/v1/dev`), and `cairn rewards show|claim` against a
//! node's claimable root.

use anyhow::{Result, anyhow, bail};
use cairn_node::client::Client;
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

/// The `/v1/dev` verbs.
#[derive(Debug, clap::Subcommand)]
pub enum DevCommand {
    /// The node's clock, its offset and the snapshots held.
    #[command(after_help = "Examples:\n  cairn dev status")]
    Status,
    /// Produce blocks now (the first takes what waits in the mempool).
    #[command(
        after_help = "Examples:\n  cairn dev mine\n  cairn dev mine 50            # skip the devnet's 50-block withdrawal delay\n  cairn dev mine 10 --interval 12"
    )]
    Mine {
        /// How many (1 to 10,000).
        #[arg(default_value_t = 1)]
        blocks: u64,
        /// Seconds the clock moves before each block.
        #[arg(long, default_value_t = 0)]
        interval: u64,
    },
    /// Move the node's clock forward (and mine a block at the new time).
    #[command(
        after_help = "Examples:\n  cairn dev time 1d            # a rewards day\n  cairn dev time 7200\n  cairn dev time --to 1800000000"
    )]
    Time {
        /// How far: seconds, or with a unit: 90s, 15m, 2h, 7d.
        #[arg(required_unless_present = "to")]
        advance: Option<String>,
        /// Or to this unix time.
        #[arg(long, conflicts_with = "advance")]
        to: Option<u64>,
        /// Only move the clock; the next block gets the new time.
        #[arg(long)]
        no_mine: bool,
    },
    /// Snapshot the whole chain; prints the id to revert to.
    #[command(after_help = "Examples:\n  cairn dev snapshot")]
    Snapshot,
    /// Bring the chain back to a snapshot (it and later ones are used up).
    #[command(after_help = "Examples:\n  cairn dev revert 1")]
    Revert {
        /// The snapshot's id.
        id: u64,
    },
    /// Mint tokens to any address from the devnet's faucet.
    #[command(
        after_help = "Examples:\n  cairn dev fund 0x1234…abcd\n  cairn dev fund 0x1234…abcd --asset stETH --amount 50e18"
    )]
    Fund {
        /// The address to fund.
        address: String,
        /// Asset symbol or number.
        #[arg(long, default_value = "ETH")]
        asset: String,
        /// Amount in the smallest unit (`100e18` is 100 tokens of 18 decimals).
        #[arg(long, default_value = "100e18")]
        amount: String,
    },
    /// Post the rewards root through the last closed interval now (the workers' job; for
    /// `--no-workers` devnets).
    #[command(name = "rewards-root", after_help = "Examples:\n  cairn dev time 1h && cairn dev rewards-root")]
    RewardsRoot,
}

/// Seconds from `90`, `90s`, `15m`, `2h` or `7d`.
pub fn duration_seconds(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => bail!("time must be seconds or a number with s, m, h or d, e.g. 90, 15m, 2h, 7d; got {s:?}"),
    };
    let n: u64 =
        num.parse().map_err(|_| anyhow!("time must start with a whole number, e.g. 90, 15m, 2h, 7d; got {s:?}"))?;
    n.checked_mul(scale).ok_or_else(|| anyhow!("time {s:?} is too large"))
}

fn call(node: &str, path: &str, body: Option<Value>) -> Result<Value> {
    crate::net::block_on(async {
        let c = Client::new(node);
        let (status, v) = match body {
            Some(b) => crate::net::answer(c.base(), c.post(path, &b)).await?,
            None => crate::net::answer(c.base(), c.get(path)).await?,
        };
        if status >= 400 {
            return Err(crate::net::refusal(status, &v));
        }
        Ok(v)
    })
}

/// Runs a `cairn dev` verb against `node`.
pub fn run(node: &str, cmd: DevCommand, wait: bool) -> Result<Value> {
    let w = if wait { "?wait=true" } else { "" };
    match cmd {
        DevCommand::Status => call(node, "/v1/dev", None),
        DevCommand::Mine { blocks, interval } => {
            call(node, "/v1/dev/mine", Some(json!({"blocks": blocks, "interval_seconds": interval})))
        }
        DevCommand::Time { advance, to, no_mine } => {
            let body = match (advance, to) {
                (Some(a), _) => json!({"advance_seconds": duration_seconds(&a)?, "mine": !no_mine}),
                (None, Some(t)) => json!({"to": t, "mine": !no_mine}),
                (None, None) => bail!("give how far (e.g. 2h) or --to UNIX_TIME"),
            };
            call(node, "/v1/dev/time", Some(body))
        }
        DevCommand::Snapshot => call(node, "/v1/dev/snapshot", Some(json!({}))),
        DevCommand::Revert { id } => call(node, "/v1/dev/revert", Some(json!({"id": id}))),
        DevCommand::Fund { address, asset, amount } => {
            crate::net::address(&address)?;
            let body = json!({"address": address, "asset": asset, "amount": amount});
            call(node, &format!("/v1/dev/fund{w}"), Some(body))
        }
        DevCommand::RewardsRoot => call(node, &format!("/v1/dev/rewards-root{w}"), Some(json!({}))),
    }
}

/// `cairn rewards show ADDRESS`: claimable rewards per token against the node's active root.
pub fn rewards_show(node: &str, earner: &str) -> Result<Value> {
    crate::net::address(earner)?;
    call(node, &format!("/v1/rewards/{earner}"), None)
}

/// `cairn rewards claim --key K`: the node's claim for the earner (the signer unless
/// `--earner`, when the signer is its claimer), signed and submitted.
pub fn rewards_claim(
    node: &str,
    key: &SigningKey,
    earner: Option<&str>,
    recipient: Option<&str>,
    wait: bool,
) -> Result<Value> {
    let signer = cairn_node::envelope::address_of(key).to_string();
    let earner = earner.unwrap_or(&signer);
    crate::net::address(earner)?;
    let mut path = format!("/v1/rewards/{earner}/proof");
    if let Some(r) = recipient {
        crate::net::address(r)?;
        path.push_str(&format!("?recipient={r}"));
    }
    let proof = call(node, &path, None)?;
    let action = proof["action"].as_str().ok_or_else(|| anyhow!("the node's claim has no action: {proof}"))?;
    let mut answer = crate::net::tx(node, key, action, proof["body"].clone(), wait, 600)?;
    if let Some(obj) = answer.as_object_mut() {
        obj.insert("tokens".into(), proof["tokens"].clone());
        obj.insert("root".into(), proof["root"].clone());
    }
    Ok(answer)
}
