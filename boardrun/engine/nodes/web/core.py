"""Web: downloading an HTTP answer into one of the app's folders."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ... import http_egress
from ...errors import NodeError
from ...registry import inp, out, register
from .api import REQUEST_IN, _request_parts

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("http_download", "HTTP Download", "Web",
          "Sends an HTTP request and saves the answer's body as a file in one of the app's folders.",
          [inp("exec_in", "Execute", "Execution", description="Send the request."),
           REQUEST_IN,
           inp("flow_path", "Path", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="Where to save the file (a path in one of the app's folders)."),
           out("exec_success", "Success", "Execution", description="Fires once the file is saved.")],
          long_running=True)
def http_download(ctx: NodeContext) -> None:
    ctx.deactivate("exec_success")
    url, method, headers, content = _request_parts(ctx.get("request"))
    target = ctx.files.locate(ctx.get("flow_path"), "flow_path")
    ctx.checkpoint()
    received = bytearray()
    try:
        # A download may last long: bounded by the run's deadline, each read by the policy's timeout.
        with http_egress.open_stream(ctx.egress, method, url, headers, content,
                                     time.monotonic() + ctx.time_left()) as stream:
            for chunk in stream.chunks():
                received += chunk
                ctx.checkpoint()
            status = stream.status_code
    except NodeError:
        ctx.checkpoint()  # a time-out caused by the run's deadline or a cancel reports that
        raise
    # Flow-Like saves whatever came back, an error page included; a failed download saves nothing.
    if not 200 <= status <= 299:
        raise NodeError(f"the download from '{url}' answered HTTP {status}: nothing was saved")
    ctx.files.write(target, bytes(received))
    ctx.activate("exec_success")
