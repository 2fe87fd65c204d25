//! The demo's proactive part (未诉先办): a wave of heating complaints in
//! Pine Town as the heating season starts, the centre's analysis finding
//! it, and Hillview District sending Pine Town a proactive task, which the
//! township accepts and replies to.

use hotline_proto::v1::*;

use super::common::{DemoReport, HOUR, Story, WAIT, submit_req};
use hotline_client::{MeshClient, request_id};

/// Heating complaints: (address, requester, phone, mood). Two callers ring
/// twice from the same block.
const HEATING: &[(&str, &str, &str, Mood)] = &[
    ("2 Pine Avenue", "Feng Hua", "13920000001", Mood::Anxious),
    ("2 Pine Avenue", "Feng Hua", "13920000001", Mood::Angry),
    ("2 Pine Avenue", "Gao Min", "13920000002", Mood::Calm),
    ("2 Pine Avenue", "Gao Min", "13920000002", Mood::Anxious),
    ("2 Pine Avenue", "He Jun", "13920000003", Mood::Angry),
    ("9 Lakeside Road", "Jiang Tao", "13920000004", Mood::Calm),
];

pub(crate) async fn proactive(
    c: &MeshClient,
    report: &mut DemoReport,
    story: &Story,
) -> anyhow::Result<()> {
    // The heating season began on 15 November: radiators are cold.
    for (address, name, phone, mood) in HEATING {
        let mut req = submit_req(
            "heating.no_heat",
            address,
            RequestKind::Help,
            "Radiators still cold in the flat",
            name,
            phone,
        );
        req.mood = *mood as i32;
        // A caller ringing again brings news, not a duplicate.
        req.new_facts = true;
        c.submit(req).await?;
    }
    story.step(format!(
        "{} heating complaints come in from Pine Town and Lake Town in the first days of the \
         heating season, two callers ringing twice.",
        HEATING.len()
    ));

    // The centre's analysis of the month finds them first.
    let city = c.analyze_problems(&c.city, "", "", 5).await?;
    report.problems = city
        .problems
        .iter()
        .map(hotline_client::views::problem_json)
        .collect();
    let mut text = hotline_client::views::analysis_text(&city);

    // Hillview District, seeing its own subtree, sends Pine Town a
    // proactive task before the cold wave; the township accepts it and
    // replies, and the task closes without a callback.
    let hillview = c.analyze_problems("d-hillview", "", "", 3).await?;
    // An hour on, so the complaints fall before the task's issue.
    let now = c.now().await? + HOUR;
    c.advance_to(now).await?;
    let task = c
        .create_task(
            "d-hillview",
            CreateProactiveTaskRequest {
                request_id: request_id(),
                category_code: "heating.no_heat".into(),
                area_unit: "t-pine".into(),
                instructions: "Check radiators and risers in the old estates on Pine Avenue before the cold wave".into(),
                due_time: Some(hotline_runtime::wire::ts(now + 72 * HOUR)),
            },
        )
        .await?;
    c.wait_assignment("t-pine", &task.order_id, 1, WAIT).await?;
    c.accept("t-pine", &task.order_id, 1, &request_id()).await?;
    c.progress("t-pine", &task.order_id, 1, "inspection teams out")
        .await?;
    c.reply(
        "t-pine",
        &task.order_id,
        1,
        ReplyOutcome::Resolved,
        "risers bled and two valves replaced in 14 blocks",
    )
    .await?;
    c.wait_order_state(&task.order_id, OrderState::Closed, WAIT)
        .await?;
    let done = c.task("d-hillview", &task.order_id).await?;
    story.step(format!(
        "Hillview District's own analysis puts {} first. Before the cold wave it sends Pine Town a \
         proactive task (未诉先办), which the township accepts and replies to: {}.",
        hillview
            .problems
            .first()
            .map(|p| format!("{} in {}", p.category_code, p.area_unit))
            .unwrap_or_else(|| "no problem".into()),
        hotline_client::views::task_text(&done)
    ));
    text += &format!(
        "Proactive task: {}.\n",
        hotline_client::views::task_text(&done)
    );
    report.proactive_tasks = c
        .tasks(&c.city)
        .await?
        .iter()
        .map(hotline_client::views::task_json)
        .collect();
    report.proactive_summary = text;
    Ok(())
}
