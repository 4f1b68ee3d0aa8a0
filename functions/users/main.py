"""The `users` function: the signed-in user's record and profiles."""

import functions_framework

from boardrun.functions import serve

_router = serve("users")


@functions_framework.http
def users(request):
    return _router.dispatch(request)
