//! Cairn primitives: addresses, 256-bit money, WAD fixed-point math with stated rounding,
//! identifiers and the protocol parameter set.
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]

pub mod ids;
pub mod math;
pub mod merkle;
pub mod params;
pub mod serde_dec;

pub use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
pub use ids::{AssetId, Block, Magnitude, OperatorSetKey, StrategyId, Timestamp, VaultId};
pub use math::{MathError, WAD};
pub use params::{Params, Profile};

/// Parses an amount written as a decimal integer, `0x` hex, or `<int>e<exp>` (e.g. `32e18`).
pub fn parse_amount(text: &str) -> Option<U256> {
    let t = text.trim().replace('_', "");
    if let Some(hex) = t.strip_prefix("0x") {
        return U256::from_str_radix(hex, 16).ok();
    }
    match t.split_once(['e', 'E']) {
        Some((base, exp)) => {
            let base = U256::from_str_radix(base, 10).ok()?;
            let exp: u32 = exp.parse().ok()?;
            let scale = U256::from(10u8).checked_pow(U256::from(exp))?;
            base.checked_mul(scale)
        }
        None => U256::from_str_radix(&t, 10).ok(),
    }
}

/// Derives a stable, readable pseudo-address from a name (the last 20 bytes of keccak256(name)).
pub fn named_address(name: &str) -> Address {
    Address::from_slice(&keccak256(name.as_bytes())[12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amount_forms() {
        assert_eq!(parse_amount("32e18"), Some(U256::from(32u128 * 10u128.pow(18))));
        assert_eq!(parse_amount("1_000"), Some(U256::from(1000u32)));
        assert_eq!(parse_amount("0x10"), Some(U256::from(16u32)));
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("1e100"), None);
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn named_addresses_are_stable_and_distinct() {
        assert_eq!(named_address("alice"), named_address("alice"));
        assert_ne!(named_address("alice"), named_address("bob"));
    }
}
