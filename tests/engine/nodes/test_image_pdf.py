"""Image/PDF: PDFs made in the test with Pillow's PDF writer, counted and rendered with PDFium from
the app's folder (local and S3 through moto)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import files_testkit
from engine_testkit import failure_of, value_of
from image_testkit import Chain, files_of, pixels, put

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name

COLOURS = [(220, 20, 20), (20, 180, 20), (20, 20, 220)]


def make_pdf(sizes=((120, 80), (60, 90), (100, 100))) -> bytes:
    """A PDF of one page per size (in points: 72 dpi), each filled with one of COLOURS."""
    pages = [Image.new("RGB", size, COLOURS[i % len(COLOURS)]) for i, size in enumerate(sizes)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=72.0, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def close(a, b, tolerance=6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_page_count(storage):
    """The number of pages of the PDF."""
    path = put(storage, "doc.pdf", make_pdf())
    chain = Chain()
    count = chain.then("pdf_page_count", pdf=path)
    assert value_of(chain.run(files_of(storage), (count, "page_count"))) == [3]


@pytest.mark.parametrize(("page", "scale", "size"), [(1, 1.0, (120, 80)), (2, 2.0, (120, 180)), (3, 0.5, (50, 50))])
def test_page_to_image_renders_the_page_at_the_scale(storage, page, scale, size):
    """A page renders at one pixel per point times the scale, in its colour, as RGBA."""
    path = put(storage, "doc.pdf", make_pdf())
    chain = Chain()
    render = chain.then("pdf_page_to_image", pdf=path, page=page, scale=scale)
    (url,) = value_of(chain.run(files_of(storage), chain.as_png((render, "image"))))
    image = pixels(url)
    assert image.mode == "RGBA" and image.size == size
    centre = image.getpixel((size[0] // 2, size[1] // 2))
    assert close(centre[:3], COLOURS[page - 1]) and centre[3] == 255


def test_pdf_to_images_renders_every_page_in_order(storage):
    """Every page becomes an image of its own, in page order."""
    path = put(storage, "doc.pdf", make_pdf())
    chain = Chain()
    render = chain.then("pdf_to_images", pdf=path)
    urls = []
    for index in range(3):
        pick = chain.b.add("array_get", index=index)
        chain.wire(render, "images", pick, "array_in")
        urls.append(chain.as_png((pick, "element")))
    rendered = [pixels(u) for u in value_of(chain.run(files_of(storage), *urls))]
    assert [image.size for image in rendered] == [(120, 80), (60, 90), (100, 100)]
    assert [close(image.getpixel((10, 10))[:3], colour) for image, colour in zip(rendered, COLOURS)] == [True] * 3


@pytest.mark.parametrize(("node", "inputs", "text"), [
    ("pdf_page_to_image", {"page": 4}, "page 4 was asked for, but the document has 3 pages"),
    ("pdf_page_to_image", {"page": 0}, "input 'page' must be at least 1"),
    ("pdf_page_to_image", {"scale": 0.0}, "input 'scale' must be greater than 0"),
    ("pdf_to_images", {"scale": -1.0}, "input 'scale' must be greater than 0"),
    ("pdf_page_to_image", {"scale": 1000.0}, "page 1 rendered would be 120000x80000 pixels"),
])
def test_bad_pages_and_scales_fail(storage, node, inputs, text):
    """A page past the end or below 1, a scale of zero or less, and a render past the pixel cap fail."""
    path = put(storage, "doc.pdf", make_pdf())
    chain = Chain()
    chain.then(node, pdf=path, **inputs)
    failure_of(chain.run(files_of(storage)), text)


@pytest.mark.parametrize("node", ["pdf_page_count", "pdf_page_to_image", "pdf_to_images"])
def test_broken_and_missing_pdfs_fail(storage, node):
    """A file that is not a PDF, and a missing file, fail each PDF node."""
    path = put(storage, "fake.pdf", b"%PDF-1.7 but nothing else")
    chain = Chain()
    chain.then(node, pdf=path)
    failure_of(chain.run(files_of(storage)), "'fake.pdf' is not a PDF that can be read")
    chain = Chain()
    chain.then(node, pdf={"path": "none.pdf", "store_ref": "dirs__storage", "cache_store_ref": None})
    failure_of(chain.run(files_of(storage)), "file not found: 'none.pdf'")


def test_run_memory_cap_stops_a_long_document(storage, monkeypatch):
    """Rendering more pages than ENGINE_IMAGE_MAX_RUN_BYTES holds fails at the page that passes it."""
    monkeypatch.setenv("ENGINE_IMAGE_MAX_RUN_BYTES", str(100 * 100 * 4 * 2))
    path = put(storage, "doc.pdf", make_pdf(((100, 100),) * 5))
    chain = Chain()
    chain.then("pdf_to_images", pdf=path)
    failure_of(chain.run(files_of(storage)), "would hold 120000 bytes, more than the 80000 allowed")
