"""Nodes of the structs categories (see boardrun/engine/nodes/__init__.py for the layout)."""
