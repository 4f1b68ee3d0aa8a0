"""Web/Camera: an image as a data URL (what a browser shows or uploads directly).

Flow-Like's other Web/Camera node grabs a frame from a camera of the machine running the board;
an executor has no camera, so that one is left out (see docs/engine.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import images
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("image_write_dataurl", "Write Image to Data URL", "Web/Camera",
          "Encodes an image as a base64 'data:' URL in PNG, JPEG or (lossless) WebP.",
          [inp("exec_in", "Execute", "Execution", description="Encode the image."),
           images.image_in("image"),
           inp("format", "Format", "String", default="png", options={"valid_values": ["png", "jpeg", "webp"]},
               description="The encoding (JPEG drops transparency)."),
           out("exec_out", "", "Execution", description="Fires with the URL."),
           out("url", "Data URL", "String", description="data:image/...;base64,...")])
def image_write_dataurl(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    image = images.get(ctx, ctx.get("image"), "image")
    url = images.data_url(image, as_str(ctx.get("format"), "format"))
    if len(url) > ctx.limits.max_string_length:
        raise NodeError(f"the data URL would be {len(url)} characters, more than a string may have "
                        f"({ctx.limits.max_string_length})")
    ctx.set("url", url)
    ctx.activate("exec_out")
