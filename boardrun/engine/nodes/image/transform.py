"""Image/Transform: contrast, colour type, crop and resize.

Each node either changes the input image itself ('Use Reference', the same reference comes out)
or makes a changed copy, as Flow-Like's do (see engine/images.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ... import images
from ...coerce import as_bool, as_float, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from PIL import Image

    from ...runtime import NodeContext

_CAT = "Image/Transform"
EXEC_IN = inp("exec_in", "Input", "Execution", description="Run the node.")
EXEC_OUT = out("exec_out", "Output", "Execution", description="Fires when the image is done.")


def _use_ref(default: bool) -> Any:
    return inp("use_ref", "Use Reference", "Boolean", default=default, description=images.USE_REF_DESCRIPTION)


def contrast_lut(contrast: float) -> list[int]:
    """Flow-Like's (the image crate's) contrast curve for 8-bit channels: stretch around the middle
    grey by ((100 + contrast) / 100)^2; negative values flatten."""
    factor = ((100.0 + contrast) / 100.0) ** 2
    return [min(255, max(0, round(((v / 255.0 - 0.5) * factor + 0.5) * 255.0))) for v in range(256)]


def _adjust_contrast(image: Image.Image, contrast: float) -> Image.Image:
    from PIL import Image

    lut = contrast_lut(contrast)
    bands = list(image.split())
    colour = [band.point(lut) for band in (bands[:-1] if "A" in image.getbands() else bands)]
    return Image.merge(image.mode, colour + (bands[-1:] if "A" in image.getbands() else []))


@register("contrast_image", "Contrast", _CAT,
          "Raises (positive) or lowers (negative) an image's contrast; alpha stays as it is.",
          [EXEC_IN, images.image_in(),
           inp("contrast", "Contrast", "Float", description="Percent: 0 leaves it, 100 doubles, -100 greys out."),
           _use_ref(True), EXEC_OUT, images.image_out()])
def contrast_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    contrast = as_float(ctx.get("contrast"), "contrast")
    if not math.isfinite(contrast):
        raise NodeError("input 'contrast' must be a finite number")
    use_ref = as_bool(ctx.get("use_ref"), "use_ref")
    ctx.set("image_out", images.apply(ctx, "image_in", use_ref, lambda image: _adjust_contrast(image, contrast)))
    ctx.activate("exec_out")


_PIXEL_TYPES = {"RGB": "RGB", "RGBA": "RGBA", "Luma": "L", "LumaA": "LA"}
# Rec. 709 luma, the weights Flow-Like's conversion to grey uses (Pillow's own default is Rec. 601).
_LUMA = (0.2126, 0.7152, 0.0722, 0.0)


def convert_pixels(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image
    if mode in ("L", "LA") and image.mode in ("RGB", "RGBA"):
        grey = image.convert("RGB").convert("L", matrix=_LUMA)
        if mode == "L":
            return grey
        alpha = image.getchannel("A") if image.mode == "RGBA" else None
        grey = grey.convert("LA")
        if alpha is not None:
            grey.putalpha(alpha)
        return grey
    return image.convert(mode)


@register("convert_image", "Color Convert", _CAT, "Converts an image to RGB, RGBA, grey (Luma) or grey with alpha.",
          [EXEC_IN, images.image_in(),
           inp("pixel_type", "Pixel Type", "String", default="Luma", options={"valid_values": list(_PIXEL_TYPES)},
               description="The colour type to convert to."),
           _use_ref(True), EXEC_OUT, images.image_out()])
def convert_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    pixel_type = as_str(ctx.get("pixel_type"), "pixel_type")
    if pixel_type not in _PIXEL_TYPES:
        raise NodeError(f"input 'pixel_type' must be one of {', '.join(_PIXEL_TYPES)}, got '{pixel_type}'")
    use_ref = as_bool(ctx.get("use_ref"), "use_ref")
    mode = _PIXEL_TYPES[pixel_type]
    ctx.set("image_out", images.apply(ctx, "image_in", use_ref, lambda image: convert_pixels(image, mode)))
    ctx.activate("exec_out")


@register("crop_image", "Crop Image", _CAT, "Cuts the part of an image inside a box (clipped to the image).",
          [EXEC_IN, images.image_in(),
           inp("bbox", "Box", "Struct", options={"enforce_schema": True}, schema="BoundingBox",
               description="The part to keep (x1, y1: top left; x2, y2: bottom right)."),
           _use_ref(False), EXEC_OUT, images.image_out(friendly="Cropped", description="The cropped image.")])
def crop_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    use_ref = as_bool(ctx.get("use_ref"), "use_ref")
    x, y, w, h = images.box_pixels(images.bounding_box(ctx.get("bbox"), "input 'bbox'"))

    def crop(image: Image.Image) -> Image.Image:
        right, bottom = min(image.width, x + w), min(image.height, y + h)
        if right <= x or bottom <= y:
            raise NodeError(f"input 'bbox' ({x}, {y}, {w}x{h} pixels) leaves nothing of the "
                            f"{image.width}x{image.height} image")
        return image.crop((x, y, right, bottom))

    ctx.set("image_out", images.apply(ctx, "image_in", use_ref, crop))
    ctx.activate("exec_out")


# Flow-Like's filters as Pillow's; Pillow has no Gaussian resampling, its Hamming filter is the nearest.
_FILTERS = {"Nearest": "NEAREST", "Triangle": "BILINEAR", "CatmullRom": "BICUBIC", "Gaussian": "HAMMING",
            "Lanczos3": "LANCZOS"}
_MODES = ("keep_aspect", "exact", "to_fill")


def fit_within(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest size of the same aspect ratio that fits in box_w x box_h (at least 1x1)."""
    scale = min(box_w / width, box_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@register("resize_image", "Resize Image", _CAT,
          "Scales an image: to fit inside the size keeping its aspect ratio, to exactly the size, or to fill "
          "the size (then cropped to it).",
          [EXEC_IN, images.image_in(), _use_ref(True),
           inp("mode", "Resize Mode", "String", default="keep_aspect", options={"valid_values": list(_MODES)},
               description="keep_aspect, exact or to_fill."),
           inp("filter", "Filter", "String", default="Lanczos3", options={"valid_values": list(_FILTERS)},
               description="Resampling filter."),
           inp("width_in", "Width", "Integer", default=512, description="Target width in pixels."),
           inp("height_in", "Height", "Integer", default=512, description="Target height in pixels."),
           EXEC_OUT, images.image_out(),
           out("width_out", "Width", "Integer", description="The width it got."),
           out("height_out", "Height", "Integer", description="The height it got.")])
def resize_image(ctx: NodeContext) -> None:
    from PIL import Image, ImageOps

    ctx.deactivate("exec_out")
    use_ref = as_bool(ctx.get("use_ref"), "use_ref")
    width, height = as_int(ctx.get("width_in"), "width_in"), as_int(ctx.get("height_in"), "height_in")
    if width < 1 or height < 1:
        raise NodeError(f"inputs 'width_in' and 'height_in' must be at least 1, got {width}x{height}")
    images.check_size(ctx, width, height, "the resized image")
    mode = as_str(ctx.get("mode"), "mode")
    # An unknown filter or mode falls back to the default, as in Flow-Like.
    resample = getattr(Image.Resampling, _FILTERS.get(as_str(ctx.get("filter"), "filter"), "LANCZOS"))

    def resize(image: Image.Image) -> Image.Image:
        if mode == "exact":
            return image.resize((width, height), resample)
        if mode == "to_fill":
            return ImageOps.fit(image, (width, height), resample)
        return image.resize(fit_within(image.width, image.height, width, height), resample)

    result = images.apply(ctx, "image_in", use_ref, resize)
    resized = images.get(ctx, result, "image_out")
    ctx.set("image_out", result)
    ctx.set("width_out", resized.width)
    ctx.set("height_out", resized.height)
    ctx.activate("exec_out")
