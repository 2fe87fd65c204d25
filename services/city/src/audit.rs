//! Requester identity leaves the city only through an audited unmask, and
//! the data pushed back to handlers (Art. 28) carries none of it. Every
//! read of identity (an unmask, a relayed contact) writes an audit row the
//! city can list: who, which order, when, why.

use crate::tables::audit::{self, AuditEntry as Row};
use crate::tables::orders;
use hotline_core::{AssignmentState, Role};
use hotline_proto::v1::privacy_service_server::PrivacyService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use hotline_store::Conn;
use tonic::{Request, Response, Status};

use crate::record::{self, locked};

/// Writes one audit row for a read of the order's requester identity.
pub async fn record(
    conn: &mut Conn,
    actor: &meta::Caller,
    order_id: &str,
    now: i64,
    access: &str,
    reason: UnmaskReason,
    justification: &str,
) -> Result<String> {
    let audit_id = record::next_id(conn, "audit", "AU").await?;
    let row = Row {
        audit_id: audit_id.clone(),
        actor_unit: actor.unit.clone(),
        actor: actor
            .principal
            .as_ref()
            .map(|p| p.spiffe_id())
            .unwrap_or_default(),
        order_id: order_id.to_string(),
        time_us: now,
        access: access.to_string(),
        reason: reason_name(reason).to_string(),
        justification: justification.to_string(),
    };
    audit::insert(conn, &row).await?;
    Ok(audit_id)
}

fn reason_name(reason: UnmaskReason) -> &'static str {
    reason.as_str_name().trim_start_matches("UNMASK_REASON_")
}

fn to_wire(r: &Row) -> AuditEntry {
    AuditEntry {
        audit_id: r.audit_id.clone(),
        actor_unit: r.actor_unit.clone(),
        actor: r.actor.clone(),
        order_id: r.order_id.clone(),
        time: Some(wire::ts(r.time_us)),
        access: r.access.clone(),
        reason: UnmaskReason::from_str_name(&format!("UNMASK_REASON_{}", r.reason))
            .map(|k| k as i32)
            .unwrap_or(0),
        justification: r.justification.clone(),
    }
}

pub struct Privacy {
    ctx: Ctx,
}

impl Privacy {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn unmask(
        &self,
        caller: &meta::Caller,
        r: UnmaskRequesterRequest,
    ) -> Result<UnmaskRequesterResponse> {
        required("order_id", &r.order_id)?;
        let reason: UnmaskReason = UnmaskReason::try_from(r.reason)
            .ok()
            .filter(|k| *k != UnmaskReason::Unspecified)
            .ok_or_else(|| ServiceError::invalid("reason", "required: name why"))?;
        required("justification", &r.justification)?;
        let unit = &caller.unit;
        let scope = idem::scope("UnmaskRequester", unit);
        let now = self.ctx.now();
        let mut tx = self.ctx.db.begin().await?;
        let order = locked(&mut tx, &r.order_id).await?;
        // The answer is recorded without the identity, and a replay reads
        // it again: identity is kept in one place. Hence idem::once in this
        // transaction rather than apply_once.
        let answer = idem::once(&mut tx, &scope, &r.request_id, &r, now, async |tx, now| {
            let a = assignments::get(tx, &r.order_id, unit)
                .await?
                .ok_or_else(|| {
                    ServiceError::PermissionDenied(format!(
                        "unit {unit} has no assignment on orders/{}",
                        r.order_id
                    ))
                })?;
            guard::current_epoch(&r.order_id, unit, r.epoch, a.epoch)?;
            if a.role == Role::Copy || a.state == AssignmentState::Revoked || order.state.is_final()
            {
                return Err(ServiceError::FailedPrecondition(format!(
                    "orders/{} ({}): unit {unit} as {} ({}) may not unmask its requester",
                    r.order_id, order.state, a.role, a.state
                )));
            }
            // The row names the proven operator, not only the unit.
            let audit_id = record(
                tx,
                caller,
                &r.order_id,
                now,
                "unmask",
                reason,
                &r.justification,
            )
            .await?;
            let answer = UnmaskRequesterResponse {
                audit_id,
                ..Default::default()
            };
            Ok(answer)
        })
        .await?;
        let (name, phone) = audit::identity(&mut tx, &order.requester_ref)
            .await?
            .ok_or_else(|| ServiceError::not_found("requester", order.requester_ref.clone()))?;
        tx.commit().await?;
        tracing::info!(unit = %unit, order_id = %r.order_id, audit_id = %answer.audit_id, reason = reason_name(reason), "requester unmasked");
        Ok(UnmaskRequesterResponse {
            name,
            phone,
            audit_id: answer.audit_id,
        })
    }

    async fn export(
        &self,
        caller: &meta::Caller,
        r: ExportUnitOrdersRequest,
    ) -> Result<ExportUnitOrdersResponse> {
        let unit = r
            .unit
            .strip_prefix("units/")
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ServiceError::invalid("unit", "must be units/{unit_id}"))?;
        if self.ctx.topology.unit(unit).is_none() {
            return Err(ServiceError::not_found("unit", unit));
        }
        if guard::is_city(&self.ctx, caller).is_err() {
            guard::may_read_unit(&self.ctx, &caller.unit, unit)?;
        }
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let mut c = self.ctx.db.acquire().await?;
        let held =
            assignments::list_for_unit(&mut c, unit, None, &page.after, page.limit()).await?;
        let (held, next) = page.finish(held, |a| a.order_id.as_str());
        let mut out = Vec::new();
        for a in &held {
            let Some(o) = orders::get(&mut c, &a.order_id).await? else {
                continue;
            };
            let full = crate::wire::full_order_of(&self.ctx.topology, &mut c, &o).await?;
            let s = crate::redact::scrubber(&mut c, &o.requester_ref).await?;
            out.push(crate::redact::scrubbed(full, &s));
        }
        Ok(ExportUnitOrdersResponse {
            orders: out,
            next_page_token: next,
        })
    }
}

#[tonic::async_trait]
impl PrivacyService for Privacy {
    async fn unmask_requester(
        &self,
        req: Request<UnmaskRequesterRequest>,
    ) -> Result<Response<UnmaskRequesterResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.unmask(&caller, req.into_inner()).await?))
    }

    async fn list_audit_entries(
        &self,
        req: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        let r = req.into_inner();
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let rows = audit::list(&mut c, &r.order_id, &page.after, page.limit())
            .await
            .map_err(ServiceError::from)?;
        let (rows, next) = page.finish(rows, |e| e.audit_id.as_str());
        Ok(Response::new(ListAuditEntriesResponse {
            entries: rows.iter().map(to_wire).collect(),
            next_page_token: next,
        }))
    }

    async fn export_unit_orders(
        &self,
        req: Request<ExportUnitOrdersRequest>,
    ) -> Result<Response<ExportUnitOrdersResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(self.export(&caller, req.into_inner()).await?))
    }
}
