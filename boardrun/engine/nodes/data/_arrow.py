"""Arrow data to and from pin values, shared by the local database and the DataFusion nodes.

Pins carry JSON, so every value read out of Arrow is made JSON-safe here (dates and times as ISO
text, decimals as text, binary as a list of byte values, NaN and infinities as null), and rows a
board supplies become an Arrow table with the conventions of Flow-Like's local database: a
``vector`` field holds a fixed-size list of 32-bit floats, which is what vector search needs.

pyarrow is imported inside the functions: importing the engine must stay cheap.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from typing import Any

from ...errors import NodeError

VECTOR_FIELD = "vector"


def jsonable(value: Any) -> Any:
    """``value`` (as pyarrow's ``to_pylist`` returns it) with only JSON types left."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # a map column comes back as a list of (key, value) tuples
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): jsonable(v) for k, v in value}
        return [jsonable(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    return str(value)


def table_rows(table: Any) -> list[dict[str, Any]]:
    """The rows of a pyarrow Table as JSON objects."""
    return [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def rows_to_table(rows: list[Any], pin: str) -> Any:
    """A pyarrow Table from JSON objects; ``vector`` becomes a fixed-size list of float32."""
    import pyarrow as pa

    if not rows:
        raise NodeError(f"input '{pin}' has no rows to write")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise NodeError(f"input '{pin}': row {i} is not an object (each row maps column names to values)")
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise NodeError(f"input '{pin}': the rows do not form a table: {exc}") from None
    if VECTOR_FIELD in table.column_names:
        first = rows[0].get(VECTOR_FIELD)
        if not isinstance(first, list) or not first:
            raise NodeError(f"input '{pin}': the '{VECTOR_FIELD}' of the first row must be a non-empty list of numbers")
        dim = len(first)
        for i, row in enumerate(rows):
            vec = row.get(VECTOR_FIELD)
            if not isinstance(vec, list) or len(vec) != dim or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in vec):
                raise NodeError(f"input '{pin}': row {i} has a '{VECTOR_FIELD}' that is not {dim} numbers "
                                "(every row's vector needs the same dimension)")
        vectors = pa.array([row[VECTOR_FIELD] for row in rows], type=pa.list_(pa.float32(), dim))
        table = table.set_column(table.schema.get_field_index(VECTOR_FIELD), VECTOR_FIELD, vectors)
    return table


def schema_value(schema: Any) -> dict[str, Any]:
    """An Arrow schema as JSON: fields (name, data type text, nullable, metadata) and metadata."""

    def text(raw: dict[bytes, bytes] | None) -> dict[str, str]:
        return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in (raw or {}).items()}

    return {
        "fields": [{"name": f.name, "data_type": str(f.type), "nullable": f.nullable, "metadata": text(f.metadata)}
                   for f in schema],
        "metadata": text(schema.metadata),
    }


# -- Flow-Like's table shape (CSVTable) -------------------------------------------------------------

def csv_table(table: Any) -> dict[str, Any]:
    """A pyarrow Table in Flow-Like's CSVTable shape: ``{"headers": [...], "rows": [[...]], "source": null}``.

    Dates and timestamps become Flow-Like's date cells ``{"iso": ..., "ms": ...}``.
    """
    import pyarrow as pa

    headers = list(table.column_names)
    columns = []
    for field, column in zip(table.schema, table.columns):
        values = column.to_pylist()
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            values = [_date_cell(v) for v in values]
        else:
            values = [jsonable(v) for v in values]
        columns.append(values)
    rows = [list(cells) for cells in zip(*columns)] if columns else []
    return {"headers": headers, "rows": rows, "source": None}


def _date_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        ms = int(aware.timestamp() * 1000)
        naive = aware.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return {"iso": naive.isoformat(timespec="seconds"), "ms": ms}
    if isinstance(value, _dt.date):
        ms = int(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).timestamp() * 1000)
        return {"iso": f"{value.isoformat()}T00:00:00", "ms": ms}
    return jsonable(value)


def table_from_csv_table(value: Any, pin: str) -> Any:
    """A pyarrow Table from a CSVTable pin value; each column's type is inferred from its cells.

    As in Flow-Like: a column whose cells are all booleans, integers, numbers or dates (or text
    that reads as one of them) gets that type; anything else is text.
    """
    import pyarrow as pa

    if not isinstance(value, dict) or not isinstance(value.get("headers"), list) or not isinstance(
            value.get("rows"), list):
        raise NodeError(f"input '{pin}' is not a table: expected an object with 'headers' and 'rows' lists")
    headers = [str(h) for h in value["headers"]]
    if len(set(headers)) != len(headers):
        raise NodeError(f"input '{pin}': the table has duplicate column names")
    rows = value["rows"]
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise NodeError(f"input '{pin}': row {i} is not a list of cells")
    arrays = []
    for col in range(len(headers)):
        cells = [_cell(row[col]) if col < len(row) else None for row in rows]
        arrays.append(_column(cells))
    return pa.Table.from_arrays(arrays, names=headers) if headers else pa.table({})


_NULLISH = {"", "null", "NULL", "NaN", "N/A", "na", "Na"}


def _cell(cell: Any) -> Any:
    """A cell as bool, int, float, datetime, str or None (text that reads as a typed value stays text here)."""
    if isinstance(cell, dict) and "ms" in cell and "iso" in cell:
        try:
            return _dt.datetime.fromtimestamp(int(cell["ms"]) / 1000, _dt.timezone.utc).replace(tzinfo=None)
        except (TypeError, ValueError, OverflowError, OSError):
            return str(cell.get("iso"))
    if cell is None or isinstance(cell, (bool, int, float, str)):
        return cell
    import json

    return json.dumps(cell, ensure_ascii=False)


def _parse(text: str) -> tuple[str, Any]:
    t = text.strip()
    if t in _NULLISH:
        return "null", None
    if t.lower() in ("true", "false"):
        return "bool", t.lower() == "true"
    date = _parse_date(t)
    if date is not None:
        return "date", date
    try:
        return "int", int(t)
    except ValueError:
        pass
    try:
        return "float", float(t)
    except ValueError:
        return "str", text


def _parse_date(t: str) -> _dt.datetime | None:
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return _dt.datetime.strptime(t, fmt)
        except ValueError:
            continue
    return None


def _column(cells: list[Any]) -> Any:
    import pyarrow as pa

    kinds = set()
    parsed = []
    for cell in cells:
        if isinstance(cell, str):
            kind, val = _parse(cell)
        elif cell is None:
            kind, val = "null", None
        elif isinstance(cell, bool):
            kind, val = "bool", cell
        elif isinstance(cell, int):
            kind, val = "int", cell
        elif isinstance(cell, float):
            kind, val = ("float", cell) if math.isfinite(cell) else ("null", None)
        else:
            kind, val = "date", cell
        kinds.add(kind)
        parsed.append(val)
    kinds.discard("null")
    if kinds <= {"bool"} and kinds:
        return pa.array(parsed, type=pa.bool_())
    if kinds and kinds <= {"bool", "int"}:
        return _int_array(parsed, cells)
    if kinds and kinds <= {"bool", "int", "float"}:
        return pa.array([None if v is None else float(v) for v in parsed], type=pa.float64())
    if kinds == {"date"}:
        return pa.array(parsed, type=pa.timestamp("ms"))
    return pa.array([None if c is None else (c if isinstance(c, str) else _text(c)) for c in cells],
                    type=pa.string())


def _int_array(values: list[Any], cells: list[Any]) -> Any:
    """64-bit integers; text when a value does not fit (Flow-Like would drop it to null)."""
    import pyarrow as pa

    try:
        return pa.array([None if v is None else int(v) for v in values], type=pa.int64())
    except (pa.ArrowException, OverflowError):
        return pa.array([None if c is None else _text(c) for c in cells], type=pa.string())


def _text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, _dt.datetime):
        return cell.isoformat()
    return str(cell)

