//! Domain enums, with the stable names used in storage and reports.

/// Declares an enum with a stable lowercase name per variant, used in the
/// store and in configuration files.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| $crate::model::UnknownName {
                    what: stringify!($name),
                    value: s.to_string(),
                })
            }
        }
    };
}

pub(crate) use named_enum;

/// A name that is none of an enum's stable names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

named_enum!(
    /// The level a line department works at: the city's own, or a
    /// district's (区级部门).
    Level {
        City => "city",
        District => "district",
    }
);

named_enum!(
    /// Administrative tier of a unit.
    Tier {
        City => "city",
        District => "district",
        Township => "township",
        Community => "community",
        Department => "department",
        Central => "central",
    }
);

named_enum!(
    /// How a request reached the centre.
    Channel {
        Phone => "phone",
        Web => "web",
        App => "app",
        MessageBoard => "message_board",
        MiniProgram => "mini_program",
    }
);

named_enum!(
    /// What the requester asked for.
    RequestKind {
        Consultation => "consultation",
        Help => "help",
        Complaint => "complaint",
        Report => "report",
        Suggestion => "suggestion",
        /// Work the city or a district sends before complaints arrive
        /// (未诉先办): no requester, no callback, outside the scorecards.
        ProactiveTask => "proactive_task",
    }
);

named_enum!(
    /// The centre's mark on a request it finds unreasonable (无理诉求,
    /// Art. 9) or malicious (恶意诉求, Art. 37).
    RequestMark {
        Unreasonable => "unreasonable",
        Malicious => "malicious",
    }
);

named_enum!(
    /// The requester's mood as intake heard it; feeds the intensity degree.
    Mood {
        Calm => "calm",
        Anxious => "anxious",
        Angry => "angry",
    }
);

named_enum!(
    /// Time-limit class (Art. 13).
    Urgency {
        Emergency => "emergency",
        Utility => "utility",
        General => "general",
        Complex => "complex",
    }
);

named_enum!(
    /// State of a work order, owned by the city.
    OrderState {
        Received => "received",
        Classified => "classified",
        Answered => "answered",
        Disposed => "disposed",
        Dispatched => "dispatched",
        InProgress => "in_progress",
        Replied => "replied",
        CalledBack => "called_back",
        Closed => "closed",
        Reopened => "reopened",
        Withdrawn => "withdrawn",
    }
);

named_enum!(
    /// Role of a unit on an order.
    Role {
        Lead => "lead",
        CoHandler => "co_handler",
        Assist => "assist",
        Copy => "copy",
    }
);

named_enum!(
    /// State of one assignment.
    AssignmentState {
        Dispatched => "dispatched",
        Accepted => "accepted",
        Contacted => "contacted",
        InProgress => "in_progress",
        Replied => "replied",
        Objected => "objected",
        Revoked => "revoked",
    }
);

named_enum!(
    /// A handler's outcome.
    ReplyOutcome {
        Resolved => "resolved",
        PartlyResolved => "partly_resolved",
        Explained => "explained",
    }
);

named_enum!(
    /// The requester's verdict at callback.
    Satisfaction {
        Satisfied => "satisfied",
        BasicallySatisfied => "basically_satisfied",
        Dissatisfied => "dissatisfied",
    }
);

named_enum!(
    /// Kinds of whistle (吹哨), each with its check-in deadline (Art. 16).
    WhistleKind {
        Daily => "daily",
        Tough => "tough",
        Emergency => "emergency",
    }
);

named_enum!(
    /// How intake disposes of a request it does not dispatch (Art. 11).
    Disposition {
        /// Transferred to 110, 119, 120 or 122.
        EmergencyTransfer => "emergency_transfer",
        /// Told the legal channel to use (litigation, arbitration, ...).
        LegalChannel => "legal_channel",
        /// Repeats an open order without new facts; linked to it.
        Duplicate => "duplicate",
        /// Touches state or business secrets or privacy; explained.
        SecretsPrivacy => "secrets_privacy",
        /// Outside any unit's duty; guided to the market or society.
        OutsideDuty => "outside_duty",
        /// Against the law or public order; dissuaded.
        Unlawful => "unlawful",
    }
);

named_enum!(
    /// The emergency lines intake transfers to.
    EmergencyLine {
        Police => "110",
        Fire => "119",
        Ambulance => "120",
        TrafficPolice => "122",
    }
);

named_enum!(
    /// Legal channels a requester is told to use (Art. 11 (2)).
    LegalChannel {
        Litigation => "litigation",
        Arbitration => "arbitration",
        DisciplineInspection => "discipline_inspection",
        AdministrativeReview => "administrative_review",
        InformationDisclosure => "information_disclosure",
        Petition => "petition",
    }
);

named_enum!(
    /// What an arbitration authority rules on an objection.
    RulingKind {
        /// The objector keeps the order and must handle it.
        Keep => "keep",
        /// The order goes to another unit; the objector's assignment is revoked.
        Redirect => "redirect",
        /// The objector leads; another unit joins as co-handler.
        Joint => "joint",
    }
);

named_enum!(
    /// Where a department summoned by a whistle stands (吹哨报到).
    SummonsState {
        Summoned => "summoned",
        CheckedIn => "checked_in",
        /// The check-in deadline passed with no check-in.
        Missed => "missed",
        /// Checked in after a miss.
        Late => "late",
    }
);

named_enum!(
    /// Where an objection stands.
    ObjectionState {
        Pending => "pending",
        Ruled => "ruled",
        /// Overtaken: the assignment moved on (reclassified, reissued).
        Superseded => "superseded",
    }
);

impl Tier {
    /// The roles a unit of this tier takes on. Communities lead only what
    /// is handed down to them; central units only lead what is forwarded.
    pub fn takes(self, role: Role) -> bool {
        use Role::*;
        match self {
            Tier::City => false,
            Tier::District => matches!(role, Lead | Copy),
            Tier::Township => matches!(role, Lead | CoHandler | Assist),
            Tier::Community => matches!(role, Lead | Assist),
            Tier::Department => matches!(role, Lead | CoHandler),
            Tier::Central => matches!(role, Lead),
        }
    }

    /// Only a territorial lead (a township or street) whistles (Art. 16).
    pub fn may_whistle(self) -> bool {
        self == Tier::Township
    }

    /// The district registers its townships' whistles and keeps the
    /// check-in clocks (Art. 16).
    pub fn registers_whistles(self) -> bool {
        self == Tier::District
    }
}

named_enum!(
    /// A problem's risk level from its four degrees (四度).
    RiskLevel {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl RequestKind {
    /// A citizen's request, as opposed to a proactive task.
    pub fn is_citizen_request(self) -> bool {
        self != RequestKind::ProactiveTask
    }
}

impl OrderState {
    /// No further transition but a reopen leaves these states.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Answered
                | OrderState::Disposed
                | OrderState::Closed
                | OrderState::Withdrawn
        )
    }

    /// Dispatched and still waiting for its handlers' reply: called back
    /// without one once its time limit ends (Art. 23).
    pub fn awaits_reply(self) -> bool {
        matches!(
            self,
            OrderState::Dispatched | OrderState::InProgress | OrderState::Reopened
        )
    }
}

impl AssignmentState {
    /// Work the handler still owes.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AssignmentState::Dispatched
                | AssignmentState::Accepted
                | AssignmentState::Contacted
                | AssignmentState::InProgress
        )
    }
}

impl Role {
    /// Lead-type assignments carry the order: dual dispatch is two leads.
    pub fn is_lead(self) -> bool {
        matches!(self, Role::Lead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(*s));
        }
        for s in AssignmentState::ALL {
            assert_eq!(AssignmentState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Tier::parse("township"), Some(Tier::Township));
        assert_eq!(Tier::parse("Township"), None);
    }
}

#[cfg(test)]
mod tier_tests {
    use super::{Role, Tier};

    fn taken(t: Tier) -> Vec<Role> {
        Role::ALL.iter().copied().filter(|r| t.takes(*r)).collect()
    }

    /// The table each handling tier runs on (DESIGN.md §2): the roles it
    /// takes, who whistles and who registers whistles.
    #[test]
    fn each_tier_takes_its_roles() {
        use Role::*;
        assert_eq!(taken(Tier::City), vec![]);
        assert_eq!(taken(Tier::District), vec![Lead, Copy]);
        assert_eq!(taken(Tier::Township), vec![Lead, CoHandler, Assist]);
        assert_eq!(taken(Tier::Community), vec![Lead, Assist]);
        assert_eq!(taken(Tier::Department), vec![Lead, CoHandler]);
        assert_eq!(taken(Tier::Central), vec![Lead]);
    }

    #[test]
    fn only_townships_whistle_and_only_districts_register() {
        for t in Tier::ALL {
            assert_eq!(t.may_whistle(), *t == Tier::Township, "{t}");
            assert_eq!(t.registers_whistles(), *t == Tier::District, "{t}");
        }
    }
}
