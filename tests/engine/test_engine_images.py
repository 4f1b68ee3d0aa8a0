"""engine/images.py: the image limits read from the environment, and images held per run."""

from __future__ import annotations

import pytest

from boardrun.config import ConfigError, load_settings

from boardrun.engine.errors import NodeError
from boardrun.engine.images import ImageLimits
from engine_testkit import BoardBuilder, failure_of, value_of


def run(node: str, output: str | None = None, **inputs):
    """events_simple -> node -> return ``output`` (or nothing)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    target = b.add(node, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, target, ret)
    if output:
        b.connect(target, output, ret, "response")
    return b.run(start)


def test_limits_from_settings():
    """Defaults, both variables, and a clear configuration error for a value that is not an integer."""
    assert ImageLimits.from_settings(load_settings({}).engine) == ImageLimits()
    limits = ImageLimits.from_settings(
        load_settings({"ENGINE_IMAGE_MAX_PIXELS": "100", "ENGINE_IMAGE_MAX_RUN_BYTES": "2000"}).engine)
    assert (limits.max_pixels, limits.max_run_bytes) == (100, 2000)
    with pytest.raises(ConfigError, match="ENGINE_IMAGE_MAX_PIXELS"):
        load_settings({"ENGINE_IMAGE_MAX_PIXELS": "lots"})


def test_a_reference_does_not_outlive_its_run():
    """An image reference from one run names no image in the next run."""
    ref = value_of(run("write_qrcode", "image_out", data="x"))
    assert ref["image_ref"].startswith("image_")
    failure_of(run("get_dimensions", image_in=ref), f"no image '{ref['image_ref']}' in this run")

