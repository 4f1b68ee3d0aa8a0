"""Image/Transform nodes on images made in the test: pixels checked after each
transform, 'Use Reference' edits in place versus copies, and bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from boardrun.engine.nodes.image.transform import contrast_lut, fit_within
from engine_testkit import failure_of, value_of
from image_testkit import Chain, files_of, pixels, png, put


@pytest.fixture
def files(tmp_path):
    from boardrun.storage.local import LocalStorage

    store = LocalStorage(tmp_path / "store")
    return store, files_of(store)


def quadrants(width: int = 40, height: int = 20) -> Image.Image:
    """Red left half, blue right half, with a half-transparent bottom row band."""
    image = Image.new("RGBA", (width, height), (255, 0, 0, 255))
    image.paste((0, 0, 255, 255), (width // 2, 0, width, height))
    image.paste((0, 255, 0, 128), (0, height - 2, width, height))
    return image


def transformed(files, node: str, source: Image.Image | None = None, **defaults) -> Image.Image:
    store, services = files
    path = put(store, "src.png", png(source or quadrants()))
    chain = Chain()
    read = chain.read(path)
    step = chain.apply(node, (read, "image_out"), **defaults)
    (url,) = value_of(chain.run(services, chain.as_png((step, "image_out"))))
    return pixels(url)


def test_contrast_follows_flowlikes_curve_and_keeps_alpha(files):
    """Contrast maps each colour channel through ((100 + c) / 100)^2 around mid grey; alpha is untouched."""
    grey = Image.new("LA", (4, 4), (100, 77))
    out = transformed(files, "contrast_image", grey, contrast=50.0)
    assert out.mode == "LA" and out.getpixel((0, 0)) == (contrast_lut(50.0)[100], 77)
    assert contrast_lut(0.0) == list(range(256)) and contrast_lut(-100.0) == [128] * 256
    assert contrast_lut(100.0)[64] == 0 and contrast_lut(100.0)[200] == 255


@pytest.mark.parametrize(("pixel_type", "mode"), [("RGB", "RGB"), ("RGBA", "RGBA"), ("Luma", "L"), ("LumaA", "LA")])
def test_convert_image_to_each_pixel_type(files, pixel_type, mode):
    """Each pixel type gives that colour type; grey uses Rec. 709 weights and keeps alpha in LumaA."""
    out = transformed(files, "convert_image", pixel_type=pixel_type)
    assert out.mode == mode
    red, green = out.getpixel((0, 0)), out.getpixel((0, 19))
    if mode == "L":
        assert (red, green) == (54, 182)  # 0.2126 and 0.7152 of 255
    if mode == "LA":
        assert (red, green) == ((54, 255), (182, 128))


def test_crop_image_keeps_the_box_clipped_to_the_image(files):
    """The box's pixels are kept (fractions truncated); a box reaching past the edge is clipped."""
    box = {"x1": 15.7, "y1": 2.0, "x2": 25.2, "y2": 12.9, "score": 1.0, "class_idx": 0, "class_name": None}
    out = transformed(files, "crop_image", bbox=box)
    assert out.size == (9, 10)
    assert out.getpixel((0, 0)) == (255, 0, 0, 255) and out.getpixel((8, 0)) == (0, 0, 255, 255)
    wide = {**box, "x1": 30.0, "x2": 500.0}
    assert transformed(files, "crop_image", bbox=wide).size == (10, 10)


@pytest.mark.parametrize("box", [
    {"x1": 50, "y1": 0, "x2": 60, "y2": 5, "score": 1, "class_idx": 0},
    {"x1": 5, "y1": 5, "x2": 5, "y2": 9, "score": 1, "class_idx": 0},
    {"x1": 0, "y1": 0, "x2": 5},
    {"x1": 0, "y1": 0, "x2": "5", "y2": 5, "score": 1, "class_idx": 0},
    [1, 2, 3, 4],
])
def test_crop_image_bad_boxes_fail(files, box):
    """A box outside the image, without area, missing fields, with non-numbers or not an object fails."""
    store, services = files
    path = put(store, "src.png", png(quadrants()))
    chain = Chain()
    read = chain.read(path)
    chain.apply("crop_image", (read, "image_out"), bbox=box)
    failure_of(chain.run(services), "'bbox'")


@pytest.mark.parametrize(("mode", "size"), [("keep_aspect", (100, 50)), ("exact", (100, 100)), ("to_fill", (100, 100))])
def test_resize_image_modes(files, mode, size):
    """keep_aspect fits inside the size, exact stretches, to_fill covers then crops; the outputs say the size."""
    store, services = files
    path = put(store, "src.png", png(quadrants()))
    chain = Chain()
    read = chain.read(path)
    resize = chain.apply("resize_image", (read, "image_out"), mode=mode, width_in=100, height_in=100, filter="Nearest")
    url, width, height = value_of(chain.run(services, chain.as_png((resize, "image_out")), (resize, "width_out"),
                                            (resize, "height_out")))
    out = pixels(url)
    assert out.size == size == (width, height)
    if mode == "to_fill":
        # The 2:1 image scaled to height 100 is 200 wide; the middle 100 columns are half red, half blue.
        assert out.getpixel((10, 10)) == (255, 0, 0, 255) and out.getpixel((90, 10)) == (0, 0, 255, 255)
    assert fit_within(40, 20, 100, 100) == (100, 50) and fit_within(3, 1000, 10, 10) == (1, 10)


def test_resize_image_bad_sizes(files, monkeypatch):
    """A zero size, and a size past ENGINE_IMAGE_MAX_PIXELS, fail before anything is allocated."""
    store, services = files
    monkeypatch.setenv("ENGINE_IMAGE_MAX_PIXELS", "1000000")
    path = put(store, "src.png", png(quadrants()))
    for size, text in (((0, 10), "must be at least 1"), ((100_000, 100_000), "more than the 1000000 an image may have")):
        chain = Chain()
        read = chain.read(path)
        chain.apply("resize_image", (read, "image_out"), width_in=size[0], height_in=size[1])
        failure_of(chain.run(services), text)


def test_use_reference_changes_the_image_itself_and_a_copy_does_not(files):
    """With Use Reference the same reference comes out and the input image is changed; without it the
    output is a new image and the input keeps its size."""
    store, services = files
    path = put(store, "src.png", png(quadrants()))
    results = {}
    for use_ref in (True, False):
        chain = Chain()
        read = chain.read(path)
        resize = chain.apply("resize_image", (read, "image_out"), use_ref=use_ref, mode="exact", width_in=8,
                             height_in=4)
        dims = chain.apply("get_dimensions", (read, "image_out"))
        results[use_ref] = value_of(chain.run(services, (read, "image_out"), (resize, "image_out"), (dims, "width")))
    same_in, same_out, width = results[True]
    assert same_in == same_out and width == 8
    copy_in, copy_out, width = results[False]
    assert copy_in != copy_out and width == 40


def test_run_image_memory_is_capped(files, monkeypatch):
    """Images beyond ENGINE_IMAGE_MAX_RUN_BYTES in one run fail the node that would make one more."""
    store, services = files
    monkeypatch.setenv("ENGINE_IMAGE_MAX_RUN_BYTES", "9600")
    path = put(store, "src.png", png(quadrants()))  # 40x20 RGBA: 3200 bytes, and 2400 per RGB copy
    chain = Chain()
    read = chain.read(path)
    copies = [chain.apply("convert_image", (read, "image_out"), pixel_type="RGB", use_ref=False) for _ in range(3)]
    result = chain.run(services)
    failure_of(result, "would hold 10400 bytes, more than the 9600 allowed (ENGINE_IMAGE_MAX_RUN_BYTES)")
    assert result.error["node_id"] == copies[2]


def test_transform_bad_input(files):
    """An unknown pixel type, a non-finite contrast and a missing contrast fail the node."""
    store, services = files
    path = put(store, "src.png", png(quadrants()))
    for node, defaults, text in (("convert_image", {"pixel_type": "CMYK"}, "input 'pixel_type' must be one of"),
                                 ("contrast_image", {"contrast": "high"}, "input 'contrast' must be a number"),
                                 ("contrast_image", {}, "input 'contrast' is not connected and has no default")):
        chain = Chain()
        read = chain.read(path)
        chain.apply(node, (read, "image_out"), **defaults)
        failure_of(chain.run(services), text)


def test_a_copy_that_changed_nothing_is_still_a_copy(files):
    """Converting to the image's own type without Use Reference gives a new image; resizing the
    original in place afterwards leaves that copy as it was."""
    store, services = files
    path = put(store, "src.png", png(quadrants()))
    chain = Chain()
    read = chain.read(path)
    same = chain.apply("convert_image", (read, "image_out"), pixel_type="RGBA", use_ref=False)
    chain.apply("resize_image", (read, "image_out"), use_ref=True, mode="exact", width_in=4, height_in=4)
    url = chain.as_png((same, "image_out"))
    original, copy, png_url = value_of(chain.run(services, (read, "image_out"), (same, "image_out"), url))
    assert original != copy and pixels(png_url).tobytes() == quadrants().tobytes()
