"""The documents the hub function serves, built from configuration, the routes table
and the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from boardrun import __version__
from boardrun.config import get_settings
from boardrun.hub import config as hub_config
from boardrun.users.models import ProfileTemplate
from boardrun.users.services import profile_json

def version() -> dict[str, Any]:
    return {"version": __version__, "commit": get_settings().hub.commit}

def _served() -> set[tuple[str, str]]:
    from boardrun.routes import ROUTES

    return {(r.method, r.path) for r in ROUTES}

def features() -> dict[str, Any]:
    """Only facts of this server: each flag is derived from what it really serves and
    how it is configured, never from a wish list."""
    from boardrun.routes import ROUTES

    served = _served()
    oauth = list(get_settings().oauth.providers)
    jobs = ("POST", "/jobs/submit") in served
    execution = ("POST", "/api/v1/execution/run") in served
    return {
        # Flow-Like's flags, answered for this server
        "model_hosting": False,
        "flow_hosting": jobs or execution,
        "governance": False,
        "ai_act": False,
        # public apps (and their boards) readable without signing in, as Flow-Like means it
        "unauthorized_read": any(r.method == "GET" and r.path.startswith("/api/v1/apps/") and not r.auth for r in ROUTES),
        "admin_interface": False,
        "premium": False,
        "wasm_registry": False,
        # Boardrun's own
        "password_sign_in": ("POST", "/api/v1/auth/login") in served,
        "registration": ("POST", "/api/v1/auth/register") in served,
        "oauth_sign_in": bool(oauth),
        "oauth_providers": oauth,
        "store": ("GET", "/api/v1/store") in served,
        "catalog": ("GET", "/api/v1/catalog") in served,
        "apps": ("GET", "/api/v1/apps") in served,
        "jobs": jobs,
        "job_cancel": any(m == "POST" and p.startswith("/jobs/") and p.endswith("/cancel") for m, p in served),
        "execution": execution,
    }

def _page_link(page: dict[str, str | None], path: str) -> dict[str, str | None]:
    return {"url": page["url"], "path": path}

def hub() -> dict[str, Any]:
    cfg = hub_config.load()
    served = _served()
    sign_in: list[dict[str, Any]] = []
    if ("POST", "/api/v1/auth/login") in served:
        sign_in.append(
            {
                "method": "password",
                "login_url": "/api/v1/auth/login",
                "register_url": "/api/v1/auth/register" if ("POST", "/api/v1/auth/register") in served else None,
                "refresh_url": "/api/v1/auth/refresh" if ("POST", "/api/v1/auth/refresh") in served else None,
            }
        )
    for provider in get_settings().oauth.providers.values():
        sign_in.append({"method": "oauth", **provider.public()})
    settings = get_settings()
    return {
        "name": cfg.name,
        "description": cfg.description,
        "icon": cfg.icon,
        "thumbnail": cfg.thumbnail,
        "version": __version__,
        "environment": settings.env,
        "public_url": settings.server.public_url,
        "authentication": {"sign_in": sign_in},
        "features": features(),
        "legal_notice": _page_link(cfg.pages["legal"], "/api/v1/info/legal"),
        "privacy_policy": _page_link(cfg.pages["privacy"], "/api/v1/info/privacy"),
        "terms_of_service": _page_link(cfg.pages["terms"], "/api/v1/info/terms"),
        "contact": cfg.contact,
        "links": {
            "version": "/api/v1/version",
            "catalog": "/api/v1/catalog",
            "store": "/api/v1/store" if ("GET", "/api/v1/store") in served else None,
            "profiles": "/api/v1/info/profiles",
            "features": "/api/v1/info/features",
            "openapi": "/api/v1/openapi.json",
        },
    }

def page(name: str) -> dict[str, str | None]:
    """legal | privacy | terms: {"url", "text"}, each null when not configured."""
    return dict(hub_config.load().pages[name])

def contact() -> dict[str, str | None]:
    return dict(hub_config.load().contact)

def profile_templates(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(ProfileTemplate).order_by(ProfileTemplate.name, ProfileTemplate.id))
    return [profile_json(t) for t in rows]
