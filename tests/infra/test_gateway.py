"""The flow-like-api gateway config is generated from the routes table and routes
every public path of it to the right function (checked with a small model of
nginx's location matching)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from boardrun.deploy import gateway
from boardrun.routes import ROUTES
from boardrun.routing import Route
from tests.infra.conftest import INFRA

CONF = INFRA / "gateway" / "nginx.conf"


def test_committed_config_is_generated_from_the_routes_table():
    """infra/gateway/nginx.conf equals a fresh render of boardrun.routes.ROUTES (a route added without regenerating fails here)."""
    assert CONF.read_text() == gateway.render(ROUTES), "regenerate: python -m boardrun.deploy.gateway > infra/gateway/nginx.conf"


def test_a_new_route_changes_the_config():
    """Adding a route to the table changes the rendered config (so the test above catches stale files)."""
    extra = ROUTES + [Route("GET", "/api/v1/brand-new/<thing_id>", "apps", "x:y", "new")]
    assert gateway.render(extra) != gateway.render(ROUTES)
    assert "/api/v1/brand-new/[^/]+$" in gateway.render(extra)


class NginxModel:
    """nginx location selection: exact `=` matches win, then regex locations in order."""

    def __init__(self, text: str):
        self.exact: dict[str, str] = {}
        self.regex: list[tuple[re.Pattern, str, dict[str, str]]] = []
        pattern = re.compile(r'location (=|~) ("[^"]+"|\S+) \{(?:  # [^\n]*)?\n(.*?)\n        \}', re.S)
        for kind, target, body in pattern.findall(text):
            default = re.search(r"^\s*set \$boardrun_fn (\w+);", body, re.M)
            if not default:
                continue
            by_method = dict(re.findall(r"if \(\$request_method = (\w+)\) \{ set \$boardrun_fn (\w+); \}", body))
            if kind == "=":
                self.exact[target] = (default.group(1), by_method)
            else:
                self.regex.append((re.compile(target.strip('"')), default.group(1), by_method))

    def function_for(self, method: str, path: str) -> str | None:
        if path in self.exact:
            default, by_method = self.exact[path]
            return by_method.get(method, default)
        for rx, default, by_method in self.regex:
            if rx.search(path):
                return by_method.get(method, default)
        return None


def _sample(path: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "x1y2", path)


@pytest.fixture(scope="module")
def model():
    return NginxModel(CONF.read_text())


def _public(route: Route) -> bool:
    return route.function != "dispatcher" and not route.internal


@pytest.mark.parametrize("route", [r for r in ROUTES if _public(r)], ids=lambda r: f"{r.method} {r.path}")
def test_every_public_route_reaches_its_function(model, route):
    """Each route of the table, with sample parameters, is proxied to the function that serves it."""
    assert model.function_for(route.method, _sample(route.path)) == route.function


def test_event_endpoints_are_not_exposed(model):
    """The dispatcher's CloudEvent endpoints are reachable from the broker only, not through the gateway."""
    assert model.function_for("POST", "/events") is None
    assert model.function_for("POST", "/events/dead-letter") is None
    assert "dispatcher" not in CONF.read_text().split("Functions:")[1].split("\n")[0]


def test_internal_routes_are_not_exposed(model):
    """Routes marked internal (the per-pod /metrics) are not routed by the public gateway: 404, even
    though their function is; the generator skips any internal route, not only this one."""
    assert [r.path for r in ROUTES if r.internal] == ["/metrics"]
    assert model.function_for("GET", "/metrics") is None
    m = NginxModel(gateway.render([Route("GET", "/open", "hub", "x:y", ""), Route("GET", "/hidden", "hub", "x:y", "", internal=True)]))
    assert (m.function_for("GET", "/open"), m.function_for("GET", "/hidden")) == ("hub", None)


def test_unknown_paths_and_upstream_errors_answer_json(model):
    """Unrouted paths get a 404 in Boardrun's error envelope; nginx's own 502/504 become a JSON 503."""
    text = CONF.read_text()
    assert model.function_for("GET", "/nope") is None
    assert '"code":"not_found"' in text and "error_page 502 503 504 = @unavailable;" in text


def test_proxies_to_cluster_local_knative_addresses():
    """Upstreams are `<function>.flow-like.svc.cluster.local`, resolved per request through kube-dns."""
    text = CONF.read_text()
    assert set(re.findall(r"proxy_pass (\S+);", text)) == {"http://$boardrun_fn.flow-like.svc.cluster.local"}
    assert "resolver kube-dns.kube-system.svc.cluster.local" in text


def test_method_decides_when_a_path_is_shared():
    """If one path were served by two functions (by method), the config picks by $request_method."""
    routes = [Route("GET", "/shared", "hub", "x:y", ""), Route("POST", "/shared", "jobs", "x:y", ""), Route("PUT", "/shared", "hub", "x:y", "")]
    m = NginxModel(gateway.render(routes))
    assert (m.function_for("GET", "/shared"), m.function_for("POST", "/shared"), m.function_for("PUT", "/shared")) == ("hub", "jobs", "hub")


def test_regex_of_werkzeug_rules():
    """Parameters become one path segment (`path:` converters any rest); literal dots are escaped."""
    assert gateway.path_regex("/api/v1/apps/<app_id>/board/<board_id>") == "^/api/v1/apps/[^/]+/board/[^/]+$"
    assert gateway.path_regex("/files/<path:rest>") == "^/files/.+$"
    assert gateway.path_regex("/api/v1/openapi.json") == r"^/api/v1/openapi\.json$"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed on this machine")
def test_nginx_accepts_the_config(tmp_path):  # pragma: no cover - only where nginx exists
    """`nginx -t` accepts the generated file (run where nginx is installed)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.read_text().replace("resolver kube-dns.kube-system.svc.cluster.local", "resolver 127.0.0.1"))
    subprocess.run(["nginx", "-t", "-c", str(conf), "-p", str(tmp_path)], check=True)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed on this machine")
def test_real_nginx_routes_every_public_route(tmp_path):  # pragma: no cover - only where nginx exists
    """The generated config, run by a real nginx, sends each route (sample parameters) to its function with the original path."""
    import http.server
    import socket
    import threading
    import time

    import httpx

    seen: list[tuple[str, str, str]] = []

    class Echo(http.server.BaseHTTPRequestHandler):
        def _any(self):
            seen.append((self.command, self.path, self.headers.get("X-Test-Fn", "")))
            body = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, *a):
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = CONF.read_text()
    text = text.replace("proxy_pass http://$boardrun_fn.flow-like.svc.cluster.local;",
                        f"proxy_set_header X-Test-Fn $boardrun_fn; proxy_pass http://127.0.0.1:{upstream.server_address[1]};")
    text = text.replace("resolver kube-dns.kube-system.svc.cluster.local", "resolver 127.0.0.1")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};").replace("/tmp/", f"{tmp_path}/")
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/_gateway/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        with httpx.Client(base_url=base) as client:
            for route in ROUTES:
                path = _sample(route.path)
                seen.clear()
                r = client.request(route.method, path + "?q=1")
                if not _public(route):
                    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found" and not seen
                    continue
                assert r.status_code == 200, (route, r.text)
                assert seen == [(route.method, path + "?q=1", route.function)], route
            r = client.get("/definitely/not/here")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        upstream.shutdown()
