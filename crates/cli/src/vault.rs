//! `cairn vault …`: the liquid restaking vault from the command line — show it, a holder's
//! position, tickets and the rate history; deposit, redeem at once, request a ticket, claim it.
//! Reads go to `/v1/vaults`; writes are signed transactions through `net::tx`.

use anyhow::Result;
use cairn_node::client::Client;
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::{net, out::bad_input};

/// A read; a 4xx answer is a refusal, no answer is unreachable.
fn get(node: &str, path: &str) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(net::get_ok(&Client::new(node), path))
}

/// `cairn vault show [ID]`.
pub fn show(node: &str, vault: u32) -> Result<Value> {
    get(node, &format!("/v1/vaults/{vault}"))
}

/// `cairn vault list`.
pub fn list(node: &str) -> Result<Value> {
    get(node, "/v1/vaults")
}

/// `cairn vault position ADDRESS`.
pub fn position(node: &str, vault: u32, owner: &str) -> Result<Value> {
    let owner = net::address(owner)?;
    get(node, &format!("/v1/vaults/{vault}/positions/{owner}"))
}

/// `cairn vault tickets [--owner ADDRESS]`.
pub fn tickets(node: &str, vault: u32, owner: Option<&str>) -> Result<Value> {
    let q = match owner {
        Some(o) => format!("?owner={}", net::address(o)?),
        None => String::new(),
    };
    get(node, &format!("/v1/vaults/{vault}/tickets{q}"))
}

/// `cairn vault rates`.
pub fn rates(node: &str, vault: u32) -> Result<Value> {
    get(node, &format!("/v1/vaults/{vault}/rates"))
}

/// `cairn vault policy`.
pub fn policy(node: &str, vault: u32) -> Result<Value> {
    get(node, &format!("/v1/vaults/{vault}/policy"))
}

/// An asset written as an id or a symbol, resolved against the node's asset list.
fn asset_id(node: &str, asset: &str) -> Result<u32> {
    if let Ok(id) = asset.parse::<u32>() {
        return Ok(id);
    }
    let acct = get(node, &format!("/v1/accounts/{}", alloy_primitives::Address::ZERO))?;
    acct["balances"]
        .as_array()
        .and_then(|b| b.iter().find(|x| x["symbol"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(asset))))
        .and_then(|x| x["asset"].as_u64())
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| bad_input(format!("asset: no {asset:?} on this node (a symbol such as stETH, or an id)")))
}

/// A signed vault transaction; with `wait`, a refused one is an error (exit status 1).
fn send(node: &str, key: &SigningKey, action: &str, body: Value, wait: bool) -> Result<Value> {
    net::tx(node, key, action, body, wait, 600)
}

/// What a write names.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// Node URL.
    pub node: &'a str,
    /// Signing key.
    pub key: &'a SigningKey,
    /// The vault.
    pub vault: u32,
    /// Wait for the commit.
    pub wait: bool,
}

/// `cairn vault deposit ASSET AMOUNT`.
pub fn deposit(w: &Write<'_>, asset: &str, amount: &str, min_out: &str) -> Result<Value> {
    let asset = asset_id(w.node, asset)?;
    let body = json!({"vault": w.vault, "asset": asset, "amount": amount, "min_out": min_out});
    send(w.node, w.key, "vault_deposit", body, w.wait)
}

/// `cairn vault redeem SHARES ASSET` (instant, from the buffer).
pub fn redeem(w: &Write<'_>, shares: &str, asset: &str, min_out: &str) -> Result<Value> {
    let asset = asset_id(w.node, asset)?;
    let body = json!({"vault": w.vault, "shares": shares, "asset": asset, "min_out": min_out});
    send(w.node, w.key, "vault_redeem", body, w.wait)
}

/// `cairn vault request SHARES ASSET` (a ticket with an ETA).
pub fn request(w: &Write<'_>, shares: &str, asset: &str, min_out: &str) -> Result<Value> {
    let asset = asset_id(w.node, asset)?;
    let body = json!({"vault": w.vault, "shares": shares, "asset": asset, "min_out": min_out});
    send(w.node, w.key, "vault_request_withdrawal", body, w.wait)
}

/// `cairn vault claim TICKET`.
pub fn claim(w: &Write<'_>, ticket: u64) -> Result<Value> {
    send(w.node, w.key, "vault_claim_ticket", json!({"vault": w.vault, "ticket": ticket}), w.wait)
}
