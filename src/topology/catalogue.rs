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

/// District-level departments every district has: (suffix, name).
pub const DISTRICT_DEPARTMENTS: &[(&str, &str)] = &[
    ("housing", "Housing and Urban-Rural Development Commission"),
    ("urban", "Urban Management Committee"),
    ("market", "Market Regulation Bureau"),
    ("transport", "Transport Bureau"),
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
];

/// What a category is about decides which request kinds its items cover.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The territory handles it on the ground; the department regulates.
    Local,
    /// A community may handle it (on the duty list).
    Community,
    /// A utility's service: outages have the 24-hour limit.
    Utility,
    /// A department's own matter; no territory.
    Line,
}

use Kind::*;

/// (code, name, handler, kind, [(subcategory code, name)]).
type Category = (
    &'static str,
    &'static str,
    &'static str,
    Kind,
    &'static [(&'static str, &'static str)],
);

#[rustfmt::skip]
const CATEGORIES: &[Category] = &[
    ("urban", "Urban management", "dept-urban", Local, &[("stalls", "Street stalls"), ("ads", "Outdoor advertising"), ("facades", "Building facades")]),
    ("sanitation", "Sanitation", "dept-urban", Community, &[("garbage", "Household garbage"), ("toilets", "Public toilets"), ("sorting", "Waste sorting")]),
    ("roads", "Roads and streets", "dept-transport", Local, &[("surface", "Road surface"), ("lights", "Street lights"), ("covers", "Manhole covers")]),
    ("construction", "Construction sites", "dept-housing", Local, &[("noise", "Construction noise"), ("dust", "Construction dust"), ("safety", "Site safety")]),
    ("property", "Property management", "dept-housing", Community, &[("service", "Property services"), ("fees", "Property fees"), ("lifts", "Lifts")]),
    ("housing", "Housing", "dept-housing", Local, &[("renovation", "Old estate renovation"), ("rental", "Rentals"), ("affordable", "Affordable housing")]),
    ("demolition", "Demolition and relocation", "dept-housing", Local, &[("compensation", "Compensation"), ("illegal", "Illegal structures")]),
    ("water", "Water supply", "util-water", Utility, &[("supply", "Tap water"), ("quality", "Water quality"), ("meters", "Water meters")]),
    ("drainage", "Drainage", "util-drainage", Utility, &[("sewers", "Sewers"), ("flooding", "Waterlogging")]),
    ("gas", "Gas supply", "util-gas", Utility, &[("supply", "Gas supply"), ("safety", "Gas safety")]),
    ("heating", "Heating", "util-heating", Utility, &[("temperature", "Room temperature"), ("fees", "Heating fees"), ("pipes", "Heating pipes")]),
    ("power", "Power supply", "util-power", Utility, &[("outage", "Power outages"), ("lines", "Power lines"), ("charging", "EV charging")]),
    ("telecom", "Telecommunications", "util-telecom", Utility, &[("broadband", "Broadband"), ("mobile", "Mobile signal")]),
    ("bus", "Buses", "util-bus", Utility, &[("routes", "Bus routes"), ("stops", "Bus stops"), ("service", "Bus service")]),
    ("subway", "Subway", "util-subway", Utility, &[("stations", "Stations"), ("service", "Train service")]),
    ("traffic", "Traffic management", "dept-police", Local, &[("signals", "Traffic signals"), ("congestion", "Congestion"), ("signs", "Road signs")]),
    ("parking", "Parking", "dept-transport", Local, &[("residential", "Residential parking"), ("illegal", "Illegal parking"), ("bikes", "Shared bikes")]),
    ("taxi", "Taxis and ride hailing", "dept-transport", Line, &[("fares", "Fares"), ("service", "Driver service")]),
    ("market", "Market order", "dept-market", Line, &[("consumer", "Consumer disputes"), ("prices", "Prices"), ("licences", "Business licences")]),
    ("food", "Food safety", "dept-market", Local, &[("restaurants", "Restaurants"), ("shops", "Food shops"), ("delivery", "Food delivery")]),
    ("drugs", "Drugs and medical devices", "dept-market", Line, &[("pharmacies", "Pharmacies"), ("devices", "Medical devices")]),
    ("health", "Medical services", "dept-health", Line, &[("hospitals", "Hospitals"), ("clinics", "Community clinics"), ("appointments", "Appointments")]),
    ("epidemic", "Disease prevention", "dept-health", Local, &[("vaccination", "Vaccination"), ("infection", "Infectious disease")]),
    ("insurance", "Medical insurance", "dept-medsec", Line, &[("reimbursement", "Reimbursement"), ("enrolment", "Enrolment")]),
    ("education", "Education", "dept-education", Line, &[("enrolment", "School enrolment"), ("fees", "School fees"), ("kindergartens", "Kindergartens")]),
    ("labour", "Labour relations", "dept-hrss", Line, &[("wages", "Unpaid wages"), ("contracts", "Labour contracts")]),
    ("social", "Social security", "dept-hrss", Line, &[("pensions", "Pensions"), ("employment", "Employment services")]),
    ("elderly", "Elderly care", "dept-civil", Community, &[("services", "Home care services"), ("homes", "Care homes"), ("meals", "Meal services")]),
    ("welfare", "Social assistance", "dept-civil", Community, &[("subsistence", "Subsistence allowance"), ("hardship", "Temporary hardship")]),
    ("disability", "Disabled persons", "dept-disabled", Community, &[("access", "Accessibility"), ("subsidies", "Subsidies")]),
    ("veterans", "Veterans", "dept-veterans", Line, &[("benefits", "Benefits"), ("placement", "Job placement")]),
    ("environment", "Air and water pollution", "dept-ecology", Local, &[("smoke", "Smoke and odours"), ("rivers", "River pollution"), ("enterprises", "Polluting businesses")]),
    ("noise", "Noise", "dept-ecology", Local, &[("night", "Night noise"), ("business", "Business noise"), ("traffic", "Traffic noise")]),
    ("greening", "Parks and greening", "dept-landscape", Local, &[("parks", "Parks"), ("trees", "Street trees")]),
    ("planning", "Planning and land", "dept-planning", Line, &[("permits", "Planning permits"), ("land", "Land use")]),
    ("villages", "Rural affairs", "dept-agriculture", Local, &[("land", "Village land"), ("roads", "Village roads"), ("subsidies", "Farm subsidies")]),
    ("animals", "Animals", "dept-agriculture", Community, &[("dogs", "Dogs"), ("strays", "Stray animals")]),
    ("order", "Public order", "dept-police", Local, &[("disturbance", "Disturbances"), ("fraud", "Fraud")]),
    ("residence", "Household registration", "dept-police", Line, &[("hukou", "Hukou"), ("residence", "Residence permits")]),
    ("safety", "Work safety", "dept-emergency", Local, &[("hazards", "Safety hazards"), ("chemicals", "Hazardous chemicals")]),
    ("fire", "Fire safety", "dept-fire", Local, &[("exits", "Blocked exits"), ("equipment", "Fire equipment")]),
    ("culture", "Culture and tourism", "dept-culture", Line, &[("venues", "Venues"), ("tours", "Tour groups"), ("heritage", "Heritage sites")]),
    ("sports", "Sports", "dept-sports", Community, &[("fitness", "Fitness equipment"), ("venues", "Sports venues")]),
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
    for (cat, _, _, _, subs) in CATEGORIES {
        for (sub, name) in subs.iter() {
            let _ = write!(
                out,
                "\n[[subcategory]]\ncode = \"{cat}.{sub}\"\ncategory = {}\nname = {}\n",
                quote(cat),
                quote(name)
            );
        }
    }
    for (cat, _, handler, kind, subs) in CATEGORIES {
        for (i, (sub, sub_name)) in subs.iter().enumerate() {
            // Three items per subcategory: a complaint, a question, and a
            // third by kind, alternating hazards with disputes.
            let third = match (kind, i % 2) {
                (Utility, 0) => OUTAGE,
                (_, 0) => HAZARD,
                _ => DISPUTE,
            };
            for (aspect, what, urgency) in [COMPLAINT, QUESTION, third] {
                let mut item = format!(
                    "\n[[catalogue]]\ncode = \"{cat}.{sub}.{aspect}\"\nsubcategory = \"{cat}.{sub}\"\nname = {}\nurgency = \"{urgency}\"\ndepartment = {}\n",
                    quote(&format!("{sub_name}: {what}")),
                    quote(handler)
                );
                let territory = *kind != Line || aspect == "hazard";
                if territory {
                    item += "territory = true\n";
                }
                if aspect == "question" {
                    item += &format!(
                        "answer = {}\n",
                        quote(&format!(
                            "{sub_name}: the rules and the office to apply to are published by the responsible department; the hotline can read them out."
                        ))
                    );
                }
                if *kind == Community && aspect == "complaint" {
                    item += "duty_list = true\n";
                }
                if aspect == "dispute" || (*kind == Local && aspect == "complaint" && i == 0) {
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
        for (code, _, handler, _, _) in CATEGORIES {
            assert!(
                DEPARTMENTS.iter().chain(UTILITIES).any(|d| d.0 == *handler),
                "{code}: no department {handler}"
            );
        }
    }
}
