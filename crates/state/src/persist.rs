//! The state as rows for the node's store: one module owns the table ids and key encodings.
//!
//! Each table is a numbered keyspace; a row's key and value are postcard bytes. Table 0 holds
//! the globals under the empty key. The numbering is the storage format: append, never reorder.
//! With tracking on, every committed write is remembered, and `take_changes` returns each
//! written row once with its value now, so a node persists a block's effect in O(writes).

use serde::{Deserialize, Serialize};

use crate::{Globals, State, store::Persisted};

/// Table id of the globals row.
pub const GLOBALS: u8 = 0;

/// One stored row: table id, postcard key, postcard value (`None`: the row was deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Keyspace.
    pub table: u8,
    /// Postcard key.
    pub key: Vec<u8>,
    /// Postcard value; `None` deletes the row.
    pub value: Option<Vec<u8>>,
}

/// A stored row that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The table id is not one this version knows.
    #[error("unknown table id {table}")]
    UnknownTable {
        /// The id.
        table: u8,
    },
    /// The bytes do not decode.
    #[error("row of table {table} does not decode: {reason}")]
    Decode {
        /// The id.
        table: u8,
        /// The decoder's message.
        reason: String,
    },
    /// There was no globals row.
    #[error("the globals row is missing")]
    MissingGlobals,
}

macro_rules! tables_of {
    (($self:expr, $ptr:ty) $($t:ident),*) => {{
        let State { g: _, track: _, $($t),* } = $self;
        let all: Vec<$ptr> = vec![$($t),*];
        all
    }};
}

/// Every table in id order (id = index + 1), as `with_tables!` lists them.
macro_rules! tables {
    ($self:expr, $ptr:ty) => {
        with_tables!(tables_of!($self, $ptr))
    };
}

fn encode_err(table: u8, e: postcard::Error) -> LoadError {
    LoadError::Decode { table, reason: e.to_string() }
}

fn table_id(index: usize) -> u8 {
    u8::try_from(index.saturating_add(1)).unwrap_or(u8::MAX)
}

impl State {
    /// Starts or stops remembering committed writes for `take_changes`.
    pub fn set_tracking(&mut self, on: bool) {
        self.track = on;
    }

    /// The rows written since the last call (with tracking on), each once, ordered by table and
    /// key, with the globals row first.
    pub fn take_changes(&mut self) -> Result<Vec<Change>, LoadError> {
        let mut out = vec![self.globals_row()?];
        let tables = tables!(self, &mut dyn Persisted);
        let mut rows = Vec::new();
        for (i, t) in tables.into_iter().enumerate() {
            let table = table_id(i);
            t.drain_changes(&mut rows).map_err(|e| encode_err(table, e))?;
            out.extend(rows.drain(..).map(|(key, value)| Change { table, key, value }));
        }
        Ok(out)
    }

    /// Every row of the state, ordered by table and key, globals first (a genesis snapshot).
    pub fn rows(&self) -> Result<Vec<Change>, LoadError> {
        let mut out = vec![self.globals_row()?];
        let tables = tables!(self, &dyn Persisted);
        let mut rows = Vec::new();
        for (i, t) in tables.into_iter().enumerate() {
            let table = table_id(i);
            t.dump(&mut rows).map_err(|e| encode_err(table, e))?;
            out.extend(rows.drain(..).map(|(key, value)| Change { table, key, value }));
        }
        Ok(out)
    }

    /// Rebuilds a state from stored rows (any order). Tracking starts off.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (u8, &'a [u8], &'a [u8])>) -> Result<State, LoadError> {
        let rows: Vec<_> = rows.into_iter().collect();
        let (_, _, g) = rows.iter().find(|r| r.0 == GLOBALS).ok_or(LoadError::MissingGlobals)?;
        let g: Globals = postcard::from_bytes(g).map_err(|e| encode_err(GLOBALS, e))?;
        let mut s = State::empty(g);
        {
            let mut tables = tables!(&mut s, &mut dyn Persisted);
            for (table, key, value) in rows {
                if table == GLOBALS {
                    continue;
                }
                let t = tables.get_mut(usize::from(table).wrapping_sub(1)).ok_or(LoadError::UnknownTable { table })?;
                t.load(key, value).map_err(|e| encode_err(table, e))?;
            }
        }
        Ok(s)
    }

    fn globals_row(&self) -> Result<Change, LoadError> {
        let value = postcard::to_allocvec(&self.g).map_err(|e| encode_err(GLOBALS, e))?;
        Ok(Change { table: GLOBALS, key: Vec::new(), value: Some(value) })
    }
}
