//! `hotline conformance`: the contract's behavioural tests, run against any
//! server that claims to serve a handling tier for a unit. It plays the
//! centre (delivering assignments) and the unit's own system (accepting,
//! objecting, replying), and checks what a correct server must answer:
//! idempotent retries under the same `request_id` (ALREADY_EXISTS for one
//! reused for another request), FAILED_PRECONDITION for a stale epoch,
//! INVALID_ARGUMENT naming the field for bad input, health and reflection.
//! A departmental system that passes may replace its department's service
//! in the topology.
//!
//! The kit creates assignments on orders that do not exist at the centre
//! (ids `CF…`), so the events the server reports for them are refused by a
//! real centre: run it against a staging deployment, or a server alone.

use std::time::Duration;

use hotline_core::Tier;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// What to test.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server, e.g. `http://127.0.0.1:7401`.
    pub target: String,
    pub tier: Tier,
    /// The unit the server hosts.
    pub unit: String,
    /// The hotline centre's unit id: deliveries come from it.
    pub city: String,
    /// A unit an objection may propose (one that handles dispatched
    /// orders); without it the objection case is skipped.
    pub proposed_unit: Option<String>,
    /// What the kit presents: a server of the mesh accepts only the
    /// gateway's certificate, so the kit holds the gateway's.
    pub security: hotline_identity::Security,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: &'static str,
    pub what: &'static str,
    pub outcome: Outcome,
}

/// The results as a table, one case a line.
pub fn table(results: &[CaseResult]) -> String {
    let mut t = crate::table::Table::new(["case", "result", "checks"]);
    for r in results {
        let (word, note) = match &r.outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::Fail(why) => ("FAIL", format!(" — {why}")),
            Outcome::Skip(why) => ("skip", format!(" — {why}")),
        };
        t.row([
            r.name.to_string(),
            word.to_string(),
            format!("{}{note}", r.what),
        ]);
    }
    let mut out = t.to_string();
    let failed = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
        .count();
    out += &format!(
        "{} passed, {failed} failed\n",
        results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .count()
    );
    out
}

/// Whether every case passed or was skipped.
pub fn passed(results: &[CaseResult]) -> bool {
    !results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Fail(_)))
}

type Check = Result<(), String>;

fn ensure(cond: bool, why: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(why()) }
}

fn expect_code(r: Result<impl std::fmt::Debug, Status>, code: Code, doing: &str) -> Check {
    match r {
        Err(s) if s.code() == code => Ok(()),
        Err(s) => Err(format!(
            "{doing}: expected {code:?}, got {:?}: {}",
            s.code(),
            s.message()
        )),
        Ok(v) => Err(format!("{doing}: expected {code:?}, got success {v:?}")),
    }
}

/// One run's state: its channel, and a nonce that keeps its orders apart
/// from any earlier run's.
struct Kit {
    opts: Options,
    channel: Channel,
    nonce: String,
}

impl Kit {
    /// A call to the unit under test as the gateway forwards it: the
    /// caller's unit and the principal the gateway proved (the centre's
    /// service for deliveries, a unit's own certificate otherwise).
    fn routed<T>(&self, m: T, caller: &str) -> tonic::Request<T> {
        let mut req = routed(m, &self.opts.unit, caller);
        let principal = if caller == self.opts.city {
            format!("service/{}", self.opts.city)
        } else {
            format!("unit/{caller}")
        };
        if let Ok(v) = principal.parse() {
            req.metadata_mut()
                .insert(hotline_identity::PRINCIPAL_HEADER, v);
        }
        req
    }

    fn dispatch(&self) -> DispatchServiceClient<Channel> {
        DispatchServiceClient::new(self.channel.clone())
    }

    fn order(&self, n: u32) -> String {
        format!("CF{}{n:02}", self.nonce)
    }

    fn rid(&self, what: &str) -> String {
        format!("conformance-{}-{what}", self.nonce)
    }

    /// The role the kit delivers in: every handling tier leads.
    fn role(&self) -> AssignmentRole {
        debug_assert!(self.opts.tier.takes(hotline_core::Role::Lead));
        AssignmentRole::Lead
    }

    fn assignment(&self, order_id: &str, epoch: u64, state: AssignmentState) -> Assignment {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let ts = |d: Duration| prost_types::Timestamp {
            seconds: d.as_secs() as i64,
            nanos: 0,
        };
        // An assignment issued anew while under way (a reissue after a
        // kept objection) arrives accepted and contacted.
        let under_way = state != AssignmentState::Dispatched;
        Assignment {
            order_id: order_id.to_string(),
            unit_id: self.opts.unit.clone(),
            role: self.role() as i32,
            state: state as i32,
            epoch,
            dispatched_time: Some(ts(now)),
            accepted_time: under_way.then(|| ts(now)),
            contacted_time: under_way.then(|| ts(now)),
            due_time: Some(ts(now + Duration::from_secs(7 * 86_400))),
            category_code: "conformance".into(),
            urgency: Urgency::General as i32,
            address: "conformance test".into(),
            text: "conformance kit test order".into(),
            requester_ref: "rq-conformance".into(),
            kind: RequestKind::Help as i32,
            ..Default::default()
        }
    }

    async fn deliver(
        &self,
        rid: &str,
        order_id: &str,
        epoch: u64,
        seq: u64,
    ) -> Result<Assignment, Status> {
        let req = self.delivery(rid, order_id, epoch, seq, AssignmentState::Dispatched);
        self.send_delivery(req).await
    }

    /// A delivery as the centre makes it (its times read now), of an
    /// assignment in `state`: progress and reply need the requester
    /// contacted, which only the centre's relay records, so the kit
    /// delivers those already contacted.
    fn delivery(
        &self,
        rid: &str,
        order_id: &str,
        epoch: u64,
        seq: u64,
        state: AssignmentState,
    ) -> DeliverAssignmentRequest {
        DeliverAssignmentRequest {
            request_id: rid.to_string(),
            assignment: Some(self.assignment(order_id, epoch, state)),
            order_seq: seq,
        }
    }

    async fn send_delivery(&self, req: DeliverAssignmentRequest) -> Result<Assignment, Status> {
        let r = self
            .dispatch()
            .deliver_assignment(self.routed(req, &self.opts.city))
            .await?;
        Ok(r.into_inner().assignment.unwrap_or_default())
    }

    /// A call as the unit itself.
    fn own<T>(&self, m: T) -> tonic::Request<T> {
        self.routed(m, &self.opts.unit)
    }

    async fn accept(&self, rid: &str, order_id: &str, epoch: u64) -> Result<Assignment, Status> {
        let req = AcceptAssignmentRequest {
            request_id: rid.into(),
            order_id: order_id.into(),
            epoch,
        };
        let r = self.dispatch().accept_assignment(self.own(req)).await?;
        Ok(r.into_inner().assignment.unwrap_or_default())
    }

    async fn progress(&self, rid: &str, order_id: &str, note: &str) -> Result<Assignment, Status> {
        let req = UpdateProgressRequest {
            request_id: rid.into(),
            order_id: order_id.into(),
            epoch: 1,
            note: note.into(),
        };
        let r = self.dispatch().update_progress(self.own(req)).await?;
        Ok(r.into_inner().assignment.unwrap_or_default())
    }

    async fn get(&self, order_id: &str) -> Result<Assignment, Status> {
        let req = GetAssignmentRequest {
            order_id: order_id.into(),
        };
        let r = self.dispatch().get_assignment(self.own(req)).await?;
        Ok(r.into_inner().assignment.unwrap_or_default())
    }

    async fn health(&self) -> Check {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let mut c = HealthClient::new(self.channel.clone());
        let r = c
            .check(HealthCheckRequest {
                service: "hotline.v1.DispatchService".into(),
            })
            .await
            .map_err(|s| format!("health check: {:?}: {}", s.code(), s.message()))?;
        ensure(r.get_ref().status == ServingStatus::Serving as i32, || {
            format!("hotline.v1.DispatchService is {:?}", r.get_ref().status)
        })
    }

    async fn reflection(&self) -> Check {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut c = ServerReflectionClient::new(self.channel.clone());
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = c
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .map_err(|s| format!("reflection: {:?}: {}", s.code(), s.message()))?
            .into_inner();
        let reply = stream
            .message()
            .await
            .map_err(|s| format!("reflection: {s}"))?
            .ok_or("reflection: no answer")?;
        let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
            return Err("reflection: not a service list".into());
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for want in [
            "hotline.v1.DispatchService",
            "hotline.v1.EscalationService",
            "hotline.v1.InboxService",
        ] {
            ensure(names.iter().any(|n| n == want), || {
                format!("reflection lists no {want} (it lists {names:?})")
            })?;
        }
        Ok(())
    }

    async fn deliver_case(&self) -> Check {
        let order = self.order(1);
        // The retry is the same request, byte for byte: built once (its
        // times are read from the clock, and a retry a second later must
        // not differ from the first).
        let req = self.delivery(
            &self.rid("deliver-1"),
            &order,
            1,
            1,
            AssignmentState::Dispatched,
        );
        let a = self
            .send_delivery(req.clone())
            .await
            .map_err(|s| format!("deliver: {s}"))?;
        ensure(
            a.state == AssignmentState::Dispatched as i32 && a.epoch == 1,
            || format!("delivered assignment is {a:?}"),
        )?;
        let again = self
            .send_delivery(req)
            .await
            .map_err(|s| format!("retried delivery: {s}"))?;
        ensure(again == a, || {
            format!("a retried delivery answered differently: {again:?}")
        })
    }

    async fn accept_case(&self) -> Check {
        let a = self
            .accept(&self.rid("accept-1"), &self.order(1), 1)
            .await
            .map_err(|s| format!("accept: {s}"))?;
        ensure(a.state == AssignmentState::Accepted as i32, || {
            format!("accepted assignment is in state {}", a.state)
        })
    }

    /// A retry after later work returns the first answer and undoes
    /// nothing; the id reused for another request is refused.
    async fn idempotent_case(&self) -> Check {
        let accepted = self
            .accept(&self.rid("accept-1"), &self.order(1), 1)
            .await
            .map_err(|s| format!("a retried accept was refused, not answered: {s}"))?;
        ensure(accepted.state == AssignmentState::Accepted as i32, || {
            format!("a retried accept answered state {}", accepted.state)
        })?;
        let order = self.order(4);
        let contacted = self.delivery(
            &self.rid("deliver-4"),
            &order,
            1,
            1,
            AssignmentState::Contacted,
        );
        self.send_delivery(contacted)
            .await
            .map_err(|s| format!("deliver a contacted assignment: {s}"))?;
        let first = self
            .progress(&self.rid("progress-1"), &order, "first note")
            .await
            .map_err(|s| format!("progress: {s}"))?;
        self.progress(&self.rid("progress-2"), &order, "second note")
            .await
            .map_err(|s| format!("progress: {s}"))?;
        let retried = self
            .progress(&self.rid("progress-1"), &order, "first note")
            .await
            .map_err(|s| format!("retried progress: {s}"))?;
        ensure(retried == first, || {
            format!("a retried request_id answered {retried:?}, not its first answer {first:?}")
        })?;
        let now = self.get(&order).await.map_err(|s| format!("get: {s}"))?;
        ensure(now.progress_note == "second note", || {
            format!(
                "a retried request_id was applied again: the note is {:?}, not \"second note\"",
                now.progress_note
            )
        })?;
        let reused = self
            .progress(&self.rid("progress-1"), &order, "another note")
            .await;
        expect_code(
            reused,
            Code::AlreadyExists,
            "a request_id reused for another note",
        )?;
        let now = self.get(&order).await.map_err(|s| format!("get: {s}"))?;
        ensure(now.progress_note == "second note", || {
            format!(
                "a request_id reused for another request was applied: the note is {:?}",
                now.progress_note
            )
        })
    }

    async fn reply_case(&self) -> Check {
        let req = ReplyAssignmentRequest {
            request_id: self.rid("reply-4"),
            order_id: self.order(4),
            epoch: 1,
            outcome: ReplyOutcome::Resolved as i32,
            text: "fixed".into(),
        };
        let a = self
            .dispatch()
            .reply_assignment(self.own(req))
            .await
            .map_err(|s| format!("reply: {s}"))?
            .into_inner()
            .assignment
            .unwrap_or_default();
        ensure(a.state == AssignmentState::Replied as i32, || {
            format!("replied assignment is in state {}", a.state)
        })
    }

    async fn object_case(&self, proposed: &str) -> Check {
        let order = self.order(2);
        self.deliver(&self.rid("deliver-2"), &order, 1, 1)
            .await
            .map_err(|s| format!("deliver: {s}"))?;
        let req = ObjectAssignmentRequest {
            request_id: self.rid("object-2"),
            order_id: order.clone(),
            epoch: 1,
            reason: "not ours".into(),
            proposed_unit: proposed.into(),
        };
        let a = self
            .dispatch()
            .object_assignment(self.own(req))
            .await
            .map_err(|s| format!("object: {s}"))?
            .into_inner()
            .assignment
            .unwrap_or_default();
        ensure(a.state == AssignmentState::Objected as i32, || {
            format!("objected assignment is in state {}", a.state)
        })
    }

    async fn stale_epoch_case(&self) -> Check {
        let order = self.order(3);
        self.deliver(&self.rid("deliver-3a"), &order, 1, 1)
            .await
            .map_err(|s| format!("deliver epoch 1: {s}"))?;
        self.deliver(&self.rid("deliver-3b"), &order, 2, 2)
            .await
            .map_err(|s| format!("deliver epoch 2: {s}"))?;
        let r = self.accept(&self.rid("accept-3"), &order, 1).await;
        expect_code(
            r,
            Code::FailedPrecondition,
            "accept on epoch 1 after epoch 2",
        )
    }

    async fn bad_input_case(&self) -> Check {
        let r = self.accept(&self.rid("bad-1"), "", 1).await;
        expect_code(r, Code::InvalidArgument, "accept without order_id")?;
        let req = ReplyAssignmentRequest {
            request_id: self.rid("bad-2"),
            order_id: self.order(1),
            epoch: 1,
            outcome: 0,
            text: "x".into(),
        };
        let r = self.dispatch().reply_assignment(self.own(req)).await;
        expect_code(r, Code::InvalidArgument, "reply without outcome")?;
        let req = DeliverAssignmentRequest {
            request_id: self.rid("bad-3"),
            assignment: None,
            order_seq: 1,
        };
        let r = self
            .dispatch()
            .deliver_assignment(self.routed(req, &self.opts.city))
            .await;
        expect_code(r, Code::InvalidArgument, "delivery without an assignment")?;
        let r = self.accept(&self.rid("bad-4"), &self.order(99), 1).await;
        expect_code(r, Code::NotFound, "accept on an order never delivered")
    }

    async fn identity_case(&self) -> Check {
        let req = AcceptAssignmentRequest {
            request_id: self.rid("other-1"),
            order_id: self.order(1),
            epoch: 1,
        };
        let r = self
            .dispatch()
            .accept_assignment(self.routed(req, "someone-else"))
            .await;
        expect_code(r, Code::PermissionDenied, "accept by another unit")
    }
}

/// Runs every case in order (later cases build on earlier ones).
pub async fn run(opts: Options) -> anyhow::Result<Vec<CaseResult>> {
    let endpoint = Endpoint::from_shared(opts.target.clone())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30));
    let channel = opts.security.channel(endpoint, None)?;
    // Keeps the kit's ids apart between runs; guards nothing.
    #[allow(clippy::disallowed_methods)]
    let nonce = format!("{:010x}", fastrand::u64(..) >> 24);
    let kit = Kit {
        nonce,
        opts,
        channel,
    };
    let mut results = Vec::new();
    let mut case = |name, what, outcome: Check| push(&mut results, name, what, outcome);
    case("health", "grpc.health.v1 says SERVING", kit.health().await);
    case(
        "reflection",
        "server reflection lists the tier's services",
        kit.reflection().await,
    );
    case(
        "deliver",
        "a delivery is stored; its retry answers the same",
        kit.deliver_case().await,
    );
    case(
        "accept",
        "accept moves to ACCEPTED",
        kit.accept_case().await,
    );
    case(
        "idempotent_retry",
        "a retried request_id returns its first answer, applies once; reused, ALREADY_EXISTS",
        kit.idempotent_case().await,
    );
    case("reply", "reply moves to REPLIED", kit.reply_case().await);
    match kit.opts.proposed_unit.clone() {
        Some(p) => case(
            "object",
            "an objection in the window moves to OBJECTED",
            kit.object_case(&p).await,
        ),
        None => results.push(CaseResult {
            name: "object",
            what: "an objection in the window moves to OBJECTED",
            outcome: Outcome::Skip("no --proposed-unit".into()),
        }),
    }
    let mut case = |name, what, outcome: Check| push(&mut results, name, what, outcome);
    case(
        "stale_epoch",
        "a message for an old epoch is FAILED_PRECONDITION",
        kit.stale_epoch_case().await,
    );
    case(
        "bad_input",
        "bad input is INVALID_ARGUMENT; unknown order NOT_FOUND",
        kit.bad_input_case().await,
    );
    case(
        "acts_for_itself",
        "another unit acting for this one is PERMISSION_DENIED",
        kit.identity_case().await,
    );
    Ok(results)
}

fn push(results: &mut Vec<CaseResult>, name: &'static str, what: &'static str, outcome: Check) {
    results.push(CaseResult {
        name,
        what,
        outcome: match outcome {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        },
    })
}
