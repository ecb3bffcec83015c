//! Expectations: what a transaction step expects (success or a named error), how a query's
//! expected value is compared with its result (fields, bounds), and how expected events are found
//! among a transaction's events.

use std::cmp::Ordering;

use cairn_primitives::{Address, U256, named_address};
use cairn_state::Event;
use strum::VariantNames;

use super::{EventExpect, resolve::parse_number};
use serde_json::{Map, Value};

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

/// Checks an `expect_events` entry before anything runs: the event name is known, and a table
/// names its event with `event = "Name"`.
pub(crate) fn check_event_spec(spec: &EventExpect) -> Result<(), String> {
    let name = match spec {
        EventExpect::Name(name) => name.as_str(),
        EventExpect::Fields(map) => map
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("an event table needs `event = \"Name\"`, got {}", Value::Object(map.clone())))?,
    };
    if Event::VARIANTS.iter().any(|v| event_key(v) == event_key(name)) {
        Ok(())
    } else {
        Err(format!("unknown event {name:?} in expect_events (the names are listed in docs/scenarios.md#events)"))
    }
}

/// Why no emitted event meets an expected one (`{ event = NAME, field = value... }`, names
/// resolved), or `None` when one does. A field the event does not have is named as unknown.
pub(crate) fn event_mismatch(want: &Map<String, Value>, emitted: &[Value]) -> Option<String> {
    let name = want.get("event").and_then(Value::as_str).unwrap_or_default();
    let is_it = |e: &&Map<String, Value>| {
        e.get("event").and_then(Value::as_str).is_some_and(|n| event_key(n) == event_key(name))
    };
    let same: Vec<&Map<String, Value>> = emitted.iter().filter_map(Value::as_object).filter(is_it).collect();
    let Some(first) = same.first() else {
        return Some(format!("{name} was not emitted"));
    };
    let fields: Map<String, Value> =
        want.iter().filter(|(k, _)| *k != "event").map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(unknown) = fields.keys().find(|k| !first.contains_key(*k)) {
        let known: Vec<&str> = first.keys().filter(|k| *k != "event").map(String::as_str).collect();
        return Some(format!("{name} has no field {unknown:?} (its fields: {})", known.join(", ")));
    }
    let fields = Value::Object(fields);
    let mut reasons = Vec::with_capacity(same.len());
    for event in &same {
        reasons.push(mismatch(&fields, &Value::Object((*event).clone()))?);
    }
    Some(match reasons.as_slice() {
        [one] => format!("{name}: {one}"),
        many => format!("none of the {} {name} events matches ({})", many.len(), many.join("; ")),
    })
}

/// Whether a query result matches the expected value (see [`mismatch`]).
#[cfg(test)]
fn matches(expected: &Value, actual: &Value) -> bool {
    mismatch(expected, actual).is_none()
}

/// Why a result does not match the expected value, or `None` when it does.
///
/// Objects match when every listed field matches (other fields are ignored); arrays match
/// element by element; numbers and numeric strings compare as integers (`"32e18"` equals
/// `"32000000000000000000"` and `32000000000000000000`); a table of bounds (`{ le = X }`,
/// `{ ge = X }`, `{ between = [X, Y] }`) matches an integer within them; an address matches a name
/// that resolves to it; the string `"none"` (or `null`) matches null. The reason names the path
/// of the first difference (`earners.bob.ORC: expected ≤ 5, got 6`).
pub(crate) fn mismatch(expected: &Value, actual: &Value) -> Option<String> {
    let at = |path: String, why: String| if path.is_empty() { why } else { format!("{path}: {why}") };
    match (expected, actual) {
        (Value::Object(want), _) if is_bound(want) => bound_mismatch(want, actual),
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(k, v)| match have.get(k) {
            None => Some(format!("{k}: no such field in the result")),
            Some(a) => mismatch(v, a).map(|why| at(k.clone(), why)),
        }),
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            want.iter().zip(have).enumerate().find_map(|(i, (w, h))| mismatch(w, h).map(|why| at(i.to_string(), why)))
        }
        (want, have) => (!scalar_matches(want, have)).then(|| format!("expected {want}, got {have}")),
    }
}

fn scalar_matches(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Null, Value::Null) => return true,
        (Value::String(s), Value::Null) => return s == "none" || s == "null",
        (Value::Bool(a), Value::Bool(b)) => return a == b,
        _ => {}
    }
    if let Some(addr) = have.as_str().and_then(as_address) {
        return want.as_str().is_some_and(|w| w.starts_with("0x") && as_address(w) == Some(addr))
            || want.as_str().is_some_and(|w| !w.starts_with("0x") && named_address(w) == addr);
    }
    match (integer(want), integer(have)) {
        (Some(a), Some(b)) => a == b,
        _ => want == have,
    }
}

/// The keys of a bound table.
const BOUND_KEYS: &[&str] = &["le", "ge", "between"];

/// Whether an expected table is a bound: non-empty, every key one of `le`, `ge`, `between`.
fn is_bound(want: &Map<String, Value>) -> bool {
    !want.is_empty() && want.keys().all(|k| BOUND_KEYS.contains(&k.as_str()))
}

/// Why `actual` is outside the bounds (or why the bounds cannot be read).
fn bound_mismatch(want: &Map<String, Value>, actual: &Value) -> Option<String> {
    let Some(have) = integer(actual) else {
        return Some(format!("expected a number within {}, got {actual}", Value::Object(want.clone())));
    };
    want.iter().find_map(|(key, bound)| match bounds(key, bound) {
        Err(e) => Some(e),
        Ok((low, high)) => {
            let below = low.as_ref().is_some_and(|l| cmp(&have, l) == Ordering::Less);
            let above = high.as_ref().is_some_and(|h| cmp(&have, h) == Ordering::Greater);
            (below || above).then(|| format!("expected {}, got {}", describe(low, high), show(&have)))
        }
    })
}

/// The (low, high) limits of one bound entry, inclusive.
fn bounds(key: &str, bound: &Value) -> Result<(Option<Int>, Option<Int>), String> {
    let num = |v: &Value| integer(v).ok_or_else(|| format!("{key}: {v} is not a number"));
    match (key, bound) {
        ("le", v) => Ok((None, Some(num(v)?))),
        ("ge", v) => Ok((Some(num(v)?), None)),
        ("between", Value::Array(pair)) if pair.len() == 2 => Ok((Some(num(&pair[0])?), Some(num(&pair[1])?))),
        _ => Err(format!("{key}: expected `between = [low, high]`, got {bound}")),
    }
}

fn describe(low: Option<Int>, high: Option<Int>) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("between {} and {}", show(&l), show(&h)),
        (Some(l), None) => format!("≥ {}", show(&l)),
        (None, Some(h)) => format!("≤ {}", show(&h)),
        (None, None) => "anything".to_string(),
    }
}

/// A signed integer: (negative, magnitude).
type Int = (bool, U256);

fn cmp(a: &Int, b: &Int) -> Ordering {
    match (a.0, b.0) {
        (false, false) => a.1.cmp(&b.1),
        (true, true) => b.1.cmp(&a.1),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

fn show(n: &Int) -> String {
    if n.0 { format!("-{}", n.1) } else { n.1.to_string() }
}

fn as_address(s: &str) -> Option<Address> {
    let hex = s.strip_prefix("0x")?;
    if hex.len() == 40 { s.parse().ok() } else { None }
}

/// A number or numeric string as (negative, magnitude); `-0` is 0.
fn integer(v: &Value) -> Option<Int> {
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
    fn bounds_compare_as_signed_integers() {
        assert!(matches(&json!({"le": "5e18"}), &json!("5000000000000000000")));
        assert!(matches(&json!({"ge": "-3"}), &json!(-2)));
        assert!(matches(&json!({"between": ["1e18", "2e18"]}), &json!("1500000000000000000")));
        assert!(matches(&json!({"ge": 1, "le": 1}), &json!("1")));
        let why = mismatch(&json!({"a": {"le": "5"}}), &json!({"a": "6"}));
        assert_eq!(why.as_deref(), Some("a: expected ≤ 5, got 6"));
        let why = mismatch(&json!([{"between": ["-2", 0]}]), &json!([-3]));
        assert_eq!(why.as_deref(), Some("0: expected between -2 and 0, got -3"));
        let why = mismatch(&json!({"ge": "2e18"}), &json!("1"));
        assert_eq!(why.as_deref(), Some("expected ≥ 2000000000000000000, got 1"));
        let why = mismatch(&json!({"between": ["1"]}), &json!("1"));
        assert_eq!(why.as_deref(), Some("between: expected `between = [low, high]`, got [\"1\"]"));
        assert!(mismatch(&json!({"le": "x"}), &json!("1")).is_some_and(|w| w.contains("\"x\" is not a number")));
        assert!(mismatch(&json!({"le": "1"}), &json!("op1")).is_some_and(|w| w.contains("got \"op1\"")));
    }

    #[test]
    fn events_match_by_fields() {
        let op = named_address("op1").to_string();
        let emitted = [
            json!({"event": "deposit", "staker": op, "strategy": 0, "amount": "5", "shares": "5"}),
            json!({"event": "deposit", "staker": op, "strategy": 1, "amount": "7", "shares": "7"}),
        ];
        let want = |v: Value| v.as_object().cloned().expect("a table");
        assert_eq!(event_mismatch(&want(json!({"event": "Deposit", "amount": "7"})), &emitted), None);
        assert_eq!(
            event_mismatch(&want(json!({"event": "deposit", "staker": "op1", "amount": {"ge": 6}})), &emitted),
            None
        );
        let why = event_mismatch(&want(json!({"event": "deposit", "amount": "8"})), &emitted);
        assert_eq!(
            why.as_deref(),
            Some(
                "none of the 2 deposit events matches (amount: expected \"8\", got \"5\"; amount: expected \"8\", got \"7\")"
            )
        );
        let why = event_mismatch(&want(json!({"event": "deposit", "amont": "5"})), &emitted);
        assert_eq!(
            why.as_deref(),
            Some("deposit has no field \"amont\" (its fields: amount, shares, staker, strategy)")
        );
        let why = event_mismatch(&want(json!({"event": "transfer"})), &emitted);
        assert_eq!(why.as_deref(), Some("transfer was not emitted"));
        assert!(check_event_spec(&EventExpect::Name("OperatorSlashed".into())).is_ok());
        let err = check_event_spec(&EventExpect::Name("OperatorSmashed".into())).unwrap_err();
        assert!(err.contains("unknown event \"OperatorSmashed\""), "{err}");
        assert!(check_event_spec(&EventExpect::Fields(want(json!({"amount": "1"})))).is_err());
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
