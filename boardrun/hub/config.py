"""The hub's own description (name, legal pages, contact), from environment variables
or a JSON file named by HUB_CONFIG_FILE; an environment variable wins over the file.

File keys (all optional):
    {"name": "…", "description": "…", "icon": "url", "thumbnail": "url",
     "legal_notice": {"url": "…", "text": "…"}, "privacy_policy": {…}, "terms_of_service": {…},
     "contact": {"name": "…", "email": "…", "url": "…"}}
Environment: HUB_NAME, HUB_DESCRIPTION, HUB_ICON, HUB_THUMBNAIL,
HUB_LEGAL_NOTICE_URL / _TEXT, HUB_PRIVACY_POLICY_URL / _TEXT, HUB_TERMS_URL / _TEXT,
HUB_CONTACT_NAME, HUB_CONTACT_EMAIL, HUB_CONTACT_URL.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boardrun.config import ConfigError

DEFAULT_NAME = "Boardrun"
DEFAULT_DESCRIPTION = "A Flow-Like compatible workflow backend: build boards, run them as jobs."
# page key in the API -> (file key, environment prefix)
PAGES = {"legal": ("legal_notice", "HUB_LEGAL_NOTICE"), "privacy": ("privacy_policy", "HUB_PRIVACY_POLICY"), "terms": ("terms_of_service", "HUB_TERMS")}


@dataclass(frozen=True)
class HubConfig:
    name: str
    description: str
    icon: str | None
    thumbnail: str | None
    pages: dict[str, dict[str, str | None]]  # legal|privacy|terms -> {"url", "text"}
    contact: dict[str, str | None]


_file_cache: dict[str, tuple[float, dict]] = {}


def _read_file(path: str) -> dict[str, Any]:
    try:
        mtime = Path(path).stat().st_mtime
        hit = _file_cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} cannot be read: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} must hold a JSON object")
    _file_cache[path] = (mtime, data)
    return data


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _env(name: str) -> str | None:
    return _str(os.environ.get(name))


def load() -> HubConfig:
    path = os.environ.get("HUB_CONFIG_FILE", "").strip()
    data = _read_file(path) if path else {}

    def section(key: str) -> dict[str, Any]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    pages = {}
    for page, (key, prefix) in PAGES.items():
        sec = section(key)
        pages[page] = {
            "url": _env(f"{prefix}_URL") or _str(sec.get("url")),
            "text": _env(f"{prefix}_TEXT") or _str(sec.get("text")),
        }
    contact = section("contact")
    return HubConfig(
        name=_env("HUB_NAME") or _str(data.get("name")) or DEFAULT_NAME,
        description=_env("HUB_DESCRIPTION") or _str(data.get("description")) or DEFAULT_DESCRIPTION,
        icon=_env("HUB_ICON") or _str(data.get("icon")),
        thumbnail=_env("HUB_THUMBNAIL") or _str(data.get("thumbnail")),
        pages=pages,
        contact={
            "name": _env("HUB_CONTACT_NAME") or _str(contact.get("name")),
            "email": _env("HUB_CONTACT_EMAIL") or _str(contact.get("email")),
            "url": _env("HUB_CONTACT_URL") or _str(contact.get("url")),
        },
    )
