"""The `triggers` function: an app's events, the HTTP webhook sink, and the CloudEvents and
schedule ticks that start boards (/api/v1/apps/*/events*, /api/v1/sink/*, /triggers/*)."""

import functions_framework

from boardrun.functions import serve

_router = serve("triggers")


@functions_framework.http
def triggers(request):
    return _router.dispatch(request)
