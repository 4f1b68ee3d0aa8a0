"""Image/PDF: page counts of PDF files in the app's folders, and their pages rendered as images.

Pages are rendered with PDFium (pypdfium2) at 72 pixels per inch times the scale (one pixel per
PDF point at scale 1, as Flow-Like's renderer does), on a white page. PDFium is not thread-safe, so
every call into it holds one lock (parallel branches and runs in one process take turns).
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ... import images
from ...coerce import as_float, as_int
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_CAT = "Image/PDF"
_PDFIUM = threading.Lock()
EXEC_IN = inp("exec_in", "Input", "Execution", description="Run the node.")
EXEC_OUT = out("exec_out", "Output", "Execution", description="Fires when the node is done.")
PDF_IN = inp("pdf", "PDF", "Struct", options={"enforce_schema": True}, schema="FlowPath",
             description="A PDF file in one of the app's folders.")


@contextmanager
def _document(ctx: NodeContext) -> Iterator[Any]:
    """The PDF on input 'pdf', open (with the PDFium lock held) for the block."""
    import pypdfium2 as pdfium

    location = ctx.files.locate(ctx.get("pdf"), "pdf")
    data = ctx.files.read(location)
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise NodeError(f"'{location.rel}' is not a PDF that can be read: {exc}") from None
        try:
            yield document
        finally:
            document.close()


def _scale(ctx: NodeContext) -> float:
    scale = as_float(ctx.get("scale"), "scale")
    if not math.isfinite(scale) or scale <= 0:
        raise NodeError(f"input 'scale' must be greater than 0, got {scale}")
    return scale


def _render(ctx: NodeContext, document: Any, index: int, scale: float) -> dict[str, str]:
    import pypdfium2 as pdfium

    page = document[index]
    try:
        width, height = page.get_size()
        images.check_size(ctx, math.ceil(width * scale), math.ceil(height * scale), f"page {index + 1} rendered")
        try:
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
        except pdfium.PdfiumError as exc:
            raise NodeError(f"page {index + 1} cannot be rendered: {exc}") from None
        image = bitmap.to_pil().convert("RGBA")
        bitmap.close()
    finally:
        page.close()
    return images.new(ctx, image)


@register("pdf_page_count", "PDF Page Count", _CAT, "The number of pages of a PDF file.",
          [EXEC_IN, PDF_IN, EXEC_OUT, out("page_count", "Pages", "Integer", default=0, description="How many pages.")])
def pdf_page_count(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    with _document(ctx) as document:
        count = len(document)
    ctx.set("page_count", count)
    ctx.activate("exec_out")


@register("pdf_page_to_image", "PDF Page To Image", _CAT, "Renders one page of a PDF file as an image.",
          [EXEC_IN, PDF_IN,
           inp("page", "Page", "Integer", default=1, description="The page number, from 1."),
           inp("scale", "Scale", "Float", default=1.0, description="1 renders one pixel per PDF point (72 dpi)."),
           EXEC_OUT, images.image_out("image", description="The rendered page.")])
def pdf_page_to_image(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    page = as_int(ctx.get("page"), "page")
    scale = _scale(ctx)
    if page < 1:
        raise NodeError(f"input 'page' must be at least 1, got {page}")
    with _document(ctx) as document:
        if page > len(document):
            raise NodeError(f"page {page} was asked for, but the document has {len(document)} pages")
        ctx.set("image", _render(ctx, document, page - 1, scale))
    ctx.activate("exec_out")


@register("pdf_to_images", "PDF To Images", _CAT, "Renders every page of a PDF file as an image, in page order.",
          [EXEC_IN, PDF_IN,
           inp("scale", "Scale", "Float", default=1.0, description="1 renders one pixel per PDF point (72 dpi)."),
           EXEC_OUT, images.image_out("images", "Images", "The rendered pages.", value_type="Array")])
def pdf_to_images(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    scale = _scale(ctx)
    rendered = []
    with _document(ctx) as document:
        for index in range(len(document)):
            ctx.checkpoint()  # a long document honours a cancel or the deadline between pages
            rendered.append(_render(ctx, document, index, scale))
    ctx.set("images", rendered)
    ctx.activate("exec_out")
