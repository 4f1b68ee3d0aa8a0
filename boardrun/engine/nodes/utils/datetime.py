"""Utils/DateTime: reading the clock, parsing, formatting and date arithmetic.

A Date value is an RFC 3339 string in UTC, as Flow-Like (chrono) writes one: seconds plus 0, 3, 6
or 9 fraction digits, then ``Z``. Values are held as whole Unix seconds plus nanoseconds, because
Python's datetime stops at microseconds; the calendar part goes through datetime, so years are
limited to 1..9999 (chrono allows more). Format strings are chrono's (``%Y-%m-%d``, ``%.f``, ...),
implemented here rather than mapped onto Python's strftime, whose directives differ.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = 1_000_000_000
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Instant(NamedTuple):
    """A point in time: Unix seconds and nanoseconds into that second (0..999,999,999)."""

    seconds: int
    nanos: int = 0

    @classmethod
    def of(cls, moment: datetime, nanos: int | None = None) -> Instant:
        whole = (moment.replace(microsecond=0) - _EPOCH) // timedelta(seconds=1)
        return cls(whole, moment.microsecond * 1000 if nanos is None else nanos)

    def calendar(self) -> datetime:
        try:
            return _EPOCH + timedelta(seconds=self.seconds)
        except OverflowError:
            raise NodeError("the date is outside the years 1 to 9999") from None

    def shifted(self, nanoseconds: int) -> Instant:
        total = self.seconds * _NS + self.nanos + nanoseconds
        moved = Instant(total // _NS, total % _NS)
        moved.calendar()  # range check
        return moved

    def text(self) -> str:
        """chrono's serde form: RFC 3339, UTC as Z, 0/3/6/9 fraction digits."""
        return _iso_seconds(self.calendar()) + _auto_fraction(self.nanos) + "Z"


def _iso_seconds(moment: datetime) -> str:
    # Not strftime: glibc's %Y does not zero-pad years below 1000.
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


def _auto_fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def _fraction_nanos(digits: str) -> int:
    """Nanoseconds of a decimal fraction; digits past the ninth are ignored, as chrono does."""
    return int(digits[:9].ljust(9, "0"))


def _instant(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, nanos: int = 0,
             offset_seconds: int = 0) -> Instant | None:
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    moment -= timedelta(seconds=offset_seconds)
    return Instant.of(moment, nanos)


_OFFSET = r"(?P<zone>[Zz]|(?P<sign>[+\-\u2212])(?P<oh>\d{2}):?(?P<om>[0-5]\d)?)"
_STRICT = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                     r"(?P<zone>[Zz]|(?P<sign>[+\-\u2212])(?P<oh>\d{2}):(?P<om>[0-5]\d))")
_RELAXED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*"
                      r"(?:(?P<utc>[Uu][Tt][Cc])|" + _OFFSET + ")")


def _from_match(match: re.Match[str]) -> Instant | None:
    year, month, day, hour, minute, second = (int(match.group(k)) for k in range(1, 7))
    offset = 0
    if match.groupdict().get("sign"):
        offset = (int(match["oh"]) * 60 + int(match["om"] or 0)) * 60
        if match["sign"] != "+":
            offset = -offset
    return _instant(year, month, day, hour, minute, second, _fraction_nanos(match[7] or ""), offset)


def parse_rfc3339(text: str) -> Instant | None:
    """chrono's DateTime::parse_from_rfc3339 (leap seconds are not accepted)."""
    match = _STRICT.fullmatch(text)
    return _from_match(match) if match else None


def read_date(value: Any, pin: str) -> Instant:
    """A Date input: an RFC 3339 string (chrono's relaxed reading) or a SystemTime object."""
    found = None
    if isinstance(value, str):
        match = _RELAXED.fullmatch(value)
        found = _from_match(match) if match else None
    elif isinstance(value, dict) and set(value) == {"secs_since_epoch", "nanos_since_epoch"}:
        found = from_timestamp(value["secs_since_epoch"], value["nanos_since_epoch"])
    if found is None:
        raise NodeError(f"input '{pin}' is not a date (expected an RFC 3339 string such as "
                        f"2026-01-02T03:04:05Z), got {value!r:.80}")
    return found


def from_timestamp(seconds: Any, nanos: Any = 0) -> Instant | None:
    if type(seconds) is not int or type(nanos) is not int or not 0 <= nanos < _NS:
        return None
    try:
        return Instant(seconds, 0).shifted(nanos)
    except NodeError:
        return None


# -- chrono format strings ------------------------------------------------------------------
_COMPOSITE = {"D": "%m/%d/%y", "x": "%m/%d/%y", "F": "%Y-%m-%d", "v": "%e-%b-%Y", "R": "%H:%M", "T": "%H:%M:%S",
              "X": "%H:%M:%S", "r": "%I:%M:%S %p", "c": "%a %b %e %H:%M:%S %Y"}
_SPEC = re.compile(r"%(?P<pad>[-_0])?(?P<spec>\.[369]?f|[369]f|:{1,3}z|#z|[A-Za-z%+])")


def _items(fmt: str) -> list[tuple[str, str, str | None]]:
    """Split a chrono format into ("lit", text, None) / ("spec", name, pad) items, composites expanded."""
    items: list[tuple[str, str, str | None]] = []
    pos = 0
    while pos < len(fmt):
        k = fmt.find("%", pos)
        if k < 0:
            items.append(("lit", fmt[pos:], None))
            break
        if k > pos:
            items.append(("lit", fmt[pos:k], None))
        match = _SPEC.match(fmt, k)
        if not match:
            raise NodeError(f"input 'format' has an invalid specifier at {fmt[k:k + 3]!r}")
        spec, pad = match["spec"], match["pad"]
        if spec in _COMPOSITE:
            items.extend(_items(_COMPOSITE[spec]))
        elif spec == "t":
            items.append(("lit", "\t", None))
        elif spec == "n":
            items.append(("lit", "\n", None))
        elif spec == "%":
            items.append(("lit", "%", None))
        else:
            items.append(("spec", spec, pad))
        pos = match.end()
    return items


def _hour12(hour: int) -> int:
    return (hour + 11) % 12 + 1


_NUMERIC: dict[str, tuple[Callable[[datetime], int], int, str]] = {
    # spec: (value, width, default padding)
    "Y": (lambda d: d.year, 4, "0"), "C": (lambda d: d.year // 100, 2, "0"), "y": (lambda d: d.year % 100, 2, "0"),
    "m": (lambda d: d.month, 2, "0"), "d": (lambda d: d.day, 2, "0"), "e": (lambda d: d.day, 2, " "),
    "H": (lambda d: d.hour, 2, "0"), "k": (lambda d: d.hour, 2, " "), "I": (lambda d: _hour12(d.hour), 2, "0"),
    "l": (lambda d: _hour12(d.hour), 2, " "), "M": (lambda d: d.minute, 2, "0"), "S": (lambda d: d.second, 2, "0"),
    "j": (lambda d: d.timetuple().tm_yday, 3, "0"), "w": (lambda d: (d.weekday() + 1) % 7, 1, "0"),
    "u": (lambda d: d.weekday() + 1, 1, "0"), "U": (lambda d: int(d.strftime("%U")), 2, "0"),
    "W": (lambda d: int(d.strftime("%W")), 2, "0"), "G": (lambda d: d.isocalendar()[0], 4, "0"),
    "g": (lambda d: d.isocalendar()[0] % 100, 2, "0"), "V": (lambda d: d.isocalendar()[1], 2, "0"),
}
_TEXT: dict[str, Callable[[datetime, int], str]] = {
    "b": lambda d, n: _MONTHS[d.month - 1][:3], "h": lambda d, n: _MONTHS[d.month - 1][:3],
    "B": lambda d, n: _MONTHS[d.month - 1], "a": lambda d, n: _DAYS[d.weekday()][:3],
    "A": lambda d, n: _DAYS[d.weekday()], "p": lambda d, n: "AM" if d.hour < 12 else "PM",
    "P": lambda d, n: "am" if d.hour < 12 else "pm", "f": lambda d, n: f"{n:09d}", ".f": lambda d, n: _auto_fraction(n),
    ".3f": lambda d, n: f".{n // 1_000_000:03d}", ".6f": lambda d, n: f".{n // 1000:06d}", ".9f": lambda d, n: f".{n:09d}",
    "3f": lambda d, n: f"{n // 1_000_000:03d}", "6f": lambda d, n: f"{n // 1000:06d}", "9f": lambda d, n: f"{n:09d}",
    "Z": lambda d, n: "UTC", "z": lambda d, n: "+0000", ":z": lambda d, n: "+00:00", "::z": lambda d, n: "+00:00:00",
    ":::z": lambda d, n: "+00",
    "+": lambda d, n: _iso_seconds(d) + _auto_fraction(n) + "+00:00",
}


def format_instant(instant: Instant, fmt: str) -> str:
    moment = instant.calendar()
    parts = []
    for kind, text, pad in _items(fmt):
        if kind == "lit":
            parts.append(text)
        elif text == "s":
            parts.append(str(instant.seconds))
        elif text in _NUMERIC:
            get, width, default_pad = _NUMERIC[text]
            value = get(moment)
            fill = default_pad if pad is None else pad
            parts.append(str(value) if fill == "-" else str(value).rjust(width, " " if fill == "_" else fill))
        elif text in _TEXT:
            parts.append(_TEXT[text](moment, instant.nanos))
        else:
            raise NodeError(f"input 'format' has an unknown specifier '%{text}'")
    return "".join(parts)


def rfc2822(instant: Instant) -> str:
    return format_instant(instant, "%a, %d %b %Y %H:%M:%S +0000")


_PARSE_WIDTH = {"Y": 4, "C": 2, "y": 2, "m": 2, "d": 2, "e": 2, "H": 2, "k": 2, "I": 2, "l": 2, "M": 2, "S": 2,
                "j": 3, "f": 9}
_FIELD = {"e": "d", "k": "H", "l": "I", "f": "nanos"}
_FIXED_FRACTION = {"3f": 1_000_000, "6f": 1000, "9f": 1}  # digits read -> nanoseconds
_PARSE_OFFSET = re.compile(r"(?P<sign>[+\-\u2212])(?P<oh>\d{2})(?::|\s)?(?P<om>[0-5]\d)?")


class _Scanner:
    """Reads one input against chrono format items, with chrono's rules: spaces in the format skip any
    whitespace, numbers may be preceded by whitespace and take 1..width digits, names are case-blind."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.fields: dict[str, int] = {}

    def fail(self) -> None:
        raise ValueError("input does not match the format")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def digits(self, low: int, high: int) -> str:
        end = self.pos
        while end < len(self.text) and end - self.pos < high and self.text[end].isdigit():
            end += 1
        if end - self.pos < low:
            self.fail()
        found, self.pos = self.text[self.pos:end], end
        return found

    def name(self, names: list[str]) -> int:
        rest = self.text[self.pos:].lower()
        for full in names:  # the long name first, as chrono prefers the longer match
            for candidate in (full.lower(), full[:3].lower()):
                if rest.startswith(candidate):
                    self.pos += len(candidate)
                    return names.index(full)
        self.fail()
        return 0

    def offset(self) -> int:
        self.skip_space()
        match = _PARSE_OFFSET.match(self.text, self.pos)
        if not match:
            self.fail()
        self.pos = match.end()  # type: ignore[union-attr]
        seconds = (int(match["oh"]) * 60 + int(match["om"] or 0)) * 60  # type: ignore[index]
        return -seconds if match["sign"] != "+" else seconds  # type: ignore[index]

    def item(self, kind: str, text: str) -> None:
        if kind == "lit":
            for char in text:
                if char.isspace():
                    self.skip_space()
                elif self.text.startswith(char, self.pos):
                    self.pos += 1
                else:
                    self.fail()
        elif text in _PARSE_WIDTH or text == "s":
            self.skip_space()
            negative = False
            if text in ("Y", "s") and self.text[self.pos:self.pos + 1] in ("-", "+"):
                negative = self.text[self.pos] == "-"
                self.pos += 1
                found = self.digits(1, 30)
            else:
                found = self.digits(1, _PARSE_WIDTH.get(text, 30))
            self.fields[_FIELD.get(text, text)] = -int(found) if negative else int(found)
        elif text in _FIXED_FRACTION:
            self.fields["nanos"] = int(self.digits(int(text[0]), int(text[0]))) * _FIXED_FRACTION[text]
        elif text in ("b", "h", "B"):
            self.fields["m"] = self.name(list(_MONTHS)) + 1
        elif text in ("a", "A"):
            self.fields["weekday"] = self.name(list(_DAYS))
        elif text in ("p", "P"):
            self.fields["pm"] = self.name(["am", "pm"])
        elif text in (".f", ".3f", ".6f", ".9f"):
            if self.text.startswith(".", self.pos):
                self.pos += 1
                width = int(text[1]) if len(text) == 3 else 0
                found = self.digits(width or 1, width or 30)
                self.fields["nanos"] = _fraction_nanos(found)
            elif text != ".f":
                self.fail()
        elif text in ("z", ":z", "::z", ":::z", "#z"):
            self.fields["offset"] = self.offset()
        elif text == "Z":
            start = self.pos
            while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_/+-"):
                self.pos += 1
            if self.pos == start:
                self.fail()
        elif text == "+":
            match = _STRICT.match(self.text, self.pos)
            if not match or (instant := _from_match(match)) is None:
                self.fail()
            self.pos = match.end()  # type: ignore[union-attr]
            self.fields["timestamp"] = instant.seconds  # type: ignore[union-attr]
            self.fields["nanos"] = instant.nanos  # type: ignore[union-attr]
        else:
            raise NodeError(f"input 'format' has a specifier '%{text}' that cannot be parsed")


def parse_with_format(text: str, fmt: str) -> Instant | None:
    """chrono's NaiveDateTime (else NaiveDate at midnight) parse_from_str, read as UTC.

    Unlike Flow-Like, an offset read with %z is applied rather than dropped.
    """
    scanner = _Scanner(text)
    try:
        for kind, item, _pad in _items(fmt):
            scanner.item(kind, item)
        if scanner.pos != len(text):
            scanner.fail()
    except ValueError:
        return None
    return _resolve(scanner.fields)


def _resolve(f: dict[str, int]) -> Instant | None:
    nanos = f.get("nanos", 0)
    if "timestamp" in f or "s" in f:
        instant = from_timestamp(f.get("timestamp", f.get("s")), 0)
        return instant.shifted(nanos) if instant and nanos < _NS else None
    if "Y" in f:
        year = f["Y"]
    elif "C" in f and "y" in f:
        year = f["C"] * 100 + f["y"]
    elif "y" in f:
        year = f["y"] + (2000 if f["y"] < 70 else 1900)
    else:
        return None
    try:
        if "m" in f and "d" in f:
            day = date(year, f["m"], f["d"])
        elif "j" in f:
            day = date(year, 1, 1) + timedelta(days=f["j"] - 1)
            if day.year != year:
                return None
        else:
            return None
    except (ValueError, OverflowError):
        return None
    if "weekday" in f and day.weekday() != f["weekday"]:
        return None
    if "H" in f:
        hour = f["H"]
    elif "I" in f and "pm" in f and 1 <= f["I"] <= 12:
        hour = f["I"] % 12 + 12 * f["pm"]
    else:
        hour = None
    if hour is None or "M" not in f:  # no time of day: NaiveDate, at midnight
        return _instant(day.year, day.month, day.day)
    if not 0 <= nanos < _NS:
        return None
    return _instant(day.year, day.month, day.day, hour, f["M"], f.get("S", 0), nanos, f.get("offset", 0))


_AUTO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f",
                 "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y")
_I64_TEXT = re.compile(r"[+-]?\d+")
_RFC2822_SHAPE = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{2}:\d{2}")


def parse_auto(text: str) -> Instant | None:
    """Flow-Like's auto-detection: RFC 3339, RFC 2822, Unix seconds, then a list of common layouts."""
    found = parse_rfc3339(text)
    if found is None:
        found = _parse_rfc2822(text)
    if found is None and _I64_TEXT.fullmatch(text) and -(2**63) <= int(text) < 2**63:
        found = from_timestamp(int(text))
    for fmt in _AUTO_FORMATS:
        if found is not None:
            break
        found = parse_with_format(text, fmt)
    return found


def _parse_rfc2822(text: str) -> Instant | None:
    from email.utils import parsedate_to_datetime  # costs more to import than the rest of the engine

    if not _RFC2822_SHAPE.match(text):  # Python's parser guesses at other shapes; chrono does not
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return Instant.of(moment.astimezone(timezone.utc))
    except (OverflowError, ValueError):
        return None


# -- nodes ------------------------------------------------------------------------------------
@register("utils_datetime_now", "Now", "Utils/DateTime", "Reads the current UTC time as an RFC 3339 string.",
          [inp("exec_in", "Input", "Execution", description="Read the clock."),
           out("exec_out", "Output", "Execution", description="Fires after reading."),
           out("date", "Date", "Date", description="The current time, e.g. 2026-01-02T03:04:05.123456Z.")])
def utils_datetime_now(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("date", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    ctx.activate("exec_out")


@register("utils_datetime_parse", "Parse DateTime", "Utils/DateTime",
          "Reads a date from text, with a chrono format string or by trying common layouts.",
          [inp("input", "Input", "String", description="The text to read."),
           inp("format", "Format", "String", default="",
               description="chrono format such as %d.%m.%Y %H:%M; empty to detect RFC 3339, RFC 2822, "
                           "Unix seconds and common layouts."),
           out("date", "Date", "Date", description="The date, in UTC (no offset in the text means UTC).")])
def utils_datetime_parse(ctx: NodeContext) -> None:
    text = as_str(ctx.get("input"), "input")
    fmt = as_str(ctx.get("format"), "format")
    found = parse_with_format(text, fmt) if fmt else parse_auto(text)
    if found is None:
        raise NodeError(f"input 'input' could not be read as a date: {text!r:.100}")
    ctx.set("date", found.text())


@register("utils_datetime_format", "Format DateTime", "Utils/DateTime",
          "Writes a date as text: rfc3339, rfc2822 or a chrono format string.",
          [inp("date", "Date", "Date", description="The date."),
           inp("format", "Format", "String", default="rfc3339",
               description="rfc3339, rfc2822, or a chrono format such as %Y-%m-%d %H:%M:%S."),
           out("formatted", "Formatted", "String", description="The text.")])
def utils_datetime_format(ctx: NodeContext) -> None:
    instant = read_date(ctx.get("date"), "date")
    fmt = as_str(ctx.get("format"), "format")
    if fmt.lower() == "rfc3339":
        formatted = format_instant(instant, "%+")
    elif fmt.lower() == "rfc2822":
        formatted = rfc2822(instant)
    else:
        formatted = format_instant(instant, fmt)
    ctx.set("formatted", formatted)


@register("utils_datetime_duration", "Add Duration", "Utils/DateTime",
          "Moves a date by days, hours, minutes and seconds (negative amounts move it back).",
          [inp("date", "Date", "Date", description="The starting date."),
           inp("days", "Days", "Integer", default=0, description="Days to add."),
           inp("hours", "Hours", "Integer", default=0, description="Hours to add."),
           inp("minutes", "Minutes", "Integer", default=0, description="Minutes to add."),
           inp("seconds", "Seconds", "Integer", default=0, description="Seconds to add."),
           out("result", "Result", "Date", description="The moved date.")])
def utils_datetime_duration(ctx: NodeContext) -> None:
    instant = read_date(ctx.get("date"), "date")
    seconds = (as_int(ctx.get("days"), "days") * 86400 + as_int(ctx.get("hours"), "hours") * 3600
               + as_int(ctx.get("minutes"), "minutes") * 60 + as_int(ctx.get("seconds"), "seconds"))
    ctx.set("result", instant.shifted(seconds * _NS).text())


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


@register("utils_datetime_diff", "DateTime Difference", "Utils/DateTime",
          "Measures the time from start to end, split into days, hours, minutes and seconds.",
          [inp("exec_in", "Input", "Execution", description="Measure."),
           inp("start", "Start", "Date", description="The earlier date."),
           inp("end", "End", "Date", description="The later date (earlier gives negative totals)."),
           out("exec_out", "Output", "Execution", description="Fires when both dates were read."),
           out("total_seconds", "Total Seconds", "Integer", description="Whole seconds from start to end."),
           out("days", "Days", "Integer", description="Whole days (negative when end is before start)."),
           out("hours", "Hours", "Integer", description="Hours beyond the days."),
           out("minutes", "Minutes", "Integer", description="Minutes beyond the hours."),
           out("seconds", "Seconds", "Integer", description="Seconds beyond the minutes."),
           out("human_readable", "Human Readable", "String", description="E.g. '1 day, 2 hours, 5 seconds'."),
           out("error", "Error", "Execution", description="Fires instead when a date cannot be read."),
           out("error_message", "Error Message", "String", description="Why a date could not be read.")])
def utils_datetime_diff(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("error")
    start_value, end_value = ctx.get("start"), ctx.get("end")
    try:
        start = read_date(start_value, "start")
        end = read_date(end_value, "end")
    except NodeError as exc:
        ctx.set("error_message", str(exc))
        ctx.activate("error")
        return
    nanos = (end.seconds - start.seconds) * _NS + end.nanos - start.nanos
    total = abs(nanos) // _NS * (1 if nanos >= 0 else -1)  # whole seconds, truncated toward zero
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [_plural(n, unit) for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    if seconds or not parts:
        parts.append(_plural(seconds, "second"))
    ctx.set("total_seconds", total)
    ctx.set("days", -days if total < 0 else days)
    ctx.set("hours", hours)
    ctx.set("minutes", minutes)
    ctx.set("seconds", seconds)
    ctx.set("human_readable", ("-" if total < 0 else "") + ", ".join(parts))
    ctx.activate("exec_out")


@register("utils_datetime_to_date", "To Date", "Utils/DateTime", "Splits a date into its calendar parts (UTC).",
          [inp("date", "Date", "Date", description="The date."),
           out("year", "Year", "Integer", description="The year."),
           out("month", "Month", "Integer", description="1 to 12."),
           out("day", "Day", "Integer", description="Day of the month, 1 to 31."),
           out("weekday", "Weekday", "Integer", description="0 for Monday to 6 for Sunday."),
           out("day_of_year", "Day of Year", "Integer", description="1 to 366.")])
def utils_datetime_to_date(ctx: NodeContext) -> None:
    moment = read_date(ctx.get("date"), "date").calendar()
    ctx.set("year", moment.year)
    ctx.set("month", moment.month)
    ctx.set("day", moment.day)
    ctx.set("weekday", moment.weekday())
    ctx.set("day_of_year", moment.timetuple().tm_yday)


@register("utils_datetime_to_time", "To Time", "Utils/DateTime", "Splits a date into its time of day (UTC).",
          [inp("date", "Date", "Date", description="The date."),
           out("hour", "Hour", "Integer", description="0 to 23."),
           out("minute", "Minute", "Integer", description="0 to 59."),
           out("second", "Second", "Integer", description="0 to 59."),
           out("nanosecond", "Nanosecond", "Integer", description="0 to 999,999,999.")])
def utils_datetime_to_time(ctx: NodeContext) -> None:
    instant = read_date(ctx.get("date"), "date")
    moment = instant.calendar()
    ctx.set("hour", moment.hour)
    ctx.set("minute", moment.minute)
    ctx.set("second", moment.second)
    ctx.set("nanosecond", instant.nanos)
