//! Finding the Debian-packaged peer binaries, or failing with how to install them.
//!
//! Compatibility tests must never pass silently because a peer is missing, so a missing binary
//! is an error whose message is the exact command that installs every peer.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The command that installs every peer the harness uses.
pub const INSTALL_PEERS: &str =
    "apt-get install -y prometheus victoria-metrics prometheus-node-exporter";

/// The path of the peer executable `name` (`prometheus`, `victoria-metrics`, `vmagent`,
/// `prometheus-node-exporter`), searched in `$PATH` and then in `/usr/bin` (Debian installs
/// there, and a test runner's `$PATH` may be minimal).
pub fn peer_binary(name: &str) -> Result<PathBuf> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path_var)
        .chain(std::iter::once(PathBuf::from("/usr/bin")))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate));
    match found {
        Some(path) => Ok(path),
        None => {
            bail!("peer binary `{name}` is not installed; install the peers with: {INSTALL_PEERS}")
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_system_binary() {
        assert!(peer_binary("sh").unwrap().ends_with("sh"));
    }

    #[test]
    fn a_missing_peer_says_how_to_install_it() {
        let err = peer_binary("skyview-no-such-peer").unwrap_err().to_string();
        assert!(err.contains(INSTALL_PEERS), "{err}");
    }
}
