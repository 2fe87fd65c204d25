//! Requester credentials: random, bound to one order, expiring on the
//! virtual clock, revocable; never derived from the phone.

use hotline::client::{MeshClient, request_id};
use hotline_core::clock::{DAY, HOUR};
use hotline_proto::v1::*;
use tonic::{Code, Status};

use crate::support::*;

const DEPT: &str = "dept-transport";
const SIGNAL: &str = "traffic.signal_broken";

fn request(phone: &str, text: &str) -> SubmitRequestRequest {
    let mut r = submit(SIGNAL, "", RequestKind::Help);
    r.requester = Some(Requester {
        name: "Zhou Min".into(),
        phone: phone.into(),
        ..Default::default()
    });
    r.text = text.into();
    r
}

fn refused(s: &Status, code: Code, why: &str) {
    assert_eq!(s.code(), code, "{s:?}");
    assert!(s.message().contains(why), "{why}: {s:?}");
}

/// The order as the centre sees it: what a requester call may not change.
async fn history_len(c: &MeshClient, order_id: &str) -> usize {
    c.order(order_id).await.unwrap().history.len()
}

mesh_test! {
    async fn a_token_opens_only_its_own_order_whatever_the_phone(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let phone = "13788889999";
        let victim_req = request(phone, "signal dark at the school crossing");
        let (victim, token) = c.submit_as_requester(victim_req.clone()).await.unwrap();
        c.wait_assignment(DEPT, &victim.order_id, 1, WAIT)
            .await
            .unwrap();
        assert!(token.starts_with("rt-") && token.len() == 3 + 48, "{token}");
        assert!(!token.contains(&phone[3..]), "{token}");

        // Someone who knows the victim's phone submits with it: a credential
        // for their own new order, not the victim's.
        let mut attack = request(phone, "signal dark, new facts");
        attack.new_facts = true;
        let (theirs, stolen) = c.submit_as_requester(attack).await.unwrap();
        assert_ne!(stolen, token);
        assert_eq!(
            c.own_order(&stolen, &theirs.order_id).await.unwrap().name,
            format!("orders/{}", theirs.order_id)
        );
        let before = history_len(c, &victim.order_id).await;
        let read = c.own_order(&stolen, &victim.order_id).await.unwrap_err();
        refused(
            &read,
            Code::PermissionDenied,
            "not the order this credential opens",
        );
        let withdrawn = c
            .withdraw(&stolen, &victim.order_id, "not mine")
            .await
            .unwrap_err();
        refused(&withdrawn, Code::PermissionDenied, "not the order");
        let urged = c.urge_own(&stolen, &victim.order_id).await.unwrap_err();
        assert_eq!(urged.code(), Code::PermissionDenied, "{urged:?}");
        let view = c.own_order(&token, &victim.order_id).await.unwrap();
        assert!(view.open && view.urge_count == 0, "{view:?}");
        assert_eq!(history_len(c, &victim.order_id).await, before);

        // A guessed or made-up credential opens nothing.
        let guessed = format!("rt-{}", "0".repeat(48));
        let s = c.own_order(&guessed, &victim.order_id).await.unwrap_err();
        refused(&s, Code::Unauthenticated, "not a credential intake issued");

        // A retried submission is the same order with a new credential; both open it.
        let (again, second) = c.submit_as_requester(victim_req).await.unwrap();
        assert_eq!(again.order_id, victim.order_id);
        assert_ne!(second, token);
        for tk in [&token, &second] {
            c.own_order(tk, &victim.order_id).await.unwrap();
        }
        t.stop().await;
    }
}

mesh_test! {
    async fn a_revoked_token_opens_nothing_and_changes_nothing(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let req = request("13766667777", "signal dark");
        let (o, token) = c.submit_as_requester(req.clone()).await.unwrap();
        let (_, second) = c.submit_as_requester(req).await.unwrap();
        let (other, keep) = c
            .submit_as_requester(request("13755554444", "signal dark"))
            .await
            .unwrap();
        c.wait_assignment(DEPT, &o.order_id, 1, WAIT).await.unwrap();

        // Another order's credential cannot revoke this one's.
        let rid = request_id();
        let s = c.revoke_token(&keep, &o.order_id, &rid).await.unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");

        let done = c.revoke_token(&token, &o.order_id, &rid).await.unwrap();
        assert_eq!(done.revoked_count, 2, "both credentials of the order");
        // A retry presents the revoked credential and gets the first answer.
        let retried = c.revoke_token(&token, &o.order_id, &rid).await.unwrap();
        assert_eq!(retried, done);

        let before = history_len(c, &o.order_id).await;
        for tk in [&token, &second] {
            let s = c.own_order(tk, &o.order_id).await.unwrap_err();
            refused(&s, Code::Unauthenticated, "revoked");
            let s = c.withdraw(tk, &o.order_id, "gone").await.unwrap_err();
            refused(&s, Code::Unauthenticated, "revoked");
            let s = c
                .supplement(tk, &o.order_id, "more", &[])
                .await
                .unwrap_err();
            refused(&s, Code::Unauthenticated, "revoked");
        }
        let s = c
            .revoke_token(&token, &o.order_id, &request_id())
            .await
            .unwrap_err();
        refused(&s, Code::Unauthenticated, "revoked");
        let centre = c.order(&o.order_id).await.unwrap();
        assert_eq!(centre.history.len(), before);
        assert_eq!(centre.state, OrderState::Dispatched as i32);
        // Other orders' credentials are untouched.
        c.own_order(&keep, &other.order_id).await.unwrap();
        t.stop().await;
    }
}

mesh_test! {
    async fn a_token_expires_after_the_configured_days_on_the_virtual_clock(store) {
        let t = TestMesh::start(store, Spec {
            virtual_clock: Some(T0),
            topology: Some(demo_with_policy(&[("requester_token_days", "2")])),
            ..Spec::default()
        }).await;
        let c = &t.client;
        let (o, token) = c
            .submit_as_requester(request("13722223333", "signal dark"))
            .await
            .unwrap();
        c.wait_assignment(DEPT, &o.order_id, 1, WAIT).await.unwrap();
        c.advance_to(t0() + 2 * DAY - HOUR).await.unwrap();
        c.own_order(&token, &o.order_id).await.unwrap();

        c.advance_to(t0() + 2 * DAY).await.unwrap();
        let before = history_len(c, &o.order_id).await;
        let s = c.own_order(&token, &o.order_id).await.unwrap_err();
        refused(&s, Code::Unauthenticated, "expired");
        let s = c
            .supplement(&token, &o.order_id, "still dark", &[])
            .await
            .unwrap_err();
        refused(&s, Code::Unauthenticated, "expired");
        let s = c.urge_own(&token, &o.order_id).await.unwrap_err();
        refused(&s, Code::Unauthenticated, "expired");
        let centre = c.order(&o.order_id).await.unwrap();
        assert_eq!(centre.history.len(), before, "nothing changed");
        assert_eq!(centre.urge_count, 0);
        t.stop().await;
    }
}
