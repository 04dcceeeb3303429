//! The WAL's error type.
//!
//! Request errors (a bad [`Append`](super::Append)) leave the WAL healthy and only reject that
//! request. Fatal errors (a failed write or fsync) put the WAL into a failed state: from then on
//! every append gets [`WalError::Failed`], because after a failed fsync the kernel may have
//! dropped dirty pages and nothing written since the last good fsync can be trusted.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::format::FrameFault;
use crate::sample::SeriesRef;

/// Everything the WAL, its replay and its reader can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// A filesystem operation failed.
    #[error("WAL {op} of {path} failed: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `WalOptions::segment_size` is outside the supported range (offsets are 32-bit).
    #[error("WAL segment size {size} is outside {min}..={max} bytes")]
    SegmentSizeOutOfRange { size: u64, min: u64, max: u64 },

    /// A sample names a series reference the WAL does not know: it was never assigned, or the
    /// series expired (no sample for an hour and its definition was checkpointed away). The
    /// sender must forget its cached references and send the series again as new.
    #[error("append refers to series ref {series_ref}, which the WAL does not know")]
    UnknownSeries { series_ref: SeriesRef },

    /// A sample names `SeriesId::New(index)` but the append has fewer new series.
    #[error("append refers to new series #{index}, but it carries only {new_series}")]
    NewSeriesOutOfRange { index: u32, new_series: usize },

    /// One label set is too large to be stored in a record.
    #[error("new series #{index} encodes to {bytes} bytes, over the {limit}-byte limit")]
    SeriesTooLarge {
        index: usize,
        bytes: usize,
        limit: usize,
    },

    /// A record in fsynced data could not be read. Replay never returns this (it truncates);
    /// a reader does, when durable data of the segment being written is unreadable.
    #[error("corrupt WAL record in {path} at offset {offset}: {fault}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        fault: FrameFault,
    },

    /// A reader was opened on a directory without any segment.
    #[error("WAL directory {dir} holds no segment")]
    NoSegments { dir: PathBuf },

    /// The WAL hit a fatal error earlier (the cause is attached) and accepts no more writes.
    #[error("the WAL failed and accepts no more writes: {0}")]
    Failed(Arc<WalError>),

    /// The Wal actor stopped before the append became durable.
    #[error("the WAL stopped before the append was durable")]
    Stopped,
}

impl WalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// True for errors after which the WAL accepts no more writes.
    pub fn is_fatal(&self) -> bool {
        matches!(self, WalError::Failed(_))
    }
}
