"""The `execution` function: /api/v1/execution/*, the jobs pipeline in Flow-Like's run shape."""

import functions_framework

from boardrun.functions import serve

_router = serve("execution")


@functions_framework.http
def execution(request):
    return _router.dispatch(request)
