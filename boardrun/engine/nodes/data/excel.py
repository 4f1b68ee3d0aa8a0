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
# A workbook is a zip of XML: refuse one that would inflate far beyond the file size cap.
_INFLATE_FACTOR = 10
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
    import zipfile

    import openpyxl

    limit = len(data) * _INFLATE_FACTOR + 16 * 1024 * 1024
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise NodeError("the workbook inflates to far more than its file size: refused")
        return openpyxl.load_workbook(io.BytesIO(data), data_only=data_only, rich_text=not data_only)
    except NodeError:
        raise
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


def _cell_text(cell: Any, value: Any) -> str:
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
    text = str(value)
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
