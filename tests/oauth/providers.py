"""Real OAuth providers for the tests, served on 127.0.0.1 by werkzeug in a thread:
an OpenID Connect issuer (discovery, JWKS, authorize, token endpoint with PKCE checks,
RS256 ID tokens signed with joserfc) and a GitHub look-alike (authorize, token,
/user, /user/emails). Knobs on each object make them misbehave on purpose."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _json(data, status=200):
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _redirect(url: str) -> Response:
    return Response(status=302, headers={"Location": url})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class _Served:
    """A werkzeug app on a free port of 127.0.0.1, in a daemon thread."""

    def start(self):
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path))
        handler = self.routes().get((request.method, request.path))
        response = handler(request) if handler else _json({"error": "not_found"}, 404)
        return response(environ, start_response)


class OIDCProvider(_Served):
    def __init__(self, client_id="boardrun-test", client_secret="test-secret-value"):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig", "alg": "RS256"})
        self.user = {"sub": "alice-sub-1", "email": "alice@example.com", "email_verified": True, "name": "Alice"}
        self.codes: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        # knobs
        self.nonce_override: str | None = None
        self.audience_override: str | None = None
        self.signing_key: RSAKey | None = None  # sign with another key (same kid) than the JWKS shows
        self.expires_in = 300
        self.token_error: str | None = None
        self.token_status = 200

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def routes(self):
        return {
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/jwks"): self.jwks,
            ("GET", "/authorize"): self.authorize,
            ("POST", "/token"): self.token,
        }

    def discovery(self, request):
        b = self.base_url
        return _json(
            {
                "issuer": b,
                "authorization_endpoint": f"{b}/authorize",
                "token_endpoint": f"{b}/token",
                "jwks_uri": f"{b}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def jwks(self, request):
        return _json({"keys": [self.key.as_dict(private=False)]})

    def authorize(self, request):
        a = request.args
        if a.get("client_id") != self.client_id or a.get("response_type") != "code":
            return _json({"error": "invalid_request"}, 400)
        if a.get("code_challenge_method") != "S256" or not a.get("code_challenge"):
            return _json({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": a["redirect_uri"],
            "challenge": a["code_challenge"],
            "nonce": a.get("nonce"),
            "scope": a.get("scope"),
        }
        return _redirect(f"{a['redirect_uri']}?{urlencode({'code': code, 'state': a.get('state', '')})}")

    def token(self, request):
        if self.token_status != 200:
            return Response("upstream trouble", status=self.token_status)
        if self.token_error:
            return _json({"error": self.token_error, "error_description": "refused by the test"}, 400)
        auth = request.authorization
        if not auth or (auth.username, auth.password) != (self.client_id, self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        f = request.form
        grant = self.codes.pop(f.get("code", ""), None)
        if grant is None or f.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        if f.get("redirect_uri") != grant["redirect_uri"] or _s256(f.get("code_verifier", "")) != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE or redirect_uri mismatch"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "aud": self.audience_override or self.client_id,
            "iat": now,
            "exp": now + self.expires_in,
            **self.user,
        }
        nonce = self.nonce_override or grant["nonce"]
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode({"alg": "RS256", "kid": "key-1"}, claims, self.signing_key or self.key)
        return _json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 3600, "id_token": id_token})


class GitHubProvider(_Served):
    def __init__(self, client_id="gh-client", client_secret="gh-secret-value"):
        self.client_id, self.client_secret = client_id, client_secret
        self.user = {"id": 4242, "login": "octocat", "name": "Octo Cat"}
        self.emails = [
            {"email": "octo@example.com", "primary": True, "verified": True},
            {"email": "octo@work.example.com", "primary": False, "verified": True},
        ]
        self.codes: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str]] = []

    def routes(self):
        return {
            ("GET", "/login/oauth/authorize"): self.authorize,
            ("POST", "/login/oauth/access_token"): self.token,
            ("GET", "/api/user"): self.get_user,
            ("GET", "/api/user/emails"): self.get_emails,
        }

    def authorize(self, request):
        a = request.args
        if a.get("client_id") != self.client_id:
            return _json({"error": "invalid_client"}, 400)
        code = secrets.token_hex(10)
        self.codes[code] = {"redirect_uri": a["redirect_uri"], "challenge": a.get("code_challenge")}
        return _redirect(f"{a['redirect_uri']}?{urlencode({'code': code, 'state': a.get('state', '')})}")

    def token(self, request):
        f = request.form
        if (f.get("client_id"), f.get("client_secret")) != (self.client_id, self.client_secret):
            return _json({"error": "incorrect_client_credentials"})  # GitHub answers 200 with an error
        grant = self.codes.pop(f.get("code", ""), None)
        if grant is None or (grant["challenge"] and _s256(f.get("code_verifier", "")) != grant["challenge"]):
            return _json({"error": "bad_verification_code"})
        token = "gho_" + secrets.token_hex(16)
        self.tokens.add(token)
        if "application/json" not in request.headers.get("Accept", ""):
            return Response(urlencode({"access_token": token, "token_type": "bearer"}), mimetype="application/x-www-form-urlencoded")
        return _json({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})

    def _authorised(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def get_user(self, request):
        return _json(self.user) if self._authorised(request) else _json({"message": "Bad credentials"}, 401)

    def get_emails(self, request):
        return _json(self.emails) if self._authorised(request) else _json({"message": "Bad credentials"}, 401)
