//! Name resolution: turns the readable names of a step (accounts, asset symbols) into the values
//! the state machine's types deserialize from, by walking the step's JSON value.
//!
//! - strings under address keys (`sender`, `to`, `operator`, ...) become addresses: a literal
//!   `0x` + 40 hex digits is taken as is, anything else is a name hashed by `named_address`;
//! - strings under `asset`, `token`, `tokens` become asset ids (a `0x` address names the asset
//!   whose reward-leaf address it is), except `token` in a raw claim's `token_leaves`, which
//!   becomes the asset's reward-leaf address;
//! - strings under strings under `strategy`/`strategies` become the id
//!   of that asset's strategy (a number, or a string of digits, is taken as a raw id);
//! - strings under `new_magnitudes` and the gwei fields of beacon reports become integers (so
//!   `"5e17"` or `"32e9"` may be written);
//! - an account written `pod:NAME` is the pod of `NAME`, and `withdrawal_credentials = "pod:NAME"`
//!   are that pod's 0x01 credentials;
//! - `vault:N` is vault N's own account and `vault:N:NAME` its sub-account at operator `NAME`.

use std::collections::BTreeMap;

use cairn_primitives::{Address, AssetId, StrategyId, U256, named_address, parse_amount};
use cairn_state::{
    State,
    pods::{pod_address, pod_credentials},
};
use serde_json::Value;

/// Keys whose string values are accounts.
pub(crate) const ADDRESS_KEYS: &[&str] = &[
    "sender",
    "to",
    "operator",
    "staker",
    "service",
    "slasher",
    "other",
    "account",
    "admin",
    "appointee",
    "delegation_approver",
    "redistribution_recipient",
    "committee",
    "owner",
    "pod_owner",
    "address",
    "members",
    "earner",
    "claimer",
    "submitter",
    "recipient",
    "receiver",
    "spender",
    "from",
    "guardian",
    "keeper",
    "fee_recipient",
];

/// Keys whose string values are withdrawal credentials (`pod:NAME` or 32 bytes of hex).
pub(crate) const CREDENTIAL_KEYS: &[&str] = &["withdrawal_credentials"];

/// Keys whose string values are asset symbols (or reward-leaf addresses), resolved to asset ids.
pub(crate) const ASSET_KEYS: &[&str] = &["asset", "token", "tokens"];

/// The list of a raw claim whose `token`s are reward-leaf addresses, not asset ids.
pub(crate) const TOKEN_LEAVES_KEY: &str = "token_leaves";

/// Keys whose string values are asset symbols, resolved to the id of the asset's strategy.
pub(crate) const STRATEGY_KEYS: &[&str] = &["strategy", "strategies"];

/// Keys whose string values are amounts that must become plain integers (magnitudes).
pub(crate) const INTEGER_KEYS: &[&str] = &["new_magnitudes", "effective_balance_gwei", "balance_gwei", "amount_gwei"];

/// Keys whose string values are amounts: a fractional form (`"11.2e18"`) becomes decimal digits.
pub(crate) const AMOUNT_KEYS: &[&str] = &[
    "amount",
    "deposit_shares",
    "wads_to_slash",
    "shares",
    "cap",
    "multiplier",
    "prize",
    "min_out",
    "price",
    "min_deposit",
    "finalization_cap",
    "value",
];

/// The accounts a scenario has named so far, for the report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    map: BTreeMap<String, Address>,
}

impl Names {
    /// Resolves an account written as a name or a literal address, remembering names.
    pub(crate) fn address(&mut self, text: &str) -> Result<Address, String> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return parse_address(text);
        }
        if text.is_empty() {
            return Err("an account name must not be empty".to_string());
        }
        if let Some(owner) = text.strip_prefix("pod:") {
            return Ok(pod_address(self.address(owner)?));
        }
        if let Some(rest) = text.strip_prefix("vault:") {
            // `vault:N` is vault N's own account, `vault:N:OPERATOR` its sub-account there.
            let (id, op) = rest.split_once(':').map_or((rest, None), |(i, o)| (i, Some(o)));
            let id: u32 = id.parse().map_err(|_| format!("{text:?}: a vault is named vault:N or vault:N:OPERATOR"))?;
            let vault = cairn_primitives::VaultId(id);
            let a = match op {
                None => cairn_state::vault::vault_account(vault),
                Some(op) => cairn_state::vault::sub_account(vault, self.address(op)?),
            };
            // Remembered under the name written, so reports show `vault:0:op1`.
            self.map.insert(text.to_string(), a);
            return Ok(a);
        }
        let a = named_address(text);
        self.map.insert(text.to_string(), a);
        Ok(a)
    }

    /// Every name seen, with its address.
    pub(crate) fn all(&self) -> &BTreeMap<String, Address> {
        &self.map
    }
}

fn parse_address(text: &str) -> Result<Address, String> {
    let hex = &text[2..];
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("{text:?} is not an address (0x followed by 40 hex digits)"));
    }
    text.parse::<Address>().map_err(|e| format!("{text:?} is not an address: {e}"))
}

/// Resolves names in step values against the current state.
pub(crate) struct Resolver<'a> {
    state: &'a State,
    names: &'a mut Names,
}

impl<'a> Resolver<'a> {
    /// A resolver reading asset symbols from `state` and recording account names in `names`.
    pub(crate) fn new(state: &'a State, names: &'a mut Names) -> Self {
        Self { state, names }
    }

    /// Resolves every name in `value`, in place.
    pub(crate) fn resolve(&mut self, value: &mut Value) -> Result<(), String> {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    self.resolve_entry(key, v)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|v| self.resolve(v)),
            _ => Ok(()),
        }
    }

    pub(crate) fn resolve_entry(&mut self, key: &str, v: &mut Value) -> Result<(), String> {
        let k = &key;
        if key == TOKEN_LEAVES_KEY {
            self.token_leaves(v)
        } else if v.is_object() {
            // A nested record (a transaction variant, a query named like a key): walk into it.
            self.resolve(v)
        } else if ADDRESS_KEYS.contains(k) {
            map_strings(v, |s| Ok(Value::String(self.account(s)?.to_string())))
        } else if CREDENTIAL_KEYS.contains(k) {
            map_strings(v, |s| match s.strip_prefix("pod:") {
                Some(owner) => Ok(Value::String(pod_credentials(pod_address(self.names.address(owner)?)).to_string())),
                None => Ok(Value::String(s.to_string())),
            })
        } else if ASSET_KEYS.contains(k) {
            map_strings(v, |s| Ok(Value::from(self.asset(s)?.0)))
        } else if STRATEGY_KEYS.contains(k) {
            map_strings(v, |s| Ok(Value::from(self.strategy(s)?.0)))
        } else if INTEGER_KEYS.contains(k) {
            map_strings(v, integer)
        } else if AMOUNT_KEYS.contains(k) {
            map_strings(v, |s| Ok(Value::String(parse_number(s).map_or_else(|| s.to_string(), |n| n.to_string()))))
        } else {
            self.resolve(v)
        }
        .map_err(|e| format!("{key}: {e}"))
    }

    /// An account: a name, a literal address, `pod:NAME`, or `strategy:SYMBOL` (the vault of that
    /// asset's strategy).
    pub(crate) fn account(&mut self, text: &str) -> Result<Address, String> {
        match text.strip_prefix("strategy:") {
            Some(symbol) => {
                let s = self.strategy(symbol)?;
                self.state.strategy_address(s).map_err(|e| e.to_string())
            }
            None => self.names.address(text),
        }
    }

    /// The asset named by a symbol, its reward-leaf address (`0x…`), or a raw id written as digits.
    pub(crate) fn asset(&self, text: &str) -> Result<AssetId, String> {
        if let Ok(id) = text.parse::<u32>() {
            return Ok(AssetId(id));
        }
        if text.starts_with("0x") || text.starts_with("0X") {
            let token = parse_address(text)?;
            return self.state.asset_by_address(token).ok_or_else(|| format!("no asset has the token address {text}"));
        }
        self.state.asset_by_symbol(text).ok_or_else(|| format!("no asset with symbol {text:?}"))
    }

    /// A token in a reward leaf: a literal `0x` address as is, or an asset (symbol or id) as its
    /// reward-leaf address.
    fn token_address(&self, text: &str) -> Result<Value, String> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return Ok(Value::String(parse_address(text)?.to_string()));
        }
        let asset = self.asset(text)?;
        let address = self.state.asset_address(asset).ok_or_else(|| format!("unknown asset {asset}"))?;
        Ok(Value::String(address.to_string()))
    }

    /// `token_leaves = [{ token, cumulative_earnings }]`: tokens become reward-leaf addresses.
    fn token_leaves(&mut self, v: &mut Value) -> Result<(), String> {
        for leaf in v.as_array_mut().into_iter().flatten() {
            if let Some(token) = leaf.get_mut("token") {
                map_strings(token, |s| self.token_address(s))?;
            }
        }
        Ok(())
    }

    /// The strategy of the asset named by a symbol (or a raw strategy id written as digits).
    pub(crate) fn strategy(&self, text: &str) -> Result<StrategyId, String> {
        if let Ok(id) = text.parse::<u32>() {
            return Ok(StrategyId(id));
        }
        let asset = self.asset(text)?;
        self.state.strategy_of_asset(asset).ok_or_else(|| format!("asset {text:?} has no strategy"))
    }
}

/// Applies `f` to a string, or to each string of an array; numbers and other values stay.
fn map_strings(v: &mut Value, mut f: impl FnMut(&str) -> Result<Value, String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            *v = f(s)?;
            Ok(())
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::String(s) = item {
                    *item = f(s)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Parses an amount: what `parse_amount` reads (decimal, `0x` hex, `<int>e<exp>`, `_`
/// separators) plus a fractional mantissa whose exponent makes it whole (`"11.2e18"`).
pub(crate) fn parse_number(text: &str) -> Option<U256> {
    let t = text.trim().replace('_', "");
    let Some((mantissa, exp)) = t.split_once(['e', 'E']) else {
        return parse_amount(&t);
    };
    let Some((int, frac)) = mantissa.split_once('.') else {
        return parse_amount(&t);
    };
    let exp: usize = exp.parse().ok()?;
    let shift = exp.checked_sub(frac.len())?;
    if frac.is_empty() || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    parse_amount(&format!("{int}{frac}e{shift}"))
}

/// An amount string (`"5e17"`, `"0x10"`, `"1_000"`) as a JSON integer, if it fits in u64.
fn integer(text: &str) -> Result<Value, String> {
    let n = parse_number(text).ok_or_else(|| format!("{text:?} is not a number"))?;
    let n = u64::try_from(n).map_err(|_| format!("{text:?} does not fit in 64 bits"))?;
    Ok(Value::from(n))
}

/// Normalizes a query written as a bare name (`"params"`) into `{ "params": {} }`.
pub(crate) fn normalize_bare_name(v: &mut Value) {
    if let Value::String(name) = v {
        let mut map = serde_json::Map::new();
        map.insert(name.clone(), Value::Object(serde_json::Map::new()));
        *v = Value::Object(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_primitives::{Params, Profile};
    use cairn_state::{Genesis, GenesisAsset};

    fn state() -> State {
        let asset = |symbol: &str, strategy| GenesisAsset {
            symbol: symbol.to_string(),
            decimals: 18,
            strategy,
            balances: BTreeMap::new(),
            native: false,
        };
        let genesis = Genesis {
            params: Params::profile(Profile::Devnet),
            governor: named_address("governor"),
            unpauser: named_address("unpauser"),
            pausers: vec![],
            assets: vec![asset("stETH", true), asset("USDC", false), asset("rETH", true)],
            oracle: Default::default(),
        };
        State::genesis(&genesis).expect("genesis")
    }

    #[test]
    fn resolves_accounts_assets_and_strategies() {
        let s = state();
        let mut names = Names::default();
        let mut v = serde_json::json!({"modify_allocations": {"operator": "op1", "allocations": [
            {"service": "avs", "set_id": 1, "strategies": ["rETH", 0], "new_magnitudes": ["5e17", 3]}
        ]}});
        Resolver::new(&s, &mut names).resolve(&mut v).expect("resolves");
        let inner = &v["modify_allocations"];
        assert_eq!(inner["operator"], Value::String(named_address("op1").to_string()));
        assert_eq!(inner["allocations"][0]["strategies"], serde_json::json!([1, 0]));
        assert_eq!(inner["allocations"][0]["new_magnitudes"], serde_json::json!([500_000_000_000_000_000u64, 3]));
        assert_eq!(names.all().len(), 2);
    }

    #[test]
    fn literal_addresses_and_errors() {
        let s = state();
        let mut names = Names::default();
        let mut r = Resolver::new(&s, &mut names);
        let lit = "0x00000000000000000000000000000000000E16E4";
        let mut v = serde_json::json!({"to": lit, "asset": "USDC"});
        r.resolve(&mut v).expect("resolves");
        assert_eq!(v["asset"], Value::from(1));
        assert_eq!(v["to"].as_str().map(str::to_lowercase), Some(lit.to_lowercase()));
        assert!(r.resolve(&mut serde_json::json!({"to": "0x12"})).is_err());
        assert!(r.resolve(&mut serde_json::json!({"asset": "DOGE"})).is_err());
        assert!(r.resolve(&mut serde_json::json!({"strategy": "USDC"})).is_err());
        assert!(r.resolve(&mut serde_json::json!({"new_magnitudes": ["1e30"]})).is_err());
    }

    #[test]
    fn pods_and_credentials() {
        let s = state();
        let mut names = Names::default();
        let mut v = serde_json::json!({"post_beacon_report": {"slot": 3, "validators": [
            {"index": 1, "withdrawal_credentials": "pod:alice", "effective_balance_gwei": "32e9", "balance_gwei": 5}
        ], "withdrawals": [{"validator_index": 1, "address": "pod:alice", "amount_gwei": "1e9"}]}});
        Resolver::new(&s, &mut names).resolve(&mut v).expect("resolves");
        let r = &v["post_beacon_report"];
        let pod = pod_address(named_address("alice"));
        assert_eq!(r["validators"][0]["withdrawal_credentials"], Value::String(pod_credentials(pod).to_string()));
        assert_eq!(r["validators"][0]["effective_balance_gwei"], Value::from(32_000_000_000u64));
        assert_eq!(r["withdrawals"][0]["address"], Value::String(pod.to_string()));
        let tx: cairn_state::Tx = serde_json::from_value(v).expect("a transaction");
        assert!(matches!(tx, cairn_state::Tx::PostBeaconReport { slot: 3, .. }));
    }

    #[test]
    fn fractional_amounts() {
        assert_eq!(parse_number("11.2e18"), Some(U256::from(11_200_000_000_000_000_000u128)));
        assert_eq!(parse_number("0.5e18"), Some(U256::from(500_000_000_000_000_000u64)));
        assert_eq!(parse_number("32e18"), parse_amount("32e18"));
        assert_eq!(parse_number("1_000"), Some(U256::from(1000u32)));
        assert_eq!(parse_number("1.25e1"), None);
        assert_eq!(parse_number("1.e5"), None);
        assert_eq!(parse_number("1.x5e5"), None);
        let s = state();
        let mut names = Names::default();
        let mut v = serde_json::json!({"deposit": {"strategy": "stETH", "amount": "1.5e18"}});
        Resolver::new(&s, &mut names).resolve(&mut v).expect("resolves");
        assert_eq!(v["deposit"]["amount"], Value::String("1500000000000000000".into()));
    }

    #[test]
    fn tokens_by_symbol_or_reward_address() {
        let s = state();
        let mut names = Names::default();
        let usdc = s.asset_address(AssetId(1)).expect("USDC").to_string();
        let mut v = serde_json::json!({"tokens": ["stETH", usdc.to_lowercase()], "token_leaves": [
            {"token": "USDC", "cumulative_earnings": "5"}, {"token": usdc, "cumulative_earnings": "5"}
        ]});
        Resolver::new(&s, &mut names).resolve(&mut v).expect("resolves");
        assert_eq!(v["tokens"], serde_json::json!([0, 1]));
        assert_eq!(v["token_leaves"][0]["token"], Value::String(usdc.clone()));
        assert_eq!(v["token_leaves"][1]["token"], Value::String(usdc));
        let unknown = "0x00000000000000000000000000000000000000aa";
        let err = Resolver::new(&s, &mut names).resolve(&mut serde_json::json!({"token": unknown})).unwrap_err();
        assert_eq!(err, format!("token: no asset has the token address {unknown}"));
    }

    #[test]
    fn strategy_query_keeps_its_object() {
        let s = state();
        let mut names = Names::default();
        let mut v = serde_json::json!({"strategy": {"strategy": "rETH"}});
        Resolver::new(&s, &mut names).resolve(&mut v).expect("resolves");
        assert_eq!(v, serde_json::json!({"strategy": {"strategy": 1}}));
    }
}
