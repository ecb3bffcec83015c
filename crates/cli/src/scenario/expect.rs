//! Expectations: what a transaction step expects (success or a named error) and how a query's
//! expected value is compared with its result.

use cairn_primitives::{Address, U256, named_address};

use super::resolve::parse_number;
use serde_json::Value;

/// The expected outcome of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxExpect {
    /// The transaction succeeds (the default).
    Ok,
    /// The transaction is refused with this error name (`TxError::name`).
    Error(String),
}

impl TxExpect {
    /// Reads `expect` of a transaction step: absent or `"ok"`, or `{ error = "Name" }`.
    pub(crate) fn parse(v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(TxExpect::Ok),
            Some(Value::String(s)) if s == "ok" => Ok(TxExpect::Ok),
            Some(Value::Object(map)) if map.len() == 1 => match map.get("error") {
                Some(Value::String(name)) => Ok(TxExpect::Error(name.clone())),
                _ => Err(format!("expected `expect = \"ok\"` or `expect = {{ error = \"Name\" }}`, got {v:?}")),
            },
            Some(other) => Err(format!("expected `expect = \"ok\"` or `expect = {{ error = \"Name\" }}`, got {other}")),
        }
    }

    /// The expectation as the report shows it.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            TxExpect::Ok => Value::String("ok".to_string()),
            TxExpect::Error(name) => serde_json::json!({ "error": name }),
        }
    }

    /// Whether an outcome (`"ok"` or an error name) meets the expectation.
    pub(crate) fn met_by(&self, outcome: &str) -> bool {
        match self {
            TxExpect::Ok => outcome == "ok",
            TxExpect::Error(name) => name == outcome,
        }
    }
}

/// An event name in a comparable form: `OperatorSlashed` and `operator_slashed` are equal.
pub(crate) fn event_key(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// Whether a query result matches the expected value.
///
/// Objects match when every listed field matches (other fields are ignored); arrays match
/// element by element; numbers and numeric strings compare as integers (`"32e18"` equals
/// `"32000000000000000000"` and `32000000000000000000`); an address matches a name that
/// resolves to it; the string `"none"` (or `null`) matches null.
pub(crate) fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(k, v)| have.get(k).is_some_and(|a| matches(v, a)))
        }
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(w, h)| matches(w, h))
        }
        (Value::Null, Value::Null) => true,
        (Value::String(s), Value::Null) => s == "none" || s == "null",
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (want, have) => scalar_matches(want, have),
    }
}

fn scalar_matches(want: &Value, have: &Value) -> bool {
    if let Some(addr) = have.as_str().and_then(as_address) {
        return want.as_str().is_some_and(|w| w.starts_with("0x") && as_address(w) == Some(addr))
            || want.as_str().is_some_and(|w| !w.starts_with("0x") && named_address(w) == addr);
    }
    match (integer(want), integer(have)) {
        (Some(a), Some(b)) => a == b,
        _ => want == have,
    }
}

fn as_address(s: &str) -> Option<Address> {
    let hex = s.strip_prefix("0x")?;
    if hex.len() == 40 { s.parse().ok() } else { None }
}

/// A number or numeric string as (negative, magnitude).
fn integer(v: &Value) -> Option<(bool, U256)> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Some((false, U256::from(u)))
            } else {
                n.as_i64().map(|i| (i < 0, U256::from(i.unsigned_abs())))
            }
        }
        Value::String(s) => match s.strip_prefix('-') {
            Some(rest) => parse_number(rest).map(|u| (!u.is_zero(), u)),
            None => parse_number(s).map(|u| (false, u)),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_across_forms() {
        assert!(matches(&json!("32e18"), &json!("32000000000000000000")));
        assert!(matches(&json!("5e17"), &json!(500_000_000_000_000_000u64)));
        assert!(matches(&json!(-5), &json!(-5)));
        assert!(matches(&json!("-5e17"), &json!(-500_000_000_000_000_000i64)));
        assert!(!matches(&json!("-5"), &json!(5)));
        assert!(!matches(&json!("1e18"), &json!("1000000000000000001")));
        assert!(matches(&json!("0x10"), &json!(16)));
        assert!(matches(&json!("11.2e18"), &json!("11200000000000000000")));
    }

    #[test]
    fn objects_check_listed_fields_only() {
        let actual = json!({"magnitude": 5, "pending": 0, "effect_block": 9});
        assert!(matches(&json!({"magnitude": "5"}), &actual));
        assert!(!matches(&json!({"magnitude": 6}), &actual));
        assert!(!matches(&json!({"missing": 1}), &actual));
        assert!(matches(&json!([1, "2"]), &json!([1, 2])));
        assert!(!matches(&json!([1]), &json!([1, 2])));
    }

    #[test]
    fn addresses_names_and_null() {
        let a = named_address("op1").to_string();
        assert!(matches(&json!("op1"), &json!(a)));
        assert!(matches(&json!(a.to_lowercase()), &json!(a)));
        assert!(!matches(&json!("op2"), &json!(a)));
        assert!(matches(&json!("none"), &Value::Null));
        assert!(!matches(&json!("none"), &json!("x")));
        assert!(matches(&json!(true), &json!(true)));
        assert!(!matches(&json!("true"), &json!(true)));
    }

    #[test]
    fn tx_expectations() {
        assert_eq!(TxExpect::parse(None), Ok(TxExpect::Ok));
        assert_eq!(TxExpect::parse(Some(&json!("ok"))), Ok(TxExpect::Ok));
        assert_eq!(TxExpect::parse(Some(&json!({"error": "Paused"}))), Ok(TxExpect::Error("Paused".into())));
        assert!(TxExpect::parse(Some(&json!("Paused"))).is_err());
        assert!(TxExpect::parse(Some(&json!({"error": "A", "x": 1}))).is_err());
        assert_eq!(event_key("OperatorSlashed"), event_key("operator_slashed"));
    }
}
