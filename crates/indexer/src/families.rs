//! Event families: every state-machine event kind, the `ev_*` table it is stored in and how each
//! of its JSON fields maps to a typed PostgreSQL column.
//!
//! Pure: [`encode`] turns an event's JSON (as the node serves it in receipts) into the text input
//! forms of its table's columns, [`decode`] turns the columns as PostgreSQL prints them (`::text`)
//! back into the same JSON, and [`ddl`] writes the tables (`migrations/0002_events.sql`). No I/O.
//!
//! Each table has four fixed leading columns (`height`, `tx_index`, `event_index`, `event`), then
//! the union of its kinds' columns, all nullable: a row fills its own kind's columns and leaves the
//! others NULL. A JSON `null` (an `Option` field that is `None`) is stored as NULL and decoded as
//! `null`; so is a `null` in any other field, which keeps the mirror faithful whatever is served.

use std::fmt::Write as _;

use alloy_primitives::U256;
use serde_json::{Map, Number, Value};

/// The SQL type of an event column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    /// `Address` or `Option<Address>` (0x-hex in JSON): `bytea`, 20 bytes.
    Addr,
    /// `B256` (0x-hex in JSON): `bytea`, 32 bytes.
    Hash,
    /// `U256` (a decimal string in JSON): `numeric(78,0)`.
    Amount,
    /// `Vec<U256>` (an array of decimal strings): `numeric(78,0)[]`.
    Amounts,
    /// `u64` and `Block` (a JSON number): `numeric(20,0)`, as a u64 can exceed `bigint`.
    U64,
    /// `u8`/`u16`/`u32`/`usize` and the `u32` ids (a JSON number): `bigint`.
    Int,
    /// `Vec<StrategyId>` and other vectors of small integers: `bigint[]`.
    Ints,
    /// `i128` (a JSON number): `numeric(40,0)`.
    I128,
    /// `bool`: `boolean`.
    Bool,
    /// `String`, `&'static str` and enums serialized as a JSON string: `text`.
    Text,
    /// Anything else (objects, vectors of objects or enums): `jsonb`.
    Json,
    /// `OperatorSetKey` (`{"service": "0x..", "id": n}`): two columns, `<column>_service bytea`
    /// and `<column>_id bigint`.
    SetKey,
}

impl Col {
    /// The SQL columns of a field of this type: name suffix and SQL type.
    fn parts(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Col::Addr | Col::Hash => &[("", "bytea")],
            Col::Amount => &[("", "numeric(78,0)")],
            Col::Amounts => &[("", "numeric(78,0)[]")],
            Col::U64 => &[("", "numeric(20,0)")],
            Col::Int => &[("", "bigint")],
            Col::Ints => &[("", "bigint[]")],
            Col::I128 => &[("", "numeric(40,0)")],
            Col::Bool => &[("", "boolean")],
            Col::Text => &[("", "text")],
            Col::Json => &[("", "jsonb")],
            Col::SetKey => &[("_service", "bytea"), ("_id", "bigint")],
        }
    }

    /// How many SQL columns a field of this type takes.
    fn width(self) -> usize {
        self.parts().len()
    }
}

/// One field of an event kind and its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON key.
    pub key: &'static str,
    /// The SQL column name (for [`Col::SetKey`], the prefix of its two columns).
    pub column: &'static str,
    /// The column's type.
    pub col: Col,
}

/// One event kind: its name and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The snake_case event name (the JSON `event` tag).
    pub name: &'static str,
    /// Every field of the event, in declaration order.
    pub fields: &'static [Field],
}

/// A group of related event kinds stored in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The table name (`ev_*`).
    pub table: &'static str,
    /// The kinds stored in it.
    pub kinds: &'static [Kind],
}

/// The column name of a JSON key: the key itself, except SQL reserved words.
macro_rules! column {
    (from) => {
        "from_address"
    };
    (to) => {
        "to_address"
    };
    ($key:ident) => {
        stringify!($key)
    };
}

/// A `Kind` from `name { key: Col, ... }`.
macro_rules! kind {
    ($name:ident { $($key:ident: $col:ident),* $(,)? }) => {
        Kind {
            name: stringify!($name),
            fields: &[$(Field { key: stringify!($key), column: column!($key), col: Col::$col }),*],
        }
    };
}

/// Every event family. Each name of `cairn_state::event::Event::VARIANTS` is in exactly one.
pub static FAMILIES: &[Family] = &[
    Family {
        table: "ev_token",
        kinds: &[
            kind!(transfer { asset: Int, from: Addr, to: Addr, amount: Amount }),
            kind!(minted { asset: Int, to: Addr, amount: Amount }),
        ],
    },
    Family {
        table: "ev_strategy",
        kinds: &[
            kind!(strategy_created { strategy: Int, asset: Int, address: Addr }),
            kind!(deposit { staker: Addr, strategy: Int, amount: Amount, shares: Amount }),
            kind!(exchange_rate_emitted { strategy: Int, rate: Amount }),
            kind!(deposit_scaling_factor_updated { staker: Addr, strategy: Int, new_dsf: Amount }),
        ],
    },
    Family {
        table: "ev_operator",
        kinds: &[
            kind!(operator_registered { operator: Addr, delegation_approver: Addr }),
            kind!(operator_details_modified { operator: Addr, delegation_approver: Addr }),
            kind!(operator_metadata_updated { operator: Addr, metadata_uri: Text }),
        ],
    },
    Family {
        table: "ev_delegation",
        kinds: &[
            kind!(delegation_approved { approver: Addr, staker: Addr, operator: Addr, salt: U64 }),
            kind!(staker_delegated { staker: Addr, operator: Addr }),
            kind!(staker_undelegated { staker: Addr, operator: Addr }),
            kind!(staker_force_undelegated { staker: Addr, operator: Addr }),
            kind!(operator_shares_increased { operator: Addr, staker: Addr, strategy: Int, shares: Amount }),
            kind!(operator_shares_decreased { operator: Addr, staker: Addr, strategy: Int, shares: Amount }),
        ],
    },
    Family {
        table: "ev_operator_set",
        kinds: &[
            kind!(service_registered { service: Addr, metadata_uri: Text }),
            kind!(operator_set_created { set: SetKey, redistribution_recipient: Addr }),
            kind!(strategy_added_to_operator_set { set: SetKey, strategy: Int }),
            kind!(strategy_removed_from_operator_set { set: SetKey, strategy: Int }),
            kind!(slasher_updated { set: SetKey, slasher: Addr, effect_block: U64 }),
            kind!(registration_allowed_set { set: SetKey, operator: Addr, allowed: Bool }),
            kind!(set_risk_declared { set: SetKey, prize: Amount, threshold_num: U64, threshold_den: U64 }),
            kind!(incompatible_service_set { service: Addr, other: Addr, incompatible: Bool }),
            kind!(operator_added_to_operator_set { operator: Addr, set: SetKey }),
            kind!(operator_removed_from_operator_set { operator: Addr, set: SetKey, slashable_until: U64 }),
        ],
    },
    Family {
        table: "ev_allocation",
        kinds: &[
            kind!(allocation_delay_set { operator: Addr, delay: U64, effect_block: U64 }),
            kind!(allocation_updated { operator: Addr, set: SetKey, strategy: Int, magnitude: U64, effect_block: U64 }),
            kind!(encumbered_magnitude_updated { operator: Addr, strategy: Int, encumbered: U64 }),
            kind!(max_magnitude_updated { operator: Addr, strategy: Int, max_magnitude: U64 }),
        ],
    },
    Family {
        table: "ev_slashing",
        kinds: &[
            kind!(slash_requested {
                set: SetKey,
                request_id: Int,
                operator: Addr,
                strategies: Ints,
                wads_to_slash: Amounts,
                executable_at: U64,
            }),
            kind!(slash_vetoed { set: SetKey, request_id: Int, operator: Addr }),
            kind!(slash_request_executed { set: SetKey, request_id: Int, slash_id: Int }),
            kind!(operator_slashed {
                operator: Addr,
                set: SetKey,
                slash_id: Int,
                strategies: Ints,
                wad_slashed: Amounts,
                description: Text,
            }),
            kind!(operator_shares_slashed { operator: Addr, strategy: Int, total_slashed_shares: Amount }),
            kind!(burn_or_redistributable_shares_increased {
                set: SetKey,
                slash_id: Int,
                strategy: Int,
                shares: Amount,
                clearable_at: U64,
            }),
            kind!(burn_or_redistributable_shares_decreased {
                set: SetKey,
                slash_id: Int,
                strategy: Int,
                shares: Amount,
                tokens: Amount,
                recipient: Addr,
            }),
        ],
    },
    Family {
        table: "ev_withdrawal",
        kinds: &[
            kind!(withdrawal_queued {
                staker: Addr,
                nonce: U64,
                delegated_to: Addr,
                start_block: U64,
                strategies: Ints,
                scaled_shares: Amounts,
                withdrawable_shares: Amounts,
            }),
            kind!(withdrawal_completed {
                staker: Addr,
                nonce: U64,
                receive_as_tokens: Bool,
                shares: Amounts,
                tokens: Amounts,
            }),
        ],
    },
    Family {
        table: "ev_permission",
        kinds: &[
            kind!(pending_admin_added { account: Addr, admin: Addr }),
            kind!(pending_admin_removed { account: Addr, admin: Addr }),
            kind!(admin_set { account: Addr, admin: Addr }),
            kind!(admin_removed { account: Addr, admin: Addr }),
            kind!(appointee_set { account: Addr, appointee: Addr, action: Text }),
            kind!(appointee_removed { account: Addr, appointee: Addr, action: Text }),
        ],
    },
    Family {
        table: "ev_governance",
        kinds: &[
            kind!(paused { by: Addr, modules: Json }),
            kind!(unpaused { by: Addr, modules: Json }),
            kind!(proposal_created { id: U64, action: Json, eta: U64 }),
            kind!(proposal_executed { id: U64, action: Json }),
            kind!(proposal_cancelled { id: U64 }),
        ],
    },
    Family {
        table: "ev_beacon",
        kinds: &[
            kind!(beacon_report_voted { member: Addr, slot: U64, root: Hash, votes: Int, quorum: Int }),
            kind!(beacon_report_accepted { slot: U64, root: Hash, validators: Int, withdrawals: Int }),
            kind!(beacon_withdrawal_paid { validator_index: U64, address: Addr, amount_gwei: U64 }),
            kind!(pod_deployed { owner: Addr, pod: Addr }),
            kind!(validator_restaked { owner: Addr, validator_index: U64, effective_balance_gwei: U64 }),
            kind!(pod_shares_updated { owner: Addr, shares: Amount }),
            kind!(checkpoint_created {
                owner: Addr,
                number: U64,
                slot: U64,
                pod_balance_gwei: U64,
                proofs_remaining: Int,
            }),
            kind!(validator_checkpointed { owner: Addr, validator_index: U64, balance_gwei: U64 }),
            kind!(checkpoint_proof_skipped { owner: Addr, validator_index: U64, reason: Text }),
            kind!(validator_withdrawn { owner: Addr, validator_index: U64 }),
            kind!(checkpoint_finalized {
                owner: Addr,
                number: U64,
                slot: U64,
                prev_restaked_gwei: U64,
                delta_gwei: I128,
            }),
            kind!(beacon_chain_slashing_factor_decreased { staker: Addr, prev_factor: U64, new_factor: U64 }),
        ],
    },
    Family {
        table: "ev_rewards",
        kinds: &[
            kind!(rewards_submission_created {
                service: Addr,
                nonce: U64,
                hash: Hash,
                kind: Text,
                token: Int,
                amount: Amount,
                fee: Amount,
                start: U64,
                duration: U64,
            }),
            kind!(operator_split_set { operator: Addr, target: Json, old: Int, new: Int, activated_at: U64 }),
            kind!(protocol_fee_opt_in_set { submitter: Addr, opt_in: Bool }),
            kind!(distribution_root_submitted { index: Int, root: Hash, calculation_end: U64, activated_at: U64 }),
            kind!(distribution_root_disabled { index: Int }),
            kind!(claimer_for_set { earner: Addr, claimer: Addr }),
            kind!(rewards_claimed {
                root: Hash,
                earner: Addr,
                claimer: Addr,
                recipient: Addr,
                token: Int,
                amount: Amount,
            }),
        ],
    },
    Family {
        table: "ev_vault_admin",
        kinds: &[
            kind!(vault_created { vault: Int, symbol: Text, account: Addr }),
            kind!(vault_params_set { vault: Int, params: Json }),
            kind!(vault_asset_set { vault: Int, config: Json }),
            kind!(vault_policy_set { vault: Int, policy: Json }),
            kind!(vault_roles_set { vault: Int, roles: Json }),
            kind!(vault_asset_paused { vault: Int, asset: Int, paused: Bool }),
        ],
    },
    Family {
        table: "ev_vault_token",
        kinds: &[
            kind!(vault_transfer { vault: Int, from: Addr, to: Addr, amount: Amount }),
            kind!(vault_approval { vault: Int, owner: Addr, spender: Addr, amount: Amount }),
            kind!(vault_deposited {
                vault: Int,
                sender: Addr,
                receiver: Addr,
                asset: Int,
                amount: Amount,
                value: Amount,
                tokens: Amount,
                rate: Amount,
            }),
            kind!(vault_redeemed {
                vault: Int,
                owner: Addr,
                asset: Int,
                tokens: Amount,
                value: Amount,
                fee_bps: Int,
                amount: Amount,
                rate: Amount,
            }),
            kind!(vault_fees_minted {
                vault: Int,
                recipient: Addr,
                tokens: Amount,
                management: Amount,
                performance: Amount,
            }),
        ],
    },
    Family {
        table: "ev_vault_rate",
        kinds: &[
            kind!(vault_prices_reported { vault: Int, member: Addr, round: U64 }),
            kind!(vault_prices_accepted { vault: Int, round: U64, prices: Json }),
            kind!(vault_rate_settled {
                vault: Int,
                number: U64,
                rate: Amount,
                previous: Amount,
                supply: Amount,
                assets: Amount,
                reserve: Amount,
            }),
            kind!(vault_rate_smoothed { vault: Int, rate: Amount, settled: Amount }),
            kind!(vault_rate_quarantined { vault: Int, rate: Amount, settled: Amount, breach: Text }),
            kind!(vault_rate_accepted { vault: Int, rate: Amount, quarantined: Amount }),
            kind!(vault_rate_rejected { vault: Int, rate: Amount, settled: Amount }),
        ],
    },
    Family {
        table: "ev_vault_strategy",
        kinds: &[
            kind!(vault_targets_set {
                vault: Int,
                buffer_bps: Int,
                operators: Json,
                worst_loss_bps: Int,
                worst_service: Addr,
            }),
            kind!(vault_place_opened { vault: Int, operator: Addr, account: Addr }),
            kind!(vault_allocated { vault: Int, operator: Addr, asset: Int, amount: Amount }),
            kind!(vault_validators_deposited { vault: Int, operator: Addr, pod: Addr, count: Int, amount: Amount }),
            kind!(vault_validators_verified { vault: Int, operator: Addr, count: Int }),
            kind!(vault_validator_exits_requested { vault: Int, operator: Addr, count: Int }),
            kind!(vault_unbonding_queued {
                vault: Int,
                operator: Addr,
                asset: Int,
                nonce: U64,
                expected: Amount,
                committed: Amount,
                completable_at: U64,
            }),
            kind!(vault_unbonding_completed { vault: Int, operator: Addr, asset: Int, nonce: U64, tokens: Amount }),
            kind!(vault_rebalanced { vault: Int, unbonded: Amount, deposited: Amount, completed: Int }),
            kind!(vault_rewards_claimed { vault: Int, earner: Addr, asset: Int, amount: Amount }),
        ],
    },
    Family {
        table: "ev_vault_withdrawal",
        kinds: &[
            kind!(vault_withdrawal_requested {
                vault: Int,
                ticket: U64,
                owner: Addr,
                asset: Int,
                tokens: Amount,
                requested: Amount,
                eta_block: U64,
                eta_time: U64,
            }),
            kind!(vault_ticket_transferred { vault: Int, ticket: U64, from: Addr, to: Addr }),
            kind!(vault_ticket_finalized {
                vault: Int,
                ticket: U64,
                asset: Int,
                tokens: Amount,
                amount: Amount,
                rate: Amount,
            }),
            kind!(vault_ticket_claimed { vault: Int, ticket: U64, owner: Addr, asset: Int, amount: Amount }),
            kind!(vault_ticket_cancelled { vault: Int, ticket: U64, owner: Addr, tokens: Amount }),
            kind!(vault_emergency_unwind { vault: Int, unbondings: Int }),
            kind!(vault_emergency_exit { vault: Int, owner: Addr, tokens: Amount, paid: Json }),
        ],
    },
];

/// Lookup indexes per table (column lists). At most two per table and only where the lookup is
/// obvious: every index slows the bulk COPY of a block's rows.
const INDEXES: &[(&str, &[&[&str]])] = &[
    ("ev_strategy", &[&["staker"]]),
    ("ev_operator", &[&["operator"]]),
    ("ev_delegation", &[&["staker"], &["operator"]]),
    ("ev_operator_set", &[&["set_service", "set_id"]]),
    ("ev_allocation", &[&["operator"]]),
    ("ev_slashing", &[&["operator"]]),
    ("ev_withdrawal", &[&["staker"]]),
    ("ev_permission", &[&["account"]]),
    ("ev_beacon", &[&["owner"]]),
    ("ev_rewards", &[&["earner"]]),
    ("ev_vault_token", &[&["vault"]]),
    ("ev_vault_rate", &[&["vault"]]),
    ("ev_vault_strategy", &[&["vault"]]),
    ("ev_vault_withdrawal", &[&["vault", "ticket"]]),
];

/// The four fixed leading columns of every family table, with their SQL definitions.
const FIXED: [(&str, &str); 4] = [
    ("height", "bigint NOT NULL"),
    ("tx_index", "integer NOT NULL"),
    ("event_index", "integer NOT NULL"),
    ("event", "text NOT NULL"),
];

/// The family and kind of an event name.
pub fn kind(name: &str) -> Option<(&'static Family, &'static Kind)> {
    FAMILIES.iter().find_map(|f| f.kinds.iter().find(|k| k.name == name).map(|k| (f, k)))
}

/// The family's SQL column names after the four fixed ones, in table order (a [`Col::SetKey`]
/// field expands to two), each with its SQL type text.
pub fn columns(family: &Family) -> Vec<(String, &'static str)> {
    slots(family)
        .into_iter()
        .flat_map(|f| f.col.parts().iter().map(move |(suffix, ty)| (format!("{}{suffix}", f.column), *ty)))
        .collect()
}

/// The distinct fields of a family by column name, first occurrence first: the table's layout.
fn slots(family: &Family) -> Vec<&'static Field> {
    let mut out: Vec<&'static Field> = Vec::new();
    for f in family.kinds.iter().flat_map(|k| k.fields) {
        if !out.iter().any(|o| o.column == f.column) {
            out.push(f);
        }
    }
    out
}

/// Why an event or a row cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The event name is none of the registry's.
    #[error("unknown event {0:?}")]
    UnknownEvent(
        /// The name given.
        String,
    ),
    /// The event's `event` tag names another kind than the one given.
    #[error("event {got:?} given as kind {expected}")]
    KindMismatch {
        /// The kind given.
        expected: &'static str,
        /// The event's tag.
        got: String,
    },
    /// The kind is not stored in the family given.
    #[error("event {kind} is not in family {table}")]
    NotInFamily {
        /// The kind.
        kind: &'static str,
        /// The family's table.
        table: &'static str,
    },
    /// The event is not a JSON object.
    #[error("event {kind}: not a JSON object: {value}")]
    NotAnObject {
        /// The kind.
        kind: &'static str,
        /// The value given.
        value: String,
    },
    /// The event has a key its kind does not declare (a new field would be lost).
    #[error("event {kind}: undeclared key {key:?}")]
    UndeclaredKey {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: String,
    },
    /// A declared key is missing.
    #[error("event {kind}: missing key {key:?}")]
    MissingKey {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A value of the wrong JSON type.
    #[error("event {kind}: {key} must be {expected}, got {value}")]
    WrongType {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: &'static str,
        /// What the key holds.
        expected: &'static str,
        /// The value given (JSON text).
        value: String,
    },
    /// An address or hash that is not 0x and hex digits of the right length.
    #[error("event {kind}: {key} must be {expected}, got {value}")]
    BadHex {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: &'static str,
        /// The form expected.
        expected: &'static str,
        /// The value given (JSON text).
        value: String,
    },
    /// A number outside its column's range, or an amount that is not a canonical decimal.
    #[error("event {kind}: {key} must be {expected}, got {value}")]
    BadNumber {
        /// The kind.
        kind: &'static str,
        /// The key.
        key: &'static str,
        /// The range or form expected.
        expected: &'static str,
        /// The value given (JSON text).
        value: String,
    },
    /// A row with another number of columns than its family's table.
    #[error("table {table}: a row of {got} columns, expected {expected}")]
    RowWidth {
        /// The family's table.
        table: &'static str,
        /// `columns(family).len()`.
        expected: usize,
        /// The row's length.
        got: usize,
    },
    /// A column text that is not what its type prints.
    #[error("event {kind}: column {column} must be {expected}, got {value:?}")]
    BadCell {
        /// The kind.
        kind: &'static str,
        /// The column.
        column: String,
        /// The form expected.
        expected: &'static str,
        /// The text given.
        value: String,
    },
    /// An operator set with one of its two columns NULL.
    #[error("event {kind}: operator set {column} has one of its two columns NULL")]
    PartialSetKey {
        /// The kind.
        kind: &'static str,
        /// The field's column prefix.
        column: &'static str,
    },
}

/// Refuses a kind that is not one of the family's (its columns would be misplaced).
fn check_member(family: &Family, kind: &Kind) -> Result<(), EncodeError> {
    if family.kinds.iter().any(|k| k.name == kind.name) {
        Ok(())
    } else {
        Err(EncodeError::NotInFamily { kind: kind.name, table: family.table })
    }
}

/// Encodes one event (the JSON object from a receipt) into the family's column values in
/// [`columns`] order: `None` is SQL NULL, `Some(text)` the value's PostgreSQL text input form
/// (bytea `\x` and lowercase hex, numeric as decimal, arrays `{1,2}`, boolean `t`/`f`, jsonb as
/// compact JSON). The columns of the family's other kinds are `None`. The texts are not escaped
/// for any transport (a COPY text stream must still escape the backslash of `\x`).
pub fn encode(family: &Family, kind: &Kind, event: &Value) -> Result<Vec<Option<String>>, EncodeError> {
    check_member(family, kind)?;
    let Some(obj) = event.as_object() else {
        return Err(EncodeError::NotAnObject { kind: kind.name, value: shown(event) });
    };
    match obj.get("event") {
        Some(Value::String(tag)) if tag == kind.name => {}
        Some(Value::String(tag)) if self::kind(tag).is_none() => {
            return Err(EncodeError::UnknownEvent(tag.clone()));
        }
        Some(Value::String(tag)) => return Err(EncodeError::KindMismatch { expected: kind.name, got: tag.clone() }),
        Some(other) => {
            let value = shown(other);
            return Err(EncodeError::WrongType { kind: kind.name, key: "event", expected: "the event name", value });
        }
        None => return Err(EncodeError::MissingKey { kind: kind.name, key: "event" }),
    }
    if let Some(key) = obj.keys().find(|k| *k != "event" && !kind.fields.iter().any(|f| f.key == k.as_str())) {
        return Err(EncodeError::UndeclaredKey { kind: kind.name, key: key.clone() });
    }
    let slots = slots(family);
    let mut out = Vec::with_capacity(slots.iter().map(|s| s.col.width()).sum());
    for slot in slots {
        match kind.fields.iter().find(|f| f.column == slot.column) {
            Some(field) => {
                let value = obj.get(field.key).ok_or(EncodeError::MissingKey { kind: kind.name, key: field.key })?;
                encode_value(kind.name, field, value, &mut out)?;
            }
            None => out.extend(std::iter::repeat_n(None, slot.col.width())),
        }
    }
    Ok(out)
}

/// Pushes the column texts of one field's value.
fn encode_value(
    kind: &'static str,
    field: &Field,
    v: &Value,
    out: &mut Vec<Option<String>>,
) -> Result<(), EncodeError> {
    let key = field.key;
    if v.is_null() {
        out.extend(std::iter::repeat_n(None, field.col.width()));
        return Ok(());
    }
    let wrong = |expected| EncodeError::WrongType { kind, key, expected, value: shown(v) };
    let text = match field.col {
        Col::Addr => bytea(kind, key, v, 20)?,
        Col::Hash => bytea(kind, key, v, 32)?,
        Col::Amount => amount(kind, key, v)?,
        Col::Amounts => {
            let items = v.as_array().ok_or_else(|| wrong("an array of decimal strings"))?;
            array(items.iter().map(|x| amount(kind, key, x)))?
        }
        Col::U64 => u64_of(kind, key, v)?.to_string(),
        Col::Int => int(kind, key, v)?.to_string(),
        Col::Ints => {
            let items = v.as_array().ok_or_else(|| wrong("an array of integers"))?;
            array(items.iter().map(|x| int(kind, key, x).map(|n| n.to_string())))?
        }
        Col::I128 => match v {
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i.to_string(),
                (None, Some(u)) => u.to_string(),
                (None, None) => return Err(bad_number(kind, key, v, "an integer")),
            },
            _ => return Err(wrong("an integer")),
        },
        Col::Bool => match v {
            Value::Bool(b) => (if *b { "t" } else { "f" }).to_owned(),
            _ => return Err(wrong("true or false")),
        },
        Col::Text => match v {
            Value::String(s) => pg_text(s).into_owned(),
            _ => return Err(wrong("a string")),
        },
        Col::Json => pg_json(v).to_string(),
        Col::SetKey => {
            const EXPECTED: &str = r#"an operator set {"service": address, "id": integer}"#;
            let set = v.as_object().filter(|o| o.len() == 2).ok_or_else(|| wrong(EXPECTED))?;
            let (Some(service), Some(id)) = (set.get("service"), set.get("id")) else {
                return Err(wrong(EXPECTED));
            };
            out.push(Some(bytea(kind, key, service, 20)?));
            out.push(Some(int(kind, key, id)?.to_string()));
            return Ok(());
        }
    };
    out.push(Some(text));
    Ok(())
}

/// A 0x-hex JSON string of `len` bytes as bytea text: `\x` and lowercase hex.
fn bytea(kind: &'static str, key: &'static str, v: &Value, len: usize) -> Result<String, EncodeError> {
    let expected = if len == 20 { "an address (0x and 40 hex digits)" } else { "a hash (0x and 64 hex digits)" };
    match v.as_str().and_then(|s| s.strip_prefix("0x")).and_then(|h| hex_of(h, len)) {
        Some(hex) => Ok(format!("\\x{hex}")),
        None if v.is_string() => Err(EncodeError::BadHex { kind, key, expected, value: shown(v) }),
        None => Err(EncodeError::WrongType { kind, key, expected, value: shown(v) }),
    }
}

/// `hex` lowercased if it is exactly `len` bytes of hex digits.
fn hex_of(hex: &str, len: usize) -> Option<String> {
    (hex.len() == len.checked_mul(2)? && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// A U256 decimal string, canonical (no sign, no leading zero), so numeric gives it back as is.
fn amount(kind: &'static str, key: &'static str, v: &Value) -> Result<String, EncodeError> {
    const EXPECTED: &str = "a decimal string of a U256 (digits only, no leading zeros)";
    match v {
        Value::String(s) if canonical_u256(s) => Ok(s.clone()),
        Value::String(_) => Err(bad_number(kind, key, v, EXPECTED)),
        _ => Err(EncodeError::WrongType { kind, key, expected: EXPECTED, value: shown(v) }),
    }
}

/// Whether `s` is a U256 written as PostgreSQL prints a `numeric(78,0)`.
fn canonical_u256(s: &str) -> bool {
    is_digits(s) && (s == "0" || !s.starts_with('0')) && U256::from_str_radix(s, 10).is_ok()
}

/// Whether `s` is one or more ASCII digits.
fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON number that fits a u64.
fn u64_of(kind: &'static str, key: &'static str, v: &Value) -> Result<u64, EncodeError> {
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| bad_number(kind, key, v, "a non-negative integer below 2^64")),
        _ => Err(EncodeError::WrongType { kind, key, expected: "an integer", value: shown(v) }),
    }
}

/// A JSON number that fits a non-negative bigint.
fn int(kind: &'static str, key: &'static str, v: &Value) -> Result<u64, EncodeError> {
    const EXPECTED: &str = "a non-negative integer below 2^63";
    match v {
        Value::Number(n) => {
            n.as_u64().filter(|&u| i64::try_from(u).is_ok()).ok_or_else(|| bad_number(kind, key, v, EXPECTED))
        }
        _ => Err(EncodeError::WrongType { kind, key, expected: "an integer", value: shown(v) }),
    }
}

/// An array's text input form from its elements' texts (numbers only: no quoting needed).
fn array(items: impl Iterator<Item = Result<String, EncodeError>>) -> Result<String, EncodeError> {
    let items = items.collect::<Result<Vec<_>, _>>()?;
    Ok(format!("{{{}}}", items.join(",")))
}

/// The character a NUL becomes in the database: PostgreSQL's text and jsonb cannot hold NUL, and
/// a chain may carry one in any string a user signs, so refusing it would stop the indexer there.
pub const NUL_STANDIN: char = '\u{FFFD}';

/// `s` as PostgreSQL can store it: each NUL replaced by [`NUL_STANDIN`].
pub fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') { std::borrow::Cow::Owned(s.replace('\0', &NUL_STANDIN.to_string())) } else { s.into() }
}

/// `v` as jsonb can store it: NUL replaced by [`NUL_STANDIN`] in every string and key.
pub fn pg_json(v: &Value) -> std::borrow::Cow<'_, Value> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(has_nul),
            Value::Object(o) => o.iter().any(|(k, x)| k.contains('\0') || has_nul(x)),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }
    fn replaced(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(pg_text(s).into_owned()),
            Value::Array(a) => Value::Array(a.iter().map(replaced).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (pg_text(k).into_owned(), replaced(x))).collect()),
            other => other.clone(),
        }
    }
    if has_nul(v) { std::borrow::Cow::Owned(replaced(v)) } else { std::borrow::Cow::Borrowed(v) }
}

/// The refusal of a number outside its range or form.
fn bad_number(kind: &'static str, key: &'static str, v: &Value, expected: &'static str) -> EncodeError {
    EncodeError::BadNumber { kind, key, expected, value: shown(v) }
}

/// A value as compact JSON for an error message, cut to a readable length.
fn shown(v: &Value) -> String {
    const MAX: usize = 200;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Decodes a row (each column as PostgreSQL prints it with `::text`, in [`columns`] order) back
/// into the event JSON the node serves. Addresses and hashes come back as lowercase 0x-hex, the
/// form the node serves; `boolean` may be printed `t`/`f` or `true`/`false`.
pub fn decode(family: &Family, kind: &Kind, row: &[Option<String>]) -> Result<Value, EncodeError> {
    check_member(family, kind)?;
    let slots = slots(family);
    let width: usize = slots.iter().map(|s| s.col.width()).sum();
    if row.len() != width {
        return Err(EncodeError::RowWidth { table: family.table, expected: width, got: row.len() });
    }
    let mut obj = Map::new();
    obj.insert("event".to_owned(), Value::String(kind.name.to_owned()));
    let mut at = 0;
    for slot in slots {
        let end = at + slot.col.width();
        if let Some(field) = kind.fields.iter().find(|f| f.column == slot.column) {
            let cells = row.get(at..end).unwrap_or_default();
            obj.insert(field.key.to_owned(), decode_value(kind.name, field, cells)?);
        }
        at = end;
    }
    Ok(Value::Object(obj))
}

/// One field's JSON value from its column texts.
fn decode_value(kind: &'static str, field: &Field, cells: &[Option<String>]) -> Result<Value, EncodeError> {
    let bad = |suffix: &str, expected: &'static str, value: &str| EncodeError::BadCell {
        kind,
        column: format!("{}{suffix}", field.column),
        expected,
        value: value.to_owned(),
    };
    if let Col::SetKey = field.col {
        return match cells {
            [None, None] => Ok(Value::Null),
            [Some(service), Some(id)] => {
                let service = address_of(service).ok_or_else(|| bad("_service", "bytea of 20 bytes", service))?;
                let id = id.parse::<u64>().ok().filter(|_| is_digits(id)).ok_or_else(|| bad("_id", "an id", id))?;
                let mut set = Map::new();
                set.insert("service".to_owned(), Value::String(service));
                set.insert("id".to_owned(), Value::Number(id.into()));
                Ok(Value::Object(set))
            }
            _ => Err(EncodeError::PartialSetKey { kind, column: field.column }),
        };
    }
    let Some(Some(text)) = cells.first() else {
        return Ok(Value::Null);
    };
    let bad = |expected| bad("", expected, text);
    let number = |t: &str| t.parse::<u64>().ok().filter(|_| is_digits(t)).map(|n| Value::Number(n.into()));
    Ok(match field.col {
        Col::Addr => Value::String(address_of(text).ok_or_else(|| bad("bytea of 20 bytes"))?),
        Col::Hash => {
            let hex = text.strip_prefix("\\x").and_then(|h| hex_of(h, 32)).ok_or_else(|| bad("bytea of 32 bytes"))?;
            Value::String(format!("0x{hex}"))
        }
        Col::Amount => Value::String(canonical_u256(text).then(|| text.clone()).ok_or_else(|| bad("a U256"))?),
        Col::Amounts => {
            let items = pg_array(text).ok_or_else(|| bad("an array of U256"))?;
            let items = items.into_iter().map(|t| canonical_u256(t).then(|| Value::String(t.to_owned())));
            Value::Array(items.collect::<Option<_>>().ok_or_else(|| bad("an array of U256"))?)
        }
        Col::U64 | Col::Int => number(text).ok_or_else(|| bad("a non-negative integer below 2^64"))?,
        Col::Ints => {
            let items = pg_array(text).ok_or_else(|| bad("an array of integers"))?;
            Value::Array(
                items.into_iter().map(number).collect::<Option<_>>().ok_or_else(|| bad("an array of integers"))?,
            )
        }
        Col::I128 => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            let n = text.parse::<i128>().ok().filter(|_| is_digits(digits));
            // The node serves an i128 as a JSON number, which holds a u64 or an i64.
            let n = n.and_then(|n| match u64::try_from(n) {
                Ok(u) => Some(Number::from(u)),
                Err(_) => i64::try_from(n).ok().map(Number::from),
            });
            Value::Number(n.ok_or_else(|| bad("an integer within i64 or u64"))?)
        }
        Col::Bool => match text.as_str() {
            "t" | "true" => Value::Bool(true),
            "f" | "false" => Value::Bool(false),
            _ => return Err(bad("a boolean")),
        },
        Col::Text => Value::String(text.clone()),
        Col::Json => serde_json::from_str(text).map_err(|_| bad("JSON"))?,
        Col::SetKey => Value::Null, // handled above
    })
}

/// A bytea text of 20 bytes as a lowercase 0x-hex address (alloy serializes `Address` so).
fn address_of(text: &str) -> Option<String> {
    text.strip_prefix("\\x").and_then(|h| hex_of(h, 20)).map(|h| format!("0x{h}"))
}

/// The elements of a one-dimensional array printed by PostgreSQL, unquoted numbers only.
fn pg_array(text: &str) -> Option<Vec<&str>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    Some(if inner.is_empty() { Vec::new() } else { inner.split(',').collect() })
}

/// `CREATE TABLE` statements of every family (the content of `migrations/0002_events.sql`), with
/// their lookup indexes.
pub fn ddl() -> String {
    let mut out = String::from("-- generated by families::ddl(); a test keeps them equal\n");
    for family in FAMILIES {
        let names: Vec<&str> = family.kinds.iter().map(|k| k.name).collect();
        let _ = write!(out, "\n-- {}\nCREATE TABLE {} (\n", names.join(", "), family.table);
        for (name, ty) in FIXED {
            let _ = writeln!(out, "    {name} {ty},");
        }
        for (name, ty) in columns(family) {
            let _ = writeln!(out, "    {name} {ty},");
        }
        out.push_str("    PRIMARY KEY (height, tx_index, event_index),\n");
        out.push_str("    FOREIGN KEY (height, tx_index) REFERENCES transactions (height, tx_index)\n);\n");
        for index in indexes(family.table) {
            let table = family.table;
            let _ = writeln!(out, "CREATE INDEX {table}_{} ON {table} ({});", index.join("_"), index.join(", "));
        }
    }
    out
}

/// The lookup indexes of a table.
fn indexes(table: &str) -> &'static [&'static [&'static str]] {
    INDEXES.iter().find(|(t, _)| *t == table).map_or(&[], |(_, i)| *i)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use cairn_primitives::{Address, AssetId, B256, OperatorSetKey, StrategyId, VaultId};
    use cairn_state::{
        event::Event,
        pause::Module,
        rewards::{SplitTarget, SubmissionKind},
        tx::{GovernanceAction, TxKind},
        vault::{
            AssetAmount, AssetConfig, OperatorLimit, Policy, ServiceCap, TargetWeight, VaultParams,
            book::Breach,
            tx::{AssetPrice, VaultRoles},
        },
    };
    use serde_json::json;
    use std::collections::{BTreeMap, BTreeSet};
    use strum::VariantNames;

    /// `SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')` on PostgreSQL 15, plus
    /// `system_user` (reserved from 16): none of these may name a column unquoted.
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "system_user",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
        // type_func_name keywords: allowed as types and functions, not as column names.
        "authorization",
        "binary",
        "collation",
        "concurrently",
        "cross",
        "current_schema",
        "freeze",
        "full",
        "ilike",
        "inner",
        "is",
        "isnull",
        "join",
        "left",
        "like",
        "natural",
        "notnull",
        "outer",
        "overlaps",
        "right",
        "similar",
        "tablesample",
        "verbose",
    ];

    /// Simulates `column::text` in PostgreSQL of a value written in its text input form: jsonb is
    /// re-printed with `", "` and `": "` separators, boolean as `true`/`false`; the rest prints
    /// as written.
    fn pg_text(ty: &str, value: Option<String>) -> Option<String> {
        let value = value?;
        Some(match ty {
            "jsonb" => jsonb_text(&serde_json::from_str(&value).unwrap()),
            "boolean" => (if value == "t" { "true" } else { "false" }).to_owned(),
            _ => value,
        })
    }

    /// A JSON value printed as PostgreSQL prints jsonb.
    fn jsonb_text(v: &Value) -> String {
        match v {
            Value::Array(a) => format!("[{}]", a.iter().map(jsonb_text).collect::<Vec<_>>().join(", ")),
            Value::Object(o) => {
                let items = o.iter().map(|(k, x)| format!("{}: {}", Value::String(k.clone()), jsonb_text(x)));
                format!("{{{}}}", items.collect::<Vec<_>>().join(", "))
            }
            _ => v.to_string(),
        }
    }

    /// The JSON with every address-looking string (0x and 40 hex digits) lowercased.
    fn lower_addresses(v: &Value) -> Value {
        match v {
            Value::String(s) if s.len() == 42 && s.starts_with("0x") => Value::String(s.to_ascii_lowercase()),
            Value::Array(a) => Value::Array(a.iter().map(lower_addresses).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), lower_addresses(x))).collect()),
            _ => v.clone(),
        }
    }

    /// Encodes, simulates PostgreSQL's storage and `::text`, decodes.
    fn round_trip(event: &Value) -> Value {
        let name = event["event"].as_str().unwrap();
        let (family, kind) = super::kind(name).unwrap_or_else(|| panic!("{name} has a family"));
        let row = encode(family, kind, event).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cols = columns(family);
        assert_eq!(row.len(), cols.len(), "{name}");
        let printed: Vec<_> = cols.iter().zip(row).map(|((_, ty), v)| pg_text(ty, v)).collect();
        decode(family, kind, &printed).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn assert_round_trips(event: &Value) {
        assert_eq!(round_trip(event), lower_addresses(event), "{event}");
    }

    /// The named columns' values of an encoded event.
    fn encoded(event: &Value) -> BTreeMap<String, Option<String>> {
        let (family, kind) = super::kind(event["event"].as_str().unwrap()).unwrap();
        let row = encode(family, kind, event).unwrap();
        columns(family).into_iter().map(|(c, _)| c).zip(row).collect()
    }

    fn encode_err(event: &Value) -> EncodeError {
        let (family, kind) = super::kind(event["event"].as_str().unwrap()).unwrap();
        encode(family, kind, event).unwrap_err()
    }

    #[test]
    fn every_variant_is_in_exactly_one_family() {
        for name in Event::VARIANTS {
            let n = FAMILIES.iter().flat_map(|f| f.kinds).filter(|k| k.name == *name).count();
            assert_eq!(n, 1, "{name} is in {n} families");
        }
        for k in FAMILIES.iter().flat_map(|f| f.kinds) {
            assert!(Event::VARIANTS.contains(&k.name), "{} is not an event", k.name);
        }
        let tables: BTreeSet<_> = FAMILIES.iter().map(|f| f.table).collect();
        assert_eq!(tables.len(), FAMILIES.len(), "distinct tables");
        assert!(FAMILIES.iter().all(|f| f.table.starts_with("ev_") && !f.kinds.is_empty()));
    }

    #[test]
    fn a_column_has_one_type_within_a_family() {
        for family in FAMILIES {
            let mut types: BTreeMap<&str, Col> = BTreeMap::new();
            for kind in family.kinds {
                let keys: BTreeSet<_> = kind.fields.iter().map(|f| f.key).collect();
                assert_eq!(keys.len(), kind.fields.len(), "{}: duplicate key", kind.name);
                for f in kind.fields {
                    let first = *types.entry(f.column).or_insert(f.col);
                    assert_eq!(first, f.col, "{}.{}: {} has two types", family.table, kind.name, f.column);
                }
            }
            let cols = columns(family);
            let mut names: BTreeSet<&str> = FIXED.iter().map(|(n, _)| *n).collect();
            for (name, _) in &cols {
                assert!(names.insert(name), "{}: column {name} twice", family.table);
            }
        }
    }

    #[test]
    fn no_name_is_a_reserved_word() {
        for family in FAMILIES {
            let names = columns(family).into_iter().map(|(n, _)| n).chain([family.table.to_owned()]);
            for name in names {
                assert!(!RESERVED.contains(&name.as_str()), "{}: {name} is reserved", family.table);
                let plain = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                assert!(plain && name.len() < 64, "{}: {name} needs quoting or is too long", family.table);
            }
        }
    }

    #[test]
    fn indexes_are_few_and_name_columns_of_their_table() {
        for (table, indexes) in INDEXES {
            let family = FAMILIES.iter().find(|f| f.table == *table).unwrap_or_else(|| panic!("{table}"));
            assert!(indexes.len() <= 2, "{table}");
            let cols = columns(family);
            for column in indexes.iter().flat_map(|i| i.iter()) {
                assert!(cols.iter().any(|(c, _)| c == column), "{table}: no column {column}");
            }
        }
    }

    #[test]
    fn the_migration_is_the_generated_ddl() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0002_events.sql");
        if std::env::var("CAIRN_REGENERATE").is_ok_and(|v| v == "1") {
            std::fs::write(path, ddl()).unwrap();
        } else {
            let stored = include_str!("../migrations/0002_events.sql");
            assert!(stored == ddl(), "{path} is stale: run with CAIRN_REGENERATE=1 to regenerate");
        }
    }

    #[test]
    fn ddl_lays_out_each_table() {
        let sql = ddl();
        assert!(sql.starts_with("-- generated by families::ddl(); a test keeps them equal\n"));
        assert_eq!(sql.matches("CREATE TABLE ").count(), FAMILIES.len());
        assert!(sql.contains(
            "CREATE TABLE ev_token (\n    height bigint NOT NULL,\n    tx_index integer NOT NULL,\n    \
             event_index integer NOT NULL,\n    event text NOT NULL,\n    asset bigint,\n    from_address bytea,\n    \
             to_address bytea,\n    amount numeric(78,0),\n    PRIMARY KEY (height, tx_index, event_index),\n    \
             FOREIGN KEY (height, tx_index) REFERENCES transactions (height, tx_index)\n);\n"
        ));
        assert!(sql.contains("    set_service bytea,\n    set_id bigint,\n"));
        assert!(sql.contains("CREATE INDEX ev_vault_withdrawal_vault_ticket ON ev_vault_withdrawal (vault, ticket);"));
    }

    fn a(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    fn set(n: u8, id: u32) -> OperatorSetKey {
        OperatorSetKey { service: a(n), id }
    }

    fn big(n: u64) -> U256 {
        U256::from(n) * U256::from(10).pow(U256::from(18)) + U256::from(7)
    }

    /// One value of every event, with extreme values where a column's range matters.
    fn samples() -> Vec<Event> {
        use Event::*;
        let (s, v, t, h) = (StrategyId(3), VaultId(2), AssetId(4), B256::repeat_byte(0xab));
        let max = U256::MAX;
        let params = VaultParams {
            price_staleness_seconds: 3600,
            max_price_change_bps: 500,
            max_apr_bps: 2000,
            max_rate_up_bps: 100,
            max_rate_down_bps: 5000,
            performance_fee_bps: 1000,
            management_fee_bps: 100,
            instant_fee_min_bps: 5,
            instant_fee_max_bps: 300,
            ticket_delay_blocks: 100,
            rebalance_interval_blocks: 50,
            finalization_period_blocks: 10,
            finalization_cap: max,
            emergency_delay_blocks: 1000,
            deposit_lock_blocks: 0,
        };
        let config =
            AssetConfig { asset: t, deposits: true, cap: Some(big(5)), min_deposit: U256::from(1), paused: false };
        let policy = Policy {
            operators: vec![OperatorLimit { operator: a(1), cap_bps: 5000, approval_salt: Some(u64::MAX) }],
            min_buffer_bps: 500,
            service_cap_bps: 1000,
            service_caps: vec![ServiceCap { service: a(2), cap_bps: 300 }],
            risk_budget_bps: 200,
        };
        let roles =
            VaultRoles { committee: vec![a(1), a(2)], quorum: 2, guardian: a(3), keeper: a(4), fee_recipient: a(5) };
        vec![
            Transfer { asset: t, from: a(1), to: a(2), amount: max },
            Minted { asset: t, to: a(2), amount: U256::ZERO },
            StrategyCreated { strategy: s, asset: t, address: a(3) },
            Deposit { staker: a(1), strategy: s, amount: big(32), shares: big(31) },
            ExchangeRateEmitted { strategy: s, rate: big(1) },
            DepositScalingFactorUpdated { staker: a(1), strategy: s, new_dsf: big(1) },
            OperatorRegistered { operator: a(5), delegation_approver: None },
            OperatorDetailsModified { operator: a(5), delegation_approver: Some(a(6)) },
            OperatorMetadataUpdated { operator: a(5), metadata_uri: "https://example.com/op.json \"é\" \\ '".into() },
            AllocationDelaySet { operator: a(5), delay: 17, effect_block: u64::MAX },
            DelegationApproved { approver: a(6), staker: a(1), operator: a(5), salt: u64::MAX },
            StakerDelegated { staker: a(1), operator: a(5) },
            StakerUndelegated { staker: a(1), operator: a(5) },
            StakerForceUndelegated { staker: a(1), operator: a(5) },
            OperatorSharesIncreased { operator: a(5), staker: a(1), strategy: s, shares: big(3) },
            OperatorSharesDecreased { operator: a(5), staker: Address::ZERO, strategy: s, shares: big(2) },
            ServiceRegistered { service: a(9), metadata_uri: String::new() },
            OperatorSetCreated { set: set(9, 0), redistribution_recipient: Some(a(8)) },
            StrategyAddedToOperatorSet { set: set(9, 1), strategy: s },
            StrategyRemovedFromOperatorSet { set: set(9, u32::MAX), strategy: StrategyId(u32::MAX) },
            SlasherUpdated { set: set(9, 0), slasher: a(7), effect_block: 12 },
            RegistrationAllowedSet { set: set(9, 0), operator: a(5), allowed: false },
            SetRiskDeclared { set: set(9, 0), prize: big(1000), threshold_num: 1, threshold_den: 3 },
            IncompatibleServiceSet { service: a(9), other: a(10), incompatible: true },
            OperatorAddedToOperatorSet { operator: a(5), set: set(9, 0) },
            OperatorRemovedFromOperatorSet { operator: a(5), set: set(9, 0), slashable_until: 99 },
            AllocationUpdated {
                operator: a(5),
                set: set(9, 0),
                strategy: s,
                magnitude: 10u64.pow(18),
                effect_block: 5,
            },
            EncumberedMagnitudeUpdated { operator: a(5), strategy: s, encumbered: 0 },
            MaxMagnitudeUpdated { operator: a(5), strategy: s, max_magnitude: 10u64.pow(18) - 1 },
            SlashRequested {
                set: set(9, 0),
                request_id: 4,
                operator: a(5),
                strategies: vec![s, StrategyId(0)],
                wads_to_slash: vec![big(0), max],
                executable_at: 300,
            },
            SlashVetoed { set: set(9, 0), request_id: 4, operator: a(5) },
            SlashRequestExecuted { set: set(9, 0), request_id: 4, slash_id: 1 },
            OperatorSlashed {
                operator: a(5),
                set: set(9, 0),
                slash_id: 1,
                strategies: vec![],
                wad_slashed: vec![],
                description: "double sign, {1,2}".into(),
            },
            OperatorSharesSlashed { operator: a(5), strategy: s, total_slashed_shares: big(4) },
            BurnOrRedistributableSharesIncreased {
                set: set(9, 0),
                slash_id: 1,
                strategy: s,
                shares: big(4),
                clearable_at: 400,
            },
            BurnOrRedistributableSharesDecreased {
                set: set(9, 0),
                slash_id: 1,
                strategy: s,
                shares: big(4),
                tokens: big(5),
                recipient: a(8),
            },
            WithdrawalQueued {
                staker: a(1),
                nonce: 0,
                delegated_to: None,
                start_block: 10,
                strategies: vec![s],
                scaled_shares: vec![big(1)].into(),
                withdrawable_shares: vec![U256::ZERO].into(),
            },
            WithdrawalCompleted {
                staker: a(1),
                nonce: 0,
                receive_as_tokens: true,
                shares: vec![big(1), big(2)],
                tokens: vec![big(3), U256::ZERO],
            },
            PendingAdminAdded { account: a(1), admin: a(2) },
            PendingAdminRemoved { account: a(1), admin: a(2) },
            AdminSet { account: a(1), admin: a(2) },
            AdminRemoved { account: a(1), admin: a(2) },
            AppointeeSet { account: a(1), appointee: a(3), action: TxKind::ModifyAllocations },
            AppointeeRemoved { account: a(1), appointee: a(3), action: TxKind::VaultDeposit },
            Paused { by: a(11), modules: vec![Module::Transfers, Module::Slashing] },
            Unpaused { by: a(11), modules: vec![] },
            ProposalCreated {
                id: 1,
                action: Box::new(GovernanceAction::SetDepositCap { strategy: s, cap: Some(max) }),
                eta: 1000,
            },
            ProposalExecuted { id: 1, action: Box::new(GovernanceAction::SetVaultParams { vault: v, params }) },
            ProposalCancelled { id: u64::MAX },
            BeaconReportVoted { member: a(12), slot: 123, root: h, votes: 1, quorum: 3 },
            BeaconReportAccepted { slot: 123, root: B256::ZERO, validators: 1000, withdrawals: 0 },
            BeaconWithdrawalPaid { validator_index: 7, address: a(1), amount_gwei: 32_000_000_000 },
            PodDeployed { owner: a(1), pod: a(13) },
            ValidatorRestaked { owner: a(1), validator_index: 7, effective_balance_gwei: 32_000_000_000 },
            PodSharesUpdated { owner: a(1), shares: big(32) },
            CheckpointCreated { owner: a(1), number: 2, slot: 130, pod_balance_gwei: 5, proofs_remaining: 3 },
            ValidatorCheckpointed { owner: a(1), validator_index: 7, balance_gwei: 31_000_000_000 },
            CheckpointProofSkipped { owner: a(1), validator_index: 8, reason: "not in the pod" },
            ValidatorWithdrawn { owner: a(1), validator_index: 7 },
            CheckpointFinalized {
                owner: a(1),
                number: 2,
                slot: 130,
                prev_restaked_gwei: 32_000_000_000,
                delta_gwei: -1_000_000_000,
            },
            BeaconChainSlashingFactorDecreased { staker: a(1), prev_factor: 10u64.pow(18), new_factor: 9 },
            RewardsSubmissionCreated(Box::new(cairn_state::event::RewardsSubmissionCreatedBody {
                service: a(9),
                nonce: 3,
                hash: h,
                kind: SubmissionKind::OperatorDirectedSet,
                token: t,
                amount: big(100),
                fee: big(1),
                start: 1_700_000_000,
                duration: 86_400,
            })),
            OperatorSplitSet {
                operator: a(5),
                target: SplitTarget::Set(set(9, 2)),
                old: None,
                new: 1000,
                activated_at: 55,
            },
            OperatorSplitSet {
                operator: a(5),
                target: SplitTarget::Service(a(9)),
                old: Some(0),
                new: 1,
                activated_at: 5,
            },
            ProtocolFeeOptInSet { submitter: a(9), opt_in: true },
            DistributionRootSubmitted { index: 0, root: h, calculation_end: 1_700_086_400, activated_at: 77 },
            DistributionRootDisabled { index: 0 },
            ClaimerForSet { earner: a(1), claimer: None },
            RewardsClaimed(Box::new(cairn_state::event::RewardsClaimedBody {
                root: h,
                earner: a(1),
                claimer: a(2),
                recipient: a(3),
                token: t,
                amount: big(9),
            })),
            VaultCreated { vault: v, symbol: "cETH".into(), account: a(20) },
            VaultParamsSet { vault: v, params },
            VaultAssetSet { vault: v, config },
            VaultPolicySet { vault: v, policy },
            VaultRolesSet { vault: v, roles },
            VaultAssetPaused { vault: v, asset: t, paused: true },
            VaultTransfer { vault: v, from: a(1), to: a(2), amount: big(1) },
            VaultApproval { vault: v, owner: a(1), spender: a(2), amount: max },
            VaultDeposited(Box::new(cairn_state::event::VaultDepositedBody {
                vault: v,
                sender: a(1),
                receiver: a(2),
                asset: t,
                amount: big(1),
                value: big(2),
                tokens: big(3),
                rate: big(1),
            })),
            VaultRedeemed(Box::new(cairn_state::event::VaultRedeemedBody {
                vault: v,
                owner: a(1),
                asset: t,
                tokens: big(1),
                value: big(2),
                fee_bps: 30,
                amount: big(3),
                rate: big(1),
            })),
            VaultFeesMinted { vault: v, recipient: a(5), tokens: big(1), management: big(2), performance: U256::ZERO },
            VaultPricesReported { vault: v, member: a(12), round: 8 },
            VaultPricesAccepted {
                vault: v,
                round: 8,
                prices: vec![AssetPrice { asset: t, price: big(1) }, AssetPrice { asset: AssetId(0), price: max }],
            },
            VaultRateSettled(Box::new(cairn_state::event::VaultRateSettledBody {
                vault: v,
                number: 4,
                rate: big(1),
                previous: big(1),
                supply: big(100),
                assets: big(101),
                reserve: U256::ZERO,
            })),
            VaultRateSmoothed { vault: v, rate: big(2), settled: big(1) },
            VaultRateQuarantined { vault: v, rate: big(3), settled: big(1), breach: Breach::AprCap },
            VaultRateAccepted { vault: v, rate: big(3), quarantined: big(3) },
            VaultRateRejected { vault: v, rate: big(1), settled: big(1) },
            VaultTargetsSet {
                vault: v,
                buffer_bps: 1000,
                operators: vec![TargetWeight { operator: a(5), bps: 9000 }],
                worst_loss_bps: 150,
                worst_service: Some(a(9)),
            },
            VaultTargetsSet { vault: v, buffer_bps: 10_000, operators: vec![], worst_loss_bps: 0, worst_service: None },
            VaultPlaceOpened { vault: v, operator: a(5), account: a(21) },
            VaultAllocated { vault: v, operator: a(5), asset: t, amount: big(10) },
            VaultValidatorsDeposited { vault: v, operator: a(5), pod: a(13), count: 2, amount: big(64) },
            VaultValidatorsVerified { vault: v, operator: a(5), count: 2 },
            VaultValidatorExitsRequested { vault: v, operator: a(5), count: 1 },
            VaultUnbondingQueued {
                vault: v,
                operator: a(5),
                asset: t,
                nonce: 1,
                expected: big(5),
                committed: big(4),
                completable_at: 700,
            },
            VaultUnbondingCompleted { vault: v, operator: a(5), asset: t, nonce: 1, tokens: big(5) },
            VaultRebalanced { vault: v, unbonded: big(1), deposited: big(2), completed: 3 },
            VaultWithdrawalRequested {
                vault: v,
                ticket: 1,
                owner: a(1),
                asset: t,
                tokens: big(1),
                requested: big(1),
                eta_block: 800,
                eta_time: 1_700_000_000,
            },
            VaultTicketTransferred { vault: v, ticket: 1, from: a(1), to: a(2) },
            VaultTicketFinalized { vault: v, ticket: 1, asset: t, tokens: big(1), amount: big(1), rate: big(1) },
            VaultTicketClaimed { vault: v, ticket: 1, owner: a(2), asset: t, amount: big(1) },
            VaultTicketCancelled { vault: v, ticket: 2, owner: a(1), tokens: big(1) },
            VaultEmergencyUnwind { vault: v, unbondings: 2 },
            VaultEmergencyExit {
                vault: v,
                owner: a(1),
                tokens: big(1),
                paid: vec![AssetAmount { asset: t, amount: big(1) }],
            },
            VaultRewardsClaimed { vault: v, earner: a(21), asset: t, amount: big(1) },
        ]
    }

    #[test]
    fn every_event_the_node_serves_round_trips() {
        let mut seen = BTreeSet::new();
        for event in samples() {
            // As the node makes receipt events (crates/node/src/app.rs).
            let json = serde_json::to_value(&event).unwrap();
            seen.insert(json["event"].as_str().unwrap().to_owned());
            assert_eq!(round_trip(&json), json, "{event:?}");
        }
        let all: BTreeSet<String> = Event::VARIANTS.iter().map(|n| (*n).to_owned()).collect();
        assert_eq!(seen, all, "a sample of every event");
    }

    #[test]
    fn hand_written_events_encode_to_postgres_text_and_back() {
        let addr = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let lower = "\\x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        let transfer = json!({"event": "transfer", "asset": 1, "from": addr, "to": "0x0101010101010101010101010101010101010101", "amount": "115792089237316195423570985008687907853269984665640564039457584007913129639935"});
        let cols = encoded(&transfer);
        assert_eq!(cols["from_address"].as_deref(), Some(lower));
        assert_eq!(cols["asset"].as_deref(), Some("1"));
        assert_round_trips(&transfer);
        assert_eq!(round_trip(&transfer)["from"], json!(addr.to_lowercase()), "addresses come back lowercase");

        let deposit =
            json!({"event": "deposit", "staker": addr, "strategy": 0, "amount": "0", "shares": "32000000000000000000"});
        assert_round_trips(&deposit);

        let slashed = json!({"event": "operator_slashed", "operator": addr,
            "set": {"service": "0x0909090909090909090909090909090909090909", "id": 4294967295u32},
            "slash_id": 2, "strategies": [0, 3], "wad_slashed": ["1", "500000000000000000"], "description": "it's \"bad\""});
        let cols = encoded(&slashed);
        assert_eq!(cols["set_service"].as_deref(), Some("\\x0909090909090909090909090909090909090909"));
        assert_eq!(cols["set_id"].as_deref(), Some("4294967295"));
        assert_eq!(cols["strategies"].as_deref(), Some("{0,3}"));
        assert_eq!(cols["wad_slashed"].as_deref(), Some("{1,500000000000000000}"));
        assert_eq!(cols["description"].as_deref(), Some("it's \"bad\""));
        assert_round_trips(&slashed);

        for delegated in [Value::Null, json!(addr)] {
            let queued = json!({"event": "withdrawal_queued", "staker": addr, "nonce": u64::MAX, "delegated_to": delegated,
                "start_block": 5, "strategies": [], "scaled_shares": [], "withdrawable_shares": []});
            let cols = encoded(&queued);
            assert_eq!(cols["nonce"].as_deref(), Some("18446744073709551615"));
            assert_eq!(cols["strategies"].as_deref(), Some("{}"));
            assert_eq!(cols["delegated_to"].is_none(), delegated.is_null());
            assert_eq!(cols["receive_as_tokens"], None, "another kind's column");
            assert_round_trips(&queued);
        }

        let requested = json!({"event": "slash_requested", "set": {"service": addr, "id": 0}, "request_id": 7,
            "operator": addr, "strategies": [1], "wads_to_slash": ["1000000000000000000"], "executable_at": 99});
        assert_round_trips(&requested);

        let finalized = json!({"event": "checkpoint_finalized", "owner": addr, "number": 1, "slot": 2,
            "prev_restaked_gwei": 3, "delta_gwei": -32000000000i64});
        assert_eq!(encoded(&finalized)["delta_gwei"].as_deref(), Some("-32000000000"));
        assert_round_trips(&finalized);

        let submission = json!({"event": "rewards_submission_created", "service": addr, "nonce": 0,
            "hash": "0xABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB", "kind": "unique_stake", "token": 2,
            "amount": "10", "fee": "0", "start": 0, "duration": 604800});
        let cols = encoded(&submission);
        assert_eq!(cols["kind"].as_deref(), Some("unique_stake"));
        assert_eq!(cols["hash"].as_deref(), Some(format!("\\x{}", "ab".repeat(32)).as_str()));
        assert_eq!(
            round_trip(&submission)["hash"],
            json!(format!("0x{}", "ab".repeat(32))),
            "hashes come back lowercase"
        );

        let targets = json!({"event": "vault_targets_set", "vault": 0, "buffer_bps": 500,
            "operators": [{"operator": addr, "bps": 9500}], "worst_loss_bps": 10, "worst_service": null});
        let cols = encoded(&targets);
        assert_eq!(cols["operators"].as_deref(), Some(format!(r#"[{{"bps":9500,"operator":"{addr}"}}]"#).as_str()));
        // Inside jsonb an address is stored as served: compare as served.
        let mut back = lower_addresses(&targets);
        back["operators"] = targets["operators"].clone();
        assert_eq!(round_trip(&targets), back);

        let appointee =
            json!({"event": "appointee_set", "account": addr, "appointee": addr, "action": "modify_allocations"});
        assert_eq!(encoded(&appointee)["action"].as_deref(), Some("modify_allocations"));
        assert_round_trips(&appointee);

        let opt_in = json!({"event": "protocol_fee_opt_in_set", "submitter": addr, "opt_in": false});
        assert_eq!(encoded(&opt_in)["opt_in"].as_deref(), Some("f"));
        assert_round_trips(&opt_in);
    }

    #[test]
    fn decode_reads_what_postgres_prints() {
        let (family, kind) = super::kind("registration_allowed_set").unwrap();
        let mut row = vec![None; columns(family).len()];
        let at = |name: &str| columns(family).iter().position(|(c, _)| c == name).unwrap();
        row[at("set_service")] = Some("\\x0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A".to_owned());
        row[at("set_id")] = Some("3".to_owned());
        row[at("operator")] = Some("\\x0505050505050505050505050505050505050505".to_owned());
        for (text, allowed) in [("t", true), ("true", true), ("f", false), ("false", false)] {
            row[at("allowed")] = Some(text.to_owned());
            let expected = json!({"event": "registration_allowed_set",
                "set": {"service": "0x0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "id": 3},
                "operator": "0x0505050505050505050505050505050505050505", "allowed": allowed});
            assert_eq!(decode(family, kind, &row).unwrap(), expected);
        }
        row[at("allowed")] = Some("yes".to_owned());
        assert!(matches!(decode(family, kind, &row), Err(EncodeError::BadCell { .. })));
        row[at("allowed")] = Some("t".to_owned());
        row[at("set_id")] = None;
        assert!(matches!(decode(family, kind, &row), Err(EncodeError::PartialSetKey { column: "set", .. })));
        assert!(matches!(decode(family, kind, &row[1..]), Err(EncodeError::RowWidth { .. })));
        let (other, _) = super::kind("transfer").unwrap();
        assert!(matches!(decode(other, kind, &row), Err(EncodeError::NotInFamily { .. })));
    }

    #[test]
    fn refuses_events_it_cannot_store_and_replaces_nul() {
        let addr = "0x0101010101010101010101010101010101010101";
        let transfer = json!({"event": "transfer", "asset": 1, "from": addr, "to": addr, "amount": "5"});
        let (family, kind) = super::kind("transfer").unwrap();
        assert!(super::kind("teleport").is_none());

        let mut unknown = transfer.clone();
        unknown["event"] = json!("teleport");
        assert!(matches!(encode(family, kind, &unknown), Err(EncodeError::UnknownEvent(name)) if name == "teleport"));
        let mut other = transfer.clone();
        other["event"] = json!("minted");
        assert!(matches!(encode(family, kind, &other), Err(EncodeError::KindMismatch { .. })));
        let mut untagged = transfer.clone();
        untagged.as_object_mut().unwrap().remove("event");
        assert!(matches!(encode(family, kind, &untagged), Err(EncodeError::MissingKey { key: "event", .. })));
        assert!(matches!(encode(family, kind, &Value::Null), Err(EncodeError::NotAnObject { .. })));
        let (strategy, deposit) = super::kind("deposit").unwrap();
        assert!(matches!(encode(strategy, kind, &transfer), Err(EncodeError::NotInFamily { .. })));
        assert!(matches!(encode(family, deposit, &transfer), Err(EncodeError::NotInFamily { .. })));

        let mut extra = transfer.clone();
        extra["memo"] = json!("hi");
        let err = encode_err(&extra);
        assert!(matches!(&err, EncodeError::UndeclaredKey { kind: "transfer", key } if key == "memo"), "{err}");
        assert!(err.to_string().contains("memo"), "{err}");

        let mut missing = transfer.clone();
        missing.as_object_mut().unwrap().remove("amount");
        assert!(matches!(encode_err(&missing), EncodeError::MissingKey { kind: "transfer", key: "amount" }));

        for bad in
            ["0x01", "0x010101010101010101010101010101010101010g", "01010101010101010101010101010101010101010101"]
        {
            let mut e = transfer.clone();
            e["to"] = json!(bad);
            let err = encode_err(&e);
            assert!(matches!(err, EncodeError::BadHex { key: "to", .. }), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }

        for bad in [
            "-5",
            "1.5",
            "",
            "+5",
            "05",
            " 5",
            "1e18",
            "0x10",
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        ] {
            let mut e = transfer.clone();
            e["amount"] = json!(bad);
            assert!(matches!(encode_err(&e), EncodeError::BadNumber { key: "amount", .. }), "{bad:?}");
        }
        let (slashing, requested) = super::kind("slash_requested").unwrap();
        let req = json!({"event": "slash_requested", "set": {"service": addr, "id": 0}, "request_id": 7,
            "operator": addr, "strategies": [1], "wads_to_slash": ["1", "-1"], "executable_at": 99});
        assert!(matches!(encode(slashing, requested, &req), Err(EncodeError::BadNumber { key: "wads_to_slash", .. })));

        let wrong_types = [
            ("amount", json!(5)),
            ("asset", json!("1")),
            ("asset", json!(-1)),
            ("asset", json!(1.5)),
            ("from", json!(1)),
            ("to", json!({"address": addr})),
        ];
        for (key, value) in wrong_types {
            let mut e = transfer.clone();
            e[key] = value.clone();
            let err = encode_err(&e);
            let named = match &err {
                EncodeError::WrongType { key: k, .. } | EncodeError::BadNumber { key: k, .. } => *k == key,
                _ => false,
            };
            assert!(named, "{key} = {value}: {err}");
        }

        let mut set = req.clone();
        set["set"] = json!({"service": addr, "id": 0, "extra": 1});
        assert!(matches!(encode(slashing, requested, &set), Err(EncodeError::WrongType { key: "set", .. })));
        set["set"] = json!([addr, 0]);
        assert!(matches!(encode(slashing, requested, &set), Err(EncodeError::WrongType { key: "set", .. })));
        let mut ints = req.clone();
        ints["strategies"] = json!(["1"]);
        assert!(matches!(encode(slashing, requested, &ints), Err(EncodeError::WrongType { key: "strategies", .. })));

        let opt_in = json!({"event": "protocol_fee_opt_in_set", "submitter": addr, "opt_in": "true"});
        assert!(matches!(encode_err(&opt_in), EncodeError::WrongType { key: "opt_in", .. }));
        // NUL, which PostgreSQL cannot store, becomes U+FFFD rather than stopping the indexer.
        let described = json!({"event": "operator_metadata_updated", "operator": addr, "metadata_uri": "a\u{0}b"});
        let (family, kind) = super::kind("operator_metadata_updated").unwrap();
        let cells = encode(family, kind, &described).unwrap();
        assert!(cells.iter().any(|c| c.as_deref() == Some("a\u{FFFD}b")), "{cells:?}");
        let prices =
            json!({"event": "vault_prices_accepted", "vault": 0, "round": 1, "prices": [{"a\u{0}": "x\u{0}"}]});
        let (family, kind) = super::kind("vault_prices_accepted").unwrap();
        let cells = encode(family, kind, &prices).unwrap();
        assert!(cells.iter().any(|c| c.as_deref() == Some("[{\"a\u{FFFD}\":\"x\u{FFFD}\"}]")), "{cells:?}");
        let finalized = json!({"event": "checkpoint_finalized", "owner": addr, "number": 1, "slot": 2,
            "prev_restaked_gwei": 3, "delta_gwei": 1.5});
        assert!(matches!(encode_err(&finalized), EncodeError::BadNumber { key: "delta_gwei", .. }));
    }
}
