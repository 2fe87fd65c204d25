//! Text triage at intake (智能派单) through the gateway: the centre's
//! SuggestCategory, and SubmitRequest without a catalogue code by policy
//! (`triage_mode`: suggest asks the operator to confirm, auto chooses at
//! or above `triage_min_confidence`). docs/triage.md.

use hotline::client::MeshClient;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

/// The demo city with triage on at intake.
fn with_triage(mode: &str, min_confidence: f64) -> String {
    let policy =
        format!("[policy]\ntriage_mode = \"{mode}\"\ntriage_min_confidence = {min_confidence}\n");
    let src = hotline_testkit::DEMO_TOPOLOGY.replacen("[policy]\n", &policy, 1);
    assert!(src.contains("triage_mode"), "the demo city has a [policy]");
    src
}

async fn suggest(
    c: &MeshClient,
    caller: &str,
    r: SuggestCategoryRequest,
) -> Result<SuggestCategoryResponse, tonic::Status> {
    let mut ic = IntakeServiceClient::new(c.channel());
    ic.suggest_category(routed(r, &c.city, caller))
        .await
        .map(|r| r.into_inner())
}

/// A complaint in a caller's words, without a catalogue code.
fn in_words(text: &str) -> SubmitRequestRequest {
    SubmitRequestRequest {
        text: text.into(),
        ..submit("", "1 Harbour Road", RequestKind::Complaint)
    }
}

const COLD: &str = "暖气一点都不热，屋里冷得不行";

fn classified(o: &Order) -> String {
    o.history
        .iter()
        .find(|h| h.action == "classified")
        .map(|h| h.detail.clone())
        .unwrap_or_default()
}

mesh_test! {
    async fn suggest_mode_asks_the_operator_and_a_given_code_wins(store) {
        let t = mesh_on(store, &with_triage("suggest", 0.6)).await;
        let c = &t.client;
        let city = c.city.clone();

        // The desk asks: the likeliest items, the urgency, the territory.
        let r = suggest(c, &city, SuggestCategoryRequest {
            text: COLD.into(),
            address: "1 Harbour Road".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(r.suggestions.len(), 3, "{r:?}");
        let top = &r.suggestions[0];
        assert_eq!(top.category_code, "heating.no_heat", "{r:?}");
        assert_eq!(top.item_name, "Radiators cold in heating season");
        assert!(top.confidence > r.suggestions[1].confidence, "{r:?}");
        assert_eq!(r.urgency, Urgency::Utility as i32);
        assert_eq!(r.territory_unit, "t-harbour");

        // Bad input names its field; a township may not ask.
        let s = suggest(c, &city, SuggestCategoryRequest::default()).await.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        assert_eq!(s.get_details_bad_request().unwrap().field_violations[0].field, "text");
        let s = suggest(c, &city, SuggestCategoryRequest {
            text: COLD.into(),
            max_suggestions: 50,
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        let s = suggest(c, "t-harbour", SuggestCategoryRequest {
            text: COLD.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");

        // Without a code, intake refuses with the items to confirm, and
        // stores nothing.
        let before = c.list_orders().await.unwrap().len();
        let s = c.submit(in_words(COLD)).await.unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
        assert!(s.message().contains("category_code"), "{s:?}");
        let v = s.get_details_precondition_failure().unwrap().violations;
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].subject, "heating.no_heat");
        assert_eq!(s.get_details_error_info().unwrap().reason, "TRIAGE_CONFIRM");
        assert_eq!(c.list_orders().await.unwrap().len(), before, "nothing stored");

        // The operator confirms by giving the code: as without triage.
        let o = c
            .submit(SubmitRequestRequest {
                category_code: v[0].subject.clone(),
                ..in_words(COLD)
            })
            .await
            .unwrap();
        assert_eq!(o.category_code, "heating.no_heat");
        assert_eq!(o.state, OrderState::Dispatched as i32);
        assert!(!classified(&o).contains("triage"), "{}", classified(&o));
        t.stop().await;
    }
}

mesh_test! {
    async fn auto_mode_chooses_above_the_threshold_and_records_it(store) {
        let t = mesh_on(store, &with_triage("auto", 0.3)).await;
        let c = &t.client;

        let o = c.submit(in_words(COLD)).await.unwrap();
        assert_eq!(o.category_code, "heating.no_heat");
        assert_eq!(o.state, OrderState::Dispatched as i32);
        assert_eq!(o.urgency, Urgency::Utility as i32);
        let detail = classified(&o);
        assert!(detail.contains("chosen by triage (auto) with confidence 0."), "{detail}");
        assert!(!detail.contains("屋里"), "the history names no words of the request: {detail}");

        // A cue of danger in the words makes it an emergency.
        let gas = c.submit(in_words("楼道里一股煤气味，好像哪家漏气了")).await.unwrap();
        assert_eq!(gas.category_code, "gas.leak");
        assert_eq!(gas.urgency, Urgency::Emergency as i32);

        // Words the model cannot place fall below the threshold: the
        // operator is asked, nothing is stored.
        let before = c.list_orders().await.unwrap().len();
        let s = c.submit(in_words("嗯嗯，那个，就是想说一下")).await.unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
        assert!(s.message().contains("triage_min_confidence"), "{s:?}");
        assert_eq!(c.list_orders().await.unwrap().len(), before, "nothing stored");

        // A given code always wins over triage.
        let coded = c
            .submit(SubmitRequestRequest {
                category_code: "road.pothole".into(),
                ..in_words(COLD)
            })
            .await
            .unwrap();
        assert_eq!(coded.category_code, "road.pothole");
        t.stop().await;
    }
}
