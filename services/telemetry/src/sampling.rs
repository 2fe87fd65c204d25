//! Which traces a process keeps. The standard `OTEL_TRACES_SAMPLER` and
//! `OTEL_TRACES_SAMPLER_ARG` come first, as every OTel SDK reads them, so
//! one setting in a deployment's environment governs every process; then
//! the process's own `--trace-sample-ratio`; then every trace. A value the
//! SDKs do not define is reported and ignored, not fatal: a start-up should
//! not fail on a variable meant for another program.

use anyhow::ensure;
use opentelemetry_sdk::trace::Sampler;

pub const SAMPLER_ENV: &str = "OTEL_TRACES_SAMPLER";
pub const SAMPLER_ARG_ENV: &str = "OTEL_TRACES_SAMPLER_ARG";

/// The two standard variables, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    pub sampler: Option<String>,
    pub arg: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            sampler: var(SAMPLER_ENV),
            arg: var(SAMPLER_ARG_ENV),
        }
    }
}

/// The sampler chosen, where it came from, and why a setting was passed
/// over, if one was.
#[derive(Debug)]
pub struct Choice {
    pub sampler: Sampler,
    pub source: Source,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `OTEL_TRACES_SAMPLER`.
    Env,
    /// The process's own ratio.
    Ratio,
    /// Neither: every trace, parent-based.
    Default,
}

/// `ratio` of new traces, parent-based: a call continues its caller's
/// decision, so a kept trace is kept whole.
pub fn ratio(ratio: f64) -> anyhow::Result<Sampler> {
    ensure!(
        (0.0..=1.0).contains(&ratio),
        "trace sample ratio: {ratio} is not between 0 and 1"
    );
    Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        ratio,
    ))))
}

/// The standard variables first, then `own` (the process's ratio), then
/// every trace.
pub fn choose(env: Env, own: Option<Sampler>) -> Choice {
    let fallback = |warning| match own {
        Some(sampler) => Choice {
            sampler,
            source: Source::Ratio,
            warning,
        },
        None => Choice {
            sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            source: Source::Default,
            warning,
        },
    };
    let Some(name) = env.sampler else {
        return fallback(None);
    };
    match from_env(name.trim(), env.arg.as_deref()) {
        Ok(sampler) => Choice {
            sampler,
            source: Source::Env,
            warning: None,
        },
        Err(e) => fallback(Some(format!("{SAMPLER_ENV}={name:?} ignored: {e}"))),
    }
}

/// The samplers the OTel SDK environment specification defines, except
/// the remote ones (`jaeger_remote`, `xray`), which need a server.
fn from_env(name: &str, arg: Option<&str>) -> anyhow::Result<Sampler> {
    let arg_ratio = || -> anyhow::Result<f64> {
        // The specification's default when the argument is absent.
        let Some(arg) = arg else { return Ok(1.0) };
        let r: f64 = arg
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{SAMPLER_ARG_ENV}={arg:?} is not a number"))?;
        ensure!(
            (0.0..=1.0).contains(&r),
            "{SAMPLER_ARG_ENV}={arg:?} is not between 0 and 1"
        );
        Ok(r)
    };
    let parent_based = |s| Sampler::ParentBased(Box::new(s));
    Ok(match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(arg_ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(arg_ratio()?)),
        other => anyhow::bail!(
            "{other:?} is not one of always_on, always_off, traceidratio, \
             parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(sampler: &str, arg: Option<&str>) -> Env {
        Env {
            sampler: Some(sampler.into()),
            arg: arg.map(Into::into),
        }
    }

    /// The sampler as text: `Sampler` has no `PartialEq`.
    fn shown(c: &Choice) -> String {
        format!("{:?}", c.sampler)
    }

    #[test]
    fn the_standard_variable_wins_over_our_ratio() {
        let c = choose(env("always_off", None), Some(ratio(1.0).unwrap()));
        assert_eq!((c.source, shown(&c).as_str()), (Source::Env, "AlwaysOff"));
        let c = choose(env("always_on", None), Some(ratio(0.0).unwrap()));
        assert_eq!((c.source, shown(&c).as_str()), (Source::Env, "AlwaysOn"));
        assert!(c.warning.is_none());
    }

    #[test]
    fn reads_every_sampler_the_specification_defines() {
        for (name, arg, want) in [
            ("traceidratio", Some("0.25"), "TraceIdRatioBased(0.25)"),
            ("traceidratio", None, "TraceIdRatioBased(1.0)"),
            ("parentbased_always_on", None, "ParentBased(AlwaysOn)"),
            ("parentbased_always_off", None, "ParentBased(AlwaysOff)"),
            (
                "parentbased_traceidratio",
                Some(" 0.5 "),
                "ParentBased(TraceIdRatioBased(0.5))",
            ),
        ] {
            let c = choose(env(name, arg), None);
            assert_eq!(c.source, Source::Env, "{name}");
            assert_eq!(shown(&c), want, "{name} {arg:?}");
        }
    }

    #[test]
    fn a_value_it_cannot_use_falls_back_to_ours_with_a_warning() {
        for (name, arg) in [
            ("xray", None),
            ("sometimes", None),
            ("traceidratio", Some("half")),
            ("parentbased_traceidratio", Some("2")),
        ] {
            let c = choose(env(name, arg), Some(ratio(0.1).unwrap()));
            assert_eq!(c.source, Source::Ratio, "{name} {arg:?}");
            assert_eq!(shown(&c), "ParentBased(TraceIdRatioBased(0.1))");
            let warning = c.warning.expect("a warning");
            assert!(warning.contains(SAMPLER_ENV), "{warning}");
        }
    }

    #[test]
    fn without_either_every_trace_is_kept() {
        let c = choose(Env::default(), None);
        assert_eq!(
            (c.source, shown(&c).as_str()),
            (Source::Default, "ParentBased(AlwaysOn)")
        );
        let c = choose(Env::default(), Some(ratio(0.1).unwrap()));
        assert_eq!(c.source, Source::Ratio);
        assert!(ratio(1.5).is_err() && ratio(-0.1).is_err());
    }
}
