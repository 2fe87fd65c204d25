#!/usr/bin/env python3
"""Writes the Kubernetes manifests: the kustomize base (the demo city, one
Deployment per tier service) and the `beijing` overlay (Beijing's sixteen
districts, a township and a community Deployment per district). Run from
anywhere: python3 deploy/k8s/generate.py. The manifests are committed; a
test renders them with `kubectl kustomize`, validates them against the
Kubernetes schemas and checks them against the `hotline` binary, so edit
here and rerun. No Secret is written: the operator creates them (see
deploy/README.md).
"""

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VERSION = "0.1.0"
IMAGE = f"hotline-mesh:{VERSION}"
GRPC = 7400
GATEWAY_GRPC = 7345
# The web front's HTTPS port (`hotline web --http-listen`).
WEB_HTTPS = 7380
METRICS = 9464
OTLP_PORT = 4317
OTLP = f"http://otel-collector:{OTLP_PORT}"
# The image's user (deploy/Dockerfile); the collector's and Jaeger's
# images run as the same uid.
UID = 10001
COLLECTOR_VERSION = "0.115.0"
JAEGER_VERSION = "1.64.0"
# Where the cluster's ingress controller and Prometheus run: the namespaces
# the NetworkPolicies let in (ingress-nginx's and the usual monitoring one).
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
# Placeholders: set the gateway's and the web front's public names in an
# overlay.
INGRESS_HOST = "hotline.example.org"
WEB_INGRESS_HOST = "12345.example.org"
# Where the web front's files are (`hotline web --data-dir`): its Open311
# API keys and token key, from the Secret hotline-open311, at
# DATA_DIR/open311.
WEB_DATA_DIR = "/var/lib/hotline"
KUBERNETES_VERSION = "v1.32"

DISTRICTS = [
    ("dongcheng", "Dongcheng"), ("xicheng", "Xicheng"), ("chaoyang", "Chaoyang"),
    ("haidian", "Haidian"), ("fengtai", "Fengtai"), ("shijingshan", "Shijingshan"),
    ("mentougou", "Mentougou"), ("fangshan", "Fangshan"), ("tongzhou", "Tongzhou"),
    ("shunyi", "Shunyi"), ("changping", "Changping"), ("daxing", "Daxing"),
    ("huairou", "Huairou"), ("pinggu", "Pinggu"), ("miyun", "Miyun"), ("yanqing", "Yanqing"),
]


def indent(text, n):
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.strip("\n").split("\n"))


def labels(component, instance, n, name="hotline", version=VERSION):
    return indent(
        f"""app.kubernetes.io/name: {name}
app.kubernetes.io/instance: {instance}
app.kubernetes.io/component: {component}
app.kubernetes.io/part-of: hotline-mesh
app.kubernetes.io/version: "{version}"
app.kubernetes.io/managed-by: kustomize""",
        n,
    )


def selector(name, instance, n):
    return indent(f"app.kubernetes.io/name: {name}\napp.kubernetes.io/instance: {instance}", n)


# Every pod's. The Secret's 0400 files are root's: with fsGroup they become
# 0440 and the group's, which is how the non-root process reads its key.
POD_SECURITY = f"""# Not root, the runtime's seccomp profile, no API token (nothing here
# calls the Kubernetes API). fsGroup group-owns mounted volumes: a non-root
# process can read a 0400 Secret (the mesh key) only so.
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {UID}
  runAsGroup: {UID}
  fsGroup: {UID}
  seccompProfile:
    type: RuntimeDefault"""

# Every container's (the comment is at each use).
CONTAINER_SECURITY = """securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]"""

TMP_MOUNT = """- name: tmp
  mountPath: /tmp"""

TMP_VOLUME = """- name: tmp
  emptyDir:
    sizeLimit: 64Mi"""


def pdb(name, component, app="hotline", version=VERSION):
    """maxUnavailable rather than minAvailable: a Deployment of one replica
    can still be evicted, so a drain never hangs on it; the gateway, with
    two or more, keeps one serving."""
    return f"""# At most one pod down at a time in a drain or a node upgrade; a single
# replica can still be evicted, so a drain never hangs on it.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  labels:
{labels(component, name, 4, app, version)}
spec:
  maxUnavailable: 1
  # A pod that is not ready serves nothing: evicting it costs nothing.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
{selector(app, name, 6)}
"""


TCP_PROBES = """# The port speaks mutual TLS only, which the kubelet's gRPC probe
# cannot: the probes check that it accepts connections.
readinessProbe:
  tcpSocket:
    port: {port}
  periodSeconds: 5
livenessProbe:
  tcpSocket:
    port: {port}
  initialDelaySeconds: 10
  periodSeconds: 10"""

WRITES_NOTHING = """# A read-only root filesystem, no privilege escalation, no
# capabilities. hotline writes nothing: the database is PostgreSQL,
# the topology and the certificates are mounted; /tmp (an emptyDir)
# is where the gateway would write a topology it was not given."""

HEADLESS = """# Headless: clients resolve every pod and balance themselves; servers close
# connections after --max-connection-age-secs so the load spreads again."""


def deployment(name, component, args, port, holder, replicas=1, db_key=None, replicas_note="",
               port_name="grpc", probes=TCP_PROBES, writes=WRITES_NOTHING, mounts="", volumes="",
               service_note=HEADLESS, headless=True):
    """holder: the service whose mesh certificate the pods present; it comes
    from the Secret hotline-pki-<holder> (ca.crt, ca.crl, service-<holder>.crt
    and .key, made with `hotline certs provision`). db_key: the key of the
    Secret hotline-postgres holding the service's database URL. The operator
    creates both (deploy/README.md); none is committed. port_name: what the
    serving port is called (grpc; https for the web front); probes,
    writes, mounts, volumes: the container's probes, the note on what it
    writes, and further read-only mounts and their volumes."""
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
    note = indent(replicas_note, 2) + "\n" if replicas_note else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
{labels(component, name, 4)}
spec:
{note}  replicas: {replicas}
  selector:
    matchLabels:
{selector("hotline", name, 6)}
  template:
    metadata:
      labels:
{labels(component, name, 8)}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "{METRICS}"
    spec:
      terminationGracePeriodSeconds: 15
{indent(POD_SECURITY, 6)}
      containers:
        - name: hotline
          image: {IMAGE}
          args:
{arg_lines}{env}
          ports:
            - name: {port_name}
              containerPort: {port}
            - name: metrics
              containerPort: {METRICS}
{indent(probes.format(port=port, port_name=port_name), 10)}
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 512Mi
{indent(writes, 10)}
{indent(CONTAINER_SECURITY, 10)}
          volumeMounts:
            - name: topology
              mountPath: /etc/hotline
              readOnly: true
            - name: pki
              mountPath: /etc/hotline-pki
              readOnly: true
{indent(mounts, 12) + chr(10) if mounts else ""}{indent(TMP_MOUNT, 12)}
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
{indent(volumes, 8) + chr(10) if volumes else ""}{indent(TMP_VOLUME, 8)}
---
{service_note}
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
{labels(component, name, 4)}
spec:
{"  clusterIP: None" + chr(10) if headless else ""}  selector:
{selector("hotline", name, 4)}
  ports:
    - name: {port_name}
      port: {port}
      targetPort: {port_name}
    - name: metrics
      port: {METRICS}
      targetPort: metrics
---
{pdb(name, component)}"""


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


def gateway():
    args = [
        "gateway",
        "--topology=/etc/hotline/topology.toml",
        f"--listen=0.0.0.0:{GATEWAY_GRPC}",
        f"--metrics-addr=0.0.0.0:{METRICS}",
        f"--otlp-endpoint={OTLP}",
        "--json-logs",
        "--max-connection-age-secs=300",
    ]
    note = ("# One: the demo topology names no service addresses, so the gateway\n"
            "# learns them from announcements, which reach one replica. The beijing\n"
            "# overlay names them and scales the gateway with an autoscaler.")
    return deployment("hotline-gateway", "gateway", args, GATEWAY_GRPC, "gateway", replicas_note=note)


WEB_PROBES = """# HTTPS with a client certificate asked for, never required: the
# kubelet's HTTPS probe (which checks no certificate) reads Open311's
# discovery file, which needs neither the mesh nor a key.
readinessProbe:
  httpGet:
    path: /open311/discovery.json
    port: {port_name}
    scheme: HTTPS
  periodSeconds: 5
livenessProbe:
  httpGet:
    path: /open311/discovery.json
    port: {port_name}
    scheme: HTTPS
  initialDelaySeconds: 10
  periodSeconds: 10"""

WEB_WRITES = """# A read-only root filesystem, no privilege escalation, no
# capabilities. hotline web writes nothing either: its Open311
# API keys (hashes) and token key are the Secret hotline-open311,
# mounted where --data-dir looks (and read again when the Secret
# changes); the topology and the certificate are mounted; /tmp is
# an emptyDir."""


def web():
    """The web front (`hotline web`): Open311 and the operators' dashboard
    over HTTPS with its mesh certificate (channel-web, from the Secret
    hotline-pki-web), a client of the gateway. Its Open311 files come from
    the Secret hotline-open311 (keys.toml and token.key): they survive a
    restart and a reschedule, and every replica signs tokens alike."""
    args = [
        "web",
        "--topology=/etc/hotline/topology.toml",
        f"--gateway=http://hotline-gateway:{GATEWAY_GRPC}",
        f"--http-listen=0.0.0.0:{WEB_HTTPS}",
        f"--data-dir={WEB_DATA_DIR}",
        f"--metrics-addr=0.0.0.0:{METRICS}",
        f"--otlp-endpoint={OTLP}",
        "--json-logs",
    ]
    mounts = f"""- name: open311
  mountPath: {WEB_DATA_DIR}/open311
  readOnly: true"""
    volumes = """# keys.toml (the API keys' SHA-256 and channels) and token.key (the
# tokens' HMAC key): made by the operator (deploy/README.md).
- name: open311
  secret:
    secretName: hotline-open311
    defaultMode: 0400"""
    note = """# Browsers and Open311 clients come through the Ingress hotline-web, which
# balances over the pods itself."""
    return deployment(
        "hotline-web", "web", args, WEB_HTTPS, "web", port_name="https", probes=WEB_PROBES,
        writes=WEB_WRITES, mounts=mounts, volumes=volumes, service_note=note, headless=False,
    )


def tier(service, component, replicas=1):
    name = f"hotline-{service}"
    return deployment(name, component, service_args(service, name), GRPC, service, replicas, db_key=service)


def app_deployment(name, component, version, image, container, volumes, note):
    """A Deployment of one of the mesh's helpers (collector, Jaeger), with
    the same pod and container security as the hotline processes."""
    return f"""{note}apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
{labels(component, name, 4, name, version)}
spec:
  replicas: 1
  selector:
    matchLabels:
{selector(name, name, 6)}
  template:
    metadata:
      labels:
{labels(component, name, 8, name, version)}
    spec:
{indent(POD_SECURITY, 6)}
      containers:
        - name: {name}
          image: {image}
{indent(container, 10)}
          # A read-only root filesystem (/tmp is an emptyDir), no privilege
          # escalation, no capabilities.
{indent(CONTAINER_SECURITY, 10)}
      volumes:
{indent(volumes + TMP_VOLUME, 8)}
---
{pdb(name, component, name, version)}"""


def collector():
    config = f"""# The OpenTelemetry collector every process exports to (OTLP/gRPC). It
# forwards traces to Jaeger (jaeger.yaml); to keep them elsewhere, point
# the exporter at your tracing backend.
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
            endpoint: 0.0.0.0:{OTLP_PORT}
    processors:
      memory_limiter:
        check_interval: 1s
        limit_mib: 400
      # Spans carry no request text or requester identity (the mesh never
      # records them); this drops such keys anyway, as compose's does.
      attributes/no-pii:
        actions:
          - key: requester.name
            action: delete
          - key: requester.phone
            action: delete
          - key: request.text
            action: delete
      batch: {{}}
    exporters:
      otlp/jaeger:
        endpoint: jaeger:{OTLP_PORT}
        tls:
          insecure: true
    service:
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, attributes/no-pii, batch]
          exporters: [otlp/jaeger]
---
"""
    container = f"""args: ["--config=/etc/otelcol/config.yaml"]
ports:
  - name: otlp-grpc
    containerPort: {OTLP_PORT}
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
{indent(TMP_MOUNT, 2)}"""
    volumes = """- name: config
  configMap:
    name: otel-collector
"""
    service = f"""---
apiVersion: v1
kind: Service
metadata:
  name: otel-collector
  labels:
    app.kubernetes.io/name: otel-collector
    app.kubernetes.io/part-of: hotline-mesh
spec:
  selector:
{selector("otel-collector", "otel-collector", 4)}
  ports:
    - name: otlp-grpc
      port: {OTLP_PORT}
      targetPort: otlp-grpc
"""
    return config + app_deployment(
        "otel-collector", "collector", COLLECTOR_VERSION,
        f"otel/opentelemetry-collector:{COLLECTOR_VERSION}", container, volumes, "",
    ) + service


def jaeger():
    note = """# Jaeger all-in-one, where the collector sends traces: kept in memory (at
# most 50,000 traces, lost on a restart). Its UI is for
#   kubectl -n hotline port-forward svc/jaeger 16686
# For a lasting store, run your tracing backend and point the collector's
# exporter at it.
"""
    container = f"""env:
  - name: COLLECTOR_OTLP_ENABLED
    value: "true"
  - name: MEMORY_MAX_TRACES
    value: "50000"
ports:
  - name: otlp-grpc
    containerPort: {OTLP_PORT}
  - name: ui
    containerPort: 16686
  - name: admin
    containerPort: 14269
readinessProbe:
  httpGet:
    path: /
    port: admin
  periodSeconds: 5
resources:
  requests:
    cpu: 100m
    memory: 256Mi
  limits:
    memory: 1Gi
volumeMounts:
{indent(TMP_MOUNT, 2)}"""
    service = f"""---
apiVersion: v1
kind: Service
metadata:
  name: jaeger
  labels:
    app.kubernetes.io/name: jaeger
    app.kubernetes.io/part-of: hotline-mesh
spec:
  selector:
{selector("jaeger", "jaeger", 4)}
  ports:
    - name: otlp-grpc
      port: {OTLP_PORT}
      targetPort: otlp-grpc
    - name: ui
      port: 16686
      targetPort: ui
"""
    return app_deployment(
        "jaeger", "tracing", JAEGER_VERSION, f"jaegertracing/all-in-one:{JAEGER_VERSION}",
        container, "", note,
    ) + service


NAMESPACE = f"""# Pod Security Admission enforces the `restricted` profile here: a pod that
# would run as root, escalate privileges or keep capabilities is refused.
apiVersion: v1
kind: Namespace
metadata:
  name: hotline
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: {KUBERNETES_VERSION}
"""

GATEWAY_PODS = """matchLabels:
  app.kubernetes.io/name: hotline
  app.kubernetes.io/component: gateway"""

SERVICE_PODS = """matchLabels:
  app.kubernetes.io/name: hotline
matchExpressions:
  - key: app.kubernetes.io/component
    operator: NotIn
    values: [gateway, web]"""

WEB_PODS = """matchLabels:
  app.kubernetes.io/name: hotline
  app.kubernetes.io/component: web"""


HOTLINE_PODS = "matchLabels:\n  app.kubernetes.io/name: hotline"
COLLECTOR_PODS = "matchLabels:\n  app.kubernetes.io/name: otel-collector"
JAEGER_PODS = "matchLabels:\n  app.kubernetes.io/name: jaeger"


def peers(selector_yaml, n):
    """A `podSelector:` peer entry of a rule, indented to n."""
    return indent("- podSelector:\n" + indent(selector_yaml, 4), n)


def namespace(name, n):
    """A `namespaceSelector:` peer entry: every pod of that namespace."""
    return indent(f"- namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: {name}", n)


def tcp(port, n):
    return indent(f"ports:\n  - protocol: TCP\n    port: {port}", n)


NETWORK_POLICIES = f"""# Who may talk to whom in the namespace. Policies add up: a pod is allowed
# what any policy selecting it allows, and nothing else (default-deny).
# The kubelet's probes come from the node, which these do not restrict.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
---
# Every pod finds the Services through the cluster's DNS.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
---
# The gateway: called by the tier services (announcements, handoffs), by the
# web front, and by clients outside through the ingress controller
# (namespace {INGRESS_NAMESPACE}); it calls the tier services.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: hotline-gateway
spec:
  podSelector:
{indent(GATEWAY_PODS, 4)}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
{peers(SERVICE_PODS, 8)}
{peers(WEB_PODS, 8)}
{namespace(INGRESS_NAMESPACE, 8)}
{tcp(GATEWAY_GRPC, 6)}
  egress:
    - to:
{peers(SERVICE_PODS, 8)}
{tcp(GRPC, 6)}
---
# The tier services: called by the gateway only; they call the gateway
# (never one another) and their PostgreSQL. The database is not deployed
# here, so any address on 5432: narrow it with a `to` where yours runs.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: hotline-services
spec:
  podSelector:
{indent(SERVICE_PODS, 4)}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
{peers(GATEWAY_PODS, 8)}
{tcp(GRPC, 6)}
  egress:
    - to:
{peers(GATEWAY_PODS, 8)}
{tcp(GATEWAY_GRPC, 6)}
    - ports:
        - protocol: TCP
          port: 5432
---
# The web front: HTTPS in from browsers and Open311 clients through the
# ingress controller (TLS passed through: it proves operators by their
# certificates); it calls the gateway only, never a tier service or a
# database.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: hotline-web
spec:
  podSelector:
{indent(WEB_PODS, 4)}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
{namespace(INGRESS_NAMESPACE, 8)}
{tcp(WEB_HTTPS, 6)}
  egress:
    - to:
{peers(GATEWAY_PODS, 8)}
{tcp(GATEWAY_GRPC, 6)}
---
# Every hotline process's telemetry: spans out to the collector, and
# Prometheus (namespace {MONITORING_NAMESPACE}) in to the metrics port.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: hotline-telemetry
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: hotline
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
{namespace(MONITORING_NAMESPACE, 8)}
{tcp(METRICS, 6)}
  egress:
    - to:
{peers(COLLECTOR_PODS, 8)}
{tcp(OTLP_PORT, 6)}
---
# The collector: spans in from the hotline processes, out to Jaeger.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: otel-collector
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: otel-collector
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
{peers(HOTLINE_PODS, 8)}
{tcp(OTLP_PORT, 6)}
  egress:
    - to:
{peers(JAEGER_PODS, 8)}
{tcp(OTLP_PORT, 6)}
---
# Jaeger: spans in from the collector. Its UI is for kubectl port-forward,
# which no policy governs.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: jaeger
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: jaeger
  policyTypes: [Ingress]
  ingress:
    - from:
{peers(COLLECTOR_PODS, 8)}
{tcp(OTLP_PORT, 6)}
"""

INGRESS = f"""# Clients outside the cluster (departments' systems, operators) reach the
# gateway at {INGRESS_HOST}:443 through ingress-nginx, started with
# --enable-ssl-passthrough. TLS passes through to the gateway, which
# terminates it: every call is mutual TLS with the mesh's CA, and the
# gateway authorises the caller by the certificate it presents, which an
# ingress terminating TLS would take away. The certificate clients see is
# the gateway's own, from the Secret hotline-pki-gateway.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hotline-gateway
  labels:
{labels("gateway", "hotline-gateway", 4)}
  annotations:
    nginx.ingress.kubernetes.io/ssl-passthrough: "true"
    nginx.ingress.kubernetes.io/backend-protocol: GRPCS
spec:
  ingressClassName: nginx
  rules:
    - host: {INGRESS_HOST}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: hotline-gateway
                port:
                  name: grpc
"""

WEB_INGRESS = f"""# Browsers and Open311 clients reach the web front at
# {WEB_INGRESS_HOST}:443 through ingress-nginx, TLS passed through as for the
# gateway: the web front terminates it with its own certificate (Secret
# hotline-pki-web) and authorises operators at the dashboard by the client
# certificate they present, which an ingress terminating TLS would take
# away. Open311 clients present none. Passthrough routes by the TLS server
# name, so this host differs from the gateway's.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hotline-web
  labels:
{labels("web", "hotline-web", 4)}
  annotations:
    nginx.ingress.kubernetes.io/ssl-passthrough: "true"
    nginx.ingress.kubernetes.io/backend-protocol: HTTPS
spec:
  ingressClassName: nginx
  rules:
    - host: {WEB_INGRESS_HOST}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: hotline-web
                port:
                  name: https
"""

BASE_SERVICES = [("city", "city"), ("district", "district"), ("township", "township"),
                 ("community", "community"), ("department", "department"), ("central", "central")]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def clear(d):
    """Removes the manifests a previous run wrote, so none outlives its
    generator (every file here is generated)."""
    for p in list(d.glob("*.yaml")) + list(d.glob("*.toml")):
        p.unlink()


def base():
    d = HERE / "base"
    clear(d)
    write(d / "namespace.yaml", NAMESPACE)
    write(d / "network-policies.yaml", NETWORK_POLICIES)
    write(d / "otel-collector.yaml", collector())
    write(d / "jaeger.yaml", jaeger())
    write(d / "gateway.yaml", gateway())
    write(d / "gateway-ingress.yaml", INGRESS)
    write(d / "web.yaml", web())
    write(d / "web-ingress.yaml", WEB_INGRESS)
    for service, component in BASE_SERVICES:
        write(d / f"{service}.yaml", tier(service, component))
    write(d / "topology.toml", (ROOT / "topology" / "demo-city.toml").read_text())
    files = ["namespace.yaml", "network-policies.yaml", "otel-collector.yaml", "jaeger.yaml",
             "gateway.yaml", "gateway-ingress.yaml", "web.yaml", "web-ingress.yaml"] + \
        [f"{s}.yaml" for s, _ in BASE_SERVICES]
    write(d / "kustomization.yaml", "# The demo city: one Deployment per tier service, the gateway and the web\n"
          "# front and their Ingresses, the collector and Jaeger, their\n"
          "# PodDisruptionBudgets and the NetworkPolicies. No Secret: the operator\n"
          "# creates hotline-postgres, hotline-open311 and the hotline-pki-* ones\n"
          "# (deploy/README.md). topology.toml is a copy of\n"
          "# topology/demo-city.toml (kustomize reads files under its own root only;\n"
          "# a test keeps the two equal). Generated by deploy/k8s/generate.py.\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: hotline\n"
          "resources:\n" + "".join(f"  - {f}\n" for f in files) +
          "configMapGenerator:\n  - name: hotline-topology\n    files:\n      - topology.toml\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n")


def gateway_hpa():
    return f"""# The gateway scales on CPU between two and eight replicas (it needs the
# cluster's metrics-server). Every replica routes from the start: the
# Beijing topology names each service's address.
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: hotline-gateway
  labels:
{labels("gateway", "hotline-gateway", 4)}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: hotline-gateway
  minReplicas: 2
  maxReplicas: 8
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
"""

GATEWAY_REPLICAS = """# The autoscaler owns the gateway's replica count: a count here would be
# put back at every apply.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hotline-gateway
spec:
  replicas: null
"""


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
    clear(d)
    topology, services = beijing_topology()
    write(d / "topology.toml", topology)
    districts = []
    for key, _ in DISTRICTS:
        districts.append(tier(f"township-{key}", "township") + "---\n" + tier(f"community-{key}", "community"))
    write(d / "districts.yaml", "---\n".join(districts))
    write(d / "gateway-hpa.yaml", gateway_hpa())
    write(d / "gateway-replicas.yaml", GATEWAY_REPLICAS)
    deletes = "".join(
        f"  - patch: |-\n      $patch: delete\n      apiVersion: {api}\n      kind: {kind}\n      metadata:\n        name: hotline-{s}\n"
        for s in ("township", "community")
        for api, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("policy/v1", "PodDisruptionBudget"))
    )
    write(d / "kustomization.yaml",
          "# Beijing: the base's city, district and department services, a township\n"
          "# and a community Deployment per district in place of the base's single\n"
          "# ones, and the gateway scaled by an autoscaler. The operator creates the\n"
          "# Secrets, hotline-postgres with a key per service (deploy/README.md).\n"
          "# Generated by deploy/k8s/generate.py.\n"
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: hotline\n"
          "resources:\n  - ../../base\n  - districts.yaml\n  - gateway-hpa.yaml\n"
          "patches:\n" + deletes +
          "  - path: gateway-replicas.yaml\n"
          "configMapGenerator:\n  - name: hotline-topology\n    behavior: replace\n    files:\n      - topology.toml\n")


if __name__ == "__main__":
    base()
    beijing()
