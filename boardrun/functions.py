"""What every function module does at import: configure logging, build its router."""

from __future__ import annotations

from boardrun.config import get_settings
from boardrun.logs import configure_logging
from boardrun.routing import Router, function_router


def serve(function: str) -> Router:
    configure_logging(get_settings().log_level)
    return function_router(function)
