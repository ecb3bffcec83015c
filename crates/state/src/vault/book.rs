//! The vault's arithmetic on totals: the rate, mints and redemptions, prices, fees, the instant
//! fee curve and the bounds on a rate update. Pure functions of numbers, no `State`; every
//! division names its rounding, and every rounding favours the vault (its remaining holders)
//! over the account in front of it. Docs/vault.md tabulates them.

use cairn_primitives::{MathError, U256, WAD, math};
use serde::{Deserialize, Serialize};

/// Basis points in one.
pub const BPS: u64 = 10_000;
/// Seconds in a year (365 days), the unit of APR figures and the management fee.
pub const YEAR_SECONDS: u64 = 31_536_000;
/// Hard cap on the performance fee, in code: 20% of rewards (ether.fi's immutable maximum).
pub const MAX_PERFORMANCE_FEE_BPS: u16 = 2_000;
/// Hard cap on the management fee: 2% of assets a year.
pub const MAX_MANAGEMENT_FEE_BPS: u16 = 200;
/// Hard cap on the instant redemption fee: 5%.
pub const MAX_INSTANT_FEE_BPS: u16 = 500;

type R<T> = Result<T, MathError>;

fn bps(v: u64) -> U256 {
    U256::from(v)
}

/// The rate, value per receipt token in WAD: `floor(assets · WAD / supply)`; WAD while no token
/// exists. Rounding down keeps `supply · rate ≤ assets`: every holder's claim is covered.
pub fn rate(assets: U256, supply: U256) -> R<U256> {
    if supply.is_zero() {
        return Ok(WAD);
    }
    math::mul_div_down(assets, WAD, supply)
}

/// Tokens minted for `value` at `rate`: `floor(value · WAD / rate)` (the depositor gets no dust).
pub fn to_tokens(value: U256, rate: U256) -> R<U256> {
    math::mul_div_down(value, WAD, rate)
}

/// Value paid for `tokens` at `rate`: `floor(tokens · rate / WAD)` (the redeemer gets no dust).
pub fn to_value(tokens: U256, rate: U256) -> R<U256> {
    math::mul_div_down(tokens, rate, WAD)
}

/// Value of an asset amount at a WAD price: `floor(amount · price / WAD)`.
pub fn value_of(amount: U256, price: U256) -> R<U256> {
    math::mul_div_down(amount, price, WAD)
}

/// Value of an asset amount, rounded up (for what the vault may lose: reserves).
pub fn value_of_up(amount: U256, price: U256) -> R<U256> {
    math::mul_div_up(amount, price, WAD)
}

/// Asset amount worth `value` at a WAD price: `floor(value · WAD / price)` (paid out: rounds down).
pub fn amount_of(value: U256, price: U256) -> R<U256> {
    math::mul_div_down(value, WAD, price)
}

/// Asset amount worth `value`, rounded up (what the vault must unbond to cover a payment).
pub fn amount_of_up(value: U256, price: U256) -> R<U256> {
    math::mul_div_up(value, WAD, price)
}

/// `floor(x · bps / 10 000)`.
pub fn bps_of(x: U256, b: u64) -> R<U256> {
    math::mul_div_down(x, bps(b), bps(BPS))
}

/// `ceil(x · bps / 10 000)`.
pub fn bps_of_up(x: U256, b: u64) -> R<U256> {
    math::mul_div_up(x, bps(b), bps(BPS))
}

/// Fees accrued since the last settlement, and the tokens that pay them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fees {
    /// Management fee value: `floor(assets · bps · elapsed / (10 000 · year))`.
    pub management: U256,
    /// Performance fee value: `floor((assets − management − ceil((mark + 1) · supply / WAD)) · bps / 10 000)`.
    pub performance: U256,
    /// Receipt tokens minted to the fee recipient: `floor(fee · supply / (assets − fee))`, so the
    /// rate after the mint is the rate net of fees (no jump when they are minted).
    pub tokens: U256,
}

impl Fees {
    /// Both fees' value.
    pub fn value(&self) -> R<U256> {
        math::add(self.management, self.performance)
    }
}

/// Fee parameters in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRates {
    /// Performance fee on gains above the high-water mark, in bps.
    pub performance_bps: u16,
    /// Management fee per year, in bps.
    pub management_bps: u16,
}

/// The fees due on `assets` backing `supply` tokens, `elapsed` seconds after the last accrual,
/// with the high-water mark `hwm` (performance is charged only above it, so a recovery after a
/// loss is never charged twice). Fees round down (the recipient is an account, not the vault).
pub fn accrue_fees(assets: U256, supply: U256, hwm: U256, elapsed: u64, f: FeeRates) -> R<Fees> {
    if supply.is_zero() || assets.is_zero() {
        return Ok(Fees::default());
    }
    let per_year = math::mul(bps(BPS), bps(YEAR_SECONDS))?;
    let management = math::mul_div_down(assets, math::mul(bps(u64::from(f.management_bps)), bps(elapsed))?, per_year)?;
    // The gain above the mark, in value: assets less what the supply was worth at the mark. The
    // mark is a rate rounded down, so one unit of it is slack: nothing within the mark's own
    // rounding is charged (and the gain rounds down).
    let at_mark = math::mul_div_up(math::add(hwm, U256::from(1u8))?, supply, WAD)?;
    let gain = math::sub(assets, management)?.saturating_sub(at_mark);
    let performance = bps_of(gain, u64::from(f.performance_bps))?;
    let fee = math::add(management, performance)?;
    let rest = math::sub(assets, fee)?;
    let tokens = if fee.is_zero() || rest.is_zero() { U256::ZERO } else { math::mul_div_down(fee, supply, rest)? };
    Ok(Fees { management, performance, tokens })
}

/// The instant redemption fee in bps once the free buffer would hold `after` of its `target`:
/// the minimum at or above the target, rising linearly to the maximum as the buffer empties
/// (rounded up: the fee favours the vault).
pub fn instant_fee_bps(min_bps: u16, max_bps: u16, after: U256, target: U256) -> R<u16> {
    if after >= target || max_bps <= min_bps {
        return Ok(min_bps);
    }
    let span = U256::from(max_bps.saturating_sub(min_bps));
    let drained = math::sub(target, after)?;
    let extra = math::mul_div_up(span, drained, target)?;
    Ok(min_bps.saturating_add(u16::try_from(extra).unwrap_or(u16::MAX)).min(max_bps))
}

/// Bounds on one rate update (ether.fi's validation stack): an APR cap and a per-update cap on
/// moves up, a separate per-update cap on moves down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBounds {
    /// Largest annualised rise, in bps a year.
    pub max_apr_bps: u32,
    /// Largest rise per update, in bps.
    pub max_up_bps: u16,
    /// Largest fall per update, in bps.
    pub max_down_bps: u16,
}

/// Why a candidate rate is outside its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breach {
    /// The rise exceeds the APR cap over the elapsed time.
    AprCap,
    /// The rise exceeds the per-update cap.
    UpCap,
    /// The fall exceeds the per-update cap.
    DownCap,
}

/// The largest rate change allowed from `old` after `elapsed` seconds: (up, down), rounded down.
pub fn allowed_moves(old: U256, elapsed: u64, b: RateBounds) -> R<(U256, U256)> {
    let per_year = math::mul(bps(BPS), bps(YEAR_SECONDS))?;
    let apr = math::mul_div_down(old, math::mul(bps(u64::from(b.max_apr_bps)), bps(elapsed))?, per_year)?;
    let up = bps_of(old, u64::from(b.max_up_bps))?.min(apr);
    Ok((up, bps_of(old, u64::from(b.max_down_bps))?))
}

/// Whether moving from `old` to `new` after `elapsed` seconds stays within the bounds.
pub fn check_bounds(old: U256, new: U256, elapsed: u64, b: RateBounds) -> R<Option<Breach>> {
    let (up, down) = allowed_moves(old, elapsed, b)?;
    if new > old {
        let rise = math::sub(new, old)?;
        if rise > bps_of(old, u64::from(b.max_up_bps))? {
            return Ok(Some(Breach::UpCap));
        }
        if rise > up {
            return Ok(Some(Breach::AprCap));
        }
    } else if math::sub(old, new)? > down {
        return Ok(Some(Breach::DownCap));
    }
    Ok(None)
}

/// Annualised return between two rates over `seconds`, in bps (signed): `(new − old) / old ·
/// year / seconds`, rounded toward zero. `None` when the window is empty.
pub fn apr_bps(old: U256, new: U256, seconds: u64) -> Option<i64> {
    if seconds == 0 || old.is_zero() {
        return None;
    }
    let (diff, neg) = if new >= old { (new.saturating_sub(old), false) } else { (old.saturating_sub(new), true) };
    let scaled = math::mul_div_down(diff, bps(BPS * YEAR_SECONDS), math::mul(old, bps(seconds)).ok()?).ok()?;
    let v = i64::try_from(scaled).ok()?;
    Some(if neg { v.saturating_neg() } else { v })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e18(v: u64) -> U256 {
        U256::from(v) * WAD
    }

    #[test]
    fn rate_is_wad_without_supply_and_rounds_down() {
        assert_eq!(rate(U256::ZERO, U256::ZERO).unwrap(), WAD);
        assert_eq!(rate(U256::from(10u8), U256::from(3u8)).unwrap(), U256::from(3_333_333_333_333_333_333u128));
        assert_eq!(to_tokens(U256::from(10u8), U256::from(3u8) * WAD).unwrap(), U256::from(3u8));
        assert_eq!(to_value(U256::from(3u8), WAD + WAD / U256::from(2u8)).unwrap(), U256::from(4u8));
    }

    #[test]
    fn prices_round_toward_the_vault() {
        let p = U256::from(1_100_000_000_000_000_000u128);
        assert_eq!(value_of(U256::from(9u8), p).unwrap(), U256::from(9u8));
        assert_eq!(value_of_up(U256::from(9u8), p).unwrap(), U256::from(10u8));
        assert_eq!(amount_of(U256::from(11u8), p).unwrap(), U256::from(10u8));
        assert_eq!(amount_of_up(U256::from(12u8), p).unwrap(), U256::from(11u8));
    }

    #[test]
    fn management_fee_over_a_year_is_its_bps() {
        let f = FeeRates { performance_bps: 0, management_bps: 100 };
        let fees = accrue_fees(e18(1_000), e18(1_000), WAD, YEAR_SECONDS, f).unwrap();
        assert_eq!(fees.management, e18(10));
        assert_eq!(fees.performance, U256::ZERO);
        // 10 of 1 000 as tokens: 1 000 · 10 / 990, and the rate after is 0.99 (to the wei).
        assert_eq!(fees.tokens, U256::from(10_101_010_101_010_101_010u128));
        let after = rate(e18(1_000), e18(1_000) + fees.tokens).unwrap();
        assert_eq!(after, U256::from(990_000_000_000_000_000u128));
    }

    #[test]
    fn performance_fee_only_above_the_high_water_mark() {
        let f = FeeRates { performance_bps: 1_000, management_bps: 0 };
        // Rate 1.07 against a mark of 1.0: 10% of the 70 gained, less the mark's one unit of
        // slack (1 000 wei over 1 000 tokens).
        let fees = accrue_fees(e18(1_070), e18(1_000), WAD, 1, f).unwrap();
        assert_eq!(fees.performance, e18(7) - U256::from(100u8));
        let after = rate(e18(1_070), e18(1_000) + fees.tokens).unwrap();
        assert_eq!(after, U256::from(1_063_000_000_000_000_000u128));
        // Right at the mark (within its rounding): nothing.
        let fees = accrue_fees(e18(1_000) + U256::from(999u16), e18(1_000), WAD, 1, f).unwrap();
        assert_eq!(fees, Fees::default());
        // Below the mark: nothing.
        let fees = accrue_fees(e18(990), e18(1_000), WAD, 1, f).unwrap();
        assert_eq!(fees, Fees::default());
    }

    #[test]
    fn instant_fee_rises_as_the_buffer_drains() {
        let t = e18(100);
        assert_eq!(instant_fee_bps(10, 110, e18(150), t).unwrap(), 10);
        assert_eq!(instant_fee_bps(10, 110, e18(100), t).unwrap(), 10);
        assert_eq!(instant_fee_bps(10, 110, e18(50), t).unwrap(), 60);
        assert_eq!(instant_fee_bps(10, 110, U256::ZERO, t).unwrap(), 110);
        // Rounds up: 1 wei drained costs a basis point.
        assert_eq!(instant_fee_bps(10, 110, e18(100) - U256::from(1u8), t).unwrap(), 11);
    }

    #[test]
    fn bounds_per_update() {
        let b = RateBounds { max_apr_bps: 1_000, max_up_bps: 10, max_down_bps: 5 };
        // A year allows 10% by APR but only 0.1% per update.
        assert_eq!(check_bounds(WAD, WAD + WAD / U256::from(1_000u32), YEAR_SECONDS, b).unwrap(), None);
        let above = WAD + WAD / U256::from(1_000u32) + U256::from(1u8);
        assert_eq!(check_bounds(WAD, above, YEAR_SECONDS, b).unwrap(), Some(Breach::UpCap));
        // One day allows 10%/365 = 2.739... bps: a 3 bps rise breaks the APR cap.
        let three_bps = WAD + WAD * U256::from(3u8) / U256::from(10_000u32);
        assert_eq!(check_bounds(WAD, three_bps, 86_400, b).unwrap(), Some(Breach::AprCap));
        // No time, no rise.
        assert_eq!(check_bounds(WAD, WAD + U256::from(1u8), 0, b).unwrap(), Some(Breach::AprCap));
        let down = WAD - WAD * U256::from(5u8) / U256::from(10_000u32);
        assert_eq!(check_bounds(WAD, down, 0, b).unwrap(), None);
        assert_eq!(check_bounds(WAD, down - U256::from(1u8), 0, b).unwrap(), Some(Breach::DownCap));
    }

    #[test]
    fn apr_of_a_rate_move() {
        let r = WAD + WAD * U256::from(7u8) / U256::from(100u8);
        assert_eq!(apr_bps(WAD, r, YEAR_SECONDS), Some(700));
        assert_eq!(apr_bps(r, WAD, YEAR_SECONDS), Some(-654));
        assert_eq!(apr_bps(WAD, r, 0), None);
    }

    proptest! {
        /// Minting then redeeming at one rate never returns more than was paid in, and the
        /// holders' claims stay covered: supply · rate ≤ assets.
        #[test]
        fn round_trip_never_gains(assets in 1u128..1u128 << 100, supply in 1u128..1u128 << 100, v in 0u128..1u128 << 90) {
            let (assets, supply, v) = (U256::from(assets), U256::from(supply), U256::from(v));
            let r = rate(assets, supply).unwrap();
            prop_assume!(!r.is_zero());
            prop_assert!(to_value(supply, r).unwrap() <= assets);
            let t = to_tokens(v, r).unwrap();
            prop_assert!(to_value(t, r).unwrap() <= v);
            // After the mint the rate does not fall.
            let r2 = rate(assets + v, supply + t).unwrap();
            prop_assert!(r2 >= r);
        }

        /// Minting the fee tokens leaves the rate at the net rate, never above it.
        #[test]
        fn fee_tokens_price_the_fee(assets in 1u128 << 60..1u128 << 100, supply in 1u128 << 60..1u128 << 100,
                                    elapsed in 0u64..YEAR_SECONDS, perf in 0u16..=2_000, mgmt in 0u16..=200) {
            let (assets, supply) = (U256::from(assets), U256::from(supply));
            let f = accrue_fees(assets, supply, WAD, elapsed, FeeRates { performance_bps: perf, management_bps: mgmt }).unwrap();
            let fee = f.value().unwrap();
            prop_assert!(fee <= assets);
            let net = rate(assets - fee, supply).unwrap();
            let after = rate(assets, supply + f.tokens).unwrap();
            prop_assert!(after >= net);
        }
    }
}
