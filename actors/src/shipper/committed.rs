//! Asking a Skyview receiver how far it has committed one queue of this agent.
//!
//! A receiver cluster remembers, per `(agent, queue)`, the `last` WAL position of the batches
//! it has fully committed (the batch identity's `last`, see `X-Skyview-Batch`), and serves it:
//!
//! ```text
//! GET /api/v1/agents/{agent}/queues/{queue}/committed
//! 200 {"status":"success","data":{"agent":"<agent>","queue":<u32>,"committed":<u64 or null>}}
//! ```
//!
//! The mark may lag the truth a little but never runs ahead of it. It closes the gap the local
//! cursor leaves open (prometheus/prometheus#8809): a batch the receiver committed but whose
//! answer never arrived (a timeout, a crash between the 2xx and the cursor write) would
//! otherwise be sent again after a restart. See `resume.rs` for what the shipper does with it.
//!
//! **Where.** The URL is the endpoint's `remote_write` URL with its path's trailing
//! `api/v1/write` replaced, so a receiver mounted under a prefix behind a reverse proxy
//! (`https://gw/skyview/api/v1/write`) is asked under the same prefix; a URL whose path does not
//! end that way is asked at the root. Query and fragment are dropped. The request goes through
//! the endpoint's own client: same TLS settings, headers (e.g. `X-Scope-OrgID`) and credentials
//! as the writes.
//!
//! **Bounds.** The query is an optimisation, so it may not hold shipping up: it is cut after
//! [`QUERY_TIMEOUT`] (or `remote_timeout` if shorter), and the answer may be at most
//! [`MAX_ANSWER_BYTES`]. Anything but a well-formed answer naming this very agent and queue is
//! an error, and the caller keeps its local cursor.

use std::time::Duration;

use serde::Deserialize;

use super::client::{excerpt, RemoteClient};

/// Longest time the committed query may take before shipping starts without it.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest answer read; a real one is under 150 bytes.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// Path suffix of a remote-write URL that the committed path replaces.
const WRITE_SUFFIX: &str = "api/v1/write";

/// Why the receiver's committed position could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CommittedError {
    /// The receiver has no such endpoint: not a Skyview receiver (Prometheus answers 404,
    /// VictoriaMetrics 400 "unsupported path", some proxies 405). Expected, not a fault.
    #[error("the receiver does not serve committed positions (HTTP {status})")]
    NotServed { status: u16 },
    /// Any other non-2xx answer (auth failures, 5xx).
    #[error("HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    /// No answer: connection refused, TLS failure, timeout.
    #[error("request failed: {0}")]
    Request(#[source] reqwest::Error),
    /// A 2xx answer that is not the committed document for this agent and queue.
    #[error("malformed answer: {reason}")]
    Malformed { reason: String },
}

/// The committed-position URL of `queue` of `agent_id` on the receiver at `write_url`.
pub fn committed_url(write_url: &reqwest::Url, agent_id: &str, queue: u32) -> reqwest::Url {
    let mut url = write_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let prefix = write_url
        .path()
        .strip_suffix(WRITE_SUFFIX)
        .filter(|p| p.ends_with('/'))
        .unwrap_or("/")
        .to_owned();
    url.set_path(&prefix);
    let queue = queue.to_string();
    if let Ok(mut segments) = url.path_segments_mut() {
        // Percent-encodes each segment; agent ids are [A-Za-z0-9_-] anyway.
        segments.pop_if_empty().extend([
            "api",
            "v1",
            "agents",
            agent_id,
            "queues",
            queue.as_str(),
            "committed",
        ]);
    }
    url
}

#[derive(Deserialize)]
struct Document {
    status: String,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    agent: String,
    queue: u32,
    committed: Option<u64>,
}

/// Reads a 2xx answer's body: the committed position, `None` when the receiver has committed
/// nothing of this queue yet. An answer about another agent or queue (a misrouting proxy, a
/// cache) is refused rather than trusted, since trusting it could skip unsent data.
pub fn parse_answer(
    body: &[u8],
    agent_id: &str,
    queue: u32,
) -> Result<Option<u64>, CommittedError> {
    let malformed = |reason: String| CommittedError::Malformed { reason };
    let doc: Document = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    if doc.status != "success" {
        return Err(malformed(format!("status {:?}", doc.status)));
    }
    let data = doc.data.ok_or_else(|| malformed("no data".to_owned()))?;
    if data.agent != agent_id || data.queue != queue {
        return Err(malformed(format!(
            "answer is about agent {:?} queue {}, asked for agent {agent_id:?} queue {queue}",
            data.agent, data.queue
        )));
    }
    Ok(data.committed)
}

/// Asks the receiver behind `client` for the committed position of `queue` of `agent_id`.
pub async fn fetch_committed(
    client: &RemoteClient,
    agent_id: &str,
    queue: u32,
    timeout: Duration,
) -> Result<Option<u64>, CommittedError> {
    let url = committed_url(client.url(), agent_id, queue);
    let mut response = client
        .request(reqwest::Method::GET, url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .await
        .map_err(CommittedError::Request)?;
    let status = response.status().as_u16();
    if matches!(status, 400 | 404 | 405) {
        return Err(CommittedError::NotServed { status });
    }
    let success = response.status().is_success();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CommittedError::Request)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            if success {
                return Err(CommittedError::Malformed {
                    reason: format!("answer longer than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            // An error page only feeds the log; its start is enough.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if !success {
        return Err(CommittedError::Status {
            status,
            detail: excerpt(body.into()),
        });
    }
    parse_answer(&body, agent_id, queue)
}

#[cfg(test)]
mod tests {
    //! The query against a real HTTP server (axum) on an ephemeral port.

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;

    use super::*;
    use crate::config::RemoteWriteConfig;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn url_replaces_the_write_path_and_keeps_a_prefix() {
        let cases = [
            (
                "http://r:9201/api/v1/write",
                "http://r:9201/api/v1/agents/a1/queues/3/committed",
            ),
            (
                "https://gw.example/skyview/api/v1/write?tenant=x#f",
                "https://gw.example/skyview/api/v1/agents/a1/queues/3/committed",
            ),
            (
                "http://r:9201/receive",
                "http://r:9201/api/v1/agents/a1/queues/3/committed",
            ),
            (
                "http://r:9201/notapi/v1/write",
                "http://r:9201/api/v1/agents/a1/queues/3/committed",
            ),
            (
                "http://user:pw@r/",
                "http://user:pw@r/api/v1/agents/a1/queues/3/committed",
            ),
        ];
        for (write, want) in cases {
            assert_eq!(
                committed_url(&url(write), "a1", 3).as_str(),
                want,
                "{write}"
            );
        }
    }

    #[test]
    fn parses_only_the_answer_for_this_agent_and_queue() {
        let doc = |agent: &str, queue: u32, committed: &str| {
            format!(
                r#"{{"status":"success","data":{{"agent":"{agent}","queue":{queue},"committed":{committed}}}}}"#
            )
        };
        let parse = |body: &str| parse_answer(body.as_bytes(), "a1", 2);
        assert_eq!(
            parse(&doc("a1", 2, "4294967396")).unwrap(),
            Some(4_294_967_396)
        );
        assert_eq!(parse(&doc("a1", 2, "null")).unwrap(), None);
        assert_eq!(
            parse(&doc("a1", 2, &u64::MAX.to_string())).unwrap(),
            Some(u64::MAX)
        );
        for bad in [
            doc("a2", 2, "5"),
            doc("a1", 3, "5"),
            doc("a1", 2, "-5"),
            doc("a1", 2, "5.5"),
            doc("a1", 2, "\"5\""),
            r#"{"status":"error","errorType":"internal","error":"boom"}"#.to_owned(),
            r#"{"status":"success"}"#.to_owned(),
            "<html>hello</html>".to_owned(),
            String::new(),
        ] {
            assert!(
                matches!(parse(&bad), Err(CommittedError::Malformed { .. })),
                "{bad}: {:?}",
                parse(&bad)
            );
        }
    }

    /// What the test server answers, by queue; queues not listed get 404.
    #[derive(Clone, Default)]
    struct Server {
        answers: Arc<BTreeMap<u32, (u16, String)>>,
        seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    }

    async fn committed(
        State(s): State<Server>,
        Path((agent, queue)): Path<(String, u32)>,
        headers: HeaderMap,
    ) -> Response {
        s.seen.lock().unwrap().push((agent, headers));
        match s.answers.get(&queue) {
            Some((status, body)) => {
                (StatusCode::from_u16(*status).unwrap(), body.clone()).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }

    async fn serve(server: Server, prefix: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                &format!("{prefix}/api/v1/agents/{{agent}}/queues/{{queue}}/committed"),
                get(committed),
            )
            .with_state(server);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}{prefix}/api/v1/write")
    }

    fn client(yaml: &str) -> RemoteClient {
        let cfg: RemoteWriteConfig = serde_yaml_ng::from_str(yaml).unwrap();
        RemoteClient::new(&cfg).unwrap()
    }

    #[tokio::test]
    async fn asks_with_the_endpoint_credentials_and_classifies_answers() {
        let ok = |q: u32, c: &str| {
            format!(r#"{{"status":"success","data":{{"agent":"a1","queue":{q},"committed":{c}}}}}"#)
        };
        let server = Server {
            answers: Arc::new(BTreeMap::from([
                (0, (200, ok(0, "77"))),
                (1, (200, ok(1, "null"))),
                (2, (503, "not ready".to_owned())),
                (3, (200, "x".repeat(MAX_ANSWER_BYTES + 1))),
                (4, (400, "unsupported path requested".to_owned())),
            ])),
            seen: Arc::default(),
        };
        let write_url = serve(server.clone(), "/prefix").await;
        let client = client(&format!(
            "url: {write_url}\nheaders: {{X-Scope-OrgID: team-a}}\n\
             basic_auth: {{username: u, password: p}}"
        ));
        let ask = |q| fetch_committed(&client, "a1", q, QUERY_TIMEOUT);

        assert_eq!(ask(0).await.unwrap(), Some(77));
        assert_eq!(ask(1).await.unwrap(), None);
        assert!(matches!(
            ask(2).await,
            Err(CommittedError::Status { status: 503, ref detail }) if detail == "not ready"
        ));
        assert!(matches!(
            ask(3).await,
            Err(CommittedError::Malformed { .. })
        ));
        assert!(matches!(
            ask(4).await,
            Err(CommittedError::NotServed { status: 400 })
        ));
        assert!(matches!(
            ask(5).await,
            Err(CommittedError::NotServed { status: 404 })
        ));

        let seen = server.seen.lock().unwrap();
        assert_eq!(seen.len(), 6);
        for (agent, headers) in seen.iter() {
            assert_eq!(agent, "a1");
            assert_eq!(headers["x-scope-orgid"], "team-a");
            assert_eq!(headers["authorization"], "Basic dTpw");
            assert!(headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("Skyview/"));
            // Write-only headers stay off the query.
            assert!(!headers.contains_key("content-encoding"));
        }
    }

    #[tokio::test]
    async fn an_unreachable_or_silent_receiver_is_a_bounded_error() {
        // Nothing listens on a port we just released.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let refused = client(&format!("url: http://{addr}/api/v1/write"));
        assert!(matches!(
            fetch_committed(&refused, "a1", 0, QUERY_TIMEOUT).await,
            Err(CommittedError::Request(_))
        ));

        // A receiver that accepts the connection and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                open.push(socket);
            }
        });
        let client = client(&format!("url: http://{addr}/api/v1/write"));
        let started = std::time::Instant::now();
        let answer = fetch_committed(&client, "a1", 0, Duration::from_millis(200)).await;
        assert!(
            matches!(answer, Err(CommittedError::Request(ref e)) if e.is_timeout()),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        hold.abort();
    }
}
