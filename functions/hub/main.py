"""The `hub` function: platform configuration, version, node catalog, info pages and the OpenAPI document."""

import functions_framework

from boardrun.functions import serve

_router = serve("hub")


@functions_framework.http
def hub(request):
    return _router.dispatch(request)
