//! A typed client of the mesh through the gateway, acting as a given unit:
//! the centre's intake desk, a handler unit's system, an operator.

pub mod conformance;
pub mod digest;
pub mod duration;
pub mod instant;
pub mod integration;
pub mod scorecards;
pub mod table;
pub mod trace;
pub mod views;

use std::time::Duration;

use hotline_proto::v1::contact_relay_service_client::ContactRelayServiceClient;
use hotline_proto::v1::control_service_client::ControlServiceClient;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::escalation_service_client::EscalationServiceClient;
use hotline_proto::v1::gateway_service_client::GatewayServiceClient;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::proactive_service_client::ProactiveServiceClient;
use hotline_proto::v1::reporting_service_client::ReportingServiceClient;
use hotline_proto::v1::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use hotline_identity::{Credentials, MeshChannel, Principal};
use hotline_runtime::meta::routed;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;
use tonic::{Request, Status};

/// What an `advance_to` did across the mesh.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AdvanceTotals {
    pub fired: u64,
    pub delivered: u64,
}

#[derive(Clone)]
pub struct MeshClient {
    channel: MeshChannel,
    /// The hotline centre's unit id.
    pub city: String,
    /// Each order's trace, as the centre hands it out: the client's later
    /// work on the order continues it, as a handler's system would.
    traces: Arc<Mutex<HashMap<String, String>>>,
    /// The order of each whistle this client blew.
    whistles: Arc<Mutex<HashMap<String, String>>>,
    /// Whether orders are read in the operations form (a channel front's
    /// dashboard: [`hotline_runtime::meta::VIEW`]).
    operations_view: bool,
}

/// A fresh request id: unique, not secret (it is bound to its request).
#[allow(clippy::disallowed_methods)]
pub fn request_id() -> String {
    format!("req-{:016x}", fastrand::u64(..))
}

impl MeshClient {
    /// A client of the gateway at `gateway` presenting `credentials`.
    pub fn new(gateway: &str, city: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let endpoint =
            Endpoint::from_shared(gateway.to_string())?.connect_timeout(Duration::from_secs(2));
        let channel = MeshChannel::new(endpoint, credentials);
        Ok(Self {
            channel,
            city: city.to_string(),
            traces: Arc::default(),
            whistles: Arc::default(),
            operations_view: false,
        })
    }

    /// Reads orders in the operations form: for a channel front's
    /// dashboard, which shows operators what `hotline trace` shows them
    /// (the centre gives a channel front the citizen's form otherwise).
    pub fn operations_view(mut self) -> Self {
        self.operations_view = true;
        self
    }

    /// The channel: each call presents the certificate of the unit it
    /// acts for (or the client's one holder's).
    pub fn channel(&self) -> MeshChannel {
        self.channel.clone()
    }

    /// The channel presenting the operator's certificate, for control,
    /// unmask and the gateway's routes and stats.
    pub fn operator_channel(&self) -> MeshChannel {
        self.channel.acting_as(Principal::Operator(
            hotline_identity::client::OPERATOR.into(),
        ))
    }

    /// Remembers the trace an order was received in.
    fn learn(&self, order_id: &str, trace_parent: &str) {
        if !trace_parent.is_empty() {
            self.traces
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(order_id.to_string())
                .or_insert_with(|| trace_parent.to_string());
        }
    }

    /// The order's trace, when this client has seen it.
    pub fn trace_parent(&self, order_id: &str) -> Option<String> {
        self.traces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(order_id)
            .cloned()
    }

    /// A call acting on an order: it names the order and continues the
    /// order's trace. Reads do not: a poll is no part of the order's story.
    fn on_order<T>(&self, order_id: &str, mut req: Request<T>) -> Request<T> {
        let md = req.metadata_mut();
        if let Ok(v) = MetadataValue::try_from(order_id) {
            md.insert(hotline_telemetry::rpc::ORDER, v);
        }
        if let Some(v) = self
            .trace_parent(order_id)
            .and_then(|tp| MetadataValue::try_from(tp.as_str()).ok())
        {
            md.insert(hotline_telemetry::propagation::TRACEPARENT, v);
        }
        req
    }

    fn learned(&self, a: Option<Assignment>) -> Assignment {
        let a = a.unwrap_or_default();
        self.learn(&a.order_id, &a.trace_parent);
        a
    }

    pub async fn submit(&self, r: SubmitRequestRequest) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let resp = c.submit_request(routed(r, &self.city, &self.city)).await?;
        let order = resp.into_inner().order.unwrap_or_default();
        self.learn(&order.order_id, &order.trace_parent);
        Ok(order)
    }

    /// Reads an order as `reader` (the city, or a unit assigned to it).
    pub async fn order_as(&self, reader: &str, order_id: &str) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = GetOrderRequest {
            name: format!("orders/{order_id}"),
        };
        let mut req = routed(req, &self.city, reader);
        if self.operations_view {
            req.metadata_mut().insert(
                hotline_runtime::meta::VIEW,
                tonic::metadata::MetadataValue::from_static(hotline_runtime::meta::OPERATIONS_VIEW),
            );
        }
        let order = c
            .get_order(req)
            .await?
            .into_inner()
            .order
            .unwrap_or_default();
        self.learn(&order.order_id, &order.trace_parent);
        Ok(order)
    }

    pub async fn order(&self, order_id: &str) -> Result<Order, Status> {
        self.order_as(&self.city, order_id).await
    }

    /// The first page of orders, as the centre sees them.
    pub async fn list_orders(&self) -> Result<Vec<Order>, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = routed(ListOrdersRequest::default(), &self.city, &self.city);
        Ok(c.list_orders(req).await?.into_inner().orders)
    }

    pub async fn callback(
        &self,
        order_id: &str,
        resolved: bool,
        satisfaction: Satisfaction,
    ) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = RecordCallbackRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            resolved,
            satisfaction: satisfaction as i32,
        };
        Ok(
            c.record_callback(self.on_order(order_id, routed(req, &self.city, &self.city)))
                .await?
                .into_inner()
                .order
                .unwrap_or_default(),
        )
    }

    fn dispatch(&self) -> DispatchServiceClient<MeshChannel> {
        DispatchServiceClient::new(self.channel())
    }

    pub async fn assignment(&self, unit: &str, order_id: &str) -> Result<Assignment, Status> {
        let req = GetAssignmentRequest {
            order_id: order_id.to_string(),
        };
        Ok(self.learned(
            self.dispatch()
                .get_assignment(routed(req, unit, unit))
                .await?
                .into_inner()
                .assignment,
        ))
    }

    pub async fn accept(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        request_id: &str,
    ) -> Result<Assignment, Status> {
        let req = AcceptAssignmentRequest {
            request_id: request_id.into(),
            order_id: order_id.into(),
            epoch,
        };
        Ok(self
            .dispatch()
            .accept_assignment(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    pub async fn contact(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        purpose: &str,
    ) -> Result<Assignment, Status> {
        let req = ContactRequesterRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            purpose: purpose.into(),
        };
        Ok(self
            .dispatch()
            .contact_requester(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    pub async fn progress(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        note: &str,
    ) -> Result<Assignment, Status> {
        let req = UpdateProgressRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            note: note.into(),
        };
        Ok(self
            .dispatch()
            .update_progress(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    pub async fn reply(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        outcome: ReplyOutcome,
        text: &str,
    ) -> Result<Assignment, Status> {
        let req = ReplyAssignmentRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            outcome: outcome as i32,
            text: text.into(),
        };
        Ok(self
            .dispatch()
            .reply_assignment(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    /// Accept, contact the requester through the relay, record progress
    /// and reply: one handler's whole turn on an assignment.
    pub async fn handle(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        outcome: ReplyOutcome,
    ) -> Result<Assignment, Status> {
        self.accept(unit, order_id, epoch, &request_id()).await?;
        self.contact(unit, order_id, epoch, "confirm the details of the request")
            .await?;
        self.progress(unit, order_id, epoch, "on site; work under way")
            .await?;
        self.reply(
            unit,
            order_id,
            epoch,
            outcome,
            "handled; details given to the requester",
        )
        .await
    }

    /// The handler objects to its assignment, naming the unit it believes
    /// responsible.
    pub async fn object(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        proposed_unit: &str,
        reason: &str,
    ) -> Result<Assignment, Status> {
        let req = ObjectAssignmentRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            reason: reason.into(),
            proposed_unit: proposed_unit.into(),
        };
        Ok(self
            .dispatch()
            .object_assignment(routed(req, unit, unit))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    /// The handler hands the order down to one of its communities.
    pub async fn hand_down(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        community: &str,
        role: AssignmentRole,
    ) -> Result<Assignment, Status> {
        let req = HandDownAssignmentRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            community_unit: community.into(),
            role: role as i32,
        };
        Ok(self
            .dispatch()
            .hand_down_assignment(routed(req, unit, unit))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    /// Objections held at `holder` (the city, or a district), read as
    /// `holder` itself; optionally one order's only.
    pub async fn objections(&self, holder: &str, order_id: &str) -> Result<Vec<Objection>, Status> {
        let mut c = EscalationServiceClient::new(self.channel());
        let req = ListObjectionsRequest {
            order_id: order_id.into(),
            page_size: 500,
            ..Default::default()
        };
        Ok(c.list_objections(routed(req, holder, holder))
            .await?
            .into_inner()
            .objections)
    }

    /// The arbitration authority `by` rules on an objection at the city.
    pub async fn rule(
        &self,
        by: &str,
        objection_id: &str,
        ruling: RulingKind,
        unit: &str,
    ) -> Result<Objection, Status> {
        let mut c = EscalationServiceClient::new(self.channel());
        let req = RuleObjectionRequest {
            request_id: request_id(),
            name: format!("objections/{objection_id}"),
            ruling: ruling as i32,
            unit: unit.into(),
            note: "ruled on the catalogue and the location".into(),
        };
        Ok(c.rule_objection(routed(req, &self.city, by))
            .await?
            .into_inner()
            .objection
            .unwrap_or_default())
    }

    /// The centre reclassifies an order under another catalogue item.
    pub async fn reclassify(
        &self,
        order_id: &str,
        category_code: &str,
        reason: &str,
    ) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = ReclassifyOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            category_code: category_code.into(),
            reason: reason.into(),
        };
        Ok(c.reclassify_order(routed(req, &self.city, &self.city))
            .await?
            .into_inner()
            .order
            .unwrap_or_default())
    }

    /// Waits until the city holds a pending objection by `unit` on the
    /// order (objections travel through the handler's outbox).
    pub async fn wait_objection(
        &self,
        order_id: &str,
        unit: &str,
        timeout: Duration,
    ) -> anyhow::Result<Objection> {
        self.poll(timeout, || async {
            let found = self.objections(&self.city, order_id).await?;
            Ok(found
                .into_iter()
                .find(|o| o.unit_id == unit && o.state == ObjectionState::Pending as i32))
        })
        .await
        .map_err(|e| anyhow::anyhow!("objection by {unit} on {order_id}: {e}"))
    }

    pub async fn relay_contact(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
    ) -> Result<RelayContactResponse, Status> {
        let mut c = ContactRelayServiceClient::new(self.channel());
        let req = RelayContactRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            purpose: "follow up".into(),
        };
        Ok(
            c.relay_contact(self.on_order(order_id, routed(req, &self.city, unit)))
                .await?
                .into_inner(),
        )
    }

    pub async fn unit_report(&self, reader: &str, unit: &str) -> Result<UnitReport, Status> {
        let mut c = ReportingServiceClient::new(self.channel());
        let req = GetUnitReportRequest {
            unit: format!("units/{unit}"),
        };
        Ok(c.get_unit_report(routed(req, unit, reader))
            .await?
            .into_inner()
            .report
            .unwrap_or_default())
    }

    fn reporting(&self) -> ReportingServiceClient<MeshChannel> {
        ReportingServiceClient::new(self.channel())
    }

    /// A unit's scorecard for a month (`""` = the current month), read by
    /// `reader` through the unit's own service.
    pub async fn scorecard(
        &self,
        reader: &str,
        unit: &str,
        month: &str,
        scope: ScorecardScope,
    ) -> Result<Scorecard, Status> {
        let req = GetScorecardRequest {
            unit: format!("units/{unit}"),
            month: month.to_string(),
            scope: scope as i32,
        };
        Ok(self
            .reporting()
            .get_scorecard(routed(req, unit, reader))
            .await?
            .into_inner()
            .scorecard
            .unwrap_or_default())
    }

    /// A unit's subtree, rolled up by the unit's own service.
    pub async fn roll_up(
        &self,
        reader: &str,
        unit: &str,
        month: &str,
        child_deadline: Option<Duration>,
    ) -> Result<RollUpScorecardsResponse, Status> {
        let req = RollUpScorecardsRequest {
            unit: format!("units/{unit}"),
            month: month.to_string(),
            child_deadline: child_deadline.map(|d| prost_types::Duration {
                seconds: d.as_secs() as i64,
                nanos: d.subsec_nanos() as i32,
            }),
        };
        Ok(self
            .reporting()
            .roll_up_scorecards(routed(req, unit, reader))
            .await?
            .into_inner())
    }

    /// Every page of a unit's assessed orders.
    pub async fn unit_orders(
        &self,
        reader: &str,
        unit: &str,
        month: &str,
    ) -> Result<Vec<AssessedOrder>, Status> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = ListUnitOrdersRequest {
                unit: format!("units/{unit}"),
                month: month.to_string(),
                page_size: 200,
                page_token,
            };
            let page = self
                .reporting()
                .list_unit_orders(routed(req, unit, reader))
                .await?
                .into_inner();
            out.extend(page.orders);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// The city's rankings, read by `reader`.
    pub async fn rankings(
        &self,
        reader: &str,
        req: GetRankingsRequest,
    ) -> Result<GetRankingsResponse, Status> {
        Ok(self
            .reporting()
            .get_rankings(routed(req, &self.city, reader))
            .await?
            .into_inner())
    }

    /// Proactive analytics of `area` (empty: the unit itself) for the
    /// window ending with `month` (empty: this month), asked of `unit`'s
    /// own ProactiveService (the city or a district) as that unit.
    pub async fn analyze_problems(
        &self,
        unit: &str,
        area: &str,
        month: &str,
        top: i32,
    ) -> Result<AnalyzeProblemsResponse, Status> {
        let mut c = ProactiveServiceClient::new(self.channel());
        let req = AnalyzeProblemsRequest {
            area: match area {
                "" => String::new(),
                a => format!("units/{}", a.trim_start_matches("units/")),
            },
            month: month.to_string(),
            top,
        };
        Ok(c.analyze_problems(routed(req, unit, unit))
            .await?
            .into_inner())
    }

    /// `unit` (the city or a district) issues a proactive task.
    pub async fn create_task(
        &self,
        unit: &str,
        req: CreateProactiveTaskRequest,
    ) -> Result<ProactiveTask, Status> {
        let mut c = ProactiveServiceClient::new(self.channel());
        let task = c
            .create_proactive_task(routed(req, unit, unit))
            .await?
            .into_inner()
            .task
            .unwrap_or_default();
        Ok(task)
    }

    /// A proactive task with its before/after report, as `unit` sees it.
    pub async fn task(&self, unit: &str, order_id: &str) -> Result<ProactiveTask, Status> {
        let mut c = ProactiveServiceClient::new(self.channel());
        let req = GetProactiveTaskRequest {
            name: format!("orders/{}", order_id.trim_start_matches("orders/")),
        };
        Ok(c.get_proactive_task(routed(req, unit, unit))
            .await?
            .into_inner()
            .task
            .unwrap_or_default())
    }

    /// Every proactive task `unit` may see (all pages).
    pub async fn tasks(&self, unit: &str) -> Result<Vec<ProactiveTask>, Status> {
        let mut c = ProactiveServiceClient::new(self.channel());
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = ListProactiveTasksRequest {
                page_size: 100,
                page_token,
            };
            let r = c
                .list_proactive_tasks(routed(req, unit, unit))
                .await?
                .into_inner();
            all.extend(r.tasks);
            if r.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = r.next_page_token;
        }
    }

    pub async fn routes(&self) -> Result<Vec<Route>, Status> {
        let mut c = GatewayServiceClient::new(self.operator_channel());
        Ok(c.list_routes(ListRoutesRequest {})
            .await?
            .into_inner()
            .routes)
    }

    pub async fn stats(&self) -> Result<GetHandoffStatsResponse, Status> {
        let mut c = GatewayServiceClient::new(self.operator_channel());
        Ok(c.get_handoff_stats(GetHandoffStatsRequest {})
            .await?
            .into_inner())
    }

    /// Moves every service's virtual clock to `t` and waits until timers
    /// and outboxes are quiet everywhere (a timer's effect at one service
    /// may arm work at another).
    pub async fn advance_to(&self, t: hotline_core::Micros) -> Result<AdvanceTotals, Status> {
        let services = self.service_units().await?;
        let mut totals = AdvanceTotals::default();
        loop {
            let mut busy = false;
            for (_, unit) in &services {
                let mut c = ControlServiceClient::new(self.operator_channel());
                let req = AdvanceToRequest {
                    request_id: request_id(),
                    time: Some(hotline_runtime::wire::ts(t)),
                };
                let r = c
                    .advance_to(routed(req, unit, &self.city))
                    .await?
                    .into_inner();
                busy |= r.fired + r.delivered > 0;
                totals.fired += r.fired;
                totals.delivered += r.delivered;
            }
            if !busy {
                return Ok(totals);
            }
        }
    }

    /// The virtual (or wall) clock of the city's process.
    pub async fn now(&self) -> Result<hotline_core::Micros, Status> {
        let mut c = ControlServiceClient::new(self.channel());
        let r = c
            .get_clock(routed(GetClockRequest {}, &self.city, &self.city))
            .await?
            .into_inner();
        Ok(r.now
            .as_ref()
            .map(hotline_runtime::wire::micros)
            .unwrap_or_default())
    }

    fn escalation(&self) -> EscalationServiceClient<MeshChannel> {
        EscalationServiceClient::new(self.channel())
    }

    /// A township's system whistles, summoning departments.
    pub async fn whistle(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        kind: WhistleKind,
        departments: &[&str],
    ) -> Result<WhistleResponse, Status> {
        let req = WhistleRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            kind: kind as i32,
            reason: "beyond the township's powers".into(),
            departments: departments.iter().map(|d| d.to_string()).collect(),
        };
        let w = self
            .escalation()
            .whistle(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner();
        self.whistles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(w.whistle_id.clone(), order_id.to_string());
        Ok(w)
    }

    pub async fn check_in(
        &self,
        department: &str,
        district: &str,
        whistle_id: &str,
    ) -> Result<Summons, Status> {
        let req = CheckInRequest {
            request_id: request_id(),
            whistle_id: whistle_id.into(),
        };
        let order = self
            .whistles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(whistle_id)
            .cloned();
        let req = routed(req, district, department);
        let req = match order {
            Some(order_id) => self.on_order(&order_id, req),
            None => req,
        };
        Ok(self
            .escalation()
            .check_in(req)
            .await?
            .into_inner()
            .summons
            .unwrap_or_default())
    }

    pub async fn get_whistle(
        &self,
        reader: &str,
        district: &str,
        whistle_id: &str,
    ) -> Result<Whistle, Status> {
        let req = GetWhistleRequest {
            whistle_id: whistle_id.into(),
        };
        Ok(self
            .escalation()
            .get_whistle(routed(req, district, reader))
            .await?
            .into_inner()
            .whistle
            .unwrap_or_default())
    }

    pub async fn notices(&self, unit: &str) -> Result<Vec<Notice>, Status> {
        let req = ListNoticesRequest {
            page_size: 500,
            page_token: String::new(),
        };
        Ok(self
            .dispatch()
            .list_notices(routed(req, unit, unit))
            .await?
            .into_inner()
            .notices)
    }

    pub async fn request_extension(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        until: hotline_core::Micros,
    ) -> Result<Assignment, Status> {
        let req = RequestExtensionRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            reason: "parts on order from the supplier".into(),
            new_due_time: Some(hotline_runtime::wire::ts(until)),
        };
        Ok(self
            .dispatch()
            .request_extension(self.on_order(order_id, routed(req, unit, unit)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    pub async fn decide_extension(
        &self,
        approver: &str,
        order_id: &str,
        unit: &str,
        approve: bool,
    ) -> Result<Assignment, Status> {
        let req = DecideExtensionRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            unit_id: unit.into(),
            approve,
        };
        Ok(self
            .escalation()
            .decide_extension(self.on_order(order_id, routed(req, &self.city, approver)))
            .await?
            .into_inner()
            .assignment
            .unwrap_or_default())
    }

    /// The centre marks an order (Art. 9, 37), or clears its mark
    /// (`RequestMark::None`).
    pub async fn mark(
        &self,
        order_id: &str,
        mark: RequestMark,
        reason: &str,
    ) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = MarkOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            mark: mark as i32,
            reason: reason.into(),
        };
        Ok(
            c.mark_order(self.on_order(order_id, routed(req, &self.city, &self.city)))
                .await?
                .into_inner()
                .order
                .unwrap_or_default(),
        )
    }

    pub async fn urge(&self, order_id: &str, source: UrgeSource) -> Result<Order, Status> {
        let mut c = IntakeServiceClient::new(self.channel());
        let req = UrgeOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            source: source as i32,
        };
        Ok(
            c.urge_order(self.on_order(order_id, routed(req, &self.city, &self.city)))
                .await?
                .into_inner()
                .order
                .unwrap_or_default(),
        )
    }

    /// One service's handoffs about an order, read by the centre through a
    /// unit that service hosts.
    pub async fn handoffs(&self, via_unit: &str, order_id: &str) -> Result<Vec<Handoff>, Status> {
        let mut c = ReportingServiceClient::new(self.channel());
        let req = ListHandoffsRequest {
            order_id: order_id.into(),
        };
        Ok(c.list_handoffs(routed(req, via_unit, &self.city))
            .await?
            .into_inner()
            .handoffs)
    }

    /// One service's pending deadlines, optionally for one unit.
    pub async fn deadlines(
        &self,
        via_unit: &str,
        unit: Option<&str>,
    ) -> Result<Vec<Deadline>, Status> {
        let mut c = ReportingServiceClient::new(self.channel());
        let req = ListDeadlinesRequest {
            unit_id: unit.unwrap_or_default().into(),
            page_size: 500,
        };
        Ok(c.list_deadlines(routed(req, via_unit, &self.city))
            .await?
            .into_inner()
            .deadlines)
    }

    /// One unit per service, to reach each service through the gateway.
    pub async fn service_units(&self) -> Result<Vec<(String, String)>, Status> {
        let mut v: Vec<(String, String)> = self
            .routes()
            .await?
            .into_iter()
            .map(|r| (r.service, r.unit_id))
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        Ok(v)
    }

    /// Waits until `unit` holds its assignment on the order at `epoch`
    /// (deliveries travel through the city's outbox).
    pub async fn wait_assignment(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        timeout: Duration,
    ) -> anyhow::Result<Assignment> {
        self.poll(timeout, || async {
            match self.assignment(unit, order_id).await {
                Ok(a) if a.epoch >= epoch => Ok(Some(a)),
                Ok(_) => Ok(None),
                Err(s)
                    if s.code() == tonic::Code::NotFound
                        || s.code() == tonic::Code::Unavailable =>
                {
                    Ok(None)
                }
                Err(s) => Err(s.into()),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("assignment of {unit} on {order_id} at epoch {epoch}: {e}"))
    }

    /// Waits until the city's record of the order is in `state`.
    pub async fn wait_order_state(
        &self,
        order_id: &str,
        state: OrderState,
        timeout: Duration,
    ) -> anyhow::Result<Order> {
        self.poll(timeout, || async {
            let o = self.order(order_id).await?;
            Ok((o.state == state as i32).then_some(o))
        })
        .await
        .map_err(|e| anyhow::anyhow!("order {order_id} reaching {}: {e}", state.as_str_name()))
    }

    async fn poll<T, F, Fut>(&self, timeout: Duration, mut probe: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut wait = Duration::from_millis(5);
        loop {
            if let Some(v) = probe().await? {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("not reached within {timeout:?}");
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(100));
        }
    }
}

/// A gRPC status as a one-line error.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}
