"""Implementations of the core nodes, one module per category. Importing registers them."""

from . import arithmetic, control, data, events, log_nodes, strings, variables, web

__all__ = ["arithmetic", "control", "data", "events", "log_nodes", "strings", "variables", "web"]
