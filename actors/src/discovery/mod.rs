//! Target discovery: static and file-based target groups, turned into scrape targets.

mod target;

pub use target::Target;
