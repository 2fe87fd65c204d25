//! Log lines carry the trace id of the work they belong to, so a line in
//! a log search leads to its trace and back. JSON lines get `trace_id` and
//! `span_id` fields; text lines end with `trace_id=…`. Lines outside any
//! traced work (start-up, shutdown) have none.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Wraps a formatter, adding the current trace id to each line.
pub struct WithTraceId<F> {
    pub inner: F,
    pub json: bool,
}

/// The ids of the current span. Asked of the dispatcher, not of the log
/// layer's context: the log layer filters spans out (their fields would
/// crowd every line), so it has no current span of its own.
fn current_ids() -> Option<(String, String)> {
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

impl<S, N, F> FormatEvent<S, N> for WithTraceId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = current_ids() else {
            return self.inner.format_event(ctx, writer, event);
        };
        if writer.has_ansi_escapes() {
            // A terminal: colours matter more than placement.
            write!(writer, "{trace_id} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.trim_end_matches('\n');
        if self.json {
            match body.strip_prefix('{') {
                Some(rest) => writeln!(
                    writer,
                    "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
                ),
                None => writeln!(writer, "{body}"),
            }
        } else {
            writeln!(writer, "{body} trace_id={trace_id}")
        }
    }
}
