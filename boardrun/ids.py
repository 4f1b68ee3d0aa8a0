"""Identifiers: a readable prefix plus 128 random bits, e.g. `app-3n5x…`."""

from __future__ import annotations

import base64
import re
import secrets

# Ids chosen by clients (board ids, Flow-Like CUIDs) must be safe in paths and storage keys.
# Match ids with fullmatch, never match + `$`: `$` also matches before a final newline.
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def new_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()
    return f"{prefix}-{token}"
