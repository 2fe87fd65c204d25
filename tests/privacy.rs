//! No requester data beyond the centre: a request whose text holds the
//! requester's numbers, id number, e-mail and name reaches the lead
//! township, the department and the district's copy scrubbed, in every
//! read they have; the centre keeps it as given.

use hotline::client::MeshClient;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;

use crate::support::*;

const NAME: &str = "Zhang Wei";
const PHONE: &str = "+86 139 5550 1234";
const TEXT: &str = "路灯不亮。我是Zhang Wei，手机 139 5550 1234，也可打 ＋８６ １３８ ００１３ ８０００ \
                    或 (010)6512-3456；身份证110105199003070017，邮箱 zhang.wei@example.com";
const SCRUBBED: &str = "路灯不亮。我是[name]，手机 [phone]，也可打 [phone] \
                        或 [phone]；身份证[id-number]，邮箱 [email]";
const SUPPLEMENT: &str = "also: 139-5550-1234, zhang.wei@example.com, ZHANG WEI";
const WITHDRAWAL: &str = "fixed it myself — zhangwei, 13955501234";

/// What must not be found in anything a handler reads: digits compared
/// with full-width folded and separators dropped, words without case,
/// spacing or punctuation.
const DIGITS: &[&str] = &[
    "13955501234",
    "13800138000",
    "01065123456",
    "110105199003070017",
];
const WORDS: &[&str] = &["zhangwei", "examplecom"];

const LEAD: &str = "t-lake";
const COPY: &str = "d-hillview";
const DEPT: &str = "dept-utility";

/// The secrets found in `text`, named.
fn leaks(text: &str) -> Vec<&'static str> {
    let folded: String = text
        .chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
            c => c,
        })
        .collect();
    let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
    let words: String = folded
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let mut found: Vec<&str> = DIGITS
        .iter()
        .filter(|d| digits.contains(*d))
        .copied()
        .collect();
    found.extend(WORDS.iter().filter(|w| words.contains(*w)));
    found
}

#[track_caller]
fn clean(what: &str, text: &str) {
    let found = leaks(text);
    assert!(found.is_empty(), "{what} shows {found:?}: {text:?}");
}

fn clean_assignment(what: &str, a: &Assignment) {
    for (field, text) in [
        ("text", &a.text),
        ("address", &a.address),
        ("reply_text", &a.reply_text),
        ("progress_note", &a.progress_note),
    ] {
        clean(&format!("{what} {field}"), text);
    }
}

fn clean_order(what: &str, o: &Order) {
    clean(&format!("{what} text"), &o.text);
    clean(&format!("{what} answer"), &o.answer);
    clean(&format!("{what} address"), &o.address);
    for h in &o.history {
        clean(&format!("{what} history {}", h.action), &h.detail);
    }
    for a in &o.assignments {
        clean_assignment(&format!("{what} assignment of {}", a.unit_id), a);
    }
}

/// A unit's notices of `kind` on the order, once the first has arrived.
async fn notices_of(c: &MeshClient, unit: &str, order_id: &str, kind: NoticeKind) -> Vec<Notice> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = c.notices(unit).await.unwrap();
        if all
            .iter()
            .any(|n| n.order_id == order_id && n.kind == kind as i32)
        {
            return all.into_iter().filter(|n| n.order_id == order_id).collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{unit} never got its {kind:?} notice"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn listed(c: &MeshClient, unit: &str) -> Vec<Assignment> {
    let mut d = DispatchServiceClient::new(c.channel());
    let req = ListAssignmentsRequest {
        page_size: 500,
        ..Default::default()
    };
    d.list_assignments(routed(req, unit, unit))
        .await
        .unwrap()
        .into_inner()
        .assignments
}

mesh_test! {
    async fn handlers_read_request_text_scrubbed_and_the_centre_keeps_it(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let mut r = submit("heating.no_heat", "9 Lakeside Road", RequestKind::Help);
        r.requester = Some(Requester {
            name: NAME.into(),
            phone: PHONE.into(),
            ..Default::default()
        });
        r.text = TEXT.into();
        let (o, token) = c.submit_as_requester(r).await.unwrap();
        // The city's own record keeps the text as given.
        assert_eq!(o.text, TEXT);
        assert_eq!(c.order(&o.order_id).await.unwrap().text, TEXT);

        // What each handler holds: the lead, the department, the copy.
        for unit in [LEAD, DEPT, COPY] {
            let a = c.wait_assignment(unit, &o.order_id, 1, WAIT).await.unwrap();
            assert_eq!(a.text, SCRUBBED, "{unit}");
            assert_eq!(a.address, "9 Lakeside Road", "{unit}");
            clean_assignment(&format!("GetAssignment of {unit}"), &a);
            let all = listed(c, unit).await;
            let mine = all.iter().find(|a| a.order_id == o.order_id).unwrap();
            assert_eq!(mine.text, SCRUBBED, "{unit}");
            for a in &all {
                clean_assignment(&format!("ListAssignments of {unit}"), a);
            }
        }

        // The requester adds facts: each handler is told them scrubbed.
        c.supplement(&token, &o.order_id, SUPPLEMENT, &[])
            .await
            .unwrap();
        for unit in [LEAD, COPY] {
            let told = notices_of(c, unit, &o.order_id, NoticeKind::Supplemented).await;
            let supplement = told
                .iter()
                .find(|n| n.kind == NoticeKind::Supplemented as i32)
                .unwrap();
            assert_eq!(supplement.detail, "also: [phone], [email], [name]");
            for n in &told {
                clean(&format!("notice to {unit}"), &n.detail);
            }
        }

        // The inbox stream carries the same.
        let mut watch = c.watch(LEAD, 0).await.unwrap();
        loop {
            let e = tokio::time::timeout(WAIT, watch.message())
                .await
                .expect("the supplement on the stream")
                .unwrap()
                .unwrap()
                .event
                .unwrap();
            clean("the lead's inbox stream", &e.detail);
            if e.order_id == o.order_id && e.kind == InboxEventKind::Supplemented as i32 {
                break;
            }
        }
        drop(watch);

        // A handler reading the order, and the Art. 28 export.
        for unit in [LEAD, COPY] {
            let seen = c.order_as(unit, &o.order_id).await.unwrap();
            assert_eq!(seen.text, SCRUBBED, "{unit}");
            clean_order(&format!("GetOrder as {unit}"), &seen);
            let exported = c.export(unit, unit).await.unwrap();
            let x = exported.iter().find(|x| x.order_id == o.order_id).unwrap();
            assert_eq!(x.text, SCRUBBED, "{unit}");
            for x in &exported {
                clean_order(&format!("export of {unit}"), x);
            }
        }

        // The requester withdraws, quoting themselves: the notice and the
        // history a handler reads are scrubbed too.
        c.withdraw(&token, &o.order_id, WITHDRAWAL).await.unwrap();
        for unit in [LEAD, COPY] {
            for n in notices_of(c, unit, &o.order_id, NoticeKind::Withdrawn).await {
                clean(&format!("notice to {unit}"), &n.detail);
            }
            clean_order(
                &format!("GetOrder as {unit} after withdrawal"),
                &c.order_as(unit, &o.order_id).await.unwrap(),
            );
        }

        // The centre's record keeps every word as given.
        let kept = c.order(&o.order_id).await.unwrap();
        assert_eq!(kept.text, TEXT);
        let details: Vec<&str> = kept.history.iter().map(|h| h.detail.as_str()).collect();
        assert!(details.contains(&SUPPLEMENT), "{details:?}");
        assert!(details.contains(&WITHDRAWAL), "{details:?}");
        t.stop().await;
    }
}

mesh_test! {
    async fn the_parent_deciding_an_extension_reads_the_text_scrubbed(store) {
        let topology =
            hotline::DEMO_TOPOLOGY.replace("extension_approval = false", "extension_approval = true");
        let t = TestMesh::start(store, Spec {
            topology: Some(topology),
            ..Spec::default()
        }).await;
        let c = &t.client;
        let mut r = submit(
            "sanitation.garbage",
            "2 Pine Avenue",
            RequestKind::Complaint,
        );
        r.requester = Some(Requester {
            name: NAME.into(),
            phone: PHONE.into(),
            ..Default::default()
        });
        r.text = TEXT.into();
        let o = c.submit(r).await.unwrap();
        let lead = c
            .wait_assignment("t-pine", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        assert_eq!(lead.text, SCRUBBED);
        let until = hotline_runtime::wire::micros(lead.due_time.as_ref().unwrap()) + 86_400_000_000;
        c.request_extension("t-pine", &o.order_id, 1, until)
            .await
            .unwrap();
        for n in notices_of(c, COPY, &o.order_id, NoticeKind::ExtensionRequest).await {
            clean("notice to the parent", &n.detail);
        }
        let decided = c
            .decide_extension(COPY, &o.order_id, "t-pine", true)
            .await
            .unwrap();
        assert_eq!(decided.text, SCRUBBED);
        clean_assignment("DecideExtension's answer", &decided);
        t.stop().await;
    }
}
