"""Schemathesis against the embedded server's own OpenAPI document, with a real bearer token.

    python bench/api_fuzz.py [--max-examples 10] [--postgres] [-- extra schemathesis args]

Starts `python -m boardrun.server` on 127.0.0.1 with a fresh DATA_DIR (SQLite, or a
throw-away PostgreSQL database with --postgres), registers an account, signs in and
creates an app with a frozen board (so the operations find something), then runs `schemathesis run <server>/api/v1/openapi.json` with its default checks and
`Authorization: Bearer <access token>` on every request. Exits with schemathesis' status:
0 when no check failed. Not a test: a full run takes minutes (see docs/openapi.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PostgresDatabase, setup_app, start_embedded, temp_root  # noqa: E402


def run(base_url: str, max_examples: int, extra: list[str], workdir: Path) -> int:
    app = setup_app(base_url)
    exe = Path(sys.executable).with_name("schemathesis")
    argv = [
        str(exe) if exe.exists() else "schemathesis", "run", f"{base_url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {app.token}",
        "--max-examples", str(max_examples), "--workers", "1", "--no-color", *extra,
    ]
    # in the temporary folder: schemathesis keeps its .schemathesis/ cache in the working directory
    return subprocess.run(argv, check=False, cwd=workdir).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10, help="examples per operation and phase")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL database instead of SQLite")
    parser.add_argument("extra", nargs="*", help="more schemathesis arguments (after --)")
    args = parser.parse_args()
    database = PostgresDatabase() if args.postgres else None
    try:
        with temp_root("boardrun-fuzz-") as tmp:
            server = start_embedded(Path(tmp), database.url if database else None)
            try:
                code = run(server.base_url, args.max_examples, args.extra, Path(tmp))
            finally:
                server.stop()
    finally:
        if database:
            database.drop()
    sys.exit(code)


if __name__ == "__main__":
    main()
