"""Validation of Knative manifests against the vendored CRD schemas
(tests/infra/schemas/knative/, see its README), WITH unknown-key detection.

Plain JSON-Schema validation of a CRD's openAPIV3Schema lets unknown or misplaced
keys through (the schemas carry no `additionalProperties: false`; the API server
prunes such keys silently). `unknown_keys` walks the manifest alongside the schema:
a key that is not in `properties` is an error unless

- the node has a schema-valued (or `true`) `additionalProperties` (string maps such
  as labels), or
- the node says `x-kubernetes-preserve-unknown-fields: true` and declares NO
  properties (a free-form object: e.g. a pod `securityContext` in a Knative
  Service, whose fields sit behind feature flags), or
- the key is one of the few fields Knative's Go types have but the CRD schema
  omits (`FEATURE_GATED`, e.g. `delivery.timeout`).

Why not every preserve-unknown node: Eventing marks whole objects such as
`Trigger.spec` with `x-kubernetes-preserve-unknown-fields: true` AND lists their
properties. The API server then keeps an unknown key, and Knative's webhook, which
decodes into Go structs with unknown fields disallowed, rejects it (or, without the
webhook, it is silently ignored). Either way `spec.retry` in a Trigger is a bug,
so a declared property list is treated as closed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).parent / "schemas" / "knative"

# ObjectMeta fields a manifest may set (metadata is `type: object` without
# properties in CRD schemas: the API server validates it itself)
OBJECT_META = {"name", "generateName", "namespace", "labels", "annotations", "ownerReferences", "finalizers"}

# Fields of Knative's Go types that the CRD schemas leave out (their parent node is
# x-kubernetes-preserve-unknown-fields): knative/eventing pkg/apis/duck/v1/
# delivery_types.go (`timeout`: feature delivery-timeout, on by default in 1.22;
# `retryAfterMax`: delivery-retryafter; `format`).
FEATURE_GATED = {"delivery": {"timeout", "retryAfterMax", "format"}}


@lru_cache(maxsize=None)
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> openAPIV3Schema, for every served version of every vendored CRD."""
    out: dict[tuple[str, str], dict] = {}
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                out[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return out


def is_knative(obj: dict) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) in crd_schemas()


def unknown_keys(obj: Any, schema: dict, path: str = "") -> list[str]:
    errors: list[str] = []
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        for key, value in obj.items():
            where = f"{path}.{key}"
            if path == "" and key in ("apiVersion", "kind"):
                continue  # type meta: not always declared in a CRD's schema
            if where == ".metadata" and not (props.get(key) or {}).get("properties"):
                errors += [f"{where}.{k}: unknown ObjectMeta field" for k in (value or {}) if k not in OBJECT_META]
                continue
            if key in props:
                errors += unknown_keys(value, props[key], where)
            elif isinstance(addl, dict):
                errors += unknown_keys(value, addl, where)
            elif addl is True or (preserve and not props):
                continue
            elif preserve and key in FEATURE_GATED.get(path.rsplit(".", 1)[-1], ()):
                continue
            else:
                errors.append(f"{where}: unknown field (not in the schema's properties)")
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, value in enumerate(obj):
                errors += unknown_keys(value, items, f"{path}[{i}]")
    return errors


def validate_knative(obj: dict) -> list[str]:
    """Every problem found: JSON-Schema errors (types, enums, required) and unknown keys."""
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]
    return errors + unknown_keys(obj, schema)
