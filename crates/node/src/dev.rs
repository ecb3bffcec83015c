//! Devnet controls, anvil's conventions where they fit: mine blocks now, move the clock
//! forward, snapshot and revert the whole chain, and fund any address from the faucet.
//!
//! They exist only on a node started with a [`DevConfig`] (`cairn devnet`); every other node
//! refuses them with [`DevError::NotADevnet`]. The clock offset shifts the node's own clock (block
//! times, expiry checks), never the state machine's rules; a snapshot is a redb savepoint of the
//! whole database (state, blocks, rewards history, stored mempool), held in memory.

use std::{
    collections::BTreeMap,
    sync::{Mutex, atomic::Ordering::Relaxed},
};

use alloy_primitives::{Address, U256};
use cairn_primitives::AssetId;
use cairn_state::Tx;
use k256::ecdsa::SigningKey;
use serde::Serialize;

use crate::{
    app::AppError,
    block::Header,
    envelope::address_of,
    mempool::Mempool,
    node::{Node, SubmitError, Submitted},
    store::Savepoint,
};

/// Most blocks one `mine` call produces (each is a committed, persisted block).
pub const MAX_MINE_BLOCKS: u64 = 10_000;
/// Most seconds one time advance moves the clock (ten years).
pub const MAX_ADVANCE_SECONDS: u64 = 10 * 365 * 86_400;
/// Most snapshots held at once (each pins the database pages it sees).
pub const MAX_SNAPSHOTS: usize = 256;

/// What makes a node a devnet: its governor's key, which signs the faucet's `mint`
/// transactions (the devnet profile lets governance mint) and posts rewards roots on demand.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// The devnet's governor and rewards updater.
    pub governor: SigningKey,
}

/// The devnet's memory: snapshots by id.
#[derive(Debug)]
pub(crate) struct DevState {
    pub(crate) config: DevConfig,
    snapshots: Mutex<BTreeMap<u64, Held>>,
    next_id: Mutex<u64>,
}

#[derive(Debug)]
struct Held {
    savepoint: Savepoint,
    offset: u64,
    head: Header,
}

impl DevState {
    pub(crate) fn new(config: DevConfig) -> Self {
        Self { config, snapshots: Mutex::default(), next_id: Mutex::new(1) }
    }

    fn snapshots(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Held>> {
        self.snapshots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a devnet control is refused.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The node is not a devnet.
    #[error("this node (chain {chain_id}) is not a devnet: development controls are refused")]
    NotADevnet {
        /// The node's chain.
        chain_id: u64,
    },
    /// `blocks` is 0 or above the cap.
    #[error("blocks must be 1 to {max}, got {blocks}")]
    BadBlockCount {
        /// Asked.
        blocks: u64,
        /// The cap.
        max: u64,
    },
    /// A time advance of 0 or above the cap.
    #[error("seconds must be 1 to {max}, got {seconds}")]
    BadAdvance {
        /// Asked.
        seconds: u64,
        /// The cap.
        max: u64,
    },
    /// A target time at or before the node's clock.
    #[error("time {to} is not after the node's clock {now}: time only moves forward")]
    TimeNotAfter {
        /// Asked.
        to: u64,
        /// The node's clock.
        now: u64,
    },
    /// No snapshot with that id (never taken, reverted already, or invalidated by an earlier
    /// revert).
    #[error("no snapshot {id}; held: {held:?}")]
    UnknownSnapshot {
        /// Asked.
        id: u64,
        /// The ids held.
        held: Vec<u64>,
    },
    /// Too many snapshots held.
    #[error("{held} snapshots are held, the most a devnet keeps: revert to one to free the later ones")]
    TooManySnapshots {
        /// Held.
        held: usize,
    },
    /// Unknown asset.
    #[error("unknown asset {asset:?}: one of {known}")]
    UnknownAsset {
        /// Asked.
        asset: String,
        /// The symbols and ids.
        known: String,
    },
    /// No rewards interval closed since the last posted root.
    #[error("no rewards interval closed since the last root (through {last}); the next closes at {next}")]
    NothingToPost {
        /// The last root's calculation end.
        last: u64,
        /// When the next interval closes.
        next: u64,
    },
    /// Nobody earned anything through the interval.
    #[error("nothing was earned through {end}: no root to post")]
    NothingEarned {
        /// The interval's end.
        end: u64,
    },
    /// The rewards calculation failed.
    #[error("the rewards calculation failed: {0}")]
    Rewards(String),
    /// A zero faucet amount.
    #[error("amount must be above 0")]
    ZeroAmount,
    /// The faucet's transaction was refused.
    #[error("the faucet's mint was refused: {0}")]
    Submit(#[from] SubmitError),
    /// Block production or the store failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl DevError {
    /// The error's name.
    pub fn name(&self) -> &'static str {
        match self {
            DevError::NotADevnet { .. } => "NotADevnet",
            DevError::BadBlockCount { .. } => "BadBlockCount",
            DevError::BadAdvance { .. } => "BadAdvance",
            DevError::TimeNotAfter { .. } => "TimeNotAfter",
            DevError::UnknownSnapshot { .. } => "UnknownSnapshot",
            DevError::TooManySnapshots { .. } => "TooManySnapshots",
            DevError::UnknownAsset { .. } => "UnknownAsset",
            DevError::ZeroAmount => "ZeroAmount",
            DevError::NothingToPost { .. } => "NothingToPost",
            DevError::NothingEarned { .. } => "NothingEarned",
            DevError::Rewards(_) => "RewardsCalculationFailed",
            DevError::Submit(e) => e.name(),
            DevError::App(_) => "Internal",
        }
    }
}

/// A snapshot taken.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SnapshotTaken {
    /// Its id (pass it to revert).
    pub id: u64,
    /// The head it holds.
    pub height: u64,
    /// The head's time.
    pub time: u64,
}

/// The devnet's clock and snapshots.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DevStatus {
    /// The node's clock (unix seconds): the wall clock plus `offset_seconds`.
    pub now: u64,
    /// Seconds the clock was moved forward.
    pub offset_seconds: u64,
    /// Held snapshots.
    pub snapshots: Vec<SnapshotTaken>,
    /// The faucet's address.
    #[schema(value_type = String)]
    pub faucet: Address,
}

impl Node {
    fn dev(&self) -> Result<&DevState, DevError> {
        self.dev.as_ref().ok_or(DevError::NotADevnet { chain_id: self.config.chain_id })
    }

    /// The devnet's clock and snapshots.
    pub fn dev_status(&self) -> Result<DevStatus, DevError> {
        let dev = self.dev()?;
        let snapshots = dev
            .snapshots()
            .iter()
            .map(|(id, h)| SnapshotTaken { id: *id, height: h.head.height, time: h.head.time })
            .collect();
        Ok(DevStatus {
            now: self.now(),
            offset_seconds: self.clock_offset.load(Relaxed),
            snapshots,
            faucet: address_of(&dev.config.governor),
        })
    }

    /// Produces `blocks` blocks now (the first takes what waits in the mempool), the clock moving
    /// `interval` seconds before each. Returns their headers.
    pub fn dev_mine(&self, blocks: u64, interval: u64) -> Result<Vec<Header>, DevError> {
        self.dev()?;
        if blocks == 0 || blocks > MAX_MINE_BLOCKS {
            return Err(DevError::BadBlockCount { blocks, max: MAX_MINE_BLOCKS });
        }
        let total = interval.checked_mul(blocks).filter(|t| *t <= MAX_ADVANCE_SECONDS);
        if total.is_none() {
            return Err(DevError::BadAdvance { seconds: interval.saturating_mul(blocks), max: MAX_ADVANCE_SECONDS });
        }
        // Only the last commit is fsync'd: it makes the ones before it durable too.
        let mut out = Vec::new();
        for i in 1..=blocks {
            self.clock_offset.fetch_add(interval, Relaxed);
            out.push(self.produce(self.now(), i == blocks)?);
        }
        Ok(out)
    }

    /// Moves the clock forward by `seconds` and, with `mine`, produces a block at the new time.
    pub fn dev_advance_time(&self, seconds: u64, mine: bool) -> Result<Option<Header>, DevError> {
        self.dev()?;
        if seconds == 0 || seconds > MAX_ADVANCE_SECONDS {
            return Err(DevError::BadAdvance { seconds, max: MAX_ADVANCE_SECONDS });
        }
        self.clock_offset.fetch_add(seconds, Relaxed);
        if mine { Ok(Some(self.produce_block(self.now())?)) } else { Ok(None) }
    }

    /// Moves the clock forward to unix time `to` (after the node's clock), then as
    /// [`Node::dev_advance_time`].
    pub fn dev_set_time(&self, to: u64, mine: bool) -> Result<Option<Header>, DevError> {
        self.dev()?;
        let now = self.now();
        if to <= now {
            return Err(DevError::TimeNotAfter { to, now });
        }
        self.dev_advance_time(to - now, mine)
    }

    /// Snapshots the whole chain at its head; returns the id to revert to.
    pub fn dev_snapshot(&self) -> Result<SnapshotTaken, DevError> {
        let dev = self.dev()?;
        // Under the app lock, so the savepoint is exactly the head it is recorded with.
        let app = self.app.write().unwrap_or_else(|p| p.into_inner());
        let mut snaps = dev.snapshots();
        if snaps.len() >= MAX_SNAPSHOTS {
            return Err(DevError::TooManySnapshots { held: snaps.len() });
        }
        let savepoint = app.store().savepoint().map_err(AppError::from)?;
        let head = app.head().clone();
        let mut next = dev.next_id.lock().unwrap_or_else(|p| p.into_inner());
        let id = *next;
        *next = next.saturating_add(1);
        let taken = SnapshotTaken { id, height: head.height, time: head.time };
        snaps.insert(id, Held { savepoint, offset: self.clock_offset.load(Relaxed), head });
        Ok(taken)
    }

    /// Brings the whole chain back to snapshot `id`: state, blocks, rewards history, the clock
    /// offset and the mempool as they were (what waited then is admitted again; what was
    /// admitted since is forgotten). That snapshot and every later one are used up.
    pub fn dev_revert(&self, id: u64) -> Result<Header, DevError> {
        let dev = self.dev()?;
        let head = {
            let mut app = self.app.write().unwrap_or_else(|p| p.into_inner());
            let mut snaps = dev.snapshots();
            let Some(held) = snaps.remove(&id) else {
                return Err(DevError::UnknownSnapshot { id, held: snaps.keys().copied().collect() });
            };
            app.revert_to(&held.savepoint)?;
            // Later savepoints were invalidated by the restore.
            snaps.retain(|k, _| *k < id);
            *self.mempool() = Mempool::new(self.config.mempool_capacity);
            self.lock_journal()
                .clear()
                .map_err(|e| AppError::from(crate::store::StoreError::Db(format!("mempool journal: {e}"))))?;
            self.clock_offset.store(held.offset, Relaxed);
            app.head().clone()
        };
        let stored = self.read(|a| a.store().pool()).map_err(AppError::from)?;
        self.restore_pool(stored)?;
        self.committed.send_replace(head.height);
        self.announce_revert(head.clone());
        Ok(head)
    }

    /// The rewards updater's job on demand: calculates through the last closed interval over
    /// the stored history and submits the root (signed by the governor). Returns the submission
    /// and the calculation end.
    pub fn dev_post_root(&self) -> Result<(Submitted, u64), DevError> {
        let dev = self.dev()?;
        let (interval, last) = self.read(|a| {
            let s = a.state();
            (s.params().rewards_interval_seconds.max(1), s.distribution_roots().last().map_or(0, |r| r.calculation_end))
        });
        let end = self.now() / interval * interval;
        if end <= last {
            return Err(DevError::NothingToPost { last, next: last.saturating_add(interval) });
        }
        let root = match self.rewards_root(end) {
            None => return Err(DevError::NothingEarned { end }),
            Some(r) => r.map_err(DevError::Rewards)?,
        };
        Ok((self.submit_as_governor(dev, &Tx::SubmitRoot { root, calculation_end: end })?, end))
    }

    /// Mints `amount` of `asset` (symbol or id) to `to` from the faucet: a signed `mint`
    /// transaction, admitted like any other.
    pub fn dev_fund(&self, to: Address, asset: &str, amount: U256) -> Result<Submitted, DevError> {
        let dev = self.dev()?;
        if amount.is_zero() {
            return Err(DevError::ZeroAmount);
        }
        let asset = self.read(|a| resolve_asset(a.state(), asset))?;
        self.submit_as_governor(dev, &Tx::Mint { asset, to, amount })
    }

    /// Signs `tx` with the devnet governor's key at its next free nonce and submits it.
    fn submit_as_governor(&self, dev: &DevState, tx: &Tx) -> Result<Submitted, DevError> {
        let key = &dev.config.governor;
        let (_, nonce) = self.nonces(&address_of(key));
        let domain = self.read(|a| a.domain().clone());
        Ok(self.submit(domain.sign(key, tx, nonce, self.now().saturating_add(600)))?)
    }
}

/// An asset by symbol (case-insensitive) or number.
fn resolve_asset(state: &cairn_state::State, asset: &str) -> Result<AssetId, DevError> {
    let list = state.asset_list();
    let found = list.iter().find(|(id, a)| a.symbol.eq_ignore_ascii_case(asset) || id.0.to_string() == asset);
    found.map(|(id, _)| *id).ok_or_else(|| DevError::UnknownAsset {
        asset: asset.to_owned(),
        known: list.iter().map(|(id, a)| format!("{} ({})", a.symbol, id.0)).collect::<Vec<_>>().join(", "),
    })
}
