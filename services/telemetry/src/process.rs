//! The standard `process_*` metrics every Prometheus client exports (CPU,
//! memory, file descriptors, start time), read from `/proc` at each
//! scrape, and `hotline_build_info`. Off Linux the `process_*` family is
//! simply absent.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks a second in `/proc/<pid>/stat`: Linux's USER_HZ, 100 on
/// every architecture it runs on (the kernel's own HZ is hidden from it).
const TICKS: f64 = 100.0;

/// One reading of the process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub start_time_seconds: f64,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

impl Reading {
    /// This process, now; `None` without a Linux `/proc`.
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let mut r = parse(&stat, &boot, &status)?;
        r.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as f64);
        r.max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| max_open_files(&l));
        Some(r)
    }
}

/// Reads `/proc/self/stat`, `/proc/stat` and `/proc/self/status`.
fn parse(stat: &str, boot: &str, status: &str) -> Option<Reading> {
    // The command name may hold spaces and parentheses: fields start
    // after its last `)`, with the state, field 3.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let field = |n: usize| -> Option<f64> { fields.get(n - 3)?.parse().ok() };
    let (utime, stime, start, vsize) = (field(14)?, field(15)?, field(22)?, field(23)?);
    let btime: f64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(Reading {
        cpu_seconds: (utime + stime) / TICKS,
        resident_bytes: rss_kb * 1024.0,
        virtual_bytes: vsize,
        start_time_seconds: btime + start / TICKS,
        open_fds: None,
        max_fds: None,
    })
}

/// The soft limit in `/proc/self/limits`; none when unlimited.
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Encodes a fresh [`Reading`] at each scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(r) = Reading::now() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(r.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Some(r.resident_bytes),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                Some(r.virtual_bytes),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                Some(r.start_time_seconds),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                r.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                r.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
            }
        }
        Ok(())
    }
}

/// `hotline_build_info{version="…"} 1`: which build a process runs, to
/// join on in queries and to see a rollout progress.
#[derive(Debug, Default)]
pub struct BuildInfo;

impl Collector for BuildInfo {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let g = ConstGauge::new(1i64);
        let mut m = encoder.encode_descriptor(
            "hotline_build_info",
            "The hotline build a process runs: always 1, its version in a label",
            None,
            g.metric_type(),
        )?;
        g.encode(m.encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (hotline (serve)) S 1 4242 4242 0 -1 4194560 2270 0 0 0 \
                        350 125 0 0 20 0 9 0 5000 812421120 4096 18446744073709551615";
    const BOOT: &str = "cpu  1 2 3\nbtime 1764800000\nprocesses 9\n";
    const STATUS: &str = "Name:\thotline\nVmRSS:\t   16384 kB\nThreads:\t9\n";

    #[test]
    fn reads_cpu_memory_and_start_from_proc_text() {
        let r = parse(STAT, BOOT, STATUS).expect("parsed");
        assert_eq!(r.cpu_seconds, 4.75);
        assert_eq!(r.resident_bytes, 16384.0 * 1024.0);
        assert_eq!(r.virtual_bytes, 812421120.0);
        assert_eq!(r.start_time_seconds, 1764800000.0 + 50.0);
        assert!(parse("garbage", BOOT, STATUS).is_none());
    }

    #[test]
    fn reads_the_soft_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }
}
