//! The batch identity carried in the `X-Skyview-Batch` header.
//!
//! Format (ASCII, no spaces): `<agent_id>/<queue>/<first>-<last>`
//!
//! - `agent_id`: 1 to 64 characters from `[A-Za-z0-9_-]` (a lowercase hex id fits). It names the
//!   agent; it is stable across restarts of that agent.
//! - `queue`: the shipper queue (a `u32`, decimal) the batch was sent from. A series is pinned
//!   to one queue, and a queue has at most one batch in flight.
//! - `first`, `last`: `u64` decimals, `first <= last`. They are WAL positions
//!   (`WalPos::as_u64`: segment in the high 32 bits, byte offset in the low 32) of the first and
//!   the last WAL record that contributed samples to the batch. A batch always holds *all* of
//!   its queue's samples from each record it touches, so for one `(agent_id, queue)` the ranges
//!   of successive batches are disjoint and strictly increasing.
//!
//! Numbers are canonical decimals (no sign, no leading zeros) so that one batch has exactly one
//! header value; [`BatchId::parse`] rejects anything else, naming the offending part.
//!
//! A retry of a batch, including after an agent restart, carries the same identity. A receiver
//! that has committed a batch of `(agent_id, queue)` with `last = L` can treat any later batch
//! of that queue with `last <= L` as a duplicate.

use std::fmt;

/// Longest accepted agent id.
pub const MAX_AGENT_ID_LEN: usize = 64;

/// The identity of one batch; see the module documentation for the format.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchId {
    pub agent_id: String,
    pub queue: u32,
    pub first: u64,
    pub last: u64,
}

/// What is wrong with a batch identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchIdError {
    #[error("batch id {value:?}: expected <agent_id>/<queue>/<first>-<last>")]
    Shape { value: String },
    #[error("batch id agent id {agent_id:?}: must be 1-64 characters of [A-Za-z0-9_-]")]
    AgentId { agent_id: String },
    #[error("batch id queue {queue:?}: must be a canonical decimal u32")]
    Queue { queue: String },
    #[error("batch id sequence {sequence:?}: must be a canonical decimal u64")]
    Sequence { sequence: String },
    #[error("batch id range {first}-{last}: first is after last")]
    Range { first: u64, last: u64 },
}

impl BatchId {
    /// Builds an identity, checking the agent id and the range.
    pub fn new(
        agent_id: impl Into<String>,
        queue: u32,
        first: u64,
        last: u64,
    ) -> Result<Self, BatchIdError> {
        let agent_id = agent_id.into();
        validate_agent_id(&agent_id)?;
        if first > last {
            return Err(BatchIdError::Range { first, last });
        }
        Ok(Self {
            agent_id,
            queue,
            first,
            last,
        })
    }

    /// The header value, `<agent_id>/<queue>/<first>-<last>`.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }

    /// Parses a header value strictly: every part must be present and canonical.
    pub fn parse(value: &str) -> Result<Self, BatchIdError> {
        let shape = || BatchIdError::Shape {
            value: value.to_owned(),
        };
        let mut parts = value.split('/');
        let (Some(agent_id), Some(queue), Some(range), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let (first, last) = range.split_once('-').ok_or_else(shape)?;
        validate_agent_id(agent_id)?;
        let queue = parse_canonical(queue)
            .and_then(|q| u32::try_from(q).ok())
            .ok_or_else(|| BatchIdError::Queue {
                queue: queue.to_owned(),
            })?;
        let seq = |s: &str| {
            parse_canonical(s).ok_or_else(|| BatchIdError::Sequence {
                sequence: s.to_owned(),
            })
        };
        Self::new(agent_id, queue, seq(first)?, seq(last)?)
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}-{}",
            self.agent_id, self.queue, self.first, self.last
        )
    }
}

/// Checks an agent id against `[A-Za-z0-9_-]{1,64}`.
pub fn validate_agent_id(agent_id: &str) -> Result<(), BatchIdError> {
    let ok = (1..=MAX_AGENT_ID_LEN).contains(&agent_id.len())
        && agent_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(BatchIdError::AgentId {
            agent_id: agent_id.to_owned(),
        })
    }
}

/// A decimal `u64` with no sign and no leading zero (except `0` itself).
fn parse_canonical(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_back() {
        let id = BatchId::new("a1b2c3", 7, (3 << 32) | 128, (4 << 32) | 16).unwrap();
        let value = id.to_header_value();
        assert_eq!(value, "a1b2c3/7/12884902016-17179869200");
        assert_eq!(BatchId::parse(&value).unwrap(), id);
        let max = BatchId::new("A_z-9", u32::MAX, u64::MAX, u64::MAX).unwrap();
        assert_eq!(BatchId::parse(&max.to_header_value()).unwrap(), max);
    }

    #[test]
    fn rejects_malformed_values_naming_the_part() {
        let cases: [(&str, BatchIdError); 12] = [
            ("", BatchIdError::Shape { value: "".into() }),
            (
                "a/1",
                BatchIdError::Shape {
                    value: "a/1".into(),
                },
            ),
            (
                "a/1/2",
                BatchIdError::Shape {
                    value: "a/1/2".into(),
                },
            ),
            (
                "a/1/2-3/4",
                BatchIdError::Shape {
                    value: "a/1/2-3/4".into(),
                },
            ),
            (
                "/1/2-3",
                BatchIdError::AgentId {
                    agent_id: "".into(),
                },
            ),
            (
                "a.b/1/2-3",
                BatchIdError::AgentId {
                    agent_id: "a.b".into(),
                },
            ),
            ("a/01/2-3", BatchIdError::Queue { queue: "01".into() }),
            (
                "a/4294967296/2-3",
                BatchIdError::Queue {
                    queue: "4294967296".into(),
                },
            ),
            (
                "a/1/+2-3",
                BatchIdError::Sequence {
                    sequence: "+2".into(),
                },
            ),
            (
                "a/1/2-03",
                BatchIdError::Sequence {
                    sequence: "03".into(),
                },
            ),
            (
                "a/1/2-18446744073709551616",
                BatchIdError::Sequence {
                    sequence: "18446744073709551616".into(),
                },
            ),
            ("a/1/5-4", BatchIdError::Range { first: 5, last: 4 }),
        ];
        for (value, want) in cases {
            assert_eq!(BatchId::parse(value), Err(want), "{value:?}");
        }
        let long = "x".repeat(65);
        assert!(matches!(
            BatchId::parse(&format!("{long}/1/2-3")),
            Err(BatchIdError::AgentId { .. })
        ));
    }
}
