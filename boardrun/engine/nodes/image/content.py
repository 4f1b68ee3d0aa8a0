"""Image/Content: images read from app files and URLs, written to app files, and the bar and QR codes in them.

Files go through the app's folders (``ctx.files``), URLs through the egress policy. Barcodes are
read with zxing-cpp (Flow-Like uses rxing, a Rust port of the same ZXing library).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import http_egress, images
from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...files import with_extension
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_CAT = "Image/Content"
EXEC_IN = inp("exec_in", "Input", "Execution", description="Run the node.")
EXEC_OUT = out("exec_out", "Output", "Execution", description="Fires when the node is done.")
APPLY_EXIF = inp("apply_exif", "Apply Exif Orientation", "Boolean", default=False,
                 description="Turn the image as its EXIF orientation tag says (photos taken sideways).")


@register("read_image", "Read Image", _CAT, "Decodes an image file from one of the app's folders.",
          [EXEC_IN,
           inp("path", "Path", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="The image file (PNG, JPEG, WebP, GIF, TIFF, BMP, AVIF, ...)."),
           APPLY_EXIF, EXEC_OUT, images.image_out(description="The decoded image.")])
def read_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    location = ctx.files.locate(ctx.get("path"), "path")
    apply_exif = as_bool(ctx.get("apply_exif"), "apply_exif")
    image = images.decode(ctx, ctx.files.read(location), f"'{location.rel}'", apply_exif)
    ctx.set("image_out", images.new(ctx, image))
    ctx.activate("exec_out")


@register("read_image_url", "Read Image (URL)", _CAT,
          "Downloads and decodes an image (through the engine's egress rules).",
          [EXEC_IN, inp("signed_url", "Signed Url", "String", description="An http or https URL of the image."),
           APPLY_EXIF, EXEC_OUT, images.image_out(description="The decoded image.")])
def read_image_url(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    url = as_str(ctx.get("signed_url"), "signed_url")
    apply_exif = as_bool(ctx.get("apply_exif"), "apply_exif")
    ctx.checkpoint()
    try:
        reply = http_egress.send(ctx.egress, "GET", url, {"Accept": "image/*"}, None, ctx.time_left())
    except NodeError:
        ctx.checkpoint()  # a time-out caused by the run's deadline or a cancel reports that
        raise
    if not 200 <= reply.status_code <= 299:
        raise NodeError(f"the image URL answered HTTP {reply.status_code}")
    image = images.decode(ctx, reply.body, "the downloaded file", apply_exif)
    ctx.set("image_out", images.new(ctx, image))
    ctx.activate("exec_out")


# type pin value -> (file extension, Pillow format, modes the encoder takes; else the image is converted)
_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "JPEG": ("jpeg", "JPEG", ("RGB",)),
    "PNG": ("png", "PNG", images.MODES),
    "TIFF": ("tiff", "TIFF", images.MODES),
    "WebP": ("webp", "WEBP", ("RGB", "RGBA")),
    "AVIF": ("avif", "AVIF", ("RGB", "RGBA")),
    "BMP": ("bmp", "BMP", ("L", "RGB", "RGBA")),
    "ICO": ("ico", "ICO", ("RGBA",)),
    "PNM": ("pnm", "PPM", ("RGB",)),
    "QOI": ("qoi", "QOI", ("RGB", "RGBA")),
    "TGA": ("tga", "TGA", images.MODES),
    "Farbfeld": ("ff", "", ("RGBA",)),
    "HDR": ("hdr", "", ("RGB",)),
}
_PNG_COMPRESSION = {"Best": 9, "Fast": 1, "Default": 6}


def _quality(ctx: NodeContext) -> int:
    quality = as_int(ctx.get("quality"), "quality")
    if not 0 <= quality <= 100:
        raise NodeError(f"input 'quality' must be from 0 to 100, got {quality}")
    return quality


def _options(ctx: NodeContext, kind: str) -> dict[str, Any]:
    """Encoder options from the pins the editor adds for ``kind`` (JPEG: quality; PNG: compression;
    AVIF: quality, speed), each only when the node has it."""
    options: dict[str, Any] = {}
    if kind in ("JPEG", "AVIF") and ctx.has_input("quality"):
        options["quality"] = _quality(ctx)
    if kind == "PNG" and ctx.has_input("compression_type"):
        options["compress_level"] = _PNG_COMPRESSION.get(as_str(ctx.get("compression_type"), "compression_type"), 6)
    if kind == "AVIF" and ctx.has_input("speed"):
        options["speed"] = min(10, max(0, as_int(ctx.get("speed"), "speed")))
    if kind == "WebP":
        options["lossless"] = True  # as Flow-Like's WebP encoder
    return options


def _ico_sizes(image: Any) -> dict[str, Any]:
    # One icon of the image's own size (Pillow would add smaller ones); the format stops at 256.
    if image.width > 256 or image.height > 256:
        raise NodeError(f"an ICO image is at most 256x256 pixels, this one is {image.width}x{image.height}")
    return {"sizes": [image.size]}


def _fitted(image: Any, modes: tuple[str, ...]) -> Any:
    if image.mode in modes:
        return image
    has_alpha = "A" in image.getbands()
    for mode in (("RGBA", "LA") if has_alpha else ()) + ("RGB", "L", "RGBA"):
        if mode in modes:
            return image.convert(mode)
    return image.convert(modes[0])


def _farbfeld(image: Any) -> bytes:
    """Farbfeld: magic, big-endian width and height, then 16-bit big-endian RGBA per pixel."""
    import numpy as np

    pixels = np.asarray(image, dtype=np.uint16) * 257
    return b"farbfeld" + image.width.to_bytes(4, "big") + image.height.to_bytes(4, "big") + pixels.astype(">u2").tobytes()


def _radiance_hdr(image: Any) -> bytes:
    """Radiance RGBE with flat scanlines; 8-bit channels become 0..1, as Flow-Like's conversion does."""
    import numpy as np

    rgb = np.asarray(image, dtype=np.float64) / 255.0
    brightest = rgb.max(axis=2)
    mantissa, exponent = np.frexp(brightest)
    scale = np.divide(mantissa * 256.0, brightest, out=np.zeros_like(brightest), where=brightest > 1e-32)
    rgbe = np.zeros(rgb.shape[:2] + (4,), dtype=np.uint8)
    rgbe[..., :3] = np.clip(rgb * scale[..., None], 0, 255).astype(np.uint8)
    rgbe[..., 3] = np.where(brightest > 1e-32, exponent + 128, 0).astype(np.uint8)
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {image.height} +X {image.width}\n".encode("ascii")
    return header + rgbe.tobytes()


@register("write_image", "Write Image", _CAT,
          "Encodes an image and writes it to an app folder; the path's extension becomes the format's.",
          [EXEC_IN, images.image_in(),
           inp("path", "Path", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="Where to write the file."),
           inp("type", "Type", "String", default="JPEG", options={"valid_values": list(_TYPES)},
               description="The file format (the editor adds its settings: quality, compression, ...)."),
           inp("quality", "Quality", "Integer", default=100, options={"range": [0.0, 100.0]},
               description="JPEG (and AVIF) quality, 0 to 100."),
           EXEC_OUT],
          extra_inputs=True)
def write_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    kind = as_str(ctx.get("type"), "type")
    if kind not in _TYPES:
        raise NodeError(f"unsupported image type '{kind}': use one of {', '.join(_TYPES)}")
    extension, fmt, modes = _TYPES[kind]
    target = with_extension(ctx.get("path"), extension, "path")
    location = ctx.files.locate(target, "path")
    image = _fitted(images.get(ctx, ctx.get("image_in"), "image_in"), modes)
    if kind == "Farbfeld":
        data = _farbfeld(image)
    elif kind == "HDR":
        data = _radiance_hdr(image)
    else:
        data = images.encode(image, fmt, **_options(ctx, kind), **(_ico_sizes(image) if kind == "ICO" else {}))
    ctx.files.write(location, data)
    ctx.activate("exec_out")


# -- barcodes ------------------------------------------------------------------------------------------

# Flow-Like's format names (its filter values) -> zxing-cpp format names.
_FILTER_FORMATS = {
    "AZTEC": "Aztec", "CODABAR": "Codabar", "CODE_39": "Code39", "CODE_93": "Code93", "CODE_128": "Code128",
    "DATA_MATRIX": "DataMatrix", "EAN_8": "EAN8", "EAN_13": "EAN13", "ITF": "ITF", "MAXICODE": "MaxiCode",
    "PDF_417": "PDF417", "QR_CODE": "QRCode", "MICRO_QR_CODE": "MicroQRCode",
    "RECTANGULAR_MICRO_QR_CODE": "RMQRCode", "RSS_14": "DataBar", "RSS_EXPANDED": "DataBarExp",
    "TELEPEN": "Telepen", "UPC_A": "UPCA", "UPC_E": "UPCE", "UPC_EAN_EXTENSION": "EANUPC",
    "DXFilmEdge": "DXFilmEdge",
}
# zxing-cpp format names -> the names Flow-Like's results carry (rxing's display names).
_RESULT_FORMATS = {
    "Aztec": "aztec", "AztecCode": "aztec", "AztecRune": "aztec", "Codabar": "codabar", "Code39": "code 39",
    "Code39Std": "code 39", "Code39Ext": "code 39", "Code93": "code 93", "Code128": "code 128",
    "DataMatrix": "datamatrix", "EAN8": "ean 8", "EAN13": "ean 13", "ITF": "itf", "ITF14": "itf",
    "MaxiCode": "maxicode", "PDF417": "pdf 417", "CompactPDF417": "pdf 417", "MicroPDF417": "pdf 417",
    "QRCode": "qrcode", "QRCodeModel1": "qrcode", "QRCodeModel2": "qrcode", "MicroQRCode": "mqr",
    "RMQRCode": "rmqr", "DataBar": "rss 14", "DataBarOmni": "rss 14", "DataBarStk": "rss 14",
    "DataBarStkOmni": "rss 14", "DataBarExp": "rss expanded", "DataBarExpStk": "rss expanded",
    "Telepen": "telepen", "TelepenAlpha": "telepen", "TelepenNumeric": "telepen", "UPCA": "upc a",
    "UPCE": "upc e", "DXFilmEdge": "DXFilmEdge",
}


def _barcode(found: Any, when: int) -> dict[str, Any]:
    position = found.position
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    raw = bytes(found.bytes)
    name = found.format.name
    return {"text": found.text, "raw_bytes": list(raw), "num_bits": 8 * len(raw),
            "format": _RESULT_FORMATS.get(name, name.lower()), "timestamp": when, "line_count": 0,
            "points": [{"x": float(p.x), "y": float(p.y)} for p in corners]}


@register("read_barcodes", "Read QR-/Barcode", _CAT,
          "Finds and decodes every QR code and barcode in an image (of one format when filtering).",
          [EXEC_IN, images.image_in(),
           inp("filter", "Filter?", "Boolean", default=False,
               description="Look for one format only (the editor adds its 'format' pin)."),
           EXEC_OUT,
           out("results", "Results", "Struct", "Array", schema="Barcode",
               description="Text, bytes, format and corner points of each code found.")],
          extra_inputs=True)
def read_barcodes(ctx: NodeContext) -> None:
    import time

    import zxingcpp

    ctx.deactivate("exec_out")
    image = images.get(ctx, ctx.get("image_in"), "image_in")
    formats = zxingcpp.BarcodeFormat.AllReadable
    if as_bool(ctx.get("filter"), "filter"):
        wanted = as_str(ctx.get("format"), "format") if ctx.has_input("format") else ""
        if wanted not in _FILTER_FORMATS:
            raise NodeError(f"input 'format' must be one of {', '.join(_FILTER_FORMATS)}, got '{wanted}'")
        formats = getattr(zxingcpp.BarcodeFormat, _FILTER_FORMATS[wanted])
    # Grey levels are what the detector reads (as Flow-Like does).
    found = zxingcpp.read_barcodes(image.convert("L"), formats=formats)
    if not found:
        ctx.log("Warn", "no QR code or barcode found in the image")
    when = int(time.time() * 1000)
    ctx.set("results", [_barcode(item, when) for item in found])
    ctx.activate("exec_out")
