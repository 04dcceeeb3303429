//! Ephemeral loopback ports for the peers the harness starts.
//!
//! Peers written in Go take their listen address as a flag, so the harness must pick a port
//! for them: it binds 127.0.0.1:0, reads the port the kernel chose and releases it. The window
//! in which another process could take it is tiny, and fixed ports would collide between tests
//! running in parallel.

use std::net::{SocketAddr, TcpListener};

use anyhow::{Context, Result};

/// A loopback address with a port that was free a moment ago.
pub fn free_loopback_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    listener.local_addr().context("reading the ephemeral port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_a_bindable_loopback_port() {
        let addr = free_loopback_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);
        TcpListener::bind(addr).expect("the released port can be bound again");
    }
}
