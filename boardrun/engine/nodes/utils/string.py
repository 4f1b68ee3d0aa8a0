"""Text formatting, templates, comparisons, transformations and similarity measures.

Flow-Like's string nodes are Rust: they work on Unicode characters except where noted (the
length is in UTF-8 bytes, as Rust's str::len), and regular expressions follow Rust's regex crate.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


@register("string_format", "Format String", "Utils/String",
          "Fills '{name}' placeholders from inputs named after them (the editor adds one per placeholder).",
          [inp("format_string", "Input", "String", description="Text with {placeholders}."),
           out("formatted_string", "Formatted", "String", description="The filled-in text.")],
          extra_inputs=True)
def string_format(ctx: NodeContext) -> None:
    template = as_str(ctx.get("format_string"), "format_string")
    replacements = {}
    for name in dict.fromkeys(_PLACEHOLDER.findall(template)):
        if not ctx.has_input(name):
            raise NodeError(f"placeholder '{{{name}}}' has no input pin of that name")
        replacements[name] = _display(ctx.get(name))
    ctx.set("formatted_string", _PLACEHOLDER.sub(lambda m: replacements[m.group(1)], template))


@register("string_render_template", "Render Template", "Utils/String",
          "Renders a Jinja template; each template variable comes from an input of the same name.",
          [inp("template", "Template", "String", description="Jinja template text."),
           out("rendered", "Rendered", "String", description="The rendered text.")],
          extra_inputs=True)
def string_render_template(ctx: NodeContext) -> None:
    # Imported here to keep importing the engine cheap. The sandbox keeps board-authored
    # templates away from Python internals.
    from jinja2 import TemplateError, meta
    from jinja2.sandbox import SandboxedEnvironment

    source = as_str(ctx.get("template"), "template")
    env = SandboxedEnvironment(autoescape=False)
    try:
        names = meta.find_undeclared_variables(env.parse(source))
        context = {}
        for name in sorted(names):
            if not ctx.has_input(name):
                raise NodeError(f"template variable '{name}' has no input pin of that name")
            context[name] = ctx.get(name)
        rendered = env.from_string(source).render(context)
    except TemplateError as exc:
        raise NodeError(f"template error: {exc}") from None
    ctx.set("rendered", rendered)


@register("string_contains", "Contains", "Utils/String", "Checks whether a text contains another text.",
          [inp("string", "String", "String", description="The text to search."),
           inp("substring", "Substring", "String", description="The text to look for (case-sensitive)."),
           out("contains", "Contains?", "Boolean", description="Whether it was found.")])
def string_contains(ctx: NodeContext) -> None:
    haystack = ctx.get("string")
    needle = as_str(ctx.get("substring"), "substring")
    ctx.set("contains", isinstance(haystack, str) and needle in haystack)


@register("equal_string", "==", "Utils/String", "Checks whether all its texts are exactly the same.",
          [inp("string", "String", "String", description="A text to compare."),
           inp("string", "String", "String", description="A text to compare."),
           out("equal", "Is Equal?", "Boolean", description="Whether all texts are identical.")],
          repeatable={"string"})
def equal_string(ctx: NodeContext) -> None:
    texts = [as_str(value, "string") for value in ctx.get_each("string")]
    ctx.set("equal", all(text == texts[0] for text in texts))


@register("not_equal_string", "!=", "Utils/String", "Checks whether its texts are not all the same.",
          [inp("string", "String", "String", description="A text to compare."),
           inp("string", "String", "String", description="A text to compare."),
           out("unequal", "Is Unequal?", "Boolean", description="Whether at least two texts differ.")],
          repeatable={"string"})
def not_equal_string(ctx: NodeContext) -> None:
    texts = [as_str(value, "string") for value in ctx.get_each("string")]
    ctx.set("unequal", any(text != texts[0] for text in texts))


@register("string_starts_with", "Starts With", "Utils/String", "Checks whether a text begins with another text.",
          [inp("string", "String", "String", description="The text to check."),
           inp("prefix", "Prefix", "String", description="The expected beginning (case-sensitive)."),
           out("starts_with", "Starts With?", "Boolean", description="Whether the text begins with it.")])
def string_starts_with(ctx: NodeContext) -> None:
    ctx.set("starts_with", as_str(ctx.get("string"), "string").startswith(as_str(ctx.get("prefix"), "prefix")))


@register("string_ends_with", "Ends With", "Utils/String", "Checks whether a text ends with another text.",
          [inp("string", "String", "String", description="The text to check."),
           inp("suffix", "Suffix", "String", description="The expected ending (case-sensitive)."),
           out("ends_with", "Ends With?", "Boolean", description="Whether the text ends with it.")])
def string_ends_with(ctx: NodeContext) -> None:
    ctx.set("ends_with", as_str(ctx.get("string"), "string").endswith(as_str(ctx.get("suffix"), "suffix")))


@register("string_length", "String Length", "Utils/String",
          "Measures a text in bytes of its UTF-8 encoding (as Flow-Like does: 'é' counts 2).",
          [inp("string", "String", "String", description="The text."),
           out("length", "Length", "Integer", description="Its UTF-8 length in bytes.")])
def string_length(ctx: NodeContext) -> None:
    ctx.set("length", len(_utf8(as_str(ctx.get("string"), "string"), "string")))


@register("string_to_lower", "To Lower Case", "Utils/String", "Converts a text to lower case (full Unicode rules).",
          [inp("string", "String", "String", description="The text."),
           out("lowercase_string", "Lowercase String", "String", description="The text in lower case.")])
def string_to_lower(ctx: NodeContext) -> None:
    ctx.set("lowercase_string", as_str(ctx.get("string"), "string").lower())


@register("string_to_upper", "To Upper Case", "Utils/String",
          "Converts a text to upper case (full Unicode rules: 'ß' becomes 'SS').",
          [inp("string", "String", "String", description="The text."),
           out("uppercase_string", "Uppercase String", "String", description="The text in upper case.")])
def string_to_upper(ctx: NodeContext) -> None:
    ctx.set("uppercase_string", as_str(ctx.get("string"), "string").upper())


# Unicode White_Space, which Rust's trim() removes. Python's str.strip() also strips the ASCII
# separators U+001C..U+001F, which Rust keeps.
_RUST_WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NO_WHITESPACE = dict.fromkeys(map(ord, _RUST_WHITESPACE))


@register("string_trim", "Trim String", "Utils/String", "Removes white space at both ends of a text.",
          [inp("string", "String", "String", description="The text."),
           out("trimmed_string", "Trimmed String", "String", description="The text without surrounding white space.")])
def string_trim(ctx: NodeContext) -> None:
    ctx.set("trimmed_string", as_str(ctx.get("string"), "string").strip(_RUST_WHITESPACE))


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'})
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}
_ESCAPE_SEQUENCE = re.compile(r"\\(.?)", re.DOTALL)


@register("string_escape", "Escape String", "Utils/String",
          "Writes backslashes, quotes, newlines, carriage returns and tabs as backslash sequences.",
          [inp("string", "String", "String", description="The text."),
           out("escaped", "Escaped", "String", description="The text with those characters escaped.")])
def string_escape(ctx: NodeContext) -> None:
    ctx.set("escaped", as_str(ctx.get("string"), "string").translate(_ESCAPES))


@register("string_unescape", "Unescape String", "Utils/String",
          "Turns the sequences \\n, \\r, \\t, \\\\ and \\\" back into characters; other backslashes stay.",
          [inp("string", "String", "String", description="The escaped text."),
           out("unescaped", "Unescaped", "String", description="The text with those sequences resolved.")])
def string_unescape(ctx: NodeContext) -> None:
    text = as_str(ctx.get("string"), "string")
    ctx.set("unescaped", _ESCAPE_SEQUENCE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), text))


@register("utf8_lossy", "From UTF-8 Lossy", "Utils/String",
          "Decodes bytes as UTF-8; each invalid sequence becomes the replacement character U+FFFD.",
          [inp("bytes", "Bytes", "Byte", "Array", description="The bytes, as numbers 0-255."),
           out("string", "String", "String", description="The decoded text.")])
def utf8_lossy(ctx: NodeContext) -> None:
    raw = as_list(ctx.get("bytes"), "bytes")
    if not all(type(b) is int and 0 <= b <= 255 for b in raw):
        raise NodeError("input 'bytes' must hold only integers from 0 to 255")
    # Python's decoder replaces maximal invalid subparts, the same rule as Rust's from_utf8_lossy.
    ctx.set("string", bytes(raw).decode("utf-8", "replace"))


@register("string_join", "Join Strings", "Utils/String", "Concatenates texts with a separator between them.",
          [inp("strings", "Strings", "String", "Array", description="The texts, in order."),
           inp("separator", "Separator", "String", description="What goes between two texts."),
           out("joined_string", "Joined String", "String", description="The joined text.")])
def string_join(ctx: NodeContext) -> None:
    texts = [as_str(text, "strings") for text in as_list(ctx.get("strings"), "strings")]
    separator = as_str(ctx.get("separator"), "separator")
    _check_size(ctx, sum(map(len, texts)) + len(separator) * max(0, len(texts) - 1))
    ctx.set("joined_string", separator.join(texts))


@register("string_split", "Split String", "Utils/String",
          "Cuts a text at every occurrence of a separator; an empty separator cuts between all characters.",
          [inp("string", "String", "String", description="The text."),
           inp("separator", "Separator", "String", description="Where to cut (not kept)."),
           out("substrings", "Substrings", "String", "Array", description="The pieces, empty ones included.")])
def string_split(ctx: NodeContext) -> None:
    text = as_str(ctx.get("string"), "string")
    separator = as_str(ctx.get("separator"), "separator")
    pieces = len(text) + 2 if not separator else text.count(separator) + 1
    if pieces > ctx.limits.max_array_length:
        raise NodeError(f"splitting would give {pieces} pieces, more than the limit of {ctx.limits.max_array_length}")
    # Rust's split("") yields an empty piece at both ends around the characters.
    ctx.set("substrings", ["", *text, ""] if not separator else text.split(separator))


@register("string_replace", "Replace String", "Utils/String",
          "Replaces every occurrence of a text or regular expression; regex replacements may use $1, ${name}.",
          [inp("string", "String", "String", description="The text."),
           inp("pattern", "Pattern", "String", description="The text (or regular expression) to replace."),
           inp("replacement", "Replacement", "String",
               description="What to put instead; with a regex, $1 / ${name} insert groups and $$ a dollar sign."),
           inp("is_regex", "Is Regex", "Boolean", default=False,
               description="Read the pattern as a regular expression (Rust regex syntax, run by RE2)."),
           out("new_string", "New String", "String", description="The text after replacing.")])
def string_replace(ctx: NodeContext) -> None:
    text = as_str(ctx.get("string"), "string")
    pattern = as_str(ctx.get("pattern"), "pattern")
    replacement = as_str(ctx.get("replacement"), "replacement")
    if as_bool(ctx.get("is_regex"), "is_regex"):
        ctx.set("new_string", _regex_replace(ctx, text, pattern, replacement))
        return
    hits = text.count(pattern) if pattern else len(text) + 1
    _check_size(ctx, len(text) + hits * (len(replacement) - len(pattern)))
    ctx.set("new_string", text.replace(pattern, replacement))


def _check_size(ctx: NodeContext, length: int) -> None:
    if length > ctx.limits.max_string_length:
        raise NodeError(f"the result would be longer than the limit of {ctx.limits.max_string_length} characters")


def _utf8(text: str, pin: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NodeError(f"input '{pin}' is not valid Unicode (it holds a lone surrogate)") from None


# -- regular expressions ---------------------------------------------------------------------
# Flow-Like uses Rust's regex crate, which guarantees linear-time matching and has no
# backreferences or look-around. Python's re backtracks (a pattern like (a+)+$ can run for
# hours and cannot be interrupted), so patterns run on RE2, which has the same guarantees and
# nearly the same syntax. Matching works on UTF-8 bytes, as Rust does; see docs/engine.md for
# the syntax differences.
_CAP_LETTERS = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def _compile(pattern: str) -> Any:
    import re2  # imported here to keep importing the engine cheap

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(_utf8(pattern, "pattern"), options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise NodeError(f"input 'pattern' is not a valid regular expression: {detail}") from None


def _replacement_parts(replacement: bytes) -> list[bytes | int | str]:
    """Rust's replacement syntax: $$ is '$', $name / ${name} a group by number or name, a lone $ itself.

    As in Rust, $name takes the longest run of letters, digits and '_' ("$1a" is the group
    named "1a"), and a group that does not exist or did not take part inserts nothing.
    """
    parts: list[bytes | int | str] = []
    literal = bytearray()
    i, n = 0, len(replacement)
    while i < n:
        char = replacement[i]
        if char != 0x24 or i + 1 >= n:  # '$'
            literal.append(char)
            i += 1
            continue
        if replacement[i + 1] == 0x24:
            literal.append(0x24)
            i += 2
            continue
        if replacement[i + 1] == 0x7B:  # '{'
            close = replacement.find(b"}", i + 2)
            if close < 0:
                literal.append(char)
                i += 1
                continue
            name, end = replacement[i + 2:close], close + 1
        else:
            end = i + 1
            while end < n and replacement[end] in _CAP_LETTERS:
                end += 1
            if end == i + 1:
                literal.append(char)
                i += 1
                continue
            name = replacement[i + 1:end]
        if literal:
            parts.append(bytes(literal))
            literal.clear()
        text = name.decode("utf-8")
        parts.append(int(text) if text.isascii() and text.isdigit() else text)
        i = end
    if literal:
        parts.append(bytes(literal))
    return parts


def _regex_replace(ctx: NodeContext, text: str, pattern: str, replacement: str) -> str:
    compiled = _compile(pattern)
    data = _utf8(text, "string")
    groups = {name.decode("utf-8"): number for name, number in compiled.groupindex.items()}
    parts = _replacement_parts(_utf8(replacement, "replacement"))
    limit = 4 * ctx.limits.max_string_length  # bytes; a character takes at most 4
    pieces: list[bytes] = []
    size = 0
    copied = 0  # bytes of data already copied to the output
    last_end = -1
    pos = 0
    n = len(data)
    found = 0
    while pos <= n:
        match = compiled.search(data, pos)
        if match is None:
            break
        start, end = match.span()
        if start == end == last_end:
            # Like Rust, never report an empty match right where the previous match ended.
            pos = _next_char(data, start)
            continue
        expanded = b"".join(_expand(part, match, groups, compiled.groups) for part in parts)
        pieces += (data[copied:start], expanded)
        size += start - copied + len(expanded)
        if size > limit:
            _check_size(ctx, size)  # more bytes than 4 x the limit: certainly too many characters
        copied = last_end = end
        pos = end if end > start else _next_char(data, end)
        found += 1
        if not found % 1024:
            ctx.checkpoint()  # long inputs: honour cancellation and the deadline
    pieces.append(data[copied:])
    result = b"".join(pieces).decode("utf-8")
    _check_size(ctx, len(result))
    return result


def _next_char(data: bytes, pos: int) -> int:
    """Offset of the next UTF-8 character boundary after ``pos`` (past the end: len + 1)."""
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def _expand(part: bytes | int | str, match: Any, groups: dict[str, int], group_count: int) -> bytes:
    if isinstance(part, bytes):
        return part
    number = part if isinstance(part, int) else groups.get(part, -1)
    if not 0 <= number <= group_count:
        return b""
    return match.group(number) or b""


# -- Utils/String/Similarity -----------------------------------------------------------------
# Flow-Like uses the strsim crate; rapidfuzz computes the same measures (over characters) in
# C++. The quadratic ones are capped so that a board cannot stall its run on two huge texts.
_MAX_CELLS = 100_000_000
_TWO_STRINGS = [inp("string1", "String 1", "String", description="The first text."),
                inp("string2", "String 2", "String", description="The second text.")]
_NORMALIZE = inp("normalize", "Normalize", "Boolean", default=True,
                 description="Give a similarity from 0 to 1 (1 = equal) instead of a count of edits.")


def _two_strings(ctx: NodeContext, quadratic: bool = True) -> tuple[str, str]:
    first, second = as_str(ctx.get("string1"), "string1"), as_str(ctx.get("string2"), "string2")
    if quadratic and len(first) * len(second) > _MAX_CELLS:
        raise NodeError(f"the texts are too long to compare ({len(first)} x {len(second)} characters; "
                        f"the product may be at most {_MAX_CELLS})")
    return first, second


def _edit_distance(ctx: NodeContext, metric: Any, normalize: bool) -> float:
    first, second = _two_strings(ctx)
    return float(metric.normalized_similarity(first, second) if normalize else metric.distance(first, second))


@register("levenshtein_distance", "Levenshtein Distance", "Utils/String/Similarity",
          "Counts the insertions, deletions and substitutions that turn one text into the other.",
          [*_TWO_STRINGS, _NORMALIZE,
           out("distance", "Distance", "Float", description="The edit count, or 1 - count / longer length.")])
def levenshtein_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import Levenshtein

    ctx.set("distance", _edit_distance(ctx, Levenshtein, as_bool(ctx.get("normalize"), "normalize")))


@register("damerau_levenshtein_distance", "Damerau-Levenshtein Distance", "Utils/String/Similarity",
          "Like Levenshtein, but swapping two neighbouring characters counts as one edit.",
          [*_TWO_STRINGS, _NORMALIZE,
           out("distance", "Distance", "Float", description="The edit count, or 1 - count / longer length.")])
def damerau_levenshtein_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import DamerauLevenshtein

    ctx.set("distance", _edit_distance(ctx, DamerauLevenshtein, as_bool(ctx.get("normalize"), "normalize")))


@register("optimal_string_alignment_distance", "Optimal String Alignment Distance", "Utils/String/Similarity",
          "Like Damerau-Levenshtein, but no part of the text is edited twice.",
          [*_TWO_STRINGS, out("distance", "Distance", "Float", description="The edit count.")])
def optimal_string_alignment_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import OSA

    ctx.set("distance", _edit_distance(ctx, OSA, normalize=False))


@register("hamming_distance", "Hamming Distance", "Utils/String/Similarity",
          "Counts the positions at which two texts of equal length differ.",
          [*_TWO_STRINGS, out("distance", "Distance", "Float", description="The number of differing characters.")])
def hamming_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import Hamming

    first, second = _two_strings(ctx, quadratic=False)
    if len(first) != len(second):
        raise NodeError(f"the texts must have the same length, got {len(first)} and {len(second)} characters")
    ctx.set("distance", float(Hamming.distance(first, second)))


@register("jaro_distance", "Jaro Distance", "Utils/String/Similarity",
          "Jaro similarity of two texts, from 0 (nothing in common) to 1 (equal).",
          [*_TWO_STRINGS, out("distance", "Distance", "Float", description="The similarity.")])
def jaro_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import Jaro

    ctx.set("distance", float(Jaro.similarity(*_two_strings(ctx))))


@register("jaro_winkler_distance", "Jaro-Winkler Distance", "Utils/String/Similarity",
          "Jaro similarity raised for a common prefix of up to four characters, from 0 to 1.",
          [*_TWO_STRINGS, out("distance", "Distance", "Float", description="The similarity.")])
def jaro_winkler_distance(ctx: NodeContext) -> None:
    from rapidfuzz.distance import JaroWinkler

    ctx.set("distance", float(JaroWinkler.similarity(*_two_strings(ctx), prefix_weight=0.1)))


@register("sorensen_dice_coefficient", "Sørensen-Dice Coefficient", "Utils/String/Similarity",
          "Share of common character pairs of two texts, white space ignored, from 0 to 1.",
          [*_TWO_STRINGS, out("coefficient", "Coefficient", "Float", description="The coefficient.")])
def sorensen_dice_coefficient(ctx: NodeContext) -> None:
    first, second = (text.translate(_NO_WHITESPACE) for text in _two_strings(ctx, quadratic=False))
    if first == second:
        ctx.set("coefficient", 1.0)
        return
    if len(first) < 2 or len(second) < 2:
        ctx.set("coefficient", 0.0)
        return
    pairs = Counter(zip(first, first[1:]))
    common = sum((pairs & Counter(zip(second, second[1:]))).values())
    ctx.set("coefficient", 2 * common / (len(first) + len(second) - 2))

