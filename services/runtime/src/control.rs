//! `ControlService`: under a virtual clock the driver (simulator, demo,
//! tests) moves time; each process fires its due timers and drains its
//! outbox before answering.

use std::sync::Arc;
use std::time::Duration;

use hotline_core::ManualClock;
use hotline_proto::v1::control_service_server::ControlService;
use hotline_proto::v1::*;
use tonic::{Request, Response, Status};

use crate::error::ServiceError;
use crate::outbox::Deliverer;
use crate::sweeper::Sweeper;
use crate::wire;

pub struct Control {
    pub clock: Arc<dyn hotline_core::Clock>,
    pub manual: Option<Arc<ManualClock>>,
    pub sweeper: Option<Sweeper>,
    pub deliverer: Arc<Deliverer>,
}

impl Control {
    /// Delivers until nothing deliverable is left (messages in backoff for
    /// an unavailable receiver stay), bounded in time.
    async fn drain(&self) -> Result<(u64, u64), ServiceError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut delivered = 0;
        loop {
            let pass = self
                .deliverer
                .pass()
                .await
                .map_err(|e| ServiceError::Unavailable(format!("outbox: {e}")))?;
            delivered += pass.delivered + pass.parked;
            let waiting = pass.wait.is_some();
            if !waiting || tokio::time::Instant::now() >= deadline {
                let mut c = self.deliverer.db.acquire().await?;
                let pending = crate::tables::outbox::depth(&mut c).await? as u64;
                return Ok((delivered, pending));
            }
            if pass.delivered + pass.parked == 0 {
                // Only messages in backoff: give them their retry time.
                tokio::time::sleep(
                    pass.wait
                        .unwrap_or_default()
                        .min(Duration::from_millis(200)),
                )
                .await;
            }
        }
    }
}

#[tonic::async_trait]
impl ControlService for Control {
    async fn advance_to(
        &self,
        req: Request<AdvanceToRequest>,
    ) -> Result<Response<AdvanceToResponse>, Status> {
        let manual = self.manual.as_ref().ok_or_else(|| {
            ServiceError::FailedPrecondition(
                "this process runs on the wall clock; start it with --clock virtual".into(),
            )
        })?;
        let t = req
            .get_ref()
            .time
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("time", "required"))?;
        manual.advance_to(wire::micros(t));
        let mut fired = 0;
        let mut delivered = 0;
        let mut pending;
        // A delivery may arm nothing here, but a timer's effect queues
        // messages: repeat until both are quiet.
        loop {
            let f = match &self.sweeper {
                Some(s) => s.sweep().await?,
                None => 0,
            };
            let (d, p) = self.drain().await?;
            fired += f;
            delivered += d;
            pending = p;
            if f == 0 && d == 0 {
                break;
            }
        }
        Ok(Response::new(AdvanceToResponse {
            now: Some(wire::ts(self.clock.now())),
            fired,
            delivered,
            pending,
        }))
    }

    async fn get_clock(
        &self,
        _: Request<GetClockRequest>,
    ) -> Result<Response<GetClockResponse>, Status> {
        Ok(Response::new(GetClockResponse {
            now: Some(wire::ts(self.clock.now())),
            r#virtual: self.manual.is_some(),
        }))
    }
}
