"""Data/Excel nodes on real .xlsx files (openpyxl) in the app's folder: local and S3 (moto)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText

from boardrun.engine.files import FileServices, flow_path
import files_testkit
from engine_testkit import DEFINITIONS, BoardBuilder, run_pure

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name

BOOK = flow_path("dirs__storage", "book.xlsx")
KEY = "apps/app1/files/storage/book.xlsx"


@pytest.fixture
def files(storage):
    return FileServices.from_storage(storage, "app1", "user1")


def put_book(storage, build) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    build(book)
    buffer = io.BytesIO()
    book.save(buffer)
    storage.put(KEY, buffer.getvalue())


def get_book(storage, **kwargs):
    return openpyxl.load_workbook(io.BytesIO(storage.get(KEY)), **kwargs)


def run_node(files, node_name, outputs=(), **inputs):
    """Run start -> node -> push each named output into a list -> return the list (node's exec out first)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    has_exec = any(pin["name"] == "exec_in" for pin in DEFINITIONS[node_name]["pins"].values())
    node = b.add(node_name, file=BOOK, **inputs)
    var = b.variable("out", [], data_type="Generic")
    pushes = [b.add("array_push_ref", var_ref=var) for _ in outputs]
    for push, name in zip(pushes, outputs):
        b.connect(node, name, push, "value")
    ret = b.add("events_generic_return_result")
    get = b.add("variable_get", var_ref=var)
    b.connect(get, "value_ref", ret, "response")
    b.chain(*([start, node] if has_exec else [start]), *pushes, ret)
    return b.run(start, files=files)


def ok(result):
    assert result.status == "completed", result
    return result.result


def fails(result, text):
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error


def test_write_then_read_cells(files, storage):
    """Written cells read back; a new file becomes a workbook with Sheet1 plus the named sheet."""
    ok(run_node(files, "excel_write_cell", sheet="Data", row="2", col="C", value="hello"))
    ok(run_node(files, "excel_write_cell", sheet="Data", row="3", col="27", value="wide"))
    book = get_book(storage)
    assert book.sheetnames == ["Sheet1", "Data"] and book["Data"]["C2"].value == "hello"
    assert book["Data"]["AA3"].value == "wide"
    assert ok(run_node(files, "excel_read_cell", ["value", "found", "file_out"], sheet="Data", row="2", col="c")) == [
        "hello", True, BOOK]
    assert ok(run_node(files, "excel_read_cell", ["value", "found"], sheet="Data", row="9", col="A")) == ["", False]
    assert ok(run_node(files, "excel_read_cell", ["value", "found"], sheet="Nope")) == ["", False]


def test_read_cell_formats_values(files, storage):
    """Numbers, booleans, dates, links and formulas (their cached value, else the formula) read as text."""
    from datetime import datetime

    def build(book):
        ws = book["Sheet1"]
        ws["A1"], ws["A2"], ws["A3"], ws["A4"] = 3.0, 2.5, True, datetime(2026, 1, 2, 3, 4, 5)
        ws["A5"] = "site"
        ws["A5"].hyperlink = "https://example.com/"
        ws["A6"] = "=1+1"
    put_book(storage, build)
    values = [ok(run_node(files, "excel_read_cell", ["value"], row=str(r)))[0] for r in range(1, 7)]
    assert values == ["3", "2.5", "TRUE", "2026-01-02T03:04:05", "[site](https://example.com/)", "=1+1"]


def test_write_cell_html_makes_rich_text(files, storage):
    """HTML becomes rich-text runs (bold, italic, colour) in a wrapped cell."""
    ok(run_node(files, "excel_write_cell_html", value='a <b>bold</b> <font color="#FF0000">red</font><br>x'))
    cell = get_book(storage, rich_text=True)["Sheet1"]["A1"]
    assert isinstance(cell.value, CellRichText) and str(cell.value) == "a bold red\nx"
    bold = [block for block in cell.value if getattr(block, "text", None) == "bold"][0]
    red = [block for block in cell.value if getattr(block, "text", None) == "red"][0]
    assert bold.font.b and red.font.color.rgb == "FFFF0000" and cell.alignment.wrap_text


def test_insert_and_remove_rows_and_columns(files, storage):
    """Rows and columns shift as inserted or removed; the outputs name where."""
    def build(book):
        ws = book["Sheet1"]
        for r in range(1, 4):
            for c in range(1, 4):
                ws.cell(r, c, f"{r}{c}")
    put_book(storage, build)
    assert ok(run_node(files, "files_spreadsheet_insert_row", ["inserted", "final_row_index", "total_rows_inserted"],
                       row=1, position="after", num_rows=2)) == [True, 2, 2]
    assert [c.value for c in get_book(storage)["Sheet1"]["A"]] == ["11", None, None, "21", "31"]
    assert ok(run_node(files, "files_spreadsheet_insert_column", ["final_column_index", "final_column_letter"],
                       column="B", num_columns=0)) == [2, "B"]
    assert [c.value for c in get_book(storage)["Sheet1"][1]] == ["11", None, "12", "13"]
    ok(run_node(files, "excel_remove_column", col="B"))
    ok(run_node(files, "excel_remove_row", row="2", count="2"))
    ws = get_book(storage)["Sheet1"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [["11", "12", "13"], ["21", "22", "23"],
                                                                  ["31", "32", "33"]]


def test_worksheets_new_copy_and_names(files, storage):
    """New and Copy Worksheet follow if_exists (error, skip, rename); sheet names list in order."""
    put_book(storage, lambda book: book["Sheet1"].__setitem__("A1", "src"))
    assert ok(run_node(files, "files_spreadsheet_new_worksheet", ["created", "final_name"], sheet_name="Q1: [x]")) == [
        True, "Q1 x"]
    fails(run_node(files, "files_spreadsheet_new_worksheet", sheet_name="Q1 x"), "already exists")
    assert ok(run_node(files, "files_spreadsheet_new_worksheet", ["created", "final_name"], sheet_name="Q1 x",
                       if_exists="skip")) == [False, "Q1 x"]
    assert ok(run_node(files, "files_spreadsheet_new_worksheet", ["final_name"], sheet_name="Q1 x",
                       if_exists="rename")) == ["Q1 x (1)"]
    assert ok(run_node(files, "files_spreadsheet_copy_worksheet", ["copied", "source_name", "final_name"])) == [
        True, "Sheet1", "Sheet1 (copy)"]
    assert get_book(storage)["Sheet1 (copy)"]["A1"].value == "src"
    fails(run_node(files, "files_spreadsheet_copy_worksheet", source_sheet="9"), "out of range")
    assert ok(run_node(files, "files_spreadsheet_get_sheet_names", ["sheet_names", "count"])) == [
        ["Sheet1", "Q1 x", "Q1 x (1)", "Sheet1 (copy)"], 4]


@pytest.mark.parametrize("node,inputs,text", [
    ("excel_read_cell", {"row": "0"}, "'row' must be a row number"),
    ("excel_read_cell", {"col": "A1"}, "'col' must be a column"),
    ("excel_read_cell", {"col": "XFE"}, "'col' must be a column"),
    ("excel_remove_row", {"count": "0"}, "'count' must be a whole number"),
    ("files_spreadsheet_insert_row", {"sheet_name": "Nope"}, "sheet 'Nope' not found"),
    ("files_spreadsheet_insert_row", {"row": 0}, "'row' must be from 1"),
    ("files_spreadsheet_insert_column", {"position": "middle"}, "'position' must be"),
    ("files_spreadsheet_new_worksheet", {"sheet_name": "[]"}, "not a usable sheet name"),
])
def test_bad_settings_fail_the_node(files, storage, node, inputs, text):
    """Bad rows, columns, counts, sheet names and positions fail the node with a clear message."""
    put_book(storage, lambda book: None)
    fails(run_node(files, node, **inputs), text)


@pytest.mark.parametrize("content,text", [(b"not a zip", "not a readable .xlsx"), (b"PK\x03\x04broken", "not a readable")])
def test_broken_or_missing_workbooks_fail(files, storage, content, text):
    """A file that is not an .xlsx workbook, or a missing one for a reading node, fails the node."""
    storage.put(KEY, content)
    fails(run_node(files, "excel_read_cell"), text)
    fails(run_node(files, "excel_write_cell", value="x"), text)
    storage.delete(KEY)
    fails(run_node(files, "files_spreadsheet_get_sheet_names", ["count"]), "file not found")


def test_zip_bomb_is_refused(files, storage):
    """A workbook whose XML inflates far beyond its size is refused before it is parsed."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (40 * 1024 * 1024))
    storage.put(KEY, buffer.getvalue())
    fails(run_node(files, "excel_read_cell"), "inflates")


@pytest.mark.parametrize("table,index,expected", [
    ({"headers": ["b", "a"], "rows": [[1, "x"], [None, {"iso": "2026-01-01T00:00:00", "ms": 1767225600000}]]}, 2,
     {"a": {"iso": "2026-01-01T00:00:00", "ms": 1767225600000}, "b": None}),
    ({"headers": ["a", "b"], "rows": [[True]]}, 1, {"a": True, "b": None}),
])
def test_get_row_by_index(table, index, expected):
    """A row comes out keyed by header (sorted), short rows padded with null."""
    result = run_pure("tables_get_row_by_index", "row", table=table, row_index=index)
    assert result.status == "completed", result
    assert result.result == expected


@pytest.mark.parametrize("table,index,text", [
    ({"headers": ["a"], "rows": [[1]]}, 2, "out of range"),
    ({"headers": ["a"], "rows": [[1]]}, 0, "at least 1"),
    ({"headers": "a", "rows": []}, 1, "must have 'headers'"),
    ({"headers": ["a"], "rows": [[[1]]]}, 1, "not null, a boolean"),
])
def test_get_row_by_index_rejects_bad_tables(table, index, text):
    """Out-of-range positions and malformed tables fail the node."""
    fails(run_pure("tables_get_row_by_index", "row", table=table, row_index=index), text)
