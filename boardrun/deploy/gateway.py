"""The `flow-like-api` gateway's nginx configuration, generated from the routes table.

    python -m boardrun.deploy.gateway > infra/gateway/nginx.conf

Every path of `boardrun.routes.ROUTES` (except the dispatcher's event endpoints,
which only the broker may call, and routes marked `internal` such as the per-pod
/metrics) is proxied to its function's cluster-local Knative
address `http://<function>.<namespace>.svc.<cluster domain>`; anything else is a
404 in Boardrun's error envelope. Static paths become exact locations; paths with
parameters become anchored regex locations, most specific first. When one path is
served by different functions depending on the method, the method picks.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import OrderedDict

from boardrun.routing import Route

INTERNAL_FUNCTIONS = {"dispatcher"}  # CloudEvent sinks: reachable from the broker only

_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


def _escape(literal: str) -> str:
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", literal)


def path_regex(path: str) -> str:
    """An anchored PCRE for a werkzeug rule path."""
    out, pos = [], 0
    for m in _PARAM.finditer(path):
        out.append(_escape(path[pos:m.start()]))
        conv = m.group("conv") or "default"
        out.append({"path": ".+", "int": "[0-9]+", "uuid": "[0-9a-fA-F-]+"}.get(conv, "[^/]+"))
        pos = m.end()
    out.append(_escape(path[pos:]))
    return "^" + "".join(out) + "$"


def _specificity(path: str) -> tuple:
    static = _PARAM.sub("", path)
    return (-len([s for s in path.split("/") if s and not _PARAM.fullmatch(s)]), -len(static), path)


def render(routes: list[Route], namespace: str = "flow-like", cluster_domain: str = "cluster.local",
           resolver: str = "kube-dns.kube-system.svc.cluster.local") -> str:
    by_path: "OrderedDict[str, dict[str, str]]" = OrderedDict()
    for r in routes:
        if r.internal or r.function in INTERNAL_FUNCTIONS:
            continue
        by_path.setdefault(r.path, {})[r.method] = r.function

    def body(methods: dict[str, str], indent: str) -> list[str]:
        functions = sorted(set(methods.values()))
        if len(functions) == 1:
            return [f"{indent}set $boardrun_fn {functions[0]};"]
        # one path, several functions: the method decides; the most common is the default
        counts = {f: list(methods.values()).count(f) for f in functions}
        default = sorted(functions, key=lambda f: (-counts[f], f))[0]
        lines = [f"{indent}set $boardrun_fn {default};"]
        for method, fn in sorted(methods.items()):
            if fn != default:
                lines.append(f"{indent}if ($request_method = {method}) {{ set $boardrun_fn {fn}; }}")
        return lines

    host = f"$boardrun_fn.{namespace}.svc.{cluster_domain}"
    locations: list[str] = []
    static = [p for p in by_path if not _PARAM.search(p)]
    dynamic = sorted((p for p in by_path if _PARAM.search(p)), key=_specificity)
    for path in static:
        locations.append(f"        location = {path} {{")
        locations += body(by_path[path], "            ")
        locations.append(f"            proxy_pass http://{host};")
        locations.append("        }")
        if path.endswith("/") and len(path) > 1 and path.rstrip("/") not in by_path:
            # werkzeug answers the slash-less form with a redirect; let the function do it
            locations.append(f"        location = {path.rstrip('/')} {{")
            locations += body(by_path[path], "            ")
            locations.append(f"            proxy_pass http://{host};")
            locations.append("        }")
    for path in dynamic:
        locations.append(f'        location ~ "{path_regex(path)}" {{  # {path}')
        locations += body(by_path[path], "            ")
        locations.append(f"            proxy_pass http://{host};")
        locations.append("        }")

    functions = sorted({fn for m in by_path.values() for fn in m.values()})
    return TEMPLATE.format(
        resolver=resolver,
        functions=", ".join(functions),
        locations="\n".join(locations),
    )


TEMPLATE = """\
# GENERATED from boardrun/routes.py by `python -m boardrun.deploy.gateway > infra/gateway/nginx.conf`.
# Do not edit by hand: tests/infra/test_gateway.py fails when this file and the routes table disagree.
# The flow-like-api gateway: the spec's paths on port 8080, each proxied to its Knative
# function's cluster-local address. Functions: {functions}.
worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;

    log_format boardrun '$remote_addr "$request" $status $body_bytes_sent $request_time '
                        'fn=$boardrun_fn upstream=$upstream_status rid=$boardrun_request_id';
    access_log /dev/stdout boardrun;
    server_tokens off;
    sendfile off;
    keepalive_timeout 65s;

    # Knative addresses are resolved per request (a Service created after the
    # gateway started, or a changed ingress address, works without a restart).
    resolver {resolver} valid=30s ipv6=off;
    resolver_timeout 5s;

    # The functions enforce their own body limits (MAX_BODY_BYTES, MAX_BOARD_BYTES).
    client_max_body_size 16m;

    map $http_x_request_id $boardrun_request_id {{
        default $http_x_request_id;
        ""      $request_id;
    }}

    server {{
        listen 8080;
        default_type application/json;
        set $boardrun_fn none;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Request-Id $boardrun_request_id;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        # Knative: jobs/execution allow 60 s (sync mode waits up to SYNC_WAIT_SECONDS=30)
        proxy_connect_timeout 10s;
        proxy_send_timeout 75s;
        proxy_read_timeout 75s;

        location = /_gateway/healthz {{
            access_log off;
            return 200 '{{"status":"ok"}}';
        }}

{locations}

        location / {{
            return 404 '{{"error":{{"code":"not_found","message":"no endpoint at this path"}}}}';
        }}

        error_page 502 503 504 = @unavailable;
        location @unavailable {{
            return 503 '{{"error":{{"code":"unavailable","message":"the service is not available, try again"}}}}';
        }}
    }}
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default="flow-like")
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--resolver", default="kube-dns.kube-system.svc.cluster.local")
    args = parser.parse_args(argv)
    from boardrun.routes import ROUTES

    sys.stdout.write(render(ROUTES, args.namespace, args.cluster_domain, args.resolver))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
