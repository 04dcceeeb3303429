//! Integration tests and benchmark harnesses for Skyview, run against real peers.
