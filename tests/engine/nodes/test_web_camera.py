"""Web/Camera: Write Image to Data URL encodes images made in the test as PNG, JPEG and WebP."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from engine_testkit import failure_of, value_of
from image_testkit import Chain


@pytest.mark.parametrize(("fmt", "mime", "pillow"), [("png", "image/png", "PNG"), ("jpeg", "image/jpeg", "JPEG"),
                                                     ("webp", "image/webp", "WEBP")])
def test_data_url_in_each_format(fmt, mime, pillow):
    """The URL carries the format's MIME type and base64 data that decodes to the same image
    (lossless for PNG and WebP)."""
    chain = Chain()
    code = chain.then("write_qrcode", data="camera", scale=2)
    url_node = chain.apply("image_write_dataurl", (code, "image_out"), "image", format=fmt)
    reference = chain.as_png((code, "image_out"))
    url, png_url = value_of(chain.run(None, (url_node, "url"), reference))
    head, body = url.split(",", 1)
    assert head == f"data:{mime};base64"
    image = Image.open(io.BytesIO(base64.b64decode(body)))
    original = Image.open(io.BytesIO(base64.b64decode(png_url.split(",", 1)[1])))
    assert image.format == pillow and image.size == original.size
    if fmt != "jpeg":
        assert image.convert("L").tobytes() == original.convert("L").tobytes()


def test_bad_input():
    """An unknown format and a missing image fail the node."""
    chain = Chain()
    code = chain.then("write_qrcode", data="x")
    chain.apply("image_write_dataurl", (code, "image_out"), "image", format="gif")
    failure_of(chain.run(None), "unsupported image format 'gif'")
    chain = Chain()
    chain.then("image_write_dataurl", image={"image_ref": "image_gone"})
    failure_of(chain.run(None), "no image 'image_gone' in this run")
