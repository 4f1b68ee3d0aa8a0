"""The catalogue export matches Flow-Like's node facts and node JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from boardrun.engine import catalog, registry
from boardrun.engine.nodes import module_for_category
from boardrun.engine.model import MISSING, decode_default
from engine_testkit import flowlike_file


def _core() -> list[dict]:
    return json.loads(flowlike_file("catalog-core.json").read_text(encoding="utf-8"))


def _reference() -> list[dict]:
    """Flow-Like's definition of every node we implement (catalog-full.json lists all 1,303)."""
    full = {n["name"]: n for n in json.loads(flowlike_file("catalog-full.json").read_text(encoding="utf-8"))}
    return [full[n["name"]] for n in catalog() if n["name"] in full]


def test_every_core_node_is_implemented():
    """The 43 nodes of catalog-core.json are all implemented."""
    assert {n["name"] for n in _core()} <= {n["name"] for n in catalog()}


def test_every_node_is_a_flowlike_node():
    """No node name of ours is missing from Flow-Like's full catalogue."""
    assert [n["name"] for n in catalog() if n["name"] not in {r["name"] for r in _reference()}] == []


def test_node_facts_match_reference():
    """Friendly names, categories and flags equal Flow-Like's for every node we implement."""
    ours = {n["name"]: n for n in catalog()}
    for ref in _reference():
        node = ours[ref["name"]]
        assert (node["friendly_name"], node["category"]) == (ref["friendly_name"], ref["category"]), ref["name"]
        assert bool(node["start"]) == bool(ref.get("start")), ref["name"]
        for flag in ("long_running", "event_callback", "can_be_referenced_by_fns"):
            assert bool(node.get(flag)) == bool(ref.get(flag)), (ref["name"], flag)


def test_pins_match_reference_in_order():
    """Pin names, friendly names, types, value types, defaults, options and index match, in order."""
    ours = {n["name"]: n for n in catalog()}
    keys = ("name", "friendly_name", "pin_type", "data_type", "value_type", "index", "options")
    for ref in _reference():
        pins = list(ours[ref["name"]]["pins"].values())
        assert [tuple(p[k] for k in keys) for p in pins] == [tuple(p[k] for k in keys) for p in ref["pins"]], ref["name"]
        for pin, ref_pin in zip(pins, ref["pins"]):
            value, error = decode_default(pin["default_value"])
            assert error is None
            decoded = None if value is MISSING else value
            assert (decoded, type(decoded)) == (ref_pin["default_value"], type(ref_pin["default_value"])), (
                ref["name"], pin["name"])


def test_export_validates_against_node_schema():
    """Every exported node is valid Flow-Like node JSON (node.json)."""
    schema = json.loads(flowlike_file("node.json").read_text(encoding="utf-8"))
    for node in catalog():
        jsonschema.validate(node, schema)


def test_descriptions_are_our_own():
    """Descriptions are present and are not the reference extract's wording."""
    reference = {n["name"]: n for n in _core()}
    for node in catalog():
        assert node["description"]
        if node["name"] in reference:
            assert node["description"] not in (reference[node["name"]]["description_ours"],
                                               reference[node["name"]]["behaviour_ours"])


def test_each_node_lives_in_the_module_of_its_category():
    """A node of category 'Top/Sub' is implemented in engine/nodes/top/sub.py ('Top': top/core.py)."""
    misplaced = []
    for node_type in registry.node_types():
        expected = f"boardrun.engine.nodes.{module_for_category(node_type.definition.category)}"
        if node_type.run.__module__ != expected:
            misplaced.append((node_type.definition.name, node_type.run.__module__, expected))
    assert misplaced == []


def test_catalog_is_deterministic_and_sorted():
    """Two exports are identical and sorted by node name."""
    first, second = catalog(), catalog()
    assert first == second
    assert [n["name"] for n in first] == sorted(n["name"] for n in first)


def test_importing_engine_does_not_import_http_or_templates():
    """Importing boardrun.engine and exporting the catalogue leaves httpx and jinja2 unloaded."""
    code = ("import sys, boardrun.engine as e; e.catalog(); "
            "print('httpx' in sys.modules, 'jinja2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
