"""The hub's own description (name, legal pages, contact), from the HUB_* settings or
a JSON file named by HUB_CONFIG_FILE; a variable wins over the file.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boardrun import services
from boardrun.config import ConfigError, get_settings

DEFAULT_NAME = "Boardrun"
DEFAULT_DESCRIPTION = "A Flow-Like compatible workflow backend: build boards, run them as jobs."
# page key in the API -> (file key, HubSettings field prefix)
PAGES = {"legal": ("legal_notice", "legal_notice"), "privacy": ("privacy_policy", "privacy_policy"), "terms": ("terms_of_service", "terms")}


@dataclass(frozen=True)
class HubConfig:
    name: str
    description: str
    icon: str | None
    thumbnail: str | None
    pages: dict[str, dict[str, str | None]]  # legal|privacy|terms -> {"url", "text"}
    contact: dict[str, str | None]


def _read_file(path: str) -> dict[str, Any]:
    memo = services.current().cache("hub-config-file")  # path -> (mtime, data)
    try:
        mtime = Path(path).stat().st_mtime
        with memo.lock:
            hit = memo.entries.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} cannot be read: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"HUB_CONFIG_FILE {path!r} must hold a JSON object")
    with memo.lock:
        memo.entries[path] = (mtime, data)
    return data


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def load() -> HubConfig:
    hub = get_settings().hub
    data = _read_file(hub.config_file) if hub.config_file else {}

    def section(key: str) -> dict[str, Any]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    pages = {}
    for page, (key, prefix) in PAGES.items():
        sec = section(key)
        pages[page] = {
            "url": getattr(hub, f"{prefix}_url") or _str(sec.get("url")),
            "text": getattr(hub, f"{prefix}_text") or _str(sec.get("text")),
        }
    contact = section("contact")
    return HubConfig(
        name=hub.name or _str(data.get("name")) or DEFAULT_NAME,
        description=hub.description or _str(data.get("description")) or DEFAULT_DESCRIPTION,
        icon=hub.icon or _str(data.get("icon")),
        thumbnail=hub.thumbnail or _str(data.get("thumbnail")),
        pages=pages,
        contact={
            "name": hub.contact_name or _str(contact.get("name")),
            "email": hub.contact_email or _str(contact.get("email")),
            "url": hub.contact_url or _str(contact.get("url")),
        },
    )
