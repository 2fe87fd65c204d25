//! The dashboard's one layout and the pieces every page is made of:
//! bilingual labels (「响应率 Response rate」), tables, rates, and the
//! answer as HTML with the headers every page carries.

use std::fmt::Write as _;

use axum::response::{IntoResponse, Response};
use hotline_proto::v1::Rate;
use http::{HeaderValue, StatusCode, header};

pub use hotline_charts::esc;

use super::access::Viewer;

/// How often the page fetches its sections again.
pub const REFRESH_SECONDS: u32 = 30;

/// Everything from this server, nothing inline but styles (plotters'
/// SVG carries some): a page that loads offline, and a script injected
/// into a figure would not run.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A label in both languages: `<span lang="zh">响应率</span> Response rate`.
pub fn bi(zh: &str, en: &str) -> String {
    format!("<span lang=\"zh\">{}</span> {}", esc(zh), esc(en))
}

/// A whole page: the header with the search box and who is looking, the
/// page's sections, and the refresh script.
pub fn layout(title_zh: &str, title_en: &str, viewer: Option<&Viewer>, body: &str) -> String {
    let who = viewer.map_or(String::new(), |v| {
        format!(
            "<p class=\"who\">{} <b>{}</b> · {} {}</p>",
            bi("操作员", "Operator"),
            esc(v.name()),
            bi("范围", "scope"),
            esc(&v.scope_label())
        )
    });
    let nav = if viewer.is_some() {
        format!(
            "<nav><a href=\"/\">{}</a> <a href=\"/digest\">{}</a>\
             <form action=\"/orders\" method=\"get\" role=\"search\"><label for=\"order-id\">{}</label> \
             <input id=\"order-id\" name=\"id\" placeholder=\"HL26111600001\" autocomplete=\"off\" required> \
             <button type=\"submit\">{}</button></form></nav>",
            bi("总览", "Overview"),
            bi("民情摘报", "Weekly digest"),
            bi("工单", "Order"),
            bi("查看", "Open")
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {} · 12345</title>\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\
         <script src=\"/assets/dashboard.js\" defer></script></head>\
         <body data-refresh=\"{REFRESH_SECONDS}\"><header><h1>{}</h1>{who}{nav}</header>\
         <main>{body}</main><footer><p>{} · <span id=\"live-status\">{}</span></p></footer></body></html>",
        esc(title_zh),
        esc(title_en),
        bi(title_zh, title_en),
        bi(
            "数据经网关读取，每30秒刷新",
            &format!("Read through the gateway, refreshed every {REFRESH_SECONDS} s")
        ),
        bi("实时", "live")
    )
}

/// A page as the answer, with its status.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A section the refresh script swaps in anew: `id` names it on both
/// the old page and the new.
pub fn section(id: &str, zh: &str, en: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\" data-live><h2>{}</h2>{body}</section>",
        bi(zh, en)
    )
}

/// A line saying why a section is empty or missing.
pub fn note(zh: &str, en: &str) -> String {
    format!("<p class=\"note\">{}</p>", bi(zh, en))
}

/// A read that failed, said in the section it was for.
pub fn unavailable(what: &str) -> String {
    format!(
        "<p class=\"note error\">{}: {}</p>",
        bi("暂不可用", "Unavailable"),
        esc(what)
    )
}

/// A table: bilingual header cells, then rows of ready cells (`<td…>`).
pub fn table(class: &str, head: &[(&str, &str)], rows: &[String]) -> String {
    let mut out = format!("<table class=\"{class}\"><thead><tr>");
    for (zh, en) in head {
        let _ = write!(out, "<th>{}</th>", bi(zh, en));
    }
    out += "</tr></thead><tbody>";
    for r in rows {
        out += r;
    }
    out + "</tbody></table>"
}

/// A cell of text.
pub fn td(s: &str) -> String {
    format!("<td>{}</td>", esc(s))
}

/// A rate's cell: the share with its numerator over denominator, and the
/// exact value in `data-value` (absent when there was nothing to rate):
/// the figure `hotline report --json` prints as `value`.
pub fn rate_cell(name: &str, r: &Option<Rate>) -> String {
    let r = r.unwrap_or_default();
    match r.value {
        Some(v) => format!(
            "<td class=\"rate\" data-rate=\"{name}\" data-value=\"{v}\">{:.1}% <small>({}/{})</small></td>",
            v * 100.0,
            trim(r.numerator),
            r.denominator
        ),
        None => format!(
            "<td class=\"rate none\" data-rate=\"{name}\">— <small>(0/{})</small></td>",
            r.denominator
        ),
    }
}

/// A numerator: whole, or one decimal when a weight made it fractional.
fn trim(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A link to an order's timeline.
pub fn order_link(order_id: &str) -> String {
    let id = order_id.trim_start_matches("orders/");
    format!("<a href=\"/orders/{}\">{}</a>", esc(&encode(id)), esc(id))
}

/// `s` as one path segment or query value.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_rate_carries_its_exact_value_and_none_says_so() {
        let r = Some(Rate {
            numerator: 19.5,
            denominator: 20,
            value: Some(0.975),
        });
        assert_eq!(
            rate_cell("response", &r),
            "<td class=\"rate\" data-rate=\"response\" data-value=\"0.975\">97.5% <small>(19.5/20)</small></td>"
        );
        let none = rate_cell("resolution", &None);
        assert!(!none.contains("data-value"), "{none}");
        assert!(none.contains("—"), "{none}");
    }

    #[test]
    fn text_and_links_are_escaped() {
        assert_eq!(td("<b>&"), "<td>&lt;b&gt;&amp;</td>");
        assert_eq!(
            order_link("orders/HL1\"x"),
            "<a href=\"/orders/HL1%22x\">HL1&quot;x</a>"
        );
        assert!(bi("区", "District").starts_with("<span lang=\"zh\">区</span>"));
    }
}
