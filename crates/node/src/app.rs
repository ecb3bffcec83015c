//! The application: the state machine behind an ABCI 2.0-shaped boundary.
//!
//! `prepare_proposal` picks what goes into a block, `process_proposal` validates a block
//! someone else proposed, `finalize_block` executes one and returns its header and receipts,
//! `commit` makes it durable. The single-proposer node calls them in that order; a CometBFT
//! adapter (`crate::abci`) calls the same methods from its ABCI handlers.

use std::{collections::HashMap, path::Path, sync::Arc};

use alloy_primitives::{Address, B256, keccak256};
use cairn_state::{Ctx, Genesis, State, persist::Changes};

use crate::{
    block::{Block, Header, Receipt, ReceiptError, merkle_root, receipt_leaves},
    envelope::{Domain, EnvelopeError, SignedTx, Verified},
    store::{BlockCommit, NONCES, Store, StoreError, StoreOptions, nonce_key},
};

/// Why the application refuses to start or to take a block.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value that feeds a consensus hash could not be encoded canonically.
    #[error(transparent)]
    Encoding(#[from] cairn_primitives::canonical::EncodeError),
    /// The genesis is not valid.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// The store belongs to another chain.
    #[error("the store holds chain {stored}, not chain {wanted}")]
    WrongChain {
        /// In the store.
        stored: u64,
        /// Asked for.
        wanted: u64,
    },
    /// The store was started from another genesis.
    #[error("the store was started from genesis {stored}, not {given}")]
    GenesisMismatch {
        /// In the store.
        stored: B256,
        /// Asked for.
        given: B256,
    },
    /// A stored state row does not load.
    #[error("stored state does not load: {0}")]
    State(#[from] cairn_state::persist::LoadError),
}

/// The state (tracking changes) and the account nonces from the store's rows.
fn load(store: &Store) -> Result<(State, HashMap<Address, u64>), AppError> {
    let rows = store.state_rows()?;
    let mut nonces = HashMap::new();
    for (_, key, value) in rows.iter().filter(|r| r.0 == NONCES) {
        let a = Address::try_from(key.as_slice())
            .map_err(|e| StoreError::Corrupt { what: "nonce key", reason: e.to_string() })?;
        let n: u64 =
            postcard::from_bytes(value).map_err(|e| StoreError::Corrupt { what: "nonce", reason: e.to_string() })?;
        nonces.insert(a, n);
    }
    let mut state = crate::store::state_of(&rows)?;
    state.set_tracking(true);
    Ok((state, nonces))
}

/// Why a proposed block is rejected (`process_proposal`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    /// Not the next height.
    #[error("proposal for height {height}, expected {expected}")]
    WrongHeight {
        /// Proposed.
        height: u64,
        /// Expected.
        expected: u64,
    },
    /// Time went backwards.
    #[error("proposal time {time} is before the head's {head_time}")]
    TimeWentBackwards {
        /// Proposed.
        time: u64,
        /// Head's.
        head_time: u64,
    },
    /// A transaction does not verify.
    #[error("transaction {index}: {error}")]
    BadTx {
        /// Position.
        index: usize,
        /// Why.
        error: EnvelopeError,
    },
    /// A transaction's nonce is out of sequence.
    #[error("transaction {index} of {sender}: nonce {nonce}, expected {expected}")]
    NonceOutOfOrder {
        /// Position.
        index: usize,
        /// Signer.
        sender: Address,
        /// Its nonce.
        nonce: u64,
        /// The next nonce at that point.
        expected: u64,
    },
    /// A transaction expired before the block's time.
    #[error("transaction {index} expired at {expiry}, block time {time}")]
    Expired {
        /// Position.
        index: usize,
        /// Its expiry.
        expiry: u64,
        /// Block time.
        time: u64,
    },
}

/// A block executed but not yet committed.
#[derive(Debug)]
pub struct Finalized {
    /// The block.
    pub block: Block,
    /// Receipts in order.
    pub receipts: Vec<Receipt>,
    /// Each receipt's leaf in `receipt_root`, in the same order (ABCI's `ExecTxResult.data`).
    pub leaves: Vec<B256>,
    rows: Changes,
}

/// The state machine, the account nonces and the chain head, over the store.
#[derive(Debug)]
pub struct App {
    state: State,
    nonces: HashMap<Address, u64>,
    head: Header,
    domain: Domain,
    store: Store,
}

impl App {
    /// Opens the store at `path` with the default options: resumes from it, or writes `genesis`
    /// as block 0 if it is new.
    pub fn open(path: &Path, genesis: &Genesis, chain_id: u64) -> Result<Self, AppError> {
        Self::open_with(path, genesis, chain_id, StoreOptions::default())
    }

    /// [`App::open`] with store options (cache size, rewards history).
    pub fn open_with(path: &Path, genesis: &Genesis, chain_id: u64, options: StoreOptions) -> Result<Self, AppError> {
        let store = Store::open(path, options)?;
        let domain = Domain::new(chain_id);
        let genesis_hash = keccak256(postcard::to_allocvec(genesis).map_err(|e| AppError::Genesis(e.to_string()))?);
        if let Some(meta) = store.meta()? {
            if meta.chain_id != chain_id {
                return Err(AppError::WrongChain { stored: meta.chain_id, wanted: chain_id });
            }
            if let Some(stored) = meta.genesis.filter(|g| *g != genesis_hash) {
                return Err(AppError::GenesisMismatch { stored, given: genesis_hash });
            }
            let (state, nonces) = load(&store)?;
            return Ok(Self { state, nonces, head: meta.head, domain, store });
        }
        let mut state = State::genesis(genesis).map_err(|e| AppError::Genesis(e.to_string()))?;
        let rows = state.rows()?;
        let head = Header {
            height: 0,
            time: 0,
            parent_hash: B256::ZERO,
            tx_root: B256::ZERO,
            receipt_root: B256::ZERO,
            state_hash: state_commitment(B256::ZERO, &rows),
            tx_count: 0,
        };
        store.commit_block(&BlockCommit {
            durable: true,
            block: &Block { header: head.clone(), txs: Vec::new() },
            receipts: &[],
            rows: &rows,
            chain_id,
            genesis: Some(genesis_hash),
            interval: state.params().rewards_interval_seconds,
            pool_add: &[],
            pool_remove: &[],
        })?;
        state.set_tracking(true);
        Ok(Self { state, nonces: HashMap::new(), head, domain, store })
    }

    /// Brings the store back to a devnet savepoint and reloads the state, nonces and head from it.
    pub fn revert_to(&mut self, savepoint: &crate::store::Savepoint) -> Result<(), AppError> {
        self.store.revert_to(savepoint)?;
        let meta = self.store.meta()?.ok_or_else(|| AppError::Genesis("the savepoint holds no chain".into()))?;
        let (state, nonces) = load(&self.store)?;
        (self.state, self.nonces, self.head) = (state, nonces, meta.head);
        Ok(())
    }

    /// The state after the head block.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// A dry run of `tx` on the current state (`State::simulate`): its events and what
    /// `inspect` reads right after it, or its error; the state is unchanged afterwards.
    pub fn simulate<R>(
        &mut self,
        ctx: &cairn_state::Ctx,
        tx: &cairn_state::Tx,
        inspect: impl FnOnce(&State) -> R,
    ) -> Result<(Vec<cairn_state::Event>, R), cairn_state::TxError> {
        self.state.simulate(ctx, tx, inspect)
    }

    /// The head block's header.
    pub fn head(&self) -> &Header {
        &self.head
    }

    /// The signing domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The store (reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// An account's next nonce.
    pub fn next_nonce(&self, a: &Address) -> u64 {
        self.nonces.get(a).copied().unwrap_or(0)
    }

    /// ABCI PrepareProposal: keeps, in order, the candidates whose nonces follow on and that are
    /// not expired at `time`, at most `max`.
    pub fn prepare_proposal(&self, candidates: Vec<Arc<Verified>>, time: u64, max: usize) -> Vec<Arc<Verified>> {
        let mut next: HashMap<Address, u64> = HashMap::new();
        let mut out = Vec::with_capacity(candidates.len().min(max));
        for tx in candidates {
            if out.len() >= max {
                break;
            }
            let n = next.entry(tx.sender).or_insert_with(|| self.next_nonce(&tx.sender));
            if tx.nonce == *n && tx.expiry >= time {
                *n = n.saturating_add(1);
                out.push(tx);
            }
        }
        out
    }

    /// ABCI ProcessProposal: re-verifies a proposed block's transactions (signatures in parallel)
    /// and checks height, time, nonces and expiries.
    pub fn process_proposal(&self, height: u64, time: u64, txs: &[SignedTx]) -> Result<(), ProposalError> {
        let verified = self.verify_block(txs.to_vec())?;
        self.check_proposal(height, time, &verified)
    }

    /// Verifies a block's transactions on every core, in order; the first failure names its
    /// position.
    pub fn verify_block(&self, txs: Vec<SignedTx>) -> Result<Vec<Arc<Verified>>, ProposalError> {
        crate::verify_all(&self.domain, txs)
            .into_iter()
            .enumerate()
            .map(|(index, v)| v.map_err(|error| ProposalError::BadTx { index, error }))
            .collect()
    }

    /// [`App::process_proposal`] over transactions already verified: height, time, nonces and
    /// expiries.
    pub fn check_proposal(&self, height: u64, time: u64, txs: &[Arc<Verified>]) -> Result<(), ProposalError> {
        let expected = self.head.height.saturating_add(1);
        if height != expected {
            return Err(ProposalError::WrongHeight { height, expected });
        }
        if time < self.head.time {
            return Err(ProposalError::TimeWentBackwards { time, head_time: self.head.time });
        }
        let mut next: HashMap<Address, u64> = HashMap::new();
        for (index, v) in txs.iter().enumerate() {
            let n = next.entry(v.sender).or_insert_with(|| self.next_nonce(&v.sender));
            if v.nonce != *n {
                return Err(ProposalError::NonceOutOfOrder { index, sender: v.sender, nonce: v.nonce, expected: *n });
            }
            if v.expiry < time {
                return Err(ProposalError::Expired { index, expiry: v.expiry, time });
            }
            *n = n.saturating_add(1);
        }
        Ok(())
    }

    /// ABCI FinalizeBlock: executes the transactions at the next height. A transaction whose
    /// nonce is not the next one is skipped (it cannot be in a processed proposal); every other
    /// one gets a receipt and uses its nonce, accepted or refused.
    pub fn finalize_block(&mut self, time: u64, txs: &[Arc<Verified>]) -> Result<Finalized, AppError> {
        let height = self.head.height.saturating_add(1);
        let time = time.max(self.head.time);
        let mut receipts = Vec::with_capacity(txs.len());
        let mut included = Vec::with_capacity(txs.len());
        let mut touched = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            self.state
                .prefetch_ahead(|n| txs.get(i + n).map(|t| (Ctx { sender: t.sender, block: height, time }, &t.tx)));
            if tx.nonce != self.next_nonce(&tx.sender) || tx.expiry < time {
                continue;
            }
            let ctx = Ctx { sender: tx.sender, block: height, time };
            let index = u32::try_from(included.len()).unwrap_or(u32::MAX);
            let (ok, events, error) = match self.state.apply(&ctx, &tx.tx) {
                Ok(events) => {
                    (true, events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect(), None)
                }
                Err(e) => (false, Vec::new(), Some(ReceiptError { name: e.name().to_owned(), message: e.to_string() })),
            };
            self.nonces.insert(tx.sender, tx.nonce.saturating_add(1));
            touched.push(tx.sender);
            receipts.push(Receipt {
                tx_hash: tx.hash,
                height,
                index,
                sender: tx.sender,
                nonce: tx.nonce,
                action: tx.signed.action.clone(),
                ok,
                events,
                error,
            });
            included.push(tx.signed.clone());
        }
        let mut changes = self.state.take_changes()?;
        touched.sort_unstable();
        touched.dedup();
        for a in touched {
            let value = cairn_primitives::canonical::encode("nonce", &self.next_nonce(&a))?;
            changes.push_bytes(NONCES, &nonce_key(&a), Some(&value));
        }
        let leaves = receipt_leaves(&receipts)?;
        let header = Header {
            height,
            time,
            parent_hash: self.head.hash()?,
            tx_root: merkle_root(receipts.iter().map(|r| r.tx_hash).collect()),
            receipt_root: merkle_root(leaves.clone()),
            state_hash: state_commitment(self.head.state_hash, &changes),
            tx_count: u32::try_from(included.len()).unwrap_or(u32::MAX),
        };
        Ok(Finalized { block: Block { header, txs: included }, receipts, leaves, rows: changes })
    }

    /// ABCI Commit: writes the finalized block, its receipts and state rows in one redb
    /// transaction and makes it the head. On error the node must stop: memory is ahead of disk.
    pub fn commit(&mut self, f: &Finalized) -> Result<(), AppError> {
        self.commit_with_pool(f, &[], &[])
    }

    /// [`App::commit`] that also moves the mempool's changes since the previous block into the
    /// store's pool table, in the same transaction.
    pub fn commit_with_pool(
        &mut self,
        f: &Finalized,
        pool_add: &[(B256, Vec<u8>)],
        pool_remove: &[B256],
    ) -> Result<(), AppError> {
        self.commit_durably(f, pool_add, pool_remove, true)
    }

    /// [`App::commit_with_pool`]; with `durable` false the commit skips its fsync (a devnet
    /// mining many blocks at once): it becomes durable with the next durable commit, and a crash
    /// before that rolls the store back to the last durable block.
    pub fn commit_durably(
        &mut self,
        f: &Finalized,
        pool_add: &[(B256, Vec<u8>)],
        pool_remove: &[B256],
        durable: bool,
    ) -> Result<(), AppError> {
        self.store.commit_block(&BlockCommit {
            durable,
            block: &f.block,
            receipts: &f.receipts,
            rows: &f.rows,
            chain_id: self.domain.chain_id,
            genesis: None,
            interval: self.state.params().rewards_interval_seconds,
            pool_add,
            pool_remove,
        })?;
        self.head = f.block.header.clone();
        Ok(())
    }
}

impl App {
    /// Replays a committed block (a follower, or a check from genesis): processes the proposal,
    /// executes and commits it, and fails if the resulting header differs from the block's.
    pub fn replay_block(&mut self, block: &Block) -> Result<Header, ReplayError> {
        let h = &block.header;
        let verified = self.verify_block(block.txs.clone())?;
        self.check_proposal(h.height, h.time, &verified)?;
        let f = self.finalize_block(h.time, &verified)?;
        if f.block.header != *h {
            return Err(ReplayError::Diverged {
                height: h.height,
                expected: Box::new(h.clone()),
                got: Box::new(f.block.header),
            });
        }
        self.commit(&f)?;
        Ok(f.block.header)
    }
}

/// Why a replayed block does not reproduce.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The block is not a valid proposal.
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    /// Executing or storing it failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// It executes to another header.
    #[error("block {height} replays to {got:?}, stored as {expected:?}")]
    Diverged {
        /// Height.
        height: u64,
        /// Stored header.
        expected: Box<Header>,
        /// Replayed header.
        got: Box<Header>,
    },
}

/// The state commitment: the eight-way tree hash of the canonical bytes of the ordered changed
/// rows, with the previous commitment in front (`cairn_keccak::keccak256_tree8_after`):
/// keccak256(previous ‖ length as u64 LE ‖ keccak256(piece₀) ‖ … ‖ keccak256(pieceₖ)). The
/// rows of a large block are hashed in up to eight pieces side by side.
pub fn state_commitment(previous: B256, changes: &Changes) -> B256 {
    cairn_keccak::keccak256_tree8_after(previous.as_slice(), changes.canonical_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The state commitment over a block's changed rows: (table, key, value or none) in order.
    #[test]
    fn the_state_commitment_is_pinned() {
        let mut changes = Changes::default();
        changes.push_bytes(3, &[1, 2], Some(&[9]));
        changes.push_bytes(NONCES, &[0xaa; 20], None);
        let bytes = changes.canonical_bytes();
        let want = [&[2u8, 3, 2, 1, 2, 1, 1, 9, 255, 20][..], &[0xaa; 20], &[0]].concat();
        assert_eq!(bytes, want, "two changes: table, length-prefixed key, optional value");
        let h = state_commitment(B256::repeat_byte(7), &changes);
        // One piece (under 8 × 135 bytes): keccak256(previous ‖ length as u64 LE ‖ keccak256(bytes)).
        let preimage = [&[7u8; 32][..], &(want.len() as u64).to_le_bytes(), keccak256(&want).as_slice()].concat();
        assert_eq!(h, keccak256(preimage));
        assert_eq!(
            h,
            "0x14b40855916124777e15d71a0a9a89e1538fff73732d5bead3786efc211ef019".parse::<B256>().unwrap(),
            "pinned"
        );
    }
}
