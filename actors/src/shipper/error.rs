//! Why a Shipper could not be created.

use skyview_api::remote_write::BatchIdError;

use super::client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum ShipperError {
    /// The `remote_write` entry cannot be turned into an HTTP client.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The agent id cannot be used in a batch identity.
    #[error("agent id: {0}")]
    AgentId(#[from] BatchIdError),
}
