//! Cairn primitives: addresses, 256-bit money, WAD fixed-point math with stated rounding,
//! identifiers and the protocol parameter set.
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]

pub mod canonical;
pub mod ids;
pub mod math;
pub mod merkle;
pub mod params;
pub mod serde_dec;

pub use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
pub use ids::{AssetId, Block, Magnitude, OperatorSetKey, StrategyId, Timestamp, VaultId};
pub use math::{MathError, WAD};
pub use params::{Params, Profile};

/// Parses an amount written as decimal digits, `0x` and hex digits, or `<digits>e<digits>`
/// (`32e18`); `_` may separate two digits (`1_000`). Nothing else: no sign, no whitespace, no
/// empty part (`""`, `"0x"`, `"e18"` and `" 1"` are not amounts).
pub fn parse_amount(text: &str) -> Option<U256> {
    if let Some(hex) = text.strip_prefix("0x") {
        return digits(hex, 16);
    }
    match text.split_once(['e', 'E']) {
        Some((base, exp)) => {
            let base = digits(base, 10)?;
            if exp.is_empty() || !exp.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let exp: u32 = exp.parse().ok()?;
            let scale = U256::from(10u8).checked_pow(U256::from(exp))?;
            base.checked_mul(scale)
        }
        None => digits(text, 10),
    }
}

/// `text` as digits of `radix`, with `_` allowed only between two digits.
fn digits(text: &str, radix: u32) -> Option<U256> {
    let well_formed = text.split('_').all(|group| !group.is_empty() && group.chars().all(|c| c.is_digit(radix)));
    if !well_formed {
        return None;
    }
    U256::from_str_radix(text, u64::from(radix)).ok()
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
        assert_eq!(parse_amount("0xdead_beef"), Some(U256::from(0xdead_beef_u32)));
        assert_eq!(parse_amount("5E2"), Some(U256::from(500u32)));
        assert_eq!(parse_amount("0"), Some(U256::ZERO));
    }

    #[test]
    fn refuses_empty_parts_whitespace_signs_and_stray_separators() {
        for bad in [
            "",
            " 1",
            "1 ",
            " ",
            "\t1",
            "1\n",
            "+1",
            "-0",
            "0x",
            "0x+1",
            "0X10",
            "e18",
            "1e",
            "1e+5",
            "1e-5",
            "1e 5",
            "_1",
            "1_",
            "1__0",
            "0x_1",
            "1e1_8",
            "1.5",
            "1,000",
            "0x1g",
            "١",
            "1e99999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad:?} is not an amount");
        }
    }

    #[test]
    fn named_addresses_are_stable_and_distinct() {
        assert_eq!(named_address("alice"), named_address("alice"));
        assert_ne!(named_address("alice"), named_address("bob"));
    }
}
