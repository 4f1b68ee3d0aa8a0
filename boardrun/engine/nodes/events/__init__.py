"""Nodes of the events categories (see boardrun/engine/nodes/__init__.py for the layout)."""
