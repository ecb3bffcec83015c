//! `GET /v1/events`: server-sent events, resumable without gap or duplicate.
//!
//! Each committed block gives its state-machine events in order, then one `new_block` event with
//! its header. Ids are positions in that sequence: `H:T:E` for event `E` of transaction `T` in
//! block `H`, `H:new_block` for block `H`'s header (after its events), so ids only grow and
//! `Last-Event-ID: H:new_block` means "I have block `H` whole".
//!
//! A stream subscribes to the node's block feed first, then replays the committed blocks it was
//! asked for from the store (`Last-Event-ID`, strictly after that id; else `?from_height=H`, from
//! block `H`), then goes on live, skipping the live blocks the replay already covered. A consumer
//! too slow for the feed gets a `lagged` event and the stream ends; reconnecting with its last id
//! resumes from the store.

use std::{convert::Infallible, sync::Arc};

use alloy_primitives::B256;
use axum::{
    Extension,
    extract::{Query, State, rejection::QueryRejection},
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strum::VariantNames;
use tokio::sync::{OwnedSemaphorePermit, broadcast};
use utoipa::ToSchema;

use crate::{
    api::ApiError,
    app::AppError,
    block::Header,
    http::Guards,
    node::{CommittedBlock, EventRecord, Node, event_records},
    pending::DroppedTx,
};

/// The name of the per-block event.
pub const NEW_BLOCK: &str = "new_block";
/// The name of the event that ends a stream whose consumer fell behind the block feed.
pub const LAGGED: &str = "lagged";
/// The event of a transaction that left the mempool uncommitted (data: `DroppedTx`, no id).
pub const DROPPED: &str = "dropped";
/// The last event of a stream whose devnet was reverted (data: the head it went back to).
pub const REVERTED: &str = "reverted";

/// Filters and start of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Only events of this name: a state-machine event (`deposit`, `slashed`, ...) or
    /// `new_block`. Unknown names are refused (400 `UnknownEvent`, listing the known ones).
    pub event: Option<String>,
    /// Only state-machine events that mention this address (`new_block` events still come).
    pub address: Option<String>,
    /// Only state-machine events of this transaction (`new_block` events still come).
    pub tx: Option<String>,
    /// Replay the committed blocks from this height on (at most `max_replay_blocks` of them,
    /// default 10,000), then go on live. `Last-Event-ID` takes precedence.
    pub from_height: Option<u64>,
}

/// A `new_block` event's data: the committed block's header fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NewBlock {
    /// Height.
    pub height: u64,
    /// Unix seconds.
    pub time: u64,
    /// Header hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// Number of transactions.
    pub tx_count: u32,
    /// State commitment after the block.
    #[schema(value_type = String)]
    pub state_hash: B256,
}

impl NewBlock {
    fn of(h: &Header) -> Result<Self, cairn_primitives::canonical::EncodeError> {
        Ok(Self { height: h.height, time: h.time, hash: h.hash()?, tx_count: h.tx_count, state_hash: h.state_hash })
    }
}

/// A `lagged` event's data: the stream fell behind the block feed and ends here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Lagged {
    /// Always `Lagged`.
    pub error: String,
    /// What happened, with the values.
    pub message: String,
    /// Blocks the stream could not deliver.
    pub missed_blocks: u64,
    /// Everything up to this id was delivered (or filtered out): reconnect with it as
    /// `Last-Event-ID`.
    pub resume_after: String,
}

/// Where an item sits in a block: its events, then its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Event { tx: u32, event: u32 },
    Block,
}

/// A position in the stream; the order of positions is the order of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    height: u64,
    slot: Slot,
}

impl Position {
    fn block(height: u64) -> Self {
        Self { height, slot: Slot::Block }
    }

    fn event(r: &EventRecord) -> Self {
        Self { height: r.height, slot: Slot::Event { tx: r.tx_index, event: r.event_index } }
    }

    /// The SSE id: `H:T:E` or `H:new_block`.
    pub(crate) fn id(&self) -> String {
        match self.slot {
            Slot::Event { tx, event } => format!("{}:{tx}:{event}", self.height),
            Slot::Block => format!("{}:{NEW_BLOCK}", self.height),
        }
    }

    /// Parses an id this stream gave.
    pub(crate) fn parse(id: &str) -> Option<Self> {
        let mut parts = id.split(':');
        let height = parts.next()?.parse().ok()?;
        let slot = match (parts.next()?, parts.next(), parts.next()) {
            (NEW_BLOCK, None, None) => Slot::Block,
            (tx, Some(event), None) => Slot::Event { tx: tx.parse().ok()?, event: event.parse().ok()? },
            _ => return None,
        };
        Some(Self { height, slot })
    }
}

/// One item of the stream before it is an SSE event.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    id: Option<String>,
    event: String,
    data: Value,
}

impl Item {
    fn sse(self) -> SseEvent {
        let e = SseEvent::default().event(self.event).data(self.data.to_string());
        match self.id {
            Some(id) => e.id(id),
            None => e,
        }
    }
}

/// The checked filters.
#[derive(Debug, Clone, Default)]
struct Filter {
    event: Option<String>,
    address: Option<String>,
    tx: Option<B256>,
}

impl Filter {
    fn parse(f: &EventFilter) -> Result<Self, ApiError> {
        if let Some(e) = f.event.as_deref()
            && e != NEW_BLOCK
            && e != DROPPED
            && !cairn_state::Event::VARIANTS.contains(&e)
        {
            let known = cairn_state::Event::VARIANTS.join(", ");
            let msg = format!("{e:?} is not an event; known: {NEW_BLOCK}, {DROPPED}, {known}");
            return Err(ApiError::bad("UnknownEvent", msg));
        }
        let address = f.address.as_deref().map(crate::api::parse_address).transpose()?;
        let tx = f.tx.as_deref().map(crate::api::parse_hash).transpose()?;
        Ok(Self { event: f.event.clone(), address: address.map(|a| a.to_string().to_lowercase()), tx })
    }

    fn wants_blocks(&self) -> bool {
        self.event.as_deref().is_none_or(|e| e == NEW_BLOCK)
    }

    /// Drops come unless another event is asked for, another transaction, or an address.
    fn wants_drop(&self, d: &DroppedTx) -> bool {
        self.event.as_deref().is_none_or(|e| e == DROPPED)
            && self.tx.is_none_or(|h| d.hash == h)
            && self.address.is_none()
    }

    fn wants(&self, r: &EventRecord) -> bool {
        self.event.as_deref().is_none_or(|e| r.event == e)
            && self.tx.is_none_or(|h| r.tx_hash == h)
            && self.address.as_deref().is_none_or(|a| r.data.to_string().to_lowercase().contains(a))
    }
}

/// Where a stream starts: the first block to replay and the position to resume strictly after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    height: u64,
    after: Option<Position>,
}

/// The start asked for by `Last-Event-ID` or `from_height` (live only without either), checked
/// against the head and the replay limit.
fn start_of(last_id: Option<&str>, from_height: Option<u64>, head: u64, max_replay: u64) -> Result<Start, ApiError> {
    let start = match (last_id.filter(|s| !s.is_empty()), from_height) {
        (Some(id), _) => {
            let p = Position::parse(id).ok_or_else(|| {
                ApiError::bad("BadLastEventId", format!("{id:?} is not an event id (H:T:E or H:{NEW_BLOCK})"))
            })?;
            if p.height > head {
                let msg = format!("Last-Event-ID {id:?} names block {}, beyond the head {head}", p.height);
                return Err(ApiError::bad("BadLastEventId", msg));
            }
            let height = if p.slot == Slot::Block { p.height.saturating_add(1) } else { p.height };
            Start { height, after: Some(p) }
        }
        (None, Some(h)) if h > head.saturating_add(1) => {
            let msg = format!("from_height {h} is beyond the next block {}", head.saturating_add(1));
            return Err(ApiError::bad("BadFromHeight", msg));
        }
        (None, Some(h)) => Start { height: h, after: None },
        (None, None) => Start { height: head.saturating_add(1), after: None },
    };
    let blocks = head.saturating_add(1).saturating_sub(start.height);
    if blocks > max_replay {
        let oldest = head.saturating_add(1).saturating_sub(max_replay);
        let msg = format!(
            "replaying from block {} is {blocks} blocks (head {head}); at most {max_replay} are replayed, from block {oldest} on",
            start.height
        );
        return Err(ApiError::bad("ReplayTooLong", msg));
    }
    Ok(start)
}

/// One stream's state: the replay position, the live feed, the filters.
struct Feed {
    node: Arc<Node>,
    rx: broadcast::Receiver<Arc<CommittedBlock>>,
    /// The next block to deliver; the replay runs while it is at most `head`.
    next: u64,
    head: u64,
    after: Option<Position>,
    filter: Filter,
    done: bool,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Feed {
    /// The items of the next block (none for a live block the replay covered), or `None` at
    /// the end.
    async fn next_items(&mut self) -> Option<Vec<Item>> {
        if self.done {
            return None;
        }
        let block = if self.next <= self.head { self.replay().await } else { self.live().await };
        match block {
            Ok(Some(b)) if b.reverted => {
                // The heights this stream sent are reused by another history: it ends here.
                self.done = true;
                let (height, hash) = (b.header.height, b.header.hash().ok());
                let message = format!(
                    "the devnet was reverted to block {height}; blocks above it are gone: reconnect with from_height={}",
                    height.saturating_add(1)
                );
                let data = serde_json::json!({"error": "Reverted", "message": message, "height": height, "hash": hash});
                Some(vec![Item { id: None, event: REVERTED.into(), data }])
            }
            Ok(Some(b)) if b.header.height < self.next => Some(Vec::new()),
            Ok(Some(b)) => {
                self.next = b.header.height.saturating_add(1);
                Some(self.render(&b))
            }
            Ok(None) => None,
            Err(item) => {
                self.done = true;
                Some(vec![item])
            }
        }
    }

    /// Block `next` from the store.
    async fn replay(&mut self) -> Result<Option<Arc<CommittedBlock>>, Item> {
        let (node, height) = (Arc::clone(&self.node), self.next);
        let read = tokio::task::spawn_blocking(move || stored_block(&node, height)).await;
        match read.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(b) => Ok(Some(Arc::new(b))),
            Err(message) => Err(Item {
                id: None,
                event: "error".into(),
                data: serde_json::json!({"error": "StoreError", "message": message}),
            }),
        }
    }

    /// The next live block; a `lagged` item if the feed dropped blocks for this stream.
    async fn live(&mut self) -> Result<Option<Arc<CommittedBlock>>, Item> {
        match self.rx.recv().await {
            Ok(b) => Ok(Some(b)),
            Err(broadcast::error::RecvError::Closed) => Ok(None),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                let resume_after = Position::block(self.next.saturating_sub(1)).id();
                let message = format!(
                    "the stream fell {n} blocks behind the node's feed and ends; everything through {resume_after} was sent"
                );
                let lagged = Lagged { error: "Lagged".into(), message, missed_blocks: n, resume_after };
                Err(Item { id: None, event: LAGGED.into(), data: serde_json::to_value(lagged).unwrap_or_default() })
            }
        }
    }

    /// The block's items this stream sends: its events, then its header, after the resume point.
    fn render(&self, block: &CommittedBlock) -> Vec<Item> {
        let fresh = |p: Position| self.after.is_none_or(|a| p > a);
        let mut out: Vec<Item> = block
            .events
            .iter()
            .filter(|r| fresh(Position::event(r)) && self.filter.wants(r))
            .map(|r| Item {
                id: Some(Position::event(r).id()),
                event: r.event.clone(),
                data: serde_json::to_value(r).unwrap_or_default(),
            })
            .collect();
        let p = Position::block(block.header.height);
        if fresh(p) {
            out.extend(block.dropped.iter().filter(|d| self.filter.wants_drop(d)).map(|d| Item {
                id: None,
                event: DROPPED.into(),
                data: serde_json::to_value(d).unwrap_or_default(),
            }));
        }
        if fresh(p) && self.filter.wants_blocks() {
            match NewBlock::of(&block.header) {
                Ok(nb) => {
                    let data = serde_json::to_value(nb).unwrap_or_default();
                    out.push(Item { id: Some(p.id()), event: NEW_BLOCK.into(), data });
                }
                Err(e) => out.push(Item {
                    id: None,
                    event: "error".into(),
                    data: serde_json::json!({"error": "EncodingFailed", "message": e.to_string()}),
                }),
            }
        }
        out
    }

    fn into_stream(self) -> impl Stream<Item = Item> + Send {
        futures_util::stream::unfold(self, |mut f| async move { f.next_items().await.map(|v| (v, f)) })
            .flat_map(futures_util::stream::iter)
    }
}

/// A committed block as the feed gives it, read from the store.
fn stored_block(node: &Node, height: u64) -> Result<CommittedBlock, String> {
    node.read(|a| {
        let block = a.store().block(height).map_err(|e| AppError::from(e).to_string())?;
        let block = block.ok_or_else(|| format!("block {height} is not in the store"))?;
        let receipts = a.store().receipts_of(height).map_err(|e| AppError::from(e).to_string())?;
        let kept_from = a.store().bodies_from().map_err(|e| AppError::from(e).to_string())?;
        if height < kept_from && block.header.tx_count > 0 {
            return Err(format!("block {height}'s events were pruned (this node keeps them from block {kept_from})"));
        }
        // Drops are announced live only; `GET /v1/tx/{hash}` keeps telling them.
        Ok(CommittedBlock {
            header: block.header,
            events: event_records(receipts),
            dropped: Vec::new(),
            reverted: false,
        })
    })
}

/// The checked filters and the `Last-Event-ID` header.
fn parse_request(
    headers: &HeaderMap,
    query: Result<Query<EventFilter>, QueryRejection>,
) -> Result<(Filter, Option<String>, Option<u64>), ApiError> {
    let q = query.map(|Query(q)| q).map_err(|e| ApiError::bad("BadQueryString", e.body_text()))?;
    let filter = Filter::parse(&q)?;
    let last_id = match headers.get("last-event-id").map(|v| v.to_str()) {
        Some(Err(_)) => return Err(ApiError::bad("BadLastEventId", "Last-Event-ID is not text")),
        Some(Ok(s)) => Some(s.trim().to_owned()),
        None => None,
    };
    Ok((filter, last_id, q.from_height))
}

/// The stream asked for, or the refusal.
fn open(
    node: Arc<Node>,
    guards: &Guards,
    headers: &HeaderMap,
    query: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (filter, last_id, from_height) = parse_request(headers, query)?;
    // Subscribe before reading the head: a block committed in between is both replayed and
    // received live, and the live copy is skipped; none is missed.
    let rx = node.subscribe();
    let head = node.read(|a| a.head().height);
    let start = start_of(last_id.as_deref(), from_height, head, node.config.http.max_replay_blocks)?;
    let Some(slot) = guards.stream_slot() else { return Ok(guards.streams_full()) };
    let feed = Feed { node, rx, next: start.height, head, after: start.after, filter, done: false, _slot: Some(slot) };
    let items = feed.into_stream().map(|i| Ok::<_, Infallible>(i.sse()));
    Ok(Sse::new(items).keep_alive(KeepAlive::default()).into_response())
}

#[utoipa::path(get, path = "/v1/events",
    params(EventFilter, ("Last-Event-ID" = Option<String>, Header, description = "Resume strictly after this id (`H:T:E` or `H:new_block`); takes precedence over `from_height`")),
    responses(
        (status = 200, description = "Server-sent events: per committed block its state-machine events (`event` = the event's name, data an EventRecord, id `height:tx:event`), then `new_block` (data NewBlock, id `height:new_block`). A consumer that falls behind gets `lagged` (data Lagged, no id) and the stream ends.", content_type = "text/event-stream", body = EventRecord),
        (status = 400, description = "UnknownEvent, BadAddress, BadHash, BadQueryString, BadFromHeight, BadLastEventId, ReplayTooLong", body = ApiError),
        (status = 503, description = "TooManyStreams", body = ApiError)))]
pub(crate) async fn events(
    State(node): State<Arc<Node>>,
    Extension(guards): Extension<Arc<Guards>>,
    headers: HeaderMap,
    query: Result<Query<EventFilter>, QueryRejection>,
) -> Response {
    open(node, &guards, &headers, query).unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;
    use cairn_primitives::{AssetId, OperatorSetKey, StrategyId, U256, VaultId};
    use cairn_state::Event;
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_parse_back_and_order_as_the_stream() {
        let ids = ["3:0:0", "3:0:1", "3:1:0", "3:new_block", "4:0:0", "4:new_block", "10:2:7"];
        let ps: Vec<Position> = ids.iter().map(|i| Position::parse(i).expect("parses")).collect();
        assert!(ps.windows(2).all(|w| w[0] < w[1]), "{ps:?}");
        for (id, p) in ids.iter().zip(&ps) {
            assert_eq!(&p.id(), id);
        }
        for bad in ["", "3", "3:", "x:new_block", "3:1", "3:1:2:3", "3:new_block:1", "-1:0:0", "3:a:b", "3:lagged"] {
            assert!(Position::parse(bad).is_none(), "{bad:?}");
        }
    }

    fn start(last: Option<&str>, from: Option<u64>, head: u64) -> Result<Start, (String, String)> {
        start_of(last, from, head, 10).map_err(|e| (e.error, e.message))
    }

    #[test]
    fn the_start_comes_from_the_last_id_or_the_height_within_the_replay_limit() {
        assert_eq!(start(None, None, 5), Ok(Start { height: 6, after: None }), "live only");
        assert_eq!(start(None, Some(0), 5), Ok(Start { height: 0, after: None }));
        assert_eq!(start(None, Some(6), 5), Ok(Start { height: 6, after: None }), "the next block");
        let p = Position::parse("4:1:0");
        assert_eq!(start(Some("4:1:0"), Some(0), 5), Ok(Start { height: 4, after: p }), "the id wins");
        let p = Position::parse("5:new_block");
        assert_eq!(start(Some("5:new_block"), None, 5), Ok(Start { height: 6, after: p }), "block 5 is whole");
        assert_eq!(start(Some(""), Some(2), 5), Ok(Start { height: 2, after: None }), "an empty id is none");
        let e = start(None, Some(7), 5).expect_err("ahead");
        assert_eq!(e.0, "BadFromHeight", "{e:?}");
        assert!(e.1.contains("from_height 7 is beyond the next block 6"), "{e:?}");
        for bad in ["6:new_block", "junk"] {
            assert_eq!(start(Some(bad), None, 5).expect_err("refused").0, "BadLastEventId");
        }
        assert_eq!(start(None, Some(10), 19), Ok(Start { height: 10, after: None }), "exactly 10 blocks");
        let e = start(None, Some(9), 19).expect_err("11 blocks");
        assert_eq!(e.0, "ReplayTooLong");
        assert!(e.1.contains("11 blocks") && e.1.contains("at most 10") && e.1.contains("from block 10 on"), "{e:?}");
        assert_eq!(start(Some("2:new_block"), None, 19).expect_err("too old").0, "ReplayTooLong");
    }

    #[test]
    fn unknown_event_names_are_refused_naming_the_known_ones() {
        let q = |e: &str| EventFilter { event: Some(e.into()), address: None, tx: None, from_height: None };
        for ok in ["deposit", "new_block", "vault_rate_settled", "staker_delegated"] {
            assert!(Filter::parse(&q(ok)).is_ok(), "{ok}");
        }
        let e = Filter::parse(&q("nonsense")).expect_err("unknown");
        assert_eq!(e.error, "UnknownEvent");
        assert!(
            e.message.contains("\"nonsense\"") && e.message.contains("new_block, dropped, transfer, minted"),
            "{}",
            e.message
        );
        assert!(Filter::parse(&q(LAGGED)).is_err(), "lagged is not a filter");
    }

    #[test]
    fn the_known_names_are_the_serialized_event_names() {
        let a = Address::repeat_byte(1);
        let events = [
            Event::Transfer { asset: AssetId(0), from: a, to: a, amount: U256::from(1) },
            Event::DepositScalingFactorUpdated { staker: a, strategy: StrategyId(1), new_dsf: U256::from(1) },
            Event::BurnOrRedistributableSharesIncreased {
                set: OperatorSetKey { service: a, id: 0 },
                slash_id: 1,
                strategy: StrategyId(1),
                shares: U256::from(1),
                clearable_at: 0,
            },
            Event::VaultEmergencyUnwind { vault: VaultId(0), unbondings: 0 },
        ];
        for e in events {
            let v = serde_json::to_value(&e).expect("serializes");
            let name = v["event"].as_str().expect("tagged");
            assert!(Event::VARIANTS.contains(&name), "{name} is listed");
        }
        let mut names = Event::VARIANTS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Event::VARIANTS.len(), "distinct");
        assert!(!names.contains(&NEW_BLOCK) && !names.contains(&LAGGED), "the stream's own names are free");
    }

    fn header(height: u64) -> Header {
        Header {
            height,
            time: 1_000 + height,
            parent_hash: B256::ZERO,
            tx_root: B256::ZERO,
            receipt_root: B256::ZERO,
            state_hash: B256::repeat_byte(7),
            tx_count: 1,
        }
    }

    fn block(height: u64, events: u32) -> Arc<CommittedBlock> {
        let events = (0..events)
            .map(|i| EventRecord {
                height,
                tx_index: 0,
                event_index: i,
                tx_hash: B256::repeat_byte(1),
                event: "deposit".into(),
                data: json!({"event": "deposit", "staker": Address::repeat_byte(2)}),
            })
            .collect();
        Arc::new(CommittedBlock { header: header(height), events, dropped: Vec::new(), reverted: false })
    }

    fn feed(
        rx: broadcast::Receiver<Arc<CommittedBlock>>,
        next: u64,
        after: Option<&str>,
    ) -> (Feed, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("cairn-events-{}-{next}-{}", std::process::id(), after.is_some()));
        let _ = std::fs::remove_dir_all(&dir);
        let keys = crate::devnet::DevKeys::new(2);
        let node = Node::open(crate::Config::new(dir.clone(), crate::devnet::CHAIN_ID), &crate::devnet::genesis(&keys))
            .expect("node opens");
        let after = after.and_then(Position::parse);
        let f = Feed { node, rx, next, head: next - 1, after, filter: Filter::default(), done: false, _slot: None };
        (f, dir)
    }

    fn ids(items: &[Item]) -> Vec<String> {
        items.iter().map(|i| i.id.clone().unwrap_or_default()).collect()
    }

    #[tokio::test]
    async fn live_blocks_the_replay_covered_are_skipped_and_the_resume_point_is_exclusive() {
        let (tx, rx) = broadcast::channel(8);
        let (mut f, dir) = feed(rx, 3, Some("3:0:0"));
        for h in [2, 3, 4] {
            tx.send(block(h, 2)).expect("sent");
        }
        assert_eq!(f.next_items().await, Some(Vec::new()), "block 2 was replayed");
        assert_eq!(ids(&f.next_items().await.expect("block 3")), ["3:0:1", "3:new_block"]);
        let four = f.next_items().await.expect("block 4");
        assert_eq!(ids(&four), ["4:0:0", "4:0:1", "4:new_block"]);
        let nb = &four[2];
        assert_eq!(nb.event, NEW_BLOCK);
        let want = NewBlock {
            height: 4,
            time: 1_004,
            hash: header(4).hash().expect("hash"),
            tx_count: 1,
            state_hash: B256::repeat_byte(7),
        };
        assert_eq!(nb.data, serde_json::to_value(want).expect("json"));
        drop(tx);
        assert_eq!(f.next_items().await, None, "the feed closed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_consumer_behind_the_feed_is_told_and_the_stream_ends() {
        let (tx, rx) = broadcast::channel(2);
        let (mut f, dir) = feed(rx, 1, None);
        for h in 1..=5 {
            tx.send(block(h, 1)).expect("sent");
        }
        let items = f.next_items().await.expect("an item");
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].event.as_str(), items[0].id.as_deref()),
            (LAGGED, None),
            "no id: the client keeps its own"
        );
        assert_eq!(items[0].data["error"], "Lagged");
        assert_eq!(items[0].data["missed_blocks"], 3);
        assert_eq!(items[0].data["resume_after"], "0:new_block");
        assert_eq!(f.next_items().await, None, "the stream ends after lagged");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn drops_come_live_before_the_block_header_and_follow_the_filters() {
        let (tx, rx) = broadcast::channel(8);
        let (mut f, dir) = feed(rx, 1, Some("0:new_block"));
        let drop = DroppedTx { hash: B256::repeat_byte(9), reason: "expired before block 1".into() };
        let mut b = (*block(1, 1)).clone();
        b.dropped = vec![drop.clone()];
        tx.send(Arc::new(b.clone())).expect("sent");
        let items = f.next_items().await.expect("block 1");
        let events: Vec<_> = items.iter().map(|i| (i.event.as_str(), i.id.as_deref())).collect();
        assert_eq!(events, [("deposit", Some("1:0:0")), (DROPPED, None), (NEW_BLOCK, Some("1:new_block"))]);
        assert_eq!(items[1].data, serde_json::to_value(&drop).expect("json"));
        let only = |event: Option<&str>, tx: Option<B256>, address: bool| Filter {
            event: event.map(str::to_owned),
            tx,
            address: address.then(|| "0x02".to_owned()),
        };
        assert!(only(Some(DROPPED), None, false).wants_drop(&drop));
        assert!(only(None, Some(drop.hash), false).wants_drop(&drop));
        assert!(!only(Some("deposit"), None, false).wants_drop(&drop));
        assert!(!only(None, Some(B256::ZERO), false).wants_drop(&drop));
        assert!(!only(None, None, true).wants_drop(&drop), "a drop mentions no address");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
