"""Data/Excel table extraction on real .xlsx workbooks (openpyxl) in the app's folder: the heuristic
extractor, and the AI variant against a real OpenAI-protocol server."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest

import ai_testkit
from ai_testkit import load_bit
from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder, failure_of, value_of

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name
BOOK = flow_path("dirs__storage", "book.xlsx")


@pytest.fixture
def files(tmp_path):
    return FileServices.local(tmp_path, "app1", "user1")


def put_book(files, build) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Report"
    build(book)
    buffer = io.BytesIO()
    book.save(buffer)
    files.write(files.locate(BOOK, "file"), buffer.getvalue())


def report(book) -> None:
    """A title, a table with a two-row header (merged group cell), a units row and a total; two empty rows;
    a second table; and on another sheet a table split in two by blank rows (same header)."""
    sheet = book.active
    sheet["A1"] = "Quarterly report"
    sheet.append([])
    sheet.append(["Region", "Sales", None])
    sheet.append([None, "Q1", "Q2"])
    sheet.merge_cells("B3:C3")
    sheet.append([None, "€", "€"])
    sheet.append(["North", 10, 12.5])
    sheet.append(["South", 7, datetime(2024, 5, 1, 8, 30)])
    sheet.append(["Total", 17, 19.5])
    sheet.append([])
    sheet.append([])
    sheet.append(["Owner", "Team", "Phone"])
    sheet.append(["Ann Lee", "Operations", "555-0123"])
    sheet.append(["Bob Day", "Development", "555-0456"])
    other = book.create_sheet("Log")
    for row in (["Date", "Event", "By"], ["d1", "started", "Ann Lee"], ["d2", "stopped", "Bo Li"], [], [], [],
                ["Date", "Event", "By"], ["d3", "restarted", "Cy Ng"], ["d4", "finished", "Di Ro"]):
        other.append(row)


def extract(services, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    run = b.add("data_excel_extract_tables", file=BOOK, **inputs)
    b.connect(start, "exec_out", run, "exec_in")
    ret = b.add("events_generic_return_result")
    b.connect(run, "exec_out", ret, "exec_in")
    b.connect(run, "tables", ret, "response")
    return b.run(start, files=services)


def test_tables_are_found_with_flattened_headers(files):
    """Banner skipped, header rows joined (a merged group names only its first column), units merged into
    names, the totals row dropped, dates as ISO text, tables named sheet_n with the file as source; the
    Log sheet's two blocks with the same header are one table."""
    put_book(files, report)
    tables = value_of(extract(files))
    assert [t["name"] for t in tables] == ["Report_1", "Report_2", "Log_1"]
    first, second, log = tables
    assert first["headers"] == ["Region", "Sales / Q1 [€]", "Q2 [€]"]
    assert first["rows"] == [["North", "10", "12.5"], ["South", "7", "2024-05-01T08:30:00"]]
    assert first["source"] == BOOK
    assert second == {"headers": ["Owner", "Team", "Phone"],
                      "rows": [["Ann Lee", "Operations", "555-0123"], ["Bob Day", "Development", "555-0456"]],
                      "source": BOOK, "name": "Report_2"}
    assert log["headers"] == ["Date", "Event", "By"] and [r[0] for r in log["rows"]] == ["d1", "d2", "d3", "d4"]


def test_config_changes_the_detection(files):
    """Keeping totals, not joining similar tables, and one sheet only; unset fields keep their defaults."""
    put_book(files, report)
    (report_1, _second) = value_of(extract(files, sheet="Report", extract_config={"drop_totals": False}))
    assert report_1["rows"][-1] == ["Total", "17", "19.5"]
    logs = value_of(extract(files, sheet="Log", extract_config={"group_similar_headers": False}))
    assert [t["name"] for t in logs] == ["Log_1", "Log_2"]
    small = value_of(extract(files, sheet="Log", extract_config={"min_table_cells": 100}))
    assert small == []


@pytest.mark.parametrize("inputs, message", [
    ({"sheet": "Nope"}, "sheet 'Nope' not found (the workbook has Report, Log)"),
    ({"extract_config": {"gap_break_rows": "two"}}, "'gap_break_rows' must be int"),
    ({"extract_config": [1]}, "input 'extract_config' must be an object"),
])
def test_bad_inputs(files, inputs, message):
    put_book(files, report)
    failure_of(extract(files, **inputs), message)


def test_missing_and_broken_files(files):
    failure_of(extract(files), "not found")
    files.write(files.locate(BOOK, "file"), b"PK\x03\x04 broken")
    failure_of(extract(files), "the file is not a readable .xlsx workbook")


def ai_sheet(book) -> None:
    sheet = book.active
    for row in (["Sales report"], ["Product", "Units", "Note"], ["Tea", 3, "x"], ["Coffee", 5, "y"],
                ["Subtotal", 8, ""], [], [], ["a", 1], ["b", 2]):
        sheet.append(row)


def test_ai_variant_applies_the_models_strategy(ai, files):
    """The model sees a sample of the sheet and must call submit_extraction_strategy; the tables it names
    are read out (rows skipped, end exclusive, header names it gives), its reasoning is returned."""
    put_book(files, ai_sheet)
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "local:tools", start)
    run = b.add("data_excel_extract_tables_ai", file=BOOK, user_hint="totals are subtotals")
    b.connect(bit, "exec_out", run, "exec_in")
    b.connect(bit, "output_bit", run, "model")
    log = b.add("log_info")
    b.connect(run, "reasoning", log, "message")
    ret = b.add("events_generic_return_result")
    b.chain(run, log, ret)
    b.connect(run, "tables", ret, "response")
    lines = []
    result = b.run(start, files=files, on_event=lambda e: lines.append(e.message) if e.kind == "log" and e.node_id == log else None)
    sales, kv = value_of(result)
    assert sales == {"headers": ["Product", "Units"], "rows": [["Tea", "3"], ["Coffee", "5"]], "source": BOOK,
                     "name": "Report_Sales"}
    # no end column: to the sheet's last column, as Flow-Like reads it
    assert kv["headers"] == ["K", "V"] and kv["rows"] == [["a", "1", ""], ["b", "2", ""]] and kv["name"] == "Report_2"
    assert lines == ["Sheet 'Report': two tables"]
    (request,) = ai.chat_requests("tools")
    assert request["body"]["tool_choice"] == {"type": "function", "function": {"name": "submit_extraction_strategy"}}
    system, user = request["body"]["messages"]
    assert "What the user says about the sheet: totals are subtotals" in system["content"]
    sample = user["content"][0]["text"]
    assert "Row   2: Tea" in sample and "- empty rows in the sample: [5, 6]" in sample


def test_ai_variant_provider_failure(ai, files):
    put_book(files, ai_sheet)
    b = BoardBuilder()
    start = b.add("events_simple")
    run = b.add("data_excel_extract_tables_ai", file=BOOK,
                model={"id": "local:broken", "parameters": {"provider": {"provider_name": "local", "model_id": "broken"}}})
    b.chain(start, run)
    failure_of(b.run(start, files=files), "AI provider 'local' answered HTTP 500")
