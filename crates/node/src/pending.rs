//! Waiting transactions that outlive the process: each admission is appended to a journal file
//! (one `write`, so a killed process loses nothing the kernel has), each block moves the journal
//! into the store's pool table in the block's own write transaction, and a restart admits them
//! again. What cannot be admitted again is recorded as dropped, with its reason, for
//! `GET /v1/tx/{hash}` and the event stream.

use std::{
    collections::{HashMap, VecDeque},
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

use alloy_primitives::B256;
use serde::Serialize;

use crate::envelope::SignedTx;

/// What a block moves from the journal into the store: (admitted as (id, postcard bytes), removed).
pub type PoolDelta = (Vec<(B256, Vec<u8>)>, Vec<B256>);

/// How many dropped transactions are remembered for status queries.
pub const DROPPED_MEMORY: usize = 100_000;

/// A transaction that left the mempool without being committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DroppedTx {
    /// Its id.
    #[schema(value_type = String)]
    pub hash: B256,
    /// Why: `expired`, `evicted` or the refusal on re-admission after a restart.
    pub reason: String,
}

/// The admissions journal: files `mempool.<generation>.log` in the data directory, each a run of
/// (u32 little-endian length, postcard `SignedTx`) records.
#[derive(Debug)]
pub struct Journal {
    /// `None`: an in-memory node keeps no journal file.
    dir: Option<PathBuf>,
    generation: u64,
    file: Option<File>,
    /// Admitted since the last block took them: (id, postcard `SignedTx`).
    fresh: Vec<(B256, Vec<u8>)>,
    /// Left the pool without being committed since the last block.
    gone: Vec<B256>,
    /// The bytes of one `admitted` write, kept between calls: a fresh buffer per batch faulted
    /// fresh pages in.
    scratch: Vec<u8>,
}

fn journal_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let generation = name.strip_prefix("mempool.")?.strip_suffix(".log")?.parse().ok()?;
            Some((generation, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Decodes a journal file's records; a torn last record (a crash mid-write) ends it, a record
/// that does not decode is skipped.
fn read_records(bytes: &[u8]) -> Vec<SignedTx> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let Some(record) = tail.get(..len) else { break };
        // A record that does not decode is skipped; its length still frames the next one.
        if let Ok(tx) = postcard::from_bytes(record) {
            out.push(tx);
        }
        rest = &tail[len..];
    }
    out
}

impl Journal {
    /// Opens the journal of `dir`: returns it (writing a new generation) and the transactions
    /// the old generations hold, oldest first. The old files stay until [`Journal::forget_old`].
    pub fn open(dir: &Path) -> std::io::Result<(Self, Vec<SignedTx>)> {
        let old = journal_files(dir);
        let mut txs = Vec::new();
        for (_, path) in &old {
            txs.extend(read_records(&std::fs::read(path)?));
        }
        let generation = old.last().map_or(0, |(g, _)| g.saturating_add(1));
        let mut j = Self {
            dir: Some(dir.to_path_buf()),
            generation,
            file: None,
            fresh: Vec::new(),
            gone: Vec::new(),
            scratch: Vec::new(),
        };
        j.file = j.create(generation)?;
        Ok((j, txs))
    }

    /// A journal that writes no file (an in-memory node: nothing survives the process anyway).
    pub fn in_memory() -> Self {
        Self { dir: None, generation: 0, file: None, fresh: Vec::new(), gone: Vec::new(), scratch: Vec::new() }
    }

    fn path(&self, generation: u64) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("mempool.{generation}.log")))
    }

    fn create(&self, generation: u64) -> std::io::Result<Option<File>> {
        let Some(path) = self.path(generation) else { return Ok(None) };
        OpenOptions::new().create(true).append(true).open(path).map(Some)
    }

    /// Forgets every admission (a devnet revert empties the mempool): a new generation, the old
    /// ones deleted.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.rotate()?;
        self.forget_old();
        Ok(())
    }

    /// Deletes every generation older than the current one.
    pub fn forget_old(&self) {
        let Some(dir) = &self.dir else { return };
        for (g, path) in journal_files(dir) {
            if g < self.generation {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Records admissions, (id, the transaction as postcard bytes), with one `write`.
    pub fn admitted(&mut self, admitted: Vec<(B256, Vec<u8>)>) -> std::io::Result<()> {
        let mut records = std::mem::take(&mut self.scratch);
        records.clear();
        for (_, bytes) in &admitted {
            let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
            records.extend_from_slice(&len.to_le_bytes());
            records.extend_from_slice(bytes);
        }
        // Kept for the next block first, so that a failed write loses at most the crash window.
        self.fresh.extend(admitted);
        let written = match self.file.as_mut() {
            Some(f) if !records.is_empty() => f.write_all(&records),
            _ => Ok(()),
        };
        self.scratch = records;
        written
    }

    /// Records a transaction that left the pool uncommitted (evicted).
    pub fn removed(&mut self, hash: B256) {
        self.gone.push(hash);
    }

    /// Starts a new generation for the admissions to come and hands over what the block about
    /// to commit must move into the store: (admitted, removed). Call [`Journal::forget_old`]
    /// once that block is committed.
    pub fn rotate(&mut self) -> std::io::Result<PoolDelta> {
        let next = self.generation.saturating_add(1);
        self.file = self.create(next)?;
        self.generation = next;
        // The next block's admissions are likely as many as this one's: sized for them at once.
        let sized = Vec::with_capacity(self.fresh.len());
        let fresh = std::mem::replace(&mut self.fresh, sized);
        Ok((fresh, std::mem::take(&mut self.gone)))
    }
}

/// The latest dropped transactions by id, oldest forgotten first.
#[derive(Debug, Default)]
pub struct Dropped {
    reasons: HashMap<B256, String>,
    order: VecDeque<B256>,
}

impl Dropped {
    /// Remembers a drop.
    pub fn insert(&mut self, d: &DroppedTx) {
        if self.reasons.insert(d.hash, d.reason.clone()).is_none() {
            self.order.push_back(d.hash);
        }
        while self.order.len() > DROPPED_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Why `hash` was dropped, if it was (and is still remembered).
    pub fn reason(&self, hash: &B256) -> Option<&str> {
        self.reasons.get(hash).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(nonce: u64) -> SignedTx {
        SignedTx {
            from: alloy_primitives::Address::repeat_byte(1),
            chain_id: 1,
            action: "deposit".into(),
            body: "{}".into(),
            nonce,
            expiry: 9,
            signature: "0x".into(),
        }
    }

    #[test]
    fn the_journal_survives_reopening_and_a_torn_tail() {
        let dir = std::env::temp_dir().join(format!("cairn-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let (mut j, old) = Journal::open(&dir).expect("opens");
        assert!(old.is_empty());
        let record = |n| postcard::to_allocvec(&tx(n)).expect("encodes");
        j.admitted(vec![(B256::repeat_byte(1), record(0))]).expect("written");
        let (fresh, _) = j.rotate().expect("rotates");
        assert_eq!(fresh.len(), 1);
        j.admitted(vec![(B256::repeat_byte(2), record(1))]).expect("written");
        // A record that does not decode is skipped; a crash mid-record leaves a torn tail: the
        // records before it are read.
        let mut f = OpenOptions::new().append(true).open(j.path(j.generation).expect("on disk")).expect("open");
        f.write_all(&[3, 0, 0, 0, 0xff, 0xff, 0xff]).expect("garbage");
        drop(f);
        // A batch is one write of consecutive records.
        j.admitted(vec![(B256::repeat_byte(3), record(2)), (B256::repeat_byte(4), record(3))]).expect("written");
        let mut f = OpenOptions::new().append(true).open(j.path(j.generation).expect("on disk")).expect("open");
        f.write_all(&[200, 0, 0, 0, 1, 2]).expect("torn");
        drop(j);
        let (j, old) = Journal::open(&dir).expect("reopens");
        assert_eq!(old.iter().map(|t| t.nonce).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        j.forget_old();
        assert_eq!(journal_files(&dir).len(), 1, "only the new generation is left");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dropped_remembers_the_latest() {
        let mut d = Dropped::default();
        for i in 0..DROPPED_MEMORY + 5 {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            d.insert(&DroppedTx { hash: B256::from(h), reason: format!("r{i}") });
        }
        assert_eq!(d.reason(&B256::ZERO), None, "the oldest is forgotten");
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&((DROPPED_MEMORY + 4) as u64).to_le_bytes());
        assert_eq!(d.reason(&B256::from(last)), Some(format!("r{}", DROPPED_MEMORY + 4).as_str()));
    }
}
