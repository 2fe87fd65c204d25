//! The command line as people read it: scenarios by name, the demo's
//! narration and summary, `hotline trace`, `hotline certs`.

use std::process::{Command, Output};

use hotline_proto::v1::*;

use crate::support::*;

fn hotline(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Every table in `text`: each line's rules stand at the same display
/// columns as its header's. The tables it checked.
fn assert_tables_align(text: &str) -> usize {
    hotline::client::table::aligned_tables(text).unwrap_or_else(|e| panic!("{e} in\n{text}"))
}

#[test]
fn simulate_by_an_unknown_name_lists_the_scenarios_there_are() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // From the repository, and from elsewhere (found beside the binary).
    let elsewhere = tempfile::tempdir().unwrap();
    for dir in [repo, elsewhere.path()] {
        let out = hotline(&["simulate", "--scenario", "beijng"], dir);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no scenario named \"beijng\""), "{err}");
        assert!(
            err.contains("available by name: beijing, demo, disputes, disputes-district-first"),
            "{err}"
        );
        assert!(!err.contains("No such file"), "{err}");
    }
    // A path that is not there says so, and names the scenarios too.
    let out = hotline(&["simulate", "--scenario", "scenarios/nosuch.toml"], repo);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no file scenarios/nosuch.toml") && err.contains("beijing"),
        "{err}"
    );
}

#[test]
fn the_demo_tells_numbered_steps_then_a_summary_without_raw_data() {
    let out = hotline(&["demo"], std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // Steps are numbered once each, 1, 2, 3… in the order they are told.
    let numbers: Vec<usize> = text
        .lines()
        .filter_map(|l| l.split_once(". ")?.0.parse().ok())
        .collect();
    assert!(numbers.len() >= 15, "{numbers:?}\n{text}");
    assert_eq!(numbers, (1..=numbers.len()).collect::<Vec<_>>(), "{text}");
    // No JSON map, no null, no bare wire enum in what people read.
    assert!(!text.contains(['{', '}']), "{text}");
    assert!(!text.contains("ORDER_STATE_"), "{text}");
    let words: std::collections::BTreeSet<&str> = text
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .collect();
    for raw in ["null", "true", "false", "unspecified"] {
        assert!(!words.contains(raw), "{raw:?} in\n{text}");
    }
    // The lines the issue found unexplained say what they mean.
    assert!(
        text.contains("An accept for an epoch the reopening had superseded was refused."),
        "{text}"
    );
    assert!(
        text.contains("A retried accept with the same request id got the first answer back"),
        "{text}"
    );
    let summary = text.split("\nSummary\n").nth(1).expect("a summary");
    assert!(summary.contains(" whistles "), "{summary}");
    assert!(
        summary.contains("a township summoned departments"),
        "{summary}"
    );
    // Tables: what the mesh did, dispositions, tier pairs, units,
    // rankings, the proactive analysis; each aligned.
    assert!(assert_tables_align(&text) >= 8, "{text}");
    assert!(text.contains("The demo took "), "{text}");
}

mesh_test! {
    /// `hotline trace` on a garbage complaint: Harbour Street leads, its
    /// district follows with a copy; the lead replies 2 h 05 min after
    /// intake.
    async fn trace_reads_in_aligned_columns_without_nulls(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let id = c
            .submit(submit("sanitation.garbage", "3 North Quay", RequestKind::Complaint))
            .await
            .unwrap()
            .order_id;
        c.wait_assignment("t-harbour", &id, 1, WAIT).await.unwrap();
        c.advance_to(t0() + (2 * 60 + 5) * 60_000_000).await.unwrap();
        c.handle("t-harbour", &id, 1, ReplyOutcome::Resolved).await.unwrap();
        c.wait_order_state(&id, OrderState::Replied, WAIT).await.unwrap();

        let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
            // The CLI presents each unit's certificate from the mesh CA.
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["trace", &id, "--gateway", &t.gateway_url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("null"), "{text}");
        assert_eq!(assert_tables_align(&text), 3, "steps, handoffs, assignments:\n{text}");
        assert!(text.starts_with(&format!("orders/{id} is replied: received 2026-11-16 09:00:00")), "{text}");
        // The copy was never accepted: dashes, and a sentence why.
        let copy = text
            .lines()
            .find(|l| l.contains("d-riverside") && l.contains("│ copy"))
            .expect("the copy's row");
        let cells: Vec<&str> = copy.split('│').map(str::trim).collect();
        assert_eq!(cells[3..6], ["—", "—", "—"], "{copy}");
        assert!(text.contains("A copy informs its unit only"), "{text}");
        // The lead replied 2 h 05 min after intake, in human form.
        let reply = text
            .lines()
            .find(|l| l.contains("t-harbour") && l.contains("│ replied"))
            .expect("the reply step");
        assert!(reply.trim_start().starts_with("2 h 05 min │"), "{reply}");
        t.stop().await;
    }
}

/// The web front's certificate reissued for the host browsers reach it at
/// behind the Ingress: the channel's SPIFFE id and that host, beside the
/// local names.
#[test]
fn certs_issue_names_a_channel_front_and_its_public_host() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let out = hotline(&["certs", "init", "--dir", "pki"], &dir);
    assert!(out.status.success(), "{out:?}");
    let out = hotline(
        &[
            "certs",
            "issue",
            "--channel",
            "web",
            "--host",
            "12345.example.org",
            "--dir",
            "pki",
        ],
        &dir,
    );
    assert!(out.status.success(), "{out:?}");
    let pem = std::fs::read(dir.join("pki/channel-web.crt")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| match n {
            x509_parser::extensions::GeneralName::URI(u) => format!("uri {u}"),
            x509_parser::extensions::GeneralName::DNSName(d) => format!("dns {d}"),
            other => format!("{other:?}"),
        })
        .collect();
    for want in [
        "uri spiffe://hotline/channel/web",
        "dns 12345.example.org",
        "dns localhost",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // One holder at a time: a channel and an operator together is refused.
    let out = hotline(
        &[
            "certs",
            "issue",
            "--channel",
            "web",
            "--operator",
            "ops",
            "--dir",
            "pki",
        ],
        &dir,
    );
    assert!(!out.status.success(), "{out:?}");
}
