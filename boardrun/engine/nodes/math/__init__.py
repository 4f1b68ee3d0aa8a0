"""Nodes of the math categories (see boardrun/engine/nodes/__init__.py for the layout)."""
