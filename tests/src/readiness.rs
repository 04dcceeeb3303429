//! Waiting for a started process to serve: its health endpoint answers 200 while it runs.
//!
//! Every peer and the agent get the same treatment: poll the endpoint with a deadline, and fail
//! immediately (with the log tail) if the process exits instead of becoming ready.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::ChildProcess;
use crate::wait::wait_until;

/// How long a peer may take to start; Prometheus replaying a WAL is the slowest case.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Polls `url` until it answers 200, failing early if `process` exits.
pub async fn wait_ready(process: &mut ChildProcess, url: &str) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let what = format!("{} to be ready at {url}", process.name());
    wait_until(&what, STARTUP_TIMEOUT, || {
        let alive = process.ensure_running();
        let request = http.get(url).send();
        async move {
            alive?;
            let response = request.await?;
            if response.status().is_success() {
                Ok(Some(()))
            } else {
                bail!("{url} answered {}", response.status())
            }
        }
    })
    .await
}
