"""A fake Kubernetes API server for tests (see server.py)."""

from tests.fake_kube.server import FakeKube, FakeKubeServer, selector_matches

__all__ = ["FakeKube", "FakeKubeServer", "selector_matches"]
