"""Data/Excel: .xlsx workbooks in the app's folders, read and changed with openpyxl.

Each node opens the workbook from its FlowPath, works on it and, when it changed something,
writes it back before it continues (Flow-Like keeps an open workbook per run; here a later node
always sees what an earlier one wrote). Nodes that change a workbook create it when the file
does not exist yet (with one sheet, "Sheet1").
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_int, as_map, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...files import Location
    from ...runtime import NodeContext

_CAT = "Data/Excel"
_MAX_ROW, _MAX_COL = 1_048_576, 16_384  # the .xlsx grid
_ILLEGAL_SHEET_CHARS = re.compile(r"[:/\\?*\[\]]")


def _file_in(enforce: bool = False):
    return inp("file", "File", "Struct", options={"enforce_schema": True} if enforce else None, schema="FlowPath",
               description="The .xlsx file in one of the app's folders.")


_FILE_OUT = out("file_out", "File", "Struct", schema="FlowPath", description="The same file, for chaining.")
_SHEET_IN = inp("sheet", "Sheet", "String", default="Sheet1", description="The worksheet's name.")


def _exec(friendly_in: str, friendly_out: str):
    return (inp("exec_in", friendly_in, "Execution", description="Run the node."),
            out("exec_out", friendly_out, "Execution", description="Fires when the node is done."))


# -- opening and saving ----------------------------------------------------------------------------

def _load(data: bytes, data_only: bool = False):
    import openpyxl

    from ...documents import check_zip

    check_zip(data, ".xlsx workbook")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=data_only, rich_text=not data_only)
    except Exception as exc:  # noqa: BLE001 - a broken file surfaces as any of zipfile/XML/openpyxl's errors
        raise NodeError(f"the file is not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None


def _new_workbook():
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Sheet1"  # as umya-spreadsheet names a new workbook's sheet
    return book


class _Workbook:
    """One node's open workbook and where it came from."""

    def __init__(self, ctx: NodeContext, pin: str = "file", create: bool = False) -> None:
        self.ctx = ctx
        self.loc: Location = ctx.files.locate(ctx.get(pin), pin)
        self.data: bytes | None = None
        if create and not ctx.files.exists(self.loc):
            self.book = _new_workbook()
        else:
            self.data = ctx.files.read(self.loc)
            self.book = _load(self.data)

    def cached_values(self):
        """The workbook as last calculated by a spreadsheet program (formula results, not formulas)."""
        return self.book if self.data is None else _load(self.data, data_only=True)

    def sheet(self, name: str, create: bool = False):
        if name in self.book.sheetnames:
            return self.book[name]
        if not create:
            raise NodeError(f"sheet '{name}' not found (the workbook has {', '.join(self.book.sheetnames)})")
        return self.book.create_sheet(_sheet_name(name))

    def save(self) -> None:
        buffer = io.BytesIO()
        self.book.save(buffer)
        self.ctx.files.write(self.loc, buffer.getvalue())


def _sheet_name(raw: str) -> str:
    """A legal sheet name as Flow-Like makes one: illegal characters as spaces, blanks collapsed, 31 characters."""
    name = _ILLEGAL_SHEET_CHARS.sub(" ", raw)
    name = " ".join(name.removesuffix("'").split())[:31]
    if not name:
        raise NodeError(f"'{raw}' is not a usable sheet name (empty once illegal characters are removed)")
    return name


def _unique_sheet_name(book, base: str) -> str:
    for n in range(1, 10_000):
        candidate = f"{base} ({n})"
        if candidate not in book.sheetnames:
            return candidate
    return f"{base} (copy)"


def _row(text: str, pin: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= _MAX_ROW:
        raise NodeError(f"input '{pin}' must be a row number from 1 to {_MAX_ROW}, got '{text}'")
    return int(value)


def _column(text: str, pin: str) -> int:
    """A 1-based column from letters (A, AA, XFD) or a number."""
    value = text.strip().upper()
    if value.isdigit():
        index = int(value)
    elif value.isascii() and value.isalpha():
        index = 0
        for ch in value:
            index = index * 26 + ord(ch) - 64
            if index > _MAX_COL:
                break
    else:
        index = 0
    if not 1 <= index <= _MAX_COL:
        raise NodeError(f"input '{pin}' must be a column (A to XFD, or 1 to {_MAX_COL}), got '{text}'")
    return index


def _count(text: str, pin: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise NodeError(f"input '{pin}' must be a whole number of at least 1, got '{text}'")
    return int(value)


def _value_text(value: Any) -> str:
    """A cell value as text: whole floats without '.0', booleans as TRUE/FALSE, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _cell_text(cell: Any, value: Any) -> str:
    text = _value_text(value)
    if isinstance(value, (bool, int, float, datetime, date, time)):
        return text
    link = cell.hyperlink.target if cell.hyperlink is not None else None
    return f"[{text}]({link})" if link and text else text


# -- cells -----------------------------------------------------------------------------------------

_CELL_PINS = [_exec("In", "Out")[0], _file_in(), _SHEET_IN,
              inp("row", "Row", "String", default="1", description="Row number, from 1."),
              inp("col", "Column", "String", default="A", description="Column letters (A, AA) or number.")]

@register("excel_read_cell", "Excel Read Cell", _CAT,
          "Reads one cell as text (a formula gives its last calculated value; a link as [text](url)).",
          [*_CELL_PINS, _exec("In", "Out")[1], _FILE_OUT, out("value", "Value", "String", description="The cell's text."),
           out("found", "Found", "Boolean", description="Whether the sheet exists and the cell has a value.")])
def excel_read_cell(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    sheet = as_str(ctx.get("sheet"), "sheet")
    row, col = _row(as_str(ctx.get("row"), "row"), "row"), _column(as_str(ctx.get("col"), "col"), "col")
    workbook = _Workbook(ctx)
    text = ""
    if sheet in workbook.book.sheetnames:
        cell = workbook.book[sheet].cell(row, col)
        value = cell.value
        if cell.data_type == "f":
            cached = workbook.cached_values()[sheet].cell(row, col).value
            value = cached if cached is not None else value
        text = _cell_text(cell, value)
    ctx.set("file_out", ctx.get("file"))
    ctx.set("value", text)
    ctx.set("found", bool(text))
    ctx.activate("exec_out")


def _write_cell(ctx: NodeContext, html: bool) -> None:
    ctx.deactivate("exec_out")
    sheet = as_str(ctx.get("sheet"), "sheet")
    row, col = _row(as_str(ctx.get("row"), "row"), "row"), _column(as_str(ctx.get("col"), "col"), "col")
    text = as_str(ctx.get("value"), "value")
    value = _rich_text(text) if html else text
    workbook = _Workbook(ctx, create=True)
    cell = workbook.sheet(sheet, create=True).cell(row, col)
    try:
        cell.value = value
    except ValueError as exc:  # control characters Excel cannot store
        raise NodeError(f"input 'value' cannot be stored in a cell: {exc}") from None
    if html:
        from openpyxl.styles import Alignment

        cell.alignment = Alignment(wrap_text=True)
    workbook.save()
    ctx.set("file_out", ctx.get("file"))
    ctx.activate("exec_out")


@register("excel_write_cell", "Excel Write Cell", _CAT,
          "Writes text into one cell, creating the sheet (and the workbook) when missing.",
          [*_CELL_PINS, inp("value", "Value", "String", default="", description="The text to store."),
           _exec("In", "Out")[1], _FILE_OUT])
def excel_write_cell(ctx: NodeContext) -> None:
    _write_cell(ctx, html=False)


@register("excel_write_cell_html", "Excel Write Cell (HTML)", _CAT,
          "Writes simple HTML (b, i, u, s, font color/size/face, br, p) into a cell as rich text, wrapped.",
          [*_CELL_PINS, inp("value", "Value", "String", default="", description="The HTML to store."),
           _exec("In", "Out")[1], _FILE_OUT])
def excel_write_cell_html(ctx: NodeContext) -> None:
    _write_cell(ctx, html=True)


def _rich_text(html: str):
    """CellRichText from simple HTML: text runs with the font of the tags around them."""
    from html.parser import HTMLParser

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    runs: list[tuple[str, dict[str, Any]]] = []
    stack: list[tuple[str, dict[str, Any]]] = []

    def font() -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _tag, attrs in stack:
            merged.update(attrs)
        return merged

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "br":
                runs.append(("\n", font()))
                return
            if tag in ("p", "div") and runs:
                runs.append(("\n", font()))
            style = {"b": {"b": True}, "strong": {"b": True}, "i": {"i": True}, "em": {"i": True},
                     "u": {"u": "single"}, "s": {"strike": True}, "strike": {"strike": True},
                     "del": {"strike": True}}.get(tag, {})
            if tag == "font":
                values = dict(attrs)
                if (color := (values.get("color") or "").lstrip("#")) and re.fullmatch(r"[0-9A-Fa-f]{6}", color):
                    style = {**style, "color": "FF" + color.upper()}
                if (size := values.get("size") or "").isdigit():
                    style = {**style, "sz": float(size)}
                if values.get("face"):
                    style = {**style, "rFont": values["face"]}
            stack.append((tag, style))

        def handle_endtag(self, tag):
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == tag:
                    del stack[i:]
                    break

        def handle_data(self, data):
            if data:
                runs.append((data, font()))

    parser = Parser(convert_charrefs=True)
    parser.feed(html)
    parser.close()
    blocks = [TextBlock(InlineFont(**style), text) if style else text for text, style in runs]
    return CellRichText(*blocks) if blocks else ""


# -- rows and columns ------------------------------------------------------------------------------

def _remove(ctx: NodeContext, rows: bool) -> None:
    ctx.deactivate("exec_out")
    sheet = as_str(ctx.get("sheet"), "sheet")
    if rows:
        start = _row(as_str(ctx.get("row"), "row"), "row")
    else:
        start = _column(as_str(ctx.get("col"), "col"), "col")
    count = _count(as_str(ctx.get("count"), "count"), "count")
    workbook = _Workbook(ctx, create=True)
    ws = workbook.sheet(sheet, create=True)
    (ws.delete_rows if rows else ws.delete_cols)(start, count)
    workbook.save()
    ctx.set("file_out", ctx.get("file"))
    ctx.set("ok", True)
    ctx.activate("exec_out")


_COUNT_IN = inp("count", "Count", "String", default="1", description="How many to remove.")
_OK_OUT = out("ok", "OK", "Boolean", description="True once removed.")


@register("excel_remove_row", "Excel Remove Row", _CAT, "Removes rows, moving the rows below up.",
          [_exec("In", "Out")[0], _file_in(), _SHEET_IN,
           inp("row", "Row", "String", default="1", description="First row to remove, from 1."), _COUNT_IN,
           _exec("In", "Out")[1], _FILE_OUT, _OK_OUT])
def excel_remove_row(ctx: NodeContext) -> None:
    _remove(ctx, rows=True)


@register("excel_remove_column", "Excel Remove Column", _CAT, "Removes columns, moving the columns right of them left.",
          [_exec("In", "Out")[0], _file_in(), _SHEET_IN,
           inp("col", "Column", "String", default="B", description="First column to remove (letters or number)."),
           _COUNT_IN, _exec("In", "Out")[1], _FILE_OUT, _OK_OUT])
def excel_remove_column(ctx: NodeContext) -> None:
    _remove(ctx, rows=False)


_POSITION_IN = inp("position", "Position", "String", default="before", options={"valid_values": ["before", "after"]},
                   description="Insert before or after the given row/column.")
_ADJUST_IN = inp("adjust_references", "Adjust References", "Boolean", default=True,
                 description="Accepted for compatibility: formulas are not rewritten (see docs/engine.md).")


def _insert_at(ctx: NodeContext, base: int, amount_pin: str) -> tuple[int, int]:
    position = as_str(ctx.get("position"), "position")
    if position not in ("before", "after"):
        raise NodeError("input 'position' must be 'before' or 'after'")
    as_bool(ctx.get("adjust_references"), "adjust_references")
    return (base + 1 if position == "after" else base), max(1, as_int(ctx.get(amount_pin), amount_pin))


@register("files_spreadsheet_insert_row", "Insert Row(s)", _CAT, "Inserts empty rows, moving the rows below down.",
          [inp("exec_in", "Input", "Execution", description="Run the node."), _file_in(True),
           inp("sheet_name", "Sheet Name", "String", default="Sheet1", description="The worksheet's name."),
           inp("row", "Row", "Integer", default=1, description="The row to insert at, from 1."), _POSITION_IN,
           inp("num_rows", "Count", "Integer", default=1, description="How many rows (at least 1)."), _ADJUST_IN,
           out("exec_out", "Done", "Execution", description="Fires when inserted."),
           out("inserted", "Inserted", "Boolean", description="True once inserted."),
           out("final_row_index", "Final Row Index", "Integer", description="The first inserted row."),
           out("total_rows_inserted", "Total Inserted", "Integer", description="How many rows were inserted.")])
def files_spreadsheet_insert_row(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    row = as_int(ctx.get("row"), "row")
    if not 1 <= row <= _MAX_ROW:
        raise NodeError(f"input 'row' must be from 1 to {_MAX_ROW}, got {row}")
    at, amount = _insert_at(ctx, row, "num_rows")
    workbook = _Workbook(ctx)
    workbook.sheet(as_str(ctx.get("sheet_name"), "sheet_name")).insert_rows(at, amount)
    workbook.save()
    ctx.set("inserted", True)
    ctx.set("final_row_index", at)
    ctx.set("total_rows_inserted", amount)
    ctx.activate("exec_out")


@register("files_spreadsheet_insert_column", "Insert Column(s)", _CAT,
          "Inserts empty columns, moving the columns right of them further right.",
          [inp("exec_in", "Input", "Execution", description="Run the node."), _file_in(True),
           inp("sheet_name", "Sheet Name", "String", default="Sheet1", description="The worksheet's name."),
           inp("column", "Column", "String", default="A", description="Column letters (A, AA) or number."),
           _POSITION_IN, inp("num_columns", "Count", "Integer", default=1, description="How many columns (at least 1)."),
           _ADJUST_IN, out("exec_out", "Done", "Execution", description="Fires when inserted."),
           out("inserted", "Inserted", "Boolean", description="True once inserted."),
           out("final_column_index", "Final Index", "Integer", description="The first inserted column, from 1."),
           out("final_column_letter", "Final Letter", "String", description="The same column as letters."),
           out("total_columns_inserted", "Total Inserted", "Integer", description="How many columns were inserted.")])
def files_spreadsheet_insert_column(ctx: NodeContext) -> None:
    from openpyxl.utils import get_column_letter

    ctx.deactivate("exec_out")
    at, amount = _insert_at(ctx, _column(as_str(ctx.get("column"), "column"), "column"), "num_columns")
    workbook = _Workbook(ctx)
    workbook.sheet(as_str(ctx.get("sheet_name"), "sheet_name")).insert_cols(at, amount)
    workbook.save()
    ctx.set("inserted", True)
    ctx.set("final_column_index", at)
    ctx.set("final_column_letter", get_column_letter(min(at, _MAX_COL)))
    ctx.set("total_columns_inserted", amount)
    ctx.activate("exec_out")


# -- worksheets ------------------------------------------------------------------------------------

@register("files_spreadsheet_get_sheet_names", "Get Sheet Names", _CAT, "The workbook's sheet names, in order.",
          [_file_in(True), out("sheet_names", "Sheet Names", "String", "Array", description="The names."),
           out("count", "Count", "Integer", description="How many sheets.")])
def files_spreadsheet_get_sheet_names(ctx: NodeContext) -> None:
    names = _Workbook(ctx).book.sheetnames
    ctx.set("sheet_names", list(names))
    ctx.set("count", len(names))


def _if_exists(ctx: NodeContext) -> str:
    mode = as_str(ctx.get("if_exists"), "if_exists")
    if mode not in ("error", "skip", "rename"):
        raise NodeError("input 'if_exists' must be 'error', 'skip' or 'rename'")
    return mode


def _target_name(ctx: NodeContext, book, name: str, mode: str) -> str | None:
    """The name to create, or None to skip; NodeError when it exists and mode is 'error'."""
    if name not in book.sheetnames:
        return name
    if mode == "skip":
        ctx.log("Info", f"sheet '{name}' exists: nothing created")
        return None
    if mode == "rename":
        return _unique_sheet_name(book, name)
    raise NodeError(f"sheet '{name}' already exists")


@register("files_spreadsheet_new_worksheet", "New Worksheet", _CAT, "Adds an empty worksheet at the end.",
          [inp("exec_in", "Input", "Execution", description="Run the node."), _file_in(True),
           inp("sheet_name", "Sheet Name", "String", default="Sheet1", description="The new sheet's name."),
           inp("if_exists", "If Exists", "String", default="error", options={"valid_values": ["error", "skip", "rename"]},
               description="When the name is taken: fail, do nothing, or add ' (n)'."),
           out("exec_out", "Success", "Execution", description="Fires when done."),
           out("created", "Created", "Boolean", description="Whether a sheet was added."),
           out("final_name", "Final Name", "String", description="The sheet's name.")])
def files_spreadsheet_new_worksheet(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    name = _sheet_name(as_str(ctx.get("sheet_name"), "sheet_name"))
    mode = _if_exists(ctx)
    workbook = _Workbook(ctx, create=True)
    target = _target_name(ctx, workbook.book, name, mode)
    if target is not None:
        workbook.book.create_sheet(target)
        workbook.save()
    ctx.set("created", target is not None)
    ctx.set("final_name", target or name)
    ctx.activate("exec_out")


@register("files_spreadsheet_copy_worksheet", "Copy Worksheet", _CAT,
          "Copies a worksheet (cells, styles, sizes, merged cells) to a new sheet at the end.",
          [inp("exec_in", "Input", "Execution", description="Run the node."), _file_in(True),
           inp("source_sheet", "Source Sheet", "String", default="0", description="Sheet name, or its position from 0."),
           inp("new_name", "New Name", "String", default="", description="Empty for '<source> (copy)'."),
           inp("if_exists", "If Exists", "String", default="error", options={"valid_values": ["error", "rename", "skip"]},
               description="When the name is taken: fail, add ' (n)', or do nothing."),
           out("exec_out", "Done", "Execution", description="Fires when done."),
           out("copied", "Copied", "Boolean", description="Whether a copy was made."),
           out("source_name", "Source Name", "String", description="The copied sheet's name."),
           out("final_name", "Final Name", "String", description="The new sheet's name.")])
def files_spreadsheet_copy_worksheet(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ident = as_str(ctx.get("source_sheet"), "source_sheet").strip()
    mode = _if_exists(ctx)
    workbook = _Workbook(ctx)
    book = workbook.book
    if ident.isdigit():
        if int(ident) >= len(book.sheetnames):
            raise NodeError(f"sheet index {ident} out of range (the workbook has {len(book.sheetnames)} sheets)")
        source = book.worksheets[int(ident)]
    elif ident in book.sheetnames:
        source = book[ident]
    else:
        raise NodeError(f"sheet '{ident}' not found")
    new_name = as_str(ctx.get("new_name"), "new_name").strip() or f"{source.title} (copy)"
    name = _sheet_name(new_name)
    target = _target_name(ctx, book, name, mode)
    if target is not None:
        copy = book.copy_worksheet(source)
        copy.title = target
        workbook.save()
    ctx.set("copied", target is not None)
    ctx.set("source_name", source.title)
    ctx.set("final_name", target or name)
    ctx.activate("exec_out")


# -- tables ----------------------------------------------------------------------------------------

def _cell_json(value: Any) -> Any:
    """A CSVTable cell as Flow-Like serialises one: null, bool, number, text, or {iso, ms} for a date."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and set(value) == {"iso", "ms"}:
        return value
    raise NodeError("the table has a cell that is not null, a boolean, a number, text or a date")


@register("tables_get_row_by_index", "Get Row By Index", f"{_CAT}/Rows",
          "One row of a table as an object keyed by the headers (sorted), by its position from 1.",
          [inp("table", "Table", "Struct", options={"enforce_schema": True}, schema="CSVTable",
               description="A table (headers and rows)."),
           inp("row_index", "Row Index", "Integer", default=1, description="Position of the row, from 1."),
           out("row", "Row", "Struct", description="The row."),
           out("row_index", "Row Index", "Integer", description="The position read.")])
def tables_get_row_by_index(ctx: NodeContext) -> None:
    table = as_map(ctx.get("table"), "table")
    headers, rows = table.get("headers"), table.get("rows")
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers) or not isinstance(rows, list):
        raise NodeError("input 'table' must have 'headers' (strings) and 'rows' (arrays of cells)")
    position = as_int(ctx.get("row_index"), "row_index")
    if position < 1:
        raise NodeError(f"input 'row_index' must be at least 1, got {position}")
    if position > len(rows):
        raise NodeError(f"row_index {position} out of range (the table has {len(rows)} rows)")
    row = rows[position - 1]
    if not isinstance(row, list):
        raise NodeError(f"row {position} of the table is not an array of cells")
    values = {header: _cell_json(row[i]) if i < len(row) else None for i, header in enumerate(headers)}
    ctx.set("row", dict(sorted(values.items())))
    ctx.set("row_index", position)


# -- tables found in a sheet ---------------------------------------------------------------------
# A sheet often holds several tables, titles, notes and totals. Extract Tables finds the tables
# the way Flow-Like's extractor does: rows and columns that are (almost) empty cut the sheet into
# rectangles, each rectangle's header rows are flattened into names (units and multi-row headers
# joined), totals are dropped, and tables with the same header are joined.

EXTRACT_DEFAULTS: dict[str, Any] = {
    "delimiter": 44, "crlf": False, "bom": False, "csv_injection_hardening": True,
    "empty_density_threshold": 0.05, "gap_break_rows": 2, "gap_break_cols": 2,
    "allow_internal_blank_rows": 1, "allow_internal_blank_cols": 1, "min_table_cells": 8,
    "max_header_rows": 3, "max_left_header_cols": 3, "header_joiner": " / ", "drop_totals": True,
    "stitch_across_spacers": True, "stitch_type_sample_rows": 16, "stitch_min_type_match_ratio": 0.8,
    "stitch_min_col_overlap": 0.7, "group_similar_headers": True, "header_merge_threshold": 0.97,
    "schema_sample_rows": 25, "min_body_consistency": 0.6, "enable_merges": True,
    "max_merge_map_cells": 2_000_000, "take_cells_on_extract": True, "huge_cells_threshold": 20_000_000,
    "huge_cap_rows": 100_000, "huge_schema_sample_rows": 6, "output_mode": "InMemory",
}
_TOTALS = re.compile(r"^\s*(total|summe|subtotal|gesamt)\b", re.IGNORECASE)
_UNITS = {"%", "‰", "€", "$", "¥", "£", "kg", "g", "t", "h", "m", "s", "km", "cm", "mm", "pcs", "stk", "l", "ml"}
MAX_GRID_CELLS = 5_000_000  # a sheet is read whole into memory: refuse what would not fit


def _extract_config(value: Any, pin: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The config on ``pin`` over the defaults; each given field must have the default's type."""
    config = dict(defaults)
    if value is None:
        return config
    if not isinstance(value, dict):
        raise NodeError(f"input '{pin}' must be an object")
    for key, given in value.items():
        if key not in defaults:
            continue
        default = defaults[key]
        number = isinstance(default, (int, float)) and not isinstance(default, bool)
        if (isinstance(default, bool) and not isinstance(given, bool)) or (
                number and (isinstance(given, bool) or not isinstance(given, (int, float)) or given < 0
                            or (isinstance(default, int) and not isinstance(given, int)))) or (
                isinstance(default, str) and not isinstance(given, str)):
            raise NodeError(f"input '{pin}': '{key}' must be {type(default).__name__}, like {default!r}")
        config[key] = given
    return config


def _sheet_grid(book, name: str) -> list[list[str]]:
    """The sheet as rows of text, merged cells filled down their first column (as Flow-Like reads them)."""
    sheet = book[name]
    if sheet.max_row * sheet.max_column > MAX_GRID_CELLS:
        raise NodeError(f"sheet '{name}' spans {sheet.max_row} × {sheet.max_column} cells; "
                        f"at most {MAX_GRID_CELLS} are read")
    grid = [[_value_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    width = max((len(row) for row in grid), default=0)
    grid = [row + [""] * (width - len(row)) for row in grid]
    for merged in sheet.merged_cells.ranges:
        r0, c0, r1, c1 = merged.min_row - 1, merged.min_col - 1, merged.max_row - 1, merged.max_col - 1
        if r0 >= len(grid) or c0 >= width:
            continue
        anchor = grid[r0][c0]
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                grid[r][c] = anchor if c == c0 else ""
    return grid


def _cuts(counts: list[int], total: int, threshold: float, gap: int) -> list[tuple[int, int]]:
    """Inclusive (start, end) runs of non-empty lines, split at ``gap`` consecutive empty ones."""
    def empty(i: int) -> bool:
        return (counts[i] / total if total else 0.0) <= threshold

    runs, i = [], 0
    while i < len(counts):
        while i < len(counts) and empty(i):
            i += 1
        if i >= len(counts):
            break
        start = end = i
        blanks = 0
        while i < len(counts):
            if empty(i):
                blanks += 1
                if blanks >= gap:
                    break
            else:
                blanks, end = 0, i
            i += 1
        runs.append((start, end))
    return runs or [(0, max(0, len(counts) - 1))]


def _row_kinds(row: list[str]) -> tuple[float, float, int]:
    """(share of cells with letters, share of purely numeric cells, non-empty cells) of a row."""
    alpha = numeric = filled = 0
    for cell in row:
        text = cell.strip()
        if not text:
            continue
        filled += 1
        letters = any(ch.isascii() and ch.isalpha() for ch in text)
        alpha += letters
        numeric += any(ch.isdigit() for ch in text) and not letters
    width = max(1, len(row))
    return alpha / width, numeric / width, filled


def _normal(text: str) -> str:
    return "".join(ch.lower() for ch in text if not ch.isspace())


def _banner_rows(block: list[list[str]]) -> int:
    """Title rows on top of a rectangle (one filled cell in a row at least three wide), at most two."""
    skip = 0
    while skip < min(2, len(block) - 1) and len(block[0]) >= 3 and sum(1 for c in block[skip] if c.strip()) == 1:
        skip += 1
    return skip


def _kind(text: str) -> str | None:
    """The kind of a cell for the schema check: bool, date, number or text (None when empty)."""
    text = text.strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return "bool"
    if (len(text) >= 10 and text[4] == "-" and text[7] == "-") or (len(text) >= 19 and text[10] == "T"):
        return "date"
    try:
        float(text)
    except ValueError:
        return "text"
    return "number"


def _schema_fit(body: list[list[str]], config: dict[str, Any]) -> float:
    """How consistent the columns of the rows below a candidate header are (0 to 1)."""
    sample = body[:config["schema_sample_rows"]]
    if not sample:
        return 0.0
    shares = []
    for column in range(len(sample[0])):
        kinds = [k for k in (_kind(row[column]) for row in sample) if k]
        if kinds:
            shares.append(max(kinds.count(k) for k in set(kinds)) / len(kinds))
    good = [share for share in shares if share >= config["min_body_consistency"]]
    if not shares:
        return 0.0
    return 0.7 * len(good) / len(shares) + 0.3 * (sum(good) / len(good) if good else 0.0)


def _header_depth(rows: list[list[str]], config: dict[str, Any]) -> int:
    """How many of ``rows`` (below the banners) are header rows: the depth whose body below has the most
    consistent column kinds, text-like header rows preferred slightly (as Flow-Like scores it); when no
    depth fits, the rows that are mostly text. At least one."""
    best, best_score = 1, -1.0
    for depth in range(1, min(config["max_header_rows"], len(rows)) + 1):
        if depth >= len(rows):
            break
        kinds = [_row_kinds(row) for row in rows[:depth]]
        textish = sum(max(0.0, alpha - numeric) for alpha, numeric, filled in kinds if filled) / depth
        score = _schema_fit(rows[depth:], config) + 0.15 * textish
        if score > best_score:
            best, best_score = depth, score
    if best_score >= 0.05:
        return best
    depth = 0
    for row in rows[:config["max_header_rows"]]:
        alpha, numeric, filled = _row_kinds(row)
        if not filled or alpha < 0.6 or numeric > 0.3:
            break
        depth += 1
    return max(1, depth)


def _headers(header_rows: list[list[str]], config: dict[str, Any]) -> list[str]:
    """One name per column: its header cells (lines of a cell too) joined by the joiner."""
    joiner = config["header_joiner"]
    names = []
    for column in range(len(header_rows[0])):
        parts = [joiner.join(p.strip() for p in row[column].replace("\r", "").split("\n") if p.strip())
                 for row in header_rows]
        names.append(joiner.join(p for p in parts if p))
    return names


def _unit_row(row: list[str], width: int) -> bool:
    cells = [c.strip() for c in row[:width] if c.strip()]
    tokens = sum(1 for c in cells if (len(c) <= 5 and not any(ch.isspace() for ch in c)) or c.lower() in _UNITS)
    return bool(cells) and tokens * 2 >= len(cells)


def _table(block: list[list[str]], config: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    skip = _banner_rows(block)
    header_end = skip + _header_depth(block[skip:], config)
    headers = _headers(block[skip:header_end], config)
    if any(h.strip() for h in headers):
        while headers and not headers[-1].strip():
            headers.pop()
    width = len(headers)
    data = block[header_end:]
    if data and _unit_row(data[0], width):
        units, data = data[0], data[1:]
        headers = [f"{h} [{u.strip()}]" if h.strip() and u.strip() else (u.strip() or h)
                   for h, u in zip(headers, units + [""] * width)]
    seen: dict[str, int] = {}
    for position, name in enumerate(headers):
        base = name.strip() or "Column"
        seen[base] = seen.get(base, 0) + 1
        headers[position] = base if seen[base] == 1 or base == "Column" else f"{base} ({seen[base]})"
    rows, blanks = [], 0
    for raw in data:
        row = (raw[:width] + [""] * width)[:width]
        if not any(c.strip() for c in row):
            blanks += 1
            if blanks > config["allow_internal_blank_rows"]:
                break
            continue
        blanks = 0
        if [_normal(c) for c in row] == [_normal(h) for h in headers]:
            continue  # the header repeated inside the body
        if config["drop_totals"] and _TOTALS.match(row[0]):
            continue
        rows.append(row)
    if config["drop_totals"] and headers and _TOTALS.match(headers[-1]):
        headers.pop()
        rows = [row[:-1] for row in rows]
    return _dedup_columns(headers, rows)


def _dedup_columns(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Drop a column equal to an earlier one in its values, with a header differing only by ' (n)'."""
    seen, keep = set(), []
    for position, name in enumerate(headers):
        signature = (re.sub(r" \(\d+\)$", "", name.strip()).lower(), tuple(row[position] for row in rows))
        if signature not in seen:
            seen.add(signature)
            keep.append(position)
    return [headers[i] for i in keep], [[row[i] for i in keep] for row in rows]


def _similar_headers(a: list[str], b: list[str]) -> float:
    import jellyfish

    width = min(len(a), len(b))
    return sum(jellyfish.jaro_winkler_similarity(x.lower(), y.lower()) for x, y in zip(a, b)) / width if width else 0.0


def extract_sheet_tables(grid: list[list[str]], config: dict[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    height, width = len(grid), len(grid[0]) if grid else 0
    if height < 2 or width < 2:
        return []
    filled = [[bool(c.strip()) for c in row] for row in grid]
    threshold = config["empty_density_threshold"]
    row_runs = _cuts([sum(row) for row in filled], width, threshold, config["gap_break_rows"])
    col_runs = _cuts([sum(row[c] for row in filled) for c in range(width)], height, threshold,
                     config["gap_break_cols"])
    found = []
    for r0, r1 in row_runs:
        for c0, c1 in col_runs:
            block = [row[c0:c1 + 1] for row in grid[r0:r1 + 1]]
            if sum(1 for row in block for c in row if c.strip()) < max(1, config["min_table_cells"]):
                continue
            headers, rows = _table(block, config)
            if headers or rows:
                found.append(((r0, c0), headers, rows))
    found.sort(key=lambda item: item[0])
    tables: list[tuple[list[str], list[list[str]]]] = []
    for _place, headers, rows in found:
        if config["group_similar_headers"]:
            match = next((t for t in tables if min(len(t[0]), len(headers)) / max(len(t[0]), len(headers), 1) >= 0.9
                          and any(h.strip() for h in headers)
                          and _similar_headers(t[0], headers) >= config["header_merge_threshold"]), None)
            if match is not None:
                match[1].extend((row + [""] * len(match[0]))[:len(match[0])] for row in rows)
                continue
        tables.append((headers, rows))
    return tables


def _sheets(book, wanted: str) -> list[str]:
    if not wanted.strip():
        return list(book.sheetnames)
    if wanted not in book.sheetnames:
        raise NodeError(f"sheet '{wanted}' not found (the workbook has {', '.join(book.sheetnames)})")
    return [wanted]


def _csv_tables(file: Any, sheet: str, tables: list[tuple[list[str], list[list[str]]]],
                names: list[str | None] | None = None) -> list[dict[str, Any]]:
    return [{"headers": headers, "rows": rows, "source": file,
             "name": f"{sheet}_{(names[i] if names and names[i] else i + 1)}"}
            for i, (headers, rows) in enumerate(tables)]


def _values_book(ctx: NodeContext):
    workbook = _Workbook(ctx)
    return workbook.cached_values()


@register("data_excel_extract_tables", "Extract Tables (Excel)", _CAT,
          "Finds the tables in a sheet (or every sheet): separated by empty rows and columns, with their "
          "header rows flattened into column names and totals dropped.",
          [inp("exec_in", "Input", "Execution", description="Extract."), _file_in(True),
           inp("sheet", "Sheet", "String", default="", description="The sheet; empty for every sheet."),
           inp("extract_config", "Extract Config", "Struct", options={"enforce_schema": True}, schema="ExtractConfig",
               description="Detection settings (optional; unset fields keep their defaults)."),
           out("exec_out", "Output", "Execution", description="Fires once extracted."),
           out("tables", "Tables", "Struct", "Array", schema="CSVTable", description="The tables found, named sheet_n.")])
def data_excel_extract_tables(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    try:
        raw_config = ctx.get("extract_config")
    except NodeError:  # unset: Flow-Like's defaults
        raw_config = None
    config = _extract_config(raw_config, "extract_config", EXTRACT_DEFAULTS)
    sheet = as_str(ctx.get("sheet"), "sheet")
    book = _values_book(ctx)
    tables = []
    for name in _sheets(book, sheet):
        ctx.checkpoint()
        tables += _csv_tables(ctx.get("file"), name, extract_sheet_tables(_sheet_grid(book, name), config))
    ctx.set("tables", tables)
    ctx.activate("exec_out")


AI_EXTRACT_DEFAULTS: dict[str, Any] = {"sample_rows": 15, "sample_cols": 20, "include_statistics": True,
                                       "detect_merged_regions": True}
_STRATEGY_TOOL = {"type": "function", "function": {
    "name": "submit_extraction_strategy",
    "description": "Submit where the sheet's tables are; a sheet may hold several tables.",
    "parameters": {"type": "object", "required": ["tables", "reasoning"], "additionalProperties": False, "properties": {
        "tables": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["header_row", "data_start_row", "start_column", "skip_rows"],
            "additionalProperties": False, "properties": {
                "table_name": {"type": ["string", "null"], "description": "A short name for the table."},
                "header_row": {"type": "integer", "description": "0-based row of the column headers."},
                "data_start_row": {"type": "integer", "description": "0-based first data row."},
                "data_end_row": {"type": ["integer", "null"], "description": "0-based row after the last data row; null: to the end."},
                "start_column": {"type": "integer", "description": "0-based first column."},
                "end_column": {"type": ["integer", "null"], "description": "0-based column after the last one; null: to the end."},
                "skip_rows": {"type": "array", "items": {"type": "integer"}, "description": "0-based rows to leave out (totals, section titles)."},
                "header_names": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Column names to use instead of the sheet's."}}}},
        "reasoning": {"type": "string", "description": "Why these tables, briefly."}}}}}
_STRATEGY_SYSTEM = (
    "You find the tables in spreadsheet sheets with irregular layouts. You get a sample of a sheet (row and "
    "column numbers start at 0) and answer by calling 'submit_extraction_strategy' with every table in it. "
    "A sheet may hold several tables, stacked or side by side, separated by empty rows or columns or by "
    "section titles. For each table find the header row, the first and last data rows, the columns it spans, "
    "and the rows inside it to leave out (subtotals, totals, section titles); title or note rows above a "
    "table are not part of it; headers may span several rows or be missing (then give header names). Name "
    "each table by its purpose when you can, and explain your reasoning briefly.")


def _sample(grid: list[list[str]], config: dict[str, Any]) -> str:
    rows, cols = min(config["sample_rows"], len(grid)), min(config["sample_cols"], len(grid[0]) if grid else 0)
    lines = [f"Sheet size: {len(grid)} rows × {len(grid[0]) if grid else 0} columns",
             f"Sample: the first {rows} rows × {cols} columns", ""]
    empty_rows, header_like, numeric, text = [], [], [], []
    for r in range(rows):
        cells = [grid[r][c][:50] for c in range(cols)]
        shown = [(c if len(c) <= 15 else c[:14] + "…").ljust(15) for c in cells]
        lines.append(f"Row {r:>3}: " + " | ".join(shown))
        filled = [c for c in cells if c.strip()]
        if not filled:
            empty_rows.append(r)
        elif sum(1 for c in filled if not _numeric(c)) > cols // 2:
            header_like.append(r)
    for c in range(cols):
        values = [grid[r][c] for r in range(rows) if grid[r][c].strip()]
        numbers = sum(1 for v in values if _numeric(v))
        if numbers > len(values) - numbers and numbers:
            numeric.append(c)
        elif values:
            text.append(c)
    if config["include_statistics"]:
        lines += ["", "Statistics:", f"- empty rows in the sample: {empty_rows}",
                  f"- rows that look like headers (mostly text): {header_like}",
                  f"- columns mostly numeric: {numeric}", f"- columns mostly text: {text}"]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    cleaned = text.strip().replace(",", "").replace("%", "").replace("$", "").replace("€", "")
    try:
        float(cleaned)
    except ValueError:
        return False
    return True


def _apply_spec(grid: list[list[str]], spec: Any) -> tuple[str | None, list[str], list[list[str]]] | None:
    """(name, headers, rows) the model's table spec selects; None when the spec is malformed."""
    def index(key: str, optional: bool = False) -> int | None:
        value = spec.get(key)
        if value is None and optional:
            return None
        if type(value) is not int or value < 0:
            raise ValueError(key)
        return value

    height, width = len(grid), len(grid[0]) if grid else 0
    try:
        if not isinstance(spec, dict):
            raise ValueError("spec")
        header_row, data_start = min(index("header_row"), max(0, height - 1)), min(index("data_start_row"), height)
        end_row = index("data_end_row", True)
        start_col = min(index("start_column"), max(0, width - 1))
        end_col = index("end_column", True)
        skip = spec.get("skip_rows") or []
        custom = spec.get("header_names")
        if not isinstance(skip, list) or not all(type(r) is int for r in skip):
            raise ValueError("skip_rows")
        if custom is not None and not (isinstance(custom, list) and all(isinstance(h, str) for h in custom)):
            raise ValueError("header_names")
        name = spec.get("table_name") if isinstance(spec.get("table_name"), str) else None
    except ValueError:
        return None
    end_row = height if end_row is None else min(end_row, height)
    end_col = width if end_col is None else min(end_col, width)
    headers = list(custom) if custom is not None else (grid[header_row][start_col:end_col] if height else [])
    if custom is None and not any(h.strip() for h in headers):
        headers = [f"Column_{i + 1}" for i in range(start_col, end_col)]
    skipped = set(skip)
    rows = []
    for r in range(data_start, end_row):
        row = grid[r][start_col:end_col]
        if r not in skipped and any(c.strip() for c in row):
            rows.append(row + [""] * (len(headers) - len(row)))
    return name, headers, rows


@register("data_excel_extract_tables_ai", "Extract Tables AI (Excel)", _CAT,
          "Has the model find the tables in each sheet from a sample of it, then reads them out.",
          [inp("exec_in", "Input", "Execution", description="Extract."),
           inp("model", "Model", "Struct", options={"enforce_schema": True}, schema="Bit", description="The model Bit."),
           _file_in(True), inp("sheet", "Sheet", "String", default="", description="The sheet; empty for every sheet."),
           inp("user_hint", "User Hint", "String", default="", description="What you know about the layout (optional)."),
           inp("config", "Config", "Struct", options={"enforce_schema": True}, schema="AIExtractionConfig",
               description="Sample size and statistics (optional)."),
           out("exec_out", "Output", "Execution", description="Fires once extracted."),
           out("tables", "Tables", "Struct", "Array", schema="CSVTable", description="The tables, named sheet_name."),
           out("reasoning", "Reasoning", "String", description="The model's reasoning, per sheet.")],
          long_running=True)
def data_excel_extract_tables_ai(ctx: NodeContext) -> None:
    from ...nodes.ai.generative import _forced_call, _one_shot

    ctx.deactivate("exec_out")
    try:
        raw_config = ctx.get("config")
    except NodeError:
        raw_config = None
    config = _extract_config(raw_config, "config", AI_EXTRACT_DEFAULTS)
    hint = as_str(ctx.get("user_hint"), "user_hint").strip()
    system = _STRATEGY_SYSTEM + (f"\n\nWhat the user says about the sheet: {hint}" if hint else "")
    book = _values_book(ctx)
    tables, reasoning = [], []
    for name in _sheets(book, as_str(ctx.get("sheet"), "sheet")):
        grid = _sheet_grid(book, name)
        if not grid or not grid[0]:
            reasoning.append(f"Sheet '{name}': empty, skipped")
            continue
        strategy = _forced_call(ctx, _one_shot(system, f"Find the tables of sheet '{name}' in this sample:\n\n"
                                                       + _sample(grid, config)), _STRATEGY_TOOL)
        specs = strategy.get("tables")
        chosen = [_apply_spec(grid, spec) for spec in specs] if isinstance(specs, list) and specs else [None]
        if None in chosen:
            reasoning.append(f"Sheet '{name}': the model did not return a valid extraction strategy")
            continue
        why = strategy.get("reasoning")
        reasoning.append(f"Sheet '{name}': {why if isinstance(why, str) else ''}")
        tables += _csv_tables(ctx.get("file"), name, [(h, r) for _n, h, r in chosen], [n for n, _h, _r in chosen])
    ctx.set("tables", tables)
    ctx.set("reasoning", "\n\n".join(reasoning))
    ctx.activate("exec_out")
