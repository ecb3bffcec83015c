//! The ABCI 2.0 adapter for CometBFT v0.38: tower-abci's requests become calls on the node's
//! [`App`](crate::App), and the answers go back. Under CometBFT the node's own producer makes no
//! blocks (`Mining::Consensus`): CometBFT orders them and the adapter executes them.
//!
//! Transactions travel as their canonical bytes ([`tx_bytes`]). `CheckTx` verifies and admits
//! them to the node's mempool, which is the nonce-ordered view the proposer builds blocks from;
//! `ProcessProposal` re-checks a proposal on every validator; `FinalizeBlock` executes it (block
//! time from the consensus header) and answers the block's state hash as the app hash;
//! `Commit` writes it in one store transaction. Signature checks are cached by the bytes' hash,
//! so a transaction is verified once per validator.

use std::{
    collections::{HashMap, VecDeque},
    future::Ready,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, keccak256};
use bytes::Bytes;
use tendermint::{
    AppHash,
    abci::{Code, request::CheckTxKind, response, types::ExecTxResult},
    block::Height,
    v0_38::abci::{
        ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest, MempoolResponse,
        SnapshotRequest, SnapshotResponse, request,
    },
};
use tower_abci::BoxError;

use crate::{
    Node,
    app::{AppError, Finalized},
    envelope::{EnvelopeError, SignedTx, Verified},
    node::SubmitError,
};

/// A transaction's bytes in CometBFT's mempools and blocks: its canonical encoding.
pub fn tx_bytes(tx: &SignedTx) -> Result<Vec<u8>, cairn_primitives::canonical::EncodeError> {
    cairn_primitives::canonical::encode("transaction", tx)
}

/// Why transaction bytes are refused before any state is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxBytesError {
    /// The bytes do not decode as a signed transaction.
    #[error("{len} bytes do not decode as a signed transaction: {reason}")]
    Malformed {
        /// Their length.
        len: usize,
        /// The decoder's message.
        reason: String,
    },
    /// They decode, but are not the transaction's canonical encoding (one transaction has one
    /// form in blocks).
    #[error("{len} bytes decode but are not the transaction's canonical encoding ({canonical} bytes)")]
    NotCanonical {
        /// Their length.
        len: usize,
        /// The canonical encoding's length.
        canonical: usize,
    },
    /// The signature, chain or body does not check out.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

impl TxBytesError {
    /// The error's name.
    pub fn name(&self) -> &'static str {
        match self {
            TxBytesError::Malformed { .. } => "Malformed",
            TxBytesError::NotCanonical { .. } => "NotCanonical",
            TxBytesError::Envelope(e) => e.name(),
        }
    }
}

/// Decodes transaction bytes, refusing any but the canonical encoding.
pub fn signed_from_bytes(bytes: &[u8]) -> Result<SignedTx, TxBytesError> {
    let len = bytes.len();
    let tx: SignedTx =
        postcard::from_bytes(bytes).map_err(|e| TxBytesError::Malformed { len, reason: e.to_string() })?;
    let again = tx_bytes(&tx).map_err(|e| TxBytesError::Malformed { len, reason: e.to_string() })?;
    if again != bytes {
        return Err(TxBytesError::NotCanonical { len, canonical: again.len() });
    }
    Ok(tx)
}

/// `CheckTx` and `ExecTxResult` codes (0 is success); the error's name is in `info`, its
/// message in `log`, and the codespace is `cairn`.
pub mod code {
    /// The bytes are not a canonical signed transaction.
    pub const MALFORMED: u32 = 1;
    /// Signature, chain, body or expiry refused (`EnvelopeError`).
    pub const ENVELOPE: u32 = 2;
    /// The mempool refused it: nonce, capacity (`MempoolError`).
    pub const MEMPOOL: u32 = 3;
    /// An admission rule refused it (`AdmissionError`).
    pub const ADMISSION: u32 = 4;
    /// Its nonce was used by a committed block (recheck).
    pub const STALE: u32 = 5;
    /// In a block but not executed: its nonce was not the next one or it had expired.
    pub const SKIPPED: u32 = 6;
    /// Executed and refused by the state machine (the receipt says why).
    pub const REFUSED: u32 = 10;
}

/// Why the adapter cannot answer a consensus call (CometBFT stops on it).
#[derive(Debug, thiserror::Error)]
pub enum AbciError {
    /// The application failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// A block for a height other than the next one.
    #[error("FinalizeBlock for height {height}, but the next height is {expected}")]
    WrongHeight {
        /// Asked.
        height: u64,
        /// Next.
        expected: u64,
    },
    /// A second block before the first was committed.
    #[error("FinalizeBlock for height {height} while block {pending} waits for Commit")]
    Uncommitted {
        /// Asked.
        height: u64,
        /// Waiting.
        pending: u64,
    },
    /// Commit without a finalized block.
    #[error("Commit without a finalized block (head {head})")]
    NothingToCommit {
        /// The head height.
        head: u64,
    },
    /// InitChain on a chain that has blocks, or for another first height.
    #[error(
        "InitChain at initial height {initial} on a store whose head is {head}: expected initial height 1 on a new store"
    )]
    Init {
        /// Asked.
        initial: u64,
        /// The store's head.
        head: u64,
    },
    /// The answer does not convert to CometBFT's types.
    #[error("cannot convert {what}: {reason}")]
    Convert {
        /// What.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Verified transactions by the keccak256 of their bytes, oldest forgotten first: filled by
/// CheckTx, PrepareProposal and the node's own forwarding, read by CheckTx and ProcessProposal.
#[derive(Debug, Default)]
pub(crate) struct TxCache {
    map: HashMap<B256, Arc<Verified>>,
    order: VecDeque<B256>,
}

/// Most cached verifications (about the default mempool's capacity).
const CACHE_CAP: usize = 100_000;

impl TxCache {
    pub(crate) fn insert(&mut self, key: B256, v: Arc<Verified>) {
        if self.map.insert(key, v).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > CACHE_CAP {
            match self.order.pop_front() {
                Some(old) => self.map.remove(&old),
                None => break,
            };
        }
        if self.order.len() > CACHE_CAP.saturating_mul(2) {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }
}

/// Consensus progress between calls.
#[derive(Debug, Default)]
struct Round {
    /// The proposal this validator accepted last: its block hash and verified transactions.
    accepted: Option<(Vec<u8>, Vec<Arc<Verified>>)>,
    /// The block FinalizeBlock executed, with its transactions' cache keys, until Commit.
    pending: Option<(Finalized, Vec<B256>)>,
    /// Transactions the proposer's pool dropped as expired, for the next commit.
    expired: Vec<B256>,
}

/// A test switch that makes one validator misbehave from a height on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Report a wrong app hash from this height (a diverging application).
    AppHashFrom(u64),
    /// As proposer, add bytes that are no transaction to every proposal from this height (a
    /// byzantine proposer).
    JunkProposalsFrom(u64),
}

/// The bytes a junk-proposing validator adds (`Fault::JunkProposalsFrom`).
pub const JUNK: &[u8] = b"cairn fault: not a transaction";

/// The node as an ABCI application (one clone per CometBFT connection).
#[derive(Debug, Clone)]
pub struct Abci {
    node: Arc<Node>,
    round: Arc<Mutex<Round>>,
    fault: Option<Fault>,
}

/// Unix seconds of a consensus time (before 1970: 0).
fn seconds(t: tendermint::Time) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

fn app_hash(h: B256) -> AppHash {
    AppHash::try_from(h.to_vec()).unwrap_or_default()
}

fn height(h: u64) -> Result<Height, AbciError> {
    Height::try_from(h).map_err(|e| AbciError::Convert { what: "height", reason: e.to_string() })
}

fn refuse(code: u32, name: &str, log: String) -> response::CheckTx {
    response::CheckTx {
        code: Code::from(code),
        log,
        info: name.to_owned(),
        codespace: "cairn".into(),
        ..Default::default()
    }
}

fn submit_code(e: &SubmitError) -> u32 {
    match e {
        SubmitError::Envelope(_) => code::ENVELOPE,
        SubmitError::Mempool(_) => code::MEMPOOL,
        SubmitError::Admission(_) => code::ADMISSION,
    }
}

fn bytes_code(e: &TxBytesError) -> u32 {
    match e {
        TxBytesError::Envelope(_) => code::ENVELOPE,
        _ => code::MALFORMED,
    }
}

impl Abci {
    /// The adapter over `node`, which must run with `Mining::Consensus`; `fault` is a test switch
    /// (`None` for an honest validator).
    pub fn new(node: Arc<Node>, fault: Option<Fault>) -> Self {
        Self { node, round: Arc::default(), fault }
    }

    fn round(&self) -> MutexGuard<'_, Round> {
        self.round.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cache(&self) -> MutexGuard<'_, TxCache> {
        self.node.tx_cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decodes and verifies each transaction, from the cache where it was seen before (the
    /// others on every core), in order.
    fn verify_many(&self, txs: &[Bytes]) -> Vec<Result<Arc<Verified>, TxBytesError>> {
        let keys: Vec<B256> = txs.iter().map(keccak256).collect();
        let mut out: Vec<Option<Result<Arc<Verified>, TxBytesError>>> = {
            let cache = self.cache();
            keys.iter().map(|k| cache.map.get(k).cloned().map(Ok)).collect()
        };
        let mut misses = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            if out[i].is_none() {
                match signed_from_bytes(tx) {
                    Ok(s) => misses.push((i, s)),
                    Err(e) => out[i] = Some(Err(e)),
                }
            }
        }
        let domain = self.node.read(|a| a.domain().clone());
        let (at, signed): (Vec<usize>, Vec<SignedTx>) = misses.into_iter().unzip();
        let verified = crate::verify_all(&domain, signed);
        let mut cache = self.cache();
        for (i, v) in at.into_iter().zip(verified) {
            let v = v.map_err(TxBytesError::from);
            if let Ok(v) = &v {
                cache.insert(keys[i], Arc::clone(v));
            }
            out[i] = Some(v);
        }
        out.into_iter()
            .map(|v| v.unwrap_or_else(|| Err(TxBytesError::Malformed { len: 0, reason: "lost".into() })))
            .collect()
    }

    /// ABCI Info: the last committed height and its app hash (the handshake replays from there).
    pub fn info(&self) -> Result<response::Info, AbciError> {
        let (h, hash) = self.node.read(|a| (a.head().height, a.head().state_hash));
        Ok(response::Info {
            data: "cairn".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            app_version: 1,
            last_block_height: height(h)?,
            last_block_app_hash: app_hash(hash),
        })
    }

    /// ABCI InitChain: the genesis is the node's own (block 0); the first block is height 1.
    pub fn init_chain(&self, req: &request::InitChain) -> Result<response::InitChain, AbciError> {
        let (head, hash) = self.node.read(|a| (a.head().height, a.head().state_hash));
        let initial = req.initial_height.value();
        if initial != 1 || head != 0 {
            return Err(AbciError::Init { initial, head });
        }
        Ok(response::InitChain { consensus_params: None, validators: Vec::new(), app_hash: app_hash(hash) })
    }

    /// ABCI CheckTx: stateless and signature checks, then admission to the mempool (nonce,
    /// rules, bounds). A recheck after a block keeps what still waits and refuses used nonces.
    pub fn check_tx(&self, req: &request::CheckTx) -> response::CheckTx {
        let key = keccak256(&req.tx);
        let v = match self.verify_many(std::slice::from_ref(&req.tx)).pop() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return refuse(bytes_code(&e), e.name(), e.to_string()),
            None => return refuse(code::MALFORMED, "Malformed", "no transaction".into()),
        };
        if self.node.mempool().contains(&v.hash) {
            return response::CheckTx::default();
        }
        if req.kind == CheckTxKind::Recheck {
            let next = self.node.read(|a| a.next_nonce(&v.sender));
            if v.nonce < next {
                self.cache().map.remove(&key);
                let log = format!("nonce {} of {} is used: the next is {next}", v.nonce, v.sender);
                return refuse(code::STALE, "Stale", log);
            }
        }
        match self.node.admit(Ok(v), false) {
            Ok(_) => response::CheckTx::default(),
            Err(e) => {
                self.cache().map.remove(&key);
                refuse(submit_code(&e), e.name(), e.to_string())
            }
        }
    }

    /// ABCI PrepareProposal: the proposer's block from its own mempool, which holds every
    /// transaction CheckTx admitted, per account in nonce order (CometBFT's list is in arrival
    /// order), within the block's byte and count limits.
    pub fn prepare_proposal(&self, req: &request::PrepareProposal) -> Result<response::PrepareProposal, AbciError> {
        let max = self.node.config.max_block_txs;
        let (txs, expired) = self.node.read(|app| {
            let time = seconds(req.time).max(app.head().time);
            let (candidates, expired) = self.node.mempool().ready(max, time, |a| app.next_nonce(a));
            (app.prepare_proposal(candidates, time, max), expired)
        });
        self.round().expired.extend(expired);
        let mut budget = usize::try_from(req.max_tx_bytes).unwrap_or(0);
        let mut out = Vec::with_capacity(txs.len());
        let mut cache = self.cache();
        for tx in txs {
            let b = tx_bytes(&tx.signed).map_err(|e| AbciError::App(e.into()))?;
            // A block's transaction costs its bytes plus the protobuf field's tag and length.
            let cost = b.len().saturating_add(6);
            if cost > budget {
                break;
            }
            budget -= cost;
            cache.insert(keccak256(&b), tx);
            out.push(Bytes::from(b));
        }
        if matches!(self.fault, Some(Fault::JunkProposalsFrom(from)) if req.height.value() >= from) {
            out.push(Bytes::from_static(JUNK));
        }
        Ok(response::PrepareProposal { txs: out })
    }

    /// ABCI ProcessProposal: every transaction decodes canonically and verifies, nonces follow
    /// on per account, none expired at the block's time, the height is the next one.
    pub fn process_proposal(&self, req: &request::ProcessProposal) -> response::ProcessProposal {
        let h = req.height.value();
        let mut verified = Vec::with_capacity(req.txs.len());
        for (index, v) in self.verify_many(&req.txs).into_iter().enumerate() {
            match v {
                Ok(v) => verified.push(v),
                Err(e) => {
                    eprintln!("cairn abci: rejecting the proposal for height {h}: transaction {index}: {e}");
                    return response::ProcessProposal::Reject;
                }
            }
        }
        if let Err(e) = self.node.read(|a| a.check_proposal(h, seconds(req.time), &verified)) {
            eprintln!("cairn abci: rejecting the proposal for height {h}: {e}");
            return response::ProcessProposal::Reject;
        }
        self.round().accepted = Some((req.hash.as_bytes().to_vec(), verified));
        response::ProcessProposal::Accept
    }

    /// ABCI FinalizeBlock: executes the decided block at the consensus header's time and answers
    /// one result per transaction (the receipt's leaf as `data`) and the state hash as app hash.
    pub fn finalize_block(&self, req: &request::FinalizeBlock) -> Result<response::FinalizeBlock, AbciError> {
        let h = req.height.value();
        let keys: Vec<B256> = req.txs.iter().map(keccak256).collect();
        let accepted = self
            .round()
            .accepted
            .take()
            .filter(|(hash, txs)| hash.as_slice() == req.hash.as_bytes() && txs.len() == req.txs.len());
        // A block this validator did not process (block sync, replay) is verified here; a
        // transaction that does not verify is not executed, on every validator alike.
        let checked: Vec<Result<Arc<Verified>, TxBytesError>> = match accepted {
            Some((_, txs)) => txs.into_iter().map(Ok).collect(),
            None => self.verify_many(&req.txs),
        };
        let runnable: Vec<Arc<Verified>> = checked.iter().filter_map(|v| v.as_ref().ok().cloned()).collect();
        let finalized = {
            let mut app = self.node.app.write().unwrap_or_else(|p| p.into_inner());
            let expected = app.head().height.saturating_add(1);
            if h != expected {
                return Err(AbciError::WrongHeight { height: h, expected });
            }
            if let Some((f, _)) = &self.round().pending {
                return Err(AbciError::Uncommitted { height: h, pending: f.block.header.height });
            }
            app.finalize_block(seconds(req.time), &runnable)?
        };
        let mut receipts = finalized.receipts.iter().zip(&finalized.leaves).peekable();
        let mut tx_results = Vec::with_capacity(checked.len());
        for v in &checked {
            let result = match v {
                Err(e) => ExecTxResult {
                    code: Code::from(bytes_code(e)),
                    log: e.to_string(),
                    info: e.name().into(),
                    codespace: "cairn".into(),
                    ..Default::default()
                },
                Ok(v) => match receipts.next_if(|(r, _)| r.tx_hash == v.hash) {
                    Some((r, leaf)) => ExecTxResult {
                        code: if r.ok { Code::Ok } else { Code::from(code::REFUSED) },
                        data: Bytes::from(leaf.to_vec()),
                        log: r.error.as_ref().map(|e| e.message.clone()).unwrap_or_default(),
                        info: r.error.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
                        codespace: if r.ok { String::new() } else { "cairn".into() },
                        ..Default::default()
                    },
                    None => ExecTxResult {
                        code: Code::from(code::SKIPPED),
                        log: format!("nonce {} of {} is not the next one, or it expired", v.nonce, v.sender),
                        info: "Skipped".into(),
                        codespace: "cairn".into(),
                        ..Default::default()
                    },
                },
            };
            tx_results.push(result);
        }
        let mut hash = finalized.block.header.state_hash;
        if matches!(self.fault, Some(Fault::AppHashFrom(from)) if h >= from) {
            hash = keccak256([hash.as_slice(), b"fault"].concat());
        }
        self.round().pending = Some((finalized, keys));
        Ok(response::FinalizeBlock {
            events: Vec::new(),
            tx_results,
            validator_updates: Vec::new(),
            consensus_param_updates: None,
            app_hash: app_hash(hash),
        })
    }

    /// ABCI Commit: writes the finalized block in one store transaction, advances the mempool
    /// and announces the block.
    pub fn commit(&self) -> Result<response::Commit, AbciError> {
        let started = Instant::now();
        let (pending, mut expired) = {
            let mut round = self.round();
            (round.pending.take(), std::mem::take(&mut round.expired))
        };
        let Some((finalized, keys)) = pending else {
            return Err(AbciError::NothingToCommit { head: self.node.read(|a| a.head().height) });
        };
        {
            let mut app = self.node.app.write().unwrap_or_else(|p| p.into_inner());
            expired.extend(self.node.mempool().drop_expired(finalized.block.header.time));
            self.node.commit_finalized(&mut app, finalized, expired, true, started)?;
        }
        let mut cache = self.cache();
        for k in &keys {
            cache.map.remove(k);
        }
        Ok(response::Commit { data: Bytes::new(), retain_height: Height::default() })
    }

    /// ABCI Query: `/head` (the head header, JSON) and `/nonce` (`data`: a 20-byte address; the
    /// answer its next nonce in decimal).
    pub fn query(&self, req: &request::Query) -> response::Query {
        let (head, value) = self.node.read(|a| {
            let value = match req.path.as_str() {
                "/head" => serde_json::to_vec(a.head()).map_err(|e| e.to_string()),
                "/nonce" => alloy_primitives::Address::try_from(req.data.as_ref())
                    .map(|addr| a.next_nonce(&addr).to_string().into_bytes())
                    .map_err(|_| format!("data must be a 20-byte address, got {} bytes", req.data.len())),
                other => Err(format!("unknown path {other:?}: use /head or /nonce")),
            };
            (a.head().height, value)
        });
        let height = Height::try_from(head).unwrap_or_default();
        match value {
            Ok(v) => response::Query { value: Bytes::from(v), height, ..Default::default() },
            Err(log) => response::Query {
                code: Code::from(code::MALFORMED),
                log,
                height,
                codespace: "cairn".into(),
                ..Default::default()
            },
        }
    }

    fn consensus(&self, req: ConsensusRequest) -> Result<ConsensusResponse, AbciError> {
        Ok(match req {
            ConsensusRequest::InitChain(r) => ConsensusResponse::InitChain(self.init_chain(&r)?),
            ConsensusRequest::PrepareProposal(r) => ConsensusResponse::PrepareProposal(self.prepare_proposal(&r)?),
            ConsensusRequest::ProcessProposal(r) => ConsensusResponse::ProcessProposal(self.process_proposal(&r)),
            ConsensusRequest::ExtendVote(_) => {
                ConsensusResponse::ExtendVote(response::ExtendVote { vote_extension: Bytes::new() })
            }
            ConsensusRequest::VerifyVoteExtension(_) => {
                ConsensusResponse::VerifyVoteExtension(response::VerifyVoteExtension::Accept)
            }
            ConsensusRequest::FinalizeBlock(r) => ConsensusResponse::FinalizeBlock(self.finalize_block(&r)?),
            ConsensusRequest::Commit => ConsensusResponse::Commit(self.commit()?),
        })
    }
}

fn boxed<T>(r: Result<T, AbciError>) -> Ready<Result<T, BoxError>> {
    if let Err(e) = &r {
        eprintln!("cairn abci: {e}");
    }
    std::future::ready(r.map_err(BoxError::from))
}

/// A tower service of one of tower-abci's four request kinds, answering through `$call`.
macro_rules! service {
    ($req:ty, $resp:ty, |$abci:ident, $r:ident| $call:expr) => {
        impl tower::Service<$req> for Abci {
            type Response = $resp;
            type Error = BoxError;
            type Future = Ready<Result<$resp, BoxError>>;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, $r: $req) -> Self::Future {
                let $abci: &Abci = self;
                boxed($call)
            }
        }
    };
}

// Each call runs to completion before its answer: CometBFT pipelines CheckTx, and one
// account's nonces must be admitted in the order they arrive.
service!(ConsensusRequest, ConsensusResponse, |abci, req| abci.consensus(req));
service!(MempoolRequest, MempoolResponse, |abci, req| {
    let MempoolRequest::CheckTx(r) = req;
    Ok(MempoolResponse::CheckTx(abci.check_tx(&r)))
});
service!(InfoRequest, InfoResponse, |abci, req| match req {
    InfoRequest::Info(_) => abci.info().map(InfoResponse::Info),
    InfoRequest::Query(q) => Ok(InfoResponse::Query(abci.query(&q))),
    InfoRequest::Echo(e) => Ok(InfoResponse::Echo(response::Echo { message: e.message })),
});
// State sync is not offered yet: no snapshots, every offer refused (a new validator block-syncs).
service!(SnapshotRequest, SnapshotResponse, |_abci, req| Ok(match req {
    SnapshotRequest::ListSnapshots => SnapshotResponse::ListSnapshots(response::ListSnapshots::default()),
    SnapshotRequest::OfferSnapshot(_) => SnapshotResponse::OfferSnapshot(response::OfferSnapshot::Reject),
    SnapshotRequest::LoadSnapshotChunk(_) => {
        SnapshotResponse::LoadSnapshotChunk(response::LoadSnapshotChunk::default())
    }
    SnapshotRequest::ApplySnapshotChunk(_) => SnapshotResponse::ApplySnapshotChunk(response::ApplySnapshotChunk {
        result: response::ApplySnapshotChunkResult::Abort,
        refetch_chunks: Vec::new(),
        reject_senders: Vec::new(),
    }),
}));

/// CometBFT's requests for driving the adapter in process (tests, benchmarks): the fields the
/// adapter reads, the rest empty; `hash` stands for the block's hash.
pub mod drive {
    use bytes::Bytes;
    use tendermint::{Hash, Time, abci::types::CommitInfo, account, block, v0_38::abci::request};

    fn height(h: u64) -> block::Height {
        block::Height::try_from(h).unwrap_or_default()
    }

    /// PrepareProposal at `h` and `time`, within `max_tx_bytes`.
    pub fn prepare(h: u64, time: Time, max_tx_bytes: i64) -> request::PrepareProposal {
        request::PrepareProposal {
            max_tx_bytes,
            txs: Vec::new(),
            local_last_commit: None,
            misbehavior: Vec::new(),
            height: height(h),
            time,
            next_validators_hash: Hash::None,
            proposer_address: account::Id::new([0; 20]),
        }
    }

    /// ProcessProposal of `txs` at `h` and `time`.
    pub fn process(h: u64, time: Time, hash: [u8; 32], txs: Vec<Bytes>) -> request::ProcessProposal {
        request::ProcessProposal {
            txs,
            proposed_last_commit: None,
            misbehavior: Vec::new(),
            hash: Hash::Sha256(hash),
            height: height(h),
            time,
            next_validators_hash: Hash::None,
            proposer_address: account::Id::new([0; 20]),
        }
    }

    /// FinalizeBlock of `txs` at `h` and `time`.
    pub fn finalize(h: u64, time: Time, hash: [u8; 32], txs: Vec<Bytes>) -> request::FinalizeBlock {
        request::FinalizeBlock {
            txs,
            decided_last_commit: CommitInfo { round: block::Round::default(), votes: Vec::new() },
            misbehavior: Vec::new(),
            hash: Hash::Sha256(hash),
            height: height(h),
            time,
            next_validators_hash: Hash::None,
            proposer_address: account::Id::new([0; 20]),
        }
    }
}

/// Serves `abci` to CometBFT on `addr` until the process ends.
pub async fn serve(abci: Abci, addr: SocketAddr) -> Result<(), BoxError> {
    let server = tower_abci::v038::Server::builder()
        .consensus(abci.clone())
        .mempool(abci.clone())
        .info(abci.clone())
        .snapshot(abci)
        .finish()
        .ok_or("the ABCI server lacks a service")?;
    server.listen_tcp(addr).await
}

/// Most transactions per `broadcast_tx_sync` batch.
const FORWARD_BATCH: usize = 256;

/// Hands the transactions this node admits from its API and workers to CometBFT's mempool at
/// `rpc` (`broadcast_tx_sync`, JSON-RPC batches, in admission order). Runs on the current tokio
/// runtime; failures are logged and counted, and the transaction still waits in this node's own
/// mempool (it proposes it in its turn).
pub fn forward_to(node: &Arc<Node>, rpc: &str) {
    let (to, mut from) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    if node.forward.set(to).is_err() {
        return;
    }
    let node = Arc::clone(node);
    let client = crate::client::Client::new(rpc);
    tokio::spawn(async move {
        while let Some(first) = from.recv().await {
            let mut batch = vec![first];
            while batch.len() < FORWARD_BATCH {
                match from.try_recv() {
                    Ok(b) => batch.push(b),
                    Err(_) => break,
                }
            }
            forward_batch(&node, &client, &batch).await;
        }
    });
}

/// CometBFT's default `rpc.max_request_batch_size` (`cairn testnet` raises it).
const COMET_DEFAULT_BATCH: usize = 10;

async fn forward_batch(node: &Node, client: &crate::client::Client, batch: &[Vec<u8>]) {
    use std::sync::atomic::Ordering::Relaxed;
    let results = match broadcast(client, batch).await {
        Some(serde_json::Value::Array(results)) => results,
        // A CometBFT with the default batch limit refuses the whole batch: send it in smaller ones.
        Some(one) if batch.len() > COMET_DEFAULT_BATCH && one.to_string().contains("batch request exceeds") => {
            for chunk in batch.chunks(COMET_DEFAULT_BATCH) {
                match broadcast(client, chunk).await {
                    Some(serde_json::Value::Array(r)) => count_refusals(node, &r),
                    Some(one) => count_refusals(node, &[one]),
                    None => {
                        node.metrics.txs_forward_failed.fetch_add(chunk.len() as u64, Relaxed);
                    }
                }
            }
            return;
        }
        // A batch of one is answered with a bare object.
        Some(one) if batch.len() == 1 => vec![one],
        other => {
            eprintln!("cairn node: CometBFT's RPC gave no results for {} transactions: {other:?}", batch.len());
            node.metrics.txs_forward_failed.fetch_add(batch.len() as u64, Relaxed);
            return;
        }
    };
    count_refusals(node, &results);
}

/// `broadcast_tx_sync` for each transaction in one JSON-RPC batch; the answer, or `None` when
/// CometBFT's RPC cannot be reached (a few tries, bounded: it may still be starting).
async fn broadcast(client: &crate::client::Client, batch: &[Vec<u8>]) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let calls: Vec<serde_json::Value> = batch
        .iter()
        .enumerate()
        .map(|(id, tx)| {
            let tx = base64::engine::general_purpose::STANDARD.encode(tx);
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "broadcast_tx_sync", "params": {"tx": tx}})
        })
        .collect();
    let body = serde_json::Value::Array(calls);
    for attempt in 0..10u32 {
        match client.post("/", &body).await {
            Ok((200, v)) => return Some(v),
            Ok((status, v)) => eprintln!("cairn node: CometBFT's RPC answered {status}: {v}"),
            Err(e) if attempt == 9 => eprintln!("cairn node: cannot forward to CometBFT: {e}"),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(200u64 << attempt.min(4))).await;
    }
    None
}

fn count_refusals(node: &Node, results: &[serde_json::Value]) {
    use std::sync::atomic::Ordering::Relaxed;
    for r in results {
        let code = r["result"]["code"].as_u64().unwrap_or(0);
        let error = r.get("error").filter(|e| !e.is_null());
        let log = r["result"]["log"].as_str().unwrap_or_default();
        // CometBFT already had it (gossip arrived first): not a failure.
        let known = error.is_some_and(|e| e.to_string().contains("already exists in cache"));
        if (code != 0 || error.is_some()) && !known {
            node.metrics.txs_forward_failed.fetch_add(1, Relaxed);
            let error = error.map(|e| e.to_string()).unwrap_or_default();
            eprintln!("cairn node: CometBFT refused a forwarded transaction: code {code} {log} {error}");
        }
    }
}
