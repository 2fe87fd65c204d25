//! The demo's integration step (issue 8): a department keeps a knowledge
//! base entry and intake answers a consultation from it; a requester
//! supplements and urges their order with the credential intake gave them;
//! the handler unmasks them for a named reason (audited), and the unit's
//! orders are exported with identity removed.

use hotline_proto::v1::*;
use serde_json::json;

use super::common::{DemoReport, Story, WAIT, count, state_word, submit_req};
use hotline_client::MeshClient;

pub(crate) async fn integration(
    c: &MeshClient,
    report: &mut DemoReport,
    story: &Story,
) -> anyhow::Result<()> {
    let entry = c
        .upsert_knowledge(
            "dept-transport",
            KnowledgeEntry {
                question: "路口信号灯坏了多久能修好？".into(),
                answer: "信号灯故障由交通部门在24小时内修复。".into(),
                category_codes: vec!["traffic.signal_broken".into()],
                ..Default::default()
            },
        )
        .await?;
    let q = c
        .submit(submit_req(
            "traffic.signal_broken",
            "",
            RequestKind::Consultation,
            "请问路口的信号灯坏了，什么时候能修好？",
            "Zhou Min",
            "13900000021",
        ))
        .await?;
    report.order_ids.push(q.order_id.clone());
    story.step(format!(
        "A consultation on a broken signal, {}, is {} at intake from the knowledge base entry {} \
         that dept-transport keeps.",
        q.order_id,
        state_word(q.state),
        entry.entry_id
    ));

    let (o, token) = c
        .submit_as_requester(submit_req(
            "traffic.signal_broken",
            "",
            RequestKind::Report,
            "Signal dark at the bridge; ask for Wu Gang",
            "Wu Gang",
            "13900000022",
        ))
        .await?;
    report.order_ids.push(o.order_id.clone());
    let unit = "dept-transport";
    c.wait_assignment(unit, &o.order_id, 1, WAIT).await?;
    c.supplement(
        &token,
        &o.order_id,
        "Both lamps are out",
        &["media/demo-1.jpg"],
    )
    .await?;
    c.urge_own(&token, &o.order_id).await?;
    c.accept(unit, &o.order_id, 1, &hotline_client::request_id())
        .await?;
    let shown = c
        .unmask(
            unit,
            &o.order_id,
            1,
            UnmaskReason::SiteVisit,
            "meet the requester at the bridge",
        )
        .await?;
    c.contact(unit, &o.order_id, 1, "arrange the visit").await?;
    c.reply(
        unit,
        &o.order_id,
        1,
        ReplyOutcome::Resolved,
        "lamps replaced",
    )
    .await?;
    let audit = c.audit_log("city", "").await?;
    let exported = c.export(unit, unit).await?;
    story.step(format!(
        "A requester adds a photo to their order {} and urges it, with the credential intake gave \
         them. {unit} unmasks their name and phone for a site visit, a read the audit log records ({}; \
         {} in all), and exports its {} with requester identity removed.",
        o.order_id,
        shown.audit_id,
        count(audit.len() as u64, "audit entry", "audit entries"),
        count(exported.len() as u64, "order", "orders")
    ));
    let stats = c.knowledge_stats().await?;
    report.knowledge_base = json!({
        "entries": stats.entries,
        "consultations": stats.consultations,
        "answered_at_intake": stats.answered_at_intake,
        "answered_from_knowledge_base": stats.answered_from_knowledge_base,
        "share_answered_at_intake": stats.share_answered_at_intake,
    });
    report.audit_entries = audit.len();
    report.exported_orders = exported.len();
    Ok(())
}
