//! The one encoding consensus hashes are taken over: postcard (integers as varints, sequences and
//! strings length-prefixed, struct fields in declaration order, enums by variant index), with
//! encoding failures returned, never hashed as empty bytes. The encodings are pinned by test
//! vectors (here and where each hashed type lives), so a dependency upgrade that changes a byte
//! fails a test.

use alloy_primitives::{B256, keccak256};
use serde::Serialize;

/// A value that cannot be encoded (a serializer error, e.g. a sequence of unknown length).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("cannot encode {what} canonically: {reason}")]
pub struct EncodeError {
    /// What was being encoded.
    pub what: &'static str,
    /// The encoder's message.
    pub reason: String,
}

/// The canonical bytes of `value` (`what` names it in an error).
pub fn encode<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Vec<u8>, EncodeError> {
    postcard::to_allocvec(value).map_err(|e| EncodeError { what, reason: e.to_string() })
}

/// keccak256 of the canonical bytes of `value`.
pub fn hash<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<B256, EncodeError> {
    encode(what, value).map(keccak256)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use alloy_primitives::{Address, U256, hex};

    use super::*;

    #[derive(Serialize)]
    struct Sample {
        n: u64,
        small: u32,
        flag: bool,
        who: Address,
        name: &'static str,
        list: Vec<u16>,
        maybe: Option<u8>,
        #[serde(with = "crate::serde_dec")]
        amount: U256,
    }

    #[test]
    fn the_encoding_is_pinned() {
        let s = Sample {
            n: 300,
            small: 7,
            flag: true,
            who: Address::repeat_byte(0xab),
            name: "cairn",
            list: vec![1, 128],
            maybe: None,
            amount: U256::from(10u64).pow(U256::from(18u64)),
        };
        let bytes = encode("sample", &s).unwrap();
        // 300 = varint ac 02; 7; true; 20 address bytes (length-prefixed 0x14); "cairn"; [1, 128]
        // (128 = 80 01); None; the amount as its decimal string.
        let want = concat!(
            "ac02",
            "07",
            "01",
            "14",
            "abababababababababababababababababababab",
            "05",
            "636169726e",
            "02",
            "01",
            "8001",
            "00",
            "13",
            "31303030303030303030303030303030303030"
        );
        assert_eq!(hex::encode(&bytes), want);
        assert_eq!(hash("sample", &s).unwrap(), keccak256(hex::decode(want).unwrap()));
    }

    #[test]
    fn an_encoding_failure_is_an_error_naming_the_value() {
        struct Unsized;
        impl Serialize for Unsized {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // A sequence of unknown length: postcard cannot encode it.
                s.collect_seq((0..3u8).filter(|x| *x > 0))
            }
        }
        let e = hash("unsized thing", &Unsized).unwrap_err();
        assert_eq!(e.what, "unsized thing");
        assert!(!e.reason.is_empty());
    }
}
