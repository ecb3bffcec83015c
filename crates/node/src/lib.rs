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
pub mod web;

pub use app::App;
pub use envelope::{Domain, SignedTx, Verified};
pub use node::{Config, Node};

/// Verifies signed transactions on every core (signature recovery dominates), keeping order.
pub fn verify_all(domain: &Domain, txs: Vec<SignedTx>) -> Vec<Result<Verified, envelope::EnvelopeError>> {
    // Asked once: the answer reads cgroup files, tens of microseconds a call.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    if txs.len() < 16 {
        return txs.into_iter().map(|t| domain.verify(t)).collect();
    }
    let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 1 {
        return txs.into_iter().map(|t| domain.verify(t)).collect();
    }
    let chunk = txs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<SignedTx>> = Vec::new();
    let mut it = txs.into_iter().peekable();
    while it.peek().is_some() {
        chunks.push(it.by_ref().take(chunk).collect());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(|t| domain.verify(t)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}
