"""Documents to Markdown pages (Flow-Like's DocumentPage: ``{page_number, content, images}``).

Formats, chosen by the file's extension: PDF (text per page with PDFium), Word .docx (python-docx),
Excel .xlsx (openpyxl, a page per sheet), CSV, HTML (markdownify), images, and text formats
(plain text, Markdown, logs, JSON, XML, YAML...). Anything else is refused with a clear error.

When a ``Vision`` (a model that reads images) is given, PDF pages whose extracted text looks poor
(scanned pages, garbage from broken encodings, image-heavy pages with little text) are rendered
to PNG and converted by the model, and image files are described by it; the quality test follows
the one of markitdown-rs, the converter Flow-Like uses.

Libraries are imported on first use. PDFium is not thread-safe, so every use holds one lock.
"""

from __future__ import annotations

import contextlib
import io
import threading
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .errors import NodeError

INFLATE_FACTOR = 10  # a zip (docx, xlsx) may inflate to this times its size, plus the slack below
INFLATE_SLACK = 16 * 1024 * 1024
MAX_PDF_PAGES = 2000
RENDER_SCALE = 2.0  # 144 dpi: small print stays legible for the model
MAX_RENDER_SIDE = 2400
MIN_SIGNIFICANT_IMAGE_PX = 100  # smaller images are logos and icons
_PDFIUM = threading.Lock()

TEXT_FORMATS = {"txt", "text", "md", "markdown", "log", "json", "jsonl", "xml", "yaml", "yml", "toml", "ini",
                "cfg", "rst", "tex", "py", "js", "ts", "rs", "sql", "sh"}
IMAGE_FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                 "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff"}
SUPPORTED = sorted({"pdf", "docx", "xlsx", "xlsm", "csv", "html", "htm", *TEXT_FORMATS, *IMAGE_FORMATS})

PAGE_PROMPT = (
    "Turn this document page into Markdown and answer with nothing else. Keep every piece of text exactly as "
    "written and in its language; use headings, lists, tables and quotes where the page has them; write "
    "*[Image: …]* with a short description for pictures and summarise charts or diagrams briefly. No comments "
    "about what you did, no code fences around the answer, nothing twice.")
IMAGE_PROMPT = (
    "Describe this image for someone who cannot see it: its main subject, every piece of visible text "
    "(transcribed exactly), the structure of any chart, table or diagram (tables as Markdown), and the visual "
    "details that matter. Be thorough but brief; answer in Markdown.")
POOR_TEXT_NOTE = "[Note: Text extraction quality may be poor]"
EMPTY_PDF_NOTE = ("[PDF content could not be extracted. The document may be scanned, protected, or use "
                  "unsupported encoding.]")

# (prompt, [(image bytes, MIME type)]) -> the model's Markdown answer
Vision = Callable[[str, list[tuple[bytes, str]]], str]


def page(number: int, content: str) -> dict[str, Any]:
    # Extracted images are not carried as image values: each page's images list stays empty.
    return {"page_number": number, "content": content, "images": []}


def check_zip(data: bytes, what: str) -> None:
    """Refuse an archive that is not one, or that would inflate far beyond its size (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NodeError(f"the file is not a readable {what} ({exc})") from None
    if inflated > len(data) * INFLATE_FACTOR + INFLATE_SLACK:
        raise NodeError(f"the {what} inflates to far more than its file size: refused")


def convert(data: bytes, extension: str, name: str, vision: Vision | None = None,
            checkpoint: Callable[[], None] = lambda: None) -> list[dict[str, Any]]:
    """The pages of a document; ``checkpoint`` runs between pages (the run's cancel and deadline)."""
    ext = extension.lower().lstrip(".")
    if ext == "pdf":
        return _pdf(data, vision, checkpoint)
    if ext == "docx":
        return [page(1, _docx(data))]
    if ext in ("xlsx", "xlsm"):
        return _xlsx(data)
    if ext == "csv":
        return [page(1, _csv(_text(data, name)))]
    if ext in ("html", "htm"):
        from markdownify import markdownify

        return [page(1, markdownify(_text(data, name), heading_style="ATX").strip())]
    if ext in IMAGE_FORMATS:
        return [page(1, _image(data, ext, name, vision))]
    if ext in TEXT_FORMATS:
        return [page(1, _text(data, name))]
    shown = f"'.{ext}'" if ext else "files without an extension"
    raise NodeError(f"cannot extract {shown} ({name}): supported are {', '.join('.' + e for e in SUPPORTED)}")


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NodeError(f"{name} is not UTF-8 text") from None


def markdown_table(rows: list[list[str]]) -> str:
    """Rows (the first is the header) as a Markdown table; '|' and line breaks escaped."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def line(cells: list[str]) -> str:
        cells = [c.replace("|", "\\|").replace("\r", "").replace("\n", "<br>") for c in cells]
        return "| " + " | ".join(cells + [""] * (width - len(cells))) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * width, *(line(r) for r in rows[1:])])


def _csv(text: str) -> str:
    import csv

    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return markdown_table([row for row in csv.reader(io.StringIO(text), dialect) if row])


# -- PDF -------------------------------------------------------------------------------------------

@dataclass
class TextQuality:
    """How trustworthy a page's extracted text looks (markitdown-rs' page metrics)."""

    words: int
    chars: int
    alnum_ratio: float
    structured: bool
    valid_word_ratio: float
    avg_word_length: float
    special_ratio: float

    @classmethod
    def of(cls, text: str) -> "TextQuality":
        text = text.strip()
        words = text.split()
        chars = len(text)
        valid = sum(1 for w in words if 2 <= len(w) <= 20 and sum(c.isalpha() for c in w) / len(w) > 0.5)
        special = sum(1 for c in text if not c.isalnum() and not c.isspace() and c not in ".,:;!?'-\"()[]{}")
        return cls(words=len(words), chars=chars,
                   alnum_ratio=sum(c.isalnum() for c in text) / chars if chars else 0.0,
                   structured=len(text.splitlines()) > 3 and len(words) > 10,
                   valid_word_ratio=valid / len(words) if words else 0.0,
                   avg_word_length=sum(map(len, words)) / len(words) if words else 0.0,
                   special_ratio=special / chars if chars else 0.0)

    def high(self) -> bool:
        return (self.words >= 10 and self.alnum_ratio >= 0.6 and self.valid_word_ratio >= 0.6
                and self.avg_word_length >= 2.5 and self.special_ratio <= 0.3)

    def needs_model(self, images: int) -> bool:
        """Whether a model reading the rendered page would do better than the extracted text."""
        return (self.words < 10 or self.alnum_ratio < 0.5 or (self.chars < 50 and not self.structured)
                or (self.valid_word_ratio < 0.6 and self.words > 20)
                or (self.avg_word_length < 2.5 and self.words > 10) or self.special_ratio > 0.3
                or (images >= 2 and self.words < 150 and not self.high())
                or (images >= 5 and not self.high()))


def _open_pdf(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise NodeError(f"the file is not a readable PDF ({exc})") from None
    if len(document) > MAX_PDF_PAGES:
        document.close()
        raise NodeError(f"the PDF has {len(document)} pages; at most {MAX_PDF_PAGES} are extracted")
    return document


def _significant_images(pdf_page: Any) -> int:
    import pypdfium2.raw as raw

    count = 0
    for obj in pdf_page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE]):
        try:
            width, height = obj.get_px_size()
        except Exception:  # noqa: BLE001 - an image whose size cannot be read counts, as in markitdown-rs
            width = height = MIN_SIGNIFICANT_IMAGE_PX
        count += max(width, height) >= MIN_SIGNIFICANT_IMAGE_PX
    return count


def render_png(pdf_page: Any) -> bytes:
    width, height = pdf_page.get_size()
    scale = min(RENDER_SCALE, MAX_RENDER_SIDE / max(width, height, 1))
    buffer = io.BytesIO()
    pdf_page.render(scale=scale).to_pil().save(buffer, format="PNG")
    return buffer.getvalue()


def _pdf_pages(data: bytes, vision: Vision | None) -> Iterator[tuple[int, str, TextQuality, bytes | None]]:
    """(number, text, quality, PNG when the model should read it) per page, PDFium held only meanwhile."""
    with _PDFIUM:
        document = _open_pdf(data)
    try:
        for index in range(len(document)):
            with _PDFIUM:
                pdf_page = document[index]
                try:
                    text = pdf_page.get_textpage().get_text_bounded().replace("\r\n", "\n").strip()
                    quality = TextQuality.of(text)
                    png = render_png(pdf_page) if vision and quality.needs_model(_significant_images(pdf_page)) else None
                finally:
                    pdf_page.close()
            yield index + 1, text, quality, png
    finally:
        with _PDFIUM:
            document.close()


def _pdf(data: bytes, vision: Vision | None, checkpoint: Callable[[], None]) -> list[dict[str, Any]]:
    pages = []
    with contextlib.closing(_pdf_pages(data, vision)) as read:  # a failing model call closes the PDF at once
        for number, text, quality, png in read:
            checkpoint()
            converted = vision(PAGE_PROMPT, [(png, "image/png")]).strip() if png is not None and vision else ""
            if converted:
                pages.append(page(number, converted))
            elif text:
                note = not quality.high() and vision is None
                pages.append(page(number, f"{POOR_TEXT_NOTE}\n\n{text}" if note else text))
    return pages or [page(1, EMPTY_PDF_NOTE)]


# -- Office ------------------------------------------------------------------------------------

def _docx(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(data, "Word document")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx fails with zip, XML or its own errors
        raise NodeError(f"the file is not a readable Word document ({type(exc).__name__}: {exc})") from None
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [[cell.text.strip() for cell in row.cells] for row in item.rows]
            if rows:
                blocks.append(markdown_table(rows))
        elif isinstance(item, Paragraph) and item.text.strip():
            style = (item.style.name if item.style is not None else "") or ""
            text = item.text.strip()
            if style == "Title":
                blocks.append(f"# {text}")
            elif style.startswith("Heading") and style[7:].strip().isdigit():
                blocks.append("#" * min(6, int(style[7:])) + f" {text}")
            elif style.startswith("List Number"):
                blocks.append(f"1. {text}")
            elif style.startswith("List"):
                blocks.append(f"- {text}")
            else:
                blocks.append(text)
    return "\n\n".join(blocks)


def _xlsx(data: bytes) -> list[dict[str, Any]]:
    import openpyxl

    check_zip(data, ".xlsx workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl fails with zip, XML or its own errors
        raise NodeError(f"the file is not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        pages = []
        for number, sheet in enumerate(book.worksheets, 1):
            rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            rows = [row for row in rows if any(cell.strip() for cell in row)]
            body = markdown_table(rows) if rows else "*(empty sheet)*"
            pages.append(page(number, f"## {sheet.title}\n\n{body}"))
        return pages
    finally:
        book.close()


# -- images ------------------------------------------------------------------------------------

def _image(data: bytes, ext: str, name: str, vision: Vision | None) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            size, kind = image.size, image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NodeError(f"{name} is not a readable image ({exc})") from None
    heading = f"# {name}\n\n*{kind} image, {size[0]} × {size[1]} pixels*"
    if vision is None:
        return heading
    return f"{heading}\n\n{vision(IMAGE_PROMPT, [(data, IMAGE_FORMATS[ext])]).strip()}"
