"""Data/TDMS: the structure of a LabVIEW TDMS measurement file, read with npTDMS (metadata only)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ...errors import NodeError
from ...registry import inp, out, register
from ._local import local_copy

if TYPE_CHECKING:
    from ...runtime import NodeContext

ENFORCE = {"enforce_schema": True}
LEAD_IN = struct.Struct("<4sIIQQ")  # tag, table of contents, version, next segment offset, raw data offset


def _segment_count(path: str) -> int:
    """The segments of a TDMS file, by walking their lead-ins (npTDMS does not expose the count)."""
    count, offset = 0, 0
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        while offset + LEAD_IN.size <= size:
            handle.seek(offset)
            tag, _toc, _version, next_offset, _raw = LEAD_IN.unpack(handle.read(LEAD_IN.size))
            if tag != b"TDSm":
                break
            count += 1
            if next_offset == 0xFFFFFFFFFFFFFFFF:  # a segment still being written runs to the end of the file
                break
            offset += LEAD_IN.size + next_offset
    return count


def _property(name: str, value: Any) -> dict[str, str]:
    """Flow-Like's TdmsPropertyInfo: the property's value type and its text. npTDMS gives integer and
    float properties as Python numbers, so their width is not kept: I64 and Double."""
    import numpy as np

    if isinstance(value, bool):
        kind, text = "Boolean", "true" if value else "false"
    elif isinstance(value, np.datetime64):
        kind, text = "TimeStamp", np.datetime_as_string(value, unit="us") + "Z"
    elif isinstance(value, int):
        kind, text = "I64", str(value)
    elif isinstance(value, float):
        kind, text = "Double", repr(value)
    else:
        kind, text = "String", str(value)
    return {"name": name, "data_type": kind, "value": text}


@register("tdms_metadata", "TDMS Metadata", "Data/TDMS",
          "The groups, channels and properties of a LabVIEW TDMS file.",
          [inp("exec_in", "Input", "Execution"),
           inp("tdms_path", "TDMS File", "Struct", options=ENFORCE, schema="FlowPath",
               description="The TDMS file in one of the app's folders."),
           out("exec_out", "Done", "Execution"),
           out("metadata", "Metadata", "Struct", options=ENFORCE, schema="TdmsFileMetadata",
               description="{groups: [{name, channels: [{name, group, data_type, properties}]}], segment_count}.")])
def tdms_metadata(ctx: "NodeContext") -> None:
    from nptdms import TdmsFile

    ctx.deactivate("exec_out")
    loc = ctx.files.locate(ctx.get("tdms_path"), "tdms_path")
    if ctx.files.head(loc) is not None and ctx.files.read_range(loc, 0, 4) != b"TDSm":
        raise NodeError(f"Failed to parse TDMS file: '{loc.rel}' has no TDMS lead-in")
    with local_copy(ctx, loc, "tdms_path", ".tdms") as path:
        try:
            tdms = TdmsFile.read_metadata(path)
            groups = [{"name": group.name,
                       "channels": [{"name": channel.name, "group": group.name,
                                     "data_type": getattr(channel.data_type, "__name__", "Unknown"),
                                     "properties": [_property(k, v) for k, v in channel.properties.items()]}
                                    for channel in group.channels()]}
                      for group in tdms.groups()]
        except Exception as exc:  # noqa: BLE001 - npTDMS raises many kinds for a damaged file
            raise NodeError(f"Failed to parse TDMS file: '{loc.rel}': {exc}") from None
        segments = _segment_count(path)
    if segments == 0:  # npTDMS reads a cut-off lead-in as an empty file
        raise NodeError(f"Failed to parse TDMS file: '{loc.rel}' ends inside its first segment's lead-in")
    ctx.set("metadata", {"groups": groups, "segment_count": segments})
    ctx.activate("exec_out")
