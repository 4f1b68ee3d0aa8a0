"""GET /api/v1/oauth/<provider> (redirect to the provider) and its callback."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from boardrun.oauth import services
from boardrun.web import json_response

_NO_STORE = {"Cache-Control": "no-store"}


def start(request: Request, provider: str) -> Response:
    url = services.start(provider)
    response = redirect(url, 302)
    response.headers.update(_NO_STORE)
    return response


def callback(request: Request, provider: str) -> Response:
    args = request.args
    tokens = services.finish(provider, code=args.get("code"), state=args.get("state"), error=args.get("error"))
    front_end = services.get_provider(provider).frontend_redirect_uri
    if front_end:
        # Tokens travel in the fragment: browsers never send it to a server or a log.
        response = redirect(f"{front_end}#{urlencode(tokens)}", 302)
        response.headers.update(_NO_STORE)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    return json_response(tokens, headers=_NO_STORE)
