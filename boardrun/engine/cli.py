"""Command line: run, validate and list boards and nodes.

Exit codes: 0 completed (or valid), 1 run failed, 2 invalid usage or invalid board, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from boardrun.config import ConfigError, get_settings

from .errors import BoardFormatError
from .events import EngineEvent
from .files import FilesConfig, FileServices
from .http_egress import EgressPolicy
from .limits import CancelToken, RunLimits
from .model import Board, load_board
from .registry import catalog
from .runtime import run_board
from .validate import default_start_node, validate_board

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class _UsageError(Exception):
    pass


def _read_board(path: str) -> Board:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise _UsageError(f"{path} is not JSON: {exc}") from None
    try:
        return load_board(data)
    except BoardFormatError as exc:
        raise _UsageError(f"{path} is not a readable board: {exc}") from None


def _json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"{what} is not valid JSON: {exc}") from None


def _dump(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _cmd_run(args: argparse.Namespace) -> int:
    board = _read_board(args.board)
    start = args.node or default_start_node(board)
    if start is None:
        raise _UsageError("the board has no single start node; pass --node NODE_ID")
    payload = None
    if args.payload is not None:
        payload = _json_arg(args.payload, "--payload")
    elif args.payload_file is not None:
        try:
            payload = _json_arg(Path(args.payload_file).read_text(encoding="utf-8"), "--payload-file")
        except OSError as exc:
            raise _UsageError(f"cannot read {args.payload_file}: {exc.strerror}") from None
    variables = {}
    for item in args.var:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise _UsageError(f"--var expects NAME=JSON, got {item!r}")
        variables[name] = _json_arg(raw, f"--var {name}")
    defaults = RunLimits()
    limits = RunLimits(max_steps=args.max_steps or defaults.max_steps,
                       deadline_seconds=args.deadline or defaults.deadline_seconds)
    # The file nodes' folders live under one local folder, laid out as in the server's storage.
    files = FileServices.local(args.files_root, args.app_id, args.user_id, FilesConfig.from_settings(get_settings().engine))
    trace: list[EngineEvent] = []
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        # The same ENGINE_HTTP_* / ENGINE_GEO_* settings as the executor, so a local run behaves alike.
        result = run_board(board, start, payload, variables=variables, limits=limits, cancel=cancel,
                           on_event=trace.append if args.trace else None, egress=EgressPolicy.from_settings(get_settings().engine),
                           files=files)
    finally:
        signal.signal(signal.SIGINT, previous)
    output = result.to_dict()
    if args.trace:
        output["trace"] = [event.to_dict() for event in trace]
    _dump(output)
    if result.status == "completed":
        return EXIT_OK
    if result.status == "cancelled":
        return EXIT_CANCELLED
    return EXIT_USAGE if result.reason in ("invalid_board", "unknown_start_node") else EXIT_FAILED


def _cmd_validate(args: argparse.Namespace) -> int:
    board = _read_board(args.board)
    problems = validate_board(board)
    _dump({"valid": not problems, "problems": [p.to_dict() for p in problems], "repairs": list(board.repairs)})
    return EXIT_USAGE if problems else EXIT_OK


def _cmd_catalog(_args: argparse.Namespace) -> int:
    _dump(catalog())
    return EXIT_OK


def _parser(files_root: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m boardrun.engine", description="Run Flow-Like boards.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a board and print the result as JSON")
    run.add_argument("board", help="board JSON file")
    run.add_argument("--node", help="start node id (default: the board's only start node)")
    payload = run.add_mutually_exclusive_group()
    payload.add_argument("--payload", help="run payload as JSON text")
    payload.add_argument("--payload-file", help="file holding the run payload as JSON")
    run.add_argument("--var", action="append", default=[], metavar="NAME=JSON", help="override a variable")
    run.add_argument("--max-steps", type=int, help="step limit")
    run.add_argument("--deadline", type=float, help="deadline in seconds")
    run.add_argument("--trace", action="store_true", help="include the per-node trace in the output")
    run.add_argument("--files-root", default=files_root,
                     help="folder holding the file nodes' app folders (default: $ENGINE_FILES_ROOT or ./boardrun-files)")
    run.add_argument("--app-id", default="local", help="app whose folders the file nodes use (default: local)")
    run.add_argument("--user-id", default="local", help="user whose folders the file nodes use (default: local)")
    run.set_defaults(handler=_cmd_run)
    validate = commands.add_parser("validate", help="list a board's problems")
    validate.add_argument("board", help="board JSON file")
    validate.set_defaults(handler=_cmd_validate)
    commands.add_parser("catalog", help="print the node catalogue").set_defaults(handler=_cmd_catalog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:  # the ENGINE_* settings, checked before anything runs
        settings = get_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = _parser(settings.engine.files_root)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 for --help
        return int(exc.code or 0)
    if getattr(args, "max_steps", None) is not None and args.max_steps <= 0:
        print("error: --max-steps must be positive", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "deadline", None) is not None and args.deadline <= 0:
        print("error: --deadline must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
