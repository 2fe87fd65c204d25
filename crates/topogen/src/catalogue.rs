//! The generated city's line departments, utilities, central units and
//! dispatch catalogue, modelled on Beijing's: 45 categories, their
//! subcategories, and items derived from each subcategory by the kinds of
//! request citizens bring (a complaint, a question, a hazard, an outage, a
//! dispute), so every urgency class occurs.

use std::fmt::Write;

use hotline_core::Urgency;

/// City-level line departments: (id, name, lines).
#[rustfmt::skip]
pub const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("dept-housing", "City Housing and Urban-Rural Development Commission", "housing property construction"),
    ("dept-urban", "City Urban Management Commission", "urban sanitation advertising"),
    ("dept-transport", "City Transport Commission", "traffic parking taxi"),
    ("dept-water", "City Water Authority", "water drainage flood"),
    ("dept-market", "City Administration for Market Regulation", "market food drugs prices"),
    ("dept-health", "City Health Commission", "health hospitals epidemics"),
    ("dept-education", "City Education Commission", "schools kindergartens"),
    ("dept-civil", "City Civil Affairs Bureau", "elderly welfare marriage"),
    ("dept-hrss", "City Human Resources and Social Security Bureau", "employment wages pensions"),
    ("dept-ecology", "City Ecology and Environment Bureau", "air water noise"),
    ("dept-planning", "City Planning and Natural Resources Commission", "planning land surveying"),
    ("dept-culture", "City Culture and Tourism Bureau", "culture tourism"),
    ("dept-emergency", "City Emergency Management Bureau", "safety disasters"),
    ("dept-agriculture", "City Agriculture and Rural Affairs Bureau", "agriculture villages"),
    ("dept-landscape", "City Landscape and Forestry Bureau", "parks trees"),
    ("dept-commerce", "City Commerce Bureau", "retail services"),
    ("dept-sports", "City Sports Bureau", "sports fitness"),
    ("dept-police", "City Public Security Bureau", "public-order residence traffic-police"),
    ("dept-veterans", "City Veterans Affairs Bureau", "veterans"),
    ("dept-medsec", "City Healthcare Security Bureau", "medical-insurance"),
    ("dept-services", "City Government Services Administration", "permits hotline"),
    ("dept-fire", "City Fire and Rescue Corps", "fire rescue"),
    ("dept-disabled", "City Disabled Persons' Federation", "disability"),
];

/// Public-service enterprises (utilities), city level: (id, name, lines).
#[rustfmt::skip]
pub const UTILITIES: &[(&str, &str, &str)] = &[
    ("util-water", "City Waterworks Group", "water"),
    ("util-drainage", "City Drainage Group", "drainage sewage"),
    ("util-gas", "City Gas Group", "gas"),
    ("util-heating", "City District Heating Group", "heating"),
    ("util-power", "City Electric Power Company", "power"),
    ("util-telecom", "City Telecom Operators' Office", "telecom broadband"),
    ("util-bus", "City Public Transport Corporation", "bus"),
    ("util-subway", "City Subway Operation Company", "subway"),
];

/// District-level departments every district has: (line, name). In
/// Beijing most regulatory matters go to the district's bureau of the
/// line, not to the city's commission; the catalogue routes them there.
pub const DISTRICT_DEPARTMENTS: &[(&str, &str)] = &[
    ("housing", "Housing and Urban-Rural Development Commission"),
    ("urban", "Urban Management Committee"),
    ("market", "Market Regulation Bureau"),
    ("transport", "Transport Bureau"),
    ("health", "Health Commission"),
    ("education", "Education Commission"),
    ("hrss", "Human Resources and Social Security Bureau"),
    ("civil", "Civil Affairs Bureau"),
    ("ecology", "Ecology and Environment Bureau"),
    ("emergency", "Emergency Management Bureau"),
    ("landscape", "Landscape and Forestry Bureau"),
];

/// Central units in the city (在京中央单位): (id, name).
pub const CENTRAL: &[(&str, &str)] = &[
    ("central-railway", "National Railway Group, Beijing Bureau"),
    ("central-airport", "Capital Airport Group"),
    (
        "central-housing",
        "Central State Organs Housing Administration",
    ),
    ("central-grid", "National Grid North China Branch"),
    (
        "central-hospitals",
        "Hospitals of central organs in Beijing",
    ),
];

/// Matters of central units (Art. 22): a subcategory added to a category
/// and handled by the central unit: (category, subcategory, name, unit).
#[rustfmt::skip]
const CENTRAL_MATTERS: &[(&str, &str, &str, &str)] = &[
    ("housing", "central", "Central organs' housing estates", "central-housing"),
    ("traffic", "airport", "Airport roads and taxi ranks", "central-airport"),
    ("power", "grid", "High-voltage grid", "central-grid"),
    ("subway", "railway", "Railway stations", "central-railway"),
    ("health", "central", "Central organs' hospitals", "central-hospitals"),
];

/// What a category is about decides which request kinds its items cover.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The territory handles it on the ground; the department regulates.
    Local,
    /// A community may handle it (on the duty list).
    Community,
    /// A utility's service: outages have the 24-hour limit; the utility
    /// alone handles it.
    Utility,
    /// A department's own matter; no territory.
    Line,
}

use Kind::*;

/// (code, name, handler, kind, [(subcategory code, name)]). The handler
/// is a city department or utility by id, `district:LINE` for the
/// location's district bureau of the line, or empty for the territory
/// alone (townships clear illegal structures, run village affairs).
type Category = (
    &'static str,
    &'static str,
    &'static str,
    Kind,
    &'static [(&'static str, &'static str)],
);

#[rustfmt::skip]
const CATEGORIES: &[Category] = &[
    ("urban", "Urban management", "district:urban", Local, &[("stalls", "Street stalls"), ("ads", "Outdoor advertising"), ("facades", "Building facades")]),
    ("sanitation", "Sanitation", "", Community, &[("garbage", "Household garbage"), ("toilets", "Public toilets"), ("sorting", "Waste sorting")]),
    ("roads", "Roads and streets", "district:transport", Local, &[("surface", "Road surface"), ("lights", "Street lights"), ("covers", "Manhole covers")]),
    ("construction", "Construction sites", "district:housing", Local, &[("noise", "Construction noise"), ("dust", "Construction dust"), ("safety", "Site safety")]),
    ("property", "Property management", "district:housing", Community, &[("service", "Property services"), ("fees", "Property fees"), ("lifts", "Lifts")]),
    ("housing", "Housing", "district:housing", Local, &[("renovation", "Old estate renovation"), ("rental", "Rentals"), ("affordable", "Affordable housing")]),
    ("demolition", "Demolition and relocation", "", Local, &[("compensation", "Compensation"), ("illegal", "Illegal structures")]),
    ("water", "Water supply", "util-water", Utility, &[("supply", "Tap water"), ("quality", "Water quality"), ("meters", "Water meters")]),
    ("drainage", "Drainage", "util-drainage", Utility, &[("sewers", "Sewers"), ("flooding", "Waterlogging")]),
    ("gas", "Gas supply", "util-gas", Utility, &[("supply", "Gas supply"), ("safety", "Gas safety")]),
    ("heating", "Heating", "util-heating", Utility, &[("temperature", "Room temperature"), ("fees", "Heating fees"), ("pipes", "Heating pipes")]),
    ("power", "Power supply", "util-power", Utility, &[("outage", "Power outages"), ("lines", "Power lines"), ("charging", "EV charging")]),
    ("telecom", "Telecommunications", "util-telecom", Utility, &[("broadband", "Broadband"), ("mobile", "Mobile signal")]),
    ("bus", "Buses", "util-bus", Utility, &[("routes", "Bus routes"), ("stops", "Bus stops"), ("service", "Bus service")]),
    ("subway", "Subway", "util-subway", Utility, &[("stations", "Stations"), ("service", "Train service")]),
    ("traffic", "Traffic management", "dept-police", Local, &[("signals", "Traffic signals"), ("congestion", "Congestion"), ("signs", "Road signs")]),
    ("parking", "Parking", "district:transport", Local, &[("residential", "Residential parking"), ("illegal", "Illegal parking"), ("bikes", "Shared bikes")]),
    ("taxi", "Taxis and ride hailing", "dept-transport", Line, &[("fares", "Fares"), ("service", "Driver service")]),
    ("market", "Market order", "district:market", Line, &[("consumer", "Consumer disputes"), ("prices", "Prices"), ("licences", "Business licences")]),
    ("food", "Food safety", "district:market", Local, &[("restaurants", "Restaurants"), ("shops", "Food shops"), ("delivery", "Food delivery")]),
    ("drugs", "Drugs and medical devices", "district:market", Line, &[("pharmacies", "Pharmacies"), ("devices", "Medical devices")]),
    ("health", "Medical services", "district:health", Line, &[("hospitals", "Hospitals"), ("clinics", "Community clinics"), ("appointments", "Appointments")]),
    ("epidemic", "Disease prevention", "district:health", Local, &[("vaccination", "Vaccination"), ("infection", "Infectious disease")]),
    ("insurance", "Medical insurance", "dept-medsec", Line, &[("reimbursement", "Reimbursement"), ("enrolment", "Enrolment")]),
    ("education", "Education", "district:education", Line, &[("enrolment", "School enrolment"), ("fees", "School fees"), ("kindergartens", "Kindergartens")]),
    ("labour", "Labour relations", "district:hrss", Line, &[("wages", "Unpaid wages"), ("contracts", "Labour contracts")]),
    ("social", "Social security", "district:hrss", Line, &[("pensions", "Pensions"), ("employment", "Employment services")]),
    ("elderly", "Elderly care", "district:civil", Community, &[("services", "Home care services"), ("homes", "Care homes"), ("meals", "Meal services")]),
    ("welfare", "Social assistance", "district:civil", Community, &[("subsistence", "Subsistence allowance"), ("hardship", "Temporary hardship")]),
    ("disability", "Disabled persons", "dept-disabled", Community, &[("access", "Accessibility"), ("subsidies", "Subsidies")]),
    ("veterans", "Veterans", "dept-veterans", Line, &[("benefits", "Benefits"), ("placement", "Job placement")]),
    ("environment", "Air and water pollution", "district:ecology", Local, &[("smoke", "Smoke and odours"), ("rivers", "River pollution"), ("enterprises", "Polluting businesses")]),
    ("noise", "Noise", "district:ecology", Local, &[("night", "Night noise"), ("business", "Business noise"), ("traffic", "Traffic noise")]),
    ("greening", "Parks and greening", "district:landscape", Local, &[("parks", "Parks"), ("trees", "Street trees")]),
    ("planning", "Planning and land", "dept-planning", Line, &[("permits", "Planning permits"), ("land", "Land use")]),
    ("villages", "Rural affairs", "", Local, &[("land", "Village land"), ("roads", "Village roads"), ("subsidies", "Farm subsidies")]),
    ("animals", "Animals", "", Community, &[("dogs", "Dogs"), ("strays", "Stray animals")]),
    ("order", "Public order", "dept-police", Local, &[("disturbance", "Disturbances"), ("fraud", "Fraud")]),
    ("residence", "Household registration", "dept-police", Line, &[("hukou", "Hukou"), ("residence", "Residence permits")]),
    ("safety", "Work safety", "district:emergency", Local, &[("hazards", "Safety hazards"), ("chemicals", "Hazardous chemicals")]),
    ("fire", "Fire safety", "dept-fire", Local, &[("exits", "Blocked exits"), ("equipment", "Fire equipment")]),
    ("culture", "Culture and tourism", "dept-culture", Line, &[("venues", "Venues"), ("tours", "Tour groups"), ("heritage", "Heritage sites")]),
    ("sports", "Sports", "", Community, &[("fitness", "Fitness equipment"), ("venues", "Sports venues")]),
    ("commerce", "Commerce and services", "dept-commerce", Line, &[("prepaid", "Prepaid cards"), ("markets", "Farmers' markets")]),
    ("services", "Government services", "dept-services", Line, &[("permits", "Permits and approvals"), ("hotline", "Hotline service")]),
];

/// The request kinds an item can be: (code, name, urgency).
const COMPLAINT: (&str, &str, Urgency) = ("complaint", "complaint", Urgency::General);
const QUESTION: (&str, &str, Urgency) = ("question", "policy question", Urgency::General);
const HAZARD: (&str, &str, Urgency) = ("hazard", "danger to life or property", Urgency::Emergency);
const OUTAGE: (&str, &str, Urgency) = ("outage", "service interruption", Urgency::Utility);
const DISPUTE: (&str, &str, Urgency) = ("dispute", "long-running dispute", Urgency::Complex);

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A category's subcategories with who handles each: the category's
/// handler, and the central units' matters added to it.
fn subcategories(
    (cat, _, handler, _, subs): &Category,
) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    let cat = *cat;
    let handler = *handler;
    subs.iter()
        .map(move |(sub, name)| (*sub, *name, handler))
        .chain(
            CENTRAL_MATTERS
                .iter()
                .filter(move |m| m.0 == cat)
                .map(|(_, sub, name, unit)| (*sub, *name, *unit)),
        )
}

/// The handler fields of an item: a department or central unit by id, a
/// line of the location's district (`district:LINE`), or none (the
/// territory alone).
fn handler_fields(handler: &str) -> String {
    match handler.strip_prefix("district:") {
        Some(line) => format!("line = {}\nlevel = \"district\"\n", quote(line)),
        None if handler.is_empty() => String::new(),
        None => format!("department = {}\n", quote(handler)),
    }
}

/// The catalogue as TOML: categories, subcategories and items.
pub fn toml() -> String {
    let mut out = String::from("\n# The dispatch catalogue: category → subcategory → item.\n");
    for (code, name, _, _, _) in CATEGORIES {
        let _ = write!(
            out,
            "\n[[category]]\ncode = {}\nname = {}\n",
            quote(code),
            quote(name)
        );
    }
    for c in CATEGORIES {
        for (sub, name, _) in subcategories(c) {
            let _ = write!(
                out,
                "\n[[subcategory]]\ncode = \"{cat}.{sub}\"\ncategory = {}\nname = {}\n",
                quote(c.0),
                quote(name),
                cat = c.0
            );
        }
    }
    for c in CATEGORIES {
        let (cat, kind) = (c.0, c.3);
        for (i, (sub, sub_name, handler)) in subcategories(c).enumerate() {
            // Three items per subcategory: a complaint, a question, and a
            // third by kind, alternating hazards with disputes.
            let third = match (kind, i % 2) {
                (Utility, 0) => OUTAGE,
                (_, 0) => HAZARD,
                _ => DISPUTE,
            };
            for (aspect, what, urgency) in [COMPLAINT, QUESTION, third] {
                let mut item = format!(
                    "\n[[catalogue]]\ncode = \"{cat}.{sub}.{aspect}\"\nsubcategory = \"{cat}.{sub}\"\nname = {}\nurgency = \"{urgency}\"\n{}",
                    quote(&format!("{sub_name}: {what}")),
                    handler_fields(handler)
                );
                // Utilities and line departments handle their own matters;
                // a danger to life brings the territory in too.
                let territory = matches!(kind, Local | Community) || aspect == "hazard";
                if territory {
                    item += "territory = true\n";
                }
                // A policy question carries no catalogue answer: what intake
                // can answer is what the knowledge base holds (Art. 31),
                // and the rest goes to the item's handler like a request.
                if kind == Community && aspect == "complaint" {
                    item += "duty_list = true\n";
                }
                if aspect == "dispute" || (kind == Local && aspect == "complaint" && i == 0) {
                    item += "ambiguous = true\n";
                }
                out += &item;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_departments_line_up() {
        assert_eq!(CATEGORIES.len(), 45);
        let subs: usize = CATEGORIES.iter().map(|c| c.4.len()).sum();
        assert!(subs * 3 >= 300, "{subs} subcategories");
        for c in CATEGORIES {
            for (sub, _, handler) in subcategories(c) {
                let known = match handler.strip_prefix("district:") {
                    Some(line) => DISTRICT_DEPARTMENTS.iter().any(|d| d.0 == line),
                    None => {
                        handler.is_empty()
                            || DEPARTMENTS.iter().chain(UTILITIES).any(|d| d.0 == handler)
                            || CENTRAL.iter().any(|d| d.0 == handler)
                    }
                };
                assert!(known, "{}.{sub}: no handler {handler}", c.0);
                assert!(
                    !handler.is_empty() || matches!(c.3, Local | Community),
                    "{}.{sub}: names no handler and no territory",
                    c.0
                );
            }
        }
        for (cat, ..) in CENTRAL_MATTERS {
            assert!(CATEGORIES.iter().any(|c| c.0 == *cat), "{cat}");
        }
    }
}
