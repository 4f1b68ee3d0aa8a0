"""The `dispatcher` function: CloudEvents in; job launches, cancellations and status writes out.

An HTTP function (not @cloud_event) so it can answer probes and choose its status
codes: 2xx done, 4xx permanent (no retry), 5xx transient (the broker retries).
"""

import functions_framework

from boardrun.functions import serve

_router = serve("dispatcher")


@functions_framework.http
def dispatcher(request):
    return _router.dispatch(request)
