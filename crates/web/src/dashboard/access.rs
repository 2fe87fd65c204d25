//! Who sees the dashboard, and what of it: a person whose client
//! certificate proves an operator the topology names, over the mesh's
//! HTTPS; nobody else (no certificate, a unit's, a service's, a channel
//! front's: 403; and over plaintext, where nothing is proven, 403 for
//! all).
//!
//! The web front reads through the gateway with its own certificate, so
//! it asks the authorization table, for each thing it would show, what
//! the operator could read themselves: [`Viewer::may`] is the table's
//! word on the call made by the operator acting for their scope, and
//! [`Viewer::sees`] what each service checks of a unit a read names (it is
//! within the caller). No rule here is the dashboard's own.

use hotline_core::Topology;
use hotline_core::authz::{self, Call, Operator, Principal, Role};
use http::StatusCode;

use super::page::{bi, esc, html, layout};
use crate::Caller;

/// The operator looking at the dashboard.
pub struct Viewer<'a> {
    topology: &'a Topology,
    principal: Principal,
    operator: &'a Operator,
}

/// Why the dashboard is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A plaintext mesh proves nobody.
    Plaintext,
    /// No client certificate.
    Anonymous,
    /// A certificate, but not an operator's.
    NotAnOperator(Principal),
    /// An operator the topology does not name.
    Unknown(String),
    /// An operator without the supervise role: nothing here to read.
    NoRole(String),
}

impl<'a> Viewer<'a> {
    /// The caller, if an operator with the supervise role.
    pub fn of(topology: &'a Topology, mtls: bool, caller: &Caller) -> Result<Self, Refused> {
        if !mtls {
            return Err(Refused::Plaintext);
        }
        let principal = caller.0.clone().ok_or(Refused::Anonymous)?;
        let Principal::Operator(name) = &principal else {
            return Err(Refused::NotAnOperator(principal));
        };
        let operator = topology
            .operator(name)
            .ok_or_else(|| Refused::Unknown(name.clone()))?;
        if !operator.roles.contains(&Role::Supervise) {
            return Err(Refused::NoRole(name.clone()));
        }
        Ok(Viewer {
            topology,
            principal,
            operator,
        })
    }

    pub fn name(&self) -> &str {
        &self.operator.name
    }

    /// The unit the operator acts for: the top of what they may see.
    pub fn scope(&self) -> &str {
        &self.operator.scope
    }

    /// The scope as people read it: `Demo City (city)`.
    pub fn scope_label(&self) -> String {
        match self.topology.unit(self.scope()) {
            Some(u) => format!("{} ({})", u.name, u.id),
            None => self.scope().to_string(),
        }
    }

    /// Whether the table admits `method` (`ReportingService/GetRankings`)
    /// called by the operator, acting for their scope, on `target`.
    pub fn may(&self, method: &str, target: &str) -> bool {
        let method = format!("hotline.v1.{method}");
        authz::authorize(
            self.topology,
            &Call {
                method: &method,
                principal: &self.principal,
                acting: self.scope(),
                target,
            },
        )
        .is_ok()
    }

    /// Whether `unit` is within the operator's scope.
    pub fn sees(&self, unit: &str) -> bool {
        self.topology.is_within(unit, self.scope())
    }

    /// Whether the operator could read `unit`'s part by `method`: the
    /// table admits the call on the unit, and the unit is within scope.
    pub fn reads(&self, method: &str, unit: &str) -> bool {
        self.sees(unit) && self.may(method, unit)
    }
}

/// The refusal page: 403, saying why and how to get in.
pub fn refused(why: &Refused) -> axum::response::Response {
    let reason = match why {
        Refused::Plaintext => bi(
            "网格以明文运行，无法证明身份",
            "The mesh runs in plaintext (--insecure-plaintext): nobody is proven, so nobody sees the dashboard.",
        ),
        Refused::Anonymous => bi(
            "未出示客户端证书",
            "No client certificate: the dashboard is for operators, who present their mesh certificate.",
        ),
        Refused::NotAnOperator(p) => format!(
            "{} {}",
            bi(
                "证书不属于操作员",
                "The certificate presented is not an operator's:"
            ),
            esc(&p.to_string())
        ),
        Refused::Unknown(name) => format!(
            "{} {}",
            bi("拓扑中没有该操作员", "The topology names no such operator:"),
            esc(name)
        ),
        Refused::NoRole(name) => format!(
            "{} {}",
            bi(
                "该操作员没有 supervise 角色",
                "This operator does not hold the supervise role:"
            ),
            esc(name)
        ),
    };
    let body = format!(
        "<section id=\"refused\"><h2>403 · {}</h2><p>{reason}</p><p>{}</p></section>",
        bi("无权访问", "Forbidden"),
        bi(
            "获取操作员证书",
            "An operator's certificate: `hotline certs issue --operator NAME`; docs/dashboard.md says how to load it into a browser."
        )
    );
    html(
        StatusCode::FORBIDDEN,
        layout("一张图", "Dashboard", None, &body),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SRC: &str = include_str!("../../../../topology/demo-city.toml");

    fn topology() -> Topology {
        let extra = "\n[[operator]]\nname = \"ops\"\nroles = [\"control\", \"unmask\", \"supervise\"]\nscope = \"city\"\n\
                     [[operator]]\nname = \"hill\"\nroles = [\"supervise\"]\nscope = \"d-hillview\"\n\
                     [[operator]]\nname = \"clock\"\nroles = [\"control\"]\nscope = \"city\"\n";
        Topology::parse("t.toml", &format!("{SRC}{extra}")).unwrap()
    }

    fn caller(p: Principal) -> Caller {
        Caller(Some(p))
    }

    #[test]
    fn only_a_proven_operator_with_the_supervise_role_gets_in() {
        let t = topology();
        let ops = Principal::Operator("ops".into());
        assert_eq!(
            Viewer::of(&t, true, &caller(ops.clone())).unwrap().name(),
            "ops"
        );
        assert_eq!(
            Viewer::of(&t, false, &caller(ops)).err(),
            Some(Refused::Plaintext)
        );
        assert_eq!(
            Viewer::of(&t, true, &Caller(None)).err(),
            Some(Refused::Anonymous)
        );
        let unit = Principal::Unit("t-harbour".into());
        assert_eq!(
            Viewer::of(&t, true, &caller(unit.clone())).err(),
            Some(Refused::NotAnOperator(unit))
        );
        let web = authz::web_front();
        assert!(Viewer::of(&t, true, &caller(web)).is_err());
        assert_eq!(
            Viewer::of(&t, true, &caller(Principal::Operator("nobody".into()))).err(),
            Some(Refused::Unknown("nobody".into()))
        );
        assert_eq!(
            Viewer::of(&t, true, &caller(Principal::Operator("clock".into()))).err(),
            Some(Refused::NoRole("clock".into()))
        );
    }

    #[test]
    fn a_district_operator_reads_its_district_and_the_published_rankings() {
        let t = topology();
        let hill = Viewer::of(&t, true, &caller(Principal::Operator("hill".into()))).unwrap();
        assert!(hill.reads("ReportingService/RollUpScorecards", "d-hillview"));
        assert!(hill.reads("ReportingService/ListDeadlines", "t-pine"));
        assert!(!hill.reads("ReportingService/ListDeadlines", "t-harbour"));
        assert!(!hill.reads("ReportingService/RollUpScorecards", "city"));
        // Rankings are served by the centre and published to every unit.
        assert!(hill.may("ReportingService/GetRankings", "city"));
        let ops = Viewer::of(&t, true, &caller(Principal::Operator("ops".into()))).unwrap();
        assert!(ops.reads("ReportingService/RollUpScorecards", "city"));
        assert!(ops.reads("EscalationService/GetWhistle", "d-riverside"));
    }

    #[test]
    fn the_refusal_is_403_and_says_why() {
        let r = refused(&Refused::Anonymous);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
