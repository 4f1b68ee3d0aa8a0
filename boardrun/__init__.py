"""Boardrun: a Flow-Like compatible workflow backend built as Knative functions.

This package is the shared library every function imports. The version below is
the single place the product's version is defined (health probes, /api/v1/version,
the hub document and the OpenAPI document all read it).
"""

__version__ = "0.1.0"
