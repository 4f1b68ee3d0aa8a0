"""Utils/User: the executing user handed to run_board(user=...)."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder

NO_USER = "this run has no executing user: only runs of jobs submitted by a user have one"


def member(permissions: int, attributes=("beta",), technical=False) -> dict:
    return {"sub": "usr-1", "role": {"id": "rol-1", "name": "Member", "permissions": permissions,
                                     "attributes": list(attributes), "customAttributes": {}},
            "isTechnicalUser": technical, "keyId": "key-9" if technical else None}


def read(node_name: str, output: str, user, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(node, output, ret, "response")
    return b.run(start, user=user)


def test_get_executing_user_with_and_without_user():
    """The user context is passed through as given; without one, 'Has User' is false and the context null."""
    user = member(256)
    assert read("utils_user_get_executing_user", "user_context", user).result == user
    assert read("utils_user_get_executing_user", "has_user", user).result is True
    assert read("utils_user_get_executing_user", "has_user", None).result is False
    assert read("utils_user_get_executing_user", "user_context", None).result is None


@pytest.mark.parametrize("bits, permission, granted", [
    (256, "Read Boards", True), (256, "Write Boards", False), (512 | 1024, "Write Boards", True),
    (2, "Write Routes", True),  # Admin implies the ordinary permissions
    (2, "Owner", False),  # ... but not Owner (Boardrun's rule; Flow-Like says yes)
    (1, "Owner", True), (1, "Invoke API", True)])
def test_has_permission_uses_boardrun_role_bits(bits, permission, granted):
    """Permission names map to Boardrun's role bits, with Owner/Admin expanded as the API does."""
    assert read("utils_user_has_permission", "has_permission", member(bits), permission=permission).result is granted


def test_has_permission_unknown_name_and_no_user():
    """An unknown permission name and a run without a user both fail the node clearly."""
    result = read("utils_user_has_permission", "has_permission", member(1), permission="Fly")
    assert result.error["message"].startswith("unknown permission 'Fly'; expected one of: Owner, Admin")
    assert read("utils_user_has_permission", "has_permission", None).error["message"] == NO_USER


def test_has_attribute():
    """Attributes of the role are matched exactly; a run without a user fails."""
    assert read("utils_user_has_attribute", "has_attribute", member(0), attribute="beta").result is True
    assert read("utils_user_has_attribute", "has_attribute", member(0), attribute="Beta").result is False
    assert read("utils_user_has_attribute", "has_attribute", {"sub": "x", "role": None}, attribute="beta").result is False
    assert read("utils_user_has_attribute", "has_attribute", None, attribute="beta").error["message"] == NO_USER
    bad = read("utils_user_has_attribute", "has_attribute", member(0), attribute=1)
    assert bad.error["message"] == "input 'attribute' must be a string, got integer"


def test_is_technical_user():
    """A person is not technical (empty key id); an API key user is, with its key id; no user fails."""
    assert read("utils_user_is_technical_user", "is_technical", member(0)).result is False
    assert read("utils_user_is_technical_user", "key_id", member(0)).result == ""
    assert read("utils_user_is_technical_user", "is_technical", member(0, technical=True)).result is True
    assert read("utils_user_is_technical_user", "key_id", member(0, technical=True)).result == "key-9"
    assert read("utils_user_is_technical_user", "key_id", None).error["message"] == NO_USER
