"""Nodes of the web categories (see boardrun/engine/nodes/__init__.py for the layout)."""
