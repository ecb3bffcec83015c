//! EigenLayer's rewards merkle format (reference section 6.4): salted 53-byte leaves and
//! index-ordered keccak proofs. The state machine verifies claims with these functions; the
//! rewards crate builds trees whose roots and proofs they accept.

use alloy_primitives::{Address, B256, U256, keccak256};

/// Salt of an earner leaf (`EARNER_LEAF_SALT`).
pub const EARNER_LEAF_SALT: u8 = 0;
/// Salt of a token leaf (`TOKEN_LEAF_SALT`).
pub const TOKEN_LEAF_SALT: u8 = 1;

/// `keccak256(0x01 ‖ token ‖ cumulativeEarnings)`: 1 + 20 + 32 bytes, packed.
pub fn token_leaf(token: Address, cumulative_earnings: U256) -> B256 {
    keccak256(token_leaf_preimage(token, cumulative_earnings))
}

/// The bytes a token leaf hashes: `0x01 ‖ token ‖ cumulativeEarnings`.
pub fn token_leaf_preimage(token: Address, cumulative_earnings: U256) -> [u8; 53] {
    leaf_preimage(TOKEN_LEAF_SALT, token, cumulative_earnings.to_be_bytes::<32>())
}

/// `keccak256(0x00 ‖ earner ‖ earnerTokenRoot)`: 1 + 20 + 32 bytes, packed.
pub fn earner_leaf(earner: Address, earner_token_root: B256) -> B256 {
    keccak256(earner_leaf_preimage(earner, earner_token_root))
}

/// The bytes an earner leaf hashes: `0x00 ‖ earner ‖ earnerTokenRoot`.
pub fn earner_leaf_preimage(earner: Address, earner_token_root: B256) -> [u8; 53] {
    leaf_preimage(EARNER_LEAF_SALT, earner, earner_token_root.0)
}

fn leaf_preimage(salt: u8, address: Address, word: [u8; 32]) -> [u8; 53] {
    let mut b = [0u8; 53];
    b[0] = salt;
    b[1..21].copy_from_slice(address.as_slice());
    b[21..].copy_from_slice(&word);
    b
}

/// `keccak256(a ‖ b)`.
pub fn hash_pair(a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a.as_slice());
    buf[32..].copy_from_slice(b.as_slice());
    keccak256(buf)
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof is not a whole number of 32-byte siblings.
    #[error("proof length {len} is not a multiple of 32")]
    InvalidProofLength {
        /// Its length in bytes.
        len: usize,
    },
    /// The index has bits above the proof's height (an alternative index for the same path).
    #[error("leaf index {index} is not below 2^{height}")]
    InvalidIndex {
        /// The index.
        index: u64,
        /// Siblings in the proof.
        height: usize,
    },
    /// The computed root differs.
    #[error("proof does not lead to the root")]
    RootMismatch,
}

/// Computes the root a proof leads to: for each sibling, `keccak(h ‖ sib)` when the index is
/// even, else `keccak(sib ‖ h)`, halving the index; the index must be below `2^siblings`
/// (EigenLayer's `InvalidEarnerLeafIndex`/`InvalidTokenLeafIndex` bound).
pub fn process_proof(leaf: B256, index: u64, proof: &[u8]) -> Result<B256, ProofError> {
    if !proof.len().is_multiple_of(32) {
        return Err(ProofError::InvalidProofLength { len: proof.len() });
    }
    let height = proof.len() / 32;
    if height < 64 && index >> height != 0 {
        return Err(ProofError::InvalidIndex { index, height });
    }
    let mut h = leaf;
    let mut i = index;
    for sib in proof.chunks_exact(32) {
        let sib = B256::from_slice(sib);
        h = if i.is_multiple_of(2) { hash_pair(&h, &sib) } else { hash_pair(&sib, &h) };
        i /= 2;
    }
    Ok(h)
}

/// Checks that `leaf` sits at `index` under `root`.
pub fn verify_proof(root: B256, leaf: B256, index: u64, proof: &[u8]) -> Result<(), ProofError> {
    if process_proof(leaf, index, proof)? == root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_53_packed_bytes_with_their_salt() {
        let token = Address::repeat_byte(0xaa);
        let mut b = vec![1u8];
        b.extend_from_slice(token.as_slice());
        b.extend_from_slice(&U256::from(5u8).to_be_bytes::<32>());
        assert_eq!(b.len(), 53);
        assert_eq!(token_leaf(token, U256::from(5u8)), keccak256(&b));
        let mut e = vec![0u8];
        e.extend_from_slice(token.as_slice());
        e.extend_from_slice(B256::repeat_byte(7).as_slice());
        assert_eq!(earner_leaf(token, B256::repeat_byte(7)), keccak256(&e));
    }

    #[test]
    fn proofs_follow_the_index_bits_and_bound_the_index() {
        let l: Vec<B256> = (0..4u8).map(|i| keccak256([i])).collect();
        let (n01, n23) = (hash_pair(&l[0], &l[1]), hash_pair(&l[2], &l[3]));
        let root = hash_pair(&n01, &n23);
        let proof2 = [l[3].as_slice(), n01.as_slice()].concat();
        assert_eq!(verify_proof(root, l[2], 2, &proof2), Ok(()));
        assert_eq!(verify_proof(root, l[2], 3, &proof2), Err(ProofError::RootMismatch));
        // Index 6 = 2 + 4 walks the same path but is refused by the height bound.
        assert_eq!(verify_proof(root, l[2], 6, &proof2), Err(ProofError::InvalidIndex { index: 6, height: 2 }));
        assert_eq!(verify_proof(root, l[2], 2, &proof2[..40]), Err(ProofError::InvalidProofLength { len: 40 }));
        // A one-leaf tree: the empty proof, the root is the leaf.
        assert_eq!(verify_proof(l[0], l[0], 0, &[]), Ok(()));
        assert_eq!(verify_proof(l[0], l[0], 1, &[]), Err(ProofError::InvalidIndex { index: 1, height: 0 }));
    }
}
