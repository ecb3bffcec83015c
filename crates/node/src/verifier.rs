//! Signature recovery on one fixed set of threads shared by every caller: one per core but one,
//! at least one. However many requests verify at once, at most that many threads recover, and the
//! block producer (a thread of its own) keeps a core. With a pair of threads spawned per request,
//! 16 concurrent batches ran 32 recovering threads and starved block production (p99 3.6 s); with
//! both cores recovering, admission outran the producer (`cairn bench node` on 2 cores: 15.6–15.9k
//! tx/s, p99 1.2 s, against 17.4–18.1k tx/s, p99 0.62–0.68 s with one).

use std::sync::{
    Arc, Mutex, OnceLock,
    mpsc::{Receiver, Sender, channel},
};

use crate::envelope::{Domain, EnvelopeError, SignedTx, Verified};

/// Transactions per job: about 1.5 ms of recovery, small enough to interleave batches fairly.
const CHUNK: usize = 32;

/// Below this many transactions the caller verifies them itself.
const INLINE_BELOW: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// The worker threads' queue.
struct Pool {
    jobs: Sender<Job>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores.saturating_sub(1).max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            // A thread that cannot be spawned leaves fewer workers; with none, callers verify
            // inline (their send fails once the receiver is gone).
            let _ = std::thread::Builder::new().name(format!("cairn-verify-{i}")).spawn(move || work(&queue));
        }
        Pool { jobs }
    })
}

/// A worker: runs jobs until the queue closes. A panicking job loses only its own answer.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Verifies signed transactions on the recovery pool (in chunks; a few inline), keeping order.
pub fn verify_all(domain: &Domain, txs: Vec<SignedTx>) -> Vec<Result<Verified, EnvelopeError>> {
    let pool = pool();
    if txs.len() < INLINE_BELOW {
        return txs.into_iter().map(|t| domain.verify(t)).collect();
    }
    let domain = Arc::new(domain.clone());
    let (done, answers) = channel();
    let mut chunks = 0usize;
    let mut rest = txs.into_iter().peekable();
    while rest.peek().is_some() {
        let part: Vec<SignedTx> = rest.by_ref().take(CHUNK).collect();
        let (d, done) = (Arc::clone(&domain), done.clone());
        let index = chunks;
        chunks += 1;
        let job: Job = Box::new(move || {
            let _ = done.send((index, part.into_iter().map(|t| d.verify(t)).collect::<Vec<_>>()));
        });
        if let Err(refused) = pool.jobs.send(job) {
            // No worker is left: run it here.
            (refused.0)();
        }
    }
    drop(done);
    let mut parts: Vec<(usize, Vec<_>)> = answers.iter().collect();
    assert_eq!(parts.len(), chunks, "a verification job panicked");
    parts.sort_unstable_by_key(|(i, _)| *i);
    parts.into_iter().flat_map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;
    use cairn_primitives::AssetId;
    use cairn_state::Tx;

    use super::*;
    use crate::envelope::{address_of, dev_key};

    #[test]
    fn pooled_verification_keeps_order_and_equals_inline() {
        let domain = Domain::new(9);
        let keys: Vec<_> = (0..3).map(|i| dev_key(&format!("verifier/{i}"))).collect();
        let to = address_of(&keys[0]);
        let mut txs: Vec<SignedTx> = (0..150u64)
            .map(|i| {
                let tx = Tx::Transfer { asset: AssetId(0), to, amount: U256::from(i + 1) };
                domain.sign(&keys[(i % 3) as usize], &tx, i / 3, 1_000)
            })
            .collect();
        // Bad items across chunks: a wrong chain, a signer that is not the sender.
        txs[5].chain_id = 10;
        txs[70].from = address_of(&keys[2]);
        let inline: Vec<_> = txs.iter().cloned().map(|t| domain.verify(t)).collect();
        let pooled = verify_all(&domain, txs);
        assert_eq!(pooled.len(), inline.len());
        for (i, (p, q)) in pooled.iter().zip(&inline).enumerate() {
            match (p, q) {
                (Ok(a), Ok(b)) => assert_eq!((a.hash, a.sender, a.nonce), (b.hash, b.sender, b.nonce), "item {i}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "item {i}"),
                _ => panic!("item {i}: pooled {p:?}, inline {q:?}"),
            }
        }
        assert!(pooled[5].is_err() && pooled[70].is_err() && pooled.iter().filter(|r| r.is_ok()).count() == 148);
    }
}
