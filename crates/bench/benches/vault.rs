//! Vault benchmarks (to be written).
fn main() {}
