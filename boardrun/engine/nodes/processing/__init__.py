"""Nodes of the processing categories (see boardrun/engine/nodes/__init__.py for the layout)."""
