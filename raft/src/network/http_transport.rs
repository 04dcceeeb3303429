//! The production [`Transport`]: HTTP/1.1 over a shared reqwest connection pool.
//!
//! One client serves every group, so heartbeats of the 17+ groups to one peer reuse a few
//! kept-alive connections. The connect timeout is short (a dead peer must fail fast, not hold
//! a replication stream for a whole RPC timeout); each request carries the caller's deadline.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::network::transport::{Transport, TransportError};

/// How long to wait for a TCP connection to a peer.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);
/// How much of an error reply's body to keep in the error.
const ERROR_BODY_CHARS: usize = 512;

/// Internal RPCs over HTTP.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport with its own connection pool.
    pub fn new() -> Result<HttpTransport, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(HttpTransport { client })
    }
}

impl Transport for HttpTransport {
    fn post(
        &self,
        base_url: &str,
        path: String,
        body: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Bytes, TransportError>> {
        let url = format!("{}/internal/{path}", base_url.trim_end_matches('/'));
        let request = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .timeout(timeout)
            .body(body);
        async move {
            let response = request
                .send()
                .await
                .map_err(|e| classify(&url, timeout, &e))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| classify(&url, timeout, &e))?;
            if status.is_success() {
                return Ok(bytes);
            }
            let body: String = String::from_utf8_lossy(&bytes)
                .chars()
                .take(ERROR_BODY_CHARS)
                .collect();
            Err(TransportError::Status {
                url,
                status: status.as_u16(),
                body,
            })
        }
        .boxed()
    }
}

fn classify(url: &str, timeout: Duration, e: &reqwest::Error) -> TransportError {
    let url = url.to_owned();
    if e.is_connect() {
        TransportError::Unreachable {
            url,
            reason: e.to_string(),
        }
    } else if e.is_timeout() {
        TransportError::Timeout { url, timeout }
    } else {
        TransportError::Broken {
            url,
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_unreachable_not_unknown() {
        // Bind then drop: the port is (almost certainly) closed for the next moment.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let transport = HttpTransport::new().unwrap();
        let err = transport
            .post(
                &format!("http://127.0.0.1:{port}"),
                "raft/0/vote".into(),
                Bytes::new(),
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert!(err.not_delivered(), "{err}");
        assert!(err.is_unavailable(), "{err}");
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_as_unknown() {
        // Accepts connections (the kernel backlog does) but never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let transport = HttpTransport::new().unwrap();
        let err = transport
            .post(
                &format!("http://{addr}"),
                "shard/1/write".into(),
                Bytes::from_static(&[1, 2, 3]),
                Duration::from_millis(200),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
        assert!(!err.not_delivered());
        drop(listener);
    }
}
