//! Blocks, headers and receipts.

use alloy_primitives::{Address, B256};
use cairn_primitives::canonical::{self, EncodeError};
use serde::{Deserialize, Serialize};

use crate::envelope::SignedTx;

/// A block header. Its hash (keccak256 of its postcard bytes) is the next block's parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Header {
    /// Height; genesis is 0.
    pub height: u64,
    /// Unix seconds, never decreasing.
    pub time: u64,
    /// Hash of the previous header (zero at genesis).
    #[schema(value_type = String)]
    pub parent_hash: B256,
    /// Merkle root of the transaction hashes.
    #[schema(value_type = String)]
    pub tx_root: B256,
    /// Merkle root of the receipts' leaves ([`Receipt::leaf`]).
    #[schema(value_type = String)]
    pub receipt_root: B256,
    /// State commitment after this block: the changed rows' eight-way tree hash after the previous one (`app::state_commitment`).
    #[schema(value_type = String)]
    pub state_hash: B256,
    /// Number of transactions.
    pub tx_count: u32,
}

impl Header {
    /// The header's hash: keccak256 of its canonical bytes.
    pub fn hash(&self) -> Result<B256, EncodeError> {
        canonical::hash("header", self)
    }
}

/// A committed block: header and the signed transactions, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// Transactions as submitted.
    pub txs: Vec<SignedTx>,
}

/// A refused transaction's error: the state machine's error name and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptError {
    /// Error name, e.g. `InsufficientBalance`.
    pub name: String,
    /// Message with the values.
    pub message: String,
}

/// What a committed transaction did. A refused transaction is committed too (its nonce is used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Transaction hash.
    #[schema(value_type = String)]
    pub tx_hash: B256,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Signer.
    #[schema(value_type = String)]
    pub sender: Address,
    /// Nonce used.
    pub nonce: u64,
    /// Action.
    pub action: String,
    /// Whether the state machine accepted it.
    pub ok: bool,
    /// Events, in order (empty when refused).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// The refusal, if any.
    pub error: Option<ReceiptError>,
}

impl Receipt {
    /// The receipt's leaf in its block's `receipt_root`: keccak256 of its canonical bytes (the
    /// fields in order; each event as its JSON object, keys sorted, in the canonical encoding), so
    /// anyone holding the receipt the API serves recomputes it.
    pub fn leaf(&self) -> Result<B256, EncodeError> {
        canonical::hash("receipt", self)
    }
}

/// Every receipt's [`Receipt::leaf`], in order. A block's receipts of one kind usually encode to
/// the same number of keccak blocks, so they hash eight at a time on SIMD lanes.
pub fn receipt_leaves(receipts: &[Receipt]) -> Result<Vec<B256>, EncodeError> {
    let bytes: Vec<Vec<u8>> = receipts.iter().map(|r| canonical::encode("receipt", r)).collect::<Result<_, _>>()?;
    let mut leaves = Vec::with_capacity(bytes.len());
    cairn_keccak::keccak256_each(&bytes, &mut leaves);
    Ok(leaves)
}

/// Positional binary merkle root over keccak256 (an odd node is paired with itself; empty: zero).
pub fn merkle_root(mut level: Vec<B256>) -> B256 {
    // A level's pairs are independent: they hash eight at a time on SIMD lanes.
    let mut next = Vec::with_capacity(level.len().div_ceil(2));
    while level.len() > 1 {
        if let (true, Some(&last)) = (level.len() % 2 == 1, level.last()) {
            level.push(last); // an odd last node pairs with itself
        }
        next.clear();
        cairn_keccak::hash_pairs(&level, &mut next);
        std::mem::swap(&mut level, &mut next);
    }
    level.first().copied().unwrap_or(B256::ZERO)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use alloy_primitives::{hex, keccak256};

    use super::*;

    fn header() -> Header {
        Header {
            height: 300,
            time: 1_800_000_000,
            parent_hash: B256::repeat_byte(1),
            tx_root: B256::repeat_byte(2),
            receipt_root: B256::repeat_byte(3),
            state_hash: B256::repeat_byte(4),
            tx_count: 2,
        }
    }

    /// The header's bytes written out by hand: varint height and time, four length-prefixed
    /// 32-byte hashes, varint count. A dependency that changes one byte fails here.
    #[test]
    fn the_header_encoding_is_pinned() {
        let mut want = hex::decode("ac02").unwrap(); // 300
        want.extend(hex::decode("80a4a7da06").unwrap()); // 1,800,000,000
        for b in 1..=4u8 {
            want.push(32);
            want.extend([b; 32]);
        }
        want.push(2);
        assert_eq!(canonical::encode("header", &header()).unwrap(), want);
        assert_eq!(header().hash().unwrap(), keccak256(&want));
        assert_eq!(
            header().hash().unwrap().to_string(),
            "0x7427a9d2dc6460467e744226317a93a5cff4d63162bbb12aa44146e9188b99b8",
            "the pinned header hash"
        );
    }

    /// A receipt's leaf: its fields in order, each event as a JSON object whose keys are sorted.
    #[test]
    fn the_receipt_leaf_is_pinned_and_recomputed_from_the_json_the_api_serves() {
        let json = r#"{"tx_hash":"0x0505050505050505050505050505050505050505050505050505050505050505","height":7,"index":1,
            "sender":"0x0606060606060606060606060606060606060606","nonce":3,"action":"deposit","ok":true,
            "events":[{"strategy":1,"staker":"0x0606060606060606060606060606060606060606","event":"deposit","amount":"5"}],
            "error":null}"#;
        let r: Receipt = serde_json::from_str(json).unwrap();
        let bytes = canonical::encode("receipt", &r).unwrap();
        let want = concat!(
            "20",
            "0505050505050505050505050505050505050505050505050505050505050505", // tx hash
            "07",
            "01", // height, index
            "14",
            "0606060606060606060606060606060606060606",
            "03", // sender, nonce
            "07",
            "6465706f736974",
            "01", // "deposit", ok
            "01",
            "04", // one event of four fields, keys sorted:
            "06",
            "616d6f756e74",
            "01",
            "35", // amount "5"
            "05",
            "6576656e74",
            "07",
            "6465706f736974", // event "deposit"
            "06",
            "7374616b6572",
            "2a",
            "307830363036303630363036303630363036303630363036303630363036303630363036303630363036", // staker
            "08",
            "7374726174656779",
            "01", // strategy 1
            "00"  // no error
        );
        assert_eq!(hex::encode(&bytes), want, "the pinned receipt bytes");
        // Key order in the JSON does not matter: the event map is sorted.
        let reordered = json.replace(
            r#"{"strategy":1,"staker":"0x0606060606060606060606060606060606060606","event":"deposit","amount":"5"}"#,
            r#"{"amount":"5","event":"deposit","staker":"0x0606060606060606060606060606060606060606","strategy":1}"#,
        );
        let again: Receipt = serde_json::from_str(&reordered).unwrap();
        assert_eq!(again.leaf().unwrap(), r.leaf().unwrap());
    }

    /// The leaves hashed together on lanes are each receipt's own leaf, whatever the mix of
    /// lengths (groups of eight alike, groups that mix keccak block counts, a remainder).
    #[test]
    fn receipt_leaves_are_each_receipts_leaf() {
        let receipt = |i: usize| Receipt {
            tx_hash: B256::repeat_byte(i as u8),
            height: 9,
            index: i as u32,
            sender: Address::repeat_byte(7),
            nonce: i as u64,
            action: "transfer".into(),
            ok: i < 16 || !i.is_multiple_of(5),
            // The first sixteen alike (two groups on the lanes), then ~400 to ~1,460 bytes: two
            // to ten keccak blocks, groups that mix them.
            events: (0..if i < 16 { 2 } else { i / 4 })
                .map(|k| serde_json::json!({ "event": "transfer", "k": k, "pad": "x".repeat(60) }))
                .collect(),
            error: (i >= 16 && i.is_multiple_of(5))
                .then(|| ReceiptError { name: "Refused".into(), message: "no".repeat(i) }),
        };
        for n in [0, 1, 7, 8, 9, 16, 23, 61] {
            let receipts: Vec<Receipt> = (0..n).map(receipt).collect();
            let one_by_one: Vec<B256> = receipts.iter().map(|r| r.leaf().unwrap()).collect();
            assert_eq!(receipt_leaves(&receipts).unwrap(), one_by_one, "{n} receipts");
        }
    }

    /// The root from its definition, one pair at a time, for every size up to 40 leaves.
    #[test]
    fn merkle_root_pairs_left_right_and_an_odd_node_with_itself() {
        fn reference(mut level: Vec<B256>) -> B256 {
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|p| keccak256([p[0].as_slice(), p.get(1).unwrap_or(&p[0]).as_slice()].concat()))
                    .collect();
            }
            level.first().copied().unwrap_or(B256::ZERO)
        }
        for n in 0..=40u8 {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256([i, n])).collect();
            assert_eq!(merkle_root(leaves.clone()), reference(leaves), "{n} leaves");
        }
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        assert_eq!(merkle_root(vec![a, b]), keccak256([a.as_slice(), b.as_slice()].concat()));
        assert_eq!(merkle_root(vec![a]), a);
        assert_eq!(merkle_root(Vec::new()), B256::ZERO);
    }
}
