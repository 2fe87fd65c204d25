//! The live dashboard (一张图) at `/`, for operators only:
//!
//! | path | page |
//! |---|---|
//! | `/` | the three rates of the operator's area and of each unit under it, the rankings by peer group, the map (`?colour=overdue` for the overdue share), the deadlines due soon, the whistles open |
//! | `/orders/{id}` | an order's timeline: the rows `hotline trace` prints, and its spans in Jaeger |
//! | `/orders?id=` | the search box: on to the order |
//! | `/digest` | the weekly digest (民情摘报) of the operator's area (`?week=2026-W49`) |
//! | `/assets/…` | the stylesheet, the refresh script and the icon, from the binary |
//!
//! Server-rendered HTML in one small layout, labels in Chinese and
//! English; the charts and the map are SVG drawn here
//! (`hotline_charts`), so nothing is fetched from elsewhere and the page
//! works offline. "Live": a few lines of script fetch the page again
//! every 30 s and swap its sections in.
//!
//! Who sees it ([`access`]): a person whose client certificate proves an
//! operator with the supervise role; each part is kept to what that
//! operator could read themselves. The figures come through the gateway
//! as the web front ([`data`]), by the calls the command line makes.

pub mod access;
mod assets;
pub mod data;
mod digest;
mod overview;
mod page;
mod timeline;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hotline_core::Topology;
use hotline_identity::Security;
use http::StatusCode;

use crate::{Caller, WebState};
use access::Viewer;
use page::{html, layout, note, section};

/// Where Jaeger's UI is when nobody says (`hotline web --jaeger-url`).
pub const DEFAULT_JAEGER_URL: &str = "http://127.0.0.1:16686";

/// The dashboard's reader of the mesh and its settings.
#[derive(Clone)]
pub struct Dashboard {
    reader: data::Reader,
    /// Jaeger's UI, for the links to an order's spans.
    jaeger: String,
}

impl Dashboard {
    pub fn new(gateway: &str, security: &Security, topology: &Topology) -> anyhow::Result<Self> {
        Ok(Self {
            reader: data::Reader::new(gateway, security, topology)?,
            jaeger: DEFAULT_JAEGER_URL.to_string(),
        })
    }

    /// Links to Jaeger's UI at `url`.
    pub fn with_jaeger(mut self, url: &str) -> Self {
        self.jaeger = url.trim_end_matches('/').to_string();
        self
    }
}

/// The dashboard's routes.
pub fn routes() -> axum::Router<WebState> {
    axum::Router::new()
        .route("/", get(overview))
        .route("/orders", get(find_order))
        .route("/orders/{id}", get(order))
        .route("/digest", get(digest))
        .route("/assets/{file}", get(assets::asset))
}

/// One query parameter's value.
fn param(query: &Option<String>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The operator looking, or why not (for [`access::refused`]).
fn viewer<'a>(s: &'a WebState, caller: &Caller) -> Result<Viewer<'a>, access::Refused> {
    Viewer::of(&s.topology, s.config.security.is_mtls(), caller).inspect_err(|why| {
        tracing::info!(caller = ?caller.0.as_ref().map(|p| p.path()), ?why, "dashboard refused");
    })
}

async fn overview(caller: Caller, State(s): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let v = match viewer(&s, &caller) {
        Ok(v) => v,
        Err(why) => return access::refused(&why),
    };
    let colour = overview::Colour::parse(param(&q, "colour").as_deref());
    let r = &s.dashboard.reader;
    let (rates, rankings, deadlines) = tokio::join!(r.rates(&v), r.rankings(&v), r.deadlines(&v));
    let whistles = match &deadlines {
        Ok(d) => r.open_whistles(&s.topology, &v, d).await,
        Err(e) => Err(e.clone()),
    };
    let o = overview::Overview {
        rates,
        rankings,
        deadlines,
        whistles,
    };
    let body = overview::body(&s.topology, &v, &o, colour);
    html(
        StatusCode::OK,
        layout("一张图", "Dashboard", Some(&v), &body),
    )
}

/// The search box: `/orders?id=HL…` goes on to the order's page.
async fn find_order(caller: Caller, State(s): State<WebState>, RawQuery(q): RawQuery) -> Response {
    if let Err(why) = viewer(&s, &caller) {
        return access::refused(&why);
    }
    let id = param(&q, "id").unwrap_or_default();
    let id = id.trim().trim_start_matches("orders/");
    if id.is_empty() {
        return Redirect::to("/").into_response();
    }
    Redirect::to(&format!("/orders/{}", page::encode(id))).into_response()
}

async fn order(caller: Caller, State(s): State<WebState>, Path(id): Path<String>) -> Response {
    let v = match viewer(&s, &caller) {
        Ok(v) => v,
        Err(why) => return access::refused(&why),
    };
    let id = id.trim_start_matches("orders/").to_string();
    let title = ("工单", "Order");
    let missing = |status: StatusCode, zh: &str, en: &str| {
        let body = section("order", "工单时间线", "Order timeline", &note(zh, en));
        html(status, layout(title.0, title.1, Some(&v), &body))
    };
    if !valid_order_id(&id) {
        return missing(
            StatusCode::BAD_REQUEST,
            "工单号无效",
            "Not an order id: letters, digits, '-' and '_' only",
        );
    }
    match s.dashboard.reader.timeline(&v, &id).await {
        Ok(Some(t)) => html(
            StatusCode::OK,
            layout(
                title.0,
                title.1,
                Some(&v),
                &timeline::body(&t, &id, &s.dashboard.jaeger),
            ),
        ),
        Ok(None) => missing(
            StatusCode::FORBIDDEN,
            "无权查看此工单",
            "This order is not within your scope",
        ),
        Err(e) => {
            let e = e.to_string();
            if e.starts_with("NotFound") {
                missing(StatusCode::NOT_FOUND, "没有此工单", "No such order")
            } else {
                let body = section(
                    "order",
                    "工单时间线",
                    "Order timeline",
                    &page::unavailable(&e),
                );
                html(
                    StatusCode::BAD_GATEWAY,
                    layout(title.0, title.1, Some(&v), &body),
                )
            }
        }
    }
}

/// An order id as the centre issues them.
fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn digest(caller: Caller, State(s): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let v = match viewer(&s, &caller) {
        Ok(v) => v,
        Err(why) => return access::refused(&why),
    };
    let week = param(&q, "week").unwrap_or_default();
    let body = match s.dashboard.reader.digest(&v, week.trim()).await {
        Some(Ok(r)) => digest::body(&r),
        Some(Err(e)) => section(
            "digest",
            "民情摘报",
            "Weekly digest",
            &page::unavailable(&e),
        ),
        None => section(
            "digest",
            "民情摘报",
            "Weekly digest",
            &note(
                "摘报按市或区编制，不在您的范围内",
                "Digests are of the city or a district: none is within your scope",
            ),
        ),
    };
    html(
        StatusCode::OK,
        layout("民情摘报", "Weekly digest", Some(&v), &body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_checked_before_any_call() {
        assert!(valid_order_id("HL26111600001"));
        assert!(!valid_order_id(""));
        assert!(!valid_order_id("../etc"));
        assert!(!valid_order_id("HL1?x=1"));
        assert_eq!(
            param(&Some("colour=overdue&x=1".into()), "colour").as_deref(),
            Some("overdue")
        );
        assert_eq!(param(&None, "id"), None);
    }
}
