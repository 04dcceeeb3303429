//! Go's `net.SplitHostPort` rules, which Prometheus 2.42 uses to decide whether a target
//! address already has a port or gets the scheme's default one.

/// Splits `host:port` (or `[v6]:port`) the way Go's `net.SplitHostPort` does; `None` where Go
/// returns an error (missing port, too many colons, stray brackets).
pub fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let colon = hostport.rfind(':')?;
    let (host, inner_start, inner_end) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        // The closing bracket must be followed directly by the last colon.
        if end + 1 != colon {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[inner_start..].contains('[') || hostport[inner_end..].contains(']') {
        return None;
    }
    Some((host, &hostport[colon + 1..]))
}

/// Whether Prometheus would append a default port: the address has none, and appending one
/// makes it valid.
pub fn needs_default_port(address: &str) -> bool {
    split_host_port(address).is_none() && split_host_port(&format!("{address}:1234")).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_go() {
        assert_eq!(split_host_port("h:80"), Some(("h", "80")));
        assert_eq!(split_host_port("[::1]:9100"), Some(("::1", "9100")));
        assert_eq!(split_host_port("h:"), Some(("h", "")));
        assert_eq!(split_host_port("h"), None);
        assert_eq!(split_host_port("::1"), None);
        assert_eq!(split_host_port("[::1]"), None);
        assert_eq!(split_host_port("[::1]x:1"), None);
        assert_eq!(split_host_port("a]:1"), None);
    }

    #[test]
    fn default_port_rule() {
        assert!(needs_default_port("example.com"));
        assert!(needs_default_port("[::1]"));
        assert!(!needs_default_port("example.com:9100"));
        // A bare IPv6 address stays invalid with a port appended: Prometheus leaves it alone.
        assert!(!needs_default_port("::1"));
    }
}
