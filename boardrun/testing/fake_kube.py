"""A small fake Kubernetes API server, real HTTP on 127.0.0.1, for the real
`kubernetes` client.

Serves batch/v1 Jobs, v1 Pods and v1 Secrets in any namespace, with label
selectors, Status objects on errors, 409 AlreadyExists, 404 NotFound, 422 Invalid
for bad names, propagationPolicy on Job deletion (Background/Foreground delete the
Job's pods; Orphan keeps them) and owner-reference garbage collection of Secrets
and Pods. Test hooks: set a Job's status, add pods for a Job with given container
states, inject failures (next N matching calls answer a status, or stall), and
count calls.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# (group path prefix, version, plural) -> kind
KINDS = {
    ("apis/batch", "v1", "jobs"): ("Job", "batch/v1", "batch"),
    ("api", "v1", "pods"): ("Pod", "v1", ""),
    ("api", "v1", "secrets"): ("Secret", "v1", ""),
}
_PATH = re.compile(
    r"^/(?P<prefix>api|apis/batch)/(?P<version>v1)/namespaces/(?P<ns>[^/]+)/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?/?$"
)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_object(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status_object(code, reason, message, details)


# ------------------------------------------------------------------ label selectors


def _split_selector(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def selector_matches(selector: str | None, labels: dict[str, str]) -> bool:
    """Equality (=, ==, !=), set (in, notin) and existence (key, !key) requirements."""
    if not selector:
        return True
    for req in _split_selector(selector):
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", req)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in" and labels.get(key) not in values:
                return False
            if op == "notin" and key in labels and labels[key] in values:
                return False
            continue
        if "!=" in req:
            key, value = (s.strip() for s in req.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "==" in req or "=" in req:
            key, value = (s.strip() for s in re.split(r"==?", req, maxsplit=1))
            if labels.get(key) != value:
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif req not in labels:
            return False
    return True


# ------------------------------------------------------------------ patches


def _json_pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")] if path else []


def apply_json_patch(obj: dict, ops: list[dict]) -> dict:
    obj = copy.deepcopy(obj)
    for op in ops:
        parts = _json_pointer(op["path"])
        parent = obj
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
        last = parts[-1]
        kind = op["op"]
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif kind == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                if kind == "replace" and last not in parent:
                    raise ApiError(422, "Invalid", f"replace operation does not apply: doc is missing path: {op['path']}")
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise ApiError(422, "Invalid", f"remove operation does not apply: doc is missing path: {op['path']}")
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported JSON patch op {kind}")
    return obj


def apply_merge_patch(obj: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = apply_merge_patch(out.get(k), v)
    return out


# ------------------------------------------------------------------ failure injection


@dataclass
class Fault:
    remaining: int
    status: int | None = None  # answer with this status and a Status object
    delay: float = 0.0  # or stall this long before handling (timeouts)
    method: str | None = None
    plural: str | None = None
    reason: str | None = None


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class FakeKube:
    """State and behaviour; `FakeKubeServer` puts it on HTTP."""

    def __init__(self, token: str):
        self.token = token
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict] = {}  # (plural, ns, name) -> object
        self.rv = 1000
        self.calls: Counter = Counter()  # (method, plural) -> n
        self.requests: list[tuple[str, str]] = []  # (method, path?query)
        self.faults: list[Fault] = []

    # ---- hooks

    def fail_next(self, n: int = 1, status: int = 500, method: str | None = None, plural: str | None = None, reason: str | None = None) -> None:
        """The next `n` matching calls answer `status` with a Status object."""
        with self.lock:
            self.faults.append(Fault(n, status=status, method=method, plural=plural, reason=reason))

    def stall_next(self, n: int, seconds: float, method: str | None = None, plural: str | None = None) -> None:
        """The next `n` matching calls wait `seconds` before answering (client timeouts)."""
        with self.lock:
            self.faults.append(Fault(n, delay=seconds, method=method, plural=plural))

    def count(self, method: str | None = None, plural: str | None = None) -> int:
        with self.lock:
            return sum(v for (m, p), v in self.calls.items() if (method is None or m == method) and (plural is None or p == plural))

    def get(self, plural: str, ns: str, name: str) -> dict | None:
        with self.lock:
            obj = self.objects.get((plural, ns, name))
            return copy.deepcopy(obj) if obj else None

    def list(self, plural: str, ns: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for (p, n, _), o in sorted(self.objects.items()) if p == plural and (ns is None or n == ns)]

    def set_job_status(self, ns: str, name: str, status: dict) -> dict:
        """Replace a Job's status (as the Job controller would)."""
        with self.lock:
            job = self.objects[("jobs", ns, name)]
            job["status"] = copy.deepcopy(status)
            self._bump(job)
            return copy.deepcopy(job)

    def set_job_condition(self, ns: str, name: str, ctype: str, reason: str = "", message: str = "", **counters: int) -> dict:
        with self.lock:
            job = self.objects[("jobs", ns, name)]
            st = job.setdefault("status", {})
            st.setdefault("conditions", []).append(
                {"type": ctype, "status": "True", "reason": reason, "message": message, "lastProbeTime": now(), "lastTransitionTime": now()}
            )
            st.update(counters)
            self._bump(job)
            return copy.deepcopy(job)

    def add_pod(self, ns: str, job_name: str, *, phase: str = "Running", state: dict | None = None, last_state: dict | None = None,
                pod_reason: str | None = None, pod_message: str | None = None, name: str | None = None) -> dict:
        """Create a pod for a Job as the Job controller would, with container
        `executor` in `state` (e.g. {"terminated": {"reason": "OOMKilled", "exitCode": 137}})."""
        with self.lock:
            job = self.objects[("jobs", ns, job_name)]
            uid = job["metadata"]["uid"]
            tmpl = job["spec"]["template"]
            name = name or f"{job_name}-{uuid.uuid4().hex[:5]}"
            cstatus = {"name": "executor", "image": tmpl["spec"]["containers"][0]["image"], "ready": phase == "Running",
                       "restartCount": 0, "state": state or {"running": {"startedAt": now()}}}
            if last_state:
                cstatus["lastState"] = last_state
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": dict(tmpl["metadata"].get("labels") or {}),
                    "annotations": dict(tmpl["metadata"].get("annotations") or {}),
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid, "controller": True, "blockOwnerDeletion": True}],
                },
                "spec": copy.deepcopy(tmpl["spec"]),
                "status": {"phase": phase, "containerStatuses": [cstatus]},
            }
            if pod_reason:
                pod["status"]["reason"] = pod_reason
                pod["status"]["message"] = pod_message or ""
            self._store("pods", ns, pod)
            return copy.deepcopy(pod)

    # ---- internals

    def _bump(self, obj: dict) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _store(self, plural: str, ns: str, obj: dict) -> dict:
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = ns
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        meta.setdefault("generation", 1)
        self._bump(obj)
        self.objects[(plural, ns, meta["name"])] = obj
        return obj

    def _validate(self, plural: str, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        name = meta.get("name") or ""
        kind = KINDS[next(k for k in KINDS if k[2] == plural)][0]
        if not name:
            raise ApiError(422, "Invalid", f"{kind} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                           {"kind": plural, "causes": [{"reason": "FieldValueRequired", "field": "metadata.name"}]})
        pattern = _DNS_LABEL if plural == "jobs" else _DNS_SUBDOMAIN
        if len(name) > (63 if plural == "jobs" else 253) or not pattern.match(name):
            raise ApiError(422, "Invalid", f"{kind}.{'batch' if plural == 'jobs' else ''} \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
                           {"name": name, "kind": plural, "causes": [{"reason": "FieldValueInvalid", "field": "metadata.name"}]})
        labels = dict(meta.get("labels") or {})
        if plural == "jobs":
            labels.update(((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {})
        for key, value in labels.items():
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
                raise ApiError(422, "Invalid", f"{kind} \"{name}\" is invalid: metadata.labels: Invalid value: \"{value}\"",
                               {"name": name, "kind": plural, "causes": [{"reason": "FieldValueInvalid", "field": f"metadata.labels[{key}]"}]})
        if plural == "jobs":
            tmpl = (obj.get("spec") or {}).get("template") or {}
            if (tmpl.get("spec") or {}).get("restartPolicy") not in ("Never", "OnFailure"):
                raise ApiError(422, "Invalid", f"Job.batch \"{name}\" is invalid: spec.template.spec.restartPolicy: Required value",
                               {"name": name, "kind": plural})

    def _create(self, plural: str, ns: str, obj: dict) -> dict:
        kind, api_version, group = KINDS[next(k for k in KINDS if k[2] == plural)]
        if obj.get("kind") not in (None, kind):
            raise ApiError(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({api_version})")
        self._validate(plural, obj)
        name = obj["metadata"]["name"]
        if obj["metadata"].get("namespace") not in (None, ns):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        if (plural, ns, name) in self.objects:
            raise ApiError(409, "AlreadyExists", f"{plural}{'.' + group if group else ''} \"{name}\" already exists",
                           {"name": name, "group": group, "kind": plural})
        obj = copy.deepcopy(obj)
        obj["kind"], obj["apiVersion"] = kind, api_version
        if plural == "secrets":
            import base64

            data = dict(obj.get("data") or {})
            for k, v in (obj.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            obj["data"] = data
            obj.setdefault("type", "Opaque")
        if plural == "jobs":
            uid = str(uuid.uuid4())
            obj["metadata"]["uid"] = uid
            tmpl_labels = obj["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {})
            extra = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name}
            tmpl_labels.update(extra)
            obj["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            obj["spec"].setdefault("suspend", False)
            obj["spec"].setdefault("completionMode", "NonIndexed")
            obj["status"] = {}
        return self._store(plural, ns, obj)

    def _delete(self, plural: str, ns: str, name: str, policy: str | None) -> dict:
        obj = self.objects.pop((plural, ns, name), None)
        if obj is None:
            raise ApiError(404, "NotFound", f"{plural}{'.batch' if plural == 'jobs' else ''} \"{name}\" not found",
                           {"name": name, "group": "batch" if plural == "jobs" else "", "kind": plural})
        uid = obj["metadata"]["uid"]
        if plural == "jobs" and policy is None:
            policy = "Orphan"  # the API's historical default for batch/v1 Jobs
        self._collect(uid, orphan=(policy == "Orphan"))
        kind, _, group = KINDS[next(k for k in KINDS if k[2] == plural)]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": group, "kind": plural, "uid": uid}}

    def _collect(self, owner_uid: str, orphan: bool) -> None:
        """The garbage collector: dependents of a deleted owner go too (or lose the
        ownerReference when orphaned)."""
        for key, obj in list(self.objects.items()):
            refs = obj["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == owner_uid for r in refs):
                continue
            if orphan:
                obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                self._bump(obj)
            else:
                del self.objects[key]
                self._collect(obj["metadata"]["uid"], orphan=False)

    def _patch(self, plural: str, ns: str, name: str, content_type: str, body: Any) -> dict:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f"{plural} \"{name}\" not found", {"name": name, "kind": plural})
        if content_type.startswith("application/json-patch+json"):
            if not isinstance(body, list):
                raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            new = apply_json_patch(obj, body)
        elif content_type.startswith(("application/merge-patch+json", "application/strategic-merge-patch+json")):
            new = apply_merge_patch(obj, body)
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")
        for field in ("name", "namespace", "uid"):
            if new["metadata"].get(field) != obj["metadata"].get(field):
                raise ApiError(422, "Invalid", f"metadata.{field}: field is immutable")
        if plural == "secrets" and "stringData" in new:  # write-only: merged into data on every write
            import base64

            data = dict(new.get("data") or {})
            for k, v in (new.pop("stringData") or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            new["data"] = data
        self._bump(new)
        self.objects[(plural, ns, name)] = new
        return new

    def _replace(self, plural: str, ns: str, name: str, body: dict) -> dict:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f"{plural} \"{name}\" not found", {"name": name, "kind": plural})
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f"Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again")
        new = copy.deepcopy(body)
        new.setdefault("metadata", {})
        new["metadata"]["uid"] = obj["metadata"]["uid"]
        new["metadata"]["creationTimestamp"] = obj["metadata"]["creationTimestamp"]
        new["metadata"]["namespace"] = ns
        if plural == "secrets":
            import base64

            data = dict(new.get("data") or {})
            for k, v in (new.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            new["data"] = data
        self._bump(new)
        self.objects[(plural, ns, name)] = new
        return new

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        m = _PATH.match(parts.path)
        plural = m.group("plural") if m else "?"
        with self.lock:
            self.calls[(method, plural)] += 1
            self.requests.append((method, raw_path))
            fault = next((f for f in self.faults if f.remaining > 0 and f.method in (None, method) and f.plural in (None, plural)), None)
            if fault:
                fault.remaining -= 1
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            reason = fault.reason or _REASONS.get(fault.status, "InternalError")
            return fault.status, status_object(fault.status, reason, f"injected failure: {reason}")
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, status_object(401, "Unauthorized", "Unauthorized")
        if not m or (m.group("prefix"), m.group("version"), plural) not in KINDS:
            return 404, status_object(404, "NotFound", "the server could not find the requested resource")
        ns, name = m.group("ns"), m.group("name")
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return 400, status_object(400, "BadRequest", "the body is not JSON")
        try:
            with self.lock:
                if method == "POST" and not name:
                    return 201, copy.deepcopy(self._create(plural, ns, payload or {}))
                if method == "GET" and not name:
                    return 200, self._list_response(plural, ns, query)
                if method == "GET":
                    obj = self.objects.get((plural, ns, name))
                    if obj is None:
                        group = "batch" if plural == "jobs" else ""
                        raise ApiError(404, "NotFound", f"{plural}{'.batch' if group else ''} \"{name}\" not found", {"name": name, "group": group, "kind": plural})
                    return 200, copy.deepcopy(obj)
                if method == "DELETE" and name:
                    policy = query.get("propagationPolicy") or (payload or {}).get("propagationPolicy")
                    return 200, self._delete(plural, ns, name, policy)
                if method == "PATCH" and name:
                    return 200, copy.deepcopy(self._patch(plural, ns, name, headers.get("content-type", ""), payload))
                if method == "PUT" and name:
                    return 200, copy.deepcopy(self._replace(plural, ns, name, payload or {}))
            return 405, status_object(405, "MethodNotAllowed", f"{method} is not supported")
        except ApiError as err:
            return err.status["code"], err.status

    def _list_response(self, plural: str, ns: str, query: dict[str, str]) -> dict:
        kind, api_version, _ = KINDS[next(k for k in KINDS if k[2] == plural)]
        selector = query.get("labelSelector")
        items = [copy.deepcopy(o) for (p, n, _), o in sorted(self.objects.items())
                 if p == plural and n == ns and selector_matches(selector, o["metadata"].get("labels") or {})]
        limit = int(query.get("limit") or 0)
        start = int(query.get("continue") or 0)
        meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if limit:
            page = items[start:start + limit]
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            items = page
        return {"kind": f"{kind}List", "apiVersion": api_version, "metadata": meta, "items": items}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeKube  # set on the subclass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        code, obj = self.fake.handle(self.command, self.path, headers, body)
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args):  # quiet
        pass


class FakeKubeServer:
    """Start with `with FakeKubeServer() as kube:`; `kube.kubeconfig` is a kubeconfig
    file for the real client; `kube.state` (also reachable as attributes) the hooks."""

    def __init__(self, tmp_dir: Path | str, token: str | None = None):
        self.token = token or uuid.uuid4().hex
        self.state = FakeKube(self.token)
        handler = type("Handler", (_Handler,), {"fake": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.kubeconfig = Path(tmp_dir) / "kubeconfig.yaml"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "flow-like-jobs"}}],
            "current-context": "fake",
        }))
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "FakeKubeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeKubeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __getattr__(self, item):  # hooks and state live on FakeKube
        return getattr(self.state, item)

    def api_client(self, retries: int | None = 0):
        """A real `kubernetes.client.ApiClient` configured from the kubeconfig file."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        configuration.retries = retries
        return client.ApiClient(configuration)
