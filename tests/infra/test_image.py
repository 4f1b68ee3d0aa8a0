"""func.yaml against the func CLI's JSON Schema, and the Containerfile (no engine
here to build it): pinned base, multi-stage, non-root, every COPY source exists."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

import jsonschema
import yaml

from tests.infra.conftest import ROOT

SCHEMA = ROOT / "tests" / "infra" / "schemas" / "func_yaml-schema.json"


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Containerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_func_yaml_is_valid():
    """func.yaml validates against knative/func's schema (created is a string, as func writes it)."""
    doc = yaml.safe_load((ROOT / "func.yaml").read_text())
    doc["created"] = str(doc["created"])
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["namespace"] == "flow-like" and doc["deploy"]["healthEndpoints"]["readiness"] == "/health/ready"


def test_func_yaml_schema_rejects_old_flat_keys():
    """The schema is strict: a pre-0.34 flat key (`envs` at the top) is rejected, so the check above means something."""
    doc = yaml.safe_load((ROOT / "func.yaml").read_text())
    doc["created"] = str(doc["created"])
    doc["envs"] = []
    try:
        jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("unknown top-level key accepted")


def test_base_images_are_pinned_and_match_the_project_python():
    """Every FROM names an exact patch tag (no latest, no floating minor) of the Python that pyproject requires."""
    froms = [rest.split()[0] for word, rest in _instructions() if word == "FROM"]
    assert len(froms) >= 2  # multi-stage
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(x) for x in re.search(r"(\d+)\.(\d+)", requires).groups())
    for image in froms:
        m = re.fullmatch(r"docker\.io/library/python:(\d+)\.(\d+)\.(\d+)-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
        assert m, image
        assert (int(m.group(1)), int(m.group(2))) >= minimum


def test_final_stage_is_non_root_without_build_tools():
    """The last stage runs as 65532, sets PYTHONDONTWRITEBYTECODE, installs no compiler, and serves functions-framework."""
    ins = _instructions()
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    final = ins[last_from:]
    assert ("USER", "65532:65532") in final
    assert any(w == "ENV" and "PYTHONDONTWRITEBYTECODE=1" in r for w, r in final)
    assert not any(w == "RUN" and re.search(r"apt-get install|build-essential|gcc", r) for w, r in final)
    assert any(w == "RUN" and "--no-index" in r and "from=builder" in r for w, r in final)  # wheels from the builder
    assert final[-1] == ("CMD", '["functions-framework"]')
    assert any(w == "RUN" and "build-essential" in r for w, r in ins[:last_from])


def test_every_copied_path_exists_and_is_not_ignored():
    """Each COPY source (from the build context) exists and .containerignore/.dockerignore do not exclude it."""
    ignore = [line.strip() for line in (ROOT / ".containerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert (ROOT / ".dockerignore").read_text() == (ROOT / ".containerignore").read_text()

    def ignored(path: str) -> bool:
        result = False
        for pat in ignore:
            neg = pat.startswith("!")
            p = pat.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p + "/*") or path.startswith(p + "/") and "*" not in p:
                result = not neg
        return result

    copies = 0
    for word, rest in _instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        for src in parts[:-1]:
            copies += 1
            assert (ROOT / src).exists(), src
            assert not ignored(src.rstrip("/")), f"{src} is excluded by .containerignore"
    assert copies >= 5
    for needed in ("functions", "boardrun", "alembic.ini"):
        assert any(word == "COPY" and needed in rest for word, rest in _instructions()), needed


def test_runtime_requirements_exclude_test_tools():
    """The image installs requirements.txt above its `# Tests` line: functions-framework yes, pytest no."""
    text = (ROOT / "requirements.txt").read_text()
    assert "\n# Tests" in text
    runtime = text.split("\n# Tests")[0]
    assert "functions-framework==" in runtime and "kubernetes==" in runtime and "alembic==" in runtime
    assert "pytest" not in runtime and "moto" not in runtime
