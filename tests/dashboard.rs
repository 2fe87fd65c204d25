//! The live dashboard (一张图) as an operator gets it: a mesh of processes
//! with the web front, some orders seeded through the gateway, and
//! Debian's Chromium, headless, driven through chromedriver (WebDriver,
//! by the fantoccini crate), presenting the operator's certificate from
//! an NSS database the way a person's browser would.
//!
//! What a person would check: nobody but an operator gets in; each page
//! loads without a console error (and an error would be seen); the map
//! draws every unit with a territory; the rankings and rates are the
//! figures `hotline report --json` prints; an order's timeline has the
//! rows `hotline trace --json` has. Screenshots go to
//! target/test-artifacts/dashboard-*.png.
//!
//! The browser needs `chromium`, `chromium-driver`, `libnss3-tools` and
//! `openssl` (.ci/run installs them); without them the browser part is
//! skipped loudly, and under `CI=true` it fails. Chromium picks the
//! operator's certificate without asking by the `AutoSelectCertificateForUrls`
//! policy, which Linux reads from /etc/chromium/policies/managed/ (the
//! test writes it there: it runs as root, as CI does).

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use hotline_identity::{IssueOptions, Pki, Principal};
use hotline_proto::v1::*;
use hotline_testkit::Store;
use serde_json::{Value, json};

use crate::support::{
    Spec, T0, TestMesh, WAIT, fresh_complaint, https_get, processes, request_id, submit, t0,
    wait_until,
};

const MINUTE: i64 = 60_000_000;

/// Where Chromium reads managed policies on Linux.
const POLICY_DIR: &str = "/etc/chromium/policies/managed";
const POLICY_FILE: &str = "hotline-dashboard.json";

/// The policy that lets Chromium present a mesh certificate to any
/// loopback HTTPS server without asking (docs/dashboard.md).
fn policy() -> String {
    let rule = json!({
        "pattern": "https://127.0.0.1:*",
        "filter": {"ISSUER": {"CN": "hotline mesh CA"}},
    });
    json!({"AutoSelectCertificateForUrls": [rule.to_string()]}).to_string()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo city with its operators named: `ops` city-wide with every
/// role (as the demo's default), `hill` reading Hillview only.
fn topology() -> String {
    format!(
        "{}\n[[operator]]\nname = \"ops\"\nroles = [\"control\", \"unmask\", \"supervise\"]\nscope = \"city\"\n\n\
         [[operator]]\nname = \"hill\"\nroles = [\"supervise\"]\nscope = \"d-hillview\"\n",
        hotline_testkit::DEMO_TOPOLOGY
    )
}

/// A section of a page, by its id.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}: {page}"));
    let end = start + page[start..].find("</section>").unwrap();
    &page[start..end]
}

/// Every `attr="…"` value in `html`, in order.
fn values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    html.split(&format!(" {attr}=\""))
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

/// Hillview's operator: Hillview's rates, map, deadlines; not Riverside's
/// whistle, nor an order of Riverside's; an order of Hillview's.
async fn a_district_operator_sees_the_district(url: &str, pki: &Pki, seeded: &Seeded) {
    let hill = Principal::Operator("hill".into());
    let (status, page) = https_get(url, "/", pki, Some(&hill)).await;
    assert_eq!(status, 200, "{page}");
    let mut drawn = values(section(&page, "map"), "data-unit");
    drawn.sort();
    assert_eq!(
        drawn,
        [
            "c-lake-mill",
            "c-lake-shore",
            "c-pine-orchard",
            "c-pine-village",
            "d-hillview",
            "t-lake",
            "t-pine"
        ]
    );
    let rates = values(section(&page, "rates"), "data-unit");
    assert_eq!(rates.first(), Some(&"d-hillview"), "{rates:?}");
    assert!(
        rates
            .iter()
            .all(|u| ["d-hillview", "t-pine", "t-lake", "dept-hillview-transport"].contains(u)),
        "{rates:?}"
    );
    let deadlines = section(&page, "deadlines");
    assert!(deadlines.contains(&seeded.waiting), "{deadlines}");
    assert!(!deadlines.contains(&seeded.whistled), "{deadlines}");
    assert!(
        values(section(&page, "whistles"), "data-whistle").is_empty(),
        "Riverside's whistle is not Hillview's"
    );
    let (status, page) = https_get(
        url,
        &format!("/orders/{}", seeded.replied),
        pki,
        Some(&hill),
    )
    .await;
    assert_eq!(status, 403, "Harbour Street's order: {page}");
    let (status, page) = https_get(
        url,
        &format!("/orders/{}", seeded.waiting),
        pki,
        Some(&hill),
    )
    .await;
    assert_eq!(status, 200, "Pine Town's order: {page}");
    assert!(values(&page, "data-unit").contains(&"t-pine"), "{page}");
}

/// The seeded orders.
struct Seeded {
    /// Replied by Harbour Street and called back: a rated order with
    /// handoffs.
    replied: String,
    /// Accepted by Market Street, which whistled.
    whistled: String,
    whistle: String,
    /// In Hillview, dispatched and waiting.
    waiting: String,
}

async fn seed(t: &TestMesh) -> Seeded {
    let c = &t.client;
    let replied = c
        .submit(submit(
            "sanitation.garbage",
            "3 North Quay",
            RequestKind::Complaint,
        ))
        .await
        .unwrap()
        .order_id;
    let whistled = c
        .submit(submit(
            "sanitation.garbage",
            "8 West Arcade",
            RequestKind::Complaint,
        ))
        .await
        .unwrap()
        .order_id;
    let waiting = c
        .submit(fresh_complaint("2 Pine Avenue"))
        .await
        .unwrap()
        .order_id;
    c.wait_assignment("t-harbour", &replied, 1, WAIT)
        .await
        .unwrap();
    c.wait_assignment("t-market", &whistled, 1, WAIT)
        .await
        .unwrap();
    c.wait_assignment("t-pine", &waiting, 1, WAIT)
        .await
        .unwrap();
    c.accept("t-market", &whistled, 1, &request_id())
        .await
        .unwrap();
    c.advance_to(t0() + 125 * MINUTE).await.unwrap();
    c.handle("t-harbour", &replied, 1, ReplyOutcome::Resolved)
        .await
        .unwrap();
    c.wait_order_state(&replied, OrderState::Replied, WAIT)
        .await
        .unwrap();
    c.callback(&replied, true, Satisfaction::Satisfied)
        .await
        .unwrap();
    let whistle = c
        .whistle(
            "t-market",
            &whistled,
            1,
            WhistleKind::Daily,
            &["dept-urban", "dept-housing"],
        )
        .await
        .unwrap()
        .whistle_id;
    c.advance_to(t0() + 130 * MINUTE).await.unwrap();
    wait_until("the whistle registered at Riverside", WAIT, || async {
        c.get_whistle("city", "d-riverside", &whistle).await.ok()
    })
    .await;
    Seeded {
        replied,
        whistled,
        whistle,
        waiting,
    }
}

/// `hotline ARGS --json` against the mesh, as an operator at a terminal
/// runs it (the CLI presents each unit's certificate from the mesh CA).
fn cli(t: &TestMesh, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
        .args(args)
        .args(["--gateway", &t.gateway_url, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hotline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_operators_the_figures_the_cli_prints() {
    let t = TestMesh::start(
        &Store::preferred(),
        Spec {
            web: true,
            virtual_clock: Some(T0),
            topology: Some(topology()),
            ..processes()
        },
    )
    .await;
    let url = t.web_url().expect("the mesh runs the web front");
    let pki = Pki::open(t.opts.pki_dir());
    let seeded = seed(&t).await;

    // Nobody but an operator: no certificate, a unit's, a service's, the
    // web front's own.
    let unit = Principal::Unit("t-harbour".into());
    pki.ensure(&unit, &IssueOptions::default()).unwrap();
    for holder in [
        None,
        Some(unit),
        Some(Principal::Service("gateway".into())),
        Some(hotline_core::authz::web_front()),
    ] {
        for path in ["/", &format!("/orders/{}", seeded.replied), "/digest"] {
            let (status, body) = https_get(&url, path, &pki, holder.as_ref()).await;
            assert_eq!(status, 403, "{holder:?} on {path}: {body}");
            assert!(body.contains("Forbidden"), "{body}");
        }
    }
    let ops = Principal::Operator(hotline_identity::client::OPERATOR.into());
    let (status, body) = https_get(&url, "/", &pki, Some(&ops)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("一张图"), "{body}");
    a_district_operator_sees_the_district(&url, &pki, &seeded).await;

    // The figures the command line prints, read while the mesh is still.
    let report = cli(&t, &["report"]);
    let city_report = cli(&t, &["report", "--unit", "city"]);
    let trace = cli(&t, &["trace", &seeded.replied]);
    let deadlines = cli(&t, &["deadlines"]);
    let digest = cli(&t, &["digest"]);
    assert!(
        !report["rankings"].as_array().unwrap().is_empty(),
        "{report}"
    );

    match browser() {
        Ok(()) => {
            let cli = Cli {
                report,
                city_report,
                trace,
                deadlines,
                digest,
            };
            in_chromium(&t, &url, &pki, &ops, &seeded, &cli).await
        }
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{why}: under CI=true the browser tests may not be skipped"
            );
            eprintln!("\n*** SKIPPED: the dashboard in Chromium: {why} ***\n");
        }
    }
    t.stop().await;
}

/// Chromium, chromedriver, certutil, pk12util and openssl, or what is
/// missing; and the policy directory writable.
fn browser() -> Result<(), String> {
    for (tool, arg) in [
        ("chromium", "--version"),
        ("chromedriver", "--version"),
        ("certutil", "-H"),
        ("pk12util", "-h"),
        ("openssl", "version"),
    ] {
        if Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Err(format!(
                "no {tool} on PATH (apt-get install -y chromium chromium-driver libnss3-tools openssl)"
            ));
        }
    }
    std::fs::create_dir_all(POLICY_DIR)
        .and_then(|()| std::fs::write(Path::new(POLICY_DIR).join(POLICY_FILE), policy()))
        .map_err(|e| format!("cannot write Chromium's policy in {POLICY_DIR}: {e}"))
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An NSS database in `home` (where Chromium on Linux keeps a person's
/// certificates) holding the operator's key and certificate, and the mesh
/// CA trusted for servers: what docs/dashboard.md tells a person to do.
fn operator_nssdb(home: &Path, pki: &Pki, operator: &Principal) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let sql = format!("sql:{}", db.display());
    run("certutil", &["-N", "-d", &sql, "--empty-password"]);
    let files = pki.files(operator);
    let p12 = home.join("operator.p12");
    let path = |p: &Path| p.display().to_string();
    run(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &path(&files.key),
            "-in",
            &path(&files.cert),
            "-name",
            "hotline operator",
            "-passout",
            "pass:",
            "-out",
            &path(&p12),
        ],
    );
    run("pk12util", &["-d", &sql, "-i", &path(&p12), "-W", ""]);
    run(
        "certutil",
        &[
            "-A",
            "-d",
            &sql,
            "-t",
            "C,,",
            "-n",
            "hotline mesh CA",
            "-i",
            &path(&pki.ca_cert()),
        ],
    );
}

/// chromedriver on a free port, with HOME at the operator's NSS database,
/// in a process group of its own: dropped (a failed assertion included),
/// the group goes, the browsers it started with it.
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

async fn chromedriver(home: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(home.join("chromedriver.log")).unwrap();
    let child = Command::new("chromedriver")
        .process_group(0)
        .arg(format!("--port={port}"))
        .env("HOME", home)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let driver = Driver { child, port };
    wait_until("chromedriver listening", WAIT, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;
    driver
}

/// The browser's console since the last read (chromedriver's log of
/// type `browser`, kept by the `goog:loggingPrefs` capability).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// The console's errors since the last read.
async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Opens `path`, waits for its `ready` element, checks the console is
/// clean and the refresh script ran, and keeps a screenshot.
async fn visit(c: &Client, url: &str, path: &str, ready: &str, shot: &str) {
    c.goto(&format!("{url}{path}")).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(ready))
        .await
        .unwrap_or_else(|e| panic!("{path}: no {ready}: {e}"));
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "{path}: console errors {errors:?}");
    let live = c
        .execute(
            "return document.documentElement.getAttribute('data-live-refresh');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(live, json!("30"), "{path}: the refresh script did not run");
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{shot}: not a PNG");
    let file = artifacts().join(shot);
    std::fs::write(&file, png).unwrap();
    eprintln!("screenshot: {}", file.display());
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Every number as a double: the page's `1` is the report's `1.0`.
fn numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, numbers(v))).collect()),
        v => v,
    }
}

/// What the command line printed: `hotline report`, `report --unit
/// city`, `trace` of the replied order, `deadlines`; all `--json`.
struct Cli {
    report: Value,
    city_report: Value,
    trace: Value,
    deadlines: Value,
    digest: Value,
}

async fn in_chromium(
    t: &TestMesh,
    url: &str,
    pki: &Pki,
    operator: &Principal,
    seeded: &Seeded,
    cli: &Cli,
) {
    let Cli {
        report,
        city_report,
        trace,
        deadlines,
        digest,
    } = cli;
    let home = tempfile::tempdir().unwrap();
    operator_nssdb(home.path(), pki, operator);
    let driver = chromedriver(home.path()).await;
    let caps = json!({
        "goog:chromeOptions": {"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--window-size=1400,2600",
            format!("--user-data-dir={}", home.path().join("profile").display()),
        ]},
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{}/", driver.port))
        .await
        .unwrap();

    // The overview, with the operator's certificate picked by policy.
    visit(&c, url, "/", "#map svg", "dashboard-overview.png").await;
    let who = c
        .find(Locator::Css("header .who"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(who.contains("ops"), "{who}");

    // The console is watched: an error thrown now is seen.
    js(
        &c,
        "setTimeout(function () { throw new Error('deliberate error for the collector'); }, 0); return true;",
    )
    .await;
    let seen = wait_until("the deliberate error in the console", WAIT, || async {
        let errors = console_errors(&c).await;
        errors
            .iter()
            .any(|e| e.contains("deliberate error for the collector"))
            .then_some(errors)
    })
    .await;
    assert!(!seen.is_empty());

    // The map: one element per unit with a territory, each with its
    // tooltip; nothing else.
    let drawn = js(
        &c,
        "return Array.from(document.querySelectorAll('#map svg [data-unit]')).map(function (e) {
            return [e.getAttribute('data-unit'), !!e.querySelector(':scope > title')]; });",
    )
    .await;
    let drawn: Vec<(String, bool)> = serde_json::from_value(drawn).unwrap();
    let atlas = t.topology.atlas();
    let territorial: BTreeSet<String> = t
        .topology
        .units()
        .filter(|u| {
            (0..atlas.len() as u32)
                .any(|l| t.topology.is_within(&t.topology.leaf_unit(l).id, &u.id))
        })
        .map(|u| u.id.clone())
        .collect();
    assert_eq!(
        territorial.len(),
        15,
        "the demo city, its districts, townships and communities"
    );
    let units: Vec<&String> = drawn.iter().map(|(u, _)| u).collect();
    assert_eq!(
        units.iter().copied().cloned().collect::<BTreeSet<_>>(),
        territorial,
        "{units:?}"
    );
    assert_eq!(
        units.len(),
        territorial.len(),
        "one element each: {units:?}"
    );
    assert!(drawn.iter().all(|(_, titled)| *titled), "{drawn:?}");

    // The rankings: the peer groups, units in rank order and their three
    // rates, exactly as `hotline report --json` prints them.
    let page = js(
        &c,
        "return Array.from(document.querySelectorAll('#rankings .ranking')).map(function (g) {
            return {group: g.getAttribute('data-group'), within: g.getAttribute('data-within'),
              rows: Array.from(g.querySelectorAll('tbody tr[data-unit]')).map(function (r) {
                var rates = {};
                r.querySelectorAll('td[data-rate]').forEach(function (td) {
                  var v = td.getAttribute('data-value');
                  rates[td.getAttribute('data-rate')] = v === null ? null : Number(v); });
                return {unit: r.getAttribute('data-unit'), rates: rates}; })}; });",
    )
    .await;
    let want: Vec<Value> = report["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            json!({
                "group": g["peer_group"], "within": g["within"],
                "rows": g["entries"].as_array().unwrap().iter().map(|e| json!({
                    "unit": e["unit"],
                    "rates": {
                        "response": e["response"]["value"],
                        "resolution": e["resolution"]["value"],
                        "satisfaction": e["satisfaction"]["value"],
                    },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    assert_eq!(
        numbers(page.clone()),
        numbers(json!(want)),
        "the rankings differ from hotline report --json"
    );
    assert!(
        page.to_string().contains("t-harbour"),
        "the replied order ranks Harbour Street: {page}"
    );

    // The three rates of the city and each unit under it: `hotline report
    // --unit city --json`.
    let rates = js(
        &c,
        "var out = {}; document.querySelectorAll('#rates tbody tr[data-unit]').forEach(function (r) {
            var rates = {}; r.querySelectorAll('td[data-rate]').forEach(function (td) {
              var v = td.getAttribute('data-value');
              rates[td.getAttribute('data-rate')] = v === null ? null : Number(v); });
            out[r.getAttribute('data-unit')] = rates; }); return out;",
    )
    .await;
    let mut want = serde_json::Map::new();
    for s in
        std::iter::once(&city_report["combined"]).chain(city_report["children"].as_array().unwrap())
    {
        want.insert(
            s["unit"].as_str().unwrap().to_string(),
            json!({
                "response": s["response"]["value"],
                "resolution": s["resolution"]["value"],
                "satisfaction": s["satisfaction"]["value"],
            }),
        );
    }
    assert_eq!(
        numbers(rates),
        numbers(Value::Object(want)),
        "the rates differ from hotline report --unit city --json"
    );

    // Deadlines due soon: the first of those `hotline deadlines` lists,
    // in its order; the waiting order's among them.
    let timers = js(
        &c,
        "return Array.from(document.querySelectorAll('#deadlines tr[data-timer]')).map(function (r) { return r.getAttribute('data-timer'); });",
    )
    .await;
    let all: Vec<&Value> = deadlines.as_array().unwrap().iter().collect();
    let first: Vec<&Value> = all.iter().take(15).map(|d| &d["timer_id"]).collect();
    assert!(!first.is_empty());
    assert_eq!(
        timers,
        json!(first),
        "deadlines differ from hotline deadlines"
    );
    assert!(
        all.iter().any(|d| d["order_id"] == seeded.waiting.as_str()),
        "the waiting order has deadlines: {deadlines}"
    );

    // The whistle open, each summons pending.
    let summoned = js(
        &c,
        &format!(
            "var w = document.querySelector('#whistles tr[data-whistle=\"{}\"]');
             return w ? Array.from(w.querySelectorAll('li[data-department]')).map(function (l) {{
               return [l.getAttribute('data-department'), l.getAttribute('data-state')]; }}).sort() : null;",
            seeded.whistle
        ),
    )
    .await;
    assert_eq!(
        summoned,
        json!([["dept-housing", "summoned"], ["dept-urban", "summoned"]]),
        "the whistle on {}",
        seeded.whistled
    );

    // The map shaded by the overdue share instead.
    c.find(Locator::Css("a[href=\"/?colour=overdue\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    visit(
        &c,
        url,
        "/?colour=overdue",
        "#map svg",
        "dashboard-map-overdue.png",
    )
    .await;

    // An order, through the search box: the rows `hotline trace` prints.
    c.goto(&format!("{url}/")).await.unwrap();
    let search = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#order-id"))
        .await
        .unwrap();
    search.send_keys(&seeded.replied).await.unwrap();
    c.find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let path = format!("/orders/{}", seeded.replied);
    wait_until("the search box opens the order", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == path)
    })
    .await;
    visit(&c, url, &path, "#steps tbody tr", "dashboard-order.png").await;
    let rows = js(
        &c,
        "function rows(sel, attrs) { return Array.from(document.querySelectorAll(sel)).map(function (r) {
            return attrs.map(function (a) { return r.getAttribute(a); }); }); }
         return {steps: rows('#steps tr[data-seq]', ['data-seq', 'data-unit', 'data-action']),
                 details: Array.from(document.querySelectorAll('#steps tr[data-seq]')).map(function (r) {
                     return r.cells[r.cells.length - 1].textContent; }),
                 handoffs: rows('#handoffs tr[data-from]', ['data-from', 'data-to', 'data-call']),
                 assignments: rows('#assignments tr[data-unit]', ['data-unit', 'data-role'])};",
    )
    .await;
    let steps: Vec<Value> = trace["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!([s["seq"].to_string(), s["unit"], s["action"]]))
        .collect();
    let handoffs: Vec<Value> = trace["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| json!([h["from"], h["to"], h["call"]]))
        .collect();
    let details: Vec<Value> = trace["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detail"].clone())
        .collect();
    // Every assignment, copies and revoked leads too: the operations form.
    let assignments: Vec<Value> = trace["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let role = a["role"].as_str().unwrap();
            json!([
                a["unit"],
                role.trim_start_matches("ASSIGNMENT_ROLE_").to_lowercase()
            ])
        })
        .collect();
    assert!(steps.len() >= 5 && !handoffs.is_empty(), "{trace}");
    assert_eq!(
        rows["steps"],
        json!(steps),
        "steps differ from hotline trace"
    );
    assert_eq!(
        rows["details"],
        json!(details),
        "step details differ from hotline trace"
    );
    assert_eq!(
        rows["handoffs"],
        json!(handoffs),
        "handoffs differ from hotline trace"
    );
    assert_eq!(
        rows["assignments"],
        json!(assignments),
        "assignments differ from hotline trace"
    );
    // The order's own trace in Jaeger, by the id `hotline trace` prints.
    let trace_id = trace["trace_id"]
        .as_str()
        .expect("hotline trace names the trace");
    let jaeger = js(
        &c,
        "var a = document.querySelector('p.trace a'); return a ? a.getAttribute('href') : null;",
    )
    .await;
    assert!(
        jaeger
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/trace/{trace_id}"))),
        "{jaeger}"
    );

    // The weekly digest of the city: the week `hotline digest` prints,
    // and its count.
    visit(
        &c,
        url,
        "/digest",
        "#digest p.digest",
        "dashboard-digest.png",
    )
    .await;
    let shown = js(
        &c,
        "var p = document.querySelector('#digest p.digest');
         return [p.getAttribute('data-area'), p.getAttribute('data-week'), p.querySelector('b.requests').textContent];",
    )
    .await;
    assert_eq!(
        shown,
        json!([
            digest["area"]["unit_id"],
            digest["week"],
            digest["requests"].to_string()
        ]),
        "{digest}"
    );

    c.close().await.unwrap();
    drop(driver);
}
