//! The kinds of durable records (timers, notices, inbox events, handoffs)
//! as enums. Each name is the string stored in the databases and shown in
//! reports: the names must not change. Not glob-exported from the crate
//! root, because the wire (hotline-proto) has enums of the same names.

use crate::model::named_enum;

named_enum!(
    /// What a durable timer does when it falls due.
    TimerKind {
        /// The handler clock nears its limit.
        Warning => "warning",
        /// The handler clock passed its limit: supervision (督办).
        Breach => "breach",
        /// Overdue: the parent coordinates.
        Escalation => "escalation",
        /// The accept window closes.
        Accept => "accept",
        /// The contact window closes.
        Contact => "contact",
        /// The centre's callback falls due.
        Callback => "callback",
        /// An objection's ruling deadline.
        Ruling => "ruling",
        /// A summoned department's check-in deadline.
        CheckIn => "check_in",
        /// A co-handler's part falls due (Art. 14 ¶2).
        CoHandler => "co_handler",
    }
);

named_enum!(
    /// What a notice tells a unit; stored as the wire name without its
    /// `NOTICE_KIND_` prefix.
    NoticeKind {
        Warning => "WARNING",
        Supervision => "SUPERVISION",
        Escalation => "ESCALATION",
        Urge => "URGE",
        WhistleSummons => "WHISTLE_SUMMONS",
        CheckInMissed => "CHECK_IN_MISSED",
        CoHandlerReport => "CO_HANDLER_REPORT",
        ExtensionRequest => "EXTENSION_REQUEST",
        ExtensionDecision => "EXTENSION_DECISION",
        AcceptOverdue => "ACCEPT_OVERDUE",
        ContactOverdue => "CONTACT_OVERDUE",
        CallbackResult => "CALLBACK_RESULT",
        Supplemented => "SUPPLEMENTED",
        Withdrawn => "WITHDRAWN",
    }
);

named_enum!(
    /// An event of a unit's inbox; stored as the wire name without its
    /// `INBOX_EVENT_KIND_` prefix.
    InboxEventKind {
        Dispatched => "DISPATCHED",
        Revoked => "REVOKED",
        Extended => "EXTENDED",
        Urged => "URGED",
        Whistled => "WHISTLED",
        DeadlineWarning => "DEADLINE_WARNING",
        CallbackResult => "CALLBACK_RESULT",
        Supplemented => "SUPPLEMENTED",
        Withdrawn => "WITHDRAWN",
        Notice => "NOTICE",
    }
);

impl InboxEventKind {
    /// The inbox event a notice of `kind` makes.
    pub fn of_notice(kind: NoticeKind) -> InboxEventKind {
        match kind {
            NoticeKind::Urge => InboxEventKind::Urged,
            NoticeKind::WhistleSummons => InboxEventKind::Whistled,
            NoticeKind::Warning => InboxEventKind::DeadlineWarning,
            NoticeKind::CallbackResult => InboxEventKind::CallbackResult,
            NoticeKind::Supplemented => InboxEventKind::Supplemented,
            NoticeKind::Withdrawn => InboxEventKind::Withdrawn,
            NoticeKind::Supervision
            | NoticeKind::Escalation
            | NoticeKind::CheckInMissed
            | NoticeKind::CoHandlerReport
            | NoticeKind::ExtensionRequest
            | NoticeKind::ExtensionDecision
            | NoticeKind::AcceptOverdue
            | NoticeKind::ContactOverdue => InboxEventKind::Notice,
        }
    }
}

named_enum!(
    /// What a handoff (an outbox message) is, for spans and metrics
    /// (`hotline.handoff`).
    HandoffKind {
        Intake => "intake",
        Dispatch => "dispatch",
        Copy => "copy",
        CoHandler => "co_handler",
        Assist => "assist",
        Accept => "accept",
        Contact => "contact",
        Progress => "progress",
        Reply => "reply",
        AssignmentEvent => "assignment_event",
        Extension => "extension",
        Whistle => "whistle",
        CheckIn => "check_in",
        Escalation => "escalation",
        Notice => "notice",
        Callback => "callback",
        Urge => "urge",
        Withdraw => "withdraw",
        Objection => "objection",
        Ruling => "ruling",
        // Notices, by their kind.
        Warning => "warning",
        Supervision => "supervision",
        WhistleSummons => "whistle_summons",
        CheckInMissed => "check_in_missed",
        CoHandlerReport => "co_handler_report",
        ExtensionRequest => "extension_request",
        ExtensionDecision => "extension_decision",
        AcceptOverdue => "accept_overdue",
        ContactOverdue => "contact_overdue",
        CallbackResult => "callback_result",
        Supplemented => "supplemented",
        Withdrawn => "withdrawn",
        /// A method no kind names.
        Handoff => "handoff",
    }
);

impl HandoffKind {
    /// The handoff a notice of `kind` is: the notice kind in lower case.
    pub fn of_notice(kind: NoticeKind) -> HandoffKind {
        match kind {
            NoticeKind::Warning => HandoffKind::Warning,
            NoticeKind::Supervision => HandoffKind::Supervision,
            NoticeKind::Escalation => HandoffKind::Escalation,
            NoticeKind::Urge => HandoffKind::Urge,
            NoticeKind::WhistleSummons => HandoffKind::WhistleSummons,
            NoticeKind::CheckInMissed => HandoffKind::CheckInMissed,
            NoticeKind::CoHandlerReport => HandoffKind::CoHandlerReport,
            NoticeKind::ExtensionRequest => HandoffKind::ExtensionRequest,
            NoticeKind::ExtensionDecision => HandoffKind::ExtensionDecision,
            NoticeKind::AcceptOverdue => HandoffKind::AcceptOverdue,
            NoticeKind::ContactOverdue => HandoffKind::ContactOverdue,
            NoticeKind::CallbackResult => HandoffKind::CallbackResult,
            NoticeKind::Supplemented => HandoffKind::Supplemented,
            NoticeKind::Withdrawn => HandoffKind::Withdrawn,
        }
    }

    /// The handoff delivering an assignment of `role` (an extension's
    /// redelivery is an `extension`).
    pub fn of_delivery(role: crate::Role, extended: bool) -> HandoffKind {
        match role {
            _ if extended => HandoffKind::Extension,
            crate::Role::Lead => HandoffKind::Dispatch,
            crate::Role::Copy => HandoffKind::Copy,
            crate::Role::CoHandler => HandoffKind::CoHandler,
            crate::Role::Assist => HandoffKind::Assist,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for k in TimerKind::ALL {
            assert_eq!(k.as_str().parse::<TimerKind>(), Ok(*k));
        }
        for k in NoticeKind::ALL {
            assert_eq!(k.as_str().parse::<NoticeKind>(), Ok(*k));
            // A notice's handoff is its kind in lower case.
            assert_eq!(
                HandoffKind::of_notice(*k).as_str(),
                k.as_str().to_ascii_lowercase()
            );
        }
        for k in InboxEventKind::ALL {
            assert_eq!(k.as_str().parse::<InboxEventKind>(), Ok(*k));
        }
        for k in HandoffKind::ALL {
            assert_eq!(k.as_str().parse::<HandoffKind>(), Ok(*k));
        }
        for r in crate::Role::ALL {
            let k = HandoffKind::of_delivery(*r, false);
            match r {
                crate::Role::Lead => assert_eq!(k.as_str(), "dispatch"),
                r => assert_eq!(k.as_str(), r.as_str()),
            }
        }
        let e = "later".parse::<TimerKind>().unwrap_err();
        assert_eq!(e.to_string(), "\"later\" is not a TimerKind");
    }
}
