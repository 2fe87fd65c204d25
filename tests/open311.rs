//! Open311 GeoReport v2 on the mesh's web front, over real HTTPS against a
//! mesh of processes with the web process: a stock client library (the
//! Python `georeport`) in both formats at every endpoint; every error of
//! the specification's list in both formats; a posted request is an
//! intake like any other; the web front's own rights, a token across its
//! restart, and a mesh whose gateway is down.

use std::net::SocketAddr;
use std::path::PathBuf;

use hotline::client::MeshClient;
use hotline_identity::{Credentials, MeshTls, Pki};
use hotline_proto::v1::*;
use hotline_testkit::Store;

use crate::support::{Reply, Spec, TestMesh, WAIT, connector, exchange, processes, request_id};

/// Well inside East Arcade Community, which Market Street owns.
const INSIDE: (f64, f64) = (39.942, 116.241);

async fn web_mesh(store: &Store) -> TestMesh {
    TestMesh::start(
        store,
        Spec {
            web: true,
            ..processes()
        },
    )
    .await
}

/// The web front of a test mesh, over HTTPS trusting the mesh's CA.
struct Web {
    addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
    pki: Pki,
}

impl Web {
    fn of(t: &TestMesh) -> Web {
        let url = t.web_url().expect("the mesh runs the web front");
        let addr = url
            .strip_prefix("https://")
            .expect("HTTPS over a mesh of mTLS")
            .parse()
            .unwrap();
        let pki = Pki::open(t.opts.pki_dir());
        Web {
            addr,
            tls: connector(&pki, None),
            pki,
        }
    }

    fn base(&self) -> String {
        format!("https://{}/open311/v2", self.addr)
    }

    /// The API key `hotline web` issued on first start.
    fn first_key(&self, t: &TestMesh) -> String {
        std::fs::read_to_string(hotline_web::open311::keys::first_key_file(&t.opts.data_dir))
            .unwrap()
            .trim()
            .to_string()
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, &[], "").await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post_with(path, form, &[]).await
    }

    async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut headers = headers.to_vec();
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        self.call("POST", path, &headers, &body).await
    }

    /// One HTTP/1.1 exchange on a fresh TLS connection.
    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        exchange(&self.tls, self.addr, method, path, headers, body).await
    }
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        assert!(
            self.head
                .contains("content-type: application/json; charset=utf-8"),
            "{self:?}"
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The text of the first `<tag>` of an XML body.
    fn xml(&self, tag: &str) -> String {
        assert!(
            self.head.contains("content-type: text/xml; charset=utf-8"),
            "{self:?}"
        );
        assert!(
            self.body
                .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{}",
            self.body
        );
        let open = format!("<{tag}>");
        let start = self
            .body
            .find(&open)
            .unwrap_or_else(|| panic!("no <{tag}> in {}", self.body))
            + open.len();
        let end = start + self.body[start..].find(&format!("</{tag}>")).unwrap();
        self.body[start..end].to_string()
    }

    /// The first request's field, in either format.
    fn field(&self, fmt: &str, name: &str) -> String {
        match fmt {
            "json" => match &self.json()[0][name] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            },
            _ => self.xml(name),
        }
    }

    /// The specification's error body, with its status: the code and the
    /// description.
    fn error(&self, fmt: &str) -> (u16, String) {
        let (code, description) = match fmt {
            "json" => {
                let v = self.json();
                assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
                (
                    v[0]["code"].as_u64().unwrap() as u16,
                    v[0]["description"].as_str().unwrap().to_string(),
                )
            }
            _ => {
                assert!(self.body.contains("<errors><error><code>"), "{}", self.body);
                (self.xml("code").parse().unwrap(), self.xml("description"))
            }
        };
        assert_eq!(code, self.status, "the body's code is the status: {self:?}");
        (code, description)
    }
}

/// The interpreter with the stock Open311 client library, or `None`
/// (skipped, said loudly; a failure under `CI=true`, where `.ci/run`
/// installs it).
fn python_with_georeport() -> Option<String> {
    crate::examples::python_with("georeport, requests, xmltodict", "georeport==0.3.1")
}

/// A client of the gateway holding the web front's own certificate.
fn as_web_front(t: &TestMesh) -> MeshClient {
    let pki = Pki::open(t.opts.pki_dir());
    let tls = MeshTls::load(pki.files(&hotline_core::authz::web_front())).unwrap();
    MeshClient::new(&t.gateway_url, "city", Credentials::Holder(tls)).unwrap()
}

fn leads(o: &Order) -> Vec<String> {
    o.assignments
        .iter()
        .filter(|a| a.role == AssignmentRole::Lead as i32)
        .map(|a| a.unit_id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_client_lists_posts_and_follows_requests_in_json_and_xml() {
    let Some(python) = python_with_georeport() else {
        return;
    };
    let t = web_mesh(&Store::preferred()).await;
    let web = Web::of(&t);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/open311_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([&web.base(), &web.first_key(&t), "demo-city"])
        .env("REQUESTS_CA_BUNDLE", web.pki.ca_cert())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // Each posted request is an intake like any other: classified under
    // its catalogue code, dispatched to the territory the location names
    // with the item's deadline, and it reaches the handler.
    let grpc = t
        .client
        .submit(SubmitRequestRequest {
            request_id: request_id(),
            channel: Channel::App as i32,
            kind: RequestKind::Complaint as i32,
            requester: Some(Requester {
                name: "Qian Yu".into(),
                phone: "13900000042".into(),
                ..Default::default()
            }),
            text: "a pothole".into(),
            category_code: "road.pothole".into(),
            location: Some(Location {
                latitude: INSIDE.0,
                longitude: INSIDE.1,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let limit = |o: &Order| {
        hotline_runtime::wire::micros(o.due_time.as_ref().unwrap())
            - hotline_runtime::wire::micros(o.received_time.as_ref().unwrap())
    };
    let mut private = Vec::new();
    for fmt in ["json", "xml"] {
        let id = created[fmt]["id"].as_str().unwrap();
        let o = t.client.order(id).await.unwrap();
        assert_eq!(
            o.channel,
            Channel::Web as i32,
            "{fmt}: the api key's channel"
        );
        assert_eq!(o.kind, RequestKind::Complaint as i32);
        assert_eq!(o.category_code, grpc.category_code);
        assert_eq!(o.urgency, grpc.urgency);
        assert_eq!(o.state, grpc.state, "{fmt}");
        assert_eq!(leads(&o), leads(&grpc), "{fmt}: the same handler");
        assert_eq!(o.territory_unit, "t-market");
        assert_eq!(limit(&o), limit(&grpc), "{fmt}: the same deadline");
        assert!(
            !o.requester_ref.is_empty(),
            "a requester, under its pseudonym"
        );
        t.client
            .wait_assignment("t-market", id, 1, WAIT)
            .await
            .unwrap();
        private.push(created[fmt]["phone"].as_str().unwrap().to_string());
        private.push(format!("mei.han.{fmt}@example.com"));
    }

    // Neither the web front's log nor the gateway's holds the requester.
    private.push("Mei Han".into());
    let logs = t.stop_with_logs().await;
    let web_log = logs
        .iter()
        .find(|(n, _)| n == "web")
        .map(|(_, l)| l.clone())
        .expect("the web front's log");
    assert!(web_log.contains("open311 request received"), "{web_log}");
    for (name, log) in logs.iter().filter(|(n, _)| n == "web" || n == "gateway") {
        for p in &private {
            assert!(!log.contains(p.as_str()), "{name}'s log holds {p}");
        }
    }
}

/// A request's form, each time from a new requester (a repeat of the same
/// requester at the same place would be a duplicate).
fn form<'a>(key: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", key),
        ("service_code", "road.pothole"),
        ("lat", "39.942"),
        ("long", "116.241"),
        ("first_name", "Lan"),
        ("phone", phone),
        ("description", "a pothole by the arcade"),
    ]
}

/// `form` without `name`, and with `set`'s fields in place of its own.
fn changed<'a>(
    form: &[(&'a str, &'a str)],
    without: &[&str],
    set: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    form.iter()
        .filter(|(k, _)| !without.contains(k) && !set.iter().any(|(s, _)| s == k))
        .chain(set)
        .copied()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_of_the_list_in_json_and_xml_and_nothing_changes() {
    let mut t = web_mesh(&Store::preferred()).await;
    let web = Web::of(&t);
    let key = web.first_key(&t);
    let before = t.client.list_orders().await.unwrap().len();
    let ok = form(&key, "13711110000");
    for fmt in ["json", "xml"] {
        let requests = format!("/open311/v2/requests.{fmt}");
        let mut cases: Vec<(Reply, u16, &str)> = Vec::new();
        // 403: no key, an unknown key.
        cases.push((
            web.post(&requests, &changed(&ok, &["api_key"], &[])).await,
            403,
            "api_key",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &[], &[("api_key", "o311-guess")]))
                .await,
            403,
            "api_key",
        ));
        // 400: no service code; no place; a bad latitude; one coordinate;
        // outside the city; no way to call back; an unknown attribute.
        cases.push((
            web.post(&requests, &changed(&ok, &["service_code"], &[]))
                .await,
            400,
            "service_code",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &["lat", "long"], &[]))
                .await,
            400,
            "location",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &[], &[("lat", "north")]))
                .await,
            400,
            "lat",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &[], &[("lat", "91")]))
                .await,
            400,
            "lat",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &["long"], &[])).await,
            400,
            "lat and long",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("lat", "39.0"), ("long", "116.0")]),
            )
            .await,
            400,
            "outside the city",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &["phone"], &[])).await,
            400,
            "phone or email",
        ));
        cases.push((
            web.post(&requests, &changed(&ok, &[], &[("phone", "call me")]))
                .await,
            400,
            "phone",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("email", "not-an-address")]),
            )
            .await,
            400,
            "email",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("attribute[colour]", "red")]),
            )
            .await,
            400,
            "attribute[colour]",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("attribute[request_kind]", "nonsense")]),
            )
            .await,
            400,
            "request_kind",
        ));
        // 400: a window over 90 days, one that ends before it starts,
        // dates that are not dates, an unknown status.
        let wide = "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z";
        cases.push((web.get(&format!("{requests}?{wide}")).await, 400, "90 days"));
        let back = "start_date=2026-03-01T00:00:00Z&end_date=2026-01-01T00:00:00Z";
        cases.push((
            web.get(&format!("{requests}?{back}")).await,
            400,
            "end_date",
        ));
        cases.push((
            web.get(&format!("{requests}?start_date=yesterday")).await,
            400,
            "start_date",
        ));
        cases.push((
            web.get(&format!("{requests}?end_date=2026-11-16T09:00:00"))
                .await,
            400,
            "end_date",
        ));
        cases.push((
            web.get(&format!("{requests}?status=pending")).await,
            400,
            "status",
        ));
        // 404: an unknown service (its definition, or posted to), request,
        // token or jurisdiction.
        cases.push((
            web.get(&format!("/open311/v2/services/no.such.{fmt}"))
                .await,
            404,
            "no.such",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("service_code", "no.such")]),
            )
            .await,
            404,
            "no.such",
        ));
        cases.push((
            web.get(&format!("/open311/v2/requests/HL99999999.{fmt}"))
                .await,
            404,
            "HL99999999",
        ));
        cases.push((
            web.get(&format!("/open311/v2/requests/..%2Fetc.{fmt}"))
                .await,
            404,
            "not found",
        ));
        cases.push((
            web.get(&format!("/open311/v2/tokens/tk_00_00.{fmt}")).await,
            404,
            "token",
        ));
        cases.push((
            web.get(&format!(
                "/open311/v2/services.{fmt}?jurisdiction_id=elsewhere.gov"
            ))
            .await,
            404,
            "jurisdiction_id",
        ));
        cases.push((
            web.post(
                &requests,
                &changed(&ok, &[], &[("jurisdiction_id", "elsewhere.gov")]),
            )
            .await,
            404,
            "jurisdiction_id",
        ));
        for (reply, status, says) in cases {
            assert_eq!(reply.status, status, "{fmt}: {reply:?}");
            let (_, description) = reply.error(fmt);
            assert!(
                description.contains(says),
                "{fmt}: {says:?} not in {description:?}"
            );
            // The error never repeats the requester's details.
            assert!(!reply.body.contains("13711110000") && !reply.body.contains("Lan"));
        }
    }
    // A format the specification has not: 400, in XML.
    let r = web.get("/open311/v2/services.yaml").await;
    assert_eq!(r.status, 400);
    assert!(r.error("xml").1.contains(".json or .xml"));
    // Refused requests changed nothing.
    assert_eq!(t.client.list_orders().await.unwrap().len(), before);

    // A retry with the same Idempotency-Key is the same request; the key
    // on another request is refused.
    let once = [("Idempotency-Key", "retry-me-1")];
    let first = web.post_with("/open311/v2/requests.json", &ok, &once).await;
    assert_eq!(first.status, 200, "{first:?}");
    let again = web.post_with("/open311/v2/requests.json", &ok, &once).await;
    assert_eq!(
        again.field("json", "service_request_id"),
        first.field("json", "service_request_id")
    );
    let other = changed(&ok, &[], &[("description", "another pothole")]);
    let reused = web
        .post_with("/open311/v2/requests.xml", &other, &once)
        .await;
    assert_eq!(reused.status, 400, "{reused:?}");
    assert!(reused.error("xml").1.contains("Idempotency-Key"));
    assert_eq!(t.client.list_orders().await.unwrap().len(), before + 1);
    let id = first.field("json", "service_request_id");
    let token = first.field("json", "token");

    // A consultation the catalogue answers is answered at once, closed,
    // its answer in status_notes; a withdrawn field stays unsaid.
    let ask = changed(
        &form(&key, "13722220000"),
        &[],
        &[
            ("service_code", "policy.hukou"),
            ("email", "asker@example.com"),
        ],
    );
    let r = web.post("/open311/v2/requests.xml", &ask).await;
    assert_eq!(r.status, 200, "{r:?}");
    let asked = r.xml("service_request_id");
    let r = web.get(&format!("/open311/v2/requests/{asked}.xml")).await;
    assert_eq!(r.xml("status"), "closed");
    assert!(
        r.xml("status_notes").contains("police station"),
        "{}",
        r.body
    );

    // The web front's rights at the centre: submit for the online channels
    // and read in the citizen's form, nothing else.
    let front = as_web_front(&t);
    let citizen = front.order(&id).await.unwrap();
    assert!(
        citizen.requester_ref.is_empty(),
        "no pseudonym for a channel front"
    );
    assert!(citizen.history.iter().all(|h| h.detail.is_empty()));
    let phone = SubmitRequestRequest {
        channel: Channel::Phone as i32,
        ..crate::support::submit("road.pothole", "1 Harbour Road", RequestKind::Complaint)
    };
    let denied = front.submit(phone).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    let denied = front
        .callback(&id, true, Satisfaction::Satisfied)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");

    // A holder of a mesh certificate may present it; nobody must.
    let ops = connector(
        &web.pki,
        Some(&hotline_identity::Principal::Operator("ops".into())),
    );
    let r = exchange(&ops, web.addr, "GET", "/open311/v2/services.json", &[], "").await;
    assert_eq!(r.status, 200);

    // The token outlives the web process: its key is in the data dir.
    t.processes().restart("web", Vec::new()).await.unwrap();
    let r = web.get(&format!("/open311/v2/tokens/{token}.xml")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.xml("service_request_id"), id);

    // With the gateway down the mesh is unavailable: 503 with the list's
    // body and a time to try again, at once, not a hang.
    t.processes().kill("gateway").await.unwrap();
    for fmt in ["json", "xml"] {
        let r = web.post(&format!("/open311/v2/requests.{fmt}"), &ok).await;
        assert_eq!(r.status, 503, "{r:?}");
        assert!(r.head.contains("retry-after: 5"), "{r:?}");
        assert!(r.error(fmt).1.contains("try again"));
        let r = web.get(&format!("/open311/v2/requests/{id}.{fmt}")).await;
        assert_eq!(r.status, 503, "{r:?}");
    }
    // What needs no mesh is still served.
    assert_eq!(web.get("/open311/v2/services.json").await.status, 200);
    assert_eq!(
        web.get(&format!("/open311/v2/tokens/{token}.json"))
            .await
            .status,
        200
    );
    t.processes().restart("gateway", Vec::new()).await.unwrap();
    let r = web.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.field("json", "service_request_id"), id);
    t.stop().await;
}

async fn list(c: &MeshClient, r: ListOrdersRequest) -> Result<Vec<Order>, tonic::Status> {
    let mut ic = intake_service_client::IntakeServiceClient::new(c.channel());
    let req = hotline_runtime::meta::routed(r, "city", "city");
    Ok(ic.list_orders(req).await?.into_inner().orders)
}

fn ids(orders: &[Order]) -> Vec<&str> {
    orders.iter().map(|o| o.order_id.as_str()).collect()
}

/// The field a refusal names.
fn field_of(s: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}");
    s.get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

crate::support::mesh_test! {
    async fn the_centre_lists_by_state_code_and_window_and_takes_an_email_address(store) {
        let t = crate::support::mesh(store).await;
        let c = &t.client;
        // A requester who gives an e-mail address and no phone.
        let mut r = crate::support::submit("road.pothole", "1 Harbour Road", RequestKind::Complaint);
        r.requester = Some(Requester {
            name: "Lu Xin".into(),
            email: "lu.xin@example.com".into(),
            ..Default::default()
        });
        let pothole = c.submit(r.clone()).await.unwrap();
        assert_eq!(pothole.state, OrderState::Dispatched as i32);
        // Neither a phone nor an e-mail address, or a malformed one: refused.
        let before = c.list_orders().await.unwrap().len();
        r.request_id = request_id();
        r.requester = Some(Requester::default());
        assert_eq!(field_of(&c.submit(r.clone()).await.unwrap_err()), "requester.phone");
        r.requester = Some(Requester {
            email: "lu.xin at example".into(),
            ..Default::default()
        });
        assert_eq!(field_of(&c.submit(r).await.unwrap_err()), "requester.email");
        assert_eq!(c.list_orders().await.unwrap().len(), before);
        let water = c
            .submit(crate::support::submit("water.outage", "", RequestKind::Complaint))
            .await
            .unwrap();

        // By catalogue code, by state, by the window of receipt.
        let codes = list(c, ListOrdersRequest {
            category_codes: vec!["road.pothole".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(ids(&codes), [pothole.order_id.as_str()]);
        let closed = list(c, ListOrdersRequest {
            states: vec![OrderState::Closed as i32, OrderState::Answered as i32],
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(closed.is_empty(), "{:?}", ids(&closed));
        let at = |o: &Order| hotline_runtime::wire::micros(o.received_time.as_ref().unwrap());
        let after_first = list(c, ListOrdersRequest {
            received_start_time: Some(hotline_runtime::wire::ts(at(&pothole) + 1)),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(ids(&after_first), [water.order_id.as_str()]);
        let up_to_first = list(c, ListOrdersRequest {
            received_end_time: Some(hotline_runtime::wire::ts(at(&pothole))),
            states: vec![OrderState::Dispatched as i32],
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(ids(&up_to_first), [pothole.order_id.as_str()]);

        // What no list can be: refused, naming the field.
        for (r, field) in [
            (
                ListOrdersRequest {
                    state: OrderState::Closed as i32,
                    states: vec![OrderState::Closed as i32],
                    ..Default::default()
                },
                "states",
            ),
            (
                ListOrdersRequest {
                    states: vec![99],
                    ..Default::default()
                },
                "states[0]",
            ),
            (
                ListOrdersRequest {
                    category_codes: vec!["no.such".into()],
                    ..Default::default()
                },
                "category_codes[0]",
            ),
            (
                ListOrdersRequest {
                    received_start_time: Some(hotline_runtime::wire::ts(at(&water))),
                    received_end_time: Some(hotline_runtime::wire::ts(at(&pothole))),
                    ..Default::default()
                },
                "received_end_time",
            ),
        ] {
            assert_eq!(field_of(&list(c, r).await.unwrap_err()), field);
        }
        t.stop().await;
    }
}
