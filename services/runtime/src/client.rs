//! Calls through the gateway: typed clients for request/response calls and
//! a raw-bytes call for the outbox, which stores encoded requests.

use bytes::{Buf, BufMut, Bytes};
use hotline_telemetry::metrics::RpcMetrics;
use hotline_telemetry::rpc::{TierOf, Traced};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

/// A channel whose calls are traced and measured.
pub type GatewayChannel = Traced<Channel>;

/// A lazily connected channel to the gateway.
#[derive(Clone, Debug)]
pub struct Gateway {
    channel: GatewayChannel,
    url: String,
}

impl Gateway {
    /// A plaintext gateway client, for checking an address.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Self::traced(url, None, None, &hotline_identity::Security::Plaintext)
    }

    /// A gateway client whose calls are measured in `metrics`, name their
    /// units' tiers, and present this process's certificate.
    pub fn traced(
        url: &str,
        metrics: Option<RpcMetrics>,
        tier_of: Option<TierOf>,
        security: &hotline_identity::Security,
    ) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_string())?
            .connect_timeout(std::time::Duration::from_secs(2))
            .tcp_nodelay(true);
        // Over mTLS the other end must hold the gateway's certificate.
        let channel = security.channel(endpoint, Some(crate::gate::gateway()))?;
        Ok(Self {
            channel: Traced::new(channel, metrics, tier_of).with_server(url),
            url: url.to_string(),
        })
    }

    /// Over plaintext nothing proves who calls: every call then claims
    /// `principal` in the header a plaintext gateway believes.
    pub fn claiming(mut self, principal: &hotline_core::authz::Principal) -> Self {
        if let Ok(v) = http::HeaderValue::from_str(&principal.path()) {
            self.channel = self.channel.with_header(
                http::HeaderName::from_static(hotline_identity::PRINCIPAL_HEADER),
                v,
            );
        }
        self
    }

    pub fn channel(&self) -> GatewayChannel {
        self.channel.clone()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends an already encoded request (routed, with its metadata) to
    /// `method` and returns the encoded response.
    pub async fn call_raw(
        &self,
        method: &str,
        req: tonic::Request<Bytes>,
    ) -> Result<Bytes, Status> {
        let path = method
            .parse::<http::uri::PathAndQuery>()
            .map_err(|_| Status::invalid_argument(format!("method: {method:?} is not a path")))?;
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("gateway {} unreachable: {e}", self.url)))?;
        Ok(grpc
            .unary(req, path, RawCodec)
            .await
            .map_err(cut_off_is_unavailable)?
            .into_inner())
    }
}

/// A call cut off mid-flight (the gateway died, the connection broke)
/// comes back UNKNOWN with the local transport error as its source; no
/// server said anything, so the sender may try again: UNAVAILABLE. An
/// UNKNOWN a server sent (no local source) stays what it is.
pub fn cut_off_is_unavailable(status: Status) -> Status {
    if status.code() == tonic::Code::Unknown && std::error::Error::source(&status).is_some() {
        Status::unavailable(format!("call cut off: {}", status.message()))
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_cut_off_is_retried_and_a_servers_unknown_is_not() {
        let broken = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let cut = Status::from_error(Box::new(broken));
        assert_eq!(cut.code(), tonic::Code::Unknown, "what tonic makes of it");
        let mapped = cut_off_is_unavailable(cut);
        assert_eq!(mapped.code(), tonic::Code::Unavailable);
        assert!(crate::outbox::retryable(mapped.code()));
        let said = cut_off_is_unavailable(Status::unknown("the handler failed"));
        assert_eq!(said.code(), tonic::Code::Unknown);
        assert!(!crate::outbox::retryable(said.code()));
    }
}

/// Passes encoded messages through untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
