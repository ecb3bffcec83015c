//! Journaled tables: the only storage the state machine has.
//!
//! Every write records the previous value, so a refused transaction rolls back to the exact
//! bytes it started from without copying the state. `commit` forgets the journal.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    hash::Hash,
};

use cairn_primitives::Block;
use rustc_hash::FxBuildHasher;
use serde::{Serialize, Serializer, de::DeserializeOwned, ser::SerializeMap};

use crate::persist::Changes;

/// Journals longer than this are freed, not just cleared, on commit (genesis and bulk loads).
const KEEP_JOURNAL: usize = 4096;

/// A map a journal can restore: put back an old value, or remove a key that was absent.
trait Restore<K, V> {
    fn restore(&mut self, k: K, old: Option<V>);
}

impl<K: Ord, V> Restore<K, V> for BTreeMap<K, V> {
    fn restore(&mut self, k: K, old: Option<V>) {
        match old {
            Some(v) => self.insert(k, v),
            None => self.remove(&k),
        };
    }
}

/// The hashed map behind a `HashTable`: the standard map (small tables, fastest in the caches),
/// or a `DenseMap` (the per-account tables, which outgrow the caches and can be prefetched).
pub trait Backing<K, V>: Default + Clone {
    /// The value at `k`.
    fn get(&self, k: &K) -> Option<&V>;
    /// The value at `k`, to change in place.
    fn get_mut(&mut self, k: &K) -> Option<&mut V>;
    /// Writes `v` at `k`; the old value.
    fn insert(&mut self, k: K, v: V) -> Option<V>;
    /// Adds `k`, known to be absent.
    fn insert_new(&mut self, k: K, v: V);
    /// Removes `k`; its value.
    fn remove(&mut self, k: &K) -> Option<V>;
    /// Entries in no particular order.
    fn entries<'a>(&'a self) -> impl Iterator<Item = (&'a K, &'a V)>
    where
        K: 'a,
        V: 'a;
    /// Number of entries.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Starts loading `k`'s index line or its entry, when the map can say where they are.
    fn prefetch(&self, _stage: crate::prefetch::Stage, _k: &K) {}
}

impl<K: Hash + Eq + Clone, V: Clone> Backing<K, V> for HashMap<K, V, FxBuildHasher> {
    fn get(&self, k: &K) -> Option<&V> {
        HashMap::get(self, k)
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        HashMap::get_mut(self, k)
    }
    fn insert(&mut self, k: K, v: V) -> Option<V> {
        HashMap::insert(self, k, v)
    }
    fn insert_new(&mut self, k: K, v: V) {
        HashMap::insert(self, k, v);
    }
    fn remove(&mut self, k: &K) -> Option<V> {
        HashMap::remove(self, k)
    }
    fn entries<'a>(&'a self) -> impl Iterator<Item = (&'a K, &'a V)>
    where
        K: 'a,
        V: 'a,
    {
        self.iter()
    }
    fn len(&self) -> usize {
        HashMap::len(self)
    }
}

/// Undoes a journal of (key, previous value) newest first.
fn undo<K, V>(map: &mut impl Restore<K, V>, journal: &mut Vec<(K, Option<V>)>) {
    while let Some((k, old)) = journal.pop() {
        map.restore(k, old);
    }
}

/// Commits one table's journal. Inlined to a length test: a transaction touches a handful of the
/// state's tables, and `apply` commits every one of them.
#[inline]
fn settle<K, V>(journal: &mut Vec<(K, Option<V>)>, dirty: &mut Vec<K>, track: bool) {
    if !journal.is_empty() {
        settle_written(journal, dirty, track);
    }
}

#[inline(never)]
fn settle_written<K, V>(journal: &mut Vec<(K, Option<V>)>, dirty: &mut Vec<K>, track: bool) {
    if track {
        dirty.extend(journal.drain(..).map(|e| e.0));
    }
    forget(journal);
}

fn forget<T>(journal: &mut Vec<T>) {
    if journal.capacity() > KEEP_JOURNAL {
        *journal = Vec::new();
    } else {
        journal.clear();
    }
}

/// Serializes entries already in key order as a map: a hashed table's bytes equal an ordered
/// map's with the same entries.
fn serialize_entries<'a, K: Serialize + 'a, V: Serialize + ?Sized + 'a, S: Serializer>(
    s: S,
    len: usize,
    entries: impl IntoIterator<Item = (&'a K, &'a V)>,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(len))?;
    for (k, v) in entries {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// A hashed map's entries in key order.
fn sorted<'a, K: Ord, V>(entries: impl Iterator<Item = (&'a K, &'a V)>) -> Vec<(&'a K, &'a V)> {
    let mut v: Vec<_> = entries.collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

/// Something whose writes since the last commit can be undone.
pub(crate) trait Journaled {
    /// Forgets the undo journal (the writes stay); with `track`, remembers the written keys for
    /// the store (`persist`).
    fn commit(&mut self, track: bool);
    /// Undoes every write since the last commit, newest first.
    fn rollback(&mut self);
}

/// An ordered map with an undo journal. Iteration is in key order, so it is deterministic.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Table<K: Ord, V> {
    map: BTreeMap<K, V>,
    #[serde(skip)]
    journal: Vec<(K, Option<V>)>,
    #[serde(skip)]
    dirty: Vec<K>,
}

impl<K: Ord, V> Default for Table<K, V> {
    fn default() -> Self {
        Self { map: BTreeMap::new(), journal: Vec::new(), dirty: Vec::new() }
    }
}

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    /// The value at `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    /// Whether `k` is present.
    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// Writes `v` at `k`, journaling the old value.
    pub fn insert(&mut self, k: K, v: V) {
        let old = self.map.insert(k.clone(), v);
        self.journal.push((k, old));
    }

    /// Removes `k`, journaling the old value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let old = self.map.remove(k);
        if old.is_some() {
            self.journal.push((k.clone(), old.clone()));
        }
        old
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// Entries whose key lies in `range`, in key order.
    pub fn range<R: std::ops::RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(range)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Ord + Clone, V: Clone> Journaled for Table<K, V> {
    #[inline]
    fn commit(&mut self, track: bool) {
        settle(&mut self.journal, &mut self.dirty, track);
    }

    fn rollback(&mut self) {
        undo(&mut self.map, &mut self.journal);
    }
}

/// A hashed map with an undo journal, for tables the transactions read by point lookup
/// (balances, stakers, operators and their shares, encumbrance, registrations…); a full walk
/// sorts, so it is for queries, checks and rare transactions. Its order is never observable:
/// iteration, `Debug` and serialization go through `sorted`, so the state hash stays
/// deterministic. The hasher is fixed (FxHash): no randomness in the state machine, at the price
/// of keys an adversary could grind for collisions (see docs/protocol.md). `M` is the map: the
/// standard one, or a `DenseMap` for the per-account tables that outgrow the caches.
#[derive(Clone)]
pub struct HashTable<K, V, M = HashMap<K, V, FxBuildHasher>> {
    map: M,
    journal: Vec<(K, Option<V>)>,
    dirty: Vec<K>,
}

impl<K, V, M: Default> Default for HashTable<K, V, M> {
    fn default() -> Self {
        Self { map: M::default(), journal: Vec::new(), dirty: Vec::new() }
    }
}

impl<K: Hash + Ord + Clone, V: Clone, M: Backing<K, V>> HashTable<K, V, M> {
    /// The value at `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    /// Whether `k` is present.
    pub fn contains(&self, k: &K) -> bool {
        self.map.get(k).is_some()
    }

    /// Writes `v` at `k`, journaling the old value; true when `k` was absent.
    pub fn insert(&mut self, k: K, v: V) -> bool {
        let old = self.map.insert(k.clone(), v);
        let new = old.is_none();
        self.journal.push((k, old));
        new
    }

    /// Removes `k`, journaling the old value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let old = self.map.remove(k);
        if old.is_some() {
            self.journal.push((k.clone(), old.clone()));
        }
        old
    }

    /// Replaces the value at `k` with the first part of `f(current)` (`None` removes it),
    /// journaling the old value: one lookup to read and overwrite, a second to add or remove a
    /// key; returns the second part. On `Err` nothing changes.
    pub fn update<R, E>(&mut self, k: K, f: impl FnOnce(Option<&V>) -> Result<(Option<V>, R), E>) -> Result<R, E> {
        match self.map.get_mut(&k) {
            Some(cur) => {
                let (new, out) = f(Some(cur))?;
                match new {
                    Some(v) => {
                        let old = std::mem::replace(cur, v);
                        self.journal.push((k, Some(old)));
                    }
                    None => {
                        let old = self.map.remove(&k);
                        self.journal.push((k, old));
                    }
                }
                Ok(out)
            }
            None => {
                let (new, out) = f(None)?;
                if let Some(v) = new {
                    self.journal.push((k.clone(), None));
                    self.map.insert_new(k, v);
                }
                Ok(out)
            }
        }
    }

    /// Entries in key order (sorts: for queries, checks and hashing, not for hot paths).
    pub fn sorted(&self) -> Vec<(&K, &V)> {
        sorted(self.map.entries())
    }

    /// Starts loading `k`'s index line or its entry (see `prefetch`), without waiting.
    pub(crate) fn prefetch(&self, stage: crate::prefetch::Stage, k: &K) {
        self.map.prefetch(stage, k);
    }

    /// Values in no particular order: only for order-free folds (sums, counts, any).
    pub fn values_unordered(&self) -> impl Iterator<Item = &V> {
        self.map.entries().map(|(_, v)| v)
    }

    /// Entries in no particular order: only for work whose result does not depend on it.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.entries()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Hash + Ord + Clone + std::fmt::Debug, V: Clone + std::fmt::Debug, M: Backing<K, V>> std::fmt::Debug
    for HashTable<K, V, M>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.sorted()).finish()
    }
}

impl<K: Hash + Ord + Clone, V: Clone, M: Backing<K, V>> Journaled for HashTable<K, V, M> {
    #[inline]
    fn commit(&mut self, track: bool) {
        settle(&mut self.journal, &mut self.dirty, track);
    }

    fn rollback(&mut self) {
        while let Some((k, old)) = self.journal.pop() {
            match old {
                Some(v) => self.map.insert(k, v),
                None => self.map.remove(&k),
            };
        }
    }
}

impl<K: Hash + Ord + Clone + Serialize, V: Clone + Serialize, M: Backing<K, V>> Serialize for HashTable<K, V, M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_entries(s, self.len(), self.sorted())
    }
}

/// A key of a group and a part ordered within it, for tables asked for one group's entries
/// (an operator set: its service, then its number).
pub trait Grouped: Hash + Ord + Clone {
    /// What the entries are listed by.
    type Group: Hash + Eq + Clone;
    /// The order within a group.
    type Part: Ord + Clone;
    /// The key's group and part.
    fn split(&self) -> (Self::Group, Self::Part);
    /// The key of `part` in `group`.
    fn join(group: &Self::Group, part: &Self::Part) -> Self;
}

impl<A: Hash + Ord + Clone, B: Hash + Ord + Clone> Grouped for (A, B) {
    type Group = A;
    type Part = B;
    fn split(&self) -> (A, B) {
        self.clone()
    }
    fn join(group: &A, part: &B) -> Self {
        (group.clone(), part.clone())
    }
}

impl<A: Hash + Ord + Clone, B: Hash + Ord + Clone, C: Hash + Ord + Clone> Grouped for (A, B, C) {
    type Group = A;
    type Part = (B, C);
    fn split(&self) -> (A, (B, C)) {
        (self.0.clone(), (self.1.clone(), self.2.clone()))
    }
    fn join(group: &A, part: &(B, C)) -> Self {
        (group.clone(), part.0.clone(), part.1.clone())
    }
}

impl Grouped for cairn_primitives::OperatorSetKey {
    type Group = cairn_primitives::Address;
    type Part = u32;
    fn split(&self) -> (cairn_primitives::Address, u32) {
        (self.service, self.id)
    }
    fn join(service: &cairn_primitives::Address, id: &u32) -> Self {
        Self { service: *service, id: *id }
    }
}

/// A hashed map with an ordered index of each group's keys, for tables read by point lookups on
/// hot paths and by group in queries: a lookup or an overwrite is one hash probe, and a new or
/// removed key touches only its group's small index (ordered by the part alone, which compares
/// faster than the whole key). Iteration, `Debug` and serialization are in key order.
#[derive(Clone)]
pub struct IndexedTable<K: Grouped, V> {
    table: HashTable<K, V>,
    groups: HashMap<K::Group, BTreeSet<K::Part>, FxBuildHasher>,
}

impl<K: Grouped, V> Default for IndexedTable<K, V> {
    fn default() -> Self {
        Self { table: HashTable::default(), groups: HashMap::default() }
    }
}

impl<K: Grouped, V: Clone> IndexedTable<K, V> {
    /// The value at `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.table.get(k)
    }

    /// Whether `k` is present.
    pub fn contains(&self, k: &K) -> bool {
        self.table.contains(k)
    }

    /// Writes `v` at `k`, journaling the old value.
    pub fn insert(&mut self, k: K, v: V) {
        let (group, part) = k.split();
        if self.table.insert(k, v) {
            self.index(group, part);
        }
    }

    /// Removes `k`, journaling the old value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let old = self.table.remove(k);
        if old.is_some() {
            self.unindex(k);
        }
        old
    }

    fn index(&mut self, group: K::Group, part: K::Part) {
        self.groups.entry(group).or_default().insert(part);
    }

    fn unindex(&mut self, k: &K) {
        let (group, part) = k.split();
        if let Some(parts) = self.groups.get_mut(&group) {
            parts.remove(&part);
            if parts.is_empty() {
                self.groups.remove(&group);
            }
        }
    }

    /// Entries in key order (sorts: for queries, checks and hashing).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.table.sorted().into_iter()
    }

    /// The entries of `group`, ordered by their part.
    pub fn group(&self, group: &K::Group) -> impl Iterator<Item = (K, &V)> {
        let parts = self.groups.get(group).into_iter().flatten();
        parts.filter_map(move |p| {
            let k = K::join(group, p);
            self.table.get(&k).map(|v| (k, v))
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

impl<K: Grouped + std::fmt::Debug, V: Clone + std::fmt::Debug> std::fmt::Debug for IndexedTable<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Grouped, V: Clone> Journaled for IndexedTable<K, V> {
    #[inline]
    fn commit(&mut self, track: bool) {
        self.table.commit(track);
    }

    /// Newest first, so each key ends with its presence before the oldest write.
    fn rollback(&mut self) {
        let journal = std::mem::take(&mut self.table.journal);
        for (k, old) in journal.iter().rev() {
            if old.is_some() {
                let (group, part) = k.split();
                self.index(group, part);
            } else {
                self.unindex(k);
            }
        }
        self.table.journal = journal;
        self.table.rollback();
    }
}

impl<K: Grouped + Serialize, V: Clone + Serialize> Serialize for IndexedTable<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_entries(s, self.len(), self.iter())
    }
}

/// Block-keyed append-only histories (EigenLayer's `Snapshots`): a push in the same block
/// overwrites, a lookup returns the value of the latest key ≤ the queried block. The store keeps
/// one row per entry, keyed (key, block), so a push writes one small row, not the whole history.
///
/// Hashed like `HashTable` (slashes, withdrawals and every staker's slashing factor read it by
/// point lookups); iteration, `Debug` and serialization sort, so its bytes are an ordered map's.
#[derive(Clone)]
pub struct History<K, V> {
    map: HashMap<K, Vec<(Block, V)>, FxBuildHasher>,
    journal: Vec<(K, Option<V>)>,
    dirty: Vec<(K, Block)>,
}

impl<K, V> Default for History<K, V> {
    fn default() -> Self {
        Self { map: HashMap::default(), journal: Vec::new(), dirty: Vec::new() }
    }
}

impl<K: Hash + Ord + Clone, V: Copy> History<K, V> {
    /// Every push of a transaction writes the last entry of its key (one block per transaction).
    #[inline(never)]
    fn commit_written(&mut self, track: bool) {
        if track {
            for (k, _) in self.journal.drain(..) {
                if let Some((block, _)) = self.map.get(&k).and_then(|h| h.last()) {
                    self.dirty.push((k, *block));
                }
            }
        }
        forget(&mut self.journal);
    }

    /// The latest value of `k`'s history, if any.
    pub fn latest(&self, k: &K) -> Option<V> {
        self.map.get(k).and_then(|h| h.last()).map(|e| e.1)
    }

    /// The value of the latest entry at or before `block`, if any.
    pub fn at(&self, k: &K, block: Block) -> Option<V> {
        let h = self.map.get(k)?;
        let idx = h.partition_point(|e| e.0 <= block);
        idx.checked_sub(1).map(|i| h[i].1)
    }

    /// Records `value` at `block` (which must not precede the last entry's block).
    pub fn push(&mut self, k: K, block: Block, value: V) {
        let Ok(_) = self.push_from_latest(k, block, |_| Ok::<_, std::convert::Infallible>(value));
    }

    /// Records `f(latest value)` at `block` with one lookup of `k` and returns it; on `Err`
    /// nothing changes.
    pub fn push_from_latest<E>(
        &mut self,
        k: K,
        block: Block,
        f: impl FnOnce(Option<V>) -> Result<V, E>,
    ) -> Result<V, E> {
        use std::collections::hash_map::Entry;
        let h = match self.map.entry(k.clone()) {
            Entry::Occupied(e) => {
                let value = f(e.get().last().map(|e| e.1))?;
                push_onto(e.into_mut(), &mut self.journal, k, block, value);
                return Ok(value);
            }
            Entry::Vacant(e) => e,
        };
        let value = f(None)?;
        push_onto(h.insert(Vec::new()), &mut self.journal, k, block, value);
        Ok(value)
    }

    /// Number of entries in `k`'s history.
    pub fn len_of(&self, k: &K) -> usize {
        self.map.get(k).map_or(0, Vec::len)
    }

    /// Every history in key order (sorts: for checks and hashing, not for hot paths).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &[(Block, V)])> {
        sorted(self.map.iter()).into_iter().map(|(k, h)| (k, h.as_slice()))
    }
}

/// Appends `(block, value)` to a history, or overwrites its last entry of the same block,
/// journaling what it replaced.
fn push_onto<K, V: Copy>(h: &mut Vec<(Block, V)>, journal: &mut Vec<(K, Option<V>)>, k: K, block: Block, value: V) {
    match h.last_mut() {
        Some(last) if last.0 == block => {
            let old = last.1;
            last.1 = value;
            journal.push((k, Some(old)));
        }
        _ => {
            h.push((block, value));
            journal.push((k, None));
        }
    }
}

impl<K: Hash + Ord + Clone + std::fmt::Debug, V: Copy + std::fmt::Debug> std::fmt::Debug for History<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Hash + Ord + Clone + Serialize, V: Copy + Serialize> Serialize for History<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_entries(s, self.map.len(), self.iter())
    }
}

impl<K: Hash + Ord + Clone, V: Copy> Journaled for History<K, V> {
    #[inline]
    fn commit(&mut self, track: bool) {
        if !self.journal.is_empty() {
            self.commit_written(track);
        }
    }

    fn rollback(&mut self) {
        while let Some((k, old)) = self.journal.pop() {
            let Some(h) = self.map.get_mut(&k) else {
                continue;
            };
            match old {
                Some(v) => {
                    if let Some(last) = h.last_mut() {
                        last.1 = v;
                    }
                }
                None => {
                    h.pop();
                    if h.is_empty() {
                        self.map.remove(&k);
                    }
                }
            }
        }
    }
}

/// A table the node's store can write and read back (see `persist`).
pub(crate) trait Persisted {
    /// The rows written since the last call, each once, in key order, with their values now.
    fn drain_changes(&mut self, table: u8, out: &mut Changes) -> Result<(), postcard::Error>;
    /// Every row, in key order.
    fn dump(&self, table: u8, out: &mut Changes) -> Result<(), postcard::Error>;
    /// Inserts one stored row.
    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), postcard::Error>;
}

/// Sorts and deduplicates written keys, then writes each one's row with its value now.
fn changes<'a, K: Ord + Serialize, V: Serialize + 'a>(
    dirty: &mut Vec<K>,
    get: impl Fn(&K) -> Option<&'a V>,
    table: u8,
    out: &mut Changes,
) -> Result<(), postcard::Error> {
    dirty.sort_unstable();
    dirty.dedup();
    for k in dirty.drain(..) {
        out.push(table, &k, get(&k))?;
    }
    Ok(())
}

/// Writes entries already in key order as rows.
fn dump_entries<'a, K: Serialize + 'a, V: Serialize + 'a>(
    entries: impl IntoIterator<Item = (&'a K, &'a V)>,
    table: u8,
    out: &mut Changes,
) -> Result<(), postcard::Error> {
    for (k, v) in entries {
        out.push(table, k, Some(v))?;
    }
    Ok(())
}

/// Inserts one stored row into a map.
fn load_row<K: DeserializeOwned, V: DeserializeOwned>(
    map: &mut impl Restore<K, V>,
    key: &[u8],
    value: &[u8],
) -> Result<(), postcard::Error> {
    map.restore(postcard::from_bytes(key)?, Some(postcard::from_bytes(value)?));
    Ok(())
}

impl<K: Ord + Clone + Serialize + DeserializeOwned, V: Clone + Serialize + DeserializeOwned> Persisted for Table<K, V> {
    fn drain_changes(&mut self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        let map = &self.map;
        changes(&mut self.dirty, |k| map.get(k), table, out)
    }

    fn dump(&self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        dump_entries(&self.map, table, out)
    }

    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), postcard::Error> {
        load_row(&mut self.map, key, value)
    }
}

impl<K, V, M> Persisted for HashTable<K, V, M>
where
    K: Hash + Ord + Clone + Serialize + DeserializeOwned,
    V: Clone + Serialize + DeserializeOwned,
    M: Backing<K, V>,
{
    fn drain_changes(&mut self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        let map = &self.map;
        changes(&mut self.dirty, |k| map.get(k), table, out)
    }

    fn dump(&self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        dump_entries(self.sorted(), table, out)
    }

    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), postcard::Error> {
        self.map.insert(postcard::from_bytes(key)?, postcard::from_bytes(value)?);
        Ok(())
    }
}

impl<K, V> Persisted for IndexedTable<K, V>
where
    K: Grouped + Serialize + DeserializeOwned,
    V: Clone + Serialize + DeserializeOwned,
{
    fn drain_changes(&mut self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        self.table.drain_changes(table, out)
    }

    fn dump(&self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        dump_entries(self.iter(), table, out)
    }

    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), postcard::Error> {
        let k: K = postcard::from_bytes(key)?;
        let (group, part) = k.split();
        self.table.map.insert(k, postcard::from_bytes(value)?);
        self.index(group, part);
        Ok(())
    }
}

impl<K: Hash + Ord + Clone + Serialize + DeserializeOwned, V: Copy + Serialize + DeserializeOwned> Persisted
    for History<K, V>
{
    fn drain_changes(&mut self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        self.dirty.sort_unstable();
        self.dirty.dedup();
        for (k, block) in self.dirty.drain(..) {
            let h = self.map.get(&k).map(Vec::as_slice).unwrap_or_default();
            let value = h.binary_search_by_key(&block, |e| e.0).ok().and_then(|i| h.get(i)).map(|e| &e.1);
            out.push(table, &(&k, block), value)?;
        }
        Ok(())
    }

    fn dump(&self, table: u8, out: &mut Changes) -> Result<(), postcard::Error> {
        for (k, h) in self.iter() {
            for (block, v) in h {
                out.push(table, &(k, block), Some(v))?;
            }
        }
        Ok(())
    }

    /// Rows arrive in any order (the store sorts keys as bytes, not blocks): each entry goes to
    /// its place in its history.
    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), postcard::Error> {
        let (k, block): (K, Block) = postcard::from_bytes(key)?;
        let v: V = postcard::from_bytes(value)?;
        let h = self.map.entry(k).or_default();
        let at = h.partition_point(|e| e.0 < block);
        match h.get_mut(at) {
            Some(e) if e.0 == block => e.1 = v,
            _ => h.insert(at, (block, v)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense::DenseMap;

    #[test]
    fn table_rollback_restores_every_write() {
        let mut t: Table<u32, u32> = Table::default();
        t.insert(1, 10);
        t.commit(false);
        t.insert(1, 11);
        t.insert(2, 20);
        t.remove(&1);
        t.rollback();
        assert_eq!(t.get(&1), Some(&10));
        assert_eq!(t.get(&2), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn hash_table_update_rollback_and_sorted_order() {
        update_rollback_and_sorted_order::<HashMap<u32, u32, FxBuildHasher>>();
        update_rollback_and_sorted_order::<DenseMap<u32, u32>>();
    }

    fn update_rollback_and_sorted_order<M: Backing<u32, u32>>() {
        let mut t: HashTable<u32, u32, M> = HashTable::default();
        for k in [5, 1, 3] {
            t.insert(k, k.wrapping_mul(10));
        }
        t.commit(false);
        let r: Result<(), ()> = t.update(1, |v| Ok((v.map(|x| x.wrapping_add(1)), ())));
        assert!(r.is_ok());
        let r: Result<(), ()> = t.update(3, |_| Ok((None, ())));
        assert!(r.is_ok());
        let r: Result<(), &str> = t.update(5, |_| Err("refused"));
        assert!(r.is_err());
        t.insert(9, 90);
        assert_eq!(t.sorted(), vec![(&1, &11), (&5, &50), (&9, &90)]);
        t.rollback();
        assert_eq!(t.sorted(), vec![(&1, &10), (&3, &30), (&5, &50)]);
        // Serializes exactly like the ordered map with the same entries.
        let ordered: BTreeMap<u32, u32> = [(1, 10), (3, 30), (5, 50)].into_iter().collect();
        assert_eq!(postcard::to_allocvec(&t).unwrap(), postcard::to_allocvec(&ordered).unwrap());
    }

    /// One step of the indexed table's model test.
    #[derive(Debug, Clone)]
    enum Step {
        Insert((u8, u8), u16),
        Remove((u8, u8)),
        /// `HashTable::update`: add to the value (absent is 0); `None` removes; odd sums refused.
        Update((u8, u8), Option<u16>),
        Commit,
        Rollback,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (key(), any::<u16>()).prop_map(|(k, v)| Step::Insert(k, v)),
            2 => key().prop_map(Step::Remove),
            2 => (key(), any::<Option<u16>>()).prop_map(|(k, d)| Step::Update(k, d)),
            1 => Just(Step::Commit),
            1 => Just(Step::Rollback),
        ]
    }

    /// A key of one of four groups.
    fn key() -> impl proptest::strategy::Strategy<Value = (u8, u8)> {
        (0u8..4, 0u8..6)
    }

    fn rows(t: &impl Persisted, dirty: bool, t2: &mut impl Persisted) -> (Vec<u8>, Vec<u8>) {
        let mut all = Changes::default();
        t.dump(1, &mut all).unwrap();
        let mut changed = Changes::default();
        if dirty {
            t2.drain_changes(1, &mut changed).unwrap();
        }
        (all.canonical_bytes().to_vec(), changed.canonical_bytes().to_vec())
    }

    /// Commits both tables, checks that `t` writes the same store rows as the ordered model
    /// (all of them, and the changed ones), and returns a table of `t`'s kind loaded from the
    /// model's rows.
    fn persist_and_reload<T: Persisted + Journaled + Clone + Default>(
        model: &mut Table<(u8, u8), u16>,
        t: &mut T,
    ) -> Result<T, proptest::test_runner::TestCaseError> {
        model.commit(true);
        t.commit(true);
        let (mut m2, mut t2) = (model.clone(), t.clone());
        proptest::prop_assert_eq!(rows(model, true, &mut m2), rows(t, true, &mut t2));
        let mut loaded = T::default();
        for (k, v) in model.iter() {
            loaded.load(&postcard::to_allocvec(k).unwrap(), &postcard::to_allocvec(v).unwrap()).unwrap();
        }
        Ok(loaded)
    }

    proptest::proptest! {
        /// The indexed table answers, rolls back, serializes and persists exactly like the
        /// ordered table given the same writes.
        #[test]
        fn indexed_table_behaves_as_the_ordered_table(steps in proptest::collection::vec(step(), 1..80)) {
            let mut model: Table<(u8, u8), u16> = Table::default();
            let mut t: IndexedTable<(u8, u8), u16> = IndexedTable::default();
            for s in steps {
                match s {
                    Step::Insert(k, v) => { model.insert(k, v); t.insert(k, v); }
                    Step::Remove(k) | Step::Update(k, None) => { proptest::prop_assert_eq!(model.remove(&k), t.remove(&k)); }
                    Step::Update(k, Some(v)) => { model.insert(k, v); t.insert(k, v); }
                    Step::Commit => { model.commit(true); t.commit(true); }
                    Step::Rollback => { model.rollback(); t.rollback(); }
                }
                proptest::prop_assert_eq!(model.iter().collect::<Vec<_>>(), t.iter().collect::<Vec<_>>());
                for g in 0..5 {
                    let want: Vec<_> = model.range((g, 0)..=(g, u8::MAX)).map(|(k, v)| (*k, v)).collect();
                    proptest::prop_assert_eq!(want, t.group(&g).collect::<Vec<_>>());
                }
                proptest::prop_assert_eq!((model.len(), model.is_empty()), (t.len(), t.is_empty()));
                // No stale key or empty group stays in the index.
                proptest::prop_assert_eq!(t.groups.values().map(BTreeSet::len).sum::<usize>(), t.table.len());
                proptest::prop_assert!(t.groups.values().all(|p| !p.is_empty()));
                for k in (0..5).flat_map(|g| (0..7).map(move |p| (g, p))) {
                    proptest::prop_assert_eq!(model.get(&k), t.get(&k));
                    proptest::prop_assert_eq!(model.contains(&k), t.contains(&k));
                }
                proptest::prop_assert_eq!(postcard::to_allocvec(&model).unwrap(), postcard::to_allocvec(&t).unwrap());
            }
            let loaded = persist_and_reload(&mut model, &mut t)?;
            proptest::prop_assert_eq!(loaded.iter().collect::<Vec<_>>(), t.iter().collect::<Vec<_>>());
            for g in 0..4 {
                proptest::prop_assert_eq!(loaded.group(&g).collect::<Vec<_>>(), t.group(&g).collect::<Vec<_>>());
            }
        }
    }

    /// `update` on a table: the sum it writes, or the refusal it returns (changing nothing).
    fn add_or_remove(cur: Option<&u16>, d: Option<u16>) -> Result<(Option<u16>, ()), u16> {
        let Some(d) = d else { return Ok((None, ())) };
        let sum = cur.copied().unwrap_or(0).wrapping_add(d);
        if sum % 2 == 1 { Err(sum) } else { Ok((Some(sum), ())) }
    }

    proptest::proptest! {
        /// A table on the dense map answers, updates, rolls back, serializes, persists and
        /// reloads exactly like the ordered table given the same writes.
        #[test]
        fn dense_table_behaves_as_the_ordered_table(steps in proptest::collection::vec(step(), 1..120)) {
            let mut model: Table<(u8, u8), u16> = Table::default();
            let mut t: crate::DenseTable<(u8, u8), u16> = HashTable::default();
            for s in steps {
                match s {
                    Step::Insert(k, v) => { model.insert(k, v); t.insert(k, v); }
                    Step::Remove(k) => { proptest::prop_assert_eq!(model.remove(&k), t.remove(&k)); }
                    Step::Update(k, d) => {
                        let want = add_or_remove(model.get(&k), d);
                        if let Ok((new, ())) = want {
                            match new {
                                Some(v) => model.insert(k, v),
                                None => { model.remove(&k); }
                            }
                        }
                        proptest::prop_assert_eq!(t.update(k, |cur| add_or_remove(cur, d)), want.map(|_| ()));
                    }
                    Step::Commit => { model.commit(true); t.commit(true); }
                    Step::Rollback => { model.rollback(); t.rollback(); }
                }
                proptest::prop_assert_eq!(model.iter().collect::<Vec<_>>(), t.sorted());
                proptest::prop_assert_eq!(model.len(), t.len());
                for k in (0..5).flat_map(|g| (0..7).map(move |p| (g, p))) {
                    proptest::prop_assert_eq!(model.get(&k), t.get(&k));
                }
                proptest::prop_assert_eq!(postcard::to_allocvec(&model).unwrap(), postcard::to_allocvec(&t).unwrap());
            }
            let loaded = persist_and_reload(&mut model, &mut t)?;
            proptest::prop_assert_eq!(loaded.sorted(), t.sorted());
        }
    }

    #[test]
    fn history_lookup_and_rollback() {
        let mut h: History<u8, u64> = History::default();
        assert_eq!(h.at(&0, 5), None);
        h.push(0, 5, 100);
        h.push(0, 7, 90);
        h.commit(false);
        assert_eq!(h.at(&0, 4), None);
        assert_eq!(h.at(&0, 5), Some(100));
        assert_eq!(h.at(&0, 6), Some(100));
        assert_eq!(h.at(&0, 9), Some(90));
        h.push(0, 7, 80);
        h.push(0, 8, 70);
        h.rollback();
        assert_eq!(h.latest(&0), Some(90));
        assert_eq!(h.len_of(&0), 2);
    }

    /// `push_from_latest` writes with one lookup what `latest` then `push` would; a refusal
    /// writes nothing; rollback undoes a new key and an overwrite in the same block.
    #[test]
    fn history_push_from_latest() {
        let mut h: History<u8, u64> = History::default();
        let add = |n: u64| move |m: Option<u64>| m.unwrap_or(0).checked_add(n).ok_or("overflow");
        assert_eq!(h.push_from_latest(1, 5, add(10)), Ok(10));
        assert_eq!(h.push_from_latest(1, 6, add(5)), Ok(15));
        h.commit(false);
        assert_eq!(h.push_from_latest(1, 7, |_| Err("refused")), Err("refused"));
        assert_eq!(h.push_from_latest(2, 7, |_| Err("refused")), Err("refused"));
        assert_eq!((h.len_of(&1), h.len_of(&2), h.latest(&1)), (2, 0, Some(15)));
        assert_eq!(h.push_from_latest(1, 6, add(1)), Ok(16));
        assert_eq!(h.push_from_latest(3, 6, add(2)), Ok(2));
        assert_eq!((h.at(&1, 6), h.len_of(&1)), (Some(16), 2));
        h.rollback();
        assert_eq!((h.latest(&1), h.len_of(&1), h.latest(&3)), (Some(15), 2, None));
    }

    /// Hashed, a history still iterates, prints and serializes in key order: its bytes are an
    /// ordered map's with the same entries, so the state hash does not depend on insertion order.
    #[test]
    fn history_serializes_in_key_order() {
        let mut h: History<u8, u64> = History::default();
        let mut ordered: BTreeMap<u8, Vec<(Block, u64)>> = BTreeMap::new();
        for k in (0..40u8).rev() {
            h.push(k, 3, u64::from(k) * 7);
            h.push(k, 4, u64::from(k));
            ordered.insert(k, vec![(3, u64::from(k) * 7), (4, u64::from(k))]);
        }
        assert_eq!(postcard::to_allocvec(&h).unwrap(), postcard::to_allocvec(&ordered).unwrap());
        let keys: Vec<u8> = h.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, (0..40).collect::<Vec<_>>());
    }

    /// One row per entry: a push writes one (key, block) row, and rows loaded in the store's
    /// byte order (varint blocks do not sort as numbers) rebuild each history in block order.
    #[test]
    fn history_rows_are_entries_and_load_in_any_order() {
        let mut h: History<u8, u64> = History::default();
        for (block, v) in [(5u64, 1u64), (129, 2), (256, 3), (70_000, 4)] {
            h.push(1, block, v);
            h.commit(true);
        }
        h.push(1, 70_000, 5); // same block: overwrites the last entry
        h.commit(true);
        h.push(2, 9, 6);
        h.rollback(); // never committed: no row
        let mut rows = Changes::default();
        h.drain_changes(5, &mut rows).unwrap();
        assert_eq!(rows.len(), 4, "one row per entry written, the overwritten one once");
        let last = (postcard::to_allocvec(&(1u8, 70_000u64)).unwrap(), postcard::to_allocvec(&5u64).unwrap());
        assert_eq!(rows.iter().nth(3), Some((5, last.0.as_slice(), Some(last.1.as_slice()))));
        let mut dumped = Changes::default();
        h.dump(5, &mut dumped).unwrap();
        assert_eq!(dumped, rows, "the same rows as a snapshot");
        let mut sorted: Vec<(Vec<u8>, Vec<u8>)> =
            dumped.iter().map(|(_, k, v)| (k.to_vec(), v.unwrap().to_vec())).collect();
        sorted.sort(); // as a key-value store returns them: 256 ([0x80, 0x02]) before 129 ([0x81, 0x01])
        let mut back: History<u8, u64> = History::default();
        for (k, v) in &sorted {
            back.load(k, v).unwrap();
        }
        assert_eq!(back.iter().collect::<Vec<_>>(), h.iter().collect::<Vec<_>>());
        assert_eq!(back.at(&1, 200), Some(2));
        let mut none = Changes::default();
        h.drain_changes(5, &mut none).unwrap();
        assert!(none.is_empty(), "drained");
    }
}
