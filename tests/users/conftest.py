"""Fixtures for the users tests: the auth and users functions, as Knative runs them."""

import pytest

from tests.conftest import function_client


@pytest.fixture
def auth(env):
    return function_client("auth")


@pytest.fixture
def users(env):
    return function_client("users")
