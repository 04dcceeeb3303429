//! Why a configuration file was refused. Startup and reload print these as they are, so each
//! message names the file, and where it can the line, the section (`scrape_configs[2], job
//! "node"`) and the field.

use std::path::PathBuf;

use crate::relabel::RelabelConfigError;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not valid YAML, or a value of the wrong type (a string where a list is expected, a bad
    /// duration, a missing required field).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field Prometheus knows but Skyview does not implement.
    #[error(
        "{}:{line}: field `{field}` ({section}) is a Prometheus feature Skyview does not support yet{hint}",
        path.display()
    )]
    Unsupported {
        path: PathBuf,
        line: usize,
        field: String,
        section: String,
        hint: &'static str,
    },
    /// A field neither Prometheus nor Skyview knows: usually a typo.
    #[error("{}:{line}: unknown field `{field}` ({section}); expected one of: {expected}", path.display())]
    UnknownField {
        path: PathBuf,
        line: usize,
        field: String,
        section: String,
        expected: String,
    },
    /// The file parses but breaks a rule Prometheus enforces.
    #[error("{}: {section}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        section: String,
        problem: Problem,
    },
    /// A `password_file` or `credentials_file` could not be read.
    #[error("cannot read `{field}` {}: {source}", file.display())]
    SecretFile {
        field: &'static str,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A rule that a parsed configuration breaks. Kept apart from [`ConfigError`] so validation
/// reports the problem and loading adds the file and section.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("job_name is empty")]
    EmptyJobName,
    #[error("found multiple scrape configs with job name {job:?}")]
    DuplicateJob { job: String },
    #[error("found multiple remote write configs with name {name:?}")]
    DuplicateRemoteWrite { name: String },
    #[error("scrape timeout {timeout} greater than scrape interval {interval}")]
    TimeoutExceedsInterval { timeout: String, interval: String },
    #[error("scrape interval must be greater than 0")]
    ZeroInterval,
    #[error("{name:?} is not a valid label name")]
    InvalidLabelName { name: String },
    #[error("{field}[{index}]: {source}")]
    Relabel {
        field: &'static str,
        index: usize,
        #[source]
        source: RelabelConfigError,
    },
    #[error("at most one of `{first}` and `{second}` must be configured")]
    Exclusive {
        first: &'static str,
        second: &'static str,
    },
    #[error("authorization type cannot be set to \"basic\", use \"basic_auth\" instead")]
    BasicAuthorizationType,
    #[error("`{missing}` must be configured together with `{present}`")]
    TlsPair {
        present: &'static str,
        missing: &'static str,
    },
    #[error("url {url:?} is not a valid http(s) URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("header {header:?} is reserved and must not be set in `headers`{hint}")]
    ReservedHeader { header: String, hint: &'static str },
    #[error("{target:?} is not a valid target address (a host:port, not a URL)")]
    InvalidTarget { target: String },
    #[error(
        "file_sd path {file:?} is not valid: it must end in .json, .yml or .yaml and may use `*` only in the last path component"
    )]
    InvalidFileSdPath { file: String },
    #[error("`{field}` must be greater than 0")]
    Zero { field: &'static str },
}
