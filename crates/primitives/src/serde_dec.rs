//! Serde helpers that write U256 values as decimal strings (and read decimal, hex or `e` forms).

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Serializes a U256 as a decimal string.
pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// What an amount must be, as error messages say it (after the field's name).
pub const AMOUNT_FORMS: &str = "must be a non-negative integer, e.g. 1000 or 1e18";

/// Deserializes a U256 from a string (decimal, `0x` hex, `<int>e<exp>`, as `parse_amount` reads
/// them: no whitespace, sign or empty string) or a non-negative JSON integer. Anything else is
/// refused with [`AMOUNT_FORMS`] and the value given.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
    // Binary formats (postcard, the node's store) cannot ask "what comes next": the value is the
    // decimal string `serialize` wrote.
    if !d.is_human_readable() {
        let t = String::deserialize(d)?;
        return crate::parse_amount(&t).ok_or_else(|| not_an_amount(&format!("{t:?}")));
    }
    d.deserialize_any(AmountVisitor)
}

/// Reads an amount from whatever a self-describing format holds.
struct AmountVisitor;

impl<'de> serde::de::Visitor<'de> for AmountVisitor {
    type Value = U256;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an amount: a non-negative integer, e.g. 1000 or 1e18")
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<U256, E> {
        Ok(U256::from(v))
    }

    fn visit_u128<E: Error>(self, v: u128) -> Result<U256, E> {
        Ok(U256::from(v))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<U256, E> {
        u64::try_from(v).map(U256::from).map_err(|_| not_an_amount(&v.to_string()))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<U256, E> {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
            // An integer beyond 2^64 that the JSON reader could only hold as a float.
            Err(E::custom(format!(
                "{AMOUNT_FORMS}; a number this large ({v:e}) loses precision in JSON: write it as a string, e.g. \"1e20\""
            )))
        } else {
            Err(not_an_amount(&v.to_string()))
        }
    }

    fn visit_str<E: Error>(self, t: &str) -> Result<U256, E> {
        crate::parse_amount(t).ok_or_else(|| not_an_amount(&format!("{t:?}")))
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<U256, E> {
        Err(not_an_amount(&v.to_string()))
    }

    fn visit_unit<E: Error>(self) -> Result<U256, E> {
        Err(not_an_amount("null"))
    }
}

/// The refusal: the accepted forms and what was given (`"-5"` for a string, `-5` for a number).
fn not_an_amount<E: Error>(got: &str) -> E {
    E::custom(format!("{AMOUNT_FORMS} (got {got})"))
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
            Some(x) => s.serialize_some(&x.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, Deserialize)]
    struct Amounts {
        #[serde(with = "super")]
        one: U256,
        #[serde(with = "super::vec")]
        many: Vec<U256>,
        #[serde(with = "super::opt")]
        maybe: Option<U256>,
        #[serde(with = "super::opt")]
        none: Option<U256>,
    }

    #[test]
    fn amounts_round_trip_through_json_and_postcard() {
        let a = Amounts {
            one: U256::MAX,
            many: vec![U256::ZERO, U256::from(10).pow(U256::from(30))],
            maybe: Some(U256::from(7)),
            none: None,
        };
        let json = serde_json::to_string(&a).expect("json");
        assert!(json.contains("\"maybe\":\"7\""), "{json}");
        assert_eq!(serde_json::from_str::<Amounts>(&json).expect("from json"), a);
        let bytes = postcard::to_allocvec(&a).expect("postcard");
        assert_eq!(postcard::from_bytes::<Amounts>(&bytes).expect("from postcard"), a);
        // JSON also takes integers and exponents.
        let loose: Amounts =
            serde_json::from_str(r#"{"one": 5, "many": ["1e3"], "maybe": "0x10", "none": null}"#).expect("loose");
        assert_eq!((loose.one, loose.many[0], loose.maybe), (U256::from(5), U256::from(1000), Some(U256::from(16))));
    }

    #[test]
    fn json_refuses_empty_padded_and_signed_amounts_naming_them() {
        for bad in [r#""""#, r#"" 1""#, r#""1 ""#, r#""+1""#, r#""-1""#, "-1", "1.5", "null", "true", r#""0x""#] {
            let json = format!(r#"{{"one": {bad}, "many": [], "maybe": null, "none": null}}"#);
            let err = serde_json::from_str::<Amounts>(&json).expect_err(bad).to_string();
            assert!(!err.is_empty(), "{bad}");
            assert!(err.contains(AMOUNT_FORMS), "{bad}: {err}");
            assert!(err.contains(&format!("(got {bad})")), "{bad}: {err}");
        }
        // An exact integer too large for a JSON number is refused with the way to write it.
        let big = r#"{"one": 100000000000000000000, "many": [], "maybe": null, "none": null}"#;
        let err = serde_json::from_str::<Amounts>(big).expect_err("beyond u64").to_string();
        assert!(err.contains("write it as a string"), "{err}");
        let many = r#"{"one": "1", "many": ["1", ""], "maybe": null, "none": null}"#;
        assert!(serde_json::from_str::<Amounts>(many).is_err(), "an empty amount in a list");
    }
}
