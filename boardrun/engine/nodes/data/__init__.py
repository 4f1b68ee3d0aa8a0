"""Data nodes: app files, the local database (LanceDB) and DataFusion SQL."""
