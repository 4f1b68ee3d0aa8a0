"""Nodes of the logging categories (see boardrun/engine/nodes/__init__.py for the layout)."""
