//! The `MetadataSender` actor: every `metadata_config.send_interval`, sends the scraped
//! targets' metric metadata to one `remote_write` endpoint, as Prometheus's remote-write queue
//! does, so the receivers' `/api/v1/metadata` (Grafana's metric browser) knows each family's
//! type, help and unit.
//!
//! Metadata is not kept in the WAL: it is a snapshot of what the targets declare, resent whole
//! every interval, so a round that fails is simply replaced by the next one (logged, not
//! retried), and a request carries no batch identity.

use actix::prelude::*;
use bytes::Bytes;
use skyview_api::remote_write::{
    encode_write_request, MetricMetadata as WireMetadata, MetricType as WireType, WriteRequest,
};

use super::client::RemoteClient;
use super::error::ShipperError;
use super::retry::Answer;
use crate::config::RemoteWriteConfig;
use crate::exposition::MetricType;
use crate::scrape::{GetMetadata, MetricMetadata};

/// Sends metric metadata to one endpoint.
#[derive(Debug)]
pub struct MetadataSender {
    client: RemoteClient,
    source: Recipient<GetMetadata>,
    interval: std::time::Duration,
    per_request: usize,
    /// A round is under way; a tick meanwhile is skipped.
    busy: bool,
}

impl MetadataSender {
    /// Prepares a sender for `cfg` (whose `metadata_config.send` the caller checked); fails on
    /// an unusable endpoint config, as the Shipper does.
    pub fn new(
        cfg: &RemoteWriteConfig,
        source: Recipient<GetMetadata>,
    ) -> Result<Self, ShipperError> {
        Ok(Self {
            client: RemoteClient::new(cfg)?,
            source,
            interval: cfg.metadata_config.send_interval.as_duration(),
            per_request: cfg.metadata_config.max_samples_per_send.max(1),
            busy: false,
        })
    }

    fn round(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let source = self.source.clone();
        let client = self.client.clone();
        let per_request = self.per_request;
        let round = async move {
            let metadata = match source.send(GetMetadata).await {
                Ok(metadata) => metadata,
                Err(error) => {
                    tracing::warn!(%error, "scrape manager unreachable; no metadata sent");
                    return;
                }
            };
            for part in metadata.chunks(per_request) {
                send(&client, part).await;
            }
        };
        ctx.spawn(actix::fut::wrap_future(round).map(|(), act: &mut Self, _| act.busy = false));
    }
}

/// Sends one request of `part`; failures are logged and left to the next round.
async fn send(client: &RemoteClient, part: &[MetricMetadata]) {
    let request = WriteRequest {
        timeseries: Vec::new(),
        metadata: part.iter().map(to_wire).collect(),
    };
    let body = match encode_write_request(&request) {
        Ok(body) => Bytes::from(body),
        Err(error) => {
            tracing::error!(%error, "cannot encode a metadata request");
            return;
        }
    };
    let exchange = client.send_metadata(body).await;
    match exchange.answer {
        Answer::Status { code, .. } if (200..300).contains(&code) => {}
        answer => tracing::warn!(
            url = %client.url(),
            ?answer,
            detail = %exchange.detail,
            "metadata not delivered; the next round resends it"
        ),
    }
}

fn to_wire(m: &MetricMetadata) -> WireMetadata {
    let kind = match m.kind {
        MetricType::Counter => WireType::Counter,
        MetricType::Gauge => WireType::Gauge,
        MetricType::Histogram => WireType::Histogram,
        MetricType::GaugeHistogram => WireType::GaugeHistogram,
        MetricType::Summary => WireType::Summary,
        MetricType::Info => WireType::Info,
        MetricType::StateSet => WireType::StateSet,
        MetricType::Unknown => WireType::Unknown,
    };
    WireMetadata {
        r#type: kind as i32,
        metric_family_name: m.family.clone(),
        help: m.help.clone(),
        unit: m.unit.clone(),
    }
}

impl Actor for MetadataSender {
    type Context = Context<Self>;

    /// Sends after the first interval, as Prometheus does: the targets have been scraped by
    /// then.
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.interval, |act, ctx| act.round(ctx));
    }
}

/// Stops a metadata sender (endpoint removed or changed).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopMetadataSender;

impl Handler<StopMetadataSender> for MetadataSender {
    type Result = ();

    fn handle(&mut self, _: StopMetadataSender, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
