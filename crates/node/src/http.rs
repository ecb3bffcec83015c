//! The HTTP server in front of the API router, hardened against hostile clients.
//!
//! - Connections: an accept loop over hyper's HTTP/1 connection builder with a header read
//!   timeout (which also closes idle keep-alive connections), a cap on connections per client IP
//!   (429 `TooManyConnections`) and on all connections (503 `ServerBusy`); a refused connection
//!   gets its JSON answer and is closed without reaching the router.
//! - Requests: a token bucket per client IP (429 `RateLimited` with `Retry-After`), then the body
//!   is read in full under a deadline (408 `BodyTimeout`) before any handler runs, so a client
//!   that stalls mid-body holds a connection (bounded per IP) but never a handler slot.
//! - Handlers: at most `max_concurrent_requests` run at once; beyond that a request is shed at
//!   once (503 `Overloaded` with `Retry-After`) instead of queueing. `/health`, `/metrics` and the
//!   event stream (which has its own cap, `max_event_streams`) are outside that limit.
//!
//! The limits are `Config::http` ([`HttpLimits`]); the defaults protect a public node, and
//! `exempt` lists addresses (a load generator, a local indexer) the per-IP limits skip.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, atomic::Ordering::Relaxed},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};

use crate::{
    Node,
    api::{self, ApiError},
};

/// The server's limits (`Config::http`).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Longest a client may take to send a request's headers; also how long an idle keep-alive
    /// connection stays open. Default 10 s.
    pub header_timeout: Duration,
    /// Longest a client may take to send a request's body, from the end of its headers.
    /// Default 10 s.
    pub body_timeout: Duration,
    /// Most open connections in all. Default 4,096.
    pub max_connections: usize,
    /// Most open connections from one IP address. Default 32.
    pub max_connections_per_ip: usize,
    /// Requests per second one IP address may sustain (token bucket refill). Default 100.
    pub requests_per_second_per_ip: u32,
    /// Requests one IP address may make in a burst (token bucket size). Default 200.
    pub burst_per_ip: u32,
    /// Most requests in their handlers at once (event streams, `/health` and `/metrics`
    /// excepted). Default 1,024.
    pub max_concurrent_requests: usize,
    /// Most open event streams. Default 256.
    pub max_event_streams: usize,
    /// Most blocks an event stream replays (`from_height`, `Last-Event-ID`). Default 10,000.
    pub max_replay_blocks: u64,
    /// Addresses the per-IP limits (connections, rate) do not apply to. Default none.
    pub exempt: Vec<IpAddr>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 4_096,
            max_connections_per_ip: 32,
            requests_per_second_per_ip: 100,
            burst_per_ip: 200,
            max_concurrent_requests: api::MAX_CONCURRENT_REQUESTS,
            max_event_streams: 256,
            max_replay_blocks: 10_000,
            exempt: Vec::new(),
        }
    }
}

impl HttpLimits {
    /// Whether the per-IP limits skip `ip`.
    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|e| client_key(*e) == client_key(ip))
    }
}

/// The client's address, put in every request's extensions by [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The address the per-IP limits count a client under: an IPv4 address, or an IPv6 address's
/// /64 prefix (one host gets a whole /64, so a finer count would be no limit).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// An API error with a `Retry-After` header (seconds, at least 1).
pub(crate) fn retry_later(err: ApiError, after: Duration) -> Response {
    let secs = after.as_secs_f64().ceil().max(1.0) as u64;
    let mut res = err.into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// Serves the API on `listener` until the process ends, with the limits of `node.config.http`.
pub async fn serve(node: Arc<Node>, listener: TcpListener) -> std::io::Result<()> {
    let app = api::router(Arc::clone(&node));
    let conns = Arc::new(Connections::new(&node.config.http));
    tokio::spawn(crate::api_risk::follow(Arc::clone(&node)));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => conns.dispatch(&node, &app, stream, peer),
            // Out of file descriptors, or a connection reset before it was accepted: the
            // listener itself is good, so wait a little and go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Serves one connection with the router; `_slot` is released when it closes.
async fn connection(stream: TcpStream, peer: SocketAddr, app: Router, _slot: Slot, header_timeout: Duration) {
    let _ = stream.set_nodelay(true);
    let svc = tower::ServiceExt::map_request(app, move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(PeerAddr(peer));
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
    let _ = conn.await;
}

/// Answers a refused connection with its JSON error and closes it, within a second whatever the
/// client does. What the client sent is then drained, so that closing does not reset the
/// connection before the answer is read.
async fn refuse(mut stream: TcpStream, err: ApiError) {
    let status = err.status();
    let body = serde_json::to_string(&err).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(format!("{head}{body}").as_bytes()).await?;
        stream.shutdown().await?;
        let mut buf = [0u8; 4096];
        let mut drained = 0usize;
        while drained < 64 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Refused connections answered at once; beyond that a refused connection is just closed.
pub const MAX_REFUSING: usize = 256;

/// Open connections, in all and per IP.
#[derive(Debug)]
struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    limits: HttpLimits,
    refusing: Arc<Semaphore>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
struct Slot {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

impl Connections {
    fn new(limits: &HttpLimits) -> Self {
        let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
        Self { open: Mutex::new((0, HashMap::new())), limits: limits.clone(), refusing }
    }

    /// Serves an accepted connection, or answers its refusal (or, in a flood of refusals, just
    /// closes it).
    fn dispatch(self: &Arc<Self>, node: &Node, app: &Router, stream: TcpStream, peer: SocketAddr) {
        match self.admit(client_key(peer.ip())) {
            Ok(slot) => {
                tokio::spawn(connection(stream, peer, app.clone(), slot, self.limits.header_timeout));
            }
            Err(refusal) => {
                node.metrics.http_refused.fetch_add(1, Relaxed);
                if let Ok(permit) = Arc::clone(&self.refusing).try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, refusal).await;
                        drop(permit);
                    });
                }
            }
        }
    }

    /// A place for a connection from `ip`, or the error to answer it with.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_ip) = (open.0, open.1.get(&ip).copied().unwrap_or(0));
        let l = &self.limits;
        if total >= l.max_connections {
            let msg = format!("{total} connections are open, at most {}", l.max_connections);
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ServerBusy", msg));
        }
        if per_ip >= l.max_connections_per_ip && !l.is_exempt(ip) {
            let msg = format!("{ip} has {per_ip} connections open, at most {}", l.max_connections_per_ip);
            return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyConnections", msg));
        }
        open.0 += 1;
        *open.1.entry(ip).or_insert(0) += 1;
        Ok(Slot { conns: Arc::clone(self), ip })
    }
}

/// A token bucket per IP address.
#[derive(Debug)]
struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    rate: f64,
    burst: f64,
}

/// Buckets kept before full ones (idle clients) are dropped.
const MAX_TRACKED_IPS: usize = 10_000;

impl RateLimiter {
    fn new(limits: &HttpLimits) -> Self {
        let rate = f64::from(limits.requests_per_second_per_ip.max(1));
        Self { buckets: Mutex::new(HashMap::new()), rate, burst: f64::from(limits.burst_per_ip.max(1)) }
    }

    /// Takes a token for `ip` at `now`, or tells how long until one is there.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED_IPS && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// The shared state of the request middleware.
#[derive(Debug)]
pub(crate) struct Guards {
    node: Arc<Node>,
    limits: HttpLimits,
    rate: RateLimiter,
    handlers: Arc<Semaphore>,
    streams: Arc<Semaphore>,
}

impl Guards {
    /// Guards for the node's limits.
    pub(crate) fn new(node: &Arc<Node>) -> Arc<Self> {
        let limits = &node.config.http;
        Arc::new(Self {
            node: Arc::clone(node),
            limits: limits.clone(),
            rate: RateLimiter::new(limits),
            handlers: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            streams: Arc::new(Semaphore::new(limits.max_event_streams)),
        })
    }

    /// A place for one more event stream, if there is one.
    pub(crate) fn stream_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.streams).try_acquire_owned().ok()
    }

    /// The answer when every event stream place is taken: 503 `TooManyStreams`.
    pub(crate) fn streams_full(&self) -> Response {
        self.node.metrics.http_shed.fetch_add(1, Relaxed);
        let msg = format!("{} event streams are open, at most that many", self.limits.max_event_streams);
        retry_later(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "TooManyStreams", msg), Duration::from_secs(1))
    }
}

/// Middleware: the per-IP token bucket (429 `RateLimited` with `Retry-After`).
pub(crate) async fn limit_rate(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    if let Some(PeerAddr(peer)) = req.extensions().get::<PeerAddr>().copied()
        && !g.limits.is_exempt(peer.ip())
        && let Err(wait) = g.rate.take(client_key(peer.ip()), Instant::now())
    {
        g.node.metrics.http_rate_limited.fetch_add(1, Relaxed);
        let l = &g.limits;
        let msg = format!(
            "{} is over {} requests per second (bursts of {}); retry in {} ms",
            peer.ip(),
            l.requests_per_second_per_ip,
            l.burst_per_ip,
            wait.as_millis().max(1)
        );
        return retry_later(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RateLimited", msg), wait);
    }
    next.run(req).await
}

/// Middleware: reads the whole body (at most `MAX_BODY_BYTES`) within `body_timeout` before the
/// request goes on, so that no handler (nor its concurrency slot) waits on a slow client.
pub(crate) async fn read_body(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let timeout = g.limits.body_timeout;
    let read = tokio::time::timeout(timeout, Limited::new(body, api::MAX_BODY_BYTES).collect()).await;
    let err = match read {
        Ok(Ok(bytes)) => return next.run(Request::from_parts(parts, Body::from(bytes.to_bytes()))).await,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "BodyTimeout",
            format!("the request body did not arrive within {} ms", timeout.as_millis()),
        ),
        Ok(Err(e)) if e.is::<LengthLimitError>() => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BodyTooLarge",
            format!("the request body is larger than {} bytes", api::MAX_BODY_BYTES),
        ),
        Ok(Err(e)) => ApiError::bad("MalformedBody", format!("the request body could not be read: {e}")),
    };
    // The rest of the body is not read: the connection cannot carry another request.
    let mut res = err.into_response();
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Middleware: sheds a request when `max_concurrent_requests` handlers run (503 `Overloaded`).
pub(crate) async fn shed(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    let Ok(_permit) = Arc::clone(&g.handlers).try_acquire_owned() else {
        g.node.metrics.http_shed.fetch_add(1, Relaxed);
        let msg = format!("{} requests are being served, at most that many", g.limits.max_concurrent_requests);
        return retry_later(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Overloaded", msg), Duration::from_secs(1));
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32) -> HttpLimits {
        HttpLimits { requests_per_second_per_ip: rate, burst_per_ip: burst, ..HttpLimits::default() }
    }

    #[test]
    fn the_token_bucket_allows_a_burst_then_the_rate() {
        let r = RateLimiter::new(&limits(10, 3));
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(r.take(a, t0).is_ok());
        }
        let wait = r.take(a, t0).expect_err("the burst is spent");
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(r.take(b, t0).is_ok(), "another address has its own bucket");
        assert!(r.take(a, t0 + Duration::from_millis(100)).is_ok(), "one token per 100 ms");
        assert!(r.take(a, t0 + Duration::from_millis(100)).is_err());
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..5).filter(|_| r.take(a, later).is_ok()).count(), 3);
    }

    #[test]
    fn idle_buckets_are_dropped_when_many_addresses_are_tracked() {
        let r = RateLimiter::new(&limits(1_000, 1));
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED_IPS as u32 {
            assert!(r.take(IpAddr::from(i.to_be_bytes()), t0).is_ok());
        }
        assert!(r.take([255, 255, 255, 255].into(), t0 + Duration::from_secs(1)).is_ok());
        assert_eq!(r.buckets.lock().expect("lock").len(), 1, "the refilled buckets were dropped");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:127.0.0.3".parse().expect("ip");
        assert_eq!(client_key(mapped), IpAddr::from([127, 0, 0, 3]));
        let l = HttpLimits { exempt: vec![a], ..HttpLimits::default() };
        assert!(l.is_exempt(b) && !l.is_exempt(other));
    }

    #[test]
    fn connections_are_counted_per_ip_and_in_all() {
        let l = HttpLimits {
            max_connections: 3,
            max_connections_per_ip: 2,
            exempt: vec![[10, 0, 0, 9].into()],
            ..HttpLimits::default()
        };
        let c = Arc::new(Connections::new(&l));
        let a: IpAddr = [10, 0, 0, 1].into();
        let first = c.admit(a).expect("first");
        let _second = c.admit(a).expect("second");
        let e = c.admit(a).expect_err("a third from the same address");
        assert_eq!((e.status(), e.error.as_str()), (StatusCode::TOO_MANY_REQUESTS, "TooManyConnections"));
        assert!(e.message.contains("10.0.0.1 has 2 connections open, at most 2"), "{}", e.message);
        drop(first);
        let _third = c.admit(a).expect("a place was freed");
        let _exempt = c.admit([10, 0, 0, 9].into()).expect("exempt from the per-IP cap, not the total");
        let e = c.admit([10, 0, 0, 9].into()).expect_err("the total cap");
        assert_eq!((e.status(), e.error.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "ServerBusy"));
    }
}
