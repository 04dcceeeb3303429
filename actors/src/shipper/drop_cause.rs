//! Why samples were not delivered: the `reason` label of `remote_dropped_samples_total`.
//!
//! Every sample the shipper reads is either acknowledged by the receiver or counted here, so
//! `sent + dropped` accounts for everything the WAL held for this endpoint.

/// Why samples were not delivered, as the `reason` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// The receiver rejected the batch with a 4xx (429 included, unless retried).
    Http4xx,
    /// The receiver answered a status that is neither success, 4xx nor 5xx.
    HttpStatus,
    /// `write_relabel_configs` dropped the series.
    Relabel,
    /// The WAL yielded samples of a series it never defined; nothing can be sent for them.
    UnknownSeries,
    /// The batch could not be encoded (larger than snappy can compress).
    Encode,
}

impl DropCause {
    pub const ALL: [DropCause; 5] = [
        Self::Http4xx,
        Self::HttpStatus,
        Self::Relabel,
        Self::UnknownSeries,
        Self::Encode,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            Self::Http4xx => "http_4xx",
            Self::HttpStatus => "http_status",
            Self::Relabel => "relabel",
            Self::UnknownSeries => "unknown_series",
            Self::Encode => "encode",
        }
    }
}
