"""Utils/Env: reading environment variables the operator has allowed boards to see."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from boardrun.config import get_settings

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

ALLOWLIST_SETTING = "ENGINE_ENV_ALLOWLIST"


def allowed_names() -> frozenset[str]:
    """Names listed in ENGINE_ENV_ALLOWLIST (comma-separated); empty by default, so nothing is readable."""
    return get_settings().engine.env_allowlist


@register("get_env", "Get Environment Variable", "Utils/Env",
          "Reads an environment variable of the engine process, if the operator allowed boards to read it.",
          [inp("key", "Key", "String", description="Name of the variable."),
           out("variable", "Variable", "String", description="Its value, or an empty string when it is not set."),
           out("found", "Found?", "Boolean", description="Whether it is set.")])
def get_env(ctx: NodeContext) -> None:
    # The engine runs next to the server's own secrets (database URL, signing keys): a board
    # may only read what the operator listed explicitly. Flow-Like reads any variable.
    key = as_str(ctx.get("key"), "key")
    if key not in allowed_names():
        raise NodeError(f"environment variable '{key}' is not allowed: only names listed in {ALLOWLIST_SETTING} "
                        f"can be read by boards")
    # Not a setting of Boardrun's: a variable the operator chose to show boards, read as it is.
    value = os.environ.get(key)
    ctx.set("variable", value if value is not None else "")
    ctx.set("found", value is not None)
