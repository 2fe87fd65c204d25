//! The demo's jurisdiction part: a dual dispatch whose township objects and
//! is redirected, an objection refused after its window (on the virtual
//! clock), an order bouncing to the bounce limit, community hand-downs, and
//! the six intake dispositions.

use std::collections::BTreeMap;

use hotline_proto::v1::*;

use super::common::{DemoReport, HOUR, Story, WAIT, state_word, submit_req, word};
use hotline_client::{MeshClient, request_id};

fn resident(category: &str, address: &str, text: &str, phone: &str) -> SubmitRequestRequest {
    submit_req(
        category,
        address,
        RequestKind::Complaint,
        text,
        "Qian Resident",
        phone,
    )
}

/// An objection the rules refused: the status code and the rule named.
fn refusal(r: Result<Assignment, tonic::Status>) -> Option<String> {
    match r {
        Err(s) if s.code() == tonic::Code::FailedPrecondition => {
            Some(s.message().split(':').next().unwrap_or("").to_string())
        }
        _ => None,
    }
}

/// Handles an order with every lead at its current epoch and calls back.
async fn finish(c: &MeshClient, order_id: &str) -> anyhow::Result<Order> {
    let o = c.order(order_id).await?;
    for a in o.assignments.iter().filter(|a| {
        a.role == AssignmentRole::Lead as i32
            && a.lead_unit.is_empty()
            && a.state != AssignmentState::Revoked as i32
            && a.state != AssignmentState::Replied as i32
    }) {
        // The handler's own view: the centre's may lag its outbox.
        let local = c
            .wait_assignment(&a.unit_id, order_id, a.epoch, WAIT)
            .await?;
        if local.state == AssignmentState::Dispatched as i32 {
            c.accept(&a.unit_id, order_id, a.epoch, &request_id())
                .await?;
        }
        if local.contacted_time.is_none() {
            c.contact(&a.unit_id, order_id, a.epoch, "confirm the details")
                .await?;
        }
        c.reply(
            &a.unit_id,
            order_id,
            a.epoch,
            ReplyOutcome::Resolved,
            "handled; details given to the requester",
        )
        .await?;
    }
    c.wait_order_state(order_id, OrderState::Replied, WAIT)
        .await?;
    Ok(c.callback(order_id, true, Satisfaction::Satisfied).await?)
}

/// `unit` objects and the centre rules a redirect to `to`.
async fn redirected(
    c: &MeshClient,
    order_id: &str,
    unit: &str,
    epoch: u64,
    to: &str,
) -> anyhow::Result<()> {
    c.wait_assignment(unit, order_id, epoch, WAIT).await?;
    c.object(
        unit,
        order_id,
        epoch,
        to,
        "the site lies in the other street",
    )
    .await?;
    let ob = c.wait_objection(order_id, unit, WAIT).await?;
    c.rule("city", &ob.objection_id, RulingKind::Redirect, to)
        .await?;
    Ok(())
}

pub(crate) async fn disputes(
    c: &MeshClient,
    report: &mut DemoReport,
    story: &Story,
) -> anyhow::Result<()> {
    // Dual dispatch; the township objects and the centre redirects it.
    let o = c
        .submit(resident(
            "property.management_dispute",
            "27 Market Lane",
            "The estate's lift has been broken for weeks",
            "13910000001",
        ))
        .await?;
    let id = o.order_id.clone();
    report.order_ids.push(id.clone());
    redirected(c, &id, "t-market", 1, "t-harbour").await?;
    let o = finish(c, &id).await?;
    story.step(format!(
        "An estate's broken lift, {id}, goes to t-market and the housing commission (dual \
         dispatch). t-market objects that the site lies in the other street; the centre rules and \
         redirects its part to t-harbour: {}.",
        state_word(o.state)
    ));

    // Three hours after dispatch the two-hour window has closed.
    let o = c
        .submit(resident(
            "sanitation.garbage",
            "11 North Quay",
            "Overflowing bins by the quay",
            "13910000002",
        ))
        .await?;
    let id = o.order_id.clone();
    report.order_ids.push(id.clone());
    c.wait_assignment("t-harbour", &id, 1, WAIT).await?;
    c.advance_to(c.now().await? + 3 * HOUR).await?;
    let late = refusal(
        c.object("t-harbour", &id, 1, "t-market", "not our quay")
            .await,
    );
    report.objections_refused += late.is_some() as usize;
    finish(c, &id).await?;
    story.step(match &late {
        Some(rule) => format!(
            "Overflowing bins, {id}: t-harbour objects 3 h after dispatch, past the 2 h objection \
             window, and the rules refuse it ({rule})."
        ),
        None => format!(
            "Overflowing bins, {id}: t-harbour objects 3 h after dispatch, past the 2 h objection \
             window, and the objection is NOT refused."
        ),
    });

    // Ping-pong: three redirections, then the centre designates.
    let o = c
        .submit(resident(
            "sanitation.garbage",
            "18 Harbour Road",
            "Rubbish dumped at the street boundary",
            "13910000003",
        ))
        .await?;
    let id = o.order_id.clone();
    report.order_ids.push(id.clone());
    redirected(c, &id, "t-harbour", 1, "t-market").await?;
    redirected(c, &id, "t-market", 1, "t-harbour").await?;
    redirected(c, &id, "t-harbour", 3, "t-market").await?;
    c.wait_assignment("t-market", &id, 3, WAIT).await?;
    let designated = refusal(
        c.object("t-market", &id, 3, "t-harbour", "still not ours")
            .await,
    );
    report.objections_refused += designated.is_some() as usize;
    let o = finish(c, &id).await?;
    story.step(format!(
        "Rubbish at the street boundary, {id}, is redirected between t-harbour and t-market {} \
         times. At the bounce limit the centre designates {} as the handler, and its further \
         objection is {}. Handled: {}.",
        o.redirect_count,
        o.designated_unit,
        designated
            .as_deref()
            .map_or("NOT refused".to_string(), |rule| format!(
                "refused ({rule})"
            )),
        state_word(o.state)
    ));

    // Hand-downs: a non-duty item is refused; a duty-list item goes
    // to a community, which reports its part back. A repeat of the
    // open noise order is a duplicate.
    let noise = c
        .submit(resident(
            "noise.night_construction",
            "14 East Arcade",
            "Piling at night next to the arcade",
            "13910000004",
        ))
        .await?;
    report.order_ids.push(noise.order_id.clone());
    let repeat = c
        .submit(resident(
            "noise.night_construction",
            "14 East Arcade",
            "Piling at night next to the arcade",
            "13910000004",
        ))
        .await?;
    report.order_ids.push(repeat.order_id.clone());
    c.wait_assignment("t-market", &noise.order_id, 1, WAIT)
        .await?;
    c.accept("t-market", &noise.order_id, 1, &request_id())
        .await?;
    let refused = c
        .hand_down(
            "t-market",
            &noise.order_id,
            1,
            "c-market-east",
            AssignmentRole::Assist,
        )
        .await;
    report.hand_downs_refused += refused.is_err() as usize;
    finish(c, &noise.order_id).await?;
    let sorting = c
        .submit(resident(
            "community.sorting_guidance",
            "8 West Arcade",
            "Nobody explains the new sorting rules",
            "13910000005",
        ))
        .await?;
    report.order_ids.push(sorting.order_id.clone());
    let id = sorting.order_id.clone();
    c.wait_assignment("t-market", &id, 1, WAIT).await?;
    c.accept("t-market", &id, 1, &request_id()).await?;
    c.hand_down("t-market", &id, 1, "c-market-west", AssignmentRole::Assist)
        .await?;
    c.wait_assignment("c-market-west", &id, 1, WAIT).await?;
    c.handle("c-market-west", &id, 1, ReplyOutcome::Resolved)
        .await?;
    finish(c, &id).await?;
    let mut parts = 0;
    for _ in 0..100 {
        parts = c.assignment("t-market", &id).await?.parts.len();
        if parts > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    story.step(format!(
        "Night piling, {}: t-market tries to hand it down to community c-market-east, {}. The \
         same request again, {}, is recorded as a {} and not dispatched.",
        noise.order_id,
        match refused {
            Err(s) => format!(
                "which is refused ({}): a community takes only the items on its duty list",
                s.message().split(':').next().unwrap_or("")
            ),
            Ok(_) => "and the hand-down is NOT refused".into(),
        },
        repeat.order_id,
        Disposition::try_from(repeat.disposition)
            .map(|d| word(d.as_str_name().trim_start_matches("DISPOSITION_")))
            .unwrap_or_else(|_| "?".into()),
    ));
    story.more(format!(
        "Sorting guidance, {id}, is on the duty list: t-market hands it down to c-market-west, \
         which handles it and reports {parts} part back to the lead."
    ));

    // The other intake dispositions: none is dispatched.
    let mut fire = resident("", "", "Smoke in the stairwell", "13910000006");
    fire.disposition = Disposition::EmergencyTransfer as i32;
    fire.emergency_line = EmergencyLine::Fire119 as i32;
    fire.disposition_reason = "put through to the fire brigade".into();
    let mut court = resident(
        "property.management_dispute",
        "5 Market Lane",
        "Wants the fee dispute decided",
        "13910000007",
    );
    court.disposition = Disposition::LegalChannel as i32;
    court.legal_channel = LegalChannel::Litigation as i32;
    court.disposition_reason = "the case is already before the district court".into();
    let mut others = vec![fire, court];
    for (kind, reason) in [
        (
            Disposition::SecretsPrivacy,
            "asks for a neighbour's records; explained why not",
        ),
        (
            Disposition::OutsideDuty,
            "a private tutoring fee; guided to the consumer association",
        ),
        (
            Disposition::Unlawful,
            "asks to block a fire lane; told the law",
        ),
    ] {
        let mut r = resident("", "", "A request intake does not dispatch", "13910000008");
        r.disposition = kind as i32;
        r.disposition_reason = reason.into();
        others.push(r);
    }
    for r in others {
        let o = c.submit(r).await?;
        report.order_ids.push(o.order_id.clone());
    }

    // What the record shows.
    let mut dispositions: BTreeMap<String, usize> = BTreeMap::new();
    for id in &report.order_ids {
        let o = c.order(id).await?;
        if let Ok(d) = Disposition::try_from(o.disposition)
            && d != Disposition::Unspecified
        {
            let name = d.as_str_name().trim_start_matches("DISPOSITION_");
            *dispositions.entry(name.to_lowercase()).or_default() += 1;
        }
        report.bounce_limit_hits += o.bounce_limit_reached as usize;
        let dual = o
            .history
            .iter()
            .find(|h| h.action == "dispatched")
            .is_some_and(|h| h.detail.matches(":lead").count() >= 2);
        report.dual_dispatches += dual as usize;
    }
    story.step(format!(
        "Intake settles requests without dispatching them: {}.",
        dispositions
            .iter()
            .map(|(k, n)| format!("{n} {}", word(k)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    report.dispositions = dispositions;
    let objections = c.objections("city", "").await?;
    report.objections = objections.len();
    report.rulings = objections
        .iter()
        .filter(|o| o.state == ObjectionState::Ruled as i32)
        .count();
    Ok(())
}
