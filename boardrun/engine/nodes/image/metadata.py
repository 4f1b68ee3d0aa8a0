"""Image/Metadata: facts about an image held by the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import images
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("get_dimensions", "Get Dimensions", "Image/Metadata", "The width and height of an image, in pixels.",
          [inp("exec_in", "Input", "Execution", description="Run the node."), images.image_in(),
           out("exec_out", "Output", "Execution", description="Fires with the size."),
           out("width", "width", "Integer", description="Pixels across."),
           out("height", "height", "Integer", description="Pixels down.")])
def get_dimensions(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    image = images.get(ctx, ctx.get("image_in"), "image_in")
    ctx.set("width", image.width)
    ctx.set("height", image.height)
    ctx.activate("exec_out")
