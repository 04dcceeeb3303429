//! What to do with the answer to a remote-write request: the retry policy as a state machine.
//!
//! It follows the remote write 1.0 spec and Prometheus's behaviour:
//!
//! | answer                                  | verdict                                        |
//! |-----------------------------------------|------------------------------------------------|
//! | 2xx                                     | delivered                                      |
//! | 5xx                                     | retry, after `Retry-After` if given, else backoff |
//! | 429 with `retry_on_http_429`            | retry, after `Retry-After` if given, else backoff |
//! | 429 without it, any other 4xx           | drop (`reason="http_4xx"`)                     |
//! | 1xx, 3xx (a redirect not followed)      | drop (`reason="http_status"`)                  |
//! | network error (connect, reset, …)       | retry with backoff                             |
//! | timeout                                 | retry with backoff; the outcome is *unknown*   |
//!
//! A timed-out request may have been applied by the receiver, so it is never treated as a
//! failure of the data: the batch is retried unchanged, with the same identity, and the
//! receiver's dedup on `X-Skyview-Batch` makes the retry harmless.
//!
//! Backoff starts at `min_backoff` and doubles up to `max_backoff`; each wait is drawn in
//! `[b/2, b)` ("equal jitter") so that queues and agents that failed together do not retry in
//! lockstep. The jitter draw is an input, which keeps this module pure. A `Retry-After` (seconds
//! or HTTP-date) replaces the backoff wait for that attempt, capped at [`MAX_RETRY_AFTER`] so a
//! hostile or broken header cannot park a queue for days.

use std::time::{Duration, SystemTime};

use super::drop_cause::DropCause;
use crate::config::QueueConfig;

/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The answer to one request, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Status {
        code: u16,
        retry_after: Option<RetryAfter>,
    },
    /// The request failed before a status arrived (connect refused, reset, DNS, TLS...).
    Network,
    /// No answer within `remote_timeout`: the receiver may or may not have applied it.
    Timeout,
}

/// A parsed `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    Date(SystemTime),
}

impl RetryAfter {
    /// Parses `120` or `Wed, 21 Oct 2015 07:28:00 GMT`; anything else is ignored (`None`).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Self::Seconds(secs));
        }
        httpdate::parse_http_date(value).ok().map(Self::Date)
    }

    fn delay(self, now: SystemTime) -> Duration {
        match self {
            Self::Seconds(s) => Duration::from_secs(s),
            Self::Date(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
        .min(MAX_RETRY_AFTER)
    }
}

/// The policy's decision after one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Drop(DropCause),
    /// Send the same batch again after this wait.
    Retry {
        after: Duration,
    },
}

/// The policy's settings, from `queue_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_on_http_429: bool,
}

impl RetryPolicy {
    pub fn from_config(cfg: &QueueConfig) -> Self {
        let min_backoff = cfg.min_backoff.as_duration().max(Duration::from_millis(1));
        Self {
            min_backoff,
            max_backoff: cfg.max_backoff.as_duration().max(min_backoff),
            retry_on_http_429: cfg.retry_on_http_429,
        }
    }

    /// The state for a fresh batch.
    pub fn start(&self) -> RetryState {
        RetryState {
            policy: *self,
            backoff: self.min_backoff,
            attempts: 0,
        }
    }
}

/// The retry state of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryState {
    policy: RetryPolicy,
    backoff: Duration,
    attempts: u32,
}

impl RetryState {
    /// Decides what follows `answer`. `jitter` is a uniform draw in `[0, 1)`.
    pub fn on_answer(&mut self, answer: Answer, now: SystemTime, jitter: f64) -> Verdict {
        self.attempts += 1;
        let retry_after = match answer {
            Answer::Status {
                code: 200..=299, ..
            } => return Verdict::Delivered,
            Answer::Status {
                code: 429,
                retry_after,
            } if self.policy.retry_on_http_429 => retry_after,
            Answer::Status {
                code: 400..=499, ..
            } => return Verdict::Drop(DropCause::Http4xx),
            Answer::Status {
                code: 500..=599,
                retry_after,
            } => retry_after,
            Answer::Status { .. } => return Verdict::Drop(DropCause::HttpStatus),
            Answer::Network | Answer::Timeout => None,
        };
        let backoff = self.backoff;
        self.backoff = (backoff * 2).min(self.policy.max_backoff);
        let after = match retry_after {
            Some(ra) => ra.delay(now),
            None => backoff.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0)),
        };
        Verdict::Retry { after }
    }

    /// Requests made for this batch so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn policy(retry_on_http_429: bool) -> RetryPolicy {
        RetryPolicy {
            min_backoff: MS(30),
            max_backoff: MS(5000),
            retry_on_http_429,
        }
    }

    fn status(code: u16) -> Answer {
        Answer::Status {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn verdict_table() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_90s = RetryAfter::Date(now + Duration::from_secs(90));
        let retry = |ms| Verdict::Retry { after: MS(ms) };
        let cases: Vec<(bool, Answer, Verdict)> = vec![
            (false, status(200), Verdict::Delivered),
            (false, status(204), Verdict::Delivered),
            (false, status(400), Verdict::Drop(DropCause::Http4xx)),
            (false, status(404), Verdict::Drop(DropCause::Http4xx)),
            (false, status(429), Verdict::Drop(DropCause::Http4xx)),
            (
                false,
                Answer::Status {
                    code: 429,
                    retry_after: Some(RetryAfter::Seconds(7)),
                },
                Verdict::Drop(DropCause::Http4xx),
            ),
            (true, status(429), retry(15)),
            (
                true,
                Answer::Status {
                    code: 429,
                    retry_after: Some(RetryAfter::Seconds(7)),
                },
                retry(7000),
            ),
            (
                true,
                Answer::Status {
                    code: 429,
                    retry_after: Some(in_90s),
                },
                retry(90_000),
            ),
            (false, status(500), retry(15)),
            (false, status(503), retry(15)),
            (
                false,
                Answer::Status {
                    code: 503,
                    retry_after: Some(RetryAfter::Seconds(2)),
                },
                retry(2000),
            ),
            (false, status(302), Verdict::Drop(DropCause::HttpStatus)),
            (false, Answer::Network, retry(15)),
            (false, Answer::Timeout, retry(15)),
        ];
        for (retry_429, answer, want) in cases {
            let mut state = policy(retry_429).start();
            assert_eq!(
                state.on_answer(answer, now, 0.0),
                want,
                "{answer:?} 429={retry_429}"
            );
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_max() {
        let now = SystemTime::now();
        let mut state = policy(false).start();
        let mut waits = Vec::new();
        for _ in 0..10 {
            match state.on_answer(status(500), now, 0.999_999) {
                Verdict::Retry { after } => waits.push(after.as_millis()),
                other => panic!("expected retry, got {other:?}"),
            }
        }
        // Jitter near 1 gives (almost) the full backoff: 30, 60, ... capped at 5000.
        assert_eq!(waits, [29, 59, 119, 239, 479, 959, 1919, 3839, 4999, 4999]);
        assert_eq!(state.attempts(), 10);
        // A success does not need a wait, whatever came before.
        assert_eq!(state.on_answer(status(200), now, 0.5), Verdict::Delivered);
    }

    #[test]
    fn retry_after_is_capped_and_past_dates_mean_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut state = policy(true).start();
        let huge = Answer::Status {
            code: 429,
            retry_after: Some(RetryAfter::Seconds(86_400)),
        };
        assert_eq!(
            state.on_answer(huge, now, 0.0),
            Verdict::Retry {
                after: MAX_RETRY_AFTER
            }
        );
        let past = RetryAfter::Date(now - Duration::from_secs(5));
        let answer = Answer::Status {
            code: 503,
            retry_after: Some(past),
        };
        assert_eq!(
            state.on_answer(answer, now, 0.0),
            Verdict::Retry {
                after: Duration::ZERO
            }
        );
    }

    #[test]
    fn parses_retry_after_forms() {
        assert_eq!(RetryAfter::parse(" 120 "), Some(RetryAfter::Seconds(120)));
        assert_eq!(
            RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(RetryAfter::Date(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
            ))
        );
        assert_eq!(RetryAfter::parse("soon"), None);
        assert_eq!(RetryAfter::parse("-1"), None);
    }
}
