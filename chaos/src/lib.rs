//! The chaos suite (not built yet; it needs the receiver cluster).
//!
//! It will run a real multi-process cluster with agents under load, inject seeded faults
//! (kill -9, partitions, pauses, netem), and check acknowledged writes against reads for lost,
//! duplicated and phantom samples, printing the seed and a one-line summary.
