# ruff: noqa: F811 - test arguments name the fixtures imported from data_testkit
"""TDMS Metadata (Data/TDMS) on real npTDMS files in the app's storage (a local folder and S3 on moto)."""

from __future__ import annotations

import numpy as np
import pytest

from boardrun.engine.files import flow_path
from data_testkit import files, moto_url, storage  # noqa: F401 - pytest fixtures
from engine_testkit import BoardBuilder


def metadata(files, path):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("tdms_metadata", tdms_path=flow_path("dirs__storage", path))
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "metadata", ret, "response")
    return b.run(start, files=files)


def test_metadata_lists_groups_channels_properties_and_segments(files, tmp_path):
    """Groups, channels with their types and typed properties, and the number of segments, as written."""
    from nptdms import ChannelObject, GroupObject, TdmsWriter

    source = tmp_path / "m.tdms"
    with TdmsWriter(str(source)) as writer:
        writer.write_segment([GroupObject("run", {"operator": "ada"}),
                              ChannelObject("run", "volts", np.array([1.0, 2.0]),
                                            {"unit_string": "V", "gain": 2.5, "ok": True, "n": np.int32(7),
                                             "at": np.datetime64("2026-01-01T10:00:00")}),
                              ChannelObject("run", "count", np.array([1, 2], dtype=np.int32))])
        writer.write_segment([ChannelObject("run", "volts", np.array([3.0]))])
    files.write(files.locate(flow_path("dirs__storage", "m.tdms"), "p"), source.read_bytes())
    result = metadata(files, "m.tdms")
    assert result.status == "completed", result.error
    assert result.result == {"segment_count": 2, "groups": [{"name": "run", "channels": [
        {"name": "volts", "group": "run", "data_type": "DoubleFloat", "properties": [
            {"name": "unit_string", "data_type": "String", "value": "V"},
            {"name": "gain", "data_type": "Double", "value": "2.5"},
            {"name": "ok", "data_type": "Boolean", "value": "true"},
            {"name": "n", "data_type": "I64", "value": "7"},
            {"name": "at", "data_type": "TimeStamp", "value": "2026-01-01T10:00:00.000000Z"}]},
        {"name": "count", "group": "run", "data_type": "Int32", "properties": []}]}]}


@pytest.mark.parametrize("path,content,message", [
    ("missing.tdms", None, "file not found"),
    ("bad.tdms", b"not a tdms file at all", "no TDMS lead-in"),
    ("cut.tdms", b"TDSm\x0e\x00\x00\x00\x69\x12\x00\x00", "Failed to parse TDMS file"),
    ("../../app2/files/storage/m.tdms", None, "may not leave"),
])
def test_bad_files_fail_the_node(files, path, content, message):
    """A missing file, a file that is not TDMS, a damaged one and a path leaving the folder fail the node."""
    if content is not None:
        files.write(files.locate(flow_path("dirs__storage", path), "p"), content)
    result = metadata(files, path)
    assert (result.status, result.reason) == ("failed", "node_error"), result.error
    assert message in result.error["message"], result.error
