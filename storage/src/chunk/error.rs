//! The chunk codec's two error kinds, kept apart on purpose: an [`AppendError`] is about the
//! caller's sample (the head decides what to do with it), a [`DecodeError`] means stored bytes
//! are not a valid chunk (corruption: fatal for that chunk, never a panic).

/// Why a sample was not appended to an open chunk.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// Chunks hold strictly increasing timestamps; out-of-order samples belong to the head.
    #[error("sample at {t} ms is older than the chunk's last sample at {last_t} ms")]
    OutOfOrder { t: i64, last_t: i64 },
    /// Same timestamp as the last sample but a different value (compared bit for bit).
    #[error("sample at {t} ms has value {new} but the chunk already holds {existing} there")]
    ConflictingValue { t: i64, existing: f64, new: f64 },
    /// The chunk already holds the most samples the format allows.
    #[error("chunk is full: it holds the format's limit of {limit} samples")]
    Full { limit: usize },
}

/// Why bytes could not be decoded as a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("chunk truncated: {needed} more bits needed at bit {bit} of {available}")]
    Truncated {
        bit: usize,
        needed: u32,
        available: usize,
    },
    #[error("unsupported chunk format version {version}")]
    UnsupportedVersion { version: u8 },
    #[error("chunk declares {count} samples; a chunk holds 1 to {limit}")]
    SampleCount { count: u64, limit: usize },
    #[error("header time range from {min_t} spanning {span} ms overflows")]
    TimeRangeOverflow { min_t: i64, span: u64 },
    #[error("integer sequence of {count} values declares difference order {order}")]
    InvalidOrder { order: u8, count: usize },
    #[error("integer sequence declares a bit width of {width}, above 64")]
    InvalidWidth { width: u32 },
    #[error("integer sequence declares {exceptions} exceptions for {slots} slots")]
    TooManyExceptions { exceptions: u64, slots: usize },
    #[error("position {index} is out of order or beyond {slots} slots")]
    ExceptionIndex { index: u64, slots: usize },
    #[error("decimal values declare scale 10^-{scale}, above the limit 10^-{limit}")]
    InvalidScale { scale: u8, limit: u8 },
    #[error("XOR value window of {leading} leading zeros and {length} bits exceeds 64 bits")]
    XorWindow { leading: u32, length: u32 },
    #[error("timestamp {t} at index {index} does not follow {previous}")]
    NotIncreasing { index: usize, previous: i64, t: i64 },
    #[error("timestamps start at {first} but the header declares a minimum of {declared}")]
    MinTimeMismatch { first: i64, declared: i64 },
    #[error("timestamps end at {last} but the header declares a maximum of {declared}")]
    MaxTimeMismatch { last: i64, declared: i64 },
    #[error("chunk has {len} bytes but its content ends within {used} bytes")]
    TrailingBytes { used: usize, len: usize },
}
