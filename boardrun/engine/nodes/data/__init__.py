"""Nodes of the Data categories: app files, spreadsheets (see boardrun/engine/nodes/__init__.py for the layout)."""
