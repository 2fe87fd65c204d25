//! The topology file (TOML): units, line departments, the dispatch
//! catalogue, the address index, unit boundaries, which service hosts
//! which units, and policy. Parsing is pure; the caller reads the file and
//! any boundaries side file it names.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use crate::calendar::{Calendar, RawCalendar};
use crate::model::{Level, Tier, Urgency};
use crate::policy::Policy;
use crate::territory::{self, Bounded, LocateError, Located, Territories};
use crate::units::{Operator, Role};

pub use crate::units::{
    CatalogueGroup, CatalogueItem, LineRef, Place, ServiceSpec, TopologyError, Unit,
};

#[derive(Debug, Clone)]
pub struct Topology {
    pub name: String,
    pub catalogue_version: String,
    pub policy: Policy,
    /// Holidays and make-up working days, for working-day limits.
    pub calendar: Calendar,
    /// A calendar file the topology names, for the loader to read and set.
    pub calendar_file: Option<String>,
    units: BTreeMap<String, Unit>,
    /// The one city unit's id (looked up on every call's guard).
    city: String,
    /// The department answering for a line: (line, None) at the city,
    /// (line, Some(district)) at a district. The first by unit id wins.
    line_departments: HashMap<(String, Option<String>), String>,
    groups: BTreeMap<String, CatalogueGroup>,
    catalogue: BTreeMap<String, CatalogueItem>,
    services: Vec<ServiceSpec>,
    /// Unit id -> index in `services`: the gateway and every service ask
    /// on each call who hosts a unit.
    service_of_unit: HashMap<String, usize>,
    addresses: HashMap<String, Place>,
    /// Addresses known only down to their district (a road crossing
    /// townships, a development zone): the district organises (Art. 12).
    district_addresses: HashMap<String, String>,
    territories: Territories,
    /// Who may operate the mesh, with which roles, over which units.
    operators: Vec<Operator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    name: String,
    #[serde(default = "default_version")]
    catalogue_version: String,
    #[serde(default)]
    policy: Policy,
    calendar: Option<CalendarSpec>,
    /// A GeoJSON FeatureCollection of unit boundaries, relative to this file.
    boundaries: Option<Spanned<String>>,
    #[serde(default)]
    unit: Vec<RawUnit>,
    #[serde(default)]
    category: Vec<RawGroup>,
    #[serde(default)]
    subcategory: Vec<RawGroup>,
    #[serde(default)]
    catalogue: Vec<RawItem>,
    #[serde(default)]
    service: Vec<RawService>,
    #[serde(default)]
    district_area: Vec<RawArea>,
    #[serde(default)]
    operator: Vec<RawOperator>,
}

/// `[[operator]]`: a person on the operations staff, their roles and the
/// unit whose subtree they may act in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    name: Spanned<String>,
    roles: Vec<String>,
    scope: String,
}

/// A place the address index knows only down to its district.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArea {
    district: Spanned<String>,
    #[allow(dead_code)]
    name: String,
    addresses: Vec<String>,
}

/// `calendar = "file.toml"`, `calendar = "builtin:china"` (the table
/// shipped with the mesh) or an inline `[calendar]` table.
#[derive(Deserialize)]
#[serde(untagged)]
enum CalendarSpec {
    File(String),
    Inline(RawCalendar),
}

fn default_version() -> String {
    "1".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    id: Spanned<String>,
    tier: Spanned<String>,
    parent: Option<String>,
    name: String,
    #[serde(default)]
    population: u64,
    level: Option<String>,
    #[serde(default)]
    lines: Vec<String>,
    #[serde(default)]
    enterprise: bool,
    #[serde(default)]
    addresses: Vec<String>,
    /// Districts, townships and communities: the kind of place.
    place_type: Option<String>,
    /// One ring of `[lon, lat]` points.
    boundary: Option<Spanned<Vec<[f64; 2]>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    code: Spanned<String>,
    name: String,
    category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: Spanned<String>,
    name: String,
    subcategory: String,
    urgency: String,
    department: Option<String>,
    line: Option<String>,
    level: Option<String>,
    #[serde(default)]
    territory: bool,
    answer: Option<String>,
    #[serde(default)]
    duty_list: bool,
    #[serde(default)]
    community_assist: bool,
    #[serde(default)]
    ambiguous: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    tier: String,
    #[serde(default)]
    units: Vec<String>,
    address: Option<String>,
}

fn build_operators(
    raw: &[RawOperator],
    units: &BTreeMap<String, Unit>,
    city: &str,
) -> Result<Vec<Operator>, (usize, String)> {
    if raw.is_empty() {
        return Ok(vec![Operator {
            name: "ops".into(),
            roles: Role::ALL.to_vec(),
            scope: city.to_owned(),
        }]);
    }
    let mut operators: Vec<Operator> = Vec::new();
    for o in raw {
        let at = o.name.span().start;
        let name = o.name.get_ref();
        if !crate::units::valid_name(name) {
            return Err((
                at,
                format!("operator {name:?}: a name is letters, digits, '-', '_' or '.'"),
            ));
        }
        if operators.iter().any(|x| &x.name == name) {
            return Err((at, format!("operator {name} is defined twice")));
        }
        if !units.contains_key(&o.scope) {
            return Err((
                at,
                format!("operator {name}: scope {} is not a unit", o.scope),
            ));
        }
        let roles = o
            .roles
            .iter()
            .map(|r| {
                Role::parse(r).ok_or_else(|| {
                    (
                        at,
                        format!(
                            "operator {name}: unknown role {r:?} (control, unmask or supervise)"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        operators.push(Operator {
            name: name.clone(),
            roles,
            scope: o.scope.clone(),
        });
    }
    Ok(operators)
}

/// The index behind [`Topology::line_department`]: city-level departments
/// by line, district-level ones by line and district.
fn line_departments(units: &BTreeMap<String, Unit>) -> HashMap<(String, Option<String>), String> {
    let mut index = HashMap::new();
    for u in units.values().filter(|u| u.tier == Tier::Department) {
        let at = match u.level {
            Some(Level::City) => None,
            Some(Level::District) => match &u.parent {
                Some(d) => Some(d.clone()),
                None => continue,
            },
            None => continue,
        };
        for l in &u.lines {
            index
                .entry((l.clone(), at.clone()))
                .or_insert_with(|| u.id.clone());
        }
    }
    index
}

/// Line numbers of byte offsets in one source, by binary search over its
/// line starts (a Beijing-sized topology names thousands of spans).
struct Lines(Vec<usize>);

impl Lines {
    fn of(src: &str) -> Self {
        Lines(
            std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }

    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

impl Topology {
    /// Parses and checks a topology that names no boundaries side file.
    /// `file` names the source in errors.
    pub fn parse(file: &str, src: &str) -> Result<Self, TopologyError> {
        Self::parse_with(file, src, |name| {
            Err(format!(
                "{name} was not read: load the topology from its file"
            ))
        })
    }

    /// Parses and checks a topology; `read` returns the contents of the
    /// boundaries side file it names, if any.
    pub fn parse_with(
        file: &str,
        src: &str,
        read: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<Self, TopologyError> {
        let lines = Lines::of(src);
        let err = |offset: usize, problem: String| TopologyError {
            file: file.to_string(),
            line: lines.line(offset),
            problem,
        };
        let raw: RawTopology = toml::from_str(src).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            err(offset, e.message().to_string())
        })?;
        raw.policy.validate().map_err(|p| err(0, p))?;
        let (calendar, calendar_file) = match &raw.calendar {
            None => (Calendar::default(), None),
            Some(CalendarSpec::File(f)) if f == crate::calendar::CHINA => (Calendar::china(), None),
            Some(CalendarSpec::File(f)) => (Calendar::default(), Some(f.clone())),
            Some(CalendarSpec::Inline(c)) => (c.build().map_err(|p| err(0, p))?, None),
        };

        let mut units = BTreeMap::new();
        let mut addresses = HashMap::new();
        let mut spans = HashMap::new();
        let mut bounded = Vec::new();
        for u in &raw.unit {
            let at = u.id.span().start;
            let id = u.id.get_ref().clone();
            if id.is_empty() {
                return Err(err(at, "unit id is empty".into()));
            }
            let tier = Tier::parse(u.tier.get_ref()).ok_or_else(|| {
                err(
                    u.tier.span().start,
                    format!("unit {id}: unknown tier {:?}", u.tier.get_ref()),
                )
            })?;
            let level = match &u.level {
                None => None,
                Some(l) => Some(l.parse::<Level>().map_err(|_| {
                    err(
                        at,
                        format!("unit {id}: level must be \"city\" or \"district\", not {l:?}"),
                    )
                })?),
            };
            if let Some(p) = &u.place_type {
                if !matches!(tier, Tier::District | Tier::Township | Tier::Community) {
                    return Err(err(
                        at,
                        format!(
                            "unit {id}: only districts, townships and communities have a place_type"
                        ),
                    ));
                }
                if !crate::units::valid_place_type(p) {
                    return Err(err(
                        at,
                        format!(
                            "unit {id}: place_type {p:?} is not lowercase letters, digits and _"
                        ),
                    ));
                }
            }
            let unit = Unit {
                id: id.clone(),
                tier,
                parent: u.parent.clone(),
                name: u.name.clone(),
                population: u.population,
                level,
                lines: u.lines.clone(),
                enterprise: u.enterprise,
                place_type: u.place_type.clone(),
            };
            if units.insert(id.clone(), unit).is_some() {
                return Err(err(at, format!("unit {id} is defined twice")));
            }
            spans.insert(id.clone(), at);
            if let Some(ring) = &u.boundary {
                let at = ring.span().start;
                let shape = hotline_geo::shape::from_rings(vec![vec![ring.get_ref().clone()]])
                    .map_err(|p| err(at, format!("unit {id}: boundary {p}")))?;
                bounded.push(Bounded {
                    unit: id.clone(),
                    shape,
                    file: file.to_string(),
                    line: lines.line(at),
                });
            }
            for a in &u.addresses {
                let place = match tier {
                    Tier::Township => Place {
                        township: id.clone(),
                        community: None,
                    },
                    Tier::Community => Place {
                        township: u.parent.clone().unwrap_or_default(),
                        community: Some(id.clone()),
                    },
                    _ => {
                        return Err(err(
                            at,
                            format!("unit {id}: only townships and communities list addresses"),
                        ));
                    }
                };
                if addresses.insert(a.clone(), place).is_some() {
                    return Err(err(at, format!("address {a:?} is listed twice")));
                }
            }
        }
        let cities = units.values().filter(|u| u.tier == Tier::City).count();
        if cities != 1 {
            return Err(err(
                0,
                format!("exactly one city unit is needed, found {cities}"),
            ));
        }
        for u in units.values() {
            let at = spans[&u.id];
            check_parent(u, &units).map_err(|p| err(at, p))?;
            if u.tier == Tier::Department && u.level.is_none() {
                return Err(err(
                    at,
                    format!(
                        "department {}: level must be \"city\" or \"district\"",
                        u.id
                    ),
                ));
            }
        }

        let mut groups = BTreeMap::new();
        for (level, list) in [(1, &raw.category), (2, &raw.subcategory)] {
            for g in list {
                let at = g.code.span().start;
                let code = g.code.get_ref().clone();
                match (level, &g.category) {
                    (1, Some(_)) => {
                        return Err(err(
                            at,
                            format!("category {code}: a category has no parent category"),
                        ));
                    }
                    (2, None) => {
                        return Err(err(at, format!("subcategory {code}: names no category")));
                    }
                    (2, Some(c)) if !raw.category.iter().any(|k| k.code.get_ref() == c) => {
                        return Err(err(
                            at,
                            format!("subcategory {code}: category {c} is not defined"),
                        ));
                    }
                    _ => {}
                }
                let group = CatalogueGroup {
                    code: code.clone(),
                    name: g.name.clone(),
                    parent: g.category.clone(),
                };
                if groups.insert(code.clone(), group).is_some() {
                    return Err(err(at, format!("catalogue group {code} is defined twice")));
                }
            }
        }
        let mut catalogue = BTreeMap::new();
        for i in &raw.catalogue {
            let at = i.code.span().start;
            let code = i.code.get_ref().clone();
            let urgency = Urgency::parse(&i.urgency).ok_or_else(|| {
                err(
                    at,
                    format!("catalogue {code}: unknown urgency {:?}", i.urgency),
                )
            })?;
            if let Some(d) = &i.department {
                match units.get(d) {
                    Some(u) if matches!(u.tier, Tier::Department | Tier::Central) => {}
                    _ => {
                        return Err(err(
                            at,
                            format!(
                                "catalogue {code}: department {d} is not a department or central unit"
                            ),
                        ));
                    }
                }
            }
            let line = line_ref(&code, i, &units).map_err(|p| err(at, p))?;
            if i.community_assist && !i.duty_list {
                return Err(err(
                    at,
                    format!("catalogue {code}: community_assist needs duty_list"),
                ));
            }
            if i.department.is_none() && line.is_none() && !i.territory && i.answer.is_none() {
                return Err(err(
                    at,
                    format!(
                        "catalogue {code}: names no handler (department or territory) and no answer"
                    ),
                ));
            }
            if groups
                .get(&i.subcategory)
                .is_none_or(|g| g.parent.is_none())
            {
                return Err(err(
                    at,
                    format!(
                        "catalogue {code}: subcategory {} is not defined",
                        i.subcategory
                    ),
                ));
            }
            let item = CatalogueItem {
                code: code.clone(),
                name: i.name.clone(),
                subcategory: i.subcategory.clone(),
                duty_list: i.duty_list,
                community_assist: i.community_assist,
                ambiguous: i.ambiguous,
                urgency,
                department: i.department.clone(),
                line,
                territory: i.territory,
                answer: i.answer.clone(),
            };
            if catalogue.insert(code.clone(), item).is_some() {
                return Err(err(at, format!("catalogue {code} is defined twice")));
            }
        }

        let mut district_addresses = HashMap::new();
        for area in &raw.district_area {
            let at = area.district.span().start;
            let d = area.district.get_ref();
            if units.get(d).is_none_or(|u| u.tier != Tier::District) {
                return Err(err(at, format!("district_area: {d} is not a district")));
            }
            for a in &area.addresses {
                if addresses.contains_key(a)
                    || district_addresses.insert(a.clone(), d.clone()).is_some()
                {
                    return Err(err(at, format!("address {a:?} is listed twice")));
                }
            }
        }

        let services = build_services(&raw.service, &units).map_err(|(at, p)| err(at, p))?;
        if let Some(name) = &raw.boundaries {
            let at = name.span().start;
            let name = name.get_ref();
            let side = read(name).map_err(|p| err(at, format!("boundaries: {p}")))?;
            let side_lines = Lines::of(&side);
            let features = hotline_geo::geojson::parse(&side).map_err(|e| TopologyError {
                file: name.clone(),
                line: side_lines.line(e.offset),
                problem: e.problem,
            })?;
            bounded.extend(features.into_iter().map(|f| Bounded {
                unit: f.unit_id,
                shape: f.shape,
                file: name.clone(),
                line: side_lines.line(f.offset),
            }));
        }
        let territories = territory::build(&units, bounded, raw.policy.near_boundary_meters)?;
        let city = units
            .values()
            .find(|u| u.tier == Tier::City)
            .map(|u| u.id.clone())
            .expect("one city, checked above");
        let operators =
            build_operators(&raw.operator, &units, &city).map_err(|(at, p)| err(at, p))?;
        Ok(Self {
            name: raw.name,
            catalogue_version: raw.catalogue_version,
            policy: raw.policy,
            calendar,
            calendar_file,
            city,
            line_departments: line_departments(&units),
            units,
            groups,
            catalogue,
            service_of_unit: services
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.units.iter().map(move |u| (u.clone(), i)))
                .collect(),
            services,
            operators,
            addresses,
            district_addresses,
            territories,
        })
    }

    /// Where a location lies: its community (when communities carry
    /// boundaries) and township, and the units within the policy's
    /// near-boundary distance.
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Located, LocateError> {
        self.territories.locate(lat, lon)
    }

    /// The locator itself, for callers that map leaves to units themselves
    /// (benchmarks, surveys).
    pub fn atlas(&self) -> &hotline_geo::Atlas {
        &self.territories.atlas
    }

    /// The unit a leaf of [`Topology::atlas`] bounds.
    pub fn leaf_unit(&self, leaf: u32) -> &Unit {
        &self.units[&self.territories.leaves[leaf as usize]]
    }

    /// The deadline of a clock started at `start` for `urgency`, by policy
    /// and calendar: every service's one way to a time limit.
    pub fn due(&self, urgency: Urgency, start: crate::Micros) -> crate::deadline::Due {
        crate::deadline::due(&self.policy, &self.calendar, urgency, start)
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.get(id)
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn city(&self) -> &Unit {
        &self.units[&self.city]
    }

    pub fn parent_of(&self, id: &str) -> Option<&Unit> {
        self.unit(id)?.parent.as_deref().and_then(|p| self.unit(p))
    }

    /// Whether `ancestor` is `unit` or above it.
    pub fn is_within(&self, unit: &str, ancestor: &str) -> bool {
        let mut cur = self.unit(unit);
        while let Some(u) = cur {
            if u.id == ancestor {
                return true;
            }
            cur = u.parent.as_deref().and_then(|p| self.unit(p));
        }
        false
    }

    pub fn item(&self, code: &str) -> Option<&CatalogueItem> {
        self.catalogue.get(code)
    }

    pub fn catalogue(&self) -> impl Iterator<Item = &CatalogueItem> {
        self.catalogue.values()
    }

    /// A category or subcategory by code.
    pub fn group(&self, code: &str) -> Option<&CatalogueGroup> {
        self.groups.get(code)
    }

    /// Categories and subcategories, by code.
    pub fn groups(&self) -> impl Iterator<Item = &CatalogueGroup> {
        self.groups.values()
    }

    /// The item's path: (category, subcategory, item).
    pub fn item_path(
        &self,
        code: &str,
    ) -> Option<(&CatalogueGroup, &CatalogueGroup, &CatalogueItem)> {
        let item = self.item(code)?;
        let sub = self.group(&item.subcategory)?;
        let cat = self.group(sub.parent.as_deref()?)?;
        Some((cat, sub, item))
    }

    pub fn place(&self, address: &str) -> Option<&Place> {
        self.addresses.get(address)
    }

    /// The district of an address known only down to its district.
    pub fn district_area(&self, address: &str) -> Option<&Unit> {
        self.district_addresses
            .get(address)
            .and_then(|d| self.unit(d))
    }

    /// The district a unit lies in (itself, for a district).
    pub fn district_of(&self, unit: &str) -> Option<&Unit> {
        let mut cur = self.unit(unit);
        while let Some(u) = cur {
            if u.tier == Tier::District {
                return Some(u);
            }
            cur = u.parent.as_deref().and_then(|p| self.unit(p));
        }
        None
    }

    /// The department answering for `line`: the city-level one, or the one
    /// of `district` when the catalogue puts the line at district level.
    pub fn line_department(&self, line: &LineRef, district: Option<&str>) -> Option<&Unit> {
        let at = match (line.district_level, district) {
            (false, _) => None,
            (true, Some(d)) => Some(d.to_string()),
            (true, None) => return None,
        };
        self.line_departments
            .get(&(line.line.clone(), at))
            .and_then(|id| self.units.get(id))
    }

    /// Addresses in the index, sorted, for demos and tests.
    pub fn addresses(&self) -> Vec<(&str, &Place)> {
        let mut v: Vec<_> = self
            .addresses
            .iter()
            .map(|(a, p)| (a.as_str(), p))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    pub fn services(&self) -> &[ServiceSpec] {
        &self.services
    }

    /// The operators the topology grants (`[[operator]]`); without any,
    /// one operator `ops` holds every role over the whole city.
    pub fn operators(&self) -> &[Operator] {
        &self.operators
    }

    pub fn operator(&self, name: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service hosting a unit.
    pub fn service_of(&self, unit: &str) -> Option<&ServiceSpec> {
        self.service_of_unit
            .get(unit)
            .and_then(|&i| self.services.get(i))
    }
}

/// Checks an item's `line` and `level`: some department at that level must
/// answer for the line, and only one at city level.
fn line_ref(
    code: &str,
    i: &RawItem,
    units: &BTreeMap<String, Unit>,
) -> Result<Option<LineRef>, String> {
    let Some(line) = &i.line else {
        return match i.level {
            Some(_) => Err(format!("catalogue {code}: level needs a line")),
            None => Ok(None),
        };
    };
    if i.department.is_some() {
        return Err(format!(
            "catalogue {code}: name a department or a line, not both"
        ));
    }
    let level = match i.level.as_deref() {
        None => Level::City,
        Some(l) => l
            .parse::<Level>()
            .map_err(|_| format!("catalogue {code}: level must be \"city\" or \"district\""))?,
    };
    let answering = units
        .values()
        .filter(|u| {
            u.tier == Tier::Department
                && u.level == Some(level)
                && u.lines.iter().any(|l| l == line)
        })
        .count();
    match (level, answering) {
        (_, 0) => Err(format!(
            "catalogue {code}: no {level}-level department answers for line {line}"
        )),
        (Level::City, n) if n > 1 => Err(format!(
            "catalogue {code}: {n} city-level departments answer for line {line}"
        )),
        _ => Ok(Some(LineRef {
            line: line.clone(),
            district_level: level == Level::District,
        })),
    }
}

fn check_parent(u: &Unit, units: &BTreeMap<String, Unit>) -> Result<(), String> {
    let expected: &[Tier] = match u.tier {
        Tier::City => &[],
        Tier::District => &[Tier::City],
        Tier::Township => &[Tier::District],
        Tier::Community => &[Tier::Township],
        Tier::Department => &[Tier::City, Tier::District],
        Tier::Central => &[Tier::City],
    };
    match (&u.parent, expected.is_empty()) {
        (None, true) => Ok(()),
        (Some(_), true) => Err(format!("unit {}: the city has no parent", u.id)),
        (None, false) => Err(format!("unit {}: a {} needs a parent", u.id, u.tier)),
        (Some(p), false) => match units.get(p) {
            None => Err(format!("unit {}: parent {p} is not defined", u.id)),
            Some(pu) if !expected.contains(&pu.tier) => Err(format!(
                "unit {}: a {} cannot have a {} ({p}) as parent",
                u.id, u.tier, pu.tier
            )),
            Some(_) => Ok(()),
        },
    }
}

fn build_services(
    raw: &[RawService],
    units: &BTreeMap<String, Unit>,
) -> Result<Vec<ServiceSpec>, (usize, String)> {
    let mut services = Vec::new();
    if raw.is_empty() {
        // One service per tier, hosting every unit of that tier.
        for tier in Tier::ALL {
            let hosted: Vec<String> = units
                .values()
                .filter(|u| u.tier == *tier)
                .map(|u| u.id.clone())
                .collect();
            if !hosted.is_empty() {
                services.push(ServiceSpec {
                    name: tier.as_str().to_string(),
                    tier: *tier,
                    units: hosted,
                    address: None,
                });
            }
        }
        return Ok(services);
    }
    let mut host: HashMap<String, String> = HashMap::new();
    for s in raw {
        let at = s.name.span().start;
        let name = s.name.get_ref();
        let tier = Tier::parse(&s.tier)
            .ok_or_else(|| (at, format!("service {name}: unknown tier {:?}", s.tier)))?;
        let hosted: Vec<String> = if s.units.is_empty() {
            units
                .values()
                .filter(|u| u.tier == tier)
                .map(|u| u.id.clone())
                .collect()
        } else {
            s.units.clone()
        };
        for id in &hosted {
            match units.get(id) {
                None => return Err((at, format!("service {name}: unit {id} is not defined"))),
                Some(u) if u.tier != tier => {
                    return Err((
                        at,
                        format!("service {name}: unit {id} is a {}, not a {tier}", u.tier),
                    ));
                }
                Some(_) => {}
            }
            if let Some(other) = host.insert(id.clone(), name.clone()) {
                return Err((
                    at,
                    format!("unit {id} is hosted by both {other} and {name}"),
                ));
            }
        }
        services.push(ServiceSpec {
            name: name.clone(),
            tier,
            units: hosted,
            address: s.address.clone(),
        });
    }
    if let Some(u) = units.keys().find(|u| !host.contains_key(*u)) {
        return Err((0, format!("unit {u} is hosted by no service")));
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
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
name = "T"
addresses = ["1 Main St"]
[[unit]]
id = "c1"
tier = "community"
parent = "t1"
name = "Cm"
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
"#;

    #[test]
    fn parses_and_resolves() {
        let t = Topology::parse("small.toml", SMALL).unwrap();
        assert_eq!(t.city().id, "city");
        assert_eq!(t.place("2 Main St").unwrap().township, "t1");
        assert_eq!(
            t.place("2 Main St").unwrap().community.as_deref(),
            Some("c1")
        );
        assert_eq!(t.service_of("t1").unwrap().name, "township");
        assert!(t.is_within("c1", "d1"));
        assert!(!t.is_within("d1", "c1"));
        assert_eq!(t.services().len(), 5);
    }

    #[test]
    fn a_place_type_is_read_and_inherited_from_above() {
        let src = SMALL.replace(
            "name = \"T\"\n",
            "name = \"T\"\nplace_type = \"old_estate\"\n",
        );
        let t = Topology::parse("small.toml", &src).unwrap();
        let get = |u: &str| t.unit(u);
        assert_eq!(
            t.unit("t1").unwrap().place_type.as_deref(),
            Some("old_estate")
        );
        assert_eq!(crate::units::place_type_of("c1", get), Some("old_estate"));
        assert_eq!(crate::units::place_type_of("d1", get), None);
        let bad = SMALL.replace("name = \"W\"\n", "name = \"W\"\nplace_type = \"urban\"\n");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(
            e.problem
                .contains("only districts, townships and communities"),
            "{e}"
        );
        let bad = src.replace("old_estate", "Old Estate");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(e.problem.contains("place_type \"Old Estate\""), "{e}");
    }

    #[test]
    fn catalogue_has_three_levels() {
        let t = Topology::parse("small.toml", SMALL).unwrap();
        let (cat, sub, item) = t.item_path("x").unwrap();
        assert_eq!(
            (cat.code.as_str(), sub.code.as_str(), item.code.as_str()),
            ("k", "k.s", "x")
        );
        let bad = SMALL.replace("subcategory = \"k.s\"", "subcategory = \"k.zz\"");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(e.problem.contains("subcategory k.zz is not defined"), "{e}");
        let bad = SMALL.replace("category = \"k\"", "category = \"q\"");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(e.problem.contains("category q is not defined"), "{e}");
    }

    #[test]
    fn jurisdiction_keys_are_checked() {
        let with = |extra: &str| Topology::parse("small.toml", &format!("{SMALL}{extra}"));
        let item = |keys: &str| {
            format!(
                r#"
[[catalogue]]
code = "y"
subcategory = "k.s"
name = "Y"
urgency = "general"
{keys}
"#
            )
        };
        const W2: &str = r#"
[[unit]]
id = "w2"
tier = "department"
parent = "city"
level = "city"
name = "W2"
lines = ["water"]
"#;
        let e = with(&item("line = \"water\"")).unwrap_err();
        let expected = "no city-level department answers for line water";
        assert!(e.problem.contains(expected), "{e}");
        let t = with(&format!("{W2}{}", item("line = \"water\""))).unwrap();
        let line = t.item("y").unwrap().line.clone().unwrap();
        assert_eq!(t.line_department(&line, None).unwrap().id, "w2");
        let e = with(&item("line = \"water\"\ndepartment = \"water\"")).unwrap_err();
        assert!(e.problem.contains("not both"), "{e}");
        let e = with(&item("level = \"district\"\nterritory = true")).unwrap_err();
        assert!(e.problem.contains("level needs a line"), "{e}");
        let e = with(&item("territory = true\ncommunity_assist = true")).unwrap_err();
        let expected = "community_assist needs duty_list";
        assert!(e.problem.contains(expected), "{e}");

        let area = |district: &str, address: &str| {
            format!(
                "[[district_area]]\ndistrict = \"{district}\"\nname = \"A\"\naddresses = [\"{address}\"]\n"
            )
        };
        let e = with(&area("t1", "Ring Road")).unwrap_err();
        assert!(e.problem.contains("t1 is not a district"), "{e}");
        let t = with(&area("d1", "Ring Road")).unwrap();
        assert_eq!(t.district_area("Ring Road").unwrap().id, "d1");
        assert_eq!(t.district_of("c1").unwrap().id, "d1");
        let e = with(&area("d1", "1 Main St")).unwrap_err();
        assert!(e.problem.contains("listed twice"), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        let bad = SMALL.replace("parent = \"d1\"", "parent = \"d9\"");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert_eq!(e.file, "small.toml");
        assert!(e.problem.contains("parent d9 is not defined"), "{e}");
        assert_eq!(e.line, 13, "{e}");

        let bad = SMALL.replace("urgency = \"general\"", "urgency = \"soon\"");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(e.problem.contains("unknown urgency"), "{e}");

        let bad = SMALL.replace("tier = \"community\"", "tier = \"village\"");
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(e.to_string().starts_with("small.toml:20:"), "{e}");

        // A level is a word from a short list, said back with its unit.
        let bad = SMALL.replacen("level = \"city\"", "level = \"county\"", 1);
        let e = Topology::parse("small.toml", &bad).unwrap_err();
        assert!(
            e.problem.contains("level must be \"city\" or \"district\""),
            "{e}"
        );
        assert!(e.problem.contains("\"county\""), "{e}");
        let good = Topology::parse("small.toml", SMALL).unwrap();
        assert!(good.units().any(|u| u.level == Some(Level::City)));

        let e = Topology::parse("small.toml", "name = 3").unwrap_err();
        assert_eq!(e.line, 1);
    }

    proptest::proptest! {
        /// A topology as a user's file may be: any text, or the demo city
        /// with one character changed or a slice cut out. Loaded or refused
        /// with a reason; never a panic.
        #[test]
        fn any_text_loads_or_is_refused(src in ".{0,400}") {
            let _ = Topology::parse("prop.toml", &src);
        }

        #[test]
        fn the_demo_city_changed_loads_or_is_refused(
            at in 0usize..DEMO.len(),
            len in 0usize..64,
            c in proptest::prelude::any::<char>(),
        ) {
            let mut src: Vec<char> = DEMO.chars().collect();
            let at = at.min(src.len() - 1);
            let end = (at + len).min(src.len());
            src.splice(at..end, [c]);
            let src: String = src.into_iter().collect();
            if let Err(e) = Topology::parse("demo-city.toml", &src) {
                proptest::prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    const DEMO: &str = include_str!("../../../topology/demo-city.toml");
}
