"""What every function module does at import: check the settings, configure logging,
build its router."""

from __future__ import annotations

from boardrun.config import settings_or_exit
from boardrun.logs import configure_logging
from boardrun.routing import Router, function_router


def serve(function: str) -> Router:
    configure_logging(settings_or_exit().server.log_level)
    return function_router(function)
