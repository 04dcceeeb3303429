//! The `skyview` binary: command-line parsing and the wiring of each mode. No domain logic.

fn main() {}
