"""Exceptions shared by the loader, the runtime and the node implementations."""

from __future__ import annotations


class BoardFormatError(ValueError):
    """The input is not structurally readable as a Flow-Like board."""


class NodeError(Exception):
    """A node failed at run time; the message is shown to the board's author."""
