//! Keeper optimizer benchmark (to be written).
fn main() {}
