//! The agent's configuration: a Prometheus `prometheus.yml` (supported subset), loaded,
//! checked and turned into typed settings.
//!
//! `model` is the file's shape, `schema` + `unsupported` reject unknown and unsupported keys with
//! their line, `load` reads and resolves paths, `validate` enforces Prometheus's rules and fills
//! defaults, `resolved` answers "what is the effective value", and `secret` reads and redacts
//! secrets.

mod duration;
mod error;
mod http_client;
mod load;
mod model;
mod resolved;
mod schema;
mod secret;
mod unsupported;
mod validate;

pub use duration::PromDuration;
pub use error::{ConfigError, Problem};
pub use http_client::{Credentials, HttpClientError};
pub use model::*;
pub use secret::REDACTED;
