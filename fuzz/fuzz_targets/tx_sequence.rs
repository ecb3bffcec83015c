//! Fuzzes sequences of transactions against the Cairn state machine.
//!
//! The input bytes are decoded by `cairn_tests::ops::decode` into steps of 16 bytes each (sender
//! choice, block advance, one operation with small ids), applied to the fixed world of
//! `cairn_tests::world` (genesis plus setup). After every step the target asserts that
//! `State::check_invariants` holds and that a refused transaction left the canonical state bytes
//! unchanged; any panic (including arithmetic or indexing panics inside the state machine) is a
//! finding. `tests/it/fuzz_smoke.rs` runs the same function over 2,000 fixed pseudo-random inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cairn_tests::run_fuzz_input(data);
});
