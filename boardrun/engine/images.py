"""Images between nodes: Flow-Like's ``NodeImage`` held in the run's resources.

Flow-Like never puts pixels on a pin. An image node decodes into its run cache and outputs
``{"image_ref": <id>}``; later nodes look the image up by that id, and a node with 'Use Reference'
set changes the image behind the reference in place (without it, the change goes to a new image
with a new id). Here the image (a Pillow image) lives in the run's :class:`RunResources` under kind
``image``, so it is gone when the run ends and a reference is useless outside its run.

Memory is bounded twice (``ENGINE_IMAGE_*``, read once per run): every image, decoded or made,
may have at most ``max_pixels`` pixels (checked from the header before a file is decoded, and
before a resize, render or drawing allocates one: a decompression bomb fails the node instead of
the executor), and the images a run holds may take at most ``max_run_bytes`` in total.

Images are held 8 bits per channel in one of Pillow's modes L, LA, RGB or RGBA (the modes of
Flow-Like's common ``DynamicImage`` variants); other modes are converted on decoding.

Pillow (and numpy, for the HDR writer) are imported on first use.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..config import get_settings
from .coerce import as_float, as_int
from .errors import NodeError
from .registry import PinDef, inp, out

if TYPE_CHECKING:
    from PIL import Image

    from ..config import EngineSettings
    from .runtime import NodeContext

KIND = "image"
MODES = ("L", "LA", "RGB", "RGBA")
# The formats a node decodes: those of Flow-Like's image library that Pillow reads. A whitelist,
# since Pillow would also open formats it decodes by running other programs (EPS: Ghostscript).
READ_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP", "ICO", "AVIF", "QOI", "TGA", "PPM", "DDS", "PCX")
_STATE = "images.ledger"


@dataclass(frozen=True)
class ImageLimits:
    """``max_pixels``: the largest image (width x height) a node may decode or make.
    ``max_run_bytes``: the most bytes of pixels the images of one run may hold together."""

    max_pixels: int = 25_000_000
    max_run_bytes: int = 512 * 1024 * 1024

    @classmethod
    def from_settings(cls, engine: EngineSettings) -> "ImageLimits":
        """ENGINE_IMAGE_MAX_PIXELS and ENGINE_IMAGE_MAX_RUN_BYTES."""
        return cls(max_pixels=engine.image_max_pixels, max_run_bytes=engine.image_max_run_bytes)


class _Held:
    """One image of the run; a mutable box so that 'Use Reference' edits keep the reference."""

    __slots__ = ("image",)

    def __init__(self, image: Image.Image) -> None:
        self.image = image


class _Ledger:
    __slots__ = ("limits", "held_bytes")

    def __init__(self, limits: ImageLimits) -> None:
        self.limits = limits
        self.held_bytes = 0


def _ledger(ctx: NodeContext) -> _Ledger:
    ledger = ctx.run_state.get(_STATE)
    if ledger is None:
        ledger = ctx.run_state[_STATE] = _Ledger(ImageLimits.from_settings(get_settings().engine))
    return ledger


def _bytes_of(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


def check_size(ctx: NodeContext, width: int, height: int, what: str) -> None:
    """NodeError unless a ``width`` x ``height`` image may be made (positive, within the pixel cap)."""
    if width < 1 or height < 1:
        raise NodeError(f"{what} would be {width}x{height} pixels: an image needs at least one pixel")
    cap = _ledger(ctx).limits.max_pixels
    if width * height > cap:
        raise NodeError(f"{what} would be {width}x{height} pixels, more than the {cap} an image may have "
                        "(ENGINE_IMAGE_MAX_PIXELS)")


def _account(ctx: NodeContext, added: int, removed: int = 0) -> None:
    ledger = _ledger(ctx)
    total = ledger.held_bytes + added - removed
    if added > removed and total > ledger.limits.max_run_bytes:
        raise NodeError(f"the images of this run would hold {total} bytes, more than the "
                        f"{ledger.limits.max_run_bytes} allowed (ENGINE_IMAGE_MAX_RUN_BYTES)")
    ledger.held_bytes = total


# -- pins ------------------------------------------------------------------------------------------

def image_in(name: str = "image_in", description: str = "An image from an image node.") -> PinDef:
    return inp(name, "Image", "Struct", options={"enforce_schema": True}, schema="NodeImage", description=description)


def image_out(name: str = "image_out", friendly: str = "Image", description: str = "The image.",
              value_type: str = "Normal") -> PinDef:
    return out(name, friendly, "Struct", value_type, schema="NodeImage", description=description)


USE_REF_DESCRIPTION = "Change the input image itself (its reference comes out) instead of a new copy."


# -- references ----------------------------------------------------------------------------------

def new(ctx: NodeContext, image: Image.Image) -> dict[str, str]:
    """Keep ``image`` for this run; its NodeImage pin value."""
    check_size(ctx, image.width, image.height, "the image")
    size = _bytes_of(image)
    _account(ctx, size)
    held = _Held(image)
    # The ledger entry follows the image: replace() adjusts it, closing gives it back.
    ref_id = ctx.resources.add(KIND, held, lambda h: _release_held(ctx, h))
    return {"image_ref": ref_id}


def _release_held(ctx: NodeContext, held: _Held) -> None:
    _ledger(ctx).held_bytes -= _bytes_of(held.image)
    held.image.close()


def _held(ctx: NodeContext, value: Any, pin: str) -> tuple[str, _Held]:
    ref_id = value.get("image_ref") if isinstance(value, dict) else None
    if not isinstance(ref_id, str) or not ref_id:
        raise NodeError(f"input '{pin}' is not an image: expected an object with an 'image_ref' string")
    if ref_id not in ctx.resources:
        raise NodeError(f"input '{pin}': no image '{ref_id}' in this run (images live only in the run that "
                        "made them)")
    return ref_id, ctx.resources.get(KIND, value, key="image_ref")


def get(ctx: NodeContext, value: Any, pin: str) -> Image.Image:
    """The image a NodeImage pin value refers to; NodeError when it names none of this run."""
    return _held(ctx, value, pin)[1].image


def apply(ctx: NodeContext, pin: str, use_ref: bool, change: Callable[[Image.Image], Image.Image]) -> dict[str, str]:
    """``change`` the image on input ``pin``: in place when ``use_ref`` (the same reference comes
    back), else into a new image (the input stays as it was). Returns the output's pin value."""
    ref_id, held = _held(ctx, ctx.get(pin), pin)
    result = change(held.image)
    if not use_ref:
        # A change that had nothing to do still gives a copy: two references never share pixels.
        return new(ctx, result.copy() if result is held.image else result)
    if result is not held.image:
        check_size(ctx, result.width, result.height, "the image")
        _account(ctx, _bytes_of(result), _bytes_of(held.image))
        held.image.close()
        held.image = result
    return {"image_ref": ref_id}


# -- decoding and encoding -------------------------------------------------------------------------

def decode(ctx: NodeContext, data: bytes, what: str, apply_exif: bool = False) -> Image.Image:
    """The image in ``data`` (its first frame), in one of MODES; NodeError for anything unreadable.

    The size is checked from the header, before any pixel is decoded. ``apply_exif`` turns the
    image as its EXIF orientation tag says.
    """
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Our own cap applies below; Pillow's fixed one would only warn (or refuse) differently.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=READ_FORMATS)
            check_size(ctx, image.width, image.height, what)
            image.load()
            if apply_exif:
                image = ImageOps.exif_transpose(image)
    except NodeError:
        raise
    except UnidentifiedImageError:
        raise NodeError(f"{what} is not an image in a format this engine reads") from None
    except Image.DecompressionBombError as exc:
        raise NodeError(f"{what} is too large to decode: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NodeError(f"{what} is a broken image: {exc}") from None
    return normalized(image)


def normalized(image: Image.Image) -> Image.Image:
    """``image`` in one of MODES (palette images keep their transparency as alpha)."""
    if image.mode in MODES:
        return image
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "PA":
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _wide_to_l(image)
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def _wide_to_l(image: Image.Image) -> Image.Image:
    """A 16-bit grey (or 0..1 float) image as 8-bit L, scaled (Pillow's own conversion clips at 255)."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(pixels, 0.0, 1.0) * 255.0
    else:
        scaled = np.clip(pixels.astype(np.float64), 0, 65535) / 257.0
    return Image.fromarray(np.rint(scaled).astype(np.uint8), "L")


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """``image`` saved in Pillow format ``fmt``; NodeError when the encoder refuses it."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise NodeError(f"the image cannot be written as {fmt}: {exc}") from None
    return buffer.getvalue()


def data_url(image: Image.Image, fmt: str) -> str:
    """A ``data:`` URL of ``image`` as png, jpeg or webp (WebP lossless, JPEG without alpha)."""
    if fmt == "png":
        body, mime = encode(image, "PNG"), "image/png"
    elif fmt == "jpeg":
        body, mime = encode(image.convert("RGB") if image.mode != "L" else image, "JPEG"), "image/jpeg"
    elif fmt == "webp":
        body, mime = encode(image, "WEBP", lossless=True), "image/webp"
    else:
        raise NodeError(f"unsupported image format '{fmt}': use png, jpeg or webp")
    return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"


# -- bounding boxes ----------------------------------------------------------------------------------

BOX_FIELDS = ("x1", "y1", "x2", "y2", "score")
_I32 = (-(2**31), 2**31 - 1)


def bounding_box(value: Any, what: str) -> dict[str, Any]:
    """A BoundingBox pin value checked: finite numbers x1, y1, x2, y2, score, an i32 class_idx and
    an optional class_name."""
    if not isinstance(value, dict):
        raise NodeError(f"{what} is not a box: expected an object with x1, y1, x2, y2, score and class_idx")
    box: dict[str, Any] = {}
    for name in BOX_FIELDS:
        if name not in value:
            raise NodeError(f"{what} has no '{name}'")
        number = as_float(value[name], f"{what}.{name}")
        if not math.isfinite(number):
            raise NodeError(f"{what}.{name} must be a finite number")
        box[name] = number
    if "class_idx" not in value:
        raise NodeError(f"{what} has no 'class_idx'")
    box["class_idx"] = as_int(value["class_idx"], f"{what}.class_idx")
    if not _I32[0] <= box["class_idx"] <= _I32[1]:
        raise NodeError(f"{what}.class_idx must fit a 32-bit integer")
    name = value.get("class_name")
    if name is not None and not isinstance(name, str):
        raise NodeError(f"{what}.class_name must be a string or null")
    box["class_name"] = name
    return box


def box_pixels(box: dict[str, Any]) -> tuple[int, int, int, int]:
    """(x, y, width, height) in whole pixels, as Flow-Like truncates a box (negatives become 0)."""
    def whole(v: float) -> int:
        return max(0, int(v))

    return whole(box["x1"]), whole(box["y1"]), whole(box["x2"] - box["x1"]), whole(box["y2"] - box["y1"])
