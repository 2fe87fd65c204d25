//! The requester's side (Art. 8): the status they may see, supplements,
//! withdrawal and urges. A requester presents the credential intake handed
//! them (`x-hotline-requester-token`): random, bound to the one order it
//! was issued for, expiring and revocable (see [`crate::credential`]).

use crate::tables::orders::{self, Order as Stored};
use crate::tables::requester_tokens::Grant;
use hotline_core::{AssignmentState, OrderState};
use hotline_proto::v1::requester_service_server::RequesterService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, guard, idem, wire};
use hotline_store::Conn;
use tonic::{Request, Response, Status};

use crate::credential::{self, TOKEN};
use crate::record::{self, locked, note, transition};

/// Queues a notice of `kind` to every unit holding a live assignment on
/// the order (copies included: the district supervises), ids derived from
/// the order's sequence so a retried cause tells each unit once. The
/// detail may quote the requester: it leaves scrubbed.
pub async fn tell_handlers(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &Stored,
    kind: NoticeKind,
    detail: String,
    now: i64,
) -> Result<()> {
    let city = ctx.topology.city().id.clone();
    let scrubber = crate::redact::scrubber(conn, &order.requester_ref).await?;
    let detail = scrubber.scrub(&detail).into_owned();
    let tag = hotline_handler::notice::kind_name(kind).to_ascii_lowercase();
    for a in assignments::for_order(conn, &order.order_id).await? {
        if a.state == AssignmentState::Revoked {
            continue;
        }
        let n = hotline_handler::notice::notice(
            format!("{tag}:{}:{}:{}", order.order_id, order.seq, a.unit_id),
            &a.unit_id,
            &order.order_id,
            kind,
            now,
            detail.clone(),
        );
        hotline_handler::notice::send(conn, &city, n, now).await?;
    }
    Ok(())
}

pub struct Requesters {
    ctx: Ctx,
}

impl Requesters {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    /// The order named, if the credential in `req` opens it now.
    async fn own<T>(&self, conn: &mut Conn, req: &Request<T>, name: &str) -> Result<Stored> {
        self.hosted(req)?;
        let token = presented(req)?;
        let order_id = record::order_id(name)?;
        let grant = credential::check(conn, token, self.ctx.now()).await?;
        opens(&grant, order_id)?;
        stored(conn, order_id).await
    }

    fn hosted<T>(&self, req: &Request<T>) -> Result<()> {
        if let Ok(target) = hotline_runtime::meta::Caller::of(req).map(|c| c.target) {
            guard::hosted(&self.ctx, &target)?;
        }
        Ok(())
    }

    async fn view(&self, conn: &mut Conn, o: &Stored) -> Result<RequesterOrderView> {
        let category_name =
            crate::wire::category_name(&self.ctx.topology, &o.category_code).to_string();
        let replies = assignments::for_order(conn, &o.order_id)
            .await?
            .into_iter()
            .filter(|a| a.role.is_lead() && !a.reply_text.is_empty())
            .map(|a| a.reply_text)
            .collect();
        let progress = orders::history(conn, &o.order_id)
            .await?
            .into_iter()
            .map(|h| HistoryEntry {
                seq: h.seq as u64,
                time: Some(wire::ts(h.time_us)),
                actor_unit: h.actor_unit,
                action: h.action,
                detail: String::new(),
            })
            .collect();
        let w = crate::wire::order_to_wire(o, &category_name);
        Ok(RequesterOrderView {
            name: w.name,
            state: w.state,
            category_name,
            received_time: w.received_time,
            due_time: w.due_time,
            answer: w.answer,
            replies,
            progress,
            callback: w.callback,
            urge_count: w.urge_count,
            open: is_open(o.state),
        })
    }

    /// Checks the credential, then runs `change` on the locked order in one
    /// transaction with request-id replay.
    async fn change<T, R>(
        &self,
        req: &Request<T>,
        method: &str,
        request_id: &str,
        name: &str,
        change: impl AsyncFnOnce(&mut Conn, &mut Stored, i64) -> Result<()>,
        answer: impl FnOnce(RequesterOrderView) -> R,
    ) -> Result<R>
    where
        T: prost::Message,
        R: prost::Message + Default,
    {
        required("request_id", request_id)?;
        let mut tx = self.ctx.db.begin().await?;
        let owned = self.own(&mut tx, req, name).await?;
        // Not apply_once: the credential read in this transaction names
        // the scope.
        let scope = idem::scope(method, &owned.requester_ref);
        let now = self.ctx.now();
        let r = idem::once(
            &mut tx,
            &scope,
            request_id,
            req.get_ref(),
            now,
            async |tx, now| {
                let mut order = locked(tx, &owned.order_id).await?;
                if !is_open(order.state) {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "orders/{} is {}: the requester may change only an open order",
                        order.order_id, order.state
                    )));
                }
                change(tx, &mut order, now).await?;
                orders::update(tx, &order).await?;
                Ok(answer(self.view(tx, &order).await?))
            },
        )
        .await?;
        tx.commit().await?;
        self.ctx.outbox.wake();
        Ok(r)
    }
}

/// Open for the requester: received and not yet closed, answered,
/// disposed or withdrawn.
fn is_open(state: OrderState) -> bool {
    !state.is_final() && state != OrderState::Received
}

/// The credential in the call's metadata.
fn presented<T>(req: &Request<T>) -> Result<&str> {
    req.metadata()
        .get(TOKEN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ServiceError::Unauthenticated(format!(
                "{TOKEN}: missing; present the credential intake issued"
            ))
        })
}

/// A credential opens only its own order; which other orders exist it
/// does not tell.
fn opens(grant: &Grant, order_id: &str) -> Result<()> {
    if grant.order_id == order_id {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "orders/{order_id} is not the order this credential opens"
        )))
    }
}

async fn stored(conn: &mut Conn, order_id: &str) -> Result<Stored> {
    orders::get(conn, order_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", format!("orders/{order_id}")))
}

#[tonic::async_trait]
impl RequesterService for Requesters {
    async fn get_own_order(
        &self,
        req: Request<GetOwnOrderRequest>,
    ) -> Result<Response<GetOwnOrderResponse>, Status> {
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let o = self.own(&mut c, &req, &req.get_ref().name).await?;
        let order = self.view(&mut c, &o).await?;
        Ok(Response::new(GetOwnOrderResponse { order: Some(order) }))
    }

    async fn supplement_order(
        &self,
        req: Request<SupplementOrderRequest>,
    ) -> Result<Response<SupplementOrderResponse>, Status> {
        let r = req.get_ref().clone();
        if r.text.trim().is_empty() && r.media_refs.is_empty() {
            return Err(
                ServiceError::invalid("text", "required unless media_refs are given").into(),
            );
        }
        if let Some(i) = r.media_refs.iter().position(|m| m.trim().is_empty()) {
            return Err(ServiceError::invalid(format!("media_refs[{i}]"), "empty").into());
        }
        let ctx = self.ctx.clone();
        let city = ctx.topology.city().id.clone();
        let mut facts = r.text.clone();
        if !r.media_refs.is_empty() {
            facts += &format!("\nmedia: {}", r.media_refs.join(" "));
        }
        let answer = self
            .change(
                &req,
                "SupplementOrder",
                &r.request_id,
                &r.name,
                async |tx, order, now| {
                    note(tx, order, now, &city, "supplemented", facts.clone()).await?;
                    // Handlers get the facts scrubbed, as in the export.
                    let told = facts.clone();
                    tell_handlers(&ctx, tx, order, NoticeKind::Supplemented, told, now).await
                },
                |v| SupplementOrderResponse { order: Some(v) },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn withdraw_order(
        &self,
        req: Request<WithdrawOrderRequest>,
    ) -> Result<Response<WithdrawOrderResponse>, Status> {
        let r = req.get_ref().clone();
        required("reason", &r.reason)?;
        let ctx = self.ctx.clone();
        let city = ctx.topology.city().id.clone();
        let answer = self
            .change(
                &req,
                "WithdrawOrder",
                &r.request_id,
                &r.name,
                async |tx, order, now| withdraw(&ctx, tx, order, &city, &r.reason, now).await,
                |v| WithdrawOrderResponse { order: Some(v) },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn urge_own_order(
        &self,
        req: Request<UrgeOwnOrderRequest>,
    ) -> Result<Response<UrgeOwnOrderResponse>, Status> {
        let r = req.get_ref().clone();
        required("request_id", &r.request_id)?;
        let requester_ref = {
            let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
            self.own(&mut c, &req, &r.name).await?.requester_ref
        };
        let city = self.ctx.topology.city().id.clone();
        let urged = crate::urge::urge(
            &self.ctx,
            &city,
            UrgeOrderRequest {
                request_id: format!("requester:{requester_ref}:{}", r.request_id),
                name: r.name.clone(),
                source: UrgeSource::Requester as i32,
            },
        )
        .await?;
        let order_id = urged.order.map(|o| o.order_id).unwrap_or_default();
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let o = orders::get(&mut c, &order_id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::not_found("order", format!("orders/{order_id}")))?;
        let order = self.view(&mut c, &o).await?;
        Ok(Response::new(UrgeOwnOrderResponse { order: Some(order) }))
    }

    async fn revoke_requester_token(
        &self,
        req: Request<RevokeRequesterTokenRequest>,
    ) -> Result<Response<RevokeRequesterTokenResponse>, Status> {
        self.hosted(&req)?;
        let r = req.get_ref();
        required("request_id", &r.request_id)?;
        let token = presented(&req)?;
        let order_id = record::order_id(&r.name)?;
        let now = self.ctx.now();
        let mut tx = self.ctx.db.begin().await.map_err(ServiceError::from)?;
        // A retry presents the credential the first call revoked: it is
        // known and opens the order, so it gets the first answer.
        let grant = credential::find(&mut tx, token).await?.ok_or_else(|| {
            ServiceError::Unauthenticated(format!("{TOKEN}: not a credential intake issued"))
        })?;
        opens(&grant, order_id)?;
        let order = stored(&mut tx, order_id).await?;
        // Not apply_once: the credential read in this transaction names
        // the scope.
        let scope = idem::scope("RevokeRequesterToken", &order.requester_ref);
        let mut revoked = None;
        let answer = idem::once(&mut tx, &scope, &r.request_id, r, now, async |tx, now| {
            credential::check(tx, token, now).await?;
            let count = credential::revoke_order(tx, order_id, now).await?;
            revoked = Some(count);
            Ok(RevokeRequesterTokenResponse {
                revoked_count: u32::try_from(count).unwrap_or(u32::MAX),
                revoke_time: Some(wire::ts(now)),
            })
        })
        .await?;
        tx.commit().await.map_err(ServiceError::from)?;
        if let Some(revoked) = revoked {
            tracing::info!(order_id = %order_id, revoked, "requester credentials revoked");
        }
        Ok(Response::new(answer))
    }
}

/// The requester takes the request back: every live assignment is revoked
/// (its handler learns it through its inbox), each handler is told why,
/// the order's clocks stop, and the order is WITHDRAWN.
async fn withdraw(
    ctx: &Ctx,
    tx: &mut Conn,
    order: &mut Stored,
    city: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    let detail = format!("withdrawn by the requester: {reason}");
    tell_handlers(ctx, tx, order, NoticeKind::Withdrawn, detail, now).await?;
    crate::arbitration::supersede_pending(ctx, tx, &order.order_id, now).await?;
    crate::clocks::callback_done(tx, &order.order_id).await?;
    order.closed_us = Some(now);
    transition(tx, order, now, city, OrderState::Withdrawn, reason.into()).await?;
    for a in assignments::for_order(tx, &order.order_id).await? {
        if a.state != AssignmentState::Revoked {
            record::revoke(ctx, tx, order, &a, now).await?;
        }
    }
    Ok(())
}
