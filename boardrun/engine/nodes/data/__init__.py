"""Nodes of the Data categories: app files, spreadsheets, the local database (LanceDB) and DataFusion SQL."""
