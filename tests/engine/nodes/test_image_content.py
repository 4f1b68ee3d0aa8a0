"""Image/Content nodes on real images: files in the app's folder (local and S3 through moto), images
downloaded from a local HTTP server through the egress policy, and QR codes read back by zxing-cpp."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

import files_testkit
from engine_testkit import failure_of, value_of
from http_testkit import LOCAL, QuietHandler, serve
from image_testkit import Chain, files_of, pixels, png, put, stored

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name


def gradient(width: int = 40, height: int = 30) -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([(x * 6, y * 8, 100) for y in range(height) for x in range(width)])
    return image


def read_back(storage, name: str) -> Image.Image:
    path = put(storage, name, png(gradient()))
    chain = Chain()
    read = chain.read(path)
    (url,) = value_of(chain.run(files_of(storage), chain.as_png((read, "image_out"))))
    return pixels(url)


def test_read_image_decodes_the_stored_file(storage):
    """A PNG in the app's folder reads back pixel for pixel (RGB stays RGB)."""
    image = read_back(storage, "g.png")
    assert image.mode == "RGB" and image.size == (40, 30)
    assert image.tobytes() == gradient().tobytes()


def test_read_image_turns_by_exif_only_when_asked(storage):
    """A JPEG tagged 'rotate 90° clockwise' (orientation 6) comes out turned only with Apply Exif."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = put(storage, "sideways.jpg", png(gradient(40, 30), "JPEG", exif=exif))
    sizes = []
    for apply in (False, True):
        chain = Chain()
        read = chain.read(path, apply_exif=apply)
        dims = chain.apply("get_dimensions", (read, "image_out"))
        sizes.append(value_of(chain.run(files_of(storage), (dims, "width"), (dims, "height"))))
    assert sizes == [[40, 30], [30, 40]]


@pytest.mark.parametrize(("mode", "held"), [("P", "RGB"), ("1", "L"), ("I;16", "L"), ("CMYK", "RGB"), ("LA", "LA")])
def test_read_image_holds_eight_bit_modes(storage, mode, held):
    """Palette, bilevel, 16-bit grey and CMYK files are held as 8-bit L/LA/RGB/RGBA images."""
    source = Image.new("RGB", (8, 8), (200, 30, 30)).convert(mode) if mode != "I;16" else Image.new("I;16", (8, 8), 65535)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    path = put(storage, f"m.{fmt.lower()}", png(source, fmt))
    chain = Chain()
    read = chain.read(path)
    (url,) = value_of(chain.run(files_of(storage), chain.as_png((read, "image_out"))))
    image = pixels(url)
    assert image.mode == held
    if mode == "I;16":
        assert image.getpixel((0, 0)) == 255


@pytest.mark.parametrize(("name", "data", "text"), [
    ("missing.png", None, "file not found: 'missing.png'"),
    ("text.png", b"this is not an image", "'text.png' is not an image in a format this engine reads"),
    ("cut.png", png(gradient())[:60], "'cut.png' is a broken image"),
])
def test_read_image_bad_files_fail_the_node(storage, name, data, text):
    """A missing file, a file that is no image and a truncated PNG each fail with node_error."""
    path = put(storage, name, data) if data is not None else {"path": name, "store_ref": "dirs__storage",
                                                                 "cache_store_ref": None}
    chain = Chain()
    chain.read(path)
    failure_of(chain.run(files_of(storage)), text)


def test_read_image_refuses_a_decompression_bomb_before_decoding(storage, monkeypatch):
    """A PNG whose header claims more pixels than ENGINE_IMAGE_MAX_PIXELS fails from its header alone."""
    monkeypatch.setenv("ENGINE_IMAGE_MAX_PIXELS", "10000")
    path = put(storage, "big.png", png(Image.new("L", (200, 100))))  # 20,000 pixels: tiny file, too many pixels
    chain = Chain()
    chain.read(path)
    failure_of(chain.run(files_of(storage)), "would be 200x100 pixels, more than the 10000 an image may have")


def test_read_image_url_downloads_through_the_egress_policy():
    """An image served on 127.0.0.1 decodes when private addresses are allowed; an error status and a
    refused address fail the node."""
    body = png(gradient())

    class Images(QuietHandler):
        def do_GET(self):
            if self.route == "/g.png":
                self.reply(200, body, "image/png")
            else:
                self.reply(404, b"no", "text/plain")

    with serve(Images) as base:
        chain = Chain()
        read = chain.then("read_image_url", signed_url=f"{base}/g.png")
        (url,) = value_of(chain.run(None, chain.as_png((read, "image_out")), egress=LOCAL))
        assert pixels(url).tobytes() == gradient().tobytes()
        chain = Chain()
        chain.then("read_image_url", signed_url=f"{base}/gone.png")
        failure_of(chain.run(None, egress=LOCAL), "the image URL answered HTTP 404")
        chain = Chain()
        chain.then("read_image_url", signed_url=f"{base}/g.png")
        failure_of(chain.run(None), "egress refused")


@pytest.mark.parametrize(("kind", "extension", "pillow_format"), [
    ("JPEG", "jpeg", "JPEG"), ("PNG", "png", "PNG"), ("TIFF", "tiff", "TIFF"), ("WebP", "webp", "WEBP"),
    ("AVIF", "avif", "AVIF"), ("BMP", "bmp", "BMP"), ("ICO", "ico", "ICO"), ("PNM", "pnm", "PPM"),
    ("QOI", "qoi", "QOI"), ("TGA", "tga", "TGA"),
])
def test_write_image_writes_each_format(storage, kind, extension, pillow_format):
    """Write Image gives the path the format's extension and writes a file Pillow reads as that format;
    the lossless formats keep every pixel."""
    path = put(storage, "in.png", png(gradient()))
    chain = Chain()
    read = chain.read(path)
    chain.apply("write_image", (read, "image_out"), path={"path": "out/picture.old", "store_ref": "dirs__storage",
                                                            "cache_store_ref": None}, type=kind)
    value_of(chain.run(files_of(storage)))
    written = Image.open(io.BytesIO(stored(storage, f"out/picture.{extension}")))
    assert written.format == pillow_format and written.size == (40, 30)
    if kind in ("PNG", "TIFF", "WebP", "BMP", "PNM", "QOI", "TGA"):
        assert written.convert("RGB").tobytes() == gradient().tobytes()


def test_write_image_jpeg_quality_and_png_compression(storage):
    """A lower JPEG quality makes a smaller file; PNG's compression pin (added by the editor) is honoured."""
    path = put(storage, "in.png", png(gradient(200, 200)))
    sizes = {}
    for name, kind, extra in (("q100", "JPEG", {"quality": 100}), ("q5", "JPEG", {"quality": 5}),
                              ("fast", "PNG", {"compression_type": "Fast"}), ("best", "PNG", {"compression_type": "Best"})):
        chain = Chain()
        read = chain.read(path)
        write = chain.apply("write_image", (read, "image_out"),
                            path={"path": name, "store_ref": "dirs__storage", "cache_store_ref": None}, type=kind,
                            **({"quality": extra["quality"]} if "quality" in extra else {}))
        if "compression_type" in extra:
            chain.b.add_pin(write, "compression_type", "Input", "String", default=extra["compression_type"])
        value_of(chain.run(files_of(storage)))
        sizes[name] = len(stored(storage, f"{name}.{'jpeg' if kind == 'JPEG' else 'png'}"))
    assert sizes["q5"] < sizes["q100"] and sizes["best"] <= sizes["fast"]


def test_write_image_farbfeld_and_hdr(storage):
    """Farbfeld (16-bit RGBA, big-endian) and Radiance HDR (RGBE) files have the formats' headers and data."""
    path = put(storage, "in.png", png(Image.new("RGB", (3, 2), (255, 0, 51))))
    for kind in ("Farbfeld", "HDR"):
        chain = Chain()
        read = chain.read(path)
        chain.apply("write_image", (read, "image_out"), path={"path": "x", "store_ref": "dirs__storage",
                                                                "cache_store_ref": None}, type=kind)
        value_of(chain.run(files_of(storage)))
    farbfeld = stored(storage, "x.ff")
    assert farbfeld[:8] == b"farbfeld" and struct.unpack(">II", farbfeld[8:16]) == (3, 2)
    assert struct.unpack(">4H", farbfeld[16:24]) == (65535, 0, 13107, 65535) and len(farbfeld) == 16 + 3 * 2 * 8
    hdr = stored(storage, "x.hdr")
    header, data = hdr.split(b"-Y 2 +X 3\n", 1)
    assert header.startswith(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n") and len(data) == 3 * 2 * 4
    r, g, b, e = data[:4]
    assert (g, e) == (0, 129) and r / 256 * 2 == pytest.approx(1.0, abs=0.01) and b / 256 * 2 == pytest.approx(0.2, abs=0.01)


def test_write_image_bad_input(storage):
    """An unknown type, and a reference to no image of the run, fail the node."""
    chain = Chain()
    chain.then("write_image", image_in={"image_ref": "image_nope"}, type="PNG",
               path={"path": "x", "store_ref": "dirs__storage", "cache_store_ref": None})
    failure_of(chain.run(files_of(storage)), "input 'image_in': no image 'image_nope' in this run")
    path = put(storage, "in.png", png(gradient()))
    chain = Chain()
    read = chain.read(path)
    chain.apply("write_image", (read, "image_out"), type="GIF",
                path={"path": "x", "store_ref": "dirs__storage", "cache_store_ref": None})
    failure_of(chain.run(files_of(storage)), "unsupported image type 'GIF'")
    chain = Chain()
    chain.then("get_dimensions", image_in="not an image")
    failure_of(chain.run(None), "input 'image_in' is not an image")


def _codes(storage, *codes: str, **read_defaults) -> list[dict]:
    """Write a QR code per text, paste them side by side, and read the picture's codes back."""
    chain = Chain()
    urls = []
    for text in codes:
        qr = chain.then("write_qrcode", data=text, scale=4, margin=4)
        urls.append(chain.as_png((qr, "image_out")))
    made = [pixels(u) for u in value_of(chain.run(None, *urls))]
    sheet = Image.new("L", (sum(m.width for m in made), max(m.height for m in made)), 255)
    x = 0
    for m in made:
        sheet.paste(m, (x, 0))
        x += m.width
    path = put(storage, "sheet.png", png(sheet))
    chain = Chain()
    read = chain.read(path)
    found = chain.apply("read_barcodes", (read, "image_out"), **read_defaults)
    (results,) = value_of(chain.run(files_of(storage), (found, "results")))
    return results


def test_read_barcodes_reads_back_written_qr_codes(storage):
    """Two QR codes written by Write QR Code are both found, with text, bytes, format and four corners."""
    results = _codes(storage, "https://example.com/a", "grüße 42")
    assert sorted(r["text"] for r in results) == ["grüße 42", "https://example.com/a"]
    first = next(r for r in results if r["text"] == "grüße 42")
    assert first["format"] == "qrcode" and bytes(first["raw_bytes"]).decode("utf-8") == "grüße 42"
    assert first["num_bits"] == 8 * len(first["raw_bytes"]) and len(first["points"]) == 4
    assert isinstance(first["timestamp"], int)


def test_read_barcodes_filter_by_format(storage):
    """With Filter on, only the format on the editor's 'format' pin is looked for; none found is an empty list."""
    chain = Chain()
    qr = chain.then("write_qrcode", data="filtered", scale=4)
    (url,) = value_of(chain.run(None, chain.as_png((qr, "image_out"))))
    path = put(storage, "qr.png", png(pixels(url)))
    found = {}
    for wanted in ("QR_CODE", "EAN_13"):
        chain = Chain()
        read = chain.read(path)
        node = chain.apply("read_barcodes", (read, "image_out"), filter=True)
        chain.b.add_pin(node, "format", "Input", "String", default=wanted)
        (found[wanted],) = value_of(chain.run(files_of(storage), (node, "results")))
    assert [r["text"] for r in found["QR_CODE"]] == ["filtered"] and found["EAN_13"] == []
    chain = Chain()
    read = chain.read(path)
    chain.apply("read_barcodes", (read, "image_out"), filter=True)
    failure_of(chain.run(files_of(storage)), "input 'format' must be one of")


def test_read_image_refuses_formats_outside_the_list(storage):
    """A file in a format Pillow could open but the engine does not read (EPS, decoded by running
    Ghostscript) is not an image here."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    path = put(storage, "art.eps", eps)
    chain = Chain()
    chain.read(path)
    failure_of(chain.run(files_of(storage)), "'art.eps' is not an image in a format this engine reads")
