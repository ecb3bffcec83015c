//! Hostile HTTP clients and the resumable event stream, over real loopback sockets: slow bodies on
//! 1,100 sockets, one address flooding, per-IP connection and rate limits, header and body
//! timeouts, load shedding; `Last-Event-ID` and `from_height` replays joined to the live feed
//! without gap or duplicate, `new_block` events, refused filters and replays.
//!
//! Clients bind loopback source addresses (127.0.0.2, 127.0.0.3, ...) to stand for distinct
//! hosts; every socket and loop is bounded.

use std::{
    io::ErrorKind,
    net::{Ipv4Addr, SocketAddr},
    sync::atomic::Ordering::Relaxed,
    time::{Duration, Instant},
};

use cairn_node::{Config, devnet};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};

use crate::node::{Harness, deposit, expect_error, start, start_with, temp_dir};

// ---------------------------------------------------------------------------------------------
// The wire.

fn server(h: &Harness) -> SocketAddr {
    h.client.base().trim_start_matches("http://").parse().expect("the node's address")
}

/// 127.0.0.`last`.
fn lo(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().expect("socket");
    s.bind(SocketAddr::new(from.into(), 0)).expect("bind a loopback source address");
    s.connect(to).await.expect("connect")
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> (u16, Value) {
        (self.status, serde_json::from_str(&self.body).unwrap_or(Value::Null))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Reads a status line and headers.
async fn read_head(r: &mut BufReader<TcpStream>) -> Option<(u16, String)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head))
}

/// Reads one answer: head, then a `content-length` body.
async fn read_answer(r: &mut BufReader<TcpStream>) -> Option<Answer> {
    let (status, head) = read_head(r).await?;
    let mut a = Answer { status, head, body: String::new() };
    let len: usize = a.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.ok()?;
    a.body = String::from_utf8_lossy(&body).into_owned();
    Some(a)
}

/// A `GET` from `from` on a new connection (closed after the answer), with extra header lines.
async fn get_from(from: Ipv4Addr, to: SocketAddr, path: &str, headers: &str) -> Answer {
    let mut s = connect_from(from, to).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: cairn\r\n{headers}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let read = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut BufReader::new(s))).await;
    read.expect("answered within 10 s").expect("an HTTP answer")
}

/// A connection from `from` that has been served one keep-alive `GET /health` (so the node has
/// surely counted it) and stays open. Connections closed just before may still be counted for a
/// moment, so a refusal is retried (for at most 2 s).
async fn held_from(from: Ipv4Addr, to: SocketAddr) -> BufReader<TcpStream> {
    for _ in 0..100 {
        let mut s = connect_from(from, to).await;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: cairn\r\n\r\n").await.expect("write");
        let mut r = BufReader::new(s);
        let a = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut r)).await;
        if a.expect("answered within 10 s").is_some_and(|a| a.status == 200) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{from} could not hold a connection");
}

/// The slow-body request: headers promising 1,000 bytes of body, then one byte.
const STALL: &[u8] =
    b"POST /v1/tx HTTP/1.1\r\nHost: cairn\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";

async fn stall(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let mut s = connect_from(from, to).await;
    s.write_all(STALL).await.expect("write");
    s
}

/// Whether nothing has arrived on `s` yet (and it is open).
fn unanswered(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.try_read(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

/// `n` sequential `/health` requests from 127.0.0.1, each on a new connection, in milliseconds
/// from connect to the whole answer, sorted.
async fn health_ms(to: SocketAddr, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let a = get_from(lo(1), to, "/health", "").await;
        out.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(a.status, 200, "{a:?}");
    }
    out.sort_by(f64::total_cmp);
    out
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

fn requests(h: &Harness) -> u64 {
    h.node.metrics.http_requests.load(Relaxed)
}

/// Polls `cond` every 10 ms for up to 20 s.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 20 s: {what}");
}

/// A runtime, with the process's open-file limit raised towards its hard limit: the attacks
/// below hold over 2,000 sockets (both ends are in this process), beyond the common soft
/// limit of 1,024.
fn runtime() -> tokio::runtime::Runtime {
    let _ = rlimit::increase_nofile_limit(16_384);
    tokio::runtime::Runtime::new().expect("runtime")
}

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir.to_path_buf(), devnet::CHAIN_ID)
}

// ---------------------------------------------------------------------------------------------
// Slow clients.

/// The median of five `/health` requests must stay under 100 ms during the attack: on an idle
/// machine each takes about a millisecond (the node does nothing for the stalled sockets), so
/// the bound only fails if `/health` waits for something the attack holds (before this work it
/// waited 30 s); the median absorbs a scheduling hiccup of the loaded 2-core CI machine.
const HEALTH_BOUND_MS: f64 = 100.0;

#[test]
fn slow_bodies_on_1100_sockets_leave_health_answering_within_100_ms() {
    let dir = temp_dir("slow-bodies");
    runtime().block_on(async {
        let h = start(&dir).await;
        let to = server(&h);
        let before = requests(&h);
        // 1,100 sockets from 35 addresses (127.0.0.2 to .36), at most 32 each: the default per-IP
        // cap lets them all in, and they outnumber the 1,024 handler slots.
        let mut attackers = Vec::new();
        for ip in 0..35u8 {
            let n = 1_100usize.saturating_sub(32 * usize::from(ip)).min(32);
            attackers.push(tokio::spawn(async move {
                let mut held = Vec::with_capacity(n);
                for _ in 0..n {
                    held.push(stall(lo(2 + ip), to).await);
                }
                held
            }));
        }
        let mut attack = Vec::new();
        for a in attackers {
            attack.extend(a.await.expect("attacker"));
        }
        assert_eq!(attack.len(), 1_100);
        wait_until("every slow request reached the node", || requests(&h) >= before + 1_100).await;
        assert_eq!(attack.iter().filter(|s| unanswered(s)).count(), 1_100, "all wait for their bodies");

        let health = health_ms(to, 5).await;
        eprintln!("/health during 1,100 stalled bodies, ms: {health:.1?}");
        assert!(median(&health) < HEALTH_BOUND_MS, "/health took {health:.1?} ms");
        // The stalled bodies hold no handler slot: a request through the concurrency limit is served.
        let t = Instant::now();
        assert_eq!(get_from(lo(1), to, "/v1/state", "").await.status, 200);
        eprintln!("/v1/state during the attack: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(attack.iter().filter(|s| unanswered(s)).count(), 1_100, "still stalled");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_address_gets_its_32_connections_and_the_rest_are_refused_at_once() {
    let dir = temp_dir("one-address");
    runtime().block_on(async {
        let h = start(&dir).await;
        let to = server(&h);
        let before = requests(&h);
        let from = lo(60);
        let mut held = Vec::new();
        for _ in 0..32 {
            held.push(stall(from, to).await);
        }
        wait_until("the 32 slow requests reached the node", || requests(&h) >= before + 32).await;
        // The other 1,068 of 1,100 sockets: each answered 429 at once and closed.
        let mut refused_ms = Vec::new();
        for i in 0..1_068 {
            let t = Instant::now();
            let mut r = BufReader::new(stall(from, to).await);
            let a = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut r)).await;
            let a = a.expect("answered within 5 s").expect("an answer");
            refused_ms.push(t.elapsed().as_secs_f64() * 1e3);
            if i == 0 {
                expect_error(&a.json(), 429, "TooManyConnections");
                assert!(
                    a.json().1["message"].as_str().is_some_and(|m| m.contains("has 32 connections open, at most 32"))
                );
                assert_eq!(a.header("retry-after").as_deref(), Some("1"), "{a:?}");
            }
            assert_eq!((a.status, a.json().1["error"].as_str()), (429, Some("TooManyConnections")), "{a:?}");
            let mut rest = Vec::new();
            let closed = tokio::time::timeout(Duration::from_secs(5), r.read_to_end(&mut rest)).await;
            assert!(closed.is_ok(), "the refused connection is closed");
        }
        refused_ms.sort_by(f64::total_cmp);
        let max = refused_ms.last().copied().unwrap_or_default();
        eprintln!("1,068 refusals: median {:.2} ms, max {max:.1} ms", median(&refused_ms));
        // Typically a fraction of a millisecond; the bounds only leave room for a loaded machine.
        assert!(median(&refused_ms) < 100.0 && max < 2_000.0, "refusals took {refused_ms:.1?} ms");
        assert_eq!(held.iter().filter(|s| unanswered(s)).count(), 32, "the admitted 32 still wait for their bodies");
        let health = health_ms(to, 5).await;
        assert!(median(&health) < HEALTH_BOUND_MS, "/health took {health:.1?} ms");
        assert!(h.node.metrics.http_refused.load(Relaxed) >= 1_068);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slow_headers_stalled_bodies_and_idle_connections_are_cut_off() {
    let dir = temp_dir("timeouts");
    let mut c = config(&dir);
    c.http.header_timeout = Duration::from_millis(400);
    c.http.body_timeout = Duration::from_millis(400);
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        // A body that stops after one byte: 408 BodyTimeout, then the connection closes.
        let t = Instant::now();
        let mut r = BufReader::new(stall(lo(1), to).await);
        let a =
            tokio::time::timeout(Duration::from_secs(5), read_answer(&mut r)).await.expect("answered").expect("answer");
        let waited = t.elapsed();
        expect_error(&a.json(), 408, "BodyTimeout");
        assert!(a.json().1["message"].as_str().is_some_and(|m| m.contains("within 400 ms")), "{a:?}");
        assert!(waited >= Duration::from_millis(350) && waited < Duration::from_secs(3), "{waited:?}");
        let mut rest = Vec::new();
        assert!(tokio::time::timeout(Duration::from_secs(3), r.read_to_end(&mut rest)).await.is_ok(), "closed");
        // Headers that never end: the connection is closed.
        for partial in [&b""[..], &b"GET /health HTTP/1.1\r\nHost: cai"[..]] {
            let t = Instant::now();
            let mut s = connect_from(lo(1), to).await;
            s.write_all(partial).await.expect("write");
            let mut rest = Vec::new();
            let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
            assert!(closed.is_ok(), "closed after the header timeout");
            let waited = t.elapsed();
            assert!(waited >= Duration::from_millis(350) && waited < Duration::from_secs(3), "{waited:?}");
        }
        // A kept-alive connection that goes idle after an answer is closed too.
        let mut s = BufReader::new(connect_from(lo(1), to).await);
        s.get_mut().write_all(b"GET /health HTTP/1.1\r\nHost: cairn\r\n\r\n").await.expect("write");
        assert_eq!(read_answer(&mut s).await.expect("answer").status, 200);
        let mut rest = Vec::new();
        assert!(tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await.is_ok(), "idle, closed");
        // An event stream is an answer in progress, not an idle connection: it stays open.
        let mut events = open_events(to, "/v1/events", None).await.expect("a stream");
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        h.block();
        assert_eq!(ids(&events.until("1:new_block").await), ["1:new_block"]);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Per-IP limits and shedding.

#[test]
fn the_per_ip_rate_limit_answers_429_with_retry_after() {
    let dir = temp_dir("rate");
    let mut c = config(&dir);
    c.http.requests_per_second_per_ip = 5;
    c.http.burst_per_ip = 10;
    c.http.exempt = vec![lo(3).into()];
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        for _ in 0..10 {
            assert_eq!(get_from(lo(2), to, "/health", "").await.status, 200, "the burst");
        }
        let a = get_from(lo(2), to, "/health", "").await;
        expect_error(&a.json(), 429, "RateLimited");
        let msg = a.json().1["message"].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains("127.0.0.2 is over 5 requests per second (bursts of 10)"), "{msg}");
        assert_eq!(a.header("retry-after").as_deref(), Some("1"), "{a:?}");
        // Other addresses have their own buckets; an exempt one has none.
        assert_eq!(get_from(lo(4), to, "/health", "").await.status, 200);
        for _ in 0..30 {
            assert_eq!(get_from(lo(3), to, "/health", "").await.status, 200, "exempt");
        }
        // A token comes back every 200 ms.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(get_from(lo(2), to, "/health", "").await.status, 200);
        let m = get_from(lo(5), to, "/metrics", "").await;
        assert!(m.body.contains("cairn_http_rate_limited_total 1"), "{}", m.body);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn connections_are_capped_per_ip_and_in_all() {
    let dir = temp_dir("conns");
    let mut c = config(&dir);
    c.http.max_connections_per_ip = 3;
    c.http.max_connections = 6;
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        // Three connections served once and kept open: the node has counted them.
        let mut idle = Vec::new();
        for _ in 0..3 {
            idle.push(held_from(lo(2), to).await);
        }
        let a = get_from(lo(2), to, "/health", "").await;
        expect_error(&a.json(), 429, "TooManyConnections");
        assert!(
            a.json().1["message"].as_str().is_some_and(|m| m.contains("127.0.0.2 has 3 connections open, at most 3"))
        );
        assert_eq!(a.header("retry-after").as_deref(), Some("1"));
        assert_eq!(get_from(lo(3), to, "/health", "").await.status, 200, "another address is served");
        // A closed connection frees its place.
        drop(idle.pop());
        let mut served = false;
        for _ in 0..100 {
            if get_from(lo(2), to, "/health", "").await.status == 200 {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(served, "the freed place is reused");
        // Six open in all (each served and held): the next address gets 503 ServerBusy.
        idle.push(held_from(lo(2), to).await);
        for _ in 0..3 {
            idle.push(held_from(lo(3), to).await);
        }
        let a = get_from(lo(4), to, "/health", "").await;
        expect_error(&a.json(), 503, "ServerBusy");
        assert!(a.json().1["message"].as_str().is_some_and(|m| m.contains("6 connections are open, at most 6")));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn beyond_256_refusals_in_flight_a_refused_connection_is_closed_without_an_answer() {
    let dir = temp_dir("refusal-flood");
    let mut c = config(&dir);
    c.http.max_connections_per_ip = 1;
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        // Served once and kept open: the address's one place is surely taken.
        let _held = held_from(lo(2), to).await;
        // 400 refused connections that send nothing and stay open: each refusal waits up to 1 s
        // for the client to finish, so the first 256 fill the refusal places.
        let mut flood = Vec::new();
        for _ in 0..400 {
            flood.push(connect_from(lo(2), to).await);
        }
        let (mut answered, mut silent) = (0, 0);
        for mut s in flood {
            let mut got = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
            assert!(read.is_ok(), "closed within 5 s");
            if got.is_empty() {
                silent += 1;
            } else {
                assert!(String::from_utf8_lossy(&got).contains("TooManyConnections"));
                answered += 1;
            }
        }
        assert!(answered >= cairn_node::http::MAX_REFUSING && silent > 0, "{answered} answered, {silent} closed");
        assert_eq!(get_from(lo(3), to, "/health", "").await.status, 200);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn handlers_beyond_the_concurrency_limit_are_shed_with_503_but_health_answers() {
    let dir = temp_dir("shed");
    let mut c = config(&dir);
    c.http.max_concurrent_requests = 2;
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        // Two submissions wait for a commit (no block comes yet): both handler slots are taken.
        let mut waiting = Vec::new();
        for who in 0..2 {
            let body = serde_json::to_value(h.sign(who, &deposit(1), 0)).expect("json");
            let client = h.client.clone();
            waiting.push(tokio::spawn(async move { client.post("/v1/tx?wait=true", &body).await }));
        }
        wait_until("both are admitted and waiting", || h.node.mempool_len() == 2).await;
        let a = get_from(lo(2), to, "/v1/state", "").await;
        expect_error(&a.json(), 503, "Overloaded");
        assert!(a.json().1["message"].as_str().is_some_and(|m| m.contains("2 requests are being served")));
        assert_eq!(a.header("retry-after").as_deref(), Some("1"));
        assert_eq!(get_from(lo(2), to, "/health", "").await.status, 200, "outside the limit");
        assert_eq!(get_from(lo(2), to, "/metrics", "").await.status, 200, "outside the limit");
        h.block();
        for w in waiting {
            let (status, answer) = w.await.expect("join").expect("transport");
            assert_eq!((status, &answer["status"]["status"]), (202, &Value::from("committed")), "{answer}");
        }
        assert_eq!(get_from(lo(2), to, "/v1/state", "").await.status, 200, "slots are back");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The event stream.

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: Option<String>,
    event: String,
    data: Value,
}

/// An open event stream: chunked transfer decoding, then SSE framing.
struct Events {
    r: BufReader<TcpStream>,
    text: String,
}

/// Opens `path` with an optional `Last-Event-ID`; the answer if it is not a stream.
async fn open_events(to: SocketAddr, path: &str, last_id: Option<&str>) -> Result<Events, Answer> {
    let mut s = connect_from(lo(1), to).await;
    let last = last_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: cairn\r\nAccept: text/event-stream\r\n{last}\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut r = BufReader::new(s);
    let (status, head) = read_head(&mut r).await.expect("an answer");
    if status != 200 {
        let mut a = Answer { status, head, body: String::new() };
        let mut body = vec![0u8; a.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0)];
        r.read_exact(&mut body).await.expect("body");
        a.body = String::from_utf8_lossy(&body).into_owned();
        return Err(a);
    }
    assert!(head.contains("text/event-stream"), "{head}");
    Ok(Events { r, text: String::new() })
}

impl Events {
    /// The next chunk's bytes; `None` at the end of the stream.
    async fn chunk(&mut self) -> Option<String> {
        let mut size = String::new();
        if self.r.read_line(&mut size).await.ok()? == 0 {
            return None;
        }
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if n == 0 {
            return None;
        }
        let mut data = vec![0u8; n + 2];
        self.r.read_exact(&mut data).await.ok()?;
        Some(String::from_utf8_lossy(&data[..n]).into_owned())
    }

    /// The next event (keep-alive comments skipped); `None` at the end of the stream.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(i) = self.text.find("\n\n") {
                let frame: String = self.text.drain(..i + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in frame.lines() {
                    match line.split_once(':') {
                        Some(("id", v)) => id = Some(v.trim().to_owned()),
                        Some(("event", v)) => event = v.trim().to_owned(),
                        Some(("data", v)) => data.push_str(v.trim()),
                        _ => {}
                    }
                }
                if !event.is_empty() {
                    return Some(Sse { id, event, data: serde_json::from_str(&data).unwrap_or(Value::Null) });
                }
                continue;
            }
            let c = self.chunk().await?;
            self.text.push_str(&c);
        }
    }

    /// Every event up to and including the one with id `last` (at most 20 s).
    async fn until(&mut self, last: &str) -> Vec<Sse> {
        let read = async {
            let mut out = Vec::new();
            while let Some(e) = self.next().await {
                let done = e.id.as_deref() == Some(last);
                out.push(e);
                if done {
                    return out;
                }
            }
            panic!("the stream ended before {last}: {out:#?}");
        };
        tokio::time::timeout(Duration::from_secs(20), read).await.unwrap_or_else(|_| panic!("no {last} within 20 s"))
    }
}

fn ids(events: &[Sse]) -> Vec<String> {
    events.iter().map(|e| e.id.clone().unwrap_or_default()).collect()
}

/// Commits one block per staker in `who` (a deposit each, nonces counted in `nonces`).
fn deposit_blocks(h: &Harness, nonces: &mut [u64], who: &[usize]) {
    for &w in who {
        h.node.submit(h.sign(w, &deposit(1), nonces[w])).expect("admitted");
        nonces[w] += 1;
        h.block();
    }
}

#[test]
fn from_height_replays_blocks_with_their_events_then_new_block() {
    let dir = temp_dir("sse-from");
    runtime().block_on(async {
        let h = start(&dir).await;
        let to = server(&h);
        let mut nonces = [0u64; 8];
        deposit_blocks(&h, &mut nonces, &[0, 1, 2]);
        h.block(); // block 4: empty
        let mut s = open_events(to, "/v1/events?from_height=1", None).await.expect("a stream");
        let got = s.until("4:new_block").await;
        // Per block: the receipts' events in order, ids height:tx:event, then new_block.
        let mut want = Vec::new();
        for height in 1..=4u64 {
            let (_, b) = h.client.get(&format!("/v1/blocks/{height}")).await.expect("block");
            for r in b["receipts"].as_array().expect("receipts") {
                for (i, e) in r["events"].as_array().expect("events").iter().enumerate() {
                    want.push((format!("{height}:{}:{i}", r["index"]), e["event"].as_str().expect("name").to_owned()));
                }
            }
            want.push((format!("{height}:new_block"), "new_block".to_owned()));
            let nb = got.iter().find(|e| e.id.as_deref() == Some(&format!("{height}:new_block"))).expect("new_block");
            let header = &b["header"];
            assert_eq!(nb.data["height"], height);
            assert_eq!((&nb.data["time"], &nb.data["tx_count"]), (&header["time"], &header["tx_count"]));
            assert_eq!((&nb.data["hash"], &nb.data["state_hash"]), (&b["hash"], &header["state_hash"]));
        }
        let got_pairs: Vec<_> = got.iter().map(|e| (e.id.clone().unwrap_or_default(), e.event.clone())).collect();
        assert_eq!(got_pairs, want);
        assert!(got.iter().any(|e| e.event == "deposit" && e.data["data"]["amount"].is_string()), "{got:#?}");
        // Then live: the next block arrives on the same stream.
        h.block();
        assert_eq!(ids(&s.until("5:new_block").await), ["5:new_block"]);
        // From genesis: block 0 is a header only.
        let mut g = open_events(to, "/v1/events?from_height=0&event=new_block", None).await.expect("a stream");
        let blocks = g.until("5:new_block").await;
        assert_eq!(ids(&blocks), (0..=5).map(|h| format!("{h}:new_block")).collect::<Vec<_>>(), "only new_block");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn last_event_id_resumes_without_gap_or_duplicate_while_blocks_commit() {
    let dir = temp_dir("sse-resume");
    runtime().block_on(async {
        let h = start(&dir).await;
        let to = server(&h);
        let mut nonces = [0u64; 8];
        deposit_blocks(&h, &mut nonces, &[0, 1, 2]);
        let mut full = open_events(to, "/v1/events?from_height=1", None).await.expect("a stream");
        let first = full.until("3:new_block").await;
        // Resume points: mid-block, a block's end, the very last id; each stream opens while
        // blocks 4 to 11 commit, so replay and live feed overlap.
        let points = [first[1].id.clone(), Some("2:new_block".to_owned()), first.last().and_then(|e| e.id.clone())];
        let node = std::sync::Arc::clone(&h.node);
        let mut streams = Vec::new();
        let producer = {
            let h = Harness { node, client: h.client.clone(), keys: devnet::DevKeys::new(8), domain: h.domain.clone() };
            tokio::task::spawn_blocking(move || {
                let mut nonces = nonces;
                for who in 3..8 {
                    deposit_blocks(&h, &mut nonces, &[who]);
                    std::thread::sleep(Duration::from_millis(15));
                }
                for _ in 0..3 {
                    h.block();
                }
            })
        };
        for p in &points {
            let p = p.clone().expect("an id");
            streams.push(open_events(to, "/v1/events", Some(&p)).await.expect("a stream"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        producer.await.expect("producer");
        let canonical = [first, full.until("11:new_block").await].concat();
        let canonical_ids = ids(&canonical);
        let distinct: std::collections::HashSet<_> = canonical_ids.iter().collect();
        assert_eq!(distinct.len(), canonical_ids.len(), "no duplicate in the full stream");
        for (p, mut s) in points.iter().zip(streams) {
            let p = p.clone().unwrap_or_default();
            let resumed = s.until("11:new_block").await;
            let at = canonical_ids.iter().position(|i| *i == p).expect("the resume id is in the stream");
            assert_eq!(ids(&resumed), canonical_ids[at + 1..].to_vec(), "resumed after {p}: no gap, no duplicate");
            assert_eq!(resumed, canonical[at + 1..].to_vec(), "same events");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_filters_bad_starts_long_replays_and_extra_streams_are_refused() {
    let dir = temp_dir("sse-refused");
    let mut c = config(&dir);
    c.http.max_replay_blocks = 3;
    c.http.max_event_streams = 1;
    runtime().block_on(async {
        let h = start_with(c).await;
        let to = server(&h);
        for _ in 0..4 {
            h.block();
        }
        let refused = |a: Result<Events, Answer>| a.err().expect("refused").json();
        let a = refused(open_events(to, "/v1/events?event=nonsense", None).await);
        expect_error(&a, 400, "UnknownEvent");
        let msg = a.1["message"].as_str().unwrap_or_default();
        assert!(msg.contains("\"nonsense\"") && msg.contains("new_block") && msg.contains("deposit"), "{msg}");
        assert!(msg.contains("staker_delegated") && msg.contains("vault_rate_settled"), "{msg}");
        expect_error(&refused(open_events(to, "/v1/events?from_height=6", None).await), 400, "BadFromHeight");
        expect_error(&refused(open_events(to, "/v1/events?from_height=x", None).await), 400, "BadQueryString");
        expect_error(&refused(open_events(to, "/v1/events", Some("4:lagged")).await), 400, "BadLastEventId");
        expect_error(&refused(open_events(to, "/v1/events", Some("5:0:0")).await), 400, "BadLastEventId");
        let a = refused(open_events(to, "/v1/events?from_height=1", None).await);
        expect_error(&a, 400, "ReplayTooLong");
        let msg = a.1["message"].as_str().unwrap_or_default();
        assert!(msg.contains("4 blocks (head 4)") && msg.contains("at most 3 are replayed, from block 2 on"), "{msg}");
        expect_error(&refused(open_events(to, "/v1/events", Some("0:new_block")).await), 400, "ReplayTooLong");
        // Within the limit; and one stream at most here.
        let mut s = open_events(to, "/v1/events?from_height=2", None).await.expect("three blocks");
        assert_eq!(ids(&s.until("4:new_block").await), ["2:new_block", "3:new_block", "4:new_block"]);
        let a = open_events(to, "/v1/events", None).await.err().expect("refused");
        expect_error(&a.json(), 503, "TooManyStreams");
        assert_eq!(a.header("retry-after").as_deref(), Some("1"));
        drop(s);
        let mut freed = false;
        for _ in 0..100 {
            if open_events(to, "/v1/events", None).await.is_ok() {
                freed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(freed, "a closed stream frees its place");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_openapi_document_describes_the_refusals_and_the_resume_options() {
    let dir = temp_dir("openapi-hostile");
    runtime().block_on(async {
        let h = start(&dir).await;
        let (status, doc) = h.client.get("/openapi.json").await.expect("get");
        assert_eq!(status, 200);
        for (path, method) in [("/v1/state", "get"), ("/v1/tx", "post"), ("/health", "get"), ("/v1/events", "get")] {
            let responses = &doc["paths"][path][method]["responses"];
            for code in ["429", "503"] {
                assert!(responses[code].is_object(), "{method} {path} documents {code}: {responses}");
            }
            assert!(responses["429"]["headers"]["Retry-After"].is_object(), "{responses}");
        }
        let events = &doc["paths"]["/v1/events"]["get"];
        let params: Vec<&str> =
            events["parameters"].as_array().expect("parameters").iter().filter_map(|p| p["name"].as_str()).collect();
        for p in ["event", "address", "tx", "from_height", "Last-Event-ID"] {
            assert!(params.contains(&p), "{p} in {params:?}");
        }
        assert!(events["responses"]["400"].is_object(), "{events}");
        for schema in ["NewBlock", "Lagged", "EventRecord"] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
