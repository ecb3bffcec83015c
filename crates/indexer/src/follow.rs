//! Following a live node: catch up to its head, then index each block its event stream
//! (`GET /v1/events?event=new_block`, resumed with `Last-Event-ID`) announces, so the database
//! trails the node by the time one block takes to fetch and write.

use std::{future::Future, time::Duration};

use http_body_util::{BodyExt, Empty};
use hyper::{Request, body::Bytes};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

use crate::{
    IndexError, Indexer,
    run::{REQUEST_TIMEOUT, busy},
};

/// Silence on the event stream after which the link is taken for dead and reopened.
const STREAM_IDLE: Duration = Duration::from_secs(45);

/// The longest event the stream may send (a `new_block` is ~300 bytes).
const MAX_EVENT_BYTES: usize = 1 << 20;

/// One server-sent event: its name and data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sse {
    /// `event:` line.
    pub event: String,
    /// `data:` lines joined.
    pub data: String,
}

/// Splits server-sent events out of a growing buffer; leaves an incomplete event in it.
pub fn take_events(buf: &mut String) -> Vec<Sse> {
    let mut out = Vec::new();
    while let Some(end) = buf.find("\n\n") {
        let block: String = buf.drain(..end + 2).collect();
        let mut ev = Sse::default();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                ev.event = v.trim_start().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                if !ev.data.is_empty() {
                    ev.data.push('\n');
                }
                ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if !ev.event.is_empty() {
            out.push(ev);
        }
    }
    out
}

impl Indexer {
    /// Catches up, then follows the node until `shutdown` completes. A node that goes away is
    /// retried every second; a refused block or a database failure ends the follow.
    pub async fn follow(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), IndexError> {
        tokio::pin!(shutdown);
        loop {
            let round = async {
                let head = self.node_head().await?;
                self.catch_up(head).await?;
                self.after_catch_up().await?;
                self.stream_blocks().await
            };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                r = round => match r {
                    Ok(()) | Err(IndexError::Unreachable(_)) => {}
                    Err(e) => return Err(e),
                },
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Reads the node's block announcements and indexes up to each; returns when the stream ends.
    async fn stream_blocks(&mut self) -> Result<(), IndexError> {
        let last = self.indexed().map_or_else(String::new, |(h, _)| format!("{h}:new_block"));
        let url = format!("{}/v1/events?event=new_block", self.node().base());
        let req = Request::get(&url)
            .header("accept", "text/event-stream")
            .header("last-event-id", last)
            .body(Empty::<Bytes>::new())
            .map_err(|e| IndexError::Node(e.to_string()))?;
        let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let resp = match tokio::time::timeout(REQUEST_TIMEOUT, http.request(req)).await {
            Ok(r) => r.map_err(|e| IndexError::Unreachable(format!("{url}: {e}")))?,
            Err(_) => return Err(IndexError::Unreachable(format!("{url}: no answer"))),
        };
        let status = resp.status().as_u16();
        if busy(status) {
            return Err(IndexError::Unreachable(format!("GET {url} answered {status}")));
        }
        if status != 200 {
            return Err(IndexError::Node(format!("GET {url} answered {status}")));
        }
        let mut body = resp.into_body();
        let mut buf = String::new();
        loop {
            // The node sends a keep-alive comment every 15 s: silence this long is a dead link.
            let frame = match tokio::time::timeout(STREAM_IDLE, body.frame()).await {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(_) => {
                    return Err(IndexError::Unreachable(format!("{url}: silent for {} s", STREAM_IDLE.as_secs())));
                }
            };
            let arrived = std::time::Instant::now();
            let frame = frame.map_err(|e| IndexError::Unreachable(format!("{url}: {e}")))?;
            let Ok(data) = frame.into_data() else { continue };
            buf.push_str(&String::from_utf8_lossy(&data).replace("\r\n", "\n"));
            if buf.len() > MAX_EVENT_BYTES {
                return Err(IndexError::Node(format!("{url}: an event longer than {MAX_EVENT_BYTES} bytes")));
            }
            for ev in take_events(&mut buf) {
                if ev.event == cairn_node::api_events::REVERTED {
                    return Err(IndexError::Node(format!(
                        "the node reverted its chain to {}: index it into a fresh database",
                        ev.data
                    )));
                }
                if ev.event != cairn_node::api_events::NEW_BLOCK {
                    continue; // `lagged` ends the stream; the next round catches up from the store
                }
                let height = serde_json::from_str::<serde_json::Value>(&ev.data)
                    .ok()
                    .and_then(|v| v.get("height").and_then(serde_json::Value::as_u64))
                    .ok_or_else(|| IndexError::Node(format!("new_block without a height: {}", ev.data)))?;
                self.catch_up(height).await?;
                if let Some(lags) = &mut self.lags {
                    lags.push((height, arrived.elapsed().as_secs_f64()));
                }
                self.after_catch_up().await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_at_blank_lines_and_partial_ones_wait() {
        let mut buf =
            "id: 3:new_block\nevent: new_block\ndata: {\"height\":3}\n\n: keep-alive\n\nevent: new_bl".to_owned();
        let evs = take_events(&mut buf);
        assert_eq!(evs, vec![Sse { event: "new_block".into(), data: "{\"height\":3}".into() }]);
        assert_eq!(buf, "event: new_bl");
        buf.push_str("ock\ndata: a\ndata: b\n\n");
        assert_eq!(take_events(&mut buf), vec![Sse { event: "new_block".into(), data: "a\nb".into() }]);
        assert!(buf.is_empty());
    }
}
