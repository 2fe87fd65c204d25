//! A handling unit's inbox: the service that holds its assignments, and
//! what every RPC on them shares (who may call, the current assignment).

use hotline_core::AssignmentState;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::meta::{self, Caller};
use hotline_runtime::tables::assignments::Assignment as Stored;
use hotline_runtime::{Ctx, guard};
use tonic::Request;

use hotline_core::Tier;

pub struct Inbox {
    pub(crate) ctx: Ctx,
    pub(crate) tier: Tier,
}

impl Inbox {
    pub fn new(ctx: Ctx, tier: Tier) -> Self {
        Self { ctx, tier }
    }

    /// A handler's own call: it acts for itself, on a unit hosted here.
    pub(crate) fn own_call<T>(&self, req: &Request<T>) -> Result<Caller> {
        let caller = meta::Caller::checked(&self.ctx, req, guard::Rule::Itself)?;
        Ok(caller)
    }

    /// Loads the unit's assignment and checks the epoch.
    pub(crate) async fn current(
        &self,
        conn: &mut hotline_store::Conn,
        unit: &str,
        order_id: &str,
        epoch: u64,
    ) -> Result<Stored> {
        required("order_id", order_id)?;
        let a = crate::held(conn, order_id, unit).await?;
        guard::current_epoch(order_id, unit, epoch, a.epoch)?;
        if a.state == AssignmentState::Revoked {
            return Err(ServiceError::StaleEpoch(format!(
                "unit {unit}'s assignment on orders/{order_id} was revoked"
            )));
        }
        Ok(a)
    }
}
