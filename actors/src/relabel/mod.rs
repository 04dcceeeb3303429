//! The relabel engine: Prometheus's `relabel_configs` semantics, applied to label sets.

mod config;

pub use config::{Action, AnchoredRegex, RelabelConfig};
