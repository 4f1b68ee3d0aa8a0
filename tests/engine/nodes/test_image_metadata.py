"""Image/Metadata: Get Dimensions of images made in the test."""

from __future__ import annotations

from PIL import Image

from boardrun.storage.local import LocalStorage
from engine_testkit import failure_of, value_of
from image_testkit import Chain, files_of, png, put


def test_get_dimensions(tmp_path):
    """Width and height of a stored image, and of one made by another node."""
    store = LocalStorage(tmp_path / "store")
    path = put(store, "src.png", png(Image.new("RGBA", (33, 7))))
    chain = Chain()
    read = chain.read(path)
    dims = chain.apply("get_dimensions", (read, "image_out"))
    qr = chain.then("write_qrcode", data="x", scale=2, margin=0)
    qr_dims = chain.apply("get_dimensions", (qr, "image_out"))
    assert value_of(chain.run(files_of(store), (dims, "width"), (dims, "height"), (qr_dims, "width"))) == [33, 7, 42]


def test_get_dimensions_bad_input():
    """No image, a forged reference and a value of another shape fail the node."""
    for value, text in (({"image_ref": "image_0"}, "no image 'image_0' in this run"),
                        ({"ref": 1}, "is not an image"), (None, "is not an image")):
        chain = Chain()
        chain.then("get_dimensions", image_in=value)
        failure_of(chain.run(None), text)
