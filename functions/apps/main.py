"""The `apps` function: apps, their team, and their boards and board versions."""

import functions_framework

from boardrun.functions import serve

_router = serve("apps")


@functions_framework.http
def apps(request):
    return _router.dispatch(request)
