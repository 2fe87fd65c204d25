//! Who may call what, on whose resources: the one authorization table.
//!
//! A call is made by a proven [`Principal`] (from its mesh certificate),
//! acting for a unit (`x-hotline-unit`), addressed to a target unit
//! (`x-hotline-target`). The gateway checks every call against [`TABLE`]
//! before forwarding it, and each service checks again on arrival; the
//! services' own guards then check the resource (the assignment's unit,
//! the order's epoch). docs/authorization.md prints the same table.

use std::fmt;

use crate::model::{Channel, Tier};
use crate::topology::Topology;

/// The SPIFFE trust domain of the mesh's certificates.
pub const TRUST_DOMAIN: &str = "hotline";

/// Who holds a mesh certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A unit's own system: a township's, a department's, the centre's desk.
    Unit(String),
    /// A mesh process (`city`, `township`, …, and `gateway`), acting for
    /// the units it hosts.
    Service(String),
    /// A person on the operations staff, with the roles and scope the
    /// topology grants.
    Operator(String),
    /// A channel front (`hotline web`: Open311, the web and app channels):
    /// it submits requests to the centre for the online channels it fronts
    /// and reads orders in the citizen's form, nothing else.
    Channel(String),
}

/// The holder of the mesh's own web front (`hotline web`).
pub fn web_front() -> Principal {
    Principal::Channel("web".into())
}

/// The channels a channel front submits for: the online ones it serves
/// (never the phone desk, nor the message board the centre moderates).
pub const FRONTED_CHANNELS: &[Channel] = &[Channel::Web, Channel::App, Channel::MiniProgram];

/// Whether `principal` may submit a request arriving by `channel`: a
/// channel front only for [`FRONTED_CHANNELS`]; anyone else the table
/// admits, for any channel.
pub fn may_submit_on(principal: &Principal, channel: Channel) -> Result<(), Denied> {
    match principal {
        Principal::Channel(_) if !FRONTED_CHANNELS.contains(&channel) => Err(Denied(format!(
            "{principal} may not submit requests arriving by {channel}: it fronts {}",
            FRONTED_CHANNELS
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

impl Principal {
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Unit(_) => "unit",
            Principal::Service(_) => "service",
            Principal::Operator(_) => "operator",
            Principal::Channel(_) => "channel",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Principal::Unit(n)
            | Principal::Service(n)
            | Principal::Operator(n)
            | Principal::Channel(n) => n,
        }
    }

    /// `spiffe://hotline/unit/t-harbour`.
    pub fn spiffe_id(&self) -> String {
        format!("spiffe://{TRUST_DOMAIN}/{}/{}", self.kind(), self.name())
    }

    pub fn from_spiffe_id(uri: &str) -> Option<Self> {
        let path = uri
            .strip_prefix("spiffe://")?
            .strip_prefix(TRUST_DOMAIN)?
            .strip_prefix('/')?;
        Self::from_path(path)
    }

    /// `unit/t-harbour`, as the gateway passes it on.
    pub fn path(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    pub fn from_path(path: &str) -> Option<Self> {
        let (kind, name) = path.split_once('/')?;
        if !valid_name(name) {
            return None;
        }
        let name = name.to_owned();
        match kind {
            "unit" => Some(Principal::Unit(name)),
            "service" => Some(Principal::Service(name)),
            "operator" => Some(Principal::Operator(name)),
            "channel" => Some(Principal::Channel(name)),
            _ => None,
        }
    }

    /// A file name for its key and certificate: `unit-t-harbour`.
    pub fn file_stem(&self) -> String {
        format!("{}-{}", self.kind(), self.name())
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spiffe_id())
    }
}

pub use crate::units::{Operator, Role, valid_name};

/// One way to be allowed to call an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// A mesh service, acting for a unit it hosts whose tier is listed:
    /// the handoffs services send one another through the gateway.
    Mesh(&'static [Tier]),
    /// A unit acting for itself on its own resources: the acting unit is
    /// the target.
    Own,
    /// A unit reading within its subtree: the target is the acting unit
    /// or below it.
    Subtree,
    /// The hotline centre (the acting unit is the city), to any unit.
    City,
    /// Any proven unit, addressing the centre (the target is the city).
    ToCity,
    /// Any proven unit, to any unit: the serving unit decides from the
    /// resource (a whistle's summoned departments check in at a district).
    Any,
    /// An operator holding the role, acting for a unit within their scope
    /// and addressing a unit within it or the centre (which serves every
    /// unit's orders and checks the unit itself).
    Operator(Role),
    /// A channel front, acting for the centre and addressing it; the
    /// centre gives it the citizen's form of an order only.
    Channel,
    /// The mesh's web front reading for its dashboard, acting for the
    /// centre, at any unit: it shows each operator only what this table
    /// and their scope let the operator read themselves
    /// (`hotline_web::dashboard`).
    Dashboard,
}

/// The rule of one RPC: any of `allow` admits the call.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `hotline.v1.DispatchService/AcceptAssignment`.
    pub method: &'static str,
    pub allow: &'static [Allow],
    /// What the service checks beyond the table, for the docs.
    pub note: &'static str,
}

/// Every tier, for rules that admit any.
pub const ANY_TIER: &[Tier] = &[
    Tier::Central,
    Tier::City,
    Tier::District,
    Tier::Township,
    Tier::Community,
    Tier::Department,
];

/// The table: every RPC of hotline.v1, in proto order.
pub const TABLE: &[Rule] = &[
    // ControlService: each process's virtual clock.
    Rule {
        method: "hotline.v1.ControlService/AdvanceTo",
        allow: &[Allow::Operator(Role::Control)],
        note: "the process runs on a virtual clock; time never moves back",
    },
    Rule {
        method: "hotline.v1.ControlService/GetClock",
        allow: &[
            Allow::Subtree,
            Allow::Operator(Role::Control),
            Allow::Operator(Role::Supervise),
        ],
        note: "nothing: a read of the process's clock",
    },
    // DispatchService: the assignment inbox of a handling unit.
    Rule {
        method: "hotline.v1.DispatchService/DeliverAssignment",
        allow: &[Allow::Mesh(&[Tier::City])],
        note: "the assignment is the target unit's and its tier takes the role; an older epoch never overwrites a newer one",
    },
    Rule {
        method: "hotline.v1.DispatchService/AcceptAssignment",
        allow: &[Allow::Own],
        note: "the assignment is the target unit's; epoch current, not revoked; the lifecycle allows it",
    },
    Rule {
        method: "hotline.v1.DispatchService/ContactRequester",
        allow: &[Allow::Own],
        note: "as AcceptAssignment; the unit's service relays the contact through the centre",
    },
    Rule {
        method: "hotline.v1.DispatchService/UpdateProgress",
        allow: &[Allow::Own],
        note: "as AcceptAssignment",
    },
    Rule {
        method: "hotline.v1.DispatchService/ReplyAssignment",
        allow: &[Allow::Own],
        note: "as AcceptAssignment; a unit working under a lead reports its part to it",
    },
    Rule {
        method: "hotline.v1.DispatchService/GetAssignment",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "the target unit's own assignment, hosted by the serving process",
    },
    Rule {
        method: "hotline.v1.DispatchService/ListAssignments",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "the target unit's assignments only",
    },
    Rule {
        method: "hotline.v1.DispatchService/RecordAssignmentEvent",
        allow: &[Allow::Mesh(&[
            Tier::Central,
            Tier::District,
            Tier::Township,
            Tier::Community,
            Tier::Department,
        ])],
        note: "served by the centre: the event's unit is the sending unit; epoch current",
    },
    Rule {
        method: "hotline.v1.DispatchService/ObjectAssignment",
        allow: &[Allow::Own],
        note: "the assignment is the target unit's; epoch current; within the objection window, not designated",
    },
    Rule {
        method: "hotline.v1.DispatchService/HandDownAssignment",
        allow: &[Allow::Own],
        note: "the assignment is the target unit's; epoch current; a community directly under it; duty-list items only",
    },
    Rule {
        method: "hotline.v1.DispatchService/ReportPart",
        allow: &[Allow::Mesh(&[
            Tier::Township,
            Tier::Community,
            Tier::Department,
        ])],
        note: "served by the lead unit's process: the part's unit is the sending unit",
    },
    Rule {
        method: "hotline.v1.DispatchService/RecordHandDown",
        allow: &[Allow::Mesh(&[Tier::Township])],
        note: "served by the centre: the handing unit is the sender; epoch current; the hand-down rules again",
    },
    Rule {
        method: "hotline.v1.DispatchService/DeliverNotice",
        allow: &[Allow::Mesh(&[Tier::City, Tier::District])],
        note: "the notice is for the target unit",
    },
    Rule {
        method: "hotline.v1.DispatchService/ListNotices",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "the target unit's notices only",
    },
    Rule {
        method: "hotline.v1.DispatchService/RequestExtension",
        allow: &[Allow::Own],
        note: "the target unit's open lead assignment; epoch current; a later date",
    },
    // EscalationService.
    Rule {
        method: "hotline.v1.EscalationService/RequestCoordination",
        allow: &[Allow::Any],
        note: "asked of a unit above the caller or a line department; the service checks which",
    },
    Rule {
        method: "hotline.v1.EscalationService/ListCoordinations",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "those the target unit was asked",
    },
    Rule {
        method: "hotline.v1.EscalationService/RecordObjection",
        allow: &[Allow::Mesh(&[
            Tier::Central,
            Tier::District,
            Tier::Township,
            Tier::Community,
            Tier::Department,
        ])],
        note: "served by the centre: the objecting unit is the sender; epoch current; the objection rules again",
    },
    Rule {
        method: "hotline.v1.EscalationService/RuleObjection",
        allow: &[Allow::ToCity],
        note: "the caller is the objection's authority: the centre, or the district under district_first; still pending",
    },
    Rule {
        method: "hotline.v1.EscalationService/ListObjections",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "at the centre every objection; at a district those referred to it",
    },
    Rule {
        method: "hotline.v1.EscalationService/NotifyObjection",
        allow: &[Allow::Mesh(&[Tier::City])],
        note: "the target district is the objection's authority; a pending copy never overwrites a ruling",
    },
    Rule {
        method: "hotline.v1.EscalationService/AnswerCoordination",
        allow: &[Allow::Own],
        note: "the coordination was asked of the target unit",
    },
    Rule {
        method: "hotline.v1.EscalationService/Whistle",
        allow: &[Allow::Own],
        note: "a township leading the order, open; epoch current; departments summoned",
    },
    Rule {
        method: "hotline.v1.EscalationService/RegisterWhistle",
        allow: &[Allow::Mesh(&[Tier::Township])],
        note: "the sender is a township of the target district and the whistle's own",
    },
    Rule {
        method: "hotline.v1.EscalationService/CheckIn",
        allow: &[Allow::Any],
        note: "the caller is a department the whistle summoned (the district checks)",
    },
    Rule {
        method: "hotline.v1.EscalationService/GetWhistle",
        allow: &[
            Allow::Any,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "served by the district: the district, the whistling township or a summoned department",
    },
    Rule {
        method: "hotline.v1.EscalationService/DecideExtension",
        allow: &[Allow::ToCity],
        note: "the caller is the handler's parent (the centre for units under it); an extension is pending",
    },
    Rule {
        method: "hotline.v1.EscalationService/RecordEscalationEvent",
        allow: &[Allow::Mesh(&[
            Tier::City,
            Tier::District,
            Tier::Township,
            Tier::Department,
        ])],
        note: "served by the centre: the sender is the district for whistles and check-ins, the asked unit for coordination",
    },
    // IntakeService: the centre's record of orders.
    Rule {
        method: "hotline.v1.IntakeService/SubmitRequest",
        allow: &[Allow::City, Allow::Channel],
        note: "the centre's intake desk or channel; a channel front only for the online channels it fronts",
    },
    Rule {
        method: "hotline.v1.IntakeService/GetOrder",
        allow: &[
            Allow::ToCity,
            Allow::Operator(Role::Supervise),
            Allow::Channel,
        ],
        note: "the centre reads every order; a unit only those assigned to it or a unit below it; a channel front a citizen request in the citizen's form",
    },
    Rule {
        method: "hotline.v1.IntakeService/ListOrders",
        allow: &[
            Allow::City,
            Allow::Operator(Role::Supervise),
            Allow::Channel,
        ],
        note: "acting for the centre; a channel front lists citizen requests in the citizen's form",
    },
    Rule {
        method: "hotline.v1.IntakeService/RecordCallback",
        allow: &[Allow::City],
        note: "the order is replied and not yet called back",
    },
    Rule {
        method: "hotline.v1.IntakeService/ReclassifyOrder",
        allow: &[Allow::City],
        note: "the new item is in the current catalogue; the order is open",
    },
    Rule {
        method: "hotline.v1.IntakeService/UrgeOrder",
        allow: &[Allow::City],
        note: "the order is open",
    },
    Rule {
        method: "hotline.v1.IntakeService/MarkOrder",
        allow: &[Allow::City],
        note: "any order the centre received; a reason unless clearing",
    },
    Rule {
        method: "hotline.v1.IntakeService/SuggestCategory",
        allow: &[Allow::City],
        note: "the centre's intake desk; reads and stores nothing",
    },
    // ContactRelayService.
    Rule {
        method: "hotline.v1.ContactRelayService/RelayContact",
        allow: &[Allow::ToCity],
        note: "the caller's own assignment on the order, not a copy; epoch current; audited",
    },
    // InboxService.
    Rule {
        method: "hotline.v1.InboxService/WatchAssignments",
        allow: &[Allow::Own],
        note: "the target unit's own inbox; the cursor within retention",
    },
    // RequesterService: the citizen's view, through the centre's channels.
    Rule {
        method: "hotline.v1.RequesterService/GetOwnOrder",
        allow: &[Allow::City],
        note: "the requester token decides which order",
    },
    Rule {
        method: "hotline.v1.RequesterService/SupplementOrder",
        allow: &[Allow::City],
        note: "the requester token decides which order; the order is open",
    },
    Rule {
        method: "hotline.v1.RequesterService/WithdrawOrder",
        allow: &[Allow::City],
        note: "the requester token decides which order; the order is open",
    },
    Rule {
        method: "hotline.v1.RequesterService/UrgeOwnOrder",
        allow: &[Allow::City],
        note: "the requester token decides which order; the order is open",
    },
    Rule {
        method: "hotline.v1.RequesterService/RevokeRequesterToken",
        allow: &[Allow::City],
        note: "the requester token decides which order's credentials end",
    },
    // PrivacyService: requester identity, served by the centre.
    Rule {
        method: "hotline.v1.PrivacyService/UnmaskRequester",
        allow: &[Allow::Operator(Role::Unmask)],
        note: "acting for a unit with an open assignment on the order; epoch current; a reason; audited",
    },
    Rule {
        method: "hotline.v1.PrivacyService/ListAuditEntries",
        allow: &[
            Allow::City,
            Allow::Operator(Role::Supervise),
            Allow::Operator(Role::Unmask),
        ],
        note: "acting for the centre",
    },
    Rule {
        method: "hotline.v1.PrivacyService/ExportUnitOrders",
        allow: &[Allow::ToCity, Allow::Operator(Role::Supervise)],
        note: "the unit exported is the caller's own, or any for the centre; requester identity removed",
    },
    // KnowledgeService, served by the centre.
    Rule {
        method: "hotline.v1.KnowledgeService/UpsertKnowledgeEntry",
        allow: &[Allow::ToCity],
        note: "the entry's owner is the caller, for catalogue items it handles",
    },
    Rule {
        method: "hotline.v1.KnowledgeService/SearchKnowledge",
        allow: &[Allow::ToCity],
        note: "nothing: valid entries only",
    },
    Rule {
        method: "hotline.v1.KnowledgeService/GetKnowledgeStats",
        allow: &[Allow::City, Allow::Operator(Role::Supervise)],
        note: "acting for the centre",
    },
    // ProactiveService: the centre and each district.
    Rule {
        method: "hotline.v1.ProactiveService/AnalyzeProblems",
        allow: &[
            Allow::Subtree,
            Allow::Mesh(&[Tier::District]),
            Allow::Operator(Role::Supervise),
        ],
        note: "the area is within the caller; a district's process asks the centre as the district",
    },
    Rule {
        method: "hotline.v1.ProactiveService/CreateProactiveTask",
        allow: &[Allow::Own, Allow::Mesh(&[Tier::District])],
        note: "the issuer is the centre or a district; the area within it",
    },
    Rule {
        method: "hotline.v1.ProactiveService/GetProactiveTask",
        allow: &[
            Allow::Subtree,
            Allow::Mesh(&[Tier::District]),
            Allow::Operator(Role::Supervise),
        ],
        note: "the caller issued the task or its area is within the caller",
    },
    Rule {
        method: "hotline.v1.ProactiveService/ListProactiveTasks",
        allow: &[
            Allow::Subtree,
            Allow::Mesh(&[Tier::District]),
            Allow::Operator(Role::Supervise),
        ],
        note: "tasks whose area is within the caller",
    },
    Rule {
        method: "hotline.v1.ProactiveService/SweepSimilar",
        allow: &[Allow::Own, Allow::Mesh(&[Tier::District])],
        note: "the caller is the centre or a district and may see the source task; requests within it only; issuing as CreateProactiveTask",
    },
    // ReportingService: every tier.
    Rule {
        method: "hotline.v1.ReportingService/GetScorecard",
        allow: &[
            Allow::Subtree,
            Allow::ToCity,
            Allow::Operator(Role::Supervise),
        ],
        note: "the unit named is within the caller; a tier's process asks the centre as the caller",
    },
    Rule {
        method: "hotline.v1.ReportingService/ListUnitOrders",
        allow: &[
            Allow::Subtree,
            Allow::ToCity,
            Allow::Operator(Role::Supervise),
        ],
        note: "the unit named is within the caller; a tier's process asks the centre as the caller",
    },
    Rule {
        method: "hotline.v1.ReportingService/RollUpScorecards",
        allow: &[
            Allow::Subtree,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "the unit named is within the caller; each child is asked at its own process",
    },
    Rule {
        method: "hotline.v1.ReportingService/GetRankings",
        allow: &[
            Allow::Subtree,
            Allow::ToCity,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "nothing: rankings are published to every unit",
    },
    Rule {
        method: "hotline.v1.ReportingService/GetUnitReport",
        allow: &[Allow::Subtree, Allow::Operator(Role::Supervise)],
        note: "the unit named is the target",
    },
    Rule {
        method: "hotline.v1.ReportingService/ListHandoffs",
        allow: &[
            Allow::City,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "the handoffs the serving process sent about the order",
    },
    Rule {
        method: "hotline.v1.ReportingService/ListDeadlines",
        allow: &[
            Allow::Subtree,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "a unit named is within the caller; all of them for the centre only",
    },
    Rule {
        method: "hotline.v1.ReportingService/GetDigest",
        allow: &[
            Allow::Subtree,
            Allow::ToCity,
            Allow::Operator(Role::Supervise),
            Allow::Dashboard,
        ],
        note: "the area is the city or a district within the caller; a district's process asks the centre as the district",
    },
];

/// A call to check.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `/hotline.v1.DispatchService/AcceptAssignment` or without the slash.
    pub method: &'a str,
    pub principal: &'a Principal,
    /// The unit the principal acts for (`x-hotline-unit`).
    pub acting: &'a str,
    /// The unit addressed (`x-hotline-target`).
    pub target: &'a str,
}

/// Why a call is refused (PERMISSION_DENIED), in words for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// The rule for `method`, if the table has one.
pub fn rule(method: &str) -> Option<&'static Rule> {
    let method = method.strip_prefix('/').unwrap_or(method);
    TABLE.iter().find(|r| r.method == method)
}

/// Whether `principal` may act for `unit` at all: a unit for itself, a
/// service for the units it hosts, an operator within their scope.
pub fn may_act_for(topology: &Topology, principal: &Principal, unit: &str) -> Result<(), Denied> {
    let ok = match principal {
        Principal::Unit(u) => u == unit,
        Principal::Service(s) => topology
            .service_of(unit)
            .is_some_and(|spec| &spec.name == s),
        Principal::Operator(o) => topology
            .operator(o)
            .is_some_and(|op| topology.is_within(unit, &op.scope)),
        // A channel front acts for the centre, whose intake it feeds.
        Principal::Channel(_) => unit == topology.city().id,
    };
    if ok {
        Ok(())
    } else {
        Err(Denied(format!("{principal} may not act for unit {unit}")))
    }
}

/// Checks a call against the table: the principal may act for the acting
/// unit, and one of the method's rules admits it.
pub fn authorize(topology: &Topology, call: &Call<'_>) -> Result<(), Denied> {
    may_act_for(topology, call.principal, call.acting)?;
    let rule = rule(call.method)
        .ok_or_else(|| Denied(format!("{} is not in the authorization table", call.method)))?;
    if rule.allow.iter().any(|a| admits(topology, *a, call)) {
        Ok(())
    } else {
        Err(Denied(format!(
            "{} acting for unit {} may not call {} on unit {}",
            call.principal, call.acting, rule.method, call.target
        )))
    }
}

fn admits(topology: &Topology, allow: Allow, call: &Call<'_>) -> bool {
    let tier = |u: &str| topology.unit(u).map(|u| u.tier);
    let is_unit_or_service = matches!(call.principal, Principal::Unit(_) | Principal::Service(_));
    match allow {
        Allow::Mesh(tiers) => {
            matches!(call.principal, Principal::Service(_))
                && tier(call.acting).is_some_and(|t| tiers.contains(&t))
        }
        Allow::Own => is_unit_or_service && call.acting == call.target,
        Allow::Subtree => is_unit_or_service && topology.is_within(call.target, call.acting),
        Allow::City => is_unit_or_service && call.acting == topology.city().id,
        Allow::ToCity => is_unit_or_service && call.target == topology.city().id,
        Allow::Any => is_unit_or_service,
        Allow::Operator(role) => match call.principal {
            Principal::Operator(name) => topology.operator(name).is_some_and(|op| {
                op.roles.contains(&role)
                    && (topology.is_within(call.target, &op.scope)
                        || call.target == topology.city().id)
            }),
            _ => false,
        },
        Allow::Channel => {
            matches!(call.principal, Principal::Channel(_)) && call.target == topology.city().id
        }
        Allow::Dashboard => *call.principal == web_front(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every proto file of hotline.v1 that declares services.
    const PROTOS: &[(&str, &str)] = &[
        (
            "control.proto",
            include_str!("../../../proto/hotline/v1/control.proto"),
        ),
        (
            "dispatch.proto",
            include_str!("../../../proto/hotline/v1/dispatch.proto"),
        ),
        (
            "escalation.proto",
            include_str!("../../../proto/hotline/v1/escalation.proto"),
        ),
        (
            "gateway.proto",
            include_str!("../../../proto/hotline/v1/gateway.proto"),
        ),
        (
            "intake.proto",
            include_str!("../../../proto/hotline/v1/intake.proto"),
        ),
        (
            "integration.proto",
            include_str!("../../../proto/hotline/v1/integration.proto"),
        ),
        (
            "proactive.proto",
            include_str!("../../../proto/hotline/v1/proactive.proto"),
        ),
        (
            "reporting.proto",
            include_str!("../../../proto/hotline/v1/reporting.proto"),
        ),
    ];

    /// The gateway serves and checks its own service.
    const GATEWAY: &str = "GatewayService";

    /// `hotline.v1.<Service>/<Rpc>` of every rpc, in file order.
    fn rpcs(src: &str) -> Vec<(String, String)> {
        let mut service = None;
        let mut out = Vec::new();
        for line in src.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("service ") {
                service = rest.split_whitespace().next().map(str::to_owned);
            } else if let Some(rest) = line.strip_prefix("rpc ") {
                let name = rest.split('(').next().unwrap_or_default().trim();
                let service = service.clone().expect("an rpc inside a service");
                out.push((service, name.to_owned()));
            }
        }
        out
    }

    fn proto_methods() -> Vec<String> {
        PROTOS
            .iter()
            .flat_map(|(_, src)| rpcs(src))
            .filter(|(service, _)| service != GATEWAY)
            .map(|(service, rpc)| format!("hotline.v1.{service}/{rpc}"))
            .collect()
    }

    #[test]
    fn every_proto_file_with_services_is_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto/hotline/v1");
        for entry in std::fs::read_dir(dir).expect("the proto directory") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".proto") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            if rpcs(&src).is_empty() {
                continue;
            }
            assert!(
                PROTOS.iter().any(|(f, _)| *f == name),
                "{name} declares rpcs: add it to PROTOS"
            );
        }
    }

    #[test]
    fn every_rpc_has_exactly_one_rule() {
        let methods = proto_methods();
        assert!(methods.len() > 50, "parsed {} rpcs", methods.len());
        for m in &methods {
            let n = TABLE.iter().filter(|r| r.method == m).count();
            assert_eq!(n, 1, "{m} has {n} rules");
        }
        for r in TABLE {
            assert!(
                methods.iter().any(|m| m == r.method),
                "{} is no rpc of hotline.v1 (or is the gateway's)",
                r.method
            );
            assert!(!r.method.starts_with('/'), "{}: no leading slash", r.method);
            assert!(
                !r.note.is_empty(),
                "{}: say what the service checks",
                r.method
            );
        }
        let table: Vec<&str> = TABLE.iter().map(|r| r.method).collect();
        assert_eq!(table, methods, "the table follows the protos' order");
    }

    #[test]
    fn the_gateway_service_is_not_in_the_table() {
        let gateway = rpcs(include_str!("../../../proto/hotline/v1/gateway.proto"));
        assert!(!gateway.is_empty());
        for (service, rpc) in gateway {
            assert!(rule(&format!("hotline.v1.{service}/{rpc}")).is_none());
        }
    }

    const SRC: &str = r#"
name = "t"
[[unit]]
id = "city"
tier = "city"
name = "C"
[[unit]]
id = "d1"
tier = "district"
parent = "city"
name = "D"
[[unit]]
id = "t1"
tier = "township"
parent = "d1"
name = "T1"
addresses = ["1 Main St"]
[[unit]]
id = "t2"
tier = "township"
parent = "d1"
name = "T2"
addresses = ["2 Main St"]
[[unit]]
id = "water"
tier = "department"
parent = "city"
level = "city"
name = "W"
[[category]]
code = "k"
name = "K"
[[subcategory]]
code = "k.s"
category = "k"
name = "S"
[[catalogue]]
code = "x"
subcategory = "k.s"
name = "X"
urgency = "general"
territory = true
[[operator]]
name = "ops"
roles = ["control", "unmask", "supervise"]
scope = "city"
[[operator]]
name = "reader"
roles = ["supervise"]
scope = "city"
[[operator]]
name = "t1-desk"
roles = ["unmask", "supervise"]
scope = "t1"
"#;

    fn topology() -> Topology {
        Topology::parse("t.toml", SRC).expect("a valid topology")
    }

    fn check(
        t: &Topology,
        rpc: &str,
        principal: Principal,
        acting: &str,
        target: &str,
    ) -> Result<(), Denied> {
        let method = format!("/hotline.v1.{rpc}");
        authorize(
            t,
            &Call {
                method: &method,
                principal: &principal,
                acting,
                target,
            },
        )
    }

    fn unit(id: &str) -> Principal {
        Principal::Unit(id.into())
    }

    fn service(name: &str) -> Principal {
        Principal::Service(name.into())
    }

    fn operator(name: &str) -> Principal {
        Principal::Operator(name.into())
    }

    const ACCEPT: &str = "DispatchService/AcceptAssignment";
    const DELIVER: &str = "DispatchService/DeliverAssignment";
    const ADVANCE: &str = "ControlService/AdvanceTo";
    const UNMASK: &str = "PrivacyService/UnmaskRequester";

    #[test]
    fn a_township_accepts_its_own_assignment_only() {
        let t = topology();
        check(&t, ACCEPT, unit("t1"), "t1", "t1").unwrap();
        // Its process, acting for it, may too.
        check(&t, ACCEPT, service("township"), "t1", "t1").unwrap();
        // Not another township's, neither addressed nor acted for.
        assert!(check(&t, ACCEPT, unit("t1"), "t1", "t2").is_err());
        assert!(check(&t, ACCEPT, unit("t1"), "t2", "t2").is_err());
        // Nor its district's, on the township's behalf.
        assert!(check(&t, ACCEPT, unit("d1"), "d1", "t1").is_err());
    }

    #[test]
    fn handoffs_come_only_from_the_mesh() {
        let t = topology();
        // The centre's process delivers assignments.
        check(&t, DELIVER, service("city"), "city", "t1").unwrap();
        check(&t, DELIVER, service("city"), "city", "water").unwrap();
        // The centre's desk, a unit, may not forge one; nor a township's
        // process, nor the city's process acting for a unit it does not host.
        assert!(check(&t, DELIVER, unit("city"), "city", "t1").is_err());
        assert!(check(&t, DELIVER, service("township"), "t1", "t2").is_err());
        assert!(check(&t, DELIVER, service("city"), "t1", "t2").is_err());
        // A department's own system may not report an event for the
        // centre's record; its process may.
        let event = "DispatchService/RecordAssignmentEvent";
        assert!(check(&t, event, unit("water"), "water", "city").is_err());
        check(&t, event, service("department"), "water", "city").unwrap();
        // A whistle is registered by a township's process, not by the
        // district's own.
        let register = "EscalationService/RegisterWhistle";
        check(&t, register, service("township"), "t1", "d1").unwrap();
        assert!(check(&t, register, unit("t1"), "t1", "d1").is_err());
        assert!(check(&t, register, service("district"), "d1", "d1").is_err());
    }

    #[test]
    fn only_a_control_operator_moves_the_clock() {
        let t = topology();
        check(&t, ADVANCE, operator("ops"), "city", "t1").unwrap();
        assert!(check(&t, ADVANCE, operator("reader"), "city", "t1").is_err());
        assert!(check(&t, ADVANCE, unit("city"), "city", "city").is_err());
        assert!(check(&t, ADVANCE, service("city"), "city", "city").is_err());
        // Reading it is harmless.
        check(
            &t,
            "ControlService/GetClock",
            operator("reader"),
            "city",
            "t1",
        )
        .unwrap();
        check(&t, "ControlService/GetClock", unit("t1"), "t1", "t1").unwrap();
    }

    #[test]
    fn unmasking_needs_the_role_within_scope() {
        let t = topology();
        // A city-wide operator with the role, for a handling unit.
        check(&t, UNMASK, operator("ops"), "t1", "city").unwrap();
        // The handling unit itself may not; nor an operator without it.
        assert!(check(&t, UNMASK, unit("t1"), "t1", "city").is_err());
        assert!(check(&t, UNMASK, operator("reader"), "t1", "city").is_err());
        // An operator holding it, outside their scope.
        assert!(check(&t, UNMASK, operator("t1-desk"), "t2", "city").is_err());
        assert!(check(&t, UNMASK, operator("t1-desk"), "d1", "city").is_err());
        // An operator the topology does not name.
        assert!(check(&t, UNMASK, operator("nobody"), "t1", "city").is_err());
    }

    #[test]
    fn units_read_within_their_subtree() {
        let t = topology();
        let get = "DispatchService/GetAssignment";
        check(&t, get, unit("t1"), "t1", "t1").unwrap();
        check(&t, get, unit("d1"), "d1", "t1").unwrap();
        check(&t, get, unit("city"), "city", "t1").unwrap();
        assert!(check(&t, get, unit("t2"), "t2", "t1").is_err());
        assert!(check(&t, get, unit("t1"), "t1", "d1").is_err());
        check(&t, get, operator("t1-desk"), "t1", "t1").unwrap();
        assert!(check(&t, get, operator("t1-desk"), "t1", "t2").is_err());
    }

    #[test]
    fn the_centre_alone_decides_and_any_unit_reaches_it() {
        let t = topology();
        let callback = "IntakeService/RecordCallback";
        check(&t, callback, unit("city"), "city", "city").unwrap();
        assert!(check(&t, callback, unit("d1"), "d1", "city").is_err());
        let relay = "ContactRelayService/RelayContact";
        check(&t, relay, unit("t1"), "t1", "city").unwrap();
        check(&t, relay, service("township"), "t1", "city").unwrap();
        assert!(check(&t, relay, unit("t1"), "t1", "t2").is_err());
    }

    #[test]
    fn a_channel_front_submits_and_reads_at_the_centre_only() {
        let t = topology();
        let web = web_front();
        assert_eq!(web.spiffe_id(), "spiffe://hotline/channel/web");
        assert_eq!(Principal::from_path(&web.path()), Some(web.clone()));
        for rpc in [
            "IntakeService/SubmitRequest",
            "IntakeService/GetOrder",
            "IntakeService/ListOrders",
        ] {
            check(&t, rpc, web.clone(), "city", "city").unwrap();
            // Only for the centre and at the centre.
            assert!(check(&t, rpc, web.clone(), "t1", "city").is_err());
            assert!(check(&t, rpc, web.clone(), "city", "t1").is_err());
        }
        // Nothing else: not the centre's other work, not a handler's.
        for rpc in [
            "IntakeService/RecordCallback",
            "IntakeService/ReclassifyOrder",
            "IntakeService/MarkOrder",
            "RequesterService/GetOwnOrder",
            "PrivacyService/UnmaskRequester",
            "PrivacyService/ExportUnitOrders",
            "PrivacyService/ListAuditEntries",
            "ReportingService/GetScorecard",
            "ReportingService/ListUnitOrders",
            "ContactRelayService/RelayContact",
            "KnowledgeService/SearchKnowledge",
            "ControlService/GetClock",
        ] {
            assert!(
                check(&t, rpc, web.clone(), "city", "city").is_err(),
                "{rpc}"
            );
        }
        assert!(check(&t, ACCEPT, web.clone(), "t1", "t1").is_err());
        assert!(check(&t, DELIVER, web.clone(), "city", "t1").is_err());
        // A unit's system is no channel front: Allow::Channel admits none.
        assert!(check(&t, "IntakeService/ListOrders", unit("t1"), "t1", "city").is_err());
    }

    #[test]
    fn the_web_front_reads_for_its_dashboard_and_writes_nothing() {
        let t = topology();
        let web = web_front();
        let reads = [
            "ReportingService/GetRankings",
            "ReportingService/RollUpScorecards",
            "ReportingService/ListHandoffs",
            "ReportingService/ListDeadlines",
            "ReportingService/GetDigest",
            "EscalationService/GetWhistle",
        ];
        for rpc in reads {
            // For the centre, at the centre or at the unit whose process
            // holds what it reads.
            check(&t, rpc, web.clone(), "city", "city").unwrap();
            check(&t, rpc, web.clone(), "city", "t1").unwrap();
            // Never for another unit.
            assert!(check(&t, rpc, web.clone(), "d1", "d1").is_err(), "{rpc}");
        }
        // Another channel front is no dashboard; a unit is not one either.
        let app = Principal::Channel("app".into());
        for rpc in reads {
            assert!(check(&t, rpc, app.clone(), "city", "t1").is_err(), "{rpc}");
        }
        assert!(check(&t, "ReportingService/ListDeadlines", unit("t1"), "t1", "d1").is_err());
        // The dashboard reads; every write stays out of reach.
        for rpc in [
            "EscalationService/Whistle",
            "EscalationService/CheckIn",
            "EscalationService/RuleObjection",
            "ReportingService/ListUnitOrders",
            "IntakeService/RecordCallback",
            "DispatchService/AcceptAssignment",
        ] {
            assert!(check(&t, rpc, web.clone(), "city", "t1").is_err(), "{rpc}");
        }
    }

    #[test]
    fn a_channel_front_submits_for_the_online_channels_only() {
        let web = web_front();
        for c in FRONTED_CHANNELS {
            may_submit_on(&web, *c).unwrap();
        }
        for c in [Channel::Phone, Channel::MessageBoard] {
            let e = may_submit_on(&web, c).unwrap_err();
            assert!(e.0.contains(c.as_str()), "{e}");
        }
        // The centre's desk takes every channel.
        may_submit_on(&unit("city"), Channel::Phone).unwrap();
        may_submit_on(&service("city"), Channel::MessageBoard).unwrap();
    }

    #[test]
    fn an_unknown_method_is_denied() {
        let t = topology();
        let e = check(&t, "DispatchService/Nothing", unit("t1"), "t1", "t1").unwrap_err();
        assert!(e.0.contains("not in the authorization table"), "{e}");
        assert!(rule("/hotline.v1.DispatchService/AcceptAssignment").is_some());
        assert!(rule("hotline.v1.DispatchService/AcceptAssignment").is_some());
    }
}
