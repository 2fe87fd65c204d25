//! The web front's calls to the centre, through the gateway, as the
//! channel front (`spiffe://hotline/channel/web`) acting for the centre's
//! intake: submit a request, read an order, list orders. The centre
//! answers a channel front with the citizen's form of an order only.
//!
//! Every call is bounded: a mesh that does not answer within
//! [`CALL_TIMEOUT`] is DEADLINE_EXCEEDED, a gateway that is down
//! UNAVAILABLE, never a hang.

use std::time::Duration;

use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::client::{Gateway, GatewayChannel, cut_off_is_unavailable};
use hotline_runtime::meta::routed;
use tonic::{Request, Status};

/// The longest the web front waits for the centre on one call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The centre, through the gateway.
#[derive(Clone, Debug)]
pub struct Centre {
    channel: GatewayChannel,
    /// The centre's unit id: every call is addressed to it and made for it.
    city: String,
}

impl Centre {
    /// A lazily connected client of the gateway at `gateway`, presenting
    /// the web front's certificate (over plaintext, claiming it).
    pub fn new(
        gateway: &str,
        security: &hotline_identity::Security,
        city: &str,
    ) -> anyhow::Result<Self> {
        let mut client = Gateway::traced(gateway, None, None, security)?;
        if !security.is_mtls() {
            client = client.claiming(&hotline_core::authz::web_front());
        }
        Ok(Self {
            channel: client.channel(),
            city: city.to_string(),
        })
    }

    /// The channel to the gateway, for calls of other services.
    pub fn channel(&self) -> GatewayChannel {
        self.channel.clone()
    }

    /// The centre's unit id.
    pub fn city(&self) -> &str {
        &self.city
    }

    /// `message` addressed to the centre, for the centre, with a deadline.
    pub fn routed<T>(&self, message: T) -> Request<T> {
        let mut req = routed(message, &self.city, &self.city);
        req.set_timeout(CALL_TIMEOUT);
        req
    }

    fn intake(&self) -> IntakeServiceClient<GatewayChannel> {
        IntakeServiceClient::new(self.channel())
    }

    pub async fn submit(&self, r: SubmitRequestRequest) -> Result<SubmitRequestResponse, Status> {
        let mut c = self.intake();
        bounded(async move { c.submit_request(self.routed(r)).await }).await
    }

    /// One order, by id, in the citizen's form.
    pub async fn order(&self, order_id: &str) -> Result<Order, Status> {
        let mut c = self.intake();
        let req = GetOrderRequest {
            name: format!("orders/{order_id}"),
        };
        let r = bounded(async move { c.get_order(self.routed(req)).await }).await?;
        r.order
            .ok_or_else(|| Status::internal("the centre answered GetOrder without an order"))
    }

    /// One page of orders, in the citizen's form.
    pub async fn list(&self, r: ListOrdersRequest) -> Result<ListOrdersResponse, Status> {
        let mut c = self.intake();
        bounded(async move { c.list_orders(self.routed(r)).await }).await
    }
}

/// A call's answer within [`CALL_TIMEOUT`]; a call cut off mid-flight is
/// UNAVAILABLE, as the mesh's own senders take it.
async fn bounded<T>(
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, Status> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(status)) => Err(cut_off_is_unavailable(status)),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "the centre did not answer within {CALL_TIMEOUT:?}"
        ))),
    }
}
