//! Small helpers for the model tests: 256-bit money arithmetic with explicit rounding, written
//! independently of `cairn_primitives::math`, and a few constructors.

use cairn_primitives::{Address, U256};
use cairn_state::{Ctx, State, Tx, TxError};

/// 1e18 as a U256.
pub(crate) fn wad() -> U256 {
    U256::from(1_000_000_000_000_000_000u64)
}

/// `v` as a U256.
pub(crate) fn u(v: u64) -> U256 {
    U256::from(v)
}

/// `(floor(x·y / d), (x·y) mod d ≠ 0)` with a 512-bit product; `None` if `d = 0` or the quotient
/// does not fit 256 bits.
fn div_rem(x: U256, y: U256, d: U256) -> Option<(U256, bool)> {
    if d.is_zero() {
        return None;
    }
    let product = x.widening_mul::<256, 4, 512, 8>(y);
    let divisor = d.widening_mul::<256, 4, 512, 8>(U256::from(1u8));
    let q = product / divisor;
    let inexact = !(product % divisor).is_zero();
    U256::checked_from_limbs_slice(q.as_limbs()).map(|q| (q, inexact))
}

/// `floor(x·y / d)`.
pub(crate) fn mul_div(x: U256, y: U256, d: U256) -> Option<U256> {
    div_rem(x, y, d).map(|(q, _)| q)
}

/// `ceil(x·y / d)`.
pub(crate) fn mul_div_up(x: U256, y: U256, d: U256) -> Option<U256> {
    div_rem(x, y, d).and_then(|(q, inexact)| if inexact { q.checked_add(U256::from(1u8)) } else { Some(q) })
}

/// Applies one transaction at `block` from `sender`.
pub(crate) fn apply(state: &mut State, sender: Address, block: u64, tx: Tx) -> Result<(), TxError> {
    state.apply(&Ctx { sender, block, time: block * 2 }, &tx).map(|_| ())
}

#[test]
fn money_helpers_round_as_named() {
    assert_eq!(mul_div(u(7), u(3), u(2)), Some(u(10)));
    assert_eq!(mul_div_up(u(7), u(3), u(2)), Some(u(11)));
    assert_eq!(mul_div_up(u(8), u(3), u(2)), Some(u(12)));
    assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX), Some(U256::MAX));
    assert_eq!(mul_div(U256::MAX, u(2), u(1)), None);
    assert_eq!(mul_div(u(1), u(1), U256::ZERO), None);
}
