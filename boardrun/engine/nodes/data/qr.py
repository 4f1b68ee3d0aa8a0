"""Data/QR: QR codes made as images (segno), readable by Image/Content's Read QR-/Barcode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import images
from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("write_qrcode", "Write QR Code", "Data/QR",
          "A black-on-white QR code image of the text (error correction level M).",
          [inp("exec_in", "Input", "Execution", description="Make the code."),
           inp("data", "Data", "String", description="The text to encode (as UTF-8)."),
           inp("scale", "Scale", "Integer", default=8, options={"range": [1.0, 64.0]},
               description="Pixels per module (at least 1)."),
           inp("margin", "Margin", "Integer", default=4, options={"range": [0.0, 20.0]},
               description="Quiet zone around the code, in modules (at least 0)."),
           out("exec_out", "Output", "Execution", description="Fires with the image."),
           images.image_out(description="The QR code, one grey channel.")])
def write_qrcode(ctx: NodeContext) -> None:
    import segno
    from PIL import Image

    ctx.deactivate("exec_out")
    data = as_str(ctx.get("data"), "data")
    scale = max(1, as_int(ctx.get("scale"), "scale"))
    margin = max(0, as_int(ctx.get("margin"), "margin"))
    try:
        # A full-size QR code at level M, not raised to a higher level when it would fit: as Flow-Like's.
        code = segno.make_qr(data.encode("utf-8"), error="m", boost_error=False)
    except segno.DataOverflowError:
        raise NodeError(f"the data ({len(data.encode('utf-8'))} bytes) is too long for a QR code") from None
    modules = len(code.matrix)
    side = (modules + 2 * margin) * scale
    images.check_size(ctx, side, side, "the QR code")
    grid = Image.new("L", (modules + 2 * margin,) * 2, 255)
    grid.paste(Image.frombytes("L", (modules, modules),
                               bytes(0 if dark else 255 for row in code.matrix for dark in row)), (margin, margin))
    ctx.set("image_out", images.new(ctx, grid.resize((side, side), Image.Resampling.NEAREST)))
    ctx.activate("exec_out")
