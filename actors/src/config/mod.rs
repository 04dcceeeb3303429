//! The agent's configuration: a Prometheus `prometheus.yml` (supported subset), loaded,
//! checked and turned into typed settings.

mod duration;
mod model;

pub use duration::PromDuration;
pub use model::*;
