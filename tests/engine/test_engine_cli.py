"""The command line: run, validate, catalog and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from boardrun.engine import catalog
from engine_testkit import BoardBuilder


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "boardrun.engine", *args], capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, b: BoardBuilder) -> str:
    path = tmp_path / "board.json"
    path.write_text(json.dumps(b.build()))
    return str(path)


def echo_board() -> BoardBuilder:
    b = BoardBuilder()
    start = b.add("events_generic", node_id="start")
    var = b.variable("suffix", "!")
    fmt = b.add("string_format", format_string="{payload}{suffix}")
    b.add_pin(fmt, "payload", "Input", "Generic")
    b.add_pin(fmt, "suffix", "Input", "Generic")
    get = b.add("variable_get", var_ref=var)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(start, "payload", fmt, "payload")
    b.connect(get, "value_ref", fmt, "suffix")
    b.connect(fmt, "formatted_string", ret, "response")
    return b


def test_run_prints_result_with_payload_and_var(tmp_path):
    """run prints the result JSON, uses --payload and --var, and exits 0."""
    proc = cli("run", write(tmp_path, echo_board()), "--payload", '"hi"', "--var", 'suffix="?"')
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["result"]) == ("completed", "hi?")
    assert "trace" not in out


def test_run_with_trace_and_payload_file(tmp_path):
    """--trace adds per-node events; --payload-file reads the payload."""
    payload = tmp_path / "payload.json"
    payload.write_text('"file"')
    proc = cli("run", write(tmp_path, echo_board()), "--payload-file", str(payload), "--trace", "--node", "start")
    out = json.loads(proc.stdout)
    assert out["result"] == "file!"
    assert {"node_start", "node_end", "result"} <= {e["kind"] for e in out["trace"]}


def test_run_failure_exits_1(tmp_path):
    """A run that fails (no payload for events_generic) exits 1."""
    proc = cli("run", write(tmp_path, echo_board()))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["reason"] == "node_error"


def test_step_limit_flag_exits_1(tmp_path):
    """--max-steps is applied and a step-limit failure exits 1."""
    proc = cli("run", write(tmp_path, echo_board()), "--payload", "1", "--max-steps", "1")
    assert proc.returncode == 1 and json.loads(proc.stdout)["reason"] == "step_limit"


def test_invalid_board_and_usage_exit_2(tmp_path):
    """An invalid board, bad JSON arguments, a missing file or an unknown start node exit 2."""
    b = echo_board()
    b.nodes["start"]["name"] = "nope"
    assert cli("run", write(tmp_path, b), "--node", "start").returncode == 2
    good = write(tmp_path, echo_board())
    assert cli("run", good, "--payload", "{bad").returncode == 2
    assert cli("run", str(tmp_path / "missing.json")).returncode == 2
    assert cli("run", good, "--node", "ghost", "--payload", "1").returncode == 2
    assert cli("run", good, "--var", "novalue").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_validate_command(tmp_path):
    """validate lists problems and exits 2 for invalid boards, 0 for valid ones."""
    good = cli("validate", write(tmp_path, echo_board()))
    assert good.returncode == 0 and json.loads(good.stdout) == {"valid": True, "problems": [], "repairs": []}
    b = echo_board()
    b.nodes["start"]["name"] = "nope"
    bad = cli("validate", write(tmp_path, b))
    assert bad.returncode == 2 and json.loads(bad.stdout)["problems"][0]["code"] == "unknown_node"


def test_catalog_command():
    """catalog prints every registered node definition, by name, in order."""
    proc = cli("catalog")
    assert proc.returncode == 0
    assert [n["name"] for n in json.loads(proc.stdout)] == [n["name"] for n in catalog()]


def test_sigint_cancels_with_130(tmp_path):
    """SIGINT during a long delay ends the run as cancelled with exit code 130."""
    import os
    import signal
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    reached = threading.Event()

    class Beacon(BaseHTTPRequestHandler):
        def do_GET(self):  # the run has started (and the CLI's SIGINT handler is in place)
            reached.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Beacon)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("http_make_request", url=f"http://127.0.0.1:{httpd.server_port}/", method="GET")
    fetch = b.add("http_fetch")
    b.connect(make, "request", fetch, "request")
    b.chain(start, fetch)
    b.connect(fetch, "exec_success", b.add("delay", time=30_000), "exec_in")
    proc = subprocess.Popen([sys.executable, "-m", "boardrun.engine", "run", write(tmp_path, b), "--trace"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "ENGINE_HTTP_ALLOW_PRIVATE": "true"})
    try:
        assert reached.wait(60), "the board never reached its HTTP node"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        httpd.shutdown()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert json.loads(out)["status"] == "cancelled"


def test_run_gives_file_nodes_a_local_folder(tmp_path):
    """run gives the file nodes app folders under --files-root, laid out for --app-id and --user-id."""
    b = BoardBuilder()
    start = b.add("events_simple")
    path = {"path": "n.txt", "store_ref": "dirs__user", "cache_store_ref": None}
    write_node = b.add("write_string", path=path, content="kept")
    read = b.add("read_to_string", path=path)
    ret = b.add("events_generic_return_result")
    b.chain(start, write_node, read, ret)
    b.connect(read, "content", ret, "response")
    root = tmp_path / "files"
    proc = cli("run", write(tmp_path, b), "--files-root", str(root), "--app-id", "a1", "--user-id", "u1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["result"] == "kept"
    assert (root / "apps/a1/files/users/u1/n.txt").read_text() == "kept"
