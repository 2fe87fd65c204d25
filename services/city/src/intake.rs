//! Intake (Art. 10–12), the order record, and the callback (Art. 23).

use crate::tables::orders::{self, Callback, HistoryEntry, Location, Order as Stored};
use crate::tables::settings;
use hmac::{Hmac, Mac};
use hotline_core::dispatch::{self, Decision, DecisionError, Site};
use hotline_core::lifecycle::{self, CallbackEffect};
use hotline_core::{
    AssignmentState, Channel, Disposition, OrderState, RequestKind, Satisfaction, Urgency,
};
use hotline_proto::v1::intake_service_server::IntakeService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use hotline_store::Conn;
use sha2::Sha256;
use tonic::{Request, Response, Status};

use crate::credential;
use crate::disposition;
use crate::history::note;
use crate::planning::{decision_error, dispatch_notes, planned_units};
use crate::record::{self, locked, transition};
use crate::wire::{full_order_of, order_to_wire, order_with};

pub struct Intake {
    ctx: Ctx,
    key: CityKey,
    triage: crate::triage::CityTriage,
}

impl Intake {
    pub fn new(ctx: Ctx, key: CityKey) -> Self {
        let triage = crate::triage::CityTriage::new(ctx.topology.clone());
        Self { ctx, key, triage }
    }

    fn category_name(&self, code: &str) -> &str {
        crate::wire::category_name(&self.ctx.topology, code)
    }

    async fn repeat_of(
        &self,
        conn: &mut Conn,
        requester_ref: &str,
        place: (&str, Option<(f64, f64)>),
        item: &hotline_core::CatalogueItem,
        now: hotline_core::Micros,
    ) -> Result<Option<Stored>> {
        let policy = &self.ctx.topology.policy;
        disposition::find_repeat(conn, requester_ref, place, &item.code, now, policy).await
    }

    /// Records a request. With `issue_credential`, the answer carries a new
    /// requester credential; a channel front acts for no requester, so it
    /// gets none and none is issued.
    async fn submit(
        &self,
        r: SubmitRequestRequest,
        issue_credential: bool,
    ) -> Result<SubmitRequestResponse> {
        let channel: Channel = wire::required_enum("channel", r.channel)?;
        let kind: RequestKind = wire::required_enum("kind", r.kind)?;
        if !kind.is_citizen_request() {
            return Err(ServiceError::invalid(
                "kind",
                "a proactive task is created with ProactiveService.CreateProactiveTask",
            ));
        }
        let mood = wire::optional_enum::<hotline_core::Mood>("mood", r.mood)?;
        let requester = r
            .requester
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("requester", "required"))?;
        let (phone, email) = contact(requester)?;
        required("text", &r.text)?;
        let topology = &self.ctx.topology;
        let declared = disposition::declared(&r)?;
        // A given code always wins; without one, triage may choose by
        // policy (`triage_mode`), or refuse with the items to confirm.
        let triaged =
            match r.category_code.is_empty() && disposition::needs_category(declared.as_ref()) {
                true => self.triage.choose(&r.text)?,
                false => None,
            };
        let item = if let Some(t) = &triaged {
            Some(
                topology.item(&t.code).ok_or_else(|| {
                    decision_error(DecisionError::UnknownCategory(t.code.clone()))
                })?,
            )
        } else if disposition::needs_category(declared.as_ref()) || !r.category_code.is_empty() {
            required("category_code", &r.category_code)?;
            Some(topology.item(&r.category_code).ok_or_else(|| {
                decision_error(DecisionError::UnknownCategory(r.category_code.clone()))
            })?)
        } else {
            None
        };
        // A location decides the place; otherwise the address index does.
        let located = r
            .location
            .as_ref()
            .map(|l| topology.locate(l.latitude, l.longitude))
            .transpose()
            .map_err(|e| ServiceError::invalid("location", e.to_string()))?;
        let site = match &located {
            Some(l) => Site::Place(&l.place),
            None => Site::Address(&r.address),
        };
        // Only a request intake does not dispose of is classified for
        // dispatch, so a bad address is refused before anything is stored.
        // A consultation the knowledge base answers is answered at intake
        // (Art. 31), before any dispatch rule is asked.
        let known = match (&declared, kind) {
            (None, RequestKind::Consultation) => {
                let code = item.map(|i| i.code.as_str()).unwrap_or_default();
                crate::knowledge::answer_for(&self.ctx, &r.text, code).await?
            }
            _ => None,
        };
        let decision = match (&declared, item, &known) {
            (None, _, Some(entry)) => Some(Decision::Answer(entry.answer.clone())),
            (None, Some(item), None) => Some(
                dispatch::decide_at(topology, kind, &item.code, site).map_err(decision_error)?,
            ),
            _ => None,
        };
        let known = known.map(|e| e.entry_id);
        let urgency = match (item, &declared) {
            (Some(i), _) => triaged.as_ref().map_or(i.urgency, |t| t.urgency),
            (None, Some(d)) if d.kind == Disposition::EmergencyTransfer => Urgency::Emergency,
            (None, _) => Urgency::General,
        };
        let policy = &topology.policy;
        let city = topology.city().id.clone();

        let scope = idem::scope("SubmitRequest", &city);
        let now = self.ctx.now();
        let mut tx = self.ctx.db.begin().await?;
        let mut submitted = None;
        // A fresh order's credential joins the order's writes.
        let mut fresh_token = None;
        // Not apply_once: a replay, too, gets a credential in this
        // transaction.
        let answer = idem::once_batched(
            &mut tx,
            &scope,
            &r.request_id,
            &r,
            now,
            async |tx, writes, now| {
                let order_id = record::next_id(tx, "order", "HL").await?;
                let key = self.key.get(tx).await?;
                // The phone names the requester; without one, the e-mail address.
                let who = if phone.is_empty() {
                    format!("email:{}", email.to_lowercase())
                } else {
                    phone.clone()
                };
                let requester_ref = pseudonym(&key, &who);
                let (recorded_name, recorded_phone) =
                    orders::upsert_requester(tx, &requester_ref, &requester.name, &phone, now)
                        .await?;
                orders::set_requester_email(tx, &requester_ref, &email).await?;
                // A repeat of an open order, or of a finished one (Art. 11(3)),
                // without new facts is a duplicate, whether intake said so or
                // the centre finds it.
                let location = r.location.as_ref().map(|l| (l.latitude, l.longitude));
                let place = (r.address.as_str(), location);
                let repeats = match (&declared, item) {
                    (Some(d), Some(item)) if d.kind == Disposition::Duplicate => {
                        let found = self.repeat_of(tx, &requester_ref, place, item, now).await?;
                        Some(found.ok_or_else(|| {
                            ServiceError::FailedPrecondition(format!(
                                "duplicate: no order of this requester at this place in {} open \
                             within {} h or closed within {} days",
                                item.code,
                                policy.duplicate_window_hours,
                                policy.finished_repeat_days
                            ))
                        })?)
                    }
                    (None, Some(item)) if !r.new_facts => {
                        self.repeat_of(tx, &requester_ref, place, item, now).await?
                    }
                    _ => None,
                };
                let declared = declared.or_else(|| {
                    repeats.as_ref().map(|_| disposition::Declared {
                        kind: Disposition::Duplicate,
                        line: None,
                        channel: None,
                        reason: String::new(),
                    })
                });
                // One count for the business clock and the handlers' clocks:
                // both start now.
                let due = topology.due(urgency, now);
                let mut order = Stored {
                    address: r.address.clone(),
                    body: r.text.clone(),
                    requester_ref,
                    location: r.location.as_ref().map(|l| Location {
                        latitude: l.latitude,
                        longitude: l.longitude,
                    }),
                    community_unit: located
                        .as_ref()
                        .and_then(|l| l.place.community.clone())
                        .unwrap_or_default(),
                    near_boundary_units: located.map(|l| l.near_boundary).unwrap_or_default(),
                    trace_parent: hotline_runtime::trace::current_traceparent(),
                    mood,
                    deadline_provisional: due.provisional,
                    ..Stored::new(
                        order_id.clone(),
                        OrderState::Received,
                        kind,
                        channel,
                        item.map(|i| i.code.clone()).unwrap_or_default(),
                        urgency,
                        topology.catalogue_version.clone(),
                        now,
                        due.at,
                    )
                };
                hotline_runtime::trace::record_order(&order_id);
                let mut received = format!("channel={channel} kind={kind}");
                if let Some(l) = &order.location {
                    received += &format!(
                        " location={},{} community={} near_boundary={}",
                        l.latitude,
                        l.longitude,
                        order.community_unit,
                        order.near_boundary_units.join(",")
                    );
                }
                let classified = match item {
                    Some(i) => format!(
                        "category={} urgency={} catalogue={}{}",
                        i.code,
                        urgency,
                        order.catalogue_version,
                        triaged.as_ref().map(|t| t.detail()).unwrap_or_default()
                    ),
                    None => format!(
                        "no category urgency={urgency} catalogue={}",
                        order.catalogue_version
                    ),
                };
                let mut history = vec![
                    (OrderState::Received, received),
                    (OrderState::Classified, classified),
                ];
                let mut issued = Vec::new();
                let mut notes = Vec::new();
                match (declared, decision) {
                    (Some(d), _) => {
                        let (told, detail) = disposition::record(&d, repeats.as_ref());
                        order.disposition = Some(d.kind);
                        order.answer = told;
                        order.duplicate_of = repeats
                            .as_ref()
                            .map(|o| o.order_id.clone())
                            .unwrap_or_default();
                        order.closed_us = Some(now);
                        history.push((OrderState::Disposed, detail));
                    }
                    (None, Some(Decision::Answer(answer))) => {
                        order.answer = answer;
                        order.closed_us = Some(now);
                        let from = match &known {
                            Some(entry) => {
                                format!("answered at intake from knowledge entry {entry}")
                            }
                            None => "answered at intake from the catalogue".into(),
                        };
                        history.push((OrderState::Answered, from));
                    }
                    (
                        None,
                        Some(Decision::Dispatch {
                            territory,
                            assignments,
                        }),
                    ) => {
                        order.territory_unit = territory.unwrap_or_default();
                        history.push((OrderState::Dispatched, planned_units(&assignments)));
                        notes.extend(dispatch_notes(topology, &assignments));
                        issued = assignments;
                    }
                    (None, None) => {
                        return Err(ServiceError::invalid(
                            "category_code",
                            "required unless the knowledge base answers the consultation",
                        ));
                    }
                }
                for (state, _) in history.iter().skip(1) {
                    order.state.move_to(*state)?;
                }
                // The order is written once, with its whole history in one
                // statement, and answered from what was written: a request is a
                // handful of round trips to the store, not one per line.
                let lines: Vec<HistoryEntry> = history
                    .into_iter()
                    .map(|(state, detail)| (state.as_str(), detail))
                    .chain(notes)
                    .map(|(action, detail)| record::entry(&mut order, now, &city, action, detail))
                    .collect();
                // The order's writes whose results nothing reads go to the
                // store together with the record of the answer: one round trip
                // on SQLite, not six or seven. A repeat's link to the order it
                // repeats reads that order first.
                if let Some(original) = &repeats {
                    disposition::link(tx, &original.order_id, &order_id, now, &city).await?;
                }
                orders::insert_into(writes, &order)?;
                orders::append_history_all_into(writes, &order_id, &lines)?;
                let handler_due = due.at;
                let mut given = Vec::with_capacity(issued.len());
                // One scrubber for every handler: the recorded identity (as the
                // upsert returned it), and the name given this time if it differs.
                let scrubber = crate::redact::scrubber_of(&recorded_name, &recorded_phone)
                    .name(&requester.name);
                for p in &issued {
                    given.push(record::fresh(
                        &self.ctx.topology.policy,
                        &order,
                        &p.unit_id,
                        p.role,
                        1,
                        now,
                        handler_due,
                    ));
                }
                record::issue_all_scrubbed(&self.ctx, writes, &order, &given, now, &scrubber)?;
                if let Some(entry_id) = &known {
                    crate::tables::knowledge::answered_into(writes, &order_id, entry_id, now)?;
                }
                if issue_credential {
                    fresh_token = Some(credential::issue_into(writes, &order_id, now, policy)?);
                }
                let name = item.map(|i| i.name.as_str()).unwrap_or_default();
                // The answer is recorded without the credential, which is kept
                // only as its hash.
                let answer = SubmitRequestResponse {
                    order: Some(order_with(&order, name, given, lines)),
                    requester_token: String::new(),
                };
                submitted = Some(order);
                Ok(answer)
            },
        )
        .await?;
        // The first credential was never kept in clear: a retry gets a new
        // one for the same order.
        let order_id = answer.order.as_ref().map(|o| o.order_id.clone());
        let order_id = order_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            ServiceError::Store(hotline_store::StoreError::Corrupt(
                "stored SubmitRequest answer names no order".into(),
            ))
        })?;
        let token = match fresh_token {
            Some(token) => token,
            None if issue_credential => credential::issue(&mut tx, &order_id, now, policy).await?,
            None => String::new(),
        };
        tx.commit().await?;
        self.ctx.outbox.wake();
        if let Some(order) = submitted {
            tracing::info!(order_id = %order.order_id, category = %order.category_code, urgency = %order.urgency, state = %order.state, "order received");
        }
        Ok(SubmitRequestResponse {
            requester_token: token,
            ..answer
        })
    }

    async fn callback(
        &self,
        caller: &meta::Caller,
        r: RecordCallbackRequest,
    ) -> Result<RecordCallbackResponse> {
        let order_id = record::order_id(&r.name)?.to_string();
        let satisfaction: Satisfaction = wire::required_enum("satisfaction", r.satisfaction)?;
        let policy = &self.ctx.topology.policy;
        let scope = idem::scope("RecordCallback", &caller.unit);
        let mut recorded = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &order_id).await?;
                hotline_runtime::trace::record_order(&order_id);
                let limit = crate::clocks::time_limit(tx, &order).await?;
                let effect = lifecycle::callback(
                    order.state,
                    r.resolved,
                    order.reopen_count as u32,
                    now >= limit,
                    policy,
                )?;
                // Without a reply the order counts as unresolved, whatever
                // the requester says (Art. 23).
                let resolved = r.resolved && effect != CallbackEffect::Unreplied;
                order.callback = Some(Callback {
                    resolved,
                    satisfaction,
                    time_us: now,
                });
                if effect == CallbackEffect::Unreplied {
                    let detail = format!(
                        "no reply by the time limit ({limit}): counted unresolved; \
                         satisfaction={satisfaction}"
                    );
                    note(
                        tx,
                        &mut order,
                        now,
                        &caller.unit,
                        "called_back_unreplied",
                        detail,
                    )
                    .await?;
                } else {
                    let detail = format!("resolved={resolved} satisfaction={satisfaction}");
                    transition(
                        tx,
                        &mut order,
                        now,
                        &caller.unit,
                        OrderState::CalledBack,
                        detail,
                    )
                    .await?;
                }
                crate::clocks::callback_done(tx, &order_id).await?;
                // Assessment counts every callback, a reopened order's too.
                crate::tables::assessment::insert_callback(
                    tx,
                    &order_id,
                    order.seq,
                    resolved,
                    satisfaction,
                    now,
                )
                .await?;
                let told = match effect {
                    CallbackEffect::Unreplied => format!(
                        "called back without a reply at the time limit: counted unresolved, \
                         satisfaction={satisfaction}"
                    ),
                    _ => format!("resolved={resolved} satisfaction={satisfaction}"),
                };
                crate::requester::tell_handlers(
                    &self.ctx,
                    tx,
                    &order,
                    NoticeKind::CallbackResult,
                    told,
                    now,
                )
                .await?;
                match effect {
                    CallbackEffect::Close => {
                        order.closed_us = Some(now);
                        let why = if resolved {
                            "resolved"
                        } else {
                            "unresolved; reopen limit reached"
                        };
                        transition(
                            tx,
                            &mut order,
                            now,
                            &caller.unit,
                            OrderState::Closed,
                            why.into(),
                        )
                        .await?;
                    }
                    CallbackEffect::Reopen => {
                        order.reopen_count += 1;
                        let detail =
                            format!("reopen {} of {}", order.reopen_count, policy.max_reopens);
                        transition(
                            tx,
                            &mut order,
                            now,
                            &caller.unit,
                            OrderState::Reopened,
                            detail,
                        )
                        .await?;
                        crate::arbitration::supersede_pending(&self.ctx, tx, &order_id, now)
                            .await?;
                        // A new handler clock with a fresh limit; the business
                        // clock (order.due_us) runs on.
                        let due = self.ctx.topology.due(order.urgency, now);
                        order.deadline_provisional |= due.provisional;
                        let due = due.at;
                        let mut units = Vec::new();
                        for old in assignments::for_order(tx, &order_id).await? {
                            if old.state == AssignmentState::Revoked {
                                continue;
                            }
                            crate::clocks::stop(tx, &order_id, &old.unit_id).await?;
                            // The round it leaves is assessed on its own.
                            crate::tables::assessment::keep_round(tx, &old).await?;
                            let mut a = record::fresh(
                                &self.ctx.topology.policy,
                                &order,
                                &old.unit_id,
                                old.role,
                                old.epoch + 1,
                                now,
                                due,
                            );
                            a.designated = old.designated;
                            a.lead_unit = old.lead_unit.clone();
                            units.push(format!("{}:{}:epoch{}", a.unit_id, a.role, a.epoch));
                            record::issue(&self.ctx, tx, &order, &a, now).await?;
                        }
                        transition(
                            tx,
                            &mut order,
                            now,
                            &caller.unit,
                            OrderState::Dispatched,
                            units.join(" "),
                        )
                        .await?;
                    }
                    CallbackEffect::Unreplied => {}
                }
                orders::update(tx, &order).await?;
                let answer = RecordCallbackResponse {
                    order: Some(full_order_of(&self.ctx.topology, tx, &order).await?),
                };
                recorded = Some((order, now));
                Ok(answer)
            })
            .await?;
        let Some((order, now)) = recorded else {
            return Ok(answer);
        };
        let resolved = order.callback.is_some_and(|c| c.resolved);
        let callback = hotline_runtime::metrics::CallbackLabels {
            urgency: order.urgency.as_str().to_string(),
            resolved: resolved.to_string(),
            satisfaction: satisfaction.as_str().to_string(),
        };
        self.ctx.metrics.callbacks.get_or_create(&callback).inc();
        if order.state == OrderState::Closed {
            let seconds = (now - order.received_us).max(0) as f64 / 1e6;
            let labels = hotline_runtime::metrics::UrgencyLabels {
                urgency: order.urgency.as_str().to_string(),
            };
            let m = &self.ctx.metrics.business.intake_to_close;
            m.get_or_create(&labels).observe(seconds);
        }
        tracing::info!(order_id = %order.order_id, resolved, state = %order.state, "callback recorded");
        Ok(answer)
    }

    /// What a ListOrders call asks for, checked: known states and
    /// catalogue codes, a window that does not end before it starts.
    fn list_filter(
        &self,
        r: &ListOrdersRequest,
        state: Option<OrderState>,
        citizen_only: bool,
    ) -> Result<orders::OrderFilter> {
        if state.is_some() && !r.states.is_empty() {
            return Err(ServiceError::invalid("states", "not with state"));
        }
        let mut states: Vec<OrderState> = state.into_iter().collect();
        for (i, s) in r.states.iter().enumerate() {
            states.push(wire::required_enum(&format!("states[{i}]"), *s)?);
        }
        for (i, code) in r.category_codes.iter().enumerate() {
            if self.ctx.topology.item(code).is_none() {
                return Err(ServiceError::invalid(
                    format!("category_codes[{i}]"),
                    "not in the dispatch catalogue",
                ));
            }
        }
        let received_from = r.received_start_time.as_ref().map(wire::micros);
        let received_to = r.received_end_time.as_ref().map(wire::micros);
        if let (Some(from), Some(to)) = (received_from, received_to)
            && to < from
        {
            return Err(ServiceError::invalid(
                "received_end_time",
                "before received_start_time",
            ));
        }
        Ok(orders::OrderFilter {
            states,
            category_codes: r.category_codes.clone(),
            received_from,
            received_to,
            citizen_only,
        })
    }

    /// The city reads every order; a unit reads orders it, or a unit in its
    /// subtree, is assigned to (`assigned`: the order's assignments).
    fn may_read_order(
        &self,
        caller: &meta::Caller,
        order_id: &str,
        assigned: &[assignments::Assignment],
    ) -> Result<()> {
        if guard::is_city(&self.ctx, caller).is_ok()
            || assigned
                .iter()
                .any(|a| self.ctx.topology.is_within(&a.unit_id, &caller.unit))
        {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "unit {} has no assignment on orders/{order_id}",
                caller.unit
            )))
        }
    }
}

/// Digits only, with an optional leading +; 5 to 20 of them.
fn normalise_phone(phone: &str) -> Result<String> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let body = digits.strip_prefix('+').unwrap_or(&digits);
    if body.len() < 5 || body.len() > 20 || !body.chars().all(|c| c.is_ascii_digit()) {
        return Err(ServiceError::invalid(
            "requester.phone",
            "must be a phone number of 5 to 20 digits",
        ));
    }
    Ok(digits)
}

/// The requester's phone (normalised) and e-mail address: one of them at
/// least, so the centre can call back.
fn contact(requester: &Requester) -> Result<(String, String)> {
    let email = normalise_email(&requester.email)?;
    match (requester.phone.trim().is_empty(), email.is_empty()) {
        (true, true) => Err(ServiceError::invalid(
            "requester.phone",
            "required unless requester.email is given",
        )),
        (true, false) => Ok((String::new(), email)),
        (false, _) => Ok((normalise_phone(&requester.phone)?, email)),
    }
}

/// An e-mail address, trimmed; empty when none was given.
fn normalise_email(email: &str) -> Result<String> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(String::new());
    }
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !well_formed {
        return Err(ServiceError::invalid(
            "requester.email",
            "must be an e-mail address such as name@example.com",
        ));
    }
    Ok(email.to_string())
}

/// The keyed pseudonym of a requester: the same phone always maps to the
/// same id, which reveals nothing without the city's key.
fn pseudonym(key: &str, phone: &str) -> String {
    format!("rq-{}", keyed(key, phone, 8))
}

/// The city's secret key for pseudonyms: `HOTLINE_CITY_KEY` when set (so a
/// rebuilt store keeps its pseudonyms), else 256 bits drawn from the OS
/// CSPRNG the first time and kept in the city's store.
/// A key found stored is kept in memory (a stored key never changes); one
/// drawn now is not, until a later call finds it committed.
#[derive(Clone, Default)]
pub struct CityKey(std::sync::Arc<std::sync::OnceLock<String>>);

impl CityKey {
    pub async fn get(&self, conn: &mut Conn) -> Result<String> {
        if let Some(key) = self.0.get() {
            return Ok(key.clone());
        }
        if let Some(key) = std::env::var("HOTLINE_CITY_KEY")
            .ok()
            .filter(|k| !k.is_empty())
        {
            return Ok(self.0.get_or_init(|| key).clone());
        }
        if let Some(key) = settings::setting(conn, "pseudonym_key").await? {
            return Ok(self.0.get_or_init(|| key).clone());
        }
        let fresh = credential::random_hex(32)?;
        Ok(settings::setting_or_insert(conn, "pseudonym_key", &fresh).await?)
    }
}

/// The first `bytes` of HMAC-SHA256(key, message), in hex.
fn keyed(key: &str, message: &str, bytes: usize) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac takes any key length");
    mac.update(message.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..bytes.min(digest.len())]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tonic::async_trait]
impl IntakeService for Intake {
    async fn submit_request(
        &self,
        req: Request<SubmitRequestRequest>,
    ) -> Result<Response<SubmitRequestResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        let channel_front = crate::citizen::is_channel(&caller);
        // A channel front submits for the online channels it fronts only.
        if let (true, Some(p)) = (channel_front, &caller.principal) {
            let channel: Channel = wire::required_enum("channel", req.get_ref().channel)?;
            hotline_core::authz::may_submit_on(p, channel)
                .map_err(|d| ServiceError::PermissionDenied(d.0))?;
        }
        // Back-pressure: no new intake while promised handoffs lag. The
        // lag is real time: the outbox stamps each message with the wall
        // clock, so a jump of the virtual clock is not a backlog.
        self.ctx
            .outbox
            .admit(&self.ctx.db, hotline_runtime::clock::wall_now())
            .await?;
        let mut answer = self.submit(req.into_inner(), !channel_front).await?;
        if channel_front {
            // The order in the citizen's form.
            if let Some(order) = answer.order.take() {
                let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
                let requester_ref = order.requester_ref.clone();
                answer.order = Some(crate::citizen::of(&mut c, order, &requester_ref).await?);
            }
        }
        Ok(Response::new(answer))
    }

    async fn get_order(
        &self,
        req: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        let order_id = record::order_id(&req.get_ref().name)?.to_string();
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        // A channel front reads the citizen's form, unless it asks for the
        // operations form: the dashboard's read for an operator it has
        // proven by certificate (it keeps to the operator's scope).
        let channel = crate::citizen::is_channel(&caller);
        let operations = req
            .metadata()
            .get(meta::VIEW)
            .is_some_and(|v| v.as_bytes() == meta::OPERATIONS_VIEW.as_bytes());
        let citizen = channel && !operations;
        let missing = || ServiceError::not_found("order", format!("orders/{order_id}"));
        // The assignments are read once: to see that the caller may read
        // the order, then as part of it.
        let given = assignments::for_order(&mut c, &order_id)
            .await
            .map_err(ServiceError::from)?;
        if !channel {
            self.may_read_order(&caller, &order_id, &given)?;
        }
        let o = orders::get(&mut c, &order_id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(missing)?;
        let history = orders::history(&mut c, &order_id)
            .await
            .map_err(ServiceError::from)?;
        let mut order = order_with(&o, self.category_name(&o.category_code), given, history);
        if citizen {
            // A proactive task is no order a channel front knows of.
            if !crate::citizen::visible(&order) {
                return Err(missing().into());
            }
            order = crate::citizen::of(&mut c, order, &o.requester_ref).await?;
        } else if channel || guard::is_city(&self.ctx, &caller).is_err() {
            // The centre reads the order as recorded; a handler and the
            // operations form, scrubbed of the requester's identity, which
            // stays at the centre (the operations form without even its
            // pseudonym).
            let s = crate::redact::scrubber(&mut c, &o.requester_ref).await?;
            order = crate::redact::scrubbed(order, &s);
            if channel {
                order.requester_ref.clear();
            }
        }
        Ok(Response::new(GetOrderResponse { order: Some(order) }))
    }

    async fn list_orders(
        &self,
        req: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        let r = req.into_inner();
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let state = wire::optional_enum::<OrderState>("state", r.state)?;
        let channel_front = crate::citizen::is_channel(&caller);
        let filter = self.list_filter(&r, state, channel_front)?;
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let rows = orders::list_filtered(&mut c, &filter, &page.after, page.limit())
            .await
            .map_err(ServiceError::from)?;
        let (rows, next) = page.finish(rows, |r| r.order_id.as_str());
        let orders = if channel_front {
            let mut out = Vec::with_capacity(rows.len());
            for o in &rows {
                let full = full_order_of(&self.ctx.topology, &mut c, o).await?;
                out.push(crate::citizen::of(&mut c, full, &o.requester_ref).await?);
            }
            out
        } else {
            rows.iter()
                .map(|o| order_to_wire(o, self.category_name(&o.category_code)))
                .collect()
        };
        Ok(Response::new(ListOrdersResponse {
            orders,
            next_page_token: next,
        }))
    }

    async fn record_callback(
        &self,
        req: Request<RecordCallbackRequest>,
    ) -> Result<Response<RecordCallbackResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        Ok(Response::new(
            self.callback(&caller, req.into_inner()).await?,
        ))
    }

    async fn reclassify_order(
        &self,
        req: Request<ReclassifyOrderRequest>,
    ) -> Result<Response<ReclassifyOrderResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        Ok(Response::new(
            crate::reclassify::reclassify(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }

    async fn urge_order(
        &self,
        req: Request<UrgeOrderRequest>,
    ) -> Result<Response<UrgeOrderResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        Ok(Response::new(
            crate::urge::urge(&self.ctx, &caller.unit, req.into_inner()).await?,
        ))
    }

    async fn mark_order(
        &self,
        req: Request<MarkOrderRequest>,
    ) -> Result<Response<MarkOrderResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        Ok(Response::new(
            crate::mark::mark(&self.ctx, &caller.unit, req.into_inner()).await?,
        ))
    }

    async fn suggest_category(
        &self,
        req: Request<SuggestCategoryRequest>,
    ) -> Result<Response<SuggestCategoryResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        guard::is_city(&self.ctx, &caller)?;
        Ok(Response::new(self.triage.suggest_category(req.get_ref())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requester_gives_a_phone_or_an_email_address() {
        let r = |phone: &str, email: &str| Requester {
            name: String::new(),
            phone: phone.into(),
            email: email.into(),
        };
        assert_eq!(
            contact(&r("138 0000 0000", "")).unwrap(),
            ("13800000000".into(), String::new())
        );
        assert_eq!(
            contact(&r("", " li@example.com ")).unwrap(),
            (String::new(), "li@example.com".into())
        );
        let e = tonic::Status::from(contact(&r("", "")).unwrap_err());
        assert!(e.message().starts_with("requester.phone"), "{e:?}");
        for bad in ["li", "li@", "@example.com", "li@example", "li @example.com"] {
            let e = tonic::Status::from(contact(&r("", bad)).unwrap_err());
            assert!(e.message().starts_with("requester.email"), "{bad}: {e:?}");
        }
        // A phone given is checked even with an e-mail address.
        assert!(contact(&r("call me", "li@example.com")).is_err());
    }

    #[test]
    fn phones_are_checked_and_normalised() {
        assert_eq!(normalise_phone("138-0000 0000").unwrap(), "13800000000");
        assert_eq!(
            normalise_phone("+86 138 0000 0000").unwrap(),
            "+8613800000000"
        );
        assert!(normalise_phone("").is_err());
        assert!(normalise_phone("call me").is_err());
    }
}
