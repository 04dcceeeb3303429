//! The relabel engine: Prometheus's `relabel_configs` semantics, applied to label sets.
//!
//! `config` is the rule model, `validate` the load-time checks, `engine` applies rules, and
//! `expand` implements Go's `$1`/`${name}` template rules that `replace` and `labelmap` use.

mod config;
mod engine;
mod expand;
mod label_name;
mod validate;

pub use config::{Action, AnchoredRegex, RelabelConfig};
pub use engine::{relabel, relabel_builder};
pub use label_name::is_valid_label_name;
pub use validate::RelabelConfigError;
