"""The `store` function: browsing the public apps (no sign-in)."""

import functions_framework

from boardrun.functions import serve

_router = serve("store")


@functions_framework.http
def store(request):
    return _router.dispatch(request)
