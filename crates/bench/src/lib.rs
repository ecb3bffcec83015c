//! Benchmark support crate for the Cairn performance targets.
