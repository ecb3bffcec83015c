//! Checked 256-bit arithmetic and WAD (1e18) fixed point with a 512-bit intermediate.
//!
//! Every function names its rounding direction. ruint's operators wrap silently, so the state
//! machine uses only these helpers for money.

use alloy_primitives::{U256, U512};
use serde::Serialize;

/// 1e18, the unit of every ratio (magnitudes, scaling factors, slash fractions).
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// An arithmetic failure, carrying the operands so the caller's error can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum MathError {
    /// `a op b` does not fit in 256 bits.
    #[error("overflow in {op}: {a} and {b}")]
    Overflow {
        /// The operation that overflowed.
        op: &'static str,
        /// First operand.
        a: U256,
        /// Second operand.
        b: U256,
    },
    /// `a - b` would be negative.
    #[error("underflow: {a} - {b}")]
    Underflow {
        /// Minuend.
        a: U256,
        /// Subtrahend.
        b: U256,
    },
    /// Division by zero.
    #[error("division by zero: {a} / 0")]
    DivisionByZero {
        /// Dividend.
        a: U256,
    },
}

/// Result of a checked math step.
pub type MathResult<T> = Result<T, MathError>;

/// `a + b`, or an overflow error.
pub fn add(a: U256, b: U256) -> MathResult<U256> {
    a.checked_add(b).ok_or(MathError::Overflow { op: "add", a, b })
}

/// `a - b`, or an underflow error.
pub fn sub(a: U256, b: U256) -> MathResult<U256> {
    a.checked_sub(b).ok_or(MathError::Underflow { a, b })
}

/// `a * b`, or an overflow error.
pub fn mul(a: U256, b: U256) -> MathResult<U256> {
    a.checked_mul(b).ok_or(MathError::Overflow { op: "mul", a, b })
}

/// `x * y / d`, rounded up when `up`; a 256-bit product takes the fast path, others go wide.
fn mul_div(x: U256, y: U256, d: U256, up: bool) -> MathResult<U256> {
    if d.is_zero() {
        return Err(MathError::DivisionByZero { a: x });
    }
    let overflow = MathError::Overflow { op: "mul_div", a: x, b: y };
    if let Some(prod) = x.checked_mul(y) {
        // Divisors below 2^128 (WAD, prices and bps; share totals and balances) are the hot path.
        if let Ok(narrow) = u128::try_from(d) {
            let (q, r) = match (u128::try_from(prod), u64::try_from(narrow)) {
                // Most products of amounts and ratios fit 128 bits: one native division.
                (Ok(p), _) => {
                    let q = p.checked_div(narrow).unwrap_or_default();
                    (U256::from(q), p.wrapping_sub(q.wrapping_mul(narrow)))
                }
                // A one-limb divisor: one native division per limb.
                (Err(_), Ok(small)) => {
                    let (q, r) = div_rem_small(prod, small);
                    (q, u128::from(r))
                }
                (Err(_), Err(_)) => div_rem_mid(prod, narrow),
            };
            return if up && r != 0 { q.checked_add(U256::from(1u8)).ok_or(overflow) } else { Ok(q) };
        }
        // One division: rounding up needs the remainder, rounding down does not.
        if !up {
            return prod.checked_div(d).ok_or(MathError::DivisionByZero { a: x });
        }
        let (q, r) = prod.div_rem(d);
        return if r.is_zero() { Ok(q) } else { q.checked_add(U256::from(1u8)).ok_or(overflow) };
    }
    let prod: U512 = x.widening_mul(y);
    let d512 = U512::from(d);
    let (q, r) = prod.div_rem(d512);
    let q = if up && !r.is_zero() { q.checked_add(U512::from(1u8)).ok_or(overflow)? } else { q };
    U256::checked_from_limbs_slice(q.as_limbs()).ok_or(overflow)
}

/// `n / d` and its remainder for a non-zero divisor below 2^64: schoolbook division, one
/// native 128-by-64-bit division per limb, most significant first.
fn div_rem_small(n: U256, d: u64) -> (U256, u64) {
    let mut limbs = *n.as_limbs();
    let d = u128::from(d);
    let mut rem: u128 = 0;
    for limb in limbs.iter_mut().rev() {
        if rem == 0 && *limb == 0 {
            // A leading zero limb divides to zero with nothing carried: skip the division.
            continue;
        }
        let cur = (rem << 64) | u128::from(*limb);
        // rem < d, so cur / d < 2^64: the quotient limb always fits.
        let q = cur.checked_div(d).unwrap_or_default();
        *limb = u64::try_from(q).unwrap_or(u64::MAX);
        // q · d ≤ cur: the remainder without a second division.
        rem = cur.wrapping_sub(q.wrapping_mul(d));
    }
    (U256::from_limbs(limbs), u64::try_from(rem).unwrap_or(u64::MAX))
}

/// `n / d` and its remainder for a divisor in [2^64, 2^128): Knuth's algorithm D with a
/// normalized two-limb divisor, one 128-by-64-bit estimate per quotient limb. With two divisor
/// limbs the corrected estimate is the exact digit, so no add-back step is needed: while the
/// correction runs, `top = qhat·d1 + rhat` holds, and it stops exactly when `qhat·dn` fits the
/// three-limb window (or `rhat ≥ 2^64`, when it fits as well). The quotient has three limbs.
fn div_rem_mid(n: U256, d: u128) -> (U256, u128) {
    // d ≥ 2^64, so the shift that sets its top bit is below 64.
    let s = d.leading_zeros();
    let dn = d << s;
    let (d1, d0) = (dn >> 64, dn & u128::from(u64::MAX));
    // The dividend shifted by s, five limbs: each takes its own bits and the next lower limb's.
    let shifted = |hi: u64, lo: u64| ((((u128::from(hi) << 64) | u128::from(lo)) << s) >> 64) as u64;
    let [l0, l1, l2, l3] = *n.as_limbs();
    let (mut hi, mut mid) = (shifted(0, l3), shifted(l3, l2));
    let mut q = [0u64; 4];
    // Quotient limbs 2, 1, 0, each from the window (hi, mid, low); its remainder is the next
    // window's top two limbs.
    for (digit, low) in q[..3].iter_mut().rev().zip([shifted(l2, l1), shifted(l1, l0), l0 << s]) {
        let (qd, r1, r0) = two_limb_step(hi, mid, low, d1, d0);
        *digit = qd;
        (hi, mid) = (r1, r0);
    }
    let rem = ((u128::from(hi) << 64) | u128::from(mid)) >> s;
    (U256::from_limbs(q), rem)
}

/// One digit of `div_rem_mid`: the window (hi, mid, low), below dn·2^64, divided by the
/// normalized divisor (d1, d0); returns the digit and the two-limb remainder.
fn two_limb_step(hi: u64, mid: u64, low: u64, d1: u128, d0: u128) -> (u64, u64, u64) {
    let top = (u128::from(hi) << 64) | u128::from(mid);
    // d1 ≥ 2^63: the estimate exceeds the digit by at most two, and ends below 2^64.
    let mut qhat = top.checked_div(d1).unwrap_or_default();
    let mut rhat = top.wrapping_sub(qhat.wrapping_mul(d1));
    while qhat >> 64 != 0 || qhat.wrapping_mul(d0) > ((rhat << 64) | u128::from(low)) {
        qhat = qhat.wrapping_sub(1);
        rhat = rhat.wrapping_add(d1);
        if rhat >> 64 != 0 {
            break;
        }
    }
    // The window minus qhat·dn is below dn: two limbs (qhat < 2^64, so both partial products
    // fit 128 bits, and the top limb's difference is zero).
    let p0 = qhat.wrapping_mul(d0);
    let p1 = qhat.wrapping_mul(d1).wrapping_add(p0 >> 64);
    let (r0, borrow) = low.overflowing_sub(p0 as u64);
    let r1 = mid.wrapping_sub(p1 as u64).wrapping_sub(u64::from(borrow));
    (qhat as u64, r1, r0)
}

/// `floor(x * y / d)` with a 512-bit intermediate (rounds down).
pub fn mul_div_down(x: U256, y: U256, d: U256) -> MathResult<U256> {
    mul_div(x, y, d, false)
}

/// `ceil(x * y / d)` with a 512-bit intermediate (rounds up).
pub fn mul_div_up(x: U256, y: U256, d: U256) -> MathResult<U256> {
    mul_div(x, y, d, true)
}

/// `floor(x * y / WAD)` (rounds down).
pub fn mul_wad(x: U256, y: U256) -> MathResult<U256> {
    mul_div_down(x, y, WAD)
}

/// `ceil(x * y / WAD)` (rounds up).
pub fn mul_wad_up(x: U256, y: U256) -> MathResult<U256> {
    mul_div_up(x, y, WAD)
}

/// `floor(x * WAD / y)` (rounds down).
pub fn div_wad(x: U256, y: U256) -> MathResult<U256> {
    mul_div_down(x, WAD, y)
}

/// `a + b` for block heights and counters, or an overflow error.
pub fn add_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_add(b).ok_or(MathError::Overflow { op: "add", a: U256::from(a), b: U256::from(b) })
}

/// `a - b` for magnitudes and block heights, or an underflow error.
pub fn sub_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_sub(b).ok_or(MathError::Underflow { a: U256::from(a), b: U256::from(b) })
}

/// `a + b` for counters, or an overflow error.
pub fn add_u32(a: u32, b: u32) -> MathResult<u32> {
    a.checked_add(b).ok_or(MathError::Overflow { op: "add", a: U256::from(a), b: U256::from(b) })
}

/// `a - b` for counters, or an underflow error.
pub fn sub_u32(a: u32, b: u32) -> MathResult<u32> {
    a.checked_sub(b).ok_or(MathError::Underflow { a: U256::from(a), b: U256::from(b) })
}

/// `a + b` for signed balance changes, or an overflow error (operands shown by magnitude).
pub fn add_i128(a: i128, b: i128) -> MathResult<i128> {
    a.checked_add(b).ok_or(MathError::Overflow {
        op: "add_i128",
        a: U256::from(a.unsigned_abs()),
        b: U256::from(b.unsigned_abs()),
    })
}

/// A `u64` as a U256.
pub fn u(v: u64) -> U256 {
    U256::from(v)
}

/// Narrows a U256 known to be at most a magnitude (≤ WAD) into `u64`.
pub fn to_u64(v: U256) -> MathResult<u64> {
    u64::try_from(v).map_err(|_| MathError::Overflow { op: "to_u64", a: v, b: U256::ZERO })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_directions() {
        assert_eq!(mul_div_down(u(7), u(3), u(2)).unwrap(), u(10));
        assert_eq!(mul_div_up(u(7), u(3), u(2)).unwrap(), u(11));
        assert_eq!(mul_div_up(u(8), u(3), u(2)).unwrap(), u(12));
        assert_eq!(div_wad(u(1), u(3)).unwrap(), U256::from(333_333_333_333_333_333u64));
    }

    #[test]
    fn wide_intermediate_does_not_overflow() {
        let big = U256::MAX / u(2);
        assert_eq!(mul_div_down(big, WAD, WAD).unwrap(), big);
        assert!(matches!(mul_div_down(U256::MAX, u(2), u(1)), Err(MathError::Overflow { .. })));
        assert!(matches!(mul_div_down(u(1), u(1), U256::ZERO), Err(MathError::DivisionByZero { .. })));
        assert!(matches!(sub(u(1), u(2)), Err(MathError::Underflow { .. })));
        assert!(matches!(add(U256::MAX, u(1)), Err(MathError::Overflow { .. })));
    }

    #[test]
    fn two_limb_division_edges() {
        // The estimate's corrections: divisors at both ends of [2^64, 2^128),
        // dividends at the top of 256 bits and just below multiples of the divisor.
        let ds = [
            1u128 << 64,
            (1u128 << 64) + 1,
            u128::MAX,
            u128::MAX - 1,
            1u128 << 127,
            (1u128 << 127) + 1,
            0x8000_0000_0000_0000_ffff_ffff_ffff_ffff,
            0xffff_ffff_ffff_ffff_0000_0000_0000_0001,
        ];
        let ns = [
            U256::MAX,
            U256::MAX - u(1),
            U256::ZERO,
            U256::from(1u8) << 255,
            U256::from(u128::MAX),
            (U256::from(1u8) << 192) - u(1),
            U256::from_limbs([0, 0, u64::MAX, u64::MAX]),
        ];
        for d in ds {
            for n in ns {
                let (q, r) = n.div_rem(U256::from(d));
                assert_eq!(div_rem_mid(n, d), (q, u128::try_from(r).unwrap()), "{n} / {d}");
                let m = (n / U256::from(d)) * U256::from(d);
                if !m.is_zero() {
                    let below = m - u(1);
                    let (q, r) = below.div_rem(U256::from(d));
                    assert_eq!(div_rem_mid(below, d), (q, u128::try_from(r).unwrap()), "{below} / {d}");
                }
            }
        }
    }

    #[test]
    fn wide_products_round_up_only_with_a_remainder() {
        // MAX·3 needs 258 bits: the 512-bit path. MAX·3 = 4·(3·2^254 − 1) + 1.
        let q = (U256::from(3u8) << 254) - u(1);
        assert_eq!(mul_div_down(U256::MAX, u(3), u(4)).unwrap(), q);
        assert_eq!(mul_div_up(U256::MAX, u(3), u(4)).unwrap(), q + u(1));
        // An exact wide division does not round up, and a result past 256 bits is refused.
        assert_eq!(mul_div_up(U256::MAX, u(4), u(4)).unwrap(), U256::MAX);
        assert_eq!(mul_div_up(U256::MAX, U256::MAX, U256::MAX).unwrap(), U256::MAX);
        assert!(matches!(mul_div_up(U256::MAX, u(5), u(4)), Err(MathError::Overflow { op: "mul_div", .. })));
    }

    /// A limb: the edges of the correction steps, or any value.
    fn limb() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(1),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            Just(1 << 63),
            Just((1 << 63) - 1),
            any::<u64>()
        ]
    }

    proptest! {
        #[test]
        fn wide_and_narrow_paths_agree(x in any::<[u64; 4]>(), y in any::<u128>(), d in 1u128..) {
            // Compare against a pure 512-bit computation.
            let (x, y, d) = (U256::from_limbs(x), U256::from(y), U256::from(d));
            let wide: U512 = x.widening_mul(y) / U512::from(d);
            match mul_div_down(x, y, d) {
                Ok(q) => prop_assert_eq!(U512::from(q), wide),
                Err(_) => prop_assert!(wide > U512::from(U256::MAX)),
            }
        }

        #[test]
        fn small_divisors_agree_with_wide_division(x in any::<[u64; 3]>(), y in any::<u64>(), d in 1u64..) {
            // A 192-bit x times a 64-bit y always fits 256 bits: the small-divisor path.
            let (x, y, d) = (U256::from_limbs([x[0], x[1], x[2], 0]), U256::from(y), U256::from(d));
            let prod = x.widening_mul(y);
            let (q, r) = prod.div_rem(U512::from(d));
            match (mul_div_down(x, y, d), mul_div_up(x, y, d)) {
                (Ok(down), Ok(up)) => {
                    prop_assert_eq!(U512::from(down), q);
                    prop_assert_eq!(U512::from(up), if r.is_zero() { q } else { q + U512::from(1u8) });
                }
                (Ok(down), Err(_)) => prop_assert!(U512::from(down) == q && down == U256::MAX && !r.is_zero()),
                (Err(_), _) => prop_assert!(q > U512::from(U256::MAX)),
            }
        }

        #[test]
        fn short_products_agree_with_wide_division(x in any::<u128>(), y in any::<u64>(), d in 1u64.., shift in 0u32..128) {
            // Products under 2^128 (the native path) and under 2^192 (leading zero limbs skipped).
            let (x, y, d) = (U256::from(x >> shift), U256::from(y), U256::from(d));
            let (q, r) = x.widening_mul(y).div_rem(U512::from(d));
            prop_assert_eq!(U512::from(mul_div_down(x, y, d).unwrap()), q);
            let up = if r.is_zero() { q } else { q + U512::from(1u8) };
            prop_assert_eq!(U512::from(mul_div_up(x, y, d).unwrap()), up);
        }

        #[test]
        fn mid_divisors_agree_with_wide_division(x in any::<[u64; 4]>(), y in any::<u64>(), d in any::<u128>(), xs in 0u32..256, ds in 0u32..64) {
            // Divisors in [2^64, 2^128) with products of every width: the native and the
            // two-limb paths, and the 512-bit one past 256 bits.
            let x = U256::from_limbs(x) >> xs;
            let d = U256::from((d >> ds) | (1u128 << 64));
            let y = U256::from(y);
            let (q, r) = x.widening_mul(y).div_rem(U512::from(d));
            let up = if r.is_zero() { q } else { q + U512::from(1u8) };
            match mul_div_down(x, y, d) {
                Ok(down) => prop_assert_eq!(U512::from(down), q),
                Err(_) => prop_assert!(q > U512::from(U256::MAX)),
            }
            match mul_div_up(x, y, d) {
                Ok(v) => prop_assert_eq!(U512::from(v), up),
                Err(_) => prop_assert!(up > U512::from(U256::MAX)),
            }
        }

        #[test]
        fn two_limb_division_agrees_with_ruint(n in any::<[u64; 4]>(), d in any::<u128>(), ds in 0u32..64) {
            let n = U256::from_limbs(n);
            let d = (d >> ds) | (1u128 << 64);
            let (q, r) = n.div_rem(U256::from(d));
            prop_assert_eq!(div_rem_mid(n, d), (q, u128::try_from(r).unwrap()));
        }

        #[test]
        fn two_limb_division_recovers_quotient_and_remainder(
            q in [limb(), limb(), limb()],
            (dh, dl) in (limb(), limb()),
            r in any::<u128>(),
        ) {
            // Limbs at 0, 1, 2^63 and near 2^64 reach the estimate's corrections.
            let d = (u128::from(dh.max(1)) << 64) | u128::from(dl);
            let r = r % d;
            let q = U256::from_limbs([q[0], q[1], q[2], 0]);
            let Some(n) = q.checked_mul(U256::from(d)).and_then(|m| m.checked_add(U256::from(r))) else {
                return Ok(());
            };
            prop_assert_eq!(div_rem_mid(n, d), (q, r));
        }

        #[test]
        fn up_is_down_plus_remainder(x in any::<u128>(), y in any::<u128>(), d in 1u128..) {
            let (x, y, d) = (U256::from(x), U256::from(y), U256::from(d));
            let down = mul_div_down(x, y, d).unwrap();
            let up = mul_div_up(x, y, d).unwrap();
            let exact = (x * y) % d == U256::ZERO;
            prop_assert_eq!(up, if exact { down } else { down + u(1) });
        }
    }
}
