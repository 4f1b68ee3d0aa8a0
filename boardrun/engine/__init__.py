"""Boardrun's board engine: loads, validates and runs Flow-Like boards.

Importing this package is cheap (no HTTP client is loaded until an HTTP node runs), because the
catalogue endpoint imports it in a scale-to-zero function.
"""

from .errors import BoardFormatError, NodeError
from .events import EngineEvent
from .http_egress import EgressPolicy
from .limits import CancelToken, RunLimits
from .model import Board, load_board
from .registry import catalog
from .runtime import RunResult, run_board
from .validate import Problem, default_start_node, validate_board

__all__ = [
    "Board", "BoardFormatError", "CancelToken", "EgressPolicy", "EngineEvent", "NodeError", "Problem", "RunLimits",
    "RunResult", "catalog", "default_start_node", "load_board", "run_board", "validate_board",
]
