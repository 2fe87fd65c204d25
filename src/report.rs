//! `hotline report`: scorecards and rankings through a running gateway,
//! as a readable table, JSON or CSV (rendered by
//! `hotline_client::scorecards`).

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
            print!("{}", csv(cards.into_iter()));
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
                .filter_map(|e| e.scorecard.as_ref()))
        );
    } else {
        print!("{}", rankings_table(&all));
    }
    Ok(())
}
