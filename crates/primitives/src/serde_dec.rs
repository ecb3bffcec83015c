//! Serde helpers that write U256 values as decimal strings (and read decimal, hex or `e` forms).

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Serializes a U256 as a decimal string.
pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Deserializes a U256 from a string (decimal, `0x` hex, `<int>e<exp>`) or an integer.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(u64),
    }
    match Raw::deserialize(d)? {
        Raw::Int(v) => Ok(U256::from(v)),
        Raw::Text(t) => crate::parse_amount(&t).ok_or_else(|| D::Error::custom(format!("not an amount: {t}"))),
    }
}

/// The same for `Vec<U256>`.
pub mod vec {
    use super::*;
    use serde::ser::SerializeSeq;

    /// Serializes each element as a decimal string.
    pub fn serialize<S: Serializer>(v: &[U256], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&x.to_string())?;
        }
        seq.end()
    }

    /// Deserializes a list of amounts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<U256>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super")] U256);
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

/// The same for `Option<U256>`.
pub mod opt {
    use super::*;

    /// Serializes as a decimal string or null.
    pub fn serialize<S: Serializer>(v: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.collect_str(x),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an optional amount.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super")] U256);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}
