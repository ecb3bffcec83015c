//! A checked block turned into COPY text rows, table by table, before any database work: an
//! event that does not fit its table fails here and nothing is written.

use std::collections::BTreeMap;

use crate::{
    families::{self, EncodeError, pg_json, pg_text},
    verify::NodeBlock,
};

/// One table's rows in PostgreSQL's COPY text format.
#[derive(Debug, Clone, Default)]
pub struct TableRows {
    /// The `COPY ... FROM STDIN` statement with the column list.
    pub copy: String,
    /// Tab-separated rows, one per line.
    pub data: Vec<u8>,
    /// Rows in `data`.
    pub rows: usize,
}

/// Everything of one block but its header: the transactions and each event family's rows.
#[derive(Debug, Clone, Default)]
pub struct BlockRows {
    /// The `transactions` table.
    pub transactions: TableRows,
    /// Event rows by table name (sorted, so tables are written in one order).
    pub events: BTreeMap<&'static str, TableRows>,
    /// Events in the block.
    pub event_count: usize,
}

/// Why a block's rows could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    /// An event does not fit its table.
    #[error("block {height} transaction {tx_index} event {event_index}: {error}")]
    Event {
        /// Height.
        height: u64,
        /// Transaction position.
        tx_index: u32,
        /// Event position in the transaction.
        event_index: usize,
        /// The encoder's error.
        error: EncodeError,
    },
    /// A transaction field is not what the node promises.
    #[error("block {height} transaction {tx_index}: {what}")]
    Tx {
        /// Height.
        height: u64,
        /// Transaction position.
        tx_index: u32,
        /// What is wrong, with the value.
        what: String,
    },
}

const TX_COLUMNS: &str = "height, tx_index, hash, sender, nonce, chain_id, expiry, action, body, signature, ok, \
                          error_name, error_message, event_count";

/// Hex digits of a 65-byte `r‖s‖v` signature.
const SIGNATURE_HEX: usize = 130;

/// Builds the rows of a checked block.
pub fn block_rows(block: &NodeBlock) -> Result<BlockRows, RowsError> {
    let height = block.header.height;
    let mut out = BlockRows {
        transactions: TableRows { copy: format!("COPY transactions ({TX_COLUMNS}) FROM STDIN"), ..Default::default() },
        ..Default::default()
    };
    for (tx, r) in block.txs.iter().zip(&block.receipts) {
        let bad = |what: String| RowsError::Tx { height, tx_index: r.index, what };
        let sig = tx
            .signature
            .strip_prefix("0x")
            .filter(|s| s.len() == SIGNATURE_HEX && s.bytes().all(|b| b.is_ascii_hexdigit()));
        let sig = sig.ok_or_else(|| bad(format!("signature {:?} is not 0x and 130 hex digits", tx.signature)))?;
        let body = jsonb_body(&tx.body).map_err(|e| bad(format!("body {:?} is not JSON: {e}", tx.body)))?;
        let (error_name, error_message) = match &r.error {
            Some(e) => (Some(pg_text(&e.name).into_owned()), Some(pg_text(&e.message).into_owned())),
            None => (None, None),
        };
        let cells: [Option<String>; 14] = [
            Some(height.to_string()),
            Some(r.index.to_string()),
            Some(bytea(r.tx_hash.as_slice())),
            Some(bytea(r.sender.as_slice())),
            Some(tx.nonce.to_string()),
            Some(tx.chain_id.to_string()),
            Some(tx.expiry.to_string()),
            Some(pg_text(&tx.action).into_owned()),
            Some(body),
            Some(format!("\\x{}", sig.to_ascii_lowercase())),
            Some(if r.ok { "t" } else { "f" }.to_owned()),
            error_name,
            error_message,
            Some(r.events.len().to_string()),
        ];
        push_row(&mut out.transactions, &cells);
        for (i, event) in r.events.iter().enumerate() {
            let fail = |error| RowsError::Event { height, tx_index: r.index, event_index: i, error };
            let name = event.get("event").and_then(|v| v.as_str()).unwrap_or_default();
            let (family, kind) =
                families::kind(name).ok_or_else(|| fail(EncodeError::UnknownEvent(name.to_owned())))?;
            let values = families::encode(family, kind, event).map_err(fail)?;
            let table = out
                .events
                .entry(family.table)
                .or_insert_with(|| TableRows { copy: copy_statement(family), ..Default::default() });
            let mut cells = Vec::with_capacity(values.len() + 4);
            cells.extend([
                Some(height.to_string()),
                Some(r.index.to_string()),
                Some(i.to_string()),
                Some(name.to_owned()),
            ]);
            cells.extend(values);
            push_row(table, &cells);
            out.event_count += 1;
        }
    }
    Ok(out)
}

/// A body's jsonb text: the body itself, checked to be JSON, unless it escapes a NUL, which jsonb
/// refuses (then re-encoded with U+FFFD in its place). The common case parses nothing into values.
fn jsonb_body(body: &str) -> Result<String, serde_json::Error> {
    if body.contains("\\u0000") {
        let v: serde_json::Value = serde_json::from_str(body)?;
        return Ok(pg_json(&v).to_string());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(body)?;
    Ok(body.to_owned())
}

/// The COPY statement of a family's table.
fn copy_statement(family: &families::Family) -> String {
    let cols: Vec<String> = families::columns(family).into_iter().map(|(c, _)| c).collect();
    format!("COPY {} (height, tx_index, event_index, event, {}) FROM STDIN", family.table, cols.join(", "))
}

/// bytea's text input form.
pub fn bytea(bytes: &[u8]) -> String {
    format!("\\x{}", alloy_primitives::hex::encode(bytes))
}

/// Appends one row: cells tab-separated, `\N` for NULL, COPY's escapes for the text.
fn push_row(table: &mut TableRows, cells: &[Option<String>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            table.data.push(b'\t');
        }
        match cell {
            None => table.data.extend_from_slice(b"\\N"),
            Some(text) => escape_into(&mut table.data, text),
        }
    }
    table.data.push(b'\n');
    table.rows += 1;
}

/// COPY text format: backslash, tab, newline and carriage return are backslash-escaped.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_would_split_a_row() {
        let mut t = TableRows::default();
        push_row(&mut t, &[Some("a\tb\nc\\d\re".to_owned()), None, Some(String::new())]);
        assert_eq!(t.data, b"a\\tb\\nc\\\\d\\re\t\\N\t\n");
        assert_eq!(t.rows, 1);
        assert_eq!(bytea(&[0, 0xab, 0x10]), "\\x00ab10");
    }

    #[test]
    fn a_body_goes_to_jsonb_as_signed_unless_it_escapes_a_nul() {
        assert_eq!(jsonb_body(r#"{"a": 1}"#).unwrap(), r#"{"a": 1}"#);
        assert_eq!(jsonb_body(r#"{"a":"x\u0000y"}"#).unwrap(), "{\"a\":\"x\u{FFFD}y\"}");
        assert!(jsonb_body("{").is_err());
    }
}
