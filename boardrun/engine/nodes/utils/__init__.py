"""Nodes of the utils categories (see boardrun/engine/nodes/__init__.py for the layout)."""
