"""Nodes of the variable categories (see boardrun/engine/nodes/__init__.py for the layout)."""
