"""The `health` function: Kubernetes probes and the application health checks."""

import functions_framework

from boardrun.functions import serve

_router = serve("health")


@functions_framework.http
def health(request):
    return _router.dispatch(request)
