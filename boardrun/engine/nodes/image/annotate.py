"""Image/Annotate: bounding boxes, made from coordinates and drawn onto images."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ... import images
from ...coerce import as_bool, as_float, as_int, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from PIL import Image

    from ...runtime import NodeContext

_CAT = "Image/Annotate"
EXEC_IN = inp("exec_in", "Input", "Execution", description="Run the node.")
EXEC_OUT = out("exec_out", "Output", "Execution", description="Fires when the node is done.")
BOX_SCHEMA = "BoundingBox"

# Flow-Like's box colours by class (class index modulo 10), and its line and label sizes relative
# to the shorter image side.
COLOURS = ((204, 102, 204), (204, 102, 136), (204, 163, 102), (204, 204, 102), (102, 204, 142),
           (102, 163, 204), (163, 102, 204), (204, 102, 153), (163, 204, 102), (102, 204, 204))
THICKNESS_PER_PIXEL = 15 / 3726
FONT_PER_PIXEL = 100 / 3726


def colour_of(class_idx: int) -> tuple[int, int, int]:
    # Flow-Like reads the (32-bit) class index as an unsigned 64-bit number first: -1 is colour 5.
    return COLOURS[(class_idx % 2**64) % len(COLOURS)]


def _ink(mode: str, rgb: tuple[int, int, int]) -> Any:
    if mode in ("L", "LA"):
        grey = round(0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2])
        return grey if mode == "L" else (grey, 255)
    return rgb if mode == "RGB" else (*rgb, 255)


def draw(image: Image.Image, boxes: list[dict[str, Any]]) -> Image.Image:
    """A copy of ``image`` with each box outlined in its class colour and labelled 'class N (score)'."""
    from PIL import ImageDraw, ImageFont

    result = image.copy()
    pen = ImageDraw.Draw(result)
    side = min(result.width, result.height)
    thickness = max(1, int(THICKNESS_PER_PIXEL * side))
    font_size = FONT_PER_PIXEL * side
    font = ImageFont.load_default(size=max(1.0, font_size))
    for box in boxes:
        ink = _ink(result.mode, colour_of(box["class_idx"]))
        x, y, w, h = images.box_pixels(box)
        # The label sits above the box; where there is no room, at the top edge of the image.
        pen.text((x, max(0, y - int(font_size * 1.1))), f"class {box['class_idx']} ({box['score']:.2f})",
                 fill=ink, font=font)
        for t in range(thickness):
            left, top = (x - t if x > t else x), (y - t if y > t else y)
            pen.rectangle((left, top, left + w + 2 * t - 1, top + h + 2 * t - 1), outline=ink)
    return result


@register("draw_boxes", "Draw Boxes", _CAT,
          "Draws bounding boxes (outline and class/score label, coloured by class) onto an image.",
          [EXEC_IN, images.image_in(),
           inp("bboxes", "Boxes", "Struct", "Array", options={"enforce_schema": True}, schema=BOX_SCHEMA,
               description="The boxes to draw."),
           inp("use_ref", "Use Reference", "Boolean", default=False, description=images.USE_REF_DESCRIPTION),
           EXEC_OUT, images.image_out(description="The annotated image.")])
def draw_boxes(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    use_ref = as_bool(ctx.get("use_ref"), "use_ref")
    boxes = [images.bounding_box(item, f"input 'bboxes[{i}]'") for i, item in enumerate(as_list(ctx.get("bboxes"), "bboxes"))]
    for i, box in enumerate(boxes):
        _, _, w, h = images.box_pixels(box)
        if w < 1 or h < 1:
            raise NodeError(f"input 'bboxes[{i}]' has no area (x2 must be right of x1 and y2 below y1 by a pixel)")
    ctx.set("image_out", images.apply(ctx, "image_in", use_ref, lambda image: draw(image, boxes)))
    ctx.activate("exec_out")


def _coordinate(ctx: NodeContext, pin: str) -> float:
    value = as_float(ctx.get(pin), pin)
    if not math.isfinite(value):
        raise NodeError(f"input '{pin}' must be a finite number")
    return value


@register("make_boxe", "Make Box", _CAT,
          "A bounding box from two corners (xyxy) or from its top-left corner, width and height (x1y1wh).",
          [EXEC_IN,
           inp("definition", "Definition", "String", default="xyxy", options={"valid_values": ["xyxy", "x1y1wh"]},
               description="xyxy reads x1, y1, x2, y2; x1y1wh reads x1, y1 and the w and h pins the editor adds."),
           inp("class_idx", "Class", "Integer", default=0, description="The class index."),
           inp("score", "Score", "Float", default=1.0, description="The confidence."),
           inp("x1", "x1", "Float", description="Left."), inp("y1", "y1", "Float", description="Top."),
           inp("x2", "x2", "Float", description="Right (xyxy)."), inp("y2", "y2", "Float", description="Bottom (xyxy)."),
           EXEC_OUT, out("bbox", "Box", "Struct", schema=BOX_SCHEMA, description="The box.")],
          extra_inputs=True)
def make_boxe(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    definition = as_str(ctx.get("definition"), "definition")
    if definition not in ("xyxy", "x1y1wh"):
        raise NodeError(f"input 'definition' must be xyxy or x1y1wh, got '{definition}'")
    class_idx = as_int(ctx.get("class_idx"), "class_idx")
    score = _coordinate(ctx, "score")
    x1, y1 = _coordinate(ctx, "x1"), _coordinate(ctx, "y1")
    if definition == "xyxy":
        x2, y2 = _coordinate(ctx, "x2"), _coordinate(ctx, "y2")
    else:
        for pin in ("w", "h"):
            if not ctx.has_input(pin):
                raise NodeError(f"definition x1y1wh needs the '{pin}' input (the editor adds it)")
        x2, y2 = x1 + _coordinate(ctx, "w"), y1 + _coordinate(ctx, "h")
    box = images.bounding_box({"x1": x1, "y1": y1, "x2": x2, "y2": y2, "score": score, "class_idx": class_idx},
                              "the box")
    ctx.set("bbox", box)
    ctx.activate("exec_out")
