"""The Grafana dashboard in infra/monitoring queries only metrics the code exposes, and the
README's Metrics section lists every metric the code exposes."""

from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from tests.infra.conftest import INFRA

DASHBOARD = INFRA / "monitoring" / "grafana-dashboard.json"
README = INFRA.parent / "README.md"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed(api) -> dict[str, str]:
    """{series name a query may use: its family} for every boardrun_* family of a real scrape."""
    r = api.get("/metrics")
    assert r.status_code == 200
    names = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        if family.name.startswith("boardrun_"):
            for suffix in _SUFFIXES[family.type]:
                names[family.name + suffix] = family.name
    return names


def queried() -> set[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in doc["templating"]["list"] if "definition" in v]
    return {name for e in exprs for name in re.findall(r"\bboardrun_[a-z_]+\b", e)}


def test_dashboard_queries_only_exposed_metrics(api):
    """Every boardrun_* series a dashboard panel or variable queries is one the code exposes (typo or rename: fails)."""
    names = exposed(api)
    assert queried(), "the dashboard queries no boardrun metric"
    unknown = sorted(queried() - set(names))
    assert not unknown, f"the dashboard queries metrics the code does not define: {unknown}"


def test_dashboard_covers_every_metric(api):
    """Each metric family the code exposes appears in at least one panel."""
    names = exposed(api)
    shown = {names[q] for q in queried() if q in names}
    assert shown == set(names.values()), sorted(set(names.values()) - shown)


def test_readme_lists_every_metric(api):
    """README's Metrics section names every metric the code exposes (counters with _total, histograms by their base name)."""
    section = README.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    names = exposed(api)
    expected = {f + "_total" if f + "_total" in names else f for f in set(names.values())}
    missing = sorted(expected - set(re.findall(r"`(boardrun_[a-z_]+)", section)))
    assert not missing, f"README's Metrics section does not list: {missing}"
