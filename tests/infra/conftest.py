"""Helpers of the infra tests: the manifests of infra/ as kustomize would collect them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def kustomization(path: Path) -> dict:
    return yaml.safe_load((path / "kustomization.yaml").read_text())


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def base_manifests() -> list[tuple[str, dict]]:
    """(file, document) for every resource of infra/kustomization.yaml and infra/migrate/."""
    out = []
    for base in (INFRA, INFRA / "migrate"):
        for res in kustomization(base)["resources"]:
            file = base / res
            out += [(str(file.relative_to(ROOT)), d) for d in load_docs(file)]
    return out


@pytest.fixture(scope="session")
def manifests() -> list[tuple[str, dict]]:
    return base_manifests()


def find(manifests, kind: str, name: str | None = None, namespace: str | None = None) -> list[dict]:
    return [
        d for _, d in manifests
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(manifests, kind: str, name: str, namespace: str | None = None) -> dict:
    found = find(manifests, kind, name, namespace)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]
