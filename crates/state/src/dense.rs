//! The hashed map behind `store::HashTable`, laid out for tables larger than the CPU caches.
//!
//! Entries sit packed in one vector; a separate probe index of 8-byte slots maps a key's hash to
//! its entry. A slot holds 32 bits of the key's hash (which also give its home position) and the
//! entry's position, so a lookup reads one index line, then the entry: two cache misses (a probe
//! rarely leaves its line), and no control bytes or buckets sized for the whole table. Both
//! addresses follow from the hash alone, one stage apart, which lets a caller warm them ahead of
//! use (`prefetch`) without waiting on either load. Packed entries also keep the memory near the
//! entries' own size: the index costs 8 bytes a slot, not a value-sized bucket.
//!
//! The index is open addressing with linear probing at most 3/4 full, in a power-of-two array;
//! removal shifts the following slots back (no tombstones) and moves the last entry into the
//! hole. Iteration is in no particular order (it depends on the history of writes); everything
//! order-sensitive sorts. A map holds fewer than 2^32 − 1 entries (the slot's 32-bit position),
//! hundreds of gigabytes for any table of the state.

use std::hash::{BuildHasher, Hash};

use rustc_hash::FxBuildHasher;

use crate::{prefetch::Stage, store::Backing};

/// An index slot with no entry.
const EMPTY: u64 = u64::MAX;

/// The smallest index a non-empty map has.
const MIN_SLOTS: usize = 16;

/// 32 bits of a key's hash: the home slot (low bits) and the fragment a slot is matched by.
fn hash32<K: Hash>(k: &K) -> u32 {
    let h = FxBuildHasher.hash_one(k);
    // Fold both halves: FxHash mixes the high half best and rotates part of it down.
    (h ^ (h >> 32)) as u32
}

/// The slot after `i`, wrapping at the end of the index.
fn next(i: usize, mask: usize) -> usize {
    i.wrapping_add(1) & mask
}

fn slot_of(hash: u32, entry: usize) -> u64 {
    debug_assert!(entry < u32::MAX as usize, "a dense map holds fewer than 2^32 - 1 entries");
    (u64::from(hash) << 32) | entry as u64
}

fn slot_hash(slot: u64) -> u32 {
    (slot >> 32) as u32
}

fn slot_entry(slot: u64) -> usize {
    (slot & u64::from(u32::MAX)) as usize
}

/// A hashed map of packed entries and a probe index (see the module documentation).
#[derive(Clone)]
pub(crate) struct DenseMap<K, V> {
    entries: Vec<(K, V)>,
    slots: Vec<u64>,
}

impl<K, V> Default for DenseMap<K, V> {
    fn default() -> Self {
        Self { entries: Vec::new(), slots: Vec::new() }
    }
}

impl<K: Hash + Eq, V> DenseMap<K, V> {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Where `k` is: `Ok((slot, entry))` when present, else `Err(slot)`, the empty slot that
    /// ends its probe (where it would go).
    fn probe(&self, k: &K, h: u32) -> Result<(usize, usize), usize> {
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return Err(i);
            }
            if slot_hash(s) == h && self.entries[slot_entry(s)].0 == *k {
                return Ok((i, slot_entry(s)));
            }
            i = next(i, mask);
        }
    }

    /// The index slot and entry position of `k`.
    fn find(&self, k: &K) -> Option<(usize, usize)> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(k, hash32(k)).ok()
    }

    /// Whether one more entry would fill the index beyond 3/4.
    fn is_full(&self) -> bool {
        self.entries.len().saturating_add(1).saturating_mul(4) > self.slots.len().saturating_mul(3)
    }

    fn push_at(&mut self, slot: usize, h: u32, k: K, v: V) {
        self.slots[slot] = slot_of(h, self.entries.len());
        self.entries.push((k, v));
    }

    /// The slot pointing at entry `e` (which exists).
    fn slot_pointing_at(&self, e: usize) -> usize {
        let mask = self.mask();
        let mut i = hash32(&self.entries[e].0) as usize & mask;
        while slot_entry(self.slots[i]) != e {
            i = next(i, mask);
        }
        i
    }

    /// Empties `hole`, shifting back the slots after it that may move (their home is not
    /// between the hole and where they sit), so every key stays reachable from its home.
    fn vacate(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = next(j, mask);
            let s = self.slots[j];
            if s == EMPTY {
                break;
            }
            let home = slot_hash(s) as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
    }

    /// The first empty slot from the home of hash `h`.
    fn free_slot(&self, h: u32) -> usize {
        let mask = self.mask();
        let mut i = h as usize & mask;
        while self.slots[i] != EMPTY {
            i = next(i, mask);
        }
        i
    }

    /// Doubles the index (the slots carry their hashes, so no key is hashed again).
    fn grow(&mut self) {
        let size = self.slots.len().saturating_mul(2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        for s in old.into_iter().filter(|s| *s != EMPTY) {
            let free = self.free_slot(slot_hash(s));
            self.slots[free] = s;
        }
    }

    /// The index line a lookup of `k` reads first.
    fn slot_line(&self, k: &K) -> Option<*const u8> {
        let i = hash32(k) as usize & self.mask();
        self.slots.get(i).map(|s| std::ptr::from_ref(s).cast())
    }

    /// The entry a lookup of `k` most likely reads (the first slot from its home with the key's
    /// hash), found from the index alone: the entry itself is not read.
    fn entry_line(&self, k: &K) -> Option<*const (K, V)> {
        if self.slots.is_empty() {
            return None;
        }
        let h = hash32(k);
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if slot_hash(s) == h {
                return self.entries.get(slot_entry(s)).map(std::ptr::from_ref);
            }
            i = next(i, mask);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Backing<K, V> for DenseMap<K, V> {
    /// The value at `k`.
    fn get(&self, k: &K) -> Option<&V> {
        self.find(k).map(|(_, e)| &self.entries[e].1)
    }

    /// The value at `k`, to change in place.
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.find(k).map(|(_, e)| &mut self.entries[e].1)
    }

    /// Writes `v` at `k`; the old value, if there was one.
    fn insert(&mut self, k: K, v: V) -> Option<V> {
        let h = hash32(&k);
        if !self.slots.is_empty() {
            match self.probe(&k, h) {
                Ok((_, e)) => return Some(std::mem::replace(&mut self.entries[e].1, v)),
                Err(free) if !self.is_full() => {
                    self.push_at(free, h, k, v);
                    return None;
                }
                Err(_) => {}
            }
        }
        self.insert_new(k, v);
        None
    }

    /// Adds `k`, known to be absent.
    fn insert_new(&mut self, k: K, v: V) {
        if self.is_full() {
            self.grow();
        }
        let h = hash32(&k);
        let free = self.free_slot(h);
        self.push_at(free, h, k, v);
    }

    /// Removes `k`; its value, if it was present.
    fn remove(&mut self, k: &K) -> Option<V> {
        let (slot, e) = self.find(k)?;
        self.vacate(slot);
        let last = self.entries.len().saturating_sub(1);
        if e != last {
            // The last entry moves into the removed one's place: repoint its slot.
            let moved = self.slot_pointing_at(last);
            self.slots[moved] = slot_of(slot_hash(self.slots[moved]), e);
        }
        Some(self.entries.swap_remove(e).1)
    }

    /// Entries in no particular order.
    fn entries<'a>(&'a self) -> impl Iterator<Item = (&'a K, &'a V)>
    where
        K: 'a,
        V: 'a,
    {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Starts loading `k`'s index line or the entry it points at, without waiting.
    fn prefetch(&self, stage: Stage, k: &K) {
        match stage {
            Stage::Index => {
                if let Some(p) = self.slot_line(k) {
                    cairn_prefetch::read(p);
                }
            }
            Stage::Entries => {
                if let Some(p) = self.entry_line(k) {
                    // Every line the entry spans: it need not start on a line boundary.
                    let p = p.cast::<u8>();
                    let size = std::mem::size_of::<(K, V)>();
                    for offset in (0..size).step_by(64).chain(std::iter::once(size.saturating_sub(1))) {
                        cairn_prefetch::read(p.wrapping_add(offset));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// Checks the index against the entries: one slot per entry, each key reachable from its
    /// home with no empty slot on the way, and the index at most 3/4 full.
    fn assert_consistent<K: Hash + Eq + std::fmt::Debug, V>(m: &DenseMap<K, V>) {
        let mask = m.mask();
        let mut pointed = vec![0u32; m.entries.len()];
        for (j, &s) in m.slots.iter().enumerate().filter(|(_, s)| **s != EMPTY) {
            let e = slot_entry(s);
            assert!(e < m.entries.len(), "slot {j} points past the entries");
            pointed[e] += 1;
            assert_eq!(slot_hash(s), hash32(&m.entries[e].0), "slot {j} carries another key's hash");
            let mut i = slot_hash(s) as usize & mask;
            while i != j {
                assert_ne!(m.slots[i], EMPTY, "an empty slot between {:?}'s home and slot {j}", m.entries[e].0);
                i = next(i, mask);
            }
        }
        assert!(pointed.iter().all(|n| *n == 1), "every entry has exactly one slot: {pointed:?}");
        assert!(m.entries.len() * 4 <= m.slots.len() * 3, "{} entries in {} slots", m.entries.len(), m.slots.len());
    }

    #[test]
    fn writes_read_back_and_removals_keep_the_rest() {
        let mut m: DenseMap<u32, u32> = DenseMap::default();
        assert_eq!((m.get(&1), m.len()), (None, 0));
        assert_eq!(m.remove(&1), None);
        for k in 0..100 {
            assert_eq!(m.insert(k, k * 10), None);
        }
        assert_eq!(m.insert(7, 71), Some(70));
        // Removing an early entry moves the last one into its place.
        assert_eq!(m.remove(&3), Some(30));
        assert_eq!(m.remove(&3), None);
        assert_eq!(m.len(), 99);
        for k in (0..100).filter(|k| *k != 3) {
            assert_eq!(m.get(&k), Some(&if k == 7 { 71 } else { k * 10 }), "key {k}");
        }
        assert!(m.get(&3).is_none());
        assert_consistent(&m);
        let keys: Vec<u32> = m.entries().map(|(k, _)| *k).collect();
        for k in keys {
            assert!(m.remove(&k).is_some());
            assert_consistent(&m);
        }
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn prefetch_addresses_are_the_lookups_own() {
        let empty: DenseMap<u64, u64> = DenseMap::default();
        assert_eq!((empty.slot_line(&1), empty.entry_line(&1)), (None, None));
        let mut m: DenseMap<u64, u64> = DenseMap::default();
        for k in 0..1000 {
            m.insert(k, k);
        }
        let mask = m.mask();
        for k in 0..1000u64 {
            let home = hash32(&k) as usize & mask;
            assert_eq!(m.slot_line(&k), Some(std::ptr::from_ref(&m.slots[home]).cast()));
            let (_, e) = m.find(&k).expect("present");
            // The first slot with the key's hash is the key's own unless two hashes collide.
            let first_match = (0..m.slots.len())
                .map(|d| m.slots[(home + d) & mask])
                .find(|s| slot_hash(*s) == hash32(&k))
                .map(slot_entry);
            if first_match == Some(e) {
                assert_eq!(m.entry_line(&k), Some(std::ptr::from_ref(&m.entries[e])), "key {k}");
            }
        }
        assert_eq!(m.entry_line(&5000), None);
    }

    #[test]
    fn random_addresses_sit_near_their_home() {
        let mut m: DenseMap<[u8; 20], ()> = DenseMap::default();
        let mut x = 42u64;
        for _ in 0..50_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mut k = [0u8; 20];
            k[..8].copy_from_slice(&x.to_le_bytes());
            k[12..].copy_from_slice(&x.rotate_left(29).to_le_bytes());
            m.insert(k, ());
        }
        let mask = m.mask();
        let displaced: usize = m
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != EMPTY)
            .map(|(j, s)| j.wrapping_sub(slot_hash(*s) as usize) & mask)
            .sum();
        // Linear probing with a uniform hash at this load (50,000 in 65,536) averages ~1.7; a
        // hash whose low bits cluster goes far beyond.
        let mean = displaced as f64 / m.len() as f64;
        assert!(mean < 2.5, "mean displacement {mean}");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => any::<u8>().prop_map(Op::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_as_an_ordered_map(ops in proptest::collection::vec(op(), 1..400)) {
            let mut m: DenseMap<u8, u16> = DenseMap::default();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(m.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(m.remove(&k), model.remove(&k)),
                }
                prop_assert_eq!(m.len(), model.len());
                for k in 0..=u8::MAX {
                    prop_assert_eq!(m.get(&k), model.get(&k));
                }
                let mut listed: Vec<_> = m.entries().map(|(k, v)| (*k, *v)).collect();
                listed.sort_unstable();
                prop_assert_eq!(listed, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
                assert_consistent(&m);
            }
        }
    }
}
