//! The Cairn node: signed transactions, a mempool, single-proposer blocks behind an ABCI
//! 2.0-shaped boundary, a redb store committed once per block, and the REST API.
//!
//! Data flows one way: HTTP → `envelope` (stateless checks, signature recovery) → `admission`
//! (rules every transaction must pass before it may use a nonce) → `mempool` (nonce checks
//! against the committed state, bounds) → `app` (prepare, finalize, commit) → `store`, and
//! events out to subscribers.

pub mod abci;
pub mod admission;
pub mod api;
pub mod api_dev;
pub mod api_events;
pub mod api_history;
pub mod api_preview;
pub mod api_risk;
pub mod api_vault;
pub mod app;
pub mod block;
pub mod client;
pub mod dev;
pub mod devnet;
pub mod devnet_vault;
pub mod envelope;
pub mod http;
pub mod loadgen;
pub mod mempool;
pub mod node;
pub mod pending;
pub mod query;
pub mod store;
mod verifier;
pub mod web;

pub use app::App;
pub use envelope::{Domain, SignedTx, Verified};
pub use node::{Config, Node};
pub use verifier::verify_all;
