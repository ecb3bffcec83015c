//! A lying node for the refusal tests: a loopback HTTP server in front of a real node that
//! passes every request through and rewrites the block answers it was told to.

use std::sync::Arc;

use cairn_node::client::Client;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// How the proxy lies.
#[derive(Debug, Clone)]
pub(crate) enum Lie {
    /// From block `from` on, it serves another chain's blocks (each one consistent in itself).
    SplicesAnotherChain { from: u64, other: String },
    /// Asked for block `h >= from`, it serves block `h + 1`.
    ServesTheNextBlock { from: u64 },
    /// Block `at`'s first event gets another amount, leaving the header as it was.
    EditsAnEvent { at: u64 },
}

/// Starts the proxy in front of `node`; returns its base URL.
pub(crate) async fn start(node: &str, lie: Lie) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let node = Arc::new(Client::new(node));
    let lie = Arc::new(lie);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let node = Arc::clone(&node);
            let lie = Arc::clone(&lie);
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, body) = answer(&node, &path, &lie).await;
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    url
}

async fn answer(node: &Client, path: &str, lie: &Lie) -> (u16, Vec<u8>) {
    let height = path.strip_prefix("/v1/blocks/").and_then(|h| h.parse::<u64>().ok());
    let path = match (height, lie) {
        (Some(h), Lie::ServesTheNextBlock { from }) if h >= *from => format!("/v1/blocks/{}", h + 1),
        _ => path.to_owned(),
    };
    let other;
    let source = match (height, lie) {
        (Some(h), Lie::SplicesAnotherChain { from, other: url }) if h >= *from => {
            other = Client::new(url);
            &other
        }
        _ => node,
    };
    let (status, bytes) = source.get_raw(&path).await.expect("the real node answers");
    if let (Some(h), Lie::EditsAnEvent { at }) = (height, lie)
        && h == *at
    {
        let mut v: Value = serde_json::from_slice(&bytes).expect("a block");
        let amount = |e: &Value| ["amount", "shares", "tokens"].into_iter().find(|k| e.get(k).is_some());
        let event = v
            .pointer_mut("/receipts")
            .and_then(Value::as_array_mut)
            .and_then(|rs| {
                rs.iter_mut().find_map(|r| {
                    r["events"].as_array_mut().and_then(|e| e.first_mut()).filter(|e| amount(e).is_some())
                })
            })
            .expect("block has an event with an amount");
        let key = amount(event).expect("an amount");
        event[key] = Value::String("1".into());
        return (status, serde_json::to_vec(&v).expect("json"));
    }
    (status, bytes.to_vec())
}
