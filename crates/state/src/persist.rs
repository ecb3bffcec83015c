//! The state as rows for the node's store: one module owns the table ids and key encodings.
//!
//! Each table is a numbered keyspace; a row's key and value are postcard bytes. Table 0 holds
//! the globals under the empty key. The numbering is the storage format: append, never reorder.
//! With tracking on, every committed write is remembered, and `take_changes` returns each
//! written row once with its value now, so a node persists a block's effect in O(writes).

use serde::Serialize;

use crate::{Globals, State, store::Persisted};

/// Table id of the globals row.
pub const GLOBALS: u8 = 0;

/// Bytes kept at the front of a [`Changes`] buffer for the row count (a u64 varint).
const COUNT_ROOM: usize = 10;

/// Rows of the state (a block's written rows, or all of them), held in one buffer laid out as
/// their canonical encoding: postcard of a sequence of `(table: u8, key: bytes, value: Option<bytes>)`
/// (varint count; per row the table byte, the length-prefixed key, then 0 for a deletion or 1
/// and the length-prefixed value). Keys and values are postcard bytes of the state's own types.
/// A node hashes [`Changes::canonical_bytes`] into its state commitment and writes each row
/// from the same buffer: no allocation per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    buf: Vec<u8>,
    rows: Vec<RowAt>,
    /// Where the count's varint starts (it ends at `COUNT_ROOM`).
    count_at: usize,
}

/// Where one row's parts lie in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowAt {
    table: u8,
    key: (usize, usize),
    value: Option<(usize, usize)>,
}

/// One row of [`Changes`]: table id, key bytes, value bytes (`None`: the row was deleted).
pub type RowRef<'a> = (u8, &'a [u8], Option<&'a [u8]>);

impl Default for Changes {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl Changes {
    /// No rows, with room for about `bytes` bytes of them.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.saturating_add(COUNT_ROOM));
        buf.resize(COUNT_ROOM, 0);
        // Rows average well over 24 bytes.
        let mut c = Self { buf, rows: Vec::with_capacity(bytes / 24), count_at: COUNT_ROOM };
        c.write_count();
        c
    }

    /// Appends a row from values: `key` and `value` are encoded with postcard.
    pub fn push<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        table: u8,
        key: &K,
        value: Option<&V>,
    ) -> Result<(), postcard::Error> {
        let mark = (self.buf.len(), self.rows.len());
        let result = self.push_with(table, |b| append(key, b), value.map(|v| move |b: &mut Vec<u8>| append(v, b)));
        if result.is_err() {
            // A value that does not encode leaves no partial row behind.
            self.buf.truncate(mark.0);
            self.rows.truncate(mark.1);
            self.write_count();
        }
        result
    }

    /// Appends a row of raw bytes.
    pub fn push_bytes(&mut self, table: u8, key: &[u8], value: Option<&[u8]>) {
        fn write(bytes: &[u8]) -> impl FnOnce(&mut Vec<u8>) -> Result<(), postcard::Error> + '_ {
            move |b| {
                b.extend_from_slice(bytes);
                Ok(())
            }
        }
        // Writing bytes cannot fail.
        let _ = self.push_with(table, write(key), value.map(write));
    }

    fn push_with(
        &mut self,
        table: u8,
        key: impl FnOnce(&mut Vec<u8>) -> Result<(), postcard::Error>,
        value: Option<impl FnOnce(&mut Vec<u8>) -> Result<(), postcard::Error>>,
    ) -> Result<(), postcard::Error> {
        self.buf.push(table);
        let key = self.framed(key)?;
        let value = match value {
            None => {
                self.buf.push(0);
                None
            }
            Some(v) => {
                self.buf.push(1);
                Some(self.framed(v)?)
            }
        };
        self.rows.push(RowAt { table, key, value });
        self.write_count();
        Ok(())
    }

    /// Writes a length-prefixed part; returns where its bytes lie.
    fn framed(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), postcard::Error>,
    ) -> Result<(usize, usize), postcard::Error> {
        // One byte holds lengths under 128 (nearly every key and value); longer parts shift
        // right by the extra length bytes.
        let len_at = self.buf.len();
        self.buf.push(0);
        write(&mut self.buf)?;
        let len = self.buf.len().saturating_sub(len_at).saturating_sub(1);
        let mut prefix = [0u8; COUNT_ROOM];
        let n = varint(&mut prefix, len as u64);
        match (prefix.get(..n), self.buf.get_mut(len_at)) {
            (Some(&[one]), Some(slot)) => *slot = one,
            (Some(head), _) => drop(self.buf.splice(len_at..len_at.saturating_add(1), head.iter().copied())),
            _ => {}
        }
        let start = len_at.saturating_add(n);
        Ok((start, start.saturating_add(len)))
    }

    fn write_count(&mut self) {
        let mut prefix = [0u8; COUNT_ROOM];
        let n = varint(&mut prefix, self.rows.len() as u64);
        self.count_at = COUNT_ROOM.saturating_sub(n);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.count_at..COUNT_ROOM), prefix.get(..n)) {
            dst.copy_from_slice(src);
        }
    }

    /// The canonical bytes of the rows (what the state commitment hashes).
    pub fn canonical_bytes(&self) -> &[u8] {
        self.buf.get(self.count_at..).unwrap_or_default()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows in order.
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        let part = |(a, b): (usize, usize)| self.buf.get(a..b).unwrap_or_default();
        self.rows.iter().map(move |r| (r.table, part(r.key), r.value.map(part)))
    }
}

/// Appends the postcard bytes of `value` to `buf`.
fn append<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>) -> Result<(), postcard::Error> {
    postcard::serialize_with_flavor(value, Append(buf))
}

/// A postcard output that appends to a vector it borrows.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// postcard's unsigned varint into `out`: seven bits per byte, least significant first, the high
/// bit set on all but the last. Returns its length.
fn varint(out: &mut [u8; COUNT_ROOM], mut n: u64) -> usize {
    for (i, slot) in out.iter_mut().enumerate() {
        if n < 0x80 {
            *slot = n as u8;
            return i.saturating_add(1);
        }
        *slot = (n & 0x7f) as u8 | 0x80;
        n >>= 7;
    }
    COUNT_ROOM // a u64 takes at most ten bytes
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
        let State { g: _, track: _, changes_capacity: _, $($t),* } = $self;
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
    pub fn take_changes(&mut self) -> Result<Changes, LoadError> {
        let mut out = Changes::with_capacity(self.changes_capacity);
        self.globals_row(&mut out)?;
        let tables = tables!(self, &mut dyn Persisted);
        for (i, t) in tables.into_iter().enumerate() {
            let table = table_id(i);
            t.drain_changes(table, &mut out).map_err(|e| encode_err(table, e))?;
        }
        // The next block likely writes about as much: room for twice that up front, so that the
        // buffer rarely grows (and copies) while rows are written.
        self.changes_capacity = out.canonical_bytes().len().saturating_mul(2);
        Ok(out)
    }

    /// Every row of the state, ordered by table and key, globals first (a genesis snapshot).
    pub fn rows(&self) -> Result<Changes, LoadError> {
        let mut out = Changes::default();
        self.globals_row(&mut out)?;
        let tables = tables!(self, &dyn Persisted);
        for (i, t) in tables.into_iter().enumerate() {
            let table = table_id(i);
            t.dump(table, &mut out).map_err(|e| encode_err(table, e))?;
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

    fn globals_row(&self, out: &mut Changes) -> Result<(), LoadError> {
        let value = postcard::to_allocvec(&self.g).map_err(|e| encode_err(GLOBALS, e))?;
        out.push_bytes(GLOBALS, &[], Some(&value));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    type Plain = (u8, Vec<u8>, Option<Vec<u8>>);

    fn build(rows: &[Plain]) -> Changes {
        let mut c = Changes::default();
        for (t, k, v) in rows {
            c.push_bytes(*t, k, v.as_deref());
        }
        c
    }

    #[test]
    fn canonical_bytes_are_postcard_past_one_byte_counts() {
        let rows: Vec<Plain> =
            (0..200u32).map(|i| (i as u8, vec![7; i as usize], (i % 3 != 0).then(|| vec![1; 130]))).collect();
        let c = build(&rows);
        assert_eq!(c.canonical_bytes(), postcard::to_allocvec(&rows).unwrap());
        assert_eq!(Changes::default().canonical_bytes(), [0], "no rows: a zero count");
        assert!(Changes::default().is_empty());
    }

    #[test]
    fn pushed_values_are_their_postcard_bytes() {
        let mut c = Changes::default();
        c.push(3, &(7u8, 300u64), Some(&vec![9u16; 200])).unwrap();
        c.push::<u8, u8>(4, &1, None).unwrap();
        let rows: Vec<RowRef<'_>> = c.iter().collect();
        let key = postcard::to_allocvec(&(7u8, 300u64)).unwrap();
        let value = postcard::to_allocvec(&vec![9u16; 200]).unwrap();
        assert!(value.len() >= 128, "a two-byte length prefix");
        assert_eq!(rows, vec![(3, key.as_slice(), Some(value.as_slice())), (4, &[1u8][..], None)]);
        let plain: Vec<Plain> = vec![(3, key.clone(), Some(value.clone())), (4, vec![1], None)];
        assert_eq!(c.canonical_bytes(), postcard::to_allocvec(&plain).unwrap());
    }

    proptest! {
        #[test]
        fn rows_read_back_and_encode_as_postcard(rows in prop::collection::vec(
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..300), prop::option::of(prop::collection::vec(any::<u8>(), 0..20_000))),
            0..12,
        )) {
            let c = build(&rows);
            let want = postcard::to_allocvec(&rows).unwrap();
            prop_assert_eq!(c.canonical_bytes(), want.as_slice());
            let back: Vec<Plain> = c.iter().map(|(t, k, v)| (t, k.to_vec(), v.map(<[u8]>::to_vec))).collect();
            prop_assert_eq!(back, rows);
        }
    }
}
