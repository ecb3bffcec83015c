//! The integration-test binary: one module per area.
mod abci;
mod admission;
mod cli;
mod consensus;
mod dev;
mod devnet_vault;
mod fuzz_smoke;
mod hostile;
mod model;
mod node;
mod node_ops;
mod persist;
mod preview;
mod scenarios;
mod support;
mod vault_model;
mod web;
