//! `hotline report`: scorecards and rankings through a running gateway,
//! as a readable table or JSON (rendered by `hotline_client::scorecards`),
//! or CSV written by the csv crate.

use clap::Args;
use hotline_proto::v1::*;

pub use crate::client::scorecards::*;

use crate::identity::GatewayArg;

#[derive(Args, Clone)]
pub struct ReportArgs {
    /// A unit's scorecard, rolled up over its subtree by the unit's own
    /// service (children that do not answer are named).
    #[arg(long)]
    pub unit: Option<String>,
    /// Rankings of this tier's peer groups: township, district,
    /// department, central.
    #[arg(long)]
    pub tier: Option<String>,
    /// YYYY-MM (Asia/Shanghai); the current month when omitted.
    #[arg(long, default_value = "")]
    pub month: String,
    /// The unit reading (a unit reads only its own subtree).
    #[arg(long = "as", default_value = "city")]
    pub reader: String,
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    #[arg(long)]
    pub csv: bool,
    #[command(flatten)]
    pub at: GatewayArg,
}

pub async fn run(a: ReportArgs) -> anyhow::Result<()> {
    let client = a.at.client()?;
    if let Some(unit) = &a.unit {
        let unit = unit.trim_start_matches("units/");
        let r = client.roll_up(&a.reader, unit, &a.month, None).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&roll_up_json(&r))?);
        } else if a.csv {
            let mut cards: Vec<&Scorecard> = r.combined.iter().chain(&r.own).collect();
            cards.extend(&r.children);
            print!("{}", csv(cards.into_iter())?);
        } else {
            print!("{}", roll_up_table(&r));
        }
        return Ok(());
    }
    let groups = match &a.tier {
        Some(t) => groups_of_tier(t)?,
        None => vec![PeerGroup::Unspecified],
    };
    let mut all = GetRankingsResponse::default();
    for g in groups {
        let req = GetRankingsRequest {
            month: a.month.clone(),
            peer_group: g as i32,
            ..Default::default()
        };
        let r = client.rankings(&a.reader, req).await?;
        all.month = r.month;
        all.rankings.extend(r.rankings);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rankings_json(&all))?);
    } else if a.csv {
        print!(
            "{}",
            csv(all
                .rankings
                .iter()
                .flat_map(|r| &r.entries)
                .filter_map(|e| e.scorecard.as_ref()))?
        );
    } else {
        print!("{}", rankings_table(&all));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_comma_and_a_quote_reads_back_as_one_field() {
        let name = "National Railway Group, \"Demo City\" Bureau";
        let card = Scorecard {
            unit: "units/c-rail".into(),
            name: name.into(),
            tier: Tier::Central as i32,
            month: "2026-11".into(),
            response: Some(Rate {
                numerator: 19.5,
                denominator: 20,
                value: Some(0.975),
            }),
            composite: Some(0.5),
            overdue: 3,
            ..Default::default()
        };
        let text = csv([card.clone(), card].iter()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            &csv::StringRecord::from(CSV_HEADER.to_vec())
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2, "{text}");
        for row in &rows {
            assert_eq!(row.len(), CSV_HEADER.len(), "{text}");
            let at = |col: &str| &row[CSV_HEADER.iter().position(|h| *h == col).unwrap()];
            assert_eq!(at("unit"), "c-rail");
            assert_eq!(at("name"), name);
            assert_eq!(at("tier"), "central");
            assert_eq!(at("response_num"), "19.5");
            assert_eq!(at("response_den"), "20");
            assert_eq!(at("response"), "0.975000");
            assert_eq!(at("resolution"), "", "no rate: an empty field");
            assert_eq!(at("overdue"), "3");
        }
    }
}
