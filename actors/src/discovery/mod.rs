//! Target discovery: static and file-based target groups, turned into scrape targets.
//!
//! Providers (`static_configs` in `group`, `file_sd_configs` in `file_sd`) produce
//! [`TargetGroup`]s; `populate` applies Prometheus's `PopulateLabels` (defaults, relabelling,
//! ports, instance) to each target; `job_targets` assembles a job's list and decides when it
//! changed; the `Discovery` actor drives it all and sends [`TargetsUpdated`].

mod actor;
mod file_sd;
mod group;
mod hostport;
mod job_targets;
mod populate;
mod target;

pub use actor::{Discovery, StopDiscovery, TargetsUpdated};
pub use file_sd::{parse_file, FileSdError, FILEPATH_LABEL};
pub use group::{TargetGroup, ADDRESS_LABEL};
pub use job_targets::JobTargets;
pub use populate::{populate, PopulateError, Populated};
pub use target::Target;
