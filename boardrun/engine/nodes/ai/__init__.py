"""Nodes of the AI categories (see boardrun/engine/nodes/__init__.py for the layout)."""
