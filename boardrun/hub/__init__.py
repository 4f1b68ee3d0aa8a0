"""The hub: what a client needs to know about this server (platform configuration,
version, node catalog, legal pages, features, profile templates, the OpenAPI document)."""
