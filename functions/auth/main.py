"""The `auth` function: registration, sign-in and token refresh."""

import functions_framework

from boardrun.functions import serve

_router = serve("auth")


@functions_framework.http
def auth(request):
    return _router.dispatch(request)
