"""The `jobs` function: submit, read and cancel workflow jobs (/jobs/*)."""

import functions_framework

from boardrun.functions import serve

_router = serve("jobs")


@functions_framework.http
def jobs(request):
    return _router.dispatch(request)
