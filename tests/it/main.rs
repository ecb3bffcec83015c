//! The integration-test binary: one module per area.
mod admission;
mod devnet_vault;
mod fuzz_smoke;
mod model;
mod node;
mod persist;
mod scenarios;
mod support;
mod vault_model;
