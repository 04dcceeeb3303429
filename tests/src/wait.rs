//! Waiting on a condition with a deadline, the only way the harness synchronises with the
//! processes it drives.
//!
//! Tests must not sleep for a fixed time and hope: a probe is polled at a short interval until
//! it yields a value or the deadline passes, and the timeout error carries the last probe
//! error so a failure says what was still wrong.

use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, Result};
use tokio::time::{interval, Instant, MissedTickBehavior};

/// How often probes are polled: short enough for 1 s scrape intervals, long enough not to load
/// the peers being probed.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// Polls `probe` until it returns `Ok(Some(value))`, failing after `timeout`.
///
/// `Ok(None)` means "not yet"; `Err` is remembered and reported if the deadline passes (a peer
/// that is still starting refuses connections, which is not yet a failure).
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut ticker = interval(POLL_EVERY);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_error = None;
    loop {
        ticker.tick().await;
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(match last_error {
                Some(e) => e.context(format!("timed out after {timeout:?} waiting for {what}")),
                None => anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_ready_value() {
        let calls = AtomicU32::new(0);
        let got = wait_until("third call", Duration::from_secs(5), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok((n >= 3).then_some(n))
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_error() {
        let err = wait_until::<(), _, _>("never", Duration::from_millis(250), || async {
            Err(anyhow!("connection refused"))
        })
        .await
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("waiting for never"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
    }
}
