//! Jurisdiction disputes (Art. 12, 14, 17): who may object to a dispatch and
//! until when, who arbitrates, what a ruling does, the bounce limit, and
//! what a handler may hand down to a community.

use crate::clock::Micros;
use crate::lifecycle::TransitionError;
use crate::model::{AssignmentState, Role, RulingKind, Tier};
use crate::policy::{Arbitration, Policy};
use crate::topology::{CatalogueItem, Topology};

/// A rule of the regulation that refuses an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Art. 14: the unit that receives a dispatch may not push it away;
    /// objections only before accepting and within the window.
    FirstReceiver,
    /// At the bounce limit the centre designates the handler, who may not
    /// object again.
    DesignatedHandler,
    /// Art. 17: nothing outside the community duty list goes to a community.
    CommunityDutyList,
    /// Art. 17: a community assists on assist items, never leads them.
    CommunityAssist,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::FirstReceiver => "first-receiver rule",
            Rule::DesignatedHandler => "designated handler",
            Rule::CommunityDutyList => "community duty list",
            Rule::CommunityAssist => "community assist item",
        }
    }

    /// Stable code for error details.
    pub fn code(self) -> &'static str {
        match self {
            Rule::FirstReceiver => "FIRST_RECEIVER",
            Rule::DesignatedHandler => "DESIGNATED_HANDLER",
            Rule::CommunityDutyList => "COMMUNITY_DUTY_LIST",
            Rule::CommunityAssist => "COMMUNITY_ASSIST_ITEM",
        }
    }
}

/// An action refused by a named rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", rule.name())]
pub struct Breach {
    pub rule: Rule,
    pub detail: String,
}

/// Why an action is refused: the assignment's state or role, or a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Rule(#[from] Breach),
}

fn breach(rule: Rule, detail: String) -> Refusal {
    Refusal::Rule(Breach { rule, detail })
}

fn refuse(action: &'static str, from: AssignmentState, reason: &'static str) -> Refusal {
    Refusal::Transition(TransitionError {
        action,
        subject: "an assignment",
        from: from.to_string(),
        reason,
    })
}

/// What an objecting handler knows of its own assignment.
#[derive(Debug, Clone, Copy)]
pub struct Objecting {
    pub role: Role,
    pub state: AssignmentState,
    pub designated: bool,
    pub dispatched_us: Micros,
}

/// Whether a handler may object to its assignment at `now`: not a copy,
/// not designated, not yet accepted, and within the objection window.
pub fn may_object(a: Objecting, now: Micros, policy: &Policy) -> Result<(), Refusal> {
    use AssignmentState as S;
    let action = "object to";
    if a.role == Role::Copy {
        return Err(refuse(action, a.state, "a copy is for supervision only"));
    }
    match a.state {
        S::Objected => return Err(refuse(action, a.state, "an objection is already pending")),
        S::Revoked => {
            return Err(refuse(
                action,
                a.state,
                "the assignment is no longer active",
            ));
        }
        _ => {}
    }
    if a.designated {
        return Err(breach(
            Rule::DesignatedHandler,
            "the centre designated this unit after the bounce limit; it may not object".into(),
        ));
    }
    if a.state != S::Dispatched {
        return Err(breach(
            Rule::FirstReceiver,
            format!(
                "the unit has {} the order and may not push it away",
                a.state
            ),
        ));
    }
    let closes = policy.objection_closes(a.dispatched_us);
    if now > closes {
        return Err(breach(
            Rule::FirstReceiver,
            format!(
                "the objection window of {} h after dispatch has closed; the unit must handle the order",
                policy.objection_window_hours
            ),
        ));
    }
    Ok(())
}

/// Tiers that handle dispatched orders: an objection may name one of them
/// as responsible, and a ruling may send an order to one.
pub fn handles_dispatch(tier: Tier) -> bool {
    matches!(
        tier,
        Tier::District | Tier::Township | Tier::Department | Tier::Central
    )
}

/// The unit that rules on a dispute between `objector` and `proposed`: the
/// city, or under district-first the district both lie in (never a district
/// that is itself a party).
pub fn authority(topology: &Topology, policy: &Policy, objector: &str, proposed: &str) -> String {
    let city = topology.city().id.clone();
    if policy.arbitration == Arbitration::City {
        return city;
    }
    match (
        topology.district_of(objector),
        topology.district_of(proposed),
    ) {
        (Some(a), Some(b)) if a.id == b.id && a.id != objector && a.id != proposed => a.id.clone(),
        _ => city,
    }
}

/// What a ruling does to the order's assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// The objector keeps its assignment (deemed accepted); otherwise it
    /// is revoked.
    pub objector_kept: bool,
    /// A unit that takes the order on, with its role.
    pub added: Option<(String, Role)>,
    /// A redirection of a lead: counts toward the bounce limit.
    pub redirects_lead: bool,
}

/// Plans a ruling of `kind` on an objection by `objector` (in `role`),
/// naming `unit` for a redirect or a joint ruling.
pub fn plan_ruling(
    kind: RulingKind,
    objector: &str,
    role: Role,
    unit: &str,
) -> Result<Ruling, String> {
    match kind {
        RulingKind::Keep if !unit.is_empty() => Err("must be empty for a keep ruling".into()),
        RulingKind::Keep => Ok(Ruling {
            objector_kept: true,
            added: None,
            redirects_lead: false,
        }),
        _ if unit.is_empty() => Err(format!("required for a {kind} ruling")),
        _ if unit == objector => Err(format!("is the objector {objector}; rule keep instead")),
        RulingKind::Redirect => Ok(Ruling {
            objector_kept: false,
            added: Some((unit.to_string(), role)),
            redirects_lead: role == Role::Lead,
        }),
        RulingKind::Joint => Ok(Ruling {
            objector_kept: true,
            added: Some((unit.to_string(), Role::CoHandler)),
            redirects_lead: false,
        }),
    }
}

/// Whether a lead redirection that brings the order's count to `count`
/// reaches the bounce limit: the centre then designates the new handler.
pub fn at_bounce_limit(count: u32, policy: &Policy) -> bool {
    count >= policy.bounce_limit
}

/// Whether a handler holding an assignment in `role` and `state` may hand
/// the order on `item` down to a community in `to_role` (Art. 17). The
/// duty list binds while `policy.community_duty_list` enforces it.
pub fn may_hand_down(
    item: &CatalogueItem,
    role: Role,
    state: AssignmentState,
    to_role: Role,
    policy: &Policy,
) -> Result<(), Refusal> {
    use AssignmentState as S;
    let action = "hand down";
    if !matches!(role, Role::Lead | Role::CoHandler) {
        return Err(refuse(
            action,
            state,
            "only a lead or co-handler hands down",
        ));
    }
    match state {
        S::Accepted | S::Contacted | S::InProgress => {}
        S::Dispatched => return Err(refuse(action, state, "accept the assignment first")),
        S::Replied => return Err(refuse(action, state, "the assignment is already replied")),
        S::Objected | S::Revoked => {
            return Err(refuse(action, state, "the assignment is no longer active"));
        }
    }
    if policy.community_duty_list && !item.duty_list {
        return Err(breach(
            Rule::CommunityDutyList,
            format!(
                "{} is not on the community duty list and may not be handed to a community",
                item.code
            ),
        ));
    }
    if item.community_assist && to_role == Role::Lead {
        return Err(breach(
            Rule::CommunityAssist,
            format!(
                "on {} a community assists government work; it may assist, never lead",
                item.code
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR;
    use AssignmentState as S;

    fn objecting(state: S) -> Objecting {
        Objecting {
            role: Role::Lead,
            state,
            designated: false,
            dispatched_us: 10 * HOUR,
        }
    }

    fn rule_of(r: Result<(), Refusal>) -> Option<Rule> {
        match r {
            Err(Refusal::Rule(b)) => Some(b.rule),
            _ => None,
        }
    }

    #[test]
    fn objections_close_with_the_window_and_on_acceptance() {
        let p = Policy::default();
        assert!(may_object(objecting(S::Dispatched), 10 * HOUR, &p).is_ok());
        assert!(may_object(objecting(S::Dispatched), 12 * HOUR, &p).is_ok());
        let late = may_object(objecting(S::Dispatched), 12 * HOUR + 1, &p);
        assert_eq!(rule_of(late.clone()), Some(Rule::FirstReceiver));
        assert!(
            late.unwrap_err()
                .to_string()
                .starts_with("first-receiver rule: ")
        );
        let accepted = may_object(objecting(S::Accepted), 10 * HOUR, &p);
        assert_eq!(rule_of(accepted), Some(Rule::FirstReceiver));
        let zero = Policy {
            objection_window_hours: 0.0,
            ..p.clone()
        };
        assert_eq!(
            rule_of(may_object(objecting(S::Dispatched), 10 * HOUR + 1, &zero)),
            Some(Rule::FirstReceiver)
        );
    }

    #[test]
    fn copies_pending_and_designated_may_not_object() {
        let p = Policy::default();
        let copy = Objecting {
            role: Role::Copy,
            ..objecting(S::Dispatched)
        };
        assert!(matches!(
            may_object(copy, 10 * HOUR, &p),
            Err(Refusal::Transition(_))
        ));
        assert!(matches!(
            may_object(objecting(S::Objected), 10 * HOUR, &p),
            Err(Refusal::Transition(_))
        ));
        let designated = Objecting {
            designated: true,
            ..objecting(S::Dispatched)
        };
        assert_eq!(
            rule_of(may_object(designated, 10 * HOUR, &p)),
            Some(Rule::DesignatedHandler)
        );
    }

    const TOPO: &str = r#"
name = "t"
[[unit]]
id = "city"
tier = "city"
name = "C"
[[unit]]
id = "d1"
tier = "district"
parent = "city"
name = "D1"
[[unit]]
id = "d2"
tier = "district"
parent = "city"
name = "D2"
[[unit]]
id = "t1"
tier = "township"
parent = "d1"
name = "T1"
[[unit]]
id = "t2"
tier = "township"
parent = "d1"
name = "T2"
[[unit]]
id = "t3"
tier = "township"
parent = "d2"
name = "T3"
[[unit]]
id = "dept"
tier = "department"
parent = "city"
level = "city"
name = "Dept"
"#;

    #[test]
    fn the_authority_follows_the_policy_switch() {
        let t = Topology::parse("t.toml", TOPO).unwrap();
        let city = Policy::default();
        let first = Policy {
            arbitration: Arbitration::DistrictFirst,
            ..Policy::default()
        };
        assert_eq!(authority(&t, &city, "t1", "t2"), "city");
        assert_eq!(
            authority(&t, &first, "t1", "t2"),
            "d1",
            "inside one district"
        );
        assert_eq!(
            authority(&t, &first, "t1", "t3"),
            "city",
            "across districts"
        );
        assert_eq!(
            authority(&t, &first, "t1", "dept"),
            "city",
            "a city department"
        );
        assert_eq!(
            authority(&t, &first, "d1", "t1"),
            "city",
            "the district is a party"
        );
    }

    #[test]
    fn rulings_keep_redirect_or_join() {
        let keep = plan_ruling(RulingKind::Keep, "t1", Role::Lead, "").unwrap();
        assert!(keep.objector_kept && keep.added.is_none() && !keep.redirects_lead);
        let r = plan_ruling(RulingKind::Redirect, "t1", Role::Lead, "t2").unwrap();
        assert_eq!(
            (r.objector_kept, r.added, r.redirects_lead),
            (false, Some(("t2".into(), Role::Lead)), true)
        );
        let co = plan_ruling(RulingKind::Redirect, "t1", Role::CoHandler, "t2").unwrap();
        assert!(!co.redirects_lead, "only lead redirections bounce");
        let j = plan_ruling(RulingKind::Joint, "t1", Role::Lead, "dept").unwrap();
        assert_eq!(
            (j.objector_kept, j.added),
            (true, Some(("dept".into(), Role::CoHandler)))
        );
        assert!(plan_ruling(RulingKind::Redirect, "t1", Role::Lead, "").is_err());
        assert!(plan_ruling(RulingKind::Redirect, "t1", Role::Lead, "t1").is_err());
        assert!(plan_ruling(RulingKind::Keep, "t1", Role::Lead, "t2").is_err());
    }

    #[test]
    fn the_bounce_limit_is_reached_on_the_limiting_redirect() {
        let p = Policy::default();
        assert!(!at_bounce_limit(2, &p));
        assert!(at_bounce_limit(3, &p));
    }

    fn item(duty_list: bool, community_assist: bool) -> CatalogueItem {
        CatalogueItem {
            code: "x".into(),
            name: "X".into(),
            subcategory: "k.s".into(),
            urgency: crate::Urgency::General,
            department: None,
            line: None,
            territory: true,
            answer: None,
            duty_list,
            community_assist,
            ambiguous: false,
        }
    }

    #[test]
    fn only_duty_list_items_go_down_and_assist_items_never_as_lead() {
        let ok = |i: &CatalogueItem, to| {
            may_hand_down(i, Role::Lead, S::Accepted, to, &Policy::default())
        };
        assert!(ok(&item(true, false), Role::Lead).is_ok());
        assert!(ok(&item(true, true), Role::Assist).is_ok());
        assert_eq!(
            rule_of(ok(&item(false, false), Role::Assist)),
            Some(Rule::CommunityDutyList)
        );
        let e = ok(&item(true, true), Role::Lead).unwrap_err();
        assert_eq!(rule_of(Err(e.clone())), Some(Rule::CommunityAssist));
        assert!(e.to_string().starts_with("community assist item: "), "{e}");
        assert!(matches!(
            may_hand_down(
                &item(true, false),
                Role::Lead,
                S::Dispatched,
                Role::Assist,
                &Policy::default()
            ),
            Err(Refusal::Transition(_))
        ));
        assert!(matches!(
            may_hand_down(
                &item(true, false),
                Role::Copy,
                S::Accepted,
                Role::Assist,
                &Policy::default()
            ),
            Err(Refusal::Transition(_))
        ));
    }

    #[test]
    fn without_duty_list_enforcement_any_item_goes_down() {
        let lax = Policy {
            community_duty_list: false,
            ..Policy::default()
        };
        let down = |p: &Policy| {
            may_hand_down(
                &item(false, false),
                Role::Lead,
                S::Accepted,
                Role::Assist,
                p,
            )
        };
        assert!(down(&Policy::default()).is_err());
        assert!(down(&lax).is_ok());
        // Assist items still never go down as lead.
        let lead = may_hand_down(&item(true, true), Role::Lead, S::Accepted, Role::Lead, &lax);
        assert_eq!(rule_of(lead), Some(Rule::CommunityAssist));
    }

    #[test]
    fn tiers_take_their_roles() {
        assert!(Tier::Community.takes(Role::Lead) && Tier::Community.takes(Role::Assist));
        assert!(!Tier::Community.takes(Role::CoHandler));
        assert!(!Tier::District.takes(Role::CoHandler));
        assert!(!Tier::City.takes(Role::Lead));
        assert!(handles_dispatch(Tier::Central) && !handles_dispatch(Tier::Community));
    }
}
