"""Utils/DateTime nodes: parsing (chrono formats and auto-detection), formatting, arithmetic, parts."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, failure_of, run_pure, value_of


@pytest.mark.parametrize("text,fmt,expected", [
    ("2026-01-02T03:04:05Z", "", "2026-01-02T03:04:05Z"),
    ("2026-01-02t03:04:05.123456789-02:30", "", "2026-01-02T05:34:05.123456789Z"),
    ("2026-01-02 03:04:05.5+00:00", "", "2026-01-02T03:04:05.500Z"),
    ("Tue, 1 Jul 2003 10:52:37 +0200", "", "2003-07-01T08:52:37Z"),
    ("1700000000", "", "2023-11-14T22:13:20Z"),
    ("-86400", "", "1969-12-31T00:00:00Z"),
    ("2026-01-02 03:04:05", "", "2026-01-02T03:04:05Z"),
    ("2026-01-02T03:04:05.25", "", "2026-01-02T03:04:05.250Z"),
    ("2026-01-02", "", "2026-01-02T00:00:00Z"),
    ("13/01/2026", "", "2026-01-13T00:00:00Z"),
    ("01/13/2026", "", "2026-01-13T00:00:00Z"),
    ("02.01.2026", "", "2026-01-02T00:00:00Z"),
    ("2026/01/02", "", "2026-01-02T00:00:00Z"),
    ("02-01-2026", "", "2026-01-02T00:00:00Z"),
    ("2 January 2026 3:04 pm", "%d %B %Y %I:%M %p", "2026-01-02T15:04:00Z"),
    ("20260102 030405", "%Y%m%d %H%M%S", "2026-01-02T03:04:05Z"),
    ("2026-01-02  3:04", "%Y-%m-%d %H:%M", "2026-01-02T03:04:00Z"),
    ("2026-01-02 03:04:05 +0100", "%Y-%m-%d %H:%M:%S %z", "2026-01-02T02:04:05Z"),
    ("2026-01-02 03:04:05.007", "%Y-%m-%d %H:%M:%S%.f", "2026-01-02T03:04:05.007Z"),
    ("1.2.26", "%d.%m.%y", "2026-02-01T00:00:00Z"),
    ("Thu 2026-001", "%a %Y-%j", "2026-01-01T00:00:00Z"),
    ("1700000000", "%s", "2023-11-14T22:13:20Z"),
])
def test_parse_datetime(text, fmt, expected):
    """Auto-detection tries RFC 3339, RFC 2822, Unix seconds and common layouts; chrono formats read the rest."""
    assert value_of(run_pure("utils_datetime_parse", "date", input=text, format=fmt)) == expected


@pytest.mark.parametrize("text,fmt", [("2026-02-30", ""), ("yesterday", ""), ("2026-01-02", "%d/%m/%Y"),
                                      ("2026-01-02 extra", "%Y-%m-%d"), ("Fri 2026-001", "%a %Y-%j"),
                                      ("3:04", "%H:%M")])
def test_parse_datetime_fails_on_unreadable_text(text, fmt):
    """Impossible dates, leftovers, inconsistent weekdays and text without a date fail the node."""
    failure_of(run_pure("utils_datetime_parse", "date", input=text, format=fmt), "could not be read as a date")


def test_parse_datetime_rejects_an_invalid_format():
    """A format with an unknown specifier fails with a message naming the format."""
    failure_of(run_pure("utils_datetime_parse", "date", input="x", format="%Q"), "input 'format'")


DATE = "2026-01-02T03:04:05.123Z"


@pytest.mark.parametrize("fmt,expected", [
    ("rfc3339", "2026-01-02T03:04:05.123+00:00"),
    ("RFC2822", "Fri, 02 Jan 2026 03:04:05 +0000"),
    ("%Y-%m-%d %H:%M:%S", "2026-01-02 03:04:05"),
    ("%e|%-d|%_m|%k|%l|%I %p %P", " 2|2| 1| 3| 3|03 AM am"),
    ("%a %A %b %B %h %j %u %w", "Fri Friday Jan January Jan 002 5 5"),
    ("%.f|%.3f|%.6f|%.9f|%f|%3f", ".123|.123|.123000|.123000000|123000000|123"),
    ("%s %Z %z %:z", "1767323045 UTC +0000 +00:00"),
    ("%D %F %T %R %c", "01/02/26 2026-01-02 03:04:05 03:04 Fri Jan  2 03:04:05 2026"),
    ("%G-W%V 100%%", "2026-W01 100%"),
])
def test_format_datetime(fmt, expected):
    """rfc3339/rfc2822 (any case) and chrono specifiers, including padding modifiers and fractions."""
    assert value_of(run_pure("utils_datetime_format", "formatted", date=DATE, format=fmt)) == expected


@pytest.mark.parametrize("date,message", [("2026-01-02", "input 'date' is not a date"),
                                          (17, "input 'date' is not a date")])
def test_format_datetime_rejects_non_dates(date, message):
    """A Date input that is not an RFC 3339 string fails the node."""
    failure_of(run_pure("utils_datetime_format", "formatted", date=date, format="rfc3339"), message)


def test_format_datetime_rejects_unknown_specifiers():
    """chrono fails on unknown specifiers; so does the node."""
    failure_of(run_pure("utils_datetime_format", "formatted", date=DATE, format="%Y %Q"), "unknown specifier")


@pytest.mark.parametrize("inputs,expected", [
    ({"days": 1, "hours": 2, "minutes": 3, "seconds": 4}, "2026-01-03T05:07:09.123Z"),
    ({"days": -2}, "2025-12-31T03:04:05.123Z"),
    ({"seconds": -5}, "2026-01-02T03:04:00.123Z"),
])
def test_add_duration(inputs, expected):
    """Days, hours, minutes and seconds are added (negative moves back), keeping the fraction."""
    assert value_of(run_pure("utils_datetime_duration", "result", date=DATE, **inputs)) == expected


def test_add_duration_out_of_range_fails():
    """Moving past year 9999 fails the node instead of wrapping."""
    failure_of(run_pure("utils_datetime_duration", "result", date=DATE, days=4_000_000), "outside the years")


def parts(node_name: str, outputs: list[str], date):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, date=date)
    make = b.add("make_array")
    pushes = [b.add("array_push") for _ in outputs]
    ret = b.add("events_generic_return_result")
    b.chain(start, *pushes, ret)
    source = (make, "array_out")
    for push, name in zip(pushes, outputs):
        b.connect(*source, push, "array_in")
        b.connect(node, name, push, "value")
        source = (push, "array_out")
    b.connect(*source, ret, "response")
    return b.run(start)


def test_to_date_and_to_time_split_a_date():
    """Calendar parts (weekday 0 = Monday) and time parts down to the nanosecond."""
    date = "2024-12-31T23:59:58.000000042Z"
    assert value_of(parts("utils_datetime_to_date", ["year", "month", "day", "weekday", "day_of_year"], date)) == [
        2024, 12, 31, 1, 366]
    assert value_of(parts("utils_datetime_to_time", ["hour", "minute", "second", "nanosecond"], date)) == [
        23, 59, 58, 42]


def test_date_inputs_accept_offsets_and_system_time_objects():
    """A Date input may carry an offset (converted to UTC) or be a {secs_since_epoch, nanos_since_epoch} object."""
    assert value_of(parts("utils_datetime_to_time", ["hour"], "2026-01-02T03:04:05+05:30")) == [21]
    assert value_of(parts("utils_datetime_to_date", ["year"], {"secs_since_epoch": 0, "nanos_since_epoch": 0})) == [
        1970]


def test_to_time_rejects_non_dates():
    """A Date input that cannot be read fails the node."""
    result = parts("utils_datetime_to_time", ["hour"], "noon")
    assert result.reason == "node_error" and "input 'date' is not a date" in result.error["message"]


@pytest.mark.parametrize("start,end,expected", [
    ("2026-01-01T00:00:00Z", "2026-01-02T01:01:01Z", [90061, 1, 1, 1, 1, "1 day, 1 hour, 1 minute, 1 second"]),
    ("2026-01-03T00:00:00Z", "2026-01-01T00:00:00.5Z", [-172799, -1, 23, 59, 59, "-1 day, 23 hours, 59 minutes, 59 seconds"]),
    ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.9Z", [0, 0, 0, 0, 0, "0 seconds"]),
    ("2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z", [7200, 0, 2, 0, 0, "2 hours"]),
])
def test_datetime_diff(start, end, expected):
    """Whole seconds truncated toward zero, split into days/hours/minutes/seconds, with a readable text."""
    b = BoardBuilder()
    begin = b.add("events_simple")
    node = b.add("utils_datetime_diff", start=start, end=end)
    names = ["total_seconds", "days", "hours", "minutes", "seconds", "human_readable"]
    make = b.add("make_array")
    pushes = [b.add("array_push") for _ in names]
    ret = b.add("events_generic_return_result")
    b.connect(begin, "exec_out", node, "exec_in")
    b.chain(node, *pushes, ret)
    source = (make, "array_out")
    for push, name in zip(pushes, names):
        b.connect(*source, push, "array_in")
        b.connect(node, name, push, "value")
        source = (push, "array_out")
    b.connect(*source, ret, "response")
    assert value_of(b.run(begin)) == expected


def test_datetime_diff_takes_the_error_branch_for_bad_dates():
    """An unreadable date fires 'error' with a message instead of failing the node."""
    b = BoardBuilder()
    begin = b.add("events_simple")
    node = b.add("utils_datetime_diff", start="2026-01-01T00:00:00Z", end="later")
    ok = b.add("events_generic_return_result", response="ok")
    bad = b.add("events_generic_return_result")
    b.connect(begin, "exec_out", node, "exec_in")
    b.connect(node, "exec_out", ok, "exec_in")
    b.connect(node, "error", bad, "exec_in")
    b.connect(node, "error_message", bad, "response")
    assert "input 'end' is not a date" in value_of(b.run(begin))


def test_early_years_are_zero_padded():
    """Years below 1000 keep four digits in Date values and in formatted text."""
    assert value_of(run_pure("utils_datetime_parse", "date", input="0099-03-04", format="")) == "0099-03-04T00:00:00Z"
    assert value_of(run_pure("utils_datetime_format", "formatted", date="0099-03-04T00:00:00Z",
                             format="rfc3339")) == "0099-03-04T00:00:00+00:00"


def test_datetime_diff_without_an_input_fails_the_node():
    """A Date input with no value at all is a node failure, not the error branch (as in Flow-Like)."""
    b = BoardBuilder()
    begin = b.add("events_simple")
    node = b.add("utils_datetime_diff", start="2026-01-01T00:00:00Z")
    b.chain(begin, node)
    result = b.run(begin)
    assert result.reason == "node_error" and "input 'end'" in result.error["message"]
