"""The settings tree: README's table documents exactly its variables, a malformed value is one
ConfigError naming the variable (and stops every entry point with one line, no traceback), and
only the settings module reads the environment."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from boardrun import services
from boardrun.config import ConfigError, get_settings, load_settings, variables

ROOT = Path(__file__).resolve().parents[1]


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split(" | ", 1)[0]
            names.update(re.findall(r"`([A-Z][A-Z0-9_<>]*)`", first_column))
    return names


def test_readme_documents_every_variable_of_the_tree():
    """Every variable the tree is read from has a row in README's configuration table."""
    assert set(variables()) - _documented() == set()


def test_every_documented_variable_is_in_the_tree():
    """README's configuration table names no variable the tree does not read."""
    assert _documented() - set(variables()) == set()


class _Recording(dict):
    def __init__(self, values):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_the_loader_reads_only_declared_variables():
    """Every name load_settings asks the environment for is one the tree declares (so
    `variables()`, and with it the README test, cannot miss one)."""
    environ = _Recording({"OAUTH_PROVIDERS": "corp", "OAUTH_CORP_CLIENT_ID": "id", "OAUTH_CORP_CLIENT_SECRET": "s",
                          "OAUTH_CORP_DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration",
                          "EXECUTOR_PASS_ENV": "K_SINK"})
    settings = load_settings(environ)
    assert settings.oauth.providers["corp"].callback_url == "http://localhost:8080/api/v1/oauth/corp/callback"
    read = {re.sub(r"^OAUTH_CORP_", "OAUTH_<ID>_", name) for name in environ.read}
    assert read - set(variables()) == set()


@pytest.mark.parametrize("name, value, expected", [
    ("JOB_BACKEND", "kube", "JOB_BACKEND must be 'local' or 'kubernetes', got 'kube'"),
    ("BROKER_WORKERS", "eight", "BROKER_WORKERS must be an integer of at least 1, got 'eight'"),
    ("THREADS", "0", "THREADS must be an integer of at least 1, got '0'"),
    ("TICK_SECONDS", "soon", "TICK_SECONDS must be a number greater than 0, got 'soon'"),
    ("TICK_SECONDS", "nan", "TICK_SECONDS must be a number greater than 0, got 'nan'"),
    ("ENGINE_HTTP_ALLOW_PRIVATE", "ture", "ENGINE_HTTP_ALLOW_PRIVATE must be true or false"),
    ("ENGINE_FILES_ALLOW_EXTERNAL_S3", "yes please", "ENGINE_FILES_ALLOW_EXTERNAL_S3 must be true or false"),
    ("SMTP_STARTTLS", "flase", "SMTP_STARTTLS must be true or false"),
    ("PORT", "70000", "PORT must be a port number"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ("AI_MAX_RETRIES", "11", "AI_MAX_RETRIES must be an integer of at most 10"),
    ("EXECUTOR_IMAGE_PULL_POLICY", "Sometimes", "EXECUTOR_IMAGE_PULL_POLICY must be"),
    ("OAUTH_PROVIDERS", "Bad Id!", "OAUTH_PROVIDERS: 'bad id!' is not a valid provider id"),
])
def test_a_malformed_value_is_one_error_naming_the_variable(name, value, expected):
    """Each malformed value raises a ConfigError that names the variable and what it expects."""
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    assert str(info.value).startswith(expected)


def test_booleans_and_defaults():
    """Booleans accept true/false, 1/0, yes/no, on/off in any case; empty means unset."""
    assert load_settings({"ENGINE_HTTP_ALLOW_PRIVATE": "ON"}).engine.http_allow_private is True
    assert load_settings({"ENGINE_HTTP_ALLOW_PRIVATE": "0"}).engine.http_allow_private is False
    assert load_settings({"SMTP_STARTTLS": ""}).auth.mail.starttls is True
    settings = load_settings({"PORT": "9000"})
    assert (settings.server.port, settings.server.public_url, settings.jobs.backend) == (9000, "http://localhost:9000", "local")


def _run(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, *args], env={**base, **env}, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("args", [
    ["-m", "boardrun.server"],
    ["-m", "boardrun.executor"],
    ["-c", "import runpy; runpy.run_path('functions/health/main.py')"],
], ids=["server", "executor", "function"])
def test_every_entry_point_stops_with_one_line_on_a_bad_value(args, tmp_path):
    """The embedded server, the executor and a function's main exit 2 with one line naming the
    variable, before doing anything else (no traceback)."""
    result = _run(args, {"BROKER_WORKERS": "many"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "boardrun: configuration error: BROKER_WORKERS must be an integer of at least 1, got 'many'"]


def test_the_settings_module_imports_nothing_of_boardrun_above_it(tmp_path):
    """Importing boardrun.config loads no other Boardrun module (it is the lowest layer)."""
    result = _run(["-c", "import sys, boardrun.config; print(sorted(m for m in sys.modules if m.startswith('boardrun')))"],
                  {}, tmp_path)
    assert result.stdout.strip() == "['boardrun', 'boardrun.config']", result.stderr


# The documented hand-offs: the executor's job variables from its parent, the local backend's
# reduced child environment, and the variables the operator lets boards read (utils_env).
_HANDOFFS = {"boardrun/config.py", "boardrun/executor/run.py", "boardrun/jobs/backends/local.py",
             "boardrun/engine/nodes/utils/env.py"}


def test_only_the_settings_module_reads_the_environment():
    """No other module of the package reads os.environ or os.getenv."""
    readers = {str(path.relative_to(ROOT)) for path in (ROOT / "boardrun").rglob("*.py")
               if re.search(r"os\.environ|os\.getenv", path.read_text())}
    assert readers == _HANDOFFS


def test_reset_swaps_the_settings_and_every_service(env, monkeypatch):
    """A registry builds each service once; reset() closes them and the next registry is
    built from the environment as it is then (or from the settings it is given)."""
    registry = services.current()
    assert registry.storage is registry.storage and registry.engine is registry.engine
    engine = registry.engine
    with engine.connect():
        pass
    monkeypatch.setenv("MAX_BODY_BYTES", "1234")
    assert get_settings().server.max_body_bytes == 1024 * 1024  # read once, until the reset
    services.reset()
    assert get_settings().server.max_body_bytes == 1234
    assert services.current() is not registry and services.current().storage is not registry.storage
    assert engine.pool.checkedin() == 0  # the old engine was disposed
    given = load_settings({"MAX_BODY_BYTES": "99"})
    services.reset(given)
    assert get_settings() is given and services.current().settings is given


def test_engine_defaults_are_the_engines_own():
    """Unset, the ENGINE_* settings give the engine's default egress policy and file limits (README
    documents one set of defaults)."""
    from boardrun.engine import EgressPolicy
    from boardrun.engine.files import FilesConfig

    engine = load_settings({}).engine
    assert EgressPolicy.from_settings(engine) == EgressPolicy()
    assert FilesConfig.from_settings(engine) == FilesConfig()
