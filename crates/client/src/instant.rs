//! Instants for people: Asia/Shanghai wall time in and out.

/// `YYYY-MM-DDTHH:MM[:SS]` in Asia/Shanghai, or UTC microseconds.
pub fn parse_instant(s: &str) -> anyhow::Result<hotline_core::Micros> {
    if let Ok(us) = s.parse::<i64>() {
        return Ok(us);
    }
    let bad = || anyhow::anyhow!("instant: {s:?} is not YYYY-MM-DDTHH:MM[:SS] nor microseconds");
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(bad)?;
    let date = hotline_core::calendar::Date::parse(date).ok_or_else(bad)?;
    let mut parts = time.split(':').map(|p| p.parse::<i64>());
    let h = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
    let m = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
    let sec = parts.next().transpose().map_err(|_| bad())?.unwrap_or(0);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return Err(bad());
    }
    Ok(date.start() + ((h * 60 + m) * 60 + sec) * 1_000_000)
}

/// An instant as Shanghai wall time, for people.
pub fn show_instant(us: hotline_core::Micros) -> String {
    let d = hotline_core::calendar::Date::of(us);
    let secs = (us - d.start()) / 1_000_000;
    format!(
        "{d} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
