"""Team invitations: an Owner or Admin invites an e-mail address; the answer never
depends on whether the address has an account; nobody joins without accepting; only the
verified owner of the address sees and answers the invitation."""

from __future__ import annotations

import pytest

from boardrun import services
from tests.apps.conftest import add_member, confirm_address, create_app, quick_user
from tests.conftest import mailed_token, register_and_login


def _invite(api, owner, app_id, email, role="Member", **extra):
    return api.put(f"/api/v1/apps/{app_id}/team/invite", json={"email": email, "role": role, **extra}, headers=owner["headers"])


def _invites(api, who):
    r = api.get("/api/v1/user/invites", headers=who["headers"])
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["invites"]


def _shape(response) -> tuple:
    body = dict(response.get_json())
    for varying in ("id", "email", "created_at", "expires_at"):
        body.pop(varying)
    return response.status_code, sorted(response.headers.keys()), body


def test_the_answer_does_not_reveal_whether_the_address_has_an_account(api, caplog):
    """Inviting an address with an account and one without gives the same status, headers and body (apart from the address and ids), and both get a mail."""
    ada = quick_user("ada@example.com")
    quick_user("bob@example.com")
    app_id = create_app(api, ada)
    caplog.clear()
    known = _invite(api, ada, app_id, "bob@example.com")
    unknown = _invite(api, ada, app_id, "nobody@example.com")
    assert known.status_code == 202
    assert _shape(known) == _shape(unknown)
    mailed = {r.args[0] for r in caplog.records if r.name == "boardrun.mail"}
    assert mailed == {"bob@example.com", "nobody@example.com"}


def test_an_invitation_adds_nobody_until_it_is_accepted(api):
    """The invitee is not a member after the invitation; they see it, accept it, and are then a member with the invited role."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(api, ada, name="Shared")
    invited = _invite(api, ada, app_id, "BOB@example.com", role="Admin", message="join us").get_json()
    assert api.get(f"/api/v1/apps/{app_id}", headers=bob["headers"]).status_code == 404
    team = api.get(f"/api/v1/apps/{app_id}/team", headers=ada["headers"]).get_json()["members"]
    assert [m["email"] for m in team] == ["ada@example.com"]
    [seen] = _invites(api, bob)
    assert (seen["id"], seen["app_id"], seen["app_name"], seen["role"], seen["message"]) == (invited["id"], app_id, "Shared", "Admin", "join us")
    assert seen["invited_by"]["user_id"] == ada["user_id"]
    r = api.post(f"/api/v1/user/invites/{seen['id']}", headers=bob["headers"])
    assert r.status_code == 200 and r.get_json()["role"] == "Admin" and r.get_json()["app_id"] == app_id
    assert api.get(f"/api/v1/apps/{app_id}", headers=bob["headers"]).get_json()["role"] == "Admin"
    assert _invites(api, bob) == []
    assert api.post(f"/api/v1/user/invites/{seen['id']}", headers=bob["headers"]).status_code == 404


def test_declining_removes_the_invitation(api):
    """A declined invitation is gone and its app stays closed to the invitee."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(api, ada)
    invite_id = _invite(api, ada, app_id, bob["email"]).get_json()["id"]
    assert api.delete(f"/api/v1/user/invites/{invite_id}", headers=bob["headers"]).status_code == 204
    assert _invites(api, bob) == []
    assert api.post(f"/api/v1/user/invites/{invite_id}", headers=bob["headers"]).status_code == 404
    assert api.get(f"/api/v1/apps/{app_id}", headers=bob["headers"]).status_code == 404


def test_someone_elses_invitation_cannot_be_seen_or_used(api):
    """Another signed-in user neither lists nor accepts nor declines an invitation addressed to someone else."""
    ada, bob, eve = (quick_user(f"{n}@example.com") for n in ("ada", "bob", "eve"))
    app_id = create_app(api, ada)
    invite_id = _invite(api, ada, app_id, bob["email"]).get_json()["id"]
    assert _invites(api, eve) == []
    assert api.post(f"/api/v1/user/invites/{invite_id}", headers=eve["headers"]).status_code == 404
    assert api.delete(f"/api/v1/user/invites/{invite_id}", headers=eve["headers"]).status_code == 404
    assert [i["id"] for i in _invites(api, bob)] == [invite_id]


def test_an_unverified_account_cannot_use_invitations_sent_to_its_address(api):
    """Whoever merely registered an address sees no invitation for it (403) until the address is confirmed."""
    ada = quick_user("ada@example.com")
    squatter = register_and_login(api, "bob@example.com")
    app_id = create_app(api, ada)
    invite_id = _invite(api, ada, app_id, "bob@example.com").get_json()["id"]
    for method, path in (("GET", "/api/v1/user/invites"), ("POST", f"/api/v1/user/invites/{invite_id}")):
        r = api.open(path, method=method, headers=squatter["headers"])
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "email_not_verified"
    confirm_address(squatter["user_id"])
    assert [i["id"] for i in _invites(api, squatter)] == [invite_id]


def test_inviting_again_renews_the_same_invitation(api):
    """A second invitation of the same address replaces the role and message of the first; the invitee sees one."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(api, ada)
    first = _invite(api, ada, app_id, bob["email"], message="one").get_json()
    second = _invite(api, ada, app_id, bob["email"], role="Admin", message="two").get_json()
    assert first["id"] == second["id"]
    assert [(i["role"], i["message"]) for i in _invites(api, bob)] == [("Admin", "two")]


def test_an_expired_invitation_cannot_be_accepted(api, monkeypatch):
    """Past INVITATION_TTL_SECONDS an invitation is refused and no longer listed."""
    monkeypatch.setenv("INVITATION_TTL_SECONDS", "0")
    services.reset()
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(api, ada)
    invite_id = _invite(api, ada, app_id, bob["email"]).get_json()["id"]
    r = api.post(f"/api/v1/user/invites/{invite_id}", headers=bob["headers"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "invitation_expired"
    assert _invites(api, bob) == []


def test_admins_list_and_revoke_open_invitations(api):
    """Owner and Admins see the open invitations; a revoked one can no longer be accepted; a Member may do neither."""
    ada, adm, bob, mem = (quick_user(f"{n}@example.com") for n in ("ada", "adm", "bob", "mem"))
    app_id = create_app(api, ada)
    add_member(api, ada, app_id, adm, "Admin")
    add_member(api, ada, app_id, mem, "Member")
    invite_id = _invite(api, ada, app_id, bob["email"]).get_json()["id"]
    listed = api.get(f"/api/v1/apps/{app_id}/team/invites", headers=adm["headers"])
    assert listed.status_code == 200 and [(i["id"], i["email"]) for i in listed.get_json()["invites"]] == [(invite_id, "bob@example.com")]
    assert api.get(f"/api/v1/apps/{app_id}/team/invites", headers=mem["headers"]).status_code == 403
    assert api.delete(f"/api/v1/apps/{app_id}/team/invites/{invite_id}", headers=mem["headers"]).status_code == 403
    assert api.delete(f"/api/v1/apps/{app_id}/team/invites/{invite_id}", headers=adm["headers"]).status_code == 204
    assert api.post(f"/api/v1/user/invites/{invite_id}", headers=bob["headers"]).status_code == 404
    assert api.get(f"/api/v1/apps/{app_id}/team/invites", headers=ada["headers"]).get_json()["invites"] == []
    assert api.delete(f"/api/v1/apps/{app_id}/team/invites/{invite_id}", headers=ada["headers"]).status_code == 404


@pytest.mark.parametrize("email", ["bob@example.com", "nobody@example.com"])
def test_adding_a_member_directly_is_gone(api, email):
    """POST …/team no longer makes anyone a member without consent (405), with or without an account."""
    ada = quick_user("ada@example.com")
    quick_user("bob@example.com")
    app_id = create_app(api, ada)
    r = api.post(f"/api/v1/apps/{app_id}/team", json={"email": email, "role": "Member"}, headers=ada["headers"])
    assert r.status_code == 405
    team = api.get(f"/api/v1/apps/{app_id}/team", headers=ada["headers"]).get_json()["members"]
    assert [m["email"] for m in team] == ["ada@example.com"]


def test_invitation_answers_match_the_openapi_schemas(api, caplog):
    """The invite, list and accept answers, and the verification answer, validate against the schemas the OpenAPI document declares for them."""
    from jsonschema import Draft202012Validator

    from boardrun.openapi import document

    doc = document()

    def check(body, name):
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})
        assert [e.message for e in validator.iter_errors(body)] == [], name

    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(api, ada)
    sent = _invite(api, ada, app_id, bob["email"], message="hi").get_json()
    check(sent, "SentInvitation")
    listed = api.get("/api/v1/user/invites", headers=bob["headers"]).get_json()
    check(listed, "InvitationList")
    check(api.get(f"/api/v1/apps/{app_id}/team/invites", headers=ada["headers"]).get_json(), "SentInvitationList")
    check(api.post(f"/api/v1/user/invites/{sent['id']}", headers=bob["headers"]).get_json(), "JoinedApp")
    check(api.get("/api/v1/user", headers=bob["headers"]).get_json(), "User")
    carol = register_and_login(api, "carol@example.com")
    check(api.post("/api/v1/auth/verify-email", json={"token": mailed_token(caplog, carol["email"])}).get_json(), "VerificationStatus")


def test_invitation_mail_through_smtp_cannot_be_steered_by_the_app_name(api, smtp_server, monkeypatch):
    """An app name holding a line break and a forged header still gives one mail, to the invitee only, with a one-line subject."""
    controller, inbox, _ = smtp_server
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port), "SMTP_STARTTLS": "false",
                        "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "mail-secret"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    services.reset()
    ada = quick_user("ada@example.com")
    app_id = create_app(api, ada, name="Evil\r\nBcc: eve@example.com")
    assert _invite(api, ada, app_id, "bob@example.com").status_code == 202
    assert inbox.arrived.wait(10)
    [(_, recipients, body)] = inbox.messages
    assert recipients == ["bob@example.com"]
    assert "\n" not in inbox.subjects[0] and "\r" not in inbox.subjects[0]
    assert "/api/v1/user/invites" in body
