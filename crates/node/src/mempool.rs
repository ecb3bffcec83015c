//! The mempool: verified transactions waiting for a block, ordered per account by nonce.
//!
//! Insertion (after `envelope`'s checks and `admission`'s rules) checks against the committed
//! nonces: a nonce below the account's next is stale, one more than `MAX_NONCE_GAP` beyond the
//! run of waiting transactions that follows the committed nonce is refused, a (sender, nonce)
//! already waiting is a duplicate, and an account may have at most `MAX_WAITING_PER_ACCOUNT`
//! waiting (`AccountFull`). When the pool is full, the newest transaction of the longest queue is
//! evicted if that queue is longer than the newcomer's would be; otherwise the newcomer is
//! refused (`Full`). The pool's memory is bounded too (`MAX_POOL_BYTES`, `FullBytes`). Expired
//! transactions are dropped when blocks are proposed.
//!
//! The pool also counts the waiting transactions admission marked as *budgeted* (sent by
//! accounts that hold nothing, see `admission`), so that admission can bound them in total.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use alloy_primitives::{Address, B256};
use cairn_state::tx::TxKind;

use crate::envelope::Verified;

/// How far ahead of the account's next nonce a transaction may be.
pub const MAX_NONCE_GAP: u64 = 64;
/// Most transactions one account may have waiting.
pub const MAX_WAITING_PER_ACCOUNT: usize = 64;
/// Most memory the waiting transactions may take, by [`footprint`] (256 MiB): a pool of large
/// bodies fills this before it fills its count.
pub const MAX_POOL_BYTES: usize = 256 << 20;

/// What a waiting transaction costs in memory, counted generously: its strings as received, the
/// decoded action (bounded by its body) and the bookkeeping around it.
pub fn footprint(tx: &Verified) -> usize {
    let s = &tx.signed;
    s.body.len().saturating_mul(2).saturating_add(s.action.len()).saturating_add(s.signature.len()).saturating_add(512)
}

/// Why the mempool refuses a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
pub enum MempoolError {
    /// The nonce was already used.
    #[error("nonce {nonce} of {sender} is stale: the next nonce is {next}")]
    StaleNonce {
        /// Signer.
        sender: Address,
        /// Submitted nonce.
        nonce: u64,
        /// The account's next nonce.
        next: u64,
    },
    /// The nonce is too far ahead.
    #[error("nonce {nonce} of {sender} is too far ahead: the next free nonce is {next}, at most {max_gap} ahead")]
    FutureNonce {
        /// Signer.
        sender: Address,
        /// Submitted nonce.
        nonce: u64,
        /// The account's next nonce.
        next: u64,
        /// Allowed gap.
        max_gap: u64,
    },
    /// Another transaction with this (sender, nonce) is waiting.
    #[error("{sender} already has a transaction with nonce {nonce} waiting ({existing})")]
    NonceTaken {
        /// Signer.
        sender: Address,
        /// Nonce.
        nonce: u64,
        /// The waiting transaction.
        existing: B256,
    },
    /// The account already has as many transactions waiting as one account may.
    #[error("{sender} already has {waiting} transactions waiting, at most {max}: wait for a block")]
    AccountFull {
        /// Signer.
        sender: Address,
        /// Its waiting transactions.
        waiting: usize,
        /// The bound.
        max: usize,
    },
    /// The mempool is full and nothing may be evicted for this transaction.
    #[error("mempool is full ({capacity} transactions)")]
    Full {
        /// Capacity.
        capacity: usize,
    },
    /// The waiting transactions take the pool's whole memory budget.
    #[error("mempool is full: {bytes} bytes waiting, this transaction needs {needs} more, at most {max}")]
    FullBytes {
        /// Bytes waiting.
        bytes: usize,
        /// This transaction's footprint.
        needs: usize,
        /// The budget.
        max: usize,
    },
}

impl MempoolError {
    /// The variant's name, for API errors.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// Waiting transactions.
#[derive(Debug)]
pub struct Mempool {
    queues: BTreeMap<Address, BTreeMap<u64, Arc<Verified>>>,
    /// Each waiting transaction's footprint.
    by_hash: HashMap<B256, usize>,
    budgeted: std::collections::HashSet<B256>,
    capacity: usize,
    bytes: usize,
    max_bytes: usize,
    /// Where the next block's round-robin starts: the first account a full block left unserved
    /// in its last round (`None`: the lowest address). Without it, a backlog larger than a block
    /// would serve the same low addresses first every block and starve the rest.
    start: Option<Address>,
}

impl Mempool {
    /// An empty mempool holding at most `capacity` transactions and [`MAX_POOL_BYTES`].
    pub fn new(capacity: usize) -> Self {
        Self::with_max_bytes(capacity, MAX_POOL_BYTES)
    }

    /// An empty mempool holding at most `capacity` transactions and `max_bytes` of them.
    pub fn with_max_bytes(capacity: usize, max_bytes: usize) -> Self {
        Self {
            queues: BTreeMap::new(),
            by_hash: HashMap::new(),
            budgeted: std::collections::HashSet::new(),
            capacity: capacity.max(1),
            bytes: 0,
            max_bytes,
            start: None,
        }
    }

    /// Memory the waiting transactions take, by [`footprint`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether a transaction waits.
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Number of transactions `sender` has waiting.
    pub fn waiting_of(&self, sender: &Address) -> usize {
        self.queues.get(sender).map_or(0, BTreeMap::len)
    }

    /// Whether `sender` has a transaction of `kind` waiting.
    pub fn has_waiting(&self, sender: &Address, kind: TxKind) -> bool {
        self.queues.get(sender).is_some_and(|q| q.values().any(|tx| tx.tx.kind() == kind))
    }

    /// Number of waiting transactions admitted as budgeted.
    pub fn budgeted_len(&self) -> usize {
        self.budgeted.len()
    }

    /// Admits `tx` given its sender's next committed nonce, counting it as budgeted if
    /// `budgeted`; returns the evicted transaction, if any.
    pub fn insert(
        &mut self,
        tx: impl Into<Arc<Verified>>,
        next: u64,
        budgeted: bool,
    ) -> Result<Option<B256>, MempoolError> {
        let tx: Arc<Verified> = tx.into();
        let (sender, nonce) = (tx.sender, tx.nonce);
        self.check_nonce(sender, nonce, next)?;
        let waiting = self.waiting_of(&sender);
        if waiting >= MAX_WAITING_PER_ACCOUNT {
            return Err(MempoolError::AccountFull { sender, waiting, max: MAX_WAITING_PER_ACCOUNT });
        }
        let needs = footprint(&tx);
        if self.bytes.saturating_add(needs) > self.max_bytes {
            return Err(MempoolError::FullBytes { bytes: self.bytes, needs, max: self.max_bytes });
        }
        let mut evicted = None;
        if self.len() >= self.capacity {
            evicted = Some(self.evict_for(sender)?);
        }
        self.by_hash.insert(tx.hash, needs);
        self.bytes = self.bytes.saturating_add(needs);
        if budgeted {
            self.budgeted.insert(tx.hash);
        }
        self.queues.entry(sender).or_default().insert(nonce, tx);
        Ok(evicted)
    }

    /// Stale, too far ahead, or already taken by a waiting transaction.
    fn check_nonce(&self, sender: Address, nonce: u64, next: u64) -> Result<(), MempoolError> {
        if nonce < next {
            return Err(MempoolError::StaleNonce { sender, nonce, next });
        }
        let ready = self.contiguous_end(&sender, next);
        if nonce.saturating_sub(ready) > MAX_NONCE_GAP {
            return Err(MempoolError::FutureNonce { sender, nonce, next: ready, max_gap: MAX_NONCE_GAP });
        }
        if let Some(existing) = self.queues.get(&sender).and_then(|q| q.get(&nonce)) {
            return Err(MempoolError::NonceTaken { sender, nonce, existing: existing.hash });
        }
        Ok(())
    }

    /// Forgets a transaction that left the queues.
    fn forget(&mut self, hash: &B256) {
        if let Some(n) = self.by_hash.remove(hash) {
            self.bytes = self.bytes.saturating_sub(n);
        }
        self.budgeted.remove(hash);
    }

    /// The first nonce after the run of waiting transactions that starts at `next`.
    pub fn contiguous_end(&self, sender: &Address, next: u64) -> u64 {
        let Some(q) = self.queues.get(sender) else {
            return next;
        };
        let mut end = next;
        for n in q.range(next..).map(|(n, _)| *n) {
            if n != end {
                break;
            }
            end = end.saturating_add(1);
        }
        end
    }

    /// Evicts the newest transaction of the longest queue, if it is longer than `sender`'s would be.
    fn evict_for(&mut self, sender: Address) -> Result<B256, MempoolError> {
        let own = self.queues.get(&sender).map_or(0, BTreeMap::len).saturating_add(1);
        let victim =
            self.queues.iter().max_by_key(|(a, q)| (q.len(), std::cmp::Reverse(**a))).map(|(a, q)| (*a, q.len()));
        match victim {
            Some((who, len)) if len > own => {
                let q = self.queues.get_mut(&who).ok_or(MempoolError::Full { capacity: self.capacity })?;
                let (_, tx) = q.pop_last().ok_or(MempoolError::Full { capacity: self.capacity })?;
                if q.is_empty() {
                    self.queues.remove(&who);
                }
                self.forget(&tx.hash);
                Ok(tx.hash)
            }
            _ => Err(MempoolError::Full { capacity: self.capacity }),
        }
    }

    /// Up to `max` transactions ready for a block: per account the contiguous run from its next
    /// nonce, accounts taken round-robin one transaction at a time in address order, starting
    /// where the previous full block's last round stopped (then wrapping around). Drops expired
    /// transactions (returned second).
    pub fn ready(
        &mut self,
        max: usize,
        now: u64,
        next_nonce: impl Fn(&Address) -> u64,
    ) -> (Vec<Arc<Verified>>, Vec<B256>) {
        let expired = self.drop_expired(now);
        let first = self.start.unwrap_or(Address::ZERO);
        let order = self.queues.range(first..).chain(self.queues.range(..first));
        // Sized once: growing these per block (one run per sender) faulted fresh pages in.
        let mut runs: Vec<(Address, std::iter::Peekable<_>)> = Vec::with_capacity(self.queues.len());
        for (sender, q) in order {
            let mut expect = next_nonce(sender);
            let run = q.range(expect..).map_while(move |(n, tx)| {
                (*n == expect).then(|| {
                    expect = expect.saturating_add(1);
                    tx.clone()
                })
            });
            runs.push((*sender, run.peekable()));
        }
        let mut out = Vec::with_capacity(max.min(self.len()));
        self.start = None;
        'rounds: while out.len() < max {
            let mut any = false;
            for (sender, run) in &mut runs {
                if run.peek().is_none() {
                    continue;
                }
                if out.len() >= max {
                    // This account waits: the next block's round starts with it.
                    self.start = Some(*sender);
                    break 'rounds;
                }
                out.extend(run.next());
                any = true;
            }
            if !any {
                break;
            }
        }
        (out, expired)
    }

    /// Drops the transactions that expired before `now`; returns their hashes.
    pub fn drop_expired(&mut self, now: u64) -> Vec<B256> {
        let mut gone = Vec::new();
        for q in self.queues.values_mut() {
            q.retain(|_, tx| {
                let keep = tx.expiry >= now;
                if !keep {
                    gone.push(tx.hash);
                }
                keep
            });
        }
        self.queues.retain(|_, q| !q.is_empty());
        for h in &gone {
            self.forget(h);
        }
        gone
    }

    /// Forgets every transaction of `sender` with a nonce below `next` (committed or passed).
    pub fn advance(&mut self, sender: Address, next: u64) {
        let Some(q) = self.queues.get_mut(&sender) else {
            return;
        };
        let keep = q.split_off(&next);
        let gone: Vec<B256> = q.values().map(|tx| tx.hash).collect();
        if keep.is_empty() {
            self.queues.remove(&sender);
        } else {
            *q = keep;
        }
        for h in &gone {
            self.forget(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Domain, dev_key};
    use cairn_primitives::AssetId;
    use cairn_state::Tx;

    fn tx(key: u32, nonce: u64, expiry: u64) -> Verified {
        let d = Domain::new(1);
        let k = dev_key(&format!("mempool/{key}"));
        let t = Tx::Transfer { asset: AssetId(0), to: Address::ZERO, amount: alloy_primitives::U256::from(1) };
        d.verify(d.sign(&k, &t, nonce, expiry)).expect("verifies")
    }

    #[test]
    fn nonces_are_checked_against_committed_and_waiting() {
        let mut m = Mempool::new(100);
        let a = tx(0, 3, 10);
        let sender = a.sender;
        assert_eq!(m.insert(tx(0, 2, 10), 3, false), Err(MempoolError::StaleNonce { sender, nonce: 2, next: 3 }));
        m.insert(a, 3, false).expect("next nonce");
        let err = m.insert(tx(0, 3, 10), 3, false).unwrap_err();
        assert!(matches!(err, MempoolError::NonceTaken { nonce: 3, .. }), "{err:?}");
        // The gap counts from the end of the waiting run (3 waits, so 4 is next free).
        m.insert(tx(0, 4 + MAX_NONCE_GAP, 10), 3, false).expect("at the gap");
        let err = m.insert(tx(0, 5 + MAX_NONCE_GAP, 10), 3, false).unwrap_err();
        assert_eq!(
            err,
            MempoolError::FutureNonce { sender, nonce: 5 + MAX_NONCE_GAP, next: 4, max_gap: MAX_NONCE_GAP }
        );
    }

    #[test]
    fn ready_takes_contiguous_runs_round_robin_and_drops_expired() {
        let mut m = Mempool::new(100);
        for n in [0, 1, 2, 4] {
            m.insert(tx(1, n, 100), 0, false).expect("admitted");
        }
        for n in [0, 1] {
            m.insert(tx(2, n, 100), 0, false).expect("admitted");
        }
        m.insert(tx(3, 0, 5), 0, false).expect("admitted");
        let (ready, expired) = m.ready(10, 50, |_| 0);
        assert_eq!(expired.len(), 1, "the transaction expiring at 5 is dropped at 50");
        assert_eq!(ready.len(), 5, "nonce 4 waits for 3");
        // Round-robin: the first two are from different senders.
        assert_ne!(ready[0].sender, ready[1].sender);
        let (capped, _) = m.ready(2, 50, |_| 0);
        assert_eq!(capped.len(), 2);
        // Blocks of one: each full block leaves the rest of its round first in line, so the two
        // senders alternate instead of the lower address being served every time.
        let (s1, s2) = (tx(1, 0, 100).sender, tx(2, 0, 100).sender);
        let senders: Vec<_> = (0..4).map(|_| m.ready(1, 50, |_| 0).0[0].sender).collect();
        let lower = s1.min(s2);
        let higher = s1.max(s2);
        assert_eq!(senders, vec![lower, higher, lower, higher]);
        m.advance(s1, 3);
        assert_eq!(m.len(), 3, "nonces 0..3 of sender 1 are gone");
    }

    #[test]
    fn a_full_pool_evicts_the_longest_queue_tail_or_refuses() {
        let mut m = Mempool::new(3);
        for n in 0..3 {
            m.insert(tx(1, n, 100), 0, false).expect("admitted");
        }
        let victim = tx(1, 2, 100).hash;
        assert_eq!(m.insert(tx(2, 0, 100), 0, false), Ok(Some(victim)));
        assert!(!m.contains(&victim));
        let mut m = Mempool::new(2);
        m.insert(tx(1, 0, 100), 0, false).expect("admitted");
        m.insert(tx(2, 0, 100), 0, false).expect("admitted");
        assert_eq!(m.insert(tx(3, 0, 100), 0, false), Err(MempoolError::Full { capacity: 2 }));
    }

    #[test]
    fn an_account_may_have_at_most_max_waiting() {
        let mut m = Mempool::new(1_000);
        let limit = MAX_WAITING_PER_ACCOUNT as u64;
        for n in 0..limit {
            m.insert(tx(4, n, 100), 0, false).expect("admitted");
        }
        let sender = tx(4, 0, 100).sender;
        assert_eq!(m.waiting_of(&sender), MAX_WAITING_PER_ACCOUNT);
        assert_eq!(
            m.insert(tx(4, limit, 100), 0, false),
            Err(MempoolError::AccountFull { sender, waiting: MAX_WAITING_PER_ACCOUNT, max: MAX_WAITING_PER_ACCOUNT })
        );
        assert_eq!(m.len(), MAX_WAITING_PER_ACCOUNT, "the refusal changed nothing");
        m.advance(sender, 1);
        m.insert(tx(4, limit, 100), 1, false).expect("room again after a commit");
        assert!(m.insert(tx(5, 0, 100), 0, false).is_ok(), "other accounts are not affected");
    }

    #[test]
    fn budgeted_transactions_are_counted_until_they_leave() {
        let mut m = Mempool::new(3);
        m.insert(tx(6, 0, 100), 0, true).expect("admitted");
        m.insert(tx(6, 1, 100), 0, true).expect("admitted");
        m.insert(tx(7, 0, 5), 0, true).expect("admitted");
        assert_eq!(m.budgeted_len(), 3);
        let six = tx(6, 0, 100).sender;
        assert!(m.has_waiting(&six, TxKind::Transfer) && !m.has_waiting(&six, TxKind::Deposit));
        // Expiry, commit and eviction each forget it.
        let _ = m.ready(10, 50, |_| 0);
        assert_eq!(m.budgeted_len(), 2, "the expired one");
        m.advance(six, 1);
        assert_eq!(m.budgeted_len(), 1, "the committed one");
        m.insert(tx(6, 2, 100), 1, true).expect("admitted");
        m.insert(tx(8, 0, 100), 0, false).expect("admitted");
        assert_eq!((m.len(), m.budgeted_len()), (3, 2));
        let victim = tx(6, 2, 100).hash;
        assert_eq!(m.insert(tx(9, 0, 100), 0, false), Ok(Some(victim)));
        assert_eq!(m.budgeted_len(), 1, "the evicted one");
    }

    #[test]
    fn the_pool_is_bounded_in_bytes_and_frees_them_as_transactions_leave() {
        let one = footprint(&tx(0, 0, 10));
        let mut m = Mempool::with_max_bytes(100, 2 * one);
        m.insert(tx(0, 0, 10), 0, false).expect("fits");
        m.insert(tx(1, 0, 10), 0, false).expect("fits");
        assert_eq!(m.bytes(), 2 * one);
        let err = m.insert(tx(2, 0, 10), 0, false).unwrap_err();
        assert_eq!(err, MempoolError::FullBytes { bytes: 2 * one, needs: one, max: 2 * one });
        assert_eq!(m.len(), 2, "nothing changed");
        // An expired one leaves and frees its bytes.
        let (_, gone) = m.ready(10, 11, |_| 0);
        assert_eq!((gone.len(), m.bytes()), (2, 0));
        m.insert(tx(2, 0, 20), 0, false).expect("fits again");
    }
}
