//! The unit a chunk stores: one millisecond timestamp and its value. Kept apart from the
//! agent's `RefSample` on purpose: storage does not depend on the agent's crate.

/// One sample of a series. Values compare with `==` here; the codec itself is bit-exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}
