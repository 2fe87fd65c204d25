"""Open311 GeoReport v2 against the mesh's web front, as a stock client
sees it.

What the stock client library (georeport 0.3.1, a GeoReport v2 client on
`requests` and `xmltodict`) covers, it does: the service list, a service
definition, a request by id, requests by ids, codes and status. It has no
POST and no token call: those go through `requests`, form-encoded, as any
client sends them. Both formats, JSON and XML, every endpoint, and an
error of each kind a client meets.

Usage: open311_client.py BASE_URL API_KEY JURISDICTION_ID
(BASE_URL ends in /open311/v2; the mesh's CA comes in REQUESTS_CA_BUNDLE.)

Prints one JSON object: for each format, the request it posted (id,
token, service_code, the requester's phone). Fails (AssertionError, exit
1) where the endpoint answers anything else.
"""

import json
import sys

import requests
import xmltodict
from georeport import GeoReport

# Well inside East Arcade Community, which Market Street owns (the demo
# city); and a point outside the city.
INSIDE = (39.942, 116.241)
OUTSIDE = (39.0, 116.0)


def as_list(v):
    """xmltodict makes one element a dict and several a list."""
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def parse(fmt, response):
    if fmt == "json":
        return response.json()
    return xmltodict.parse(response.content)


def posted(fmt, response):
    body = parse(fmt, response)
    if fmt == "json":
        return body[0]
    return as_list(body["service_requests"]["request"])[0]


def errors(fmt, response):
    body = parse(fmt, response)
    if fmt == "json":
        return body
    return as_list(body["errors"]["error"])


def check_error(fmt, response, status, says):
    assert response.status_code == status, (response.status_code, response.text)
    e = errors(fmt, response)[0]
    assert int(e["code"]) == status, e
    assert says in e["description"], (says, e)
    want = "application/json" if fmt == "json" else "text/xml"
    assert response.headers["Content-Type"].startswith(want), response.headers


def run(fmt, base, key, jurisdiction, phone):
    client = GeoReport(base, jurisdiction=jurisdiction, api_key=key, output_format=fmt)

    # GET services: the catalogue, by its codes.
    services = as_list(client.get_service_list())
    by_code = {s["service_code"]: s for s in services}
    assert {"road.pothole", "water.outage", "policy.hukou"} <= set(by_code), sorted(by_code)
    pothole = by_code["road.pothole"]
    assert str(pothole["metadata"]).lower() == "true", pothole
    assert pothole["type"] == "realtime", pothole
    assert pothole["group"] == "Roads and streets", pothole
    assert pothole["service_name"] == "Pothole in a street", pothole
    assert str(by_code["traffic.signal_broken"]["metadata"]).lower() == "false"

    # GET services/{code}: a territory item asks where.
    definition = client.get_service_definition("road.pothole")
    assert definition["service_code"] == "road.pothole", definition
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = as_list(attributes["attribute"])
    codes = [a["code"] for a in attributes]
    assert "location" in codes and "request_kind" in codes, codes
    kinds = next(a for a in attributes if a["code"] == "request_kind")
    values = kinds["values"] if fmt == "json" else as_list(kinds["values"]["value"])
    assert "consultation" in [v["key"] for v in values], values

    # POST requests, form-encoded, with the requester's details.
    form = {
        "api_key": key,
        "jurisdiction_id": jurisdiction,
        "service_code": "road.pothole",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
        "address_string": "by the arcade's east gate",
        "first_name": "Mei",
        "last_name": "Han",
        "phone": phone,
        "email": f"mei.han.{fmt}@example.com",
        "description": f"A deep pothole by the arcade's east gate ({fmt})",
    }
    r = requests.post(f"{base}/requests.{fmt}", data=form, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    created = posted(fmt, r)
    request_id = created["service_request_id"]
    token = created["token"]
    assert request_id and token, created
    assert "Market Street" in created["service_notice"], created
    for private in ("Mei", "Han", phone, "example.com"):
        assert private not in r.text, (private, r.text)

    # GET tokens/{token}: the id it was issued for.
    r = requests.get(f"{base}/tokens/{token}.{fmt}", params={"jurisdiction_id": jurisdiction}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    by_token = posted(fmt, r)
    assert by_token["service_request_id"] == request_id, by_token
    assert by_token["token"] == token, by_token

    # GET requests/{id}, through the library.
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id, one
    assert one["status"] == "open", one
    assert one["service_code"] == "road.pothole", one
    assert one["service_name"] == "Pothole in a street", one
    assert "Market Street" in one["agency_responsible"], one
    assert one["expected_datetime"].endswith("+08:00"), one
    assert one["requested_datetime"] <= one["expected_datetime"], one
    assert abs(float(one["lat"]) - INSIDE[0]) < 1e-9, one
    assert "pothole" in one["description"], one
    text = json.dumps(one)
    for private in ("Mei", "Han", phone, "example.com"):
        assert private not in text, (private, text)

    # GET requests: by ids (overriding the rest), by code and status.
    listed = as_list(client.get_service_requests(service_request_id=f"{request_id},HL99999999", status="closed"))
    assert [x["service_request_id"] for x in listed] == [request_id], listed
    listed = as_list(client.get_service_requests(service_code="road.pothole,water.outage", status="open"))
    assert request_id in [x["service_request_id"] for x in listed], listed
    # An empty list is <service_requests></service_requests>, which the
    # library's xmltodict reads as None and cannot index: read these raw.
    for params in ({"service_code": "water.outage"}, {"status": "closed"}):
        r = requests.get(f"{base}/requests.{fmt}", params=params, timeout=30)
        assert r.status_code == 200, (r.status_code, r.text)
        body = parse(fmt, r)
        if fmt == "xml":
            body = as_list((body["service_requests"] or {}).get("request"))
        assert request_id not in [x["service_request_id"] for x in body], body

    # The errors a client meets: each with the list's status and body.
    bad = dict(form)
    del bad["api_key"]
    check_error(fmt, requests.post(f"{base}/requests.{fmt}", data=bad, timeout=30), 403, "api_key")
    bad = dict(form, api_key="o311-not-a-key")
    check_error(fmt, requests.post(f"{base}/requests.{fmt}", data=bad, timeout=30), 403, "api_key")
    bad = dict(form, lat=str(OUTSIDE[0]), long=str(OUTSIDE[1]))
    check_error(fmt, requests.post(f"{base}/requests.{fmt}", data=bad, timeout=30), 400, "lat/long")
    check_error(fmt, requests.get(f"{base}/services/no.such.{fmt}", timeout=30), 404, "no.such")
    check_error(fmt, requests.get(f"{base}/requests/HL99999999.{fmt}", timeout=30), 404, "HL99999999")
    check_error(fmt, requests.get(f"{base}/tokens/tk_00_00.{fmt}", timeout=30), 404, "token")
    r = requests.get(f"{base}/services.{fmt}", params={"jurisdiction_id": "elsewhere.gov"}, timeout=30)
    check_error(fmt, r, 404, "jurisdiction_id")
    try:
        GeoReport(base, jurisdiction="elsewhere.gov", output_format=fmt).get_service_list()
        raise AssertionError("a wrong jurisdiction was served")
    except requests.HTTPError as e:
        assert e.response.status_code == 404

    return {"id": request_id, "token": token, "service_code": "road.pothole", "phone": phone}


def main():
    base, key, jurisdiction = sys.argv[1:4]
    out = {}
    for i, fmt in enumerate(("json", "xml")):
        # One requester per format: the same one at the same place would
        # be a repeat of the first, and not dispatched.
        out[fmt] = run(fmt, base.rstrip("/"), key, jurisdiction, f"1370000{i}123")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
