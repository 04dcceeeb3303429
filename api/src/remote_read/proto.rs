//! The remote read protobuf messages (`prometheus/prompb/remote.proto` and `types.proto`), as
//! `prost` structs declared by hand like remote write's ([`crate::remote_write::proto`]), whose
//! `TimeSeries`, `Label` and `Sample` they reuse.
//!
//! Hints (`ReadHints`) are left out: they only help a server skip work, and `prost` skips the
//! unknown field. Field numbers are the spec's and must never change.

use crate::remote_write::TimeSeries;

/// The body of one remote-read request: several queries, answered in order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// The response types the reader accepts, in its order of preference; empty means SAMPLES.
    #[prost(enumeration = "ResponseType", repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `ReadRequest.ResponseType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ResponseType {
    /// One `ReadResponse` holding every series' raw samples.
    Samples = 0,
    /// A stream of `ChunkedReadResponse` frames of XOR chunks (not served).
    StreamedXorChunks = 1,
}

/// One selection: series matching every matcher, samples in `[start, end]` (milliseconds).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
}

/// `name <op> value`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LabelMatcher {
    #[prost(enumeration = "MatchType", tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `LabelMatcher.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MatchType {
    Eq = 0,
    Neq = 1,
    Re = 2,
    Nre = 3,
}

/// The SAMPLES answer: one result per query, in the request's order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// The series one query selected, each with its samples in the query's range.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}
