//! The parts a topology is made of: units, the services hosting them, the
//! places addresses lie in, and the operators with their roles. Plain
//! data: the topology (which parses and indexes them), the territories
//! and the authorization table all build on it.

use crate::model::{Level, Tier, Urgency};

/// A topology problem, naming the file, the line and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {problem}")]
pub struct TopologyError {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    pub tier: Tier,
    pub parent: Option<String>,
    pub name: String,
    pub population: u64,
    /// Departments: city or district level.
    pub level: Option<Level>,
    /// Departments: the lines (条线) they answer for.
    pub lines: Vec<String>,
    /// Departments: a public-service enterprise (utility).
    pub enterprise: bool,
    /// Districts, townships and communities: what kind of place it is
    /// (`old_estate`, `new_estate`, `village`, `urban`, `rural`…), for
    /// finding the same problem in places alike (举一反三). A unit without
    /// one reads as its nearest unit above with one ([`place_type_of`]).
    pub place_type: Option<String>,
}

/// Place types: lowercase letters, digits and `_`, at most 32.
pub fn valid_place_type(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The place type of `unit`: its own, else that of its nearest unit above
/// that has one; `None` when none has.
pub fn place_type_of<'a>(unit: &str, get: impl Fn(&str) -> Option<&'a Unit>) -> Option<&'a str> {
    let mut at = get(unit);
    while let Some(u) = at {
        if let Some(p) = &u.place_type {
            return Some(p);
        }
        at = u.parent.as_deref().and_then(&get);
    }
    None
}

/// A level above the items: a category (level 1) or a subcategory (level
/// 2) of the dispatch catalogue, as Beijing's 45 / 435 / 2,240 taxonomy.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueGroup {
    pub code: String,
    pub name: String,
    /// The category a subcategory belongs to; `None` for a category.
    pub parent: Option<String>,
}

/// An item of the dispatch catalogue (level 3).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    pub code: String,
    pub name: String,
    /// The subcategory (level 2) this item belongs to.
    pub subcategory: String,
    pub urgency: Urgency,
    /// The line department (or central unit, Art. 22) that handles it.
    pub department: Option<String>,
    /// Or the line whose department handles it, at the city or at the
    /// location's district, as the catalogue says.
    pub line: Option<LineRef>,
    /// Whether the territory (the township owning the location) handles it.
    pub territory: bool,
    /// Answer for consultations at intake, when the item carries one.
    pub answer: Option<String>,
    /// On the community duty list (社区职责清单): may be handed to a community.
    pub duty_list: bool,
    /// The community assists government work on it (协助事项): it may be
    /// handed to a community to assist, never to lead (Art. 17).
    pub community_assist: bool,
    /// Jurisdiction is often disputed for this item.
    pub ambiguous: bool,
}

/// A line (条线) and the level of the department that handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef {
    pub line: String,
    /// The department of the location's district, not the city's.
    pub district_level: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    pub tier: Tier,
    pub units: Vec<String>,
    /// A fixed address; otherwise the service announces itself.
    pub address: Option<String>,
}

/// Where an address lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub township: String,
    pub community: Option<String>,
}

/// Ids and names in certificates: letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What an operator may do, as the topology grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Move the virtual clock, drain outboxes (ControlService).
    Control,
    /// See a requester's name and phone, with a reason, audited.
    Unmask,
    /// Read on behalf of units within scope: reports, exports, audit.
    Supervise,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Control, Role::Unmask, Role::Supervise];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Control => "control",
            Role::Unmask => "unmask",
            Role::Supervise => "supervise",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An operator the topology names: the roles they hold and the unit whose
/// subtree they may act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub roles: Vec<Role>,
    pub scope: String,
}
