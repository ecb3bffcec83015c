//! The two-level distribution tree (reference 6.4): per earner a tree of token leaves, and a
//! tree of earner leaves over them. Leaves are ordered by address (earners, then each earner's
//! tokens); a tree whose leaf count is not a power of two is padded with `bytes32(0)` leaves, as
//! EigenLayer's own tree builder does, so every proof has exactly `ceil(log2(n))` siblings.

use std::collections::BTreeMap;

use cairn_primitives::{
    Address, B256, Bytes, U256,
    merkle::{earner_leaf_preimage, token_leaf, token_leaf_preimage},
};
use cairn_state::rewards::{RewardsClaim, TokenLeaf};

/// Cumulative earnings: earner → token address → amount.
pub type Earnings = BTreeMap<Address, BTreeMap<Address, U256>>;

/// One earner's part of the tree.
#[derive(Debug, Clone)]
struct EarnerEntry {
    earner: Address,
    token_root: B256,
    tokens: Vec<(Address, U256)>,
}

/// A built tree: its root and what proofs need.
#[derive(Debug, Clone)]
pub struct RewardsTree {
    earners: Vec<EarnerEntry>,
    /// Earner-tree levels, leaves first; the last level is the root.
    levels: Vec<Vec<B256>>,
}

/// Below this many items a level or a list of earners is hashed on one thread.
const PARALLEL_MIN: usize = 1 << 14;

/// Maps `items` chunk by chunk to `f(chunk)` and concatenates the results in order, splitting
/// large inputs across the machine's cores into chunks whose length is a multiple of `unit`.
/// The result does not depend on the number of threads.
fn par_chunks<T: Sync, R: Send>(items: &[T], unit: usize, f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    // Asking the OS for the core count is slow: only for inputs worth splitting, and once.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    if items.len() < PARALLEL_MIN {
        return f(items);
    }
    let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    if threads < 2 {
        return f(items);
    }
    let chunk = items.len().div_ceil(threads).next_multiple_of(unit.max(1));
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| scope.spawn(move || f(c))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// keccak256 of each message, batched across SIMD lanes.
fn hash_each<M: AsRef<[u8]>>(msgs: &[M]) -> Vec<B256> {
    let mut out = Vec::with_capacity(msgs.len());
    cairn_keccak::keccak256_each(msgs, &mut out);
    out
}

/// The levels of a tree over `leaves` padded with zero leaves to a power of two, leaves first.
fn levels(mut leaves: Vec<B256>) -> Vec<Vec<B256>> {
    if !leaves.is_empty() {
        leaves.resize(leaves.len().next_power_of_two(), B256::ZERO);
    }
    let mut out = vec![leaves];
    while out.last().is_some_and(|l| l.len() > 1) {
        let below = out.last().map(Vec::as_slice).unwrap_or_default();
        let next = par_chunks(below, 2, |c| {
            let mut up = Vec::with_capacity(c.len() / 2);
            cairn_keccak::hash_pairs(c, &mut up);
            up
        });
        out.push(next);
    }
    out
}

/// The siblings of leaf `index`, bottom up, as concatenated 32-byte words.
fn proof(levels: &[Vec<B256>], mut index: usize) -> Bytes {
    let mut out = Vec::with_capacity(levels.len().saturating_sub(1).saturating_mul(32));
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        let sib = level.get(index ^ 1).copied().unwrap_or(B256::ZERO);
        out.extend_from_slice(sib.as_slice());
        index /= 2;
    }
    Bytes::from(out)
}

fn token_levels(tokens: &[(Address, U256)]) -> Vec<Vec<B256>> {
    levels(tokens.iter().map(|(t, a)| token_leaf(*t, *a)).collect())
}

/// The token-tree root of each earner ([`B256::ZERO`] for none). A token tree is only a few
/// nodes, so each level is hashed as one batch across all the earners: the leaves of every
/// earner, then every earner's next level, until each has one node.
fn token_roots(tokens: &[Vec<(Address, U256)>]) -> Vec<B256> {
    let leaf_msgs: Vec<[u8; 53]> = tokens.iter().flatten().map(|(t, a)| token_leaf_preimage(*t, *a)).collect();
    let mut leaves = hash_each(&leaf_msgs).into_iter();
    // Each earner's current level, padded with zero leaves to a power of two, one after another.
    let mut widths: Vec<usize> = tokens.iter().map(|t| t.len().next_power_of_two()).collect();
    let mut nodes = Vec::with_capacity(widths.iter().sum());
    for (t, w) in tokens.iter().zip(&widths) {
        nodes.extend(leaves.by_ref().take(t.len()));
        nodes.extend(std::iter::repeat_n(B256::ZERO, w.saturating_sub(t.len())));
    }
    while widths.iter().any(|w| *w > 1) {
        // Every width above one is even, so the wide earners' nodes pair up among themselves.
        let mut wide = Vec::new();
        let mut it = nodes.iter();
        for w in &widths {
            let level = it.by_ref().take(*w);
            if *w > 1 {
                wide.extend(level);
            } else {
                level.for_each(drop);
            }
        }
        let mut up = Vec::with_capacity(wide.len() / 2);
        cairn_keccak::hash_pairs(&wide, &mut up);
        let (mut up, mut it) = (up.into_iter(), nodes.iter());
        let mut next = Vec::with_capacity(widths.len());
        for w in &mut widths {
            if *w > 1 {
                *w /= 2;
                next.extend(up.by_ref().take(*w));
                it.by_ref().take(w.saturating_mul(2)).for_each(drop);
            } else {
                next.extend(it.next().copied());
            }
        }
        nodes = next;
    }
    nodes
}

/// The entries of a run of earners, their token roots and earner leaves batched.
fn entries(input: &[(&Address, &BTreeMap<Address, U256>)]) -> Vec<EarnerEntry> {
    let tokens: Vec<Vec<(Address, U256)>> =
        input.iter().map(|(_, t)| t.iter().map(|(a, v)| (*a, *v)).collect()).collect();
    let roots = token_roots(&tokens);
    input
        .iter()
        .zip(tokens)
        .zip(roots)
        .map(|(((earner, _), tokens), token_root)| EarnerEntry { earner: **earner, token_root, tokens })
        .collect()
}

/// The root of an empty tree (no earners).
pub const EMPTY_ROOT: B256 = B256::ZERO;

impl RewardsTree {
    /// Builds the tree over every earner with at least one token (empty earners are skipped).
    pub fn build(earnings: &Earnings) -> Self {
        let input: Vec<(&Address, &BTreeMap<Address, U256>)> = earnings.iter().filter(|(_, t)| !t.is_empty()).collect();
        let earners: Vec<EarnerEntry> = par_chunks(&input, 1, entries);
        let leaves = par_chunks(&earners, 1, |run| {
            hash_each(&run.iter().map(|e| earner_leaf_preimage(e.earner, e.token_root)).collect::<Vec<_>>())
        });
        Self { levels: levels(leaves), earners }
    }

    /// The root ([`EMPTY_ROOT`] for no earners).
    pub fn root(&self) -> B256 {
        match self.levels.last() {
            Some(l) if !l.is_empty() => l[0],
            _ => EMPTY_ROOT,
        }
    }

    /// Number of earners.
    pub fn len(&self) -> usize {
        self.earners.len()
    }

    /// Whether no earner is in the tree.
    pub fn is_empty(&self) -> bool {
        self.earners.is_empty()
    }

    /// A claim of `earner`'s tokens (all, or those listed) against root number `root_index`.
    pub fn claim(&self, root_index: u32, earner: Address, only: Option<&[Address]>) -> Option<RewardsClaim> {
        let i = self.earners.binary_search_by_key(&earner, |e| e.earner).ok()?;
        let e = &self.earners[i];
        let tl = token_levels(&e.tokens);
        let mut claim = RewardsClaim {
            root_index,
            earner_index: u32::try_from(i).ok()?,
            earner_tree_proof: proof(&self.levels, i),
            earner,
            earner_token_root: e.token_root,
            token_indices: Vec::new(),
            token_tree_proofs: Vec::new(),
            token_leaves: Vec::new(),
        };
        for (j, (token, amount)) in e.tokens.iter().enumerate() {
            if only.is_some_and(|o| !o.contains(token)) {
                continue;
            }
            claim.token_indices.push(u32::try_from(j).ok()?);
            claim.token_tree_proofs.push(proof(&tl, j));
            claim.token_leaves.push(TokenLeaf { token: *token, cumulative_earnings: *amount });
        }
        Some(claim)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
    use cairn_primitives::{
        keccak256,
        merkle::{earner_leaf, hash_pair, verify_proof},
    };
    use proptest::prelude::*;

    use super::*;

    /// A second, independent root: zero-pad to a power of two, then hash the halves recursively.
    fn reference_root(leaves: &[B256]) -> B256 {
        fn rec(v: &[B256]) -> B256 {
            if v.len() == 1 {
                return v[0];
            }
            let (l, r) = v.split_at(v.len() / 2);
            let mut buf = [0u8; 64];
            buf[..32].copy_from_slice(rec(l).as_slice());
            buf[32..].copy_from_slice(rec(r).as_slice());
            keccak256(buf)
        }
        if leaves.is_empty() {
            return B256::ZERO;
        }
        let mut v = leaves.to_vec();
        v.resize(leaves.len().next_power_of_two(), B256::ZERO);
        rec(&v)
    }

    fn earnings(spec: &[(u8, Vec<(u8, u64)>)]) -> Earnings {
        let mut e = Earnings::new();
        for (earner, tokens) in spec {
            let m = e.entry(Address::repeat_byte(*earner)).or_default();
            for (t, a) in tokens {
                m.insert(Address::repeat_byte(*t), U256::from(*a));
            }
        }
        e
    }

    #[test]
    fn single_earner_single_token_root_is_the_earner_leaf() {
        let e = earnings(&[(1, vec![(9, 5)])]);
        let t = RewardsTree::build(&e);
        let token_root = token_leaf(Address::repeat_byte(9), U256::from(5u8));
        assert_eq!(t.root(), earner_leaf(Address::repeat_byte(1), token_root));
        let c = t.claim(0, Address::repeat_byte(1), None).unwrap();
        assert!(c.earner_tree_proof.is_empty() && c.token_tree_proofs[0].is_empty());
        assert_eq!(RewardsTree::build(&Earnings::new()).root(), EMPTY_ROOT);
    }

    #[test]
    fn five_leaves_are_padded_to_eight_with_zero_leaves() {
        let e = earnings(&(1..=5).map(|i| (i, vec![(9, u64::from(i))])).collect::<Vec<_>>());
        let t = RewardsTree::build(&e);
        let leaf = |b: u8| earner_leaf(Address::repeat_byte(b), token_leaf(Address::repeat_byte(9), U256::from(b)));
        let z = B256::ZERO;
        let left = hash_pair(&hash_pair(&leaf(1), &leaf(2)), &hash_pair(&leaf(3), &leaf(4)));
        let right = hash_pair(&hash_pair(&leaf(5), &z), &hash_pair(&z, &z));
        assert_eq!(t.root(), hash_pair(&left, &right));
        assert_eq!(t.claim(0, Address::repeat_byte(5), None).unwrap().earner_tree_proof.len(), 3 * 32);
    }

    /// Large enough to be split across threads (and across SIMD lanes at every level): the
    /// same root as the one-at-a-time reference.
    #[test]
    fn a_tree_split_across_threads_matches_the_reference() {
        let n = PARALLEL_MIN + 1_001;
        let e: Earnings = (0..n)
            .map(|i| {
                let earner = Address::left_padding_from(&(i as u64).to_be_bytes());
                let tokens =
                    (0..1 + i % 3).map(|t| (Address::repeat_byte(t as u8 + 1), U256::from(i * 7 + t))).collect();
                (earner, tokens)
            })
            .collect();
        assert_eq!(RewardsTree::build(&e).root(), reference_tree_root(&e));
    }

    /// The root of `e` from the one-at-a-time reference: each earner's token tree, then theirs.
    fn reference_tree_root(e: &Earnings) -> B256 {
        let leaves: Vec<B256> = e
            .iter()
            .map(|(earner, tokens)| {
                let tl: Vec<B256> = tokens.iter().map(|(tk, a)| token_leaf(*tk, *a)).collect();
                earner_leaf(*earner, reference_root(&tl))
            })
            .collect();
        reference_root(&leaves)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The production tree agrees with an independent construction, and every proof (of
        /// every earner, every token) verifies with the state machine's verifier.
        #[test]
        fn root_matches_a_second_implementation_and_proofs_verify(
            spec in prop::collection::btree_map(1u8..60, prop::collection::btree_map(1u8..8, 1u64..u64::MAX, 1..5), 1..40)
        ) {
            let spec: Vec<(u8, Vec<(u8, u64)>)> = spec.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
            let e = earnings(&spec);
            let t = RewardsTree::build(&e);
            prop_assert_eq!(t.root(), reference_tree_root(&e));
            for (earner, tokens) in &e {
                let c = t.claim(3, *earner, None).unwrap();
                let leaf = earner_leaf(c.earner, c.earner_token_root);
                prop_assert!(verify_proof(t.root(), leaf, u64::from(c.earner_index), &c.earner_tree_proof).is_ok());
                prop_assert_eq!(c.token_leaves.len(), tokens.len());
                for ((i, p), tl) in c.token_indices.iter().zip(&c.token_tree_proofs).zip(&c.token_leaves) {
                    let leaf = token_leaf(tl.token, tl.cumulative_earnings);
                    prop_assert!(verify_proof(c.earner_token_root, leaf, u64::from(*i), p).is_ok());
                }
            }
        }
    }
}
