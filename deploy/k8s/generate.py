#!/usr/bin/env python3
"""Writes the Kubernetes manifests: the kustomize base (the demo city, one
Deployment per tier service) and the `beijing` overlay (Beijing's sixteen
districts, a township and a community Deployment per district). Run from
anywhere: python3 deploy/k8s/generate.py. The manifests are committed; a
test checks them against the `hotline` binary, so edit here and rerun.
"""

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VERSION = "0.1.0"
IMAGE = f"hotline-mesh:{VERSION}"
GRPC = 7400
GATEWAY_GRPC = 7345
METRICS = 9464
OTLP = "http://otel-collector:4317"

DISTRICTS = [
    ("dongcheng", "Dongcheng"), ("xicheng", "Xicheng"), ("chaoyang", "Chaoyang"),
    ("haidian", "Haidian"), ("fengtai", "Fengtai"), ("shijingshan", "Shijingshan"),
    ("mentougou", "Mentougou"), ("fangshan", "Fangshan"), ("tongzhou", "Tongzhou"),
    ("shunyi", "Shunyi"), ("changping", "Changping"), ("daxing", "Daxing"),
    ("huairou", "Huairou"), ("pinggu", "Pinggu"), ("miyun", "Miyun"), ("yanqing", "Yanqing"),
]


def labels(component, instance, indent):
    pad = " " * indent
    return "\n".join(
        pad + line
        for line in [
            "app.kubernetes.io/name: hotline",
            f"app.kubernetes.io/instance: {instance}",
            f"app.kubernetes.io/component: {component}",
            "app.kubernetes.io/part-of: hotline-mesh",
            f'app.kubernetes.io/version: "{VERSION}"',
            "app.kubernetes.io/managed-by: kustomize",
        ]
    )


def deployment(name, component, args, port, holder, replicas=1, db_key=None):
    """holder: the service whose mesh certificate the pods present; it comes
    from the Secret hotline-pki-<holder> (ca.crt, ca.crl, service-<holder>.crt
    and .key, made with `hotline certs provision`; see deploy/README.md)."""
    args = args + ["--pki-dir=/etc/hotline-pki"]
    env = ""
    if db_key:
        env = f"""
          env:
            - name: HOTLINE_DB
              valueFrom:
                secretKeyRef:
                  name: hotline-postgres
                  key: {db_key}"""
    arg_lines = "\n".join(f"            - {a}" for a in args)
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
{labels(component, name, 4)}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: hotline
      app.kubernetes.io/instance: {name}
  template:
    metadata:
      labels:
{labels(component, name, 8)}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "{METRICS}"
    spec:
      terminationGracePeriodSeconds: 15
      containers:
        - name: hotline
          image: {IMAGE}
          args:
{arg_lines}{env}
          ports:
            - name: grpc
              containerPort: {port}
            - name: metrics
              containerPort: {METRICS}
          # The port speaks mutual TLS only, which the kubelet's gRPC probe
          # cannot: the probes check that it accepts connections.
          readinessProbe:
            tcpSocket:
              port: {port}
            periodSeconds: 5
          livenessProbe:
            tcpSocket:
              port: {port}
            initialDelaySeconds: 10
            periodSeconds: 10
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 512Mi
          volumeMounts:
            - name: topology
              mountPath: /etc/hotline
              readOnly: true
            - name: pki
              mountPath: /etc/hotline-pki
              readOnly: true
      volumes:
        - name: topology
          configMap:
            name: hotline-topology
        # Rotated or revoked by updating the Secret: the kubelet refreshes
        # the files and the process reloads them within a second.
        - name: pki
          secret:
            secretName: hotline-pki-{holder}
            defaultMode: 0400
---
# Headless: clients resolve every pod and balance themselves; servers close
# connections after --max-connection-age-secs so the load spreads again.
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
{labels(component, name, 4)}
spec:
  clusterIP: None
  selector:
    app.kubernetes.io/name: hotline
    app.kubernetes.io/instance: {name}
  ports:
    - name: grpc
      port: {port}
      targetPort: grpc
    - name: metrics
      port: {METRICS}
      targetPort: metrics
"""


def service_args(service, name):
    return [
        "serve",
        f"--service={service}",
        "--topology=/etc/hotline/topology.toml",
        f"--gateway=http://hotline-gateway:{GATEWAY_GRPC}",
        f"--listen=0.0.0.0:{GRPC}",
        f"--advertise-host={name}",
        f"--metrics-addr=0.0.0.0:{METRICS}",
        f"--otlp-endpoint={OTLP}",
        "--json-logs",
        "--max-connection-age-secs=300",
    ]


def gateway(replicas):
    args = [
        "gateway",
        "--topology=/etc/hotline/topology.toml",
        f"--listen=0.0.0.0:{GATEWAY_GRPC}",
        f"--metrics-addr=0.0.0.0:{METRICS}",
        f"--otlp-endpoint={OTLP}",
        "--json-logs",
        "--max-connection-age-secs=300",
    ]
    return deployment("hotline-gateway", "gateway", args, GATEWAY_GRPC, "gateway", replicas)


def tier(service, component, replicas=1):
    name = f"hotline-{service}"
    return deployment(name, component, service_args(service, name), GRPC, service, replicas, db_key=service)


def secret(services):
    lines = "\n".join(
        f"  {s}: postgres://hotline:change-me@postgres:5432/hotline_{s.replace('-', '_')}"
        for s in services
    )
    return f"""# The PostgreSQL connection of each service (its own database on the
# server). Placeholders: replace them (sealed-secrets, an external secret
# store) before deploying; no PostgreSQL is deployed by these manifests.
apiVersion: v1
kind: Secret
metadata:
  name: hotline-postgres
  labels:
    app.kubernetes.io/name: hotline
    app.kubernetes.io/part-of: hotline-mesh
type: Opaque
stringData:
{lines}
"""


COLLECTOR = f"""# The OpenTelemetry collector every process exports to (OTLP/gRPC). It
# forwards traces to the cluster's tracing backend: set the exporter.
apiVersion: v1
kind: ConfigMap
metadata:
  name: otel-collector
  labels:
    app.kubernetes.io/name: otel-collector
    app.kubernetes.io/part-of: hotline-mesh
data:
  config.yaml: |
    receivers:
      otlp:
        protocols:
          grpc:
            endpoint: 0.0.0.0:4317
    processors:
      memory_limiter:
        check_interval: 1s
        limit_mib: 400
      batch: {{}}
    exporters:
      otlp/tracing:
        endpoint: jaeger-collector:4317
        tls:
          insecure: true
    service:
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, batch]
          exporters: [otlp/tracing]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: otel-collector
  labels:
    app.kubernetes.io/name: otel-collector
    app.kubernetes.io/instance: otel-collector
    app.kubernetes.io/component: collector
    app.kubernetes.io/part-of: hotline-mesh
    app.kubernetes.io/version: "0.115.0"
    app.kubernetes.io/managed-by: kustomize
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: otel-collector
      app.kubernetes.io/instance: otel-collector
  template:
    metadata:
      labels:
        app.kubernetes.io/name: otel-collector
        app.kubernetes.io/instance: otel-collector
        app.kubernetes.io/component: collector
        app.kubernetes.io/part-of: hotline-mesh
        app.kubernetes.io/version: "0.115.0"
        app.kubernetes.io/managed-by: kustomize
    spec:
      containers:
        - name: otel-collector
          image: otel/opentelemetry-collector:0.115.0
          args: ["--config=/etc/otelcol/config.yaml"]
          ports:
            - name: otlp-grpc
              containerPort: 4317
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 512Mi
          volumeMounts:
            - name: config
              mountPath: /etc/otelcol
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: otel-collector
---
apiVersion: v1
kind: Service
metadata:
  name: otel-collector
  labels:
    app.kubernetes.io/name: otel-collector
    app.kubernetes.io/part-of: hotline-mesh
spec:
  selector:
    app.kubernetes.io/name: otel-collector
    app.kubernetes.io/instance: otel-collector
  ports:
    - name: otlp-grpc
      port: 4317
      targetPort: otlp-grpc
"""

BASE_SERVICES = [("city", "city"), ("district", "district"), ("township", "township"),
                 ("community", "community"), ("department", "department"), ("central", "central")]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def base():
    d = HERE / "base"
    write(d / "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hotline\n")
    write(d / "gateway.yaml", gateway(1))
    for service, component in BASE_SERVICES:
        write(d / f"{service}.yaml", tier(service, component))
    write(d / "postgres-secret.yaml", secret([s for s, _ in BASE_SERVICES]))
    write(d / "otel-collector.yaml", COLLECTOR)
    write(d / "topology.toml", (ROOT / "topology" / "demo-city.toml").read_text())
    files = ["namespace.yaml", "postgres-secret.yaml", "otel-collector.yaml", "gateway.yaml"] + [
        f"{s}.yaml" for s, _ in BASE_SERVICES
    ]
    write(d / "kustomization.yaml", "# The demo city: one Deployment per tier service, the gateway, the\n"
          "# collector. topology.toml is a copy of topology/demo-city.toml (kustomize\n"
          "# reads files under its own root only; a test keeps the two equal).\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: hotline\n"
          "resources:\n" + "".join(f"  - {f}\n" for f in files) +
          "configMapGenerator:\n  - name: hotline-topology\n    files:\n      - topology.toml\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n")


def beijing_topology():
    demo = (ROOT / "topology" / "demo-city.toml").read_text()
    head, rest = demo.split("[[unit]]", 1)
    catalogue = rest[rest.index("# The dispatch catalogue"):]
    head = head.replace('name = "demo-city"', 'name = "beijing"')
    # Beijing counts day limits in working days, on the shipped calendar.
    head = head.replace("working_days = false", "working_days = true")
    head = re.sub(r"^# The demo city.*?\n\n", "# Beijing: sixteen districts, two streets or townships each with two\n"
                  "# communities, the line departments of the demo city, and its catalogue.\n"
                  "# Generated by deploy/k8s/generate.py.\n\n", head, flags=re.S)
    units = ['[[unit]]\nid = "city"\ntier = "city"\nname = "Beijing 12345 Citizen Hotline Centre"\npopulation = 21850000\n']
    services = {"city": ["city"], "district": [], "department": []}
    for i, (d, name) in enumerate(DISTRICTS):
        units.append(f'[[unit]]\nid = "d-{d}"\ntier = "district"\nparent = "city"\nname = "{name} District"\npopulation = 1000000\n')
        services["district"].append(f"d-{d}")
        services[f"township-{d}"] = []
        services[f"community-{d}"] = []
        for t in (1, 2):
            tid = f"t-{d}-{t}"
            units.append(f'[[unit]]\nid = "{tid}"\ntier = "township"\nparent = "d-{d}"\nname = "{name} Street {t}"\n'
                         f'population = 100000\naddresses = ["{t} {name} Road"]\n')
            services[f"township-{d}"].append(tid)
            for c in (1, 2):
                cid = f"c-{d}-{t}-{c}"
                units.append(f'[[unit]]\nid = "{cid}"\ntier = "community"\nparent = "{tid}"\nname = "{name} Community {t}-{c}"\n'
                             f'population = 20000\naddresses = ["{c} {name} Lane {t}"]\n')
                services[f"community-{d}"].append(cid)
    departments = re.findall(r'\[\[unit\]\]\nid = "(dept-[a-z]+)"\n(?:.*\n)*?(?=\n)', rest)
    for block in re.findall(r'(\[\[unit\]\]\nid = "(?:dept|central)-[^\n]*\n(?:[^\[\n][^\n]*\n)*)', rest):
        block = block.replace('parent = "d-riverside"', 'parent = "d-chaoyang"').replace("Riverside", "Chaoyang")
        block = block.replace('parent = "d-hillview"', 'parent = "d-haidian"').replace("Hillview", "Haidian")
        units.append(block)
    departments = re.findall(r'\[\[unit\]\]\nid = "(dept-[a-z-]+)"', rest)
    services["department"] = departments
    services["central"] = re.findall(r'\[\[unit\]\]\nid = "(central-[a-z-]+)"', rest)
    svc = []
    for name, members in services.items():
        tier_name = name.split("-")[0]
        svc.append(f'[[service]]\nname = "{name}"\ntier = "{tier_name}"\naddress = "http://hotline-{name}:{GRPC}"\n'
                   f"units = [{', '.join(chr(34) + u + chr(34) for u in members)}]\n")
    return head + "\n".join(units) + "\n" + catalogue.rstrip() + "\n\n# One service per tier, and per district for townships and communities;\n" \
        "# fixed addresses (the headless Services), so every gateway replica routes\n# without waiting for announcements.\n" + "\n".join(svc), list(services)


def beijing():
    d = HERE / "overlays" / "beijing"
    topology, services = beijing_topology()
    write(d / "topology.toml", topology)
    districts = []
    for key, _ in DISTRICTS:
        districts.append(tier(f"township-{key}", "township") + "---\n" + tier(f"community-{key}", "community"))
    write(d / "districts.yaml", "---\n".join(districts))
    write(d / "postgres-secret.yaml", secret(services))
    deletes = "".join(
        f"  - patch: |-\n      $patch: delete\n      apiVersion: {api}\n      kind: {kind}\n      metadata:\n        name: hotline-{s}\n"
        for s in ("township", "community")
        for api, kind in (("apps/v1", "Deployment"), ("v1", "Service"))
    )
    write(d / "kustomization.yaml",
          "# Beijing: the base's city, district and department services, two gateway\n"
          "# replicas, and a township and a community Deployment per district in\n"
          "# place of the base's single ones. Generated by deploy/k8s/generate.py.\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: hotline\n"
          "resources:\n  - ../../base\n  - districts.yaml\n"
          "patches:\n" + deletes +
          "  - path: postgres-secret.yaml\n"
          "replicas:\n  - name: hotline-gateway\n    count: 2\n"
          "configMapGenerator:\n  - name: hotline-topology\n    behavior: replace\n    files:\n      - topology.toml\n")


if __name__ == "__main__":
    base()
    beijing()
