//! Runs the fuzz target's logic (`cairn_tests::run_fuzz_input`: decode bytes into steps, apply
//! each with the invariant and refused-means-unchanged checks) over a fixed set of pseudo-random
//! byte strings, so CI exercises the fuzz harness without cargo-fuzz.

use cairn_tests::{
    ops::{STEP_BYTES, XorShift, decode},
    run_fuzz_input,
    world::World,
};

/// Sequences per run.
const SEQUENCES: u64 = 2_000;
/// Longest sequence, in steps.
const MAX_LEN: u64 = 32;

fn input(seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(0xC41E_u64.wrapping_mul(seed + 1));
    let steps = rng.next_u64() % (MAX_LEN + 1);
    // Include a ragged tail sometimes: the decoder zero-pads it.
    let tail = (rng.next_u64() % STEP_BYTES as u64) * u64::from(rng.next_u64().is_multiple_of(4));
    rng.bytes((steps * STEP_BYTES as u64 + tail) as usize)
}

#[test]
fn fuzz_inputs_from_a_fixed_seed() {
    for seed in 0..SEQUENCES {
        let data = input(seed);
        let result = std::panic::catch_unwind(|| run_fuzz_input(&data));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("fuzz input #{seed} failed: {msg}\nsteps: {:#?}", decode(&data));
        }
    }
}

#[test]
fn degenerate_inputs() {
    run_fuzz_input(&[]);
    run_fuzz_input(&[0]);
    run_fuzz_input(&[0xff; 7 * STEP_BYTES + 3]);
    run_fuzz_input(&[0x00; 40 * STEP_BYTES]);
    run_fuzz_input(&(0..=255u8).cycle().take(64 * STEP_BYTES).collect::<Vec<_>>());
}

#[test]
fn decoder_is_total_and_bounded() {
    let mut rng = XorShift::new(7);
    for len in [0, 1, STEP_BYTES - 1, STEP_BYTES, 5 * STEP_BYTES + 1, 10_000] {
        let steps = decode(&rng.bytes(len));
        assert_eq!(steps.len(), len.div_ceil(STEP_BYTES).min(cairn_tests::ops::MAX_STEPS));
    }
    // Every operation kind is reachable from byte 0.
    let kinds: std::collections::HashSet<_> =
        (0..=255u8).map(|b| std::mem::discriminant(&decode(&[b, 0, 0]).remove(0).op)).collect();
    assert_eq!(kinds.len(), cairn_tests::ops::KINDS.len());
    let _ = World::new();
}
