//! A small HTTP client of the node's API (CLI, devnet workers, tests, the load generator),
//! on hyper's pooled client.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, body::Bytes};
use hyper_util::{
    client::legacy::{Client as HyperClient, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::Value;

/// A client of one node.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

/// An HTTP failure (transport or an unreadable answer).
#[derive(Debug, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct ClientError {
    /// The request's URL.
    pub url: String,
    /// What failed.
    pub reason: String,
}

/// An error with its sources: `client error (Connect): tcp connect error: Connection refused`.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

impl Client {
    /// A client of the node at `base` (`http://127.0.0.1:8545`).
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // Idle connections are dropped before the node's header timeout (10 s by default) would
        // close them, so a request never races the server's close.
        let http =
            HyperClient::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(5)).build(connector);
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`: status and JSON body (`Value::Null` when not JSON).
    pub async fn get(&self, path: &str) -> Result<(u16, Value), ClientError> {
        self.request(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), ClientError> {
        self.request(Method::POST, path, Some(body.to_string().into_bytes())).await
    }

    /// Any request with raw body bytes.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Value), ClientError> {
        let (status, bytes) = self.request_raw(method, path, body).await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// `GET path`: status and the body's bytes, for callers that decode into their own types.
    pub async fn get_raw(&self, path: &str) -> Result<(u16, Bytes), ClientError> {
        self.request_raw(Method::GET, path, None).await
    }

    /// Any request: status and the body's bytes.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), ClientError> {
        let url = format!("{}{}", self.base, path);
        let err = |reason: String| ClientError { url: url.clone(), reason };
        let req = Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| err(e.to_string()))?;
        let resp = self.http.request(req).await.map_err(|e| err(with_sources(&e)))?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| err(e.to_string()))?.to_bytes();
        Ok((status, bytes))
    }
}
