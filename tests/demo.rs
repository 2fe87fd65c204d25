//! The demo on the embedded default (SQLite), as a newcomer runs it.

#[test]
fn demo_json_reports_every_path() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["demo", "--json", "--keep"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert!(v["closed"].as_u64().unwrap() >= 3, "{v}");
    assert!(v["answered_at_intake"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["reopened"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["processes"].as_u64().unwrap() >= 6, "{v}");
    assert!(v["handoffs"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(
        v["orders"].as_u64().unwrap() as usize,
        v["order_ids"].as_array().unwrap().len()
    );
    assert_eq!(v["stale_epoch_refused"], true);
    // The knowledge base answered a consultation; every unmask audited.
    let kb = &v["knowledge_base"];
    assert_eq!(kb["answered_from_knowledge_base"], 1, "{kb}");
    let share = kb["share_answered_at_intake"].as_f64().unwrap();
    assert!(share > 0.0 && share <= 1.0, "{kb}");
    assert!(v["audit_entries"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["exported_orders"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["retry_same_answer"], true);
    for field in [
        "whistles",
        "check_ins",
        "missed_check_ins",
        "overdue",
        "supervisions",
        "escalations",
        "extensions",
    ] {
        assert!(v[field].as_u64().unwrap() > 0, "{field} in {v}");
    }
    // Jurisdiction: an objection ruled and redirected, a late one and a
    // designated handler's refused, the bounce limit, dual dispatch, and
    // every intake disposition.
    assert!(v["objections"].as_u64().unwrap() >= 4, "{v}");
    assert!(v["rulings"].as_u64().unwrap() >= 4, "{v}");
    assert_eq!(v["objections_refused"], 2, "{v}");
    assert_eq!(v["bounce_limit_hits"], 1, "{v}");
    assert!(v["dual_dispatches"].as_u64().unwrap() >= 2, "{v}");
    assert_eq!(v["hand_downs_refused"], 1, "{v}");
    for kind in [
        "emergency_transfer",
        "legal_channel",
        "duplicate",
        "secrets_privacy",
        "outside_duty",
        "unlawful",
    ] {
        assert_eq!(v["dispositions"][kind], 1, "{kind} in {v}");
    }
    let steps: Vec<&str> = v["trace_sample"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    for step in [
        "whistle_registered",
        "checked_in",
        "check_in_missed",
        "co_handler_added",
    ] {
        assert!(
            steps.contains(&step),
            "{step} in the trace sample {steps:?}"
        );
    }
    // The border case: dispatched to the township owning the point, with
    // the township across the border recorded.
    let b = &v["border_case"];
    assert_eq!(b["territory_unit"], "t-market", "{b}");
    assert_eq!(b["community_unit"], "c-market-east", "{b}");
    assert_eq!(b["leads"], serde_json::json!(["t-market"]), "{b}");
    assert_eq!(
        b["near_boundary_units"],
        serde_json::json!(["c-harbour-south", "t-harbour"]),
        "{b}"
    );

    // Assessment: every unit with orders has a scorecard whose rates lie
    // in [0, 1] with their numerators and denominators; every peer group
    // is ranked best first.
    let cards = v["scorecards"].as_array().unwrap();
    assert!(cards.len() >= 6, "{}", cards.len());
    let units: Vec<&str> = cards.iter().map(|c| c["unit"].as_str().unwrap()).collect();
    for u in ["t-market", "t-harbour", "dept-urban", "dept-utility"] {
        assert!(units.contains(&u), "{u} scored: {units:?}");
    }
    for c in cards {
        for rate in ["response", "resolution", "satisfaction"] {
            let r = &c[rate];
            let (n, d) = (
                r["numerator"].as_f64().unwrap(),
                r["denominator"].as_u64().unwrap(),
            );
            match r["value"].as_f64() {
                Some(x) => assert!(
                    d > 0 && (x - n / d as f64).abs() < 1e-9 && (0.0..=1.0).contains(&x),
                    "{c}"
                ),
                None => assert_eq!(d, 0, "{c}"),
            }
        }
    }
    let rankings = v["rankings"]["rankings"].as_array().unwrap();
    let groups: Vec<&str> = rankings
        .iter()
        .map(|r| r["peer_group"].as_str().unwrap())
        .collect();
    for g in [
        "townships",
        "districts",
        "city_departments",
        "district_departments",
        "enterprises",
        "central_units",
    ] {
        assert!(groups.contains(&g), "{g} in {groups:?}");
    }
    for r in rankings {
        let composites: Vec<f64> = r["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["composite"].as_f64().unwrap())
            .collect();
        assert!(composites.windows(2).all(|w| w[0] >= w[1] - 1e-9), "{r}");
    }
    let towns = rankings
        .iter()
        .find(|r| r["peer_group"] == "townships")
        .unwrap();
    assert!(!towns["entries"].as_array().unwrap().is_empty(), "{towns}");
    // Proactive governance: candidates come ranked by risk; the heating
    // wave is among the top three, in its season, with its four degrees
    // and risk level; Hillview's task to Pine Town was replied and closed,
    // the complaints counted before it.
    let problems = v["problems"].as_array().unwrap();
    let scores: Vec<u64> = problems
        .iter()
        .map(|p| p["risk_score"].as_u64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let at = problems
        .iter()
        .position(|p| p["category_code"] == "heating.no_heat")
        .expect("the heating wave is a candidate");
    assert!(at < 3, "heating ranks {at}: {problems:?}");
    let top = &problems[at];
    assert_eq!(top["seasons"], serde_json::json!(["heating"]), "{top}");
    assert_eq!(top["high_frequency"], true, "{top}");
    for d in ["frequency", "breadth", "intensity", "difficulty"] {
        let x = top["degrees"][d].as_u64().unwrap();
        assert!((1..=4).contains(&x), "{d} in {top}");
    }
    let risk = top["risk_level"].as_str().unwrap();
    assert!(
        ["low", "medium", "high", "critical"].contains(&risk),
        "{top}"
    );
    let tasks = v["proactive_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{v}");
    let task = &tasks[0];
    assert_eq!(task["issuer_unit"], "d-hillview", "{task}");
    assert_eq!(task["area_unit"], "t-pine", "{task}");
    assert_eq!(task["state"], "closed", "{task}");
    assert!(task["effect"]["before"].as_u64().unwrap() >= 6, "{task}");
    // Tasks are no citizen's request: not among the demo's orders.
    let ids = v["order_ids"].as_array().unwrap();
    assert!(!ids.contains(&task["order_id"]), "{task}");

    // No requester name, phone or request text in any process's log.
    let dir = std::path::PathBuf::from(v["data_dir"].as_str().expect("--keep names the data dir"));
    let mut logs = String::new();
    for entry in std::fs::read_dir(dir.join("logs")).unwrap() {
        logs += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(logs.contains("order received"), "the logs were read");
    for pii in [
        "1390000000",
        "Wang Fang",
        "Li Wei",
        "Zhao Lei",
        "Chen Jing",
        "Bins not emptied",
        "Drilling after midnight",
        "1391000000",
        "Qian Resident",
        "lift has been broken",
        "Piling at night",
        "Smoke in the stairwell",
        "Sun Mei",
        "arcade gate",
        "Feng Hua",
        "1392000000",
        "Radiators still cold",
        "risers bled",
    ] {
        assert!(!logs.contains(pii), "{pii} leaked into a log");
    }
}
