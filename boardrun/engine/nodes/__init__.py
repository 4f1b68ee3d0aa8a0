"""Every node implementation, laid out by Flow-Like's category tree.

A node of category ``Top/Sub/...`` lives in ``nodes/top/sub.py`` and one of category ``Top`` in
``nodes/top/core.py`` (lower case, other characters as ``_``): ``Utils/String`` is
``utils/string.py``, ``Web/API/Request`` is ``web/api.py``. Each module registers its nodes with
:func:`boardrun.engine.registry.register`; importing this package imports every module. Modules
import heavy libraries inside the node functions that need them, so loading the catalogue stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
import re


def module_for_category(category: str) -> str:
    """The dotted module (below this package) that holds the nodes of ``category``."""
    parts = [re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_") for part in category.split("/")]
    return f"{parts[0]}.{parts[1] if len(parts) > 1 else 'core'}"


def _load_all() -> None:
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        importlib.import_module(info.name)


_load_all()
