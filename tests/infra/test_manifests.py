"""Every manifest in infra/: Knative kinds against the vendored CRD schemas with
unknown-key detection, built-in kinds with kubernetes-validate (strict), and the
contract (functions, probes, timeouts, RBAC, eventing, network policy, secrets)."""

from __future__ import annotations

import copy
import hashlib
import re

import jsonschema
import kubernetes_validate
import pytest
import yaml

from boardrun.deploy import services as gen_services
from tests.infra.conftest import INFRA, ROOT, base_manifests, find, kustomization, one
from tests.infra.knative_schema import SCHEMA_DIR, crd_schemas, is_knative, validate_knative

K8S_VERSIONS = ["1.33.0", "1.37.0"]
# The deployed functions: boardrun.deploy.services is their one list (routes and functions/ are checked against it).
FUNCTIONS = [fn.name for fn in gen_services.FUNCTIONS]
SECRET_NAMES = {"DATABASE_URL", "AUTH_SIGNING_KEY", "JOB_TOKEN_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"}
ALL = base_manifests()


def _ids(items):
    return [f"{f}:{d['kind']}/{d['metadata'].get('name')}" for f, d in items]


KNATIVE = [(f, d) for f, d in ALL if is_knative(d)]
BUILTIN = [(f, d) for f, d in ALL if not is_knative(d)]


# ------------------------------------------------------------------ schemas


def test_vendored_crd_schemas_are_unchanged():
    """The copied Knative CRDs and func.yaml schema have the SHA-256 sums their provenance README records."""
    readme = (SCHEMA_DIR / "README.md").read_text()
    sums = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", readme, re.M))
    assert len(sums) == 7
    for name, digest in sums.items():
        assert hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() == digest, name
    func_sum = re.search(r"sha256 `([0-9a-f]{64})`", readme).group(1)
    assert hashlib.sha256((SCHEMA_DIR.parent / "func_yaml-schema.json").read_bytes()).hexdigest() == func_sum


@pytest.mark.parametrize("item", KNATIVE, ids=_ids(KNATIVE))
def test_knative_manifest_matches_crd_schema(item):
    """A Knative/Eventing manifest validates against its CRD schema and has no unknown or misplaced keys."""
    _, doc = item
    assert validate_knative(doc) == []


@pytest.mark.parametrize("item", BUILTIN, ids=_ids(BUILTIN))
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_builtin_manifest_is_valid_kubernetes(item, version):
    """A built-in kind validates with kubernetes-validate in strict mode (unknown fields are errors)."""
    _, doc = item
    kubernetes_validate.validate(doc, version, strict=True)


def test_every_kind_is_validated_somewhere():
    """No manifest escapes validation: each is a vendored Knative kind or a kind kubernetes-validate knows."""
    kinds = {(d["apiVersion"], d["kind"]) for _, d in ALL}
    assert kinds <= set(crd_schemas()) | {(d["apiVersion"], d["kind"]) for _, d in BUILTIN}
    assert ("serving.knative.dev/v1", "Service") in kinds and ("sources.knative.dev/v1", "ApiServerSource") in kinds


def test_misplaced_trigger_retry_is_rejected_though_plain_json_schema_accepts_it():
    """A Trigger with `spec.retry` (belongs in spec.delivery) passes plain JSON Schema but fails our walk."""
    trigger = copy.deepcopy(one(ALL, "Trigger", "dispatcher-job-commands"))
    trigger["spec"]["retry"] = 5
    schema = crd_schemas()[("eventing.knative.dev/v1", "Trigger")]
    jsonschema.validate(trigger, schema)  # plain validation: no complaint
    assert validate_knative(trigger) == [".spec.retry: unknown field (not in the schema's properties)"]


def test_walk_catches_typos_and_type_errors_and_allows_feature_gated_fields():
    """Typos deep in a Service and wrong types are errors; delivery.timeout (feature-gated, not in the schema) is fine."""
    svc = copy.deepcopy(one(ALL, "Service", "jobs"))
    svc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/x"
    svc["spec"]["template"]["spec"]["containerConcurency"] = 5
    errors = validate_knative(svc)
    assert any("httpGet.paht" in e for e in errors) and any("containerConcurency" in e for e in errors)
    trigger = copy.deepcopy(one(ALL, "Trigger", "dispatcher-job-status"))
    assert "timeout" in trigger["spec"]["delivery"]
    assert validate_knative(trigger) == []
    trigger["spec"]["delivery"]["retry"] = "five"
    assert any("'five' is not of type 'integer'" in e for e in validate_knative(trigger))
    trigger["spec"]["delivery"]["retry"] = 3
    trigger["metadata"]["lables"] = {}
    assert validate_knative(trigger) == [".metadata.lables: unknown ObjectMeta field"]


# ------------------------------------------------------------------ kustomize


def test_kustomization_lists_every_manifest_file():
    """Every YAML file under infra/ is a resource of a kustomization (nothing forgotten), and every resource exists."""
    listed = set()
    for base in (INFRA, INFRA / "migrate"):
        k = kustomization(base)
        for res in k["resources"]:
            assert (base / res).is_file(), res
            listed.add((base / res).resolve())
        for gen in k.get("configMapGenerator", []):
            for f in gen["files"]:
                assert (base / f.split("=", 1)[-1]).is_file()
    files = {p.resolve() for p in INFRA.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert files == listed, files ^ listed


def test_images_are_one_image_and_executor_image_matches():
    """Functions, the migration Job and EXECUTOR_IMAGE use the same image, which kustomize's images entry can rewrite."""
    images = set()
    for _, d in ALL:
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if "nginx" not in c["image"]:
                images.add(c["image"])
    config = one(ALL, "ConfigMap", "boardrun-config")["data"]
    images.add(config["EXECUTOR_IMAGE"])
    assert images == {gen_services.IMAGE}
    for base in (INFRA, INFRA / "migrate"):
        assert kustomization(base)["images"][0]["name"] == gen_services.IMAGE.rsplit(":", 1)[0]


def test_no_secret_values_are_committed():
    """infra/ holds no Secret objects and no inline value for a sensitive variable (only secretKeyRef/secretRef)."""
    assert find(ALL, "Secret") == []
    for _, d in ALL:
        text = yaml.safe_dump(d)
        assert "BEGIN PRIVATE KEY" not in text and "postgresql://" not in text
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for e in c.get("env", []):
                if e["name"] in SECRET_NAMES:
                    assert "value" not in e and "secretKeyRef" in e["valueFrom"], e
    assert not (SECRET_NAMES & set(one(ALL, "ConfigMap", "boardrun-config")["data"]))


# ------------------------------------------------------------------ functions


def test_generated_services_are_committed():
    """infra/functions/*.yaml equal what `python -m boardrun.deploy.services` generates."""
    for fn in gen_services.FUNCTIONS:
        assert (INFRA / "functions" / f"{fn.name}.yaml").read_text() == gen_services.render(fn), (
            f"regenerate: python -m boardrun.deploy.services --write infra/functions ({fn.name})"
        )


def test_every_routed_function_is_a_deployed_function():
    """The function of every route is deployed (a Knative Service in infra/ and its
    functions/<name>/main.py), every deployed function serves routes, and functions/
    holds no other function."""
    from boardrun.routes import ROUTES

    routed = {r.function for r in ROUTES}
    assert routed == set(FUNCTIONS), {"routed, not deployed": routed - set(FUNCTIONS), "deployed, never routed": set(FUNCTIONS) - routed}
    knative = {d["metadata"]["name"] for d in find(ALL, "Service") if d["apiVersion"].startswith("serving.knative.dev/")}
    assert routed <= knative, routed - knative
    sources = {p.parent.name for p in (ROOT / "functions").glob("*/main.py")}
    assert sources == routed, sources ^ routed


def _container(svc):
    return svc["spec"]["template"]["spec"]["containers"][0]


def _env(svc):
    return {e["name"]: e for e in _container(svc).get("env", [])}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_one_knative_service_per_function(name):
    """Each function is a cluster-local Knative Service in flow-like with its own FUNCTION_TARGET/SOURCE (the file exists)."""
    svc = one(ALL, "Service", name, "flow-like")
    env = _env(svc)
    assert env["FUNCTION_TARGET"]["value"] == name
    assert env["FUNCTION_SOURCE"]["value"] == f"functions/{name}/main.py"
    assert (ROOT / "functions" / name / "main.py").is_file()
    assert f"def {name}(" in (ROOT / "functions" / name / "main.py").read_text()
    assert svc["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    reserved = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
    assert not reserved & set(env)
    assert _container(svc)["ports"] == [{"name": "http1", "containerPort": 8080}]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_pods_are_hardened_probed_and_scale_to_zero(name):
    """Non-root 65532, read-only root + /tmp emptyDir, caps dropped, probes on /health/*, resources, min-scale 0."""
    svc = one(ALL, "Service", name)
    tmpl = svc["spec"]["template"]
    c = _container(svc)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["runAsUser"] == 65532 and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert c["startupProbe"]["httpGet"]["path"] == "/health/startup"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert "port" not in c["readinessProbe"]["httpGet"]  # Knative: the serving port
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert tmpl["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] == "0"
    assert 0 < tmpl["spec"]["containerConcurrency"] <= 1000
    assert tmpl["spec"]["timeoutSeconds"] <= 600
    assert _env(svc)["THREADS"]["value"] == str(tmpl["spec"]["containerConcurrency"])
    assert {"configMapRef": {"name": "boardrun-config"}} in c["envFrom"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_pods_are_scraped_where_metrics_are_served(name):
    """The pod template carries prometheus.io/scrape|port|path pointing at the container's port and a
    route every function serves (so the kubernetes-pods scrape job finds each pod's /metrics)."""
    from boardrun.routes import ROUTES

    svc = one(ALL, "Service", name)
    notes = svc["spec"]["template"]["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert int(notes["prometheus.io/port"]) == _container(svc)["ports"][0]["containerPort"]
    assert any(r.path == notes["prometheus.io/path"] and r.method == "GET" and r.everywhere for r in ROUTES)


def test_sync_mode_functions_outlast_the_sync_wait():
    """jobs and execution allow 60 s, above SYNC_WAIT_SECONDS (30); the gateway waits longer still."""
    sync_wait = int(one(ALL, "ConfigMap", "boardrun-config")["data"]["SYNC_WAIT_SECONDS"])
    for name in ("jobs", "execution"):
        assert one(ALL, "Service", name)["spec"]["template"]["spec"]["timeoutSeconds"] >= 60 > sync_wait
    conf = (INFRA / "gateway" / "nginx.conf").read_text()
    assert int(re.search(r"proxy_read_timeout (\d+)s", conf).group(1)) > 60


def test_dispatcher_has_lower_concurrency_and_its_own_service_account():
    """The dispatcher runs with low concurrency and the only ServiceAccount with API rights; the rest use boardrun-functions."""
    disp = one(ALL, "Service", "dispatcher")["spec"]["template"]["spec"]
    others = [one(ALL, "Service", n)["spec"]["template"]["spec"] for n in FUNCTIONS if n != "dispatcher"]
    assert disp["serviceAccountName"] == "boardrun-dispatcher"
    assert all(o["serviceAccountName"] == "boardrun-functions" for o in others)
    assert disp["containerConcurrency"] < min(o["containerConcurrency"] for o in others)


def test_production_settings_come_from_config_and_secrets():
    """Every function gets BOARDRUN_ENV=production, DATABASE_URL and AUTH_SIGNING_KEY from Secrets, storage credentials by secretRef."""
    data = one(ALL, "ConfigMap", "boardrun-config")["data"]
    assert data["BOARDRUN_ENV"] == "production" and data["STORAGE_URL"].startswith("s3://")
    for name in FUNCTIONS:
        svc = one(ALL, "Service", name)
        env = _env(svc)
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "boardrun-database", "key": "url"}
        assert env["AUTH_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "boardrun-auth"
        assert {"secretRef": {"name": "boardrun-storage"}} in _container(svc)["envFrom"]
    for name in ("jobs", "execution", "dispatcher"):
        assert _env(one(ALL, "Service", name))["JOB_TOKEN_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "boardrun-job-token"
    assert "JOB_TOKEN_SECRET" not in _env(one(ALL, "Service", "hub"))


def test_executor_settings_match_the_backend_defaults_and_namespaces():
    """The ConfigMap's executor settings are the ones KubernetesConfig reads, pointing at flow-like-jobs and boardrun-executor."""
    from boardrun.jobs.backends.kubernetes import KubernetesConfig

    from boardrun.config import load_settings

    data = one(ALL, "ConfigMap", "boardrun-config")["data"]
    cfg = KubernetesConfig.from_settings(load_settings({**data, "K_SINK": "http://broker"}).kubernetes)
    assert cfg.namespace == "flow-like-jobs" and cfg.service_account == "boardrun-executor"
    assert cfg.env_secret == "boardrun-executor-env" and cfg.extra_env.get("K_SINK") == "http://broker"
    one(ALL, "ServiceAccount", "boardrun-executor", "flow-like-jobs")


# ------------------------------------------------------------------ RBAC


def test_only_the_dispatcher_and_the_job_watcher_have_api_rights():
    """Exactly two RoleBindings, namespaced to flow-like-jobs; no ClusterRoles; dispatcher verbs are least privilege."""
    assert find(ALL, "ClusterRole") == [] and find(ALL, "ClusterRoleBinding") == []
    bindings = find(ALL, "RoleBinding")
    assert {(b["metadata"]["namespace"], b["subjects"][0]["name"], b["subjects"][0]["namespace"]) for b in bindings} == {
        ("flow-like-jobs", "boardrun-dispatcher", "flow-like"),
        ("flow-like-jobs", "boardrun-job-watcher", "flow-like-jobs"),
    }
    rules = {(tuple(r["apiGroups"]), tuple(r["resources"])): set(r["verbs"]) for r in one(ALL, "Role", "boardrun-dispatcher")["rules"]}
    assert rules[(("batch",), ("jobs",))] == {"create", "get", "list", "watch", "delete"}
    assert rules[(("",), ("secrets",))] == {"create", "get", "patch", "delete"}  # no list: cannot enumerate credentials
    assert rules[(("",), ("pods",))] == {"get", "list", "watch"}
    assert len(rules) == 3
    watcher = one(ALL, "Role", "boardrun-job-watcher")["rules"]
    assert watcher == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]


def test_service_accounts_without_rights_mount_no_token():
    """boardrun-functions, boardrun-gateway and boardrun-executor do not automount a token; the migration Job neither."""
    for name in ("boardrun-functions", "boardrun-gateway", "boardrun-executor"):
        assert one(ALL, "ServiceAccount", name)["automountServiceAccountToken"] is False
    assert one(ALL, "Job", "boardrun-migrate")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


# ------------------------------------------------------------------ eventing


def test_broker_and_k_sink_agree():
    """K_SINK in the ConfigMap is the ingress URL of Broker flow-like/boardrun."""
    broker = one(ALL, "Broker", "boardrun", "flow-like")
    sink = one(ALL, "ConfigMap", "boardrun-config")["data"]["K_SINK"]
    assert sink == f"http://broker-ingress.knative-eventing.svc.cluster.local/{broker['metadata']['namespace']}/{broker['metadata']['name']}"


def test_triggers_and_sources_point_at_existing_services():
    """Every Trigger/PingSource sink and dead-letter ref names a Knative Service of infra/, at a POST route its function serves."""
    services = {d["metadata"]["name"] for d in find(ALL, "Service") if d["apiVersion"].startswith("serving.knative.dev")}
    refs = []
    for d in find(ALL, "Trigger"):
        refs.append(d["spec"]["subscriber"])
        assert d["spec"]["broker"] == "boardrun"
    for d in find(ALL, "PingSource"):
        refs.append(d["spec"]["sink"])
    dls = one(ALL, "Broker", "boardrun")["spec"]["delivery"]["deadLetterSink"]
    for ref in refs + [dls]:
        assert ref["ref"]["kind"] == "Service" and ref["ref"]["name"] in services
    from boardrun.routes import ROUTES

    served = {(r.function, r.path) for r in ROUTES if r.method == "POST"}
    assert [r for r in refs + [dls] if (r["ref"]["name"], r["uri"]) not in served] == []


def test_pingsources_send_the_periodic_tasks_every_minute():
    """Three PingSources, JSON data, every minute: outbox-relay and reconcile to the dispatcher's /events, cron to the triggers function."""
    import json

    tasks = {json.loads(p["spec"]["data"])["task"]: p for p in find(ALL, "PingSource")}
    assert set(tasks) == {"outbox-relay", "reconcile", "cron"}
    for name, p in tasks.items():
        assert p["spec"]["schedule"] == "* * * * *" and p["spec"]["contentType"] == "application/json"
        sink = (p["spec"]["sink"]["ref"]["name"], p["spec"]["sink"]["uri"])
        assert sink == (("triggers", "/triggers/cron") if name == "cron" else ("dispatcher", "/events"))


def test_apiserversource_watches_boardrun_jobs_with_a_rights_holding_account():
    """The ApiServerSource (mode Resource) watches labelled batch/v1 Jobs in flow-like-jobs; its account may get/list/watch them; a Trigger routes the events to the dispatcher."""
    src = one(ALL, "ApiServerSource", "boardrun-job-watch")
    assert src["metadata"]["namespace"] == "flow-like-jobs" and src["spec"]["mode"] == "Resource"
    assert src["spec"]["resources"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "selector": {"matchLabels": {"app.kubernetes.io/managed-by": "boardrun"}}}
    ]
    sa = src["spec"]["serviceAccountName"]
    binding = [b for b in find(ALL, "RoleBinding", namespace="flow-like-jobs") if b["subjects"][0]["name"] == sa]
    assert binding and binding[0]["roleRef"]["name"] == "boardrun-job-watcher"
    assert src["spec"]["sink"] == {"uri": one(ALL, "ConfigMap", "boardrun-config")["data"]["K_SINK"]}
    trig = one(ALL, "Trigger", "dispatcher-job-watch")
    assert trig["spec"]["filters"] == [{"prefix": {"type": "dev.knative.apiserver.resource."}}]
    assert trig["spec"]["subscriber"]["ref"]["name"] == "dispatcher"


def test_backend_labels_match_the_watch_and_the_network_policy():
    """The labels the backend puts on executor pods are the ones the ApiServerSource and the NetworkPolicy select."""
    from boardrun.jobs.backends.base import LaunchSpec
    from boardrun.jobs.backends.k8s_objects import labels_for

    labels = labels_for(LaunchSpec("job-1", 1, "app", "board", 60))
    src = one(ALL, "ApiServerSource", "boardrun-job-watch")["spec"]["resources"][0]["selector"]["matchLabels"]
    pol = one(ALL, "NetworkPolicy", "executor-egress")["spec"]["podSelector"]["matchLabels"]
    assert src.items() <= labels.items() and pol.items() <= labels.items()


# ------------------------------------------------------------------ network policy


def test_executor_network_policy_blocks_cluster_and_private_ranges():
    """Executors: no ingress; egress to DNS, the broker ingress, labelled storage, and public IPs only (private, metadata and CGNAT ranges excluded)."""
    import ipaddress

    pol = one(ALL, "NetworkPolicy", "executor-egress", "flow-like-jobs")["spec"]
    assert set(pol["policyTypes"]) == {"Ingress", "Egress"} and pol["ingress"] == []
    blocks = [peer["ipBlock"] for rule in pol["egress"] for peer in rule.get("to", []) if "ipBlock" in peer]
    v4 = next(b for b in blocks if b["cidr"] == "0.0.0.0/0")
    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"):
        assert private in v4["except"]
    # typical cluster addresses: the API server service, a pod, a database: all excluded
    for addr in ("10.96.0.1", "10.244.3.7", "172.20.0.10", "192.168.1.5", "169.254.169.254"):
        ip = ipaddress.ip_address(addr)
        assert any(ip in ipaddress.ip_network(e) for e in v4["except"]), addr
    peers = [peer for rule in pol["egress"] for peer in rule.get("to", []) if "ipBlock" not in peer]
    namespaces = {p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") for p in peers}
    assert namespaces == {"kube-system", "knative-eventing", None}  # None: the storage-labelled namespace
    ports = {p["port"] for rule in pol["egress"] for p in rule.get("ports", [])}
    assert not ports & {5432, 6443}  # no rule opens the database or the API server port


# ------------------------------------------------------------------ gateway and migration


def test_gateway_service_serves_the_spec_port():
    """Service flow-like-api in flow-like listens on 8080 (the spec's port-forward 8083:8080) and selects the nginx pods."""
    svc = one(ALL, "Service", "flow-like-api", "flow-like")
    assert svc["spec"]["ports"][0]["port"] == 8080
    dep = one(ALL, "Deployment", "flow-like-api", "flow-like")
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 8080
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+-alpine|[\w./-]+@sha256:[0-9a-f]{64}", c["image"]), "gateway image must be pinned"
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["runAsNonRoot"]
    assert dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == kustomization(INFRA)["configMapGenerator"][0]["name"]
    assert "listen 8080;" in (INFRA / "gateway" / "nginx.conf").read_text()


def test_migration_job_runs_alembic_with_the_database_secret():
    """The migration Job runs `alembic upgrade head` in /app (where the image puts alembic.ini) with DATABASE_URL from the Secret."""
    job = one(ALL, "Job", "boardrun-migrate", "flow-like")
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["alembic", "upgrade", "head"] and c["workingDir"] == "/app"
    env = {e["name"]: e for e in c["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "boardrun-database", "key": "url"}
    assert (ROOT / "alembic.ini").is_file()
