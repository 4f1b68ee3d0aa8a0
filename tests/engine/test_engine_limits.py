"""Size, step, time limits and cancellation."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from boardrun.engine import CancelToken, RunLimits
from engine_testkit import BoardBuilder


def long_chain(count: int) -> tuple[BoardBuilder, str]:
    b = BoardBuilder(log_level="Fatal")
    start = previous = b.add("events_simple")
    for _ in range(count):
        node = b.add("log_info", message="x")
        b.connect(previous, "exec_out", node, "exec_in")
        previous = node
    ret = b.add("events_generic_return_result", response="end")
    b.connect(previous, "exec_out", ret, "exec_in")
    return b, start


def test_ten_thousand_node_chain_runs_without_recursion():
    """A 10,000-node execution chain completes (no recursion proportional to board size)."""
    b, start = long_chain(10_000)
    result = b.run(start)
    assert (result.status, result.result, result.steps) == ("completed", "end", 10_002)


def test_long_pure_chain_runs():
    """A 5,000-deep chain of pure nodes is evaluated without recursion errors."""
    b = BoardBuilder()
    start = b.add("events_simple")
    previous = b.add("bool_not")
    for _ in range(4_999):
        node = b.add("bool_not")
        b.connect(previous, "result", node, "boolean")
        previous = node
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(previous, "result", ret, "response")
    assert b.run(start).result is False  # 5,000 negations of false


def test_step_limit():
    """Exceeding max_steps ends the run as failed/step_limit."""
    b, start = long_chain(100)
    result = b.run(start, limits=RunLimits(max_steps=50))
    assert (result.status, result.reason, result.steps) == ("failed", "step_limit", 51)


def test_infinite_exec_cycle_stopped_by_step_limit():
    """An execution cycle between two nodes is stopped by the step limit."""
    b = BoardBuilder()
    start = b.add("events_simple")
    a, c = b.add("log_info"), b.add("log_info")
    b.chain(start, a, c)
    b.connect(c, "exec_out", a, "exec_in")
    result = b.run(start, limits=RunLimits(max_steps=1000))
    assert result.reason == "step_limit"


def test_deadline_during_delay():
    """A delay longer than the deadline ends the run as failed/deadline."""
    b = BoardBuilder()
    start = b.add("events_simple")
    d = b.add("delay", time=30_000)
    b.chain(start, d)
    began = time.monotonic()
    result = b.run(start, limits=RunLimits(deadline_seconds=0.2))
    assert (result.status, result.reason) == ("failed", "deadline")
    assert time.monotonic() - began < 10


def test_deadline_between_steps():
    """A busy loop is stopped by the deadline checked between steps."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_while_loop", condition=True, max_iter=10**9)
    body = b.add("log_info")
    b.chain(start, loop)
    b.connect(loop, "exec_out", body, "exec_in")
    result = b.run(start, limits=RunLimits(deadline_seconds=0.3, max_loop_iterations=10**12, max_steps=10**12))
    assert (result.status, result.reason) == ("failed", "deadline")


def test_cancel_during_delay_from_another_thread():
    """Cancelling from another thread interrupts a 30 s delay promptly with status cancelled."""
    b = BoardBuilder()
    start = b.add("events_simple")
    d = b.add("delay", time=30_000)
    after = b.add("events_generic_return_result", response="too late")
    b.chain(start, d, after)
    token = CancelToken()
    started = threading.Event()

    def on_event(event):
        if event.kind == "node_start" and event.node_name == "delay":
            started.set()

    timer = threading.Thread(target=lambda: (started.wait(5), token.cancel()))
    timer.start()
    began = time.monotonic()
    result = b.run(start, cancel=token, on_event=on_event)
    elapsed = time.monotonic() - began
    timer.join()
    assert (result.status, result.reason, result.result) == ("cancelled", "cancelled", None)
    assert elapsed < 2.0


def test_cancel_before_start():
    """A token cancelled before the run stops it at the first step."""
    b, start = long_chain(10)
    token = CancelToken()
    token.cancel()
    assert token.cancelled and token.wait(0)
    result = b.run(start, cancel=token)
    assert (result.status, result.steps) == ("cancelled", 1)


def test_checkpoint_and_time_left_see_cancel_and_deadline():
    """A node's checkpoint() stops the run once it is cancelled; time_left() counts down to the deadline."""
    from boardrun.engine import registry

    seen = {}

    def probe(ctx):
        seen["left"] = ctx.time_left()
        ctx.checkpoint()  # not cancelled yet: returns
        cancel.cancel()
        ctx.checkpoint()
        seen["after"] = True

    cancel = CancelToken()
    original = registry.get("log_info")
    registry._REGISTRY["log_info"] = registry.NodeType(original.definition, probe)
    try:
        b = BoardBuilder()
        start = b.add("events_simple")
        log = b.add("log_info", message="x")
        b.connect(start, "exec_out", log, "exec_in")
        result = b.run(start, limits=RunLimits(deadline_seconds=30), cancel=cancel)
    finally:
        registry._REGISTRY["log_info"] = original
    assert result.status == "cancelled" and "after" not in seen
    assert 0 < seen["left"] <= 30


def test_running_out_of_memory_stops_the_run_with_memory_limit():
    """A MemoryError in a node is no node failure an On Error chain could handle: the run
    stops with reason memory_limit (the executor reports it as the job's error code)."""
    import resource
    import subprocess
    import sys
    import textwrap

    # In a child process with a small address-space limit, so the test process keeps its memory.
    script = textwrap.dedent(
        f"""
        import json, resource, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from engine_testkit import BoardBuilder
        from boardrun.engine import load_board, run_board
        b = BoardBuilder()
        start = b.add("events_generic", "start")
        render = b.add("string_render_template", "render", template="{{{{ 'x' * 400000000 }}}}")
        ret = b.add("events_generic_return_result", "ret")
        b.connect(start, "exec_out", ret, "exec_in")
        b.connect(render, "rendered", ret, "response")
        board = load_board(b.build())
        resource.setrlimit(resource.RLIMIT_AS, (300 * 1024 * 1024, 300 * 1024 * 1024))
        result = run_board(board, "start", {{}})
        print(json.dumps([result.status, result.reason]))
        """
    )
    assert resource.RLIMIT_AS  # the platform has the limit the executor uses
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["failed", "memory_limit"]
