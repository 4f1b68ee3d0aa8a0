"""Data/QR: Write QR Code makes real QR codes (read back with zxing-cpp), sized by scale and margin."""

from __future__ import annotations

import pytest
import zxingcpp

from engine_testkit import failure_of, value_of
from image_testkit import Chain, pixels


def qr(**inputs):
    chain = Chain()
    node = chain.then("write_qrcode", **inputs)
    return chain.run(None, chain.as_png((node, "image_out")))


@pytest.mark.parametrize(("scale", "margin", "side"), [(8, 4, (21 + 8) * 8), (1, 0, 21), (-3, -2, 21), (3, 1, 69)])
def test_size_is_modules_plus_margin_times_scale(scale, margin, side):
    """A short text is a 21-module (version 1) code; scale below 1 and margin below 0 are raised to them."""
    (url,) = value_of(qr(data="hello", scale=scale, margin=margin))
    image = pixels(url)
    assert image.mode == "L" and image.size == (side, side)
    if margin > 0:
        assert image.getpixel((0, 0)) == 255  # the quiet zone is white


def test_written_code_reads_back():
    """The code decodes to the text, as a full QR code (not a Micro QR), at error correction level M."""
    text = "Boardrun ✓ https://example.com/?q=1"
    (url,) = value_of(qr(data=text, scale=3))
    (found,) = zxingcpp.read_barcodes(pixels(url))
    assert found.text == text and found.format == zxingcpp.BarcodeFormat.QRCode and found.ec_level == "M"


def test_bad_input():
    """Text too long for any QR code, a non-string and a code past the pixel cap fail the node."""
    failure_of(qr(data="x" * 3000), "is too long for a QR code")
    failure_of(qr(data=5), "input 'data' must be a string")
    failure_of(qr(data="a", scale=100_000), "the QR code would be")
