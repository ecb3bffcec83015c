//! Signature recovery on one fixed set of threads shared by every caller: one per core, each ten
//! nice steps below the node's other threads, so recovery takes whatever CPU the block producer
//! and the HTTP threads leave. However many requests verify at once, at most that many threads
//! recover.
//!
//! History (`cairn bench node` on 2 cores): a pair of threads spawned per request ran 32
//! recovering threads under 16 concurrent batches and starved block production (p99 3.6 s); two
//! pool threads at normal priority let admission outrun the producer (15.6–15.9k tx/s, p99 1.2 s);
//! one pool thread left a core to the producer but idle while it waited (18.3–20.1k tx/s); two
//! threads ten nice steps down give 22.5–26.1k tx/s, p99 0.46–0.58 s. Where the priority cannot
//! be lowered, the extra thread (the one past cores − 1) stops, which is the one-thread pool.

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
        let kept = cores.saturating_sub(1).max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..cores.max(1) {
            let queue = Arc::clone(&queue);
            // A thread that cannot be spawned leaves fewer workers; with none, callers verify
            // inline (their send fails once the receiver is gone).
            let extra = i >= kept;
            let _ = std::thread::Builder::new().name(format!("cairn-verify-{i}")).spawn(move || work(&queue, extra));
        }
        Pool { jobs }
    })
}

/// A worker: runs jobs until the queue closes. A panicking job loses only its own answer. The
/// `extra` worker (the one that would compete with the producer for the last core) stops at once
/// when its priority cannot be lowered.
fn work(queue: &Mutex<Receiver<Job>>, extra: bool) {
    if !lower_priority() && extra {
        return;
    }
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Lowers the calling thread's scheduling priority by `RECOVERY_NICE` steps (Linux's nice value
/// is per thread; 19 at most); false where that is refused, not available or already at 19.
fn lower_priority() -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::{process, thread::gettid};
        let me = Some(gettid());
        let Ok(now) = process::getpriority_process(me) else {
            return false;
        };
        let target = now.saturating_add(RECOVERY_NICE).min(19);
        target > now && process::setpriority_process(me, target).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// How far below the node's other threads recovery runs: at 10 nice steps its CFS weight is a
/// ninth, so a runnable producer or HTTP thread gets the core.
#[cfg(target_os = "linux")]
const RECOVERY_NICE: i32 = 10;

/// Verifies signed transactions on the recovery pool (in chunks; a few inline), keeping order.
/// Each comes back shared (`Arc`), as the mempool holds it, so the batch's vectors hold pointers.
pub fn verify_all(domain: &Domain, txs: Vec<SignedTx>) -> Vec<Result<Arc<Verified>, EnvelopeError>> {
    let pool = pool();
    if txs.len() < INLINE_BELOW {
        return domain.verify_batch(txs).into_iter().map(|r| r.map(Arc::new)).collect();
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
            let _ = done.send((index, d.verify_batch(part).into_iter().map(|r| r.map(Arc::new)).collect::<Vec<_>>()));
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
    // Sized once: a flattened collect grew it by doubling, each step a copy.
    let mut out = Vec::with_capacity(parts.iter().map(|(_, p)| p.len()).sum());
    for (_, p) in parts {
        out.extend(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;
    use cairn_primitives::AssetId;
    use cairn_state::Tx;

    use super::*;
    use crate::envelope::{address_of, dev_key};

    /// A recovery thread runs ten nice steps below the others, and only the thread that asked is
    /// lowered.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_recovery_thread_lowers_its_own_priority_only() {
        use rustix::{process::getpriority_process, thread::gettid};
        let before = getpriority_process(Some(gettid())).expect("own priority");
        let (lowered, nice) =
            std::thread::spawn(|| (lower_priority(), getpriority_process(Some(gettid())))).join().expect("thread");
        assert_eq!(lowered, before < 19);
        assert_eq!(nice.expect("worker priority"), (before + RECOVERY_NICE).min(19));
        assert_eq!(getpriority_process(Some(gettid())).expect("own priority"), before);
    }

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
        crate::envelope::assert_same_answers(pooled.iter().map(Result::as_deref), inline.iter().map(Result::as_ref));
        assert!(pooled[5].is_err() && pooled[70].is_err() && pooled.iter().filter(|r| r.is_ok()).count() == 148);
    }
}
