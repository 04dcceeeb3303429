//! Fields Prometheus 2.42 (and a few later releases) accept that Skyview does not implement
//! yet, by section. Naming them separately from typos lets the error say "a Prometheus feature
//! Skyview does not support yet" instead of "unknown field", which would wrongly suggest the
//! user misspelled a real Prometheus option.
//!
//! Each entry carries a hint appended to the error (empty when there is nothing to add).

/// Top-level sections.
pub(super) const ROOT: &[(&str, &str)] = &[
    (
        "rule_files",
        " (a Prometheus agent rejects it too: agents evaluate no rules)",
    ),
    (
        "alerting",
        " (a Prometheus agent rejects it too: agents send no alerts)",
    ),
    ("remote_read", " (a Prometheus agent rejects it too)"),
    ("storage", ""),
    ("tracing", ""),
    ("scrape_config_files", ""),
];

/// `global:` fields. `evaluation_interval` and `query_log_file` are accepted and ignored, as
/// a Prometheus agent ignores them; see `model.rs`.
pub(super) const GLOBAL: &[(&str, &str)] = &[
    ("body_size_limit", " (set it per scrape config)"),
    ("sample_limit", " (set it per scrape config)"),
    ("label_limit", " (set it per scrape config)"),
    ("label_name_length_limit", " (set it per scrape config)"),
    ("label_value_length_limit", " (set it per scrape config)"),
    ("target_limit", ""),
    ("keep_dropped_targets", ""),
    ("scrape_protocols", ""),
    ("rule_query_offset", ""),
];

/// HTTP client fields shared by `scrape_configs` and `remote_write` entries.
const HTTP_CLIENT: &[(&str, &str)] = &[
    ("oauth2", ""),
    ("bearer_token", " (use `authorization: {credentials: ...}`)"),
    (
        "bearer_token_file",
        " (use `authorization: {credentials_file: ...}`)",
    ),
    ("proxy_url", ""),
    ("no_proxy", ""),
    ("proxy_from_environment", ""),
    ("proxy_connect_header", ""),
    ("enable_http2", ""),
    ("http_headers", ""),
];

/// `scrape_configs` fields besides the HTTP client ones.
const SCRAPE: &[(&str, &str)] = &[
    ("azure_sd_configs", ""),
    ("consul_sd_configs", ""),
    ("digitalocean_sd_configs", ""),
    ("docker_sd_configs", ""),
    ("dockerswarm_sd_configs", ""),
    ("dns_sd_configs", ""),
    ("ec2_sd_configs", ""),
    ("eureka_sd_configs", ""),
    ("gce_sd_configs", ""),
    ("hetzner_sd_configs", ""),
    ("http_sd_configs", ""),
    ("ionos_sd_configs", ""),
    ("kubernetes_sd_configs", ""),
    ("kuma_sd_configs", ""),
    ("lightsail_sd_configs", ""),
    ("linode_sd_configs", ""),
    ("marathon_sd_configs", ""),
    ("nerve_sd_configs", ""),
    ("nomad_sd_configs", ""),
    ("openstack_sd_configs", ""),
    ("ovhcloud_sd_configs", ""),
    ("puppetdb_sd_configs", ""),
    ("scaleway_sd_configs", ""),
    ("serverset_sd_configs", ""),
    ("triton_sd_configs", ""),
    ("uyuni_sd_configs", ""),
    ("vultr_sd_configs", ""),
    ("target_limit", ""),
    ("keep_dropped_targets", ""),
    ("scrape_classic_histograms", ""),
    ("native_histogram_bucket_limit", ""),
    ("native_histogram_min_bucket_factor", ""),
    ("scrape_protocols", ""),
    ("enable_compression", ""),
    ("track_timestamps_staleness", ""),
    ("scrape_failure_log_file", ""),
];

/// `remote_write` fields besides the HTTP client ones.
const REMOTE_WRITE: &[(&str, &str)] = &[
    ("send_exemplars", ""),
    ("send_native_histograms", ""),
    ("sigv4", ""),
    ("azuread", ""),
    ("google_iam", ""),
    ("protobuf_message", ""),
    ("round_robin_dns", ""),
];

/// `queue_config` fields.
pub(super) const QUEUE: &[(&str, &str)] = &[("sample_age_limit", "")];

/// `tls_config` fields.
pub(super) const TLS: &[(&str, &str)] = &[
    ("ca", " (use `ca_file`)"),
    ("cert", " (use `cert_file`)"),
    ("key", " (use `key_file`)"),
    ("server_name", ""),
    ("min_version", ""),
    ("max_version", ""),
];

/// `basic_auth` fields.
pub(super) const BASIC_AUTH: &[(&str, &str)] = &[("username_file", "")];

/// Looks `field` up in the scrape-config lists.
pub(super) fn scrape(field: &str) -> Option<&'static str> {
    find(SCRAPE, field).or_else(|| find(HTTP_CLIENT, field))
}

/// Looks `field` up in the remote-write lists.
pub(super) fn remote_write(field: &str) -> Option<&'static str> {
    find(REMOTE_WRITE, field).or_else(|| find(HTTP_CLIENT, field))
}

/// The hint for `field` if `list` names it.
pub(super) fn find(list: &[(&str, &'static str)], field: &str) -> Option<&'static str> {
    list.iter()
        .find(|(name, _)| *name == field)
        .map(|(_, hint)| *hint)
}
