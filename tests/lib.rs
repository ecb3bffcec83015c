//! Shared test machinery for Cairn's integration tests and fuzz target.
//!
//! * [`world`]: the fixed starting world (genesis plus a setup of operators, services and
//!   operator sets) and the step runner that checks, after every transaction, that the invariants
//!   hold and that a refused transaction left the state byte-identical.
//! * [`ops`]: a small alphabet of operations over that world and the bytes → operations decoder
//!   used both by `fuzz/fuzz_targets/tx_sequence.rs` and by the `fuzz_smoke` and `model` tests.
//!
//! Everything here is deterministic: no clocks, no randomness.
#![forbid(unsafe_code)]

pub mod ops;
pub mod world;

/// Decodes `data` into steps and runs them on a fresh [`world::World`], panicking on the first
/// invariant violation or on a refused transaction that changed the state. The fuzz target's body.
pub fn run_fuzz_input(data: &[u8]) {
    let mut world = world::World::new();
    for step in ops::decode(data) {
        world.step(&step);
    }
}
