"""Nodes of the control categories (see boardrun/engine/nodes/__init__.py for the layout)."""
