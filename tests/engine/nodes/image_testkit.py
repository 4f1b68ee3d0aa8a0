"""Helpers for the image node tests: images made with Pillow, put into app storage, run through a
chain of nodes, and read back as pixels (through 'Write Image to Data URL')."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder


def png(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def put(storage: Any, name: str, data: bytes) -> dict[str, Any]:
    """Store ``data`` as ``name`` in app1's storage folder; its FlowPath."""
    storage.put(f"apps/app1/files/storage/{name}", data)
    return flow_path("dirs__storage", name)


def stored(storage: Any, name: str) -> bytes:
    return storage.get(f"apps/app1/files/storage/{name}")


def files_of(storage: Any) -> FileServices:
    return FileServices.from_storage(storage, "app1", "user1")


def decode_data_url(url: str) -> Image.Image:
    head, body = url.split(",", 1)
    assert head == "data:image/png;base64", head
    return Image.open(io.BytesIO(base64.b64decode(body)))


class Chain:
    """events_simple, then nodes run one after another; ``result`` returns chosen outputs."""

    def __init__(self) -> None:
        self.b = BoardBuilder()
        self.start = self.b.add("events_simple")
        self.last, self.last_out = self.start, "exec_out"

    def then(self, node_name: str, exec_out: str = "exec_out", **defaults: Any) -> str:
        node = self.b.add(node_name, **defaults)
        self.b.connect(self.last, self.last_out, node, "exec_in")
        self.last, self.last_out = node, exec_out
        return node

    def wire(self, src: str, src_pin: str, dst: str, dst_pin: str) -> None:
        self.b.connect(src, src_pin, dst, dst_pin)

    def read(self, path: dict[str, Any], **defaults: Any) -> str:
        return self.then("read_image", path=path, **defaults)

    def apply(self, node_name: str, source: tuple[str, str], image_pin: str = "image_in", **defaults: Any) -> str:
        """A node whose image input ``image_pin`` is wired to ``source`` (node, output)."""
        node = self.then(node_name, **defaults)
        self.wire(*source, node, image_pin)
        return node

    def as_png(self, source: tuple[str, str]) -> tuple[str, str]:
        """A data-URL node encoding ``source`` as PNG; its URL output."""
        return self.apply("image_write_dataurl", source, "image", format="png"), "url"

    def run(self, files: FileServices | None, *outputs: tuple[str, str], **kwargs: Any) -> Any:
        """Run; the result is the list of the ``outputs`` values (pushed in order after the chain)."""
        var = self.b.variable("out", [], data_type="Generic")
        for node, pin in outputs:
            push = self.then("array_push_ref", var_ref=var)
            self.wire(node, pin, push, "value")
        ret = self.then("events_generic_return_result")
        get = self.b.add("variable_get", var_ref=var)
        self.wire(get, "value_ref", ret, "response")
        return self.b.run(self.start, files=files, **kwargs)


def pixels(url: str) -> Image.Image:
    """The image of a PNG data URL, loaded."""
    image = decode_data_url(url)
    image.load()
    return image
