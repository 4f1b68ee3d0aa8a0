"""AI/Processing document extraction: real PDF, DOCX, XLSX, HTML, CSV and image files made in the test,
read from the app's folder; the _ai variants send rendered PDF pages and images to a real
OpenAI-protocol server."""

from __future__ import annotations

import base64
import io

import docx
import openpyxl
import pytest
from PIL import Image, ImageDraw

import ai_testkit
from ai_testkit import load_bit
from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder, failure_of, value_of

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name

VISION_BIT = {"id": "local:vision", "type": "Vlm",
              "parameters": {"provider": {"provider_name": "local", "model_id": "vision"}}}
PROSE = ["The quarterly report shows steady growth across every region we operate in today",
         "Revenue rose by twelve percent while costs stayed nearly flat over the same period"]


def text_pdf(pages: list[str]) -> bytes:
    """A PDF whose pages show the given lines in Helvetica (objects and xref written out)."""
    font = 3 + 2 * len(pages)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(len(pages)))}] /Count {len(pages)} >>"]
    for i, text in enumerate(pages):
        shown = " ".join(f"({line}) Tj 0 -14 Td" for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def scanned_pdf() -> bytes:
    """A one-page PDF that is only a picture of text (as a scanner makes it): no text layer."""
    image = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(image).text((20, 20), "Scanned words only a reader of images sees", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=100)
    return buffer.getvalue()


def docx_file() -> bytes:
    document = docx.Document()
    document.add_heading("Minutes", level=1)
    document.add_paragraph("Everyone attended.")
    document.add_paragraph("Approve the budget", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Item", "Owner"], ["Budget", "Ann | Bob"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_file() -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "Prices"
    book.active.append(["Fruit", "Price"])
    book.active.append(["Apple", 1.5])
    book.create_sheet("Empty")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def png_file(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def files(tmp_path):
    return FileServices.local(tmp_path, "app1", "user1")


def put(files: FileServices, name: str, data: bytes) -> dict:
    path = flow_path("dirs__storage", name)
    files.write(files.locate(path, "file"), data)
    return path


def extract(services, node: str, ai_model: bool = False, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    last = load_bit(b, VISION_BIT["id"], start) if ai_model else start
    run = b.add(node, **inputs)
    b.connect(last, "exec_out", run, "exec_in")
    if ai_model:
        b.connect(last, "output_bit", run, "model")
    ret = b.add("events_generic_return_result")
    b.connect(run, "exec_out", ret, "exec_in")
    b.connect(run, "results" if "documents" in node else "pages", ret, "response")
    return b.run(start, files=services)


def test_pdf_text_per_page(files):
    """Each PDF page's text layer is one page; an empty page is left out; the images list is empty."""
    path = put(files, "report.pdf", text_pdf([PROSE[0], "", "\n".join(PROSE)]))
    pages = value_of(extract(files, "ai_processing_extract_document", file=path))
    assert [p["page_number"] for p in pages] == [1, 3]
    assert pages[0] == {"page_number": 1, "content": PROSE[0], "images": []}
    assert pages[1]["content"] == "\n".join(PROSE)


def test_pdf_without_a_text_layer_gets_the_fallback_page(files):
    """A scanned PDF has no text: without a model the result is one page saying so."""
    pages = value_of(extract(files, "ai_processing_extract_document", file=put(files, "scan.pdf", scanned_pdf())))
    assert len(pages) == 1 and "could not be extracted" in pages[0]["content"]


def test_short_text_is_marked_as_poor(files):
    """A page with very little text is kept, with markitdown's note that the extraction may be poor."""
    pages = value_of(extract(files, "ai_processing_extract_document", file=put(files, "short.pdf", text_pdf(["Hi"]))))
    assert pages[0]["content"] == "[Note: Text extraction quality may be poor]\n\nHi"


def test_docx_xlsx_csv_html_text_and_image(files):
    """Word headings, lists and tables; a page per sheet; CSV and HTML as Markdown; text as is; an image's size."""
    docx_pages = value_of(extract(files, "ai_processing_extract_document", file=put(files, "m.docx", docx_file())))
    assert docx_pages[0]["content"] == ("# Minutes\n\nEveryone attended.\n\n- Approve the budget\n\n"
                                        "| Item | Owner |\n| --- | --- |\n| Budget | Ann \\| Bob |")
    sheets = value_of(extract(files, "ai_processing_extract_document", file=put(files, "p.xlsx", xlsx_file())))
    assert [p["content"] for p in sheets] == ["## Prices\n\n| Fruit | Price |\n| --- | --- |\n| Apple | 1.5 |",
                                              "## Empty\n\n*(empty sheet)*"]
    paths = [put(files, "t.csv", b"a;b\n1;2\n"), put(files, "h.HTML", b"<h1>Title</h1><p>Some <b>bold</b></p>"),
             put(files, "n.md", "# Notes\nü".encode()), put(files, "dot.png", png_file())]
    pages = value_of(extract(files, "ai_processing_extract_documents", files=paths))
    assert [p["content"] for p in pages] == ["| a | b |\n| --- | --- |\n| 1 | 2 |", "# Title\n\nSome **bold**",
                                             "# Notes\nü", "# dot.png\n\n*PNG image, 40 × 30 pixels*"]
    assert [p["page_number"] for p in pages] == [1, 1, 1, 1]


@pytest.mark.parametrize("name, data, message", [
    ("gone.pdf", None, "not found"),
    ("broken.pdf", b"%PDF-1.4 this is not a pdf", "the file is not a readable PDF"),
    ("broken.docx", b"PK\x03\x04 not a zip", "the file is not a readable Word document"),
    ("slides.pptx", b"x", "cannot extract '.pptx' (slides.pptx): supported are"),
    ("README", b"x", "cannot extract files without an extension"),
    ("bad.png", b"\x89PNG nope", "bad.png is not a readable image"),
    ("latin.txt", "caf\xe9".encode("latin-1"), "latin.txt is not UTF-8 text"),
])
def test_bad_documents_fail_the_node(files, name, data, message):
    """Missing, broken and unsupported files fail with node_error naming the problem."""
    path = flow_path("dirs__storage", name) if data is None else put(files, name, data)
    failure_of(extract(files, "ai_processing_extract_document", file=path), message)


def test_one_bad_file_fails_extract_documents(files):
    good = put(files, "ok.txt", b"fine")
    failure_of(extract(files, "ai_processing_extract_documents", files=[good, flow_path("dirs__storage", "no.pdf")]),
               "not found")


def test_ai_variant_sends_scanned_pages_to_the_model(ai, files):
    """A page without text is rendered to PNG (144 dpi) and the model's Markdown replaces it; a page with good
    text is not sent. The request carries the temperature and the max tokens."""
    scan = scanned_pdf()
    good = text_pdf(["\n".join(PROSE * 3)])
    pages = value_of(extract(files, "ai_processing_extract_document_ai", ai_model=True,
                             file=put(files, "scan.pdf", scan), temperature=0.3, max_tokens=500))
    # the 600 × 300 px picture at 100 dpi is a 432 × 216 pt page, rendered at twice 72 dpi
    assert pages == [{"page_number": 1, "content": "Saw: PNG 864x432", "images": []}]
    (request,) = ai.chat_requests("vision")
    assert request["body"]["temperature"] == 0.3 and request["body"]["max_completion_tokens"] == 500
    parts = request["body"]["messages"][0]["content"]
    assert parts[0]["type"] == "text" and "Markdown" in parts[0]["text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    ai_testkit.forget_requests(ai)
    pages = value_of(extract(files, "ai_processing_extract_documents_ai", ai_model=True,
                             files=[put(files, "good.pdf", good), put(files, "dot.png", png_file((64, 48)))]))
    assert pages[0]["content"] == "\n".join(PROSE * 3)
    assert pages[1]["content"] == "# dot.png\n\n*PNG image, 64 × 48 pixels*\n\nSaw: PNG 64x48"
    (request,) = ai.chat_requests("vision")  # only the image: the good page needed no model
    assert request["body"]["max_completion_tokens"] == 4096
    png = base64.b64decode(request["body"]["messages"][0]["content"][1]["image_url"]["url"].split(",", 1)[1])
    assert png == png_file((64, 48))


def test_ai_variant_model_failure_fails_the_node(ai, files):
    """A provider error is a node_error naming the provider, not a silently text-only result."""
    b = BoardBuilder()
    start = b.add("events_simple")
    run = b.add("ai_processing_extract_document_ai", file=put(files, "scan.pdf", scanned_pdf()),
                model={"id": "local:broken", "parameters": {"provider": {"provider_name": "local", "model_id": "broken"}}})
    b.chain(start, run)
    message = failure_of(b.run(start, files=files), "AI provider 'local' answered HTTP 500")
    assert ai_testkit.LOCAL_KEY not in message
