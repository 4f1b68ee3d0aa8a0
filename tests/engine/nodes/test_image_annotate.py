"""Image/Annotate: Make Box in both definitions, and Draw Boxes drawing outlines and labels in the
class colours onto images made in the test."""

from __future__ import annotations

import pytest
from PIL import Image

from boardrun.engine.nodes.image.annotate import COLOURS, colour_of
from engine_testkit import BoardBuilder, failure_of, value_of
from boardrun.storage.local import LocalStorage
from image_testkit import Chain, files_of, pixels, png, put


def make_box(definition: str = "xyxy", extra: dict | None = None, **defaults):
    chain = Chain()
    node = chain.then("make_boxe", definition=definition, **defaults)
    for name, value in (extra or {}).items():
        chain.b.add_pin(node, name, "Input", "Integer", default=value)
    return chain.run(None, (node, "bbox"))


def test_make_box_xyxy_and_x1y1wh():
    """xyxy takes both corners; x1y1wh adds the editor's w and h pins to the top-left corner."""
    (box,) = value_of(make_box(x1=1.5, y1=2.0, x2=10.0, y2=20.0, class_idx=3, score=0.5))
    assert box == {"x1": 1.5, "y1": 2.0, "x2": 10.0, "y2": 20.0, "score": 0.5, "class_idx": 3, "class_name": None}
    (box,) = value_of(make_box("x1y1wh", {"w": 4, "h": 6}, x1=1.0, y1=2.0))
    assert (box["x2"], box["y2"], box["score"], box["class_idx"]) == (5.0, 8.0, 1.0, 0)


def test_make_box_bad_input():
    """An unknown definition, a missing corner, x1y1wh without w/h, and text for a number fail the node."""
    failure_of(make_box("cxcywh", x1=0.0, y1=0.0, x2=1.0, y2=1.0), "must be xyxy or x1y1wh")
    failure_of(make_box(x1=0.0, y1=0.0, x2=1.0), "input 'y2' is not connected and has no default")
    failure_of(make_box("x1y1wh", x1=0.0, y1=0.0), "needs the 'w' input")
    failure_of(make_box(x1="0", y1=0.0, x2=1.0, y2=1.0), "input 'x1' must be a number")


def test_colour_by_class_wraps_like_flowlike():
    """Class colours repeat every ten classes; a negative class reads as an unsigned 64-bit index."""
    assert colour_of(0) == colour_of(10) == COLOURS[0] and colour_of(13) == COLOURS[3]
    assert colour_of(-1) == COLOURS[5]


@pytest.fixture
def store(tmp_path):
    return LocalStorage(tmp_path / "store")


def _drawn(store, image: Image.Image, boxes: list[dict], use_ref: bool = False) -> tuple[Image.Image, Image.Image]:
    """(annotated, the input afterwards) for ``image`` with ``boxes``."""
    path = put(store, "in.png", png(image))
    chain = Chain()
    read = chain.read(path)
    draw = chain.apply("draw_boxes", (read, "image_out"), bboxes=boxes, use_ref=use_ref)
    drawn_url, input_url = value_of(chain.run(files_of(store), chain.as_png((draw, "image_out")),
                                              chain.as_png((read, "image_out"))))
    return pixels(drawn_url), pixels(input_url)


def test_draw_boxes_outlines_each_box_in_its_class_colour(store):
    """Each box's outline is drawn in its class colour (thickness 1 on a small image) and its inside
    stays as it was; the label goes above it; the input image is not changed without Use Reference."""
    white = Image.new("RGB", (200, 120), (255, 255, 255))
    boxes = [{"x1": 20, "y1": 40, "x2": 80, "y2": 100, "score": 0.9, "class_idx": 1},
             {"x1": 120.6, "y1": 30, "x2": 180, "y2": 90, "score": 0.5, "class_idx": 4, "class_name": "cat"}]
    drawn, original = _drawn(store, white, boxes)
    assert drawn.getpixel((20, 70)) == COLOURS[1] and drawn.getpixel((79, 70)) == COLOURS[1]
    assert drawn.getpixel((50, 40)) == COLOURS[1] and drawn.getpixel((50, 99)) == COLOURS[1]
    assert drawn.getpixel((120, 60)) == COLOURS[4] and drawn.getpixel((150, 60)) == (255, 255, 255)
    # The label (anti-aliased text of a few pixels) marks the space above its box, not beside it.
    assert len(drawn.crop((20, 0, 80, 40)).getcolors(10_000)) > 1
    assert drawn.crop((85, 0, 115, 120)).getcolors() == [(30 * 120, (255, 255, 255))]
    assert original.tobytes() == white.tobytes()


def test_draw_boxes_keeps_grey_images_grey_and_edits_in_place_with_use_ref(store):
    """On a grey image the outline is the colour's grey; with Use Reference the input itself is drawn on."""
    grey = Image.new("L", (100, 100), 0)
    drawn, original = _drawn(store, grey, [{"x1": 10, "y1": 50, "x2": 60, "y2": 90, "score": 1, "class_idx": 0}], True)
    assert drawn.mode == "L" and drawn.getpixel((10, 70)) == round(0.2126 * 204 + 0.7152 * 102 + 0.0722 * 204)
    assert original.tobytes() == drawn.tobytes()


@pytest.mark.parametrize(("boxes", "text"), [
    ([{"x1": 10, "y1": 10, "x2": 10, "y2": 20, "score": 1, "class_idx": 0}], "'bboxes[0]' has no area"),
    ([{"x1": 10, "y1": 10, "x2": 20, "y2": 20, "class_idx": 0}], "'bboxes[0]' has no 'score'"),
    ([{"x1": 10, "y1": 10, "x2": 20, "y2": 20, "score": 1, "class_idx": 2**40}], "class_idx must fit a 32-bit"),
    ({"x1": 1}, "input 'bboxes' must be an array"),
])
def test_draw_boxes_bad_boxes_fail(boxes, text):
    """A box without area, missing fields, an out-of-range class, and a non-list fail the node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    qr = b.add("write_qrcode", data="x")
    draw = b.add("draw_boxes", bboxes=boxes)
    b.chain(start, qr, draw)
    b.connect(qr, "image_out", draw, "image_in")
    failure_of(b.run(start), text)
