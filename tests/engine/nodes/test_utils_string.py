"""Utils/String and Utils/String/Similarity nodes: behaviour (Rust's semantics) and bad input."""

from __future__ import annotations

import pytest

from boardrun.engine import RunLimits
from collections_testkit import fails, ok, run_pure
from engine_testkit import BoardBuilder


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("string_starts_with", "starts_with", {"string": "héllo", "prefix": "hé"}, True),
    ("string_starts_with", "starts_with", {"string": "hello", "prefix": "H"}, False),
    ("string_ends_with", "ends_with", {"string": "naïve", "suffix": "ïve"}, True),
    ("string_ends_with", "ends_with", {"string": "abc", "suffix": ""}, True),
    ("string_length", "length", {"string": "abc"}, 3),
    ("string_length", "length", {"string": "é"}, 2),
    ("string_length", "length", {"string": "😀"}, 4),
    ("string_to_lower", "lowercase_string", {"string": "ÀB ΟΔΟΣ"}, "àb οδος"),
    ("string_to_upper", "uppercase_string", {"string": "straße"}, "STRASSE"),
    ("string_trim", "trimmed_string", {"string": "\u3000\t x y \n\u2029"}, "x y"),
    ("string_trim", "trimmed_string", {"string": "\x1fx\x1f"}, "\x1fx\x1f"),
    ("string_escape", "escaped", {"string": 'a\\b\n"c"\t\r'}, 'a\\\\b\\n\\"c\\"\\t\\r'),
    ("string_unescape", "unescaped", {"string": 'a\\\\b\\n\\"c\\"\\t\\r\\x\\'}, 'a\\b\n"c"\t\r\\x\\'),
    ("string_join", "joined_string", {"strings": ["a", "b", "c"], "separator": ", "}, "a, b, c"),
    ("string_join", "joined_string", {"strings": [], "separator": "-"}, ""),
    ("string_split", "substrings", {"string": "a,b,,c", "separator": ","}, ["a", "b", "", "c"]),
    ("string_split", "substrings", {"string": "", "separator": ","}, [""]),
    ("string_split", "substrings", {"string": "añb", "separator": ""}, ["", "a", "ñ", "b", ""]),
    ("string_split", "substrings", {"string": "", "separator": ""}, ["", ""]),
    ("utf8_lossy", "string", {"bytes": [104, 195, 169]}, "hé"),
    ("utf8_lossy", "string", {"bytes": [0x61, 0xF0, 0x90, 0x80, 0x62, 0xED, 0xA0, 0x80, 0xFF]},
     "a\ufffdb\ufffd\ufffd\ufffd\ufffd"),
])
def test_string_nodes(node, output, inputs, expected):
    """Each string node gives Rust's answer (lengths in UTF-8 bytes, Unicode White_Space for trim)."""
    assert ok(run_pure(node, output, **inputs)) == expected


def _compare(node: str, output: str, texts: list[str]):
    b = BoardBuilder()
    start = b.add("events_simple")
    cmp = b.add(node)
    for k, text in enumerate(texts[:2]):
        b.set_default(cmp, "string", text, nth=k)
    for text in texts[2:]:
        b.add_pin(cmp, "string", "Input", "String", default=text)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(cmp, output, ret, "response")
    return b.run(start)


@pytest.mark.parametrize(("texts", "unequal"), [
    (["a", "a"], False), (["a", "b"], True), (["x", "x", "x"], False), (["x", "x", "y"], True),
])
def test_not_equal_string_over_all_pins(texts, unequal):
    """not_equal_string is true when any of its texts (editor-added pins included) differs."""
    assert ok(_compare("not_equal_string", "unequal", texts)) is unequal


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"string": "a.b.c", "pattern": ".", "replacement": "-"}, "a-b-c"),
    ({"string": "abc", "pattern": "", "replacement": "-"}, "-a-b-c-"),
    ({"string": "a.b", "pattern": "[.]", "replacement": "$$", "is_regex": True}, "a$b"),
    ({"string": "2024-01-31", "pattern": r"(\d+)-(\d+)-(\d+)", "replacement": "$3/$2/$1", "is_regex": True},
     "31/01/2024"),
    ({"string": "john smith", "pattern": r"(?P<first>\w+) (?P<last>\w+)", "replacement": "${last}, ${first}",
      "is_regex": True}, "smith, john"),
    ({"string": "ab", "pattern": "(a)", "replacement": "$1x|$9|$", "is_regex": True}, "||$b"),
    ({"string": "ab", "pattern": "(a)", "replacement": "${1}x", "is_regex": True}, "axb"),
    ({"string": "baaab", "pattern": "a*", "replacement": "-", "is_regex": True}, "-b-b-"),
    ({"string": "abxd", "pattern": "x*", "replacement": "-", "is_regex": True}, "-a-b-d-"),
    ({"string": "é", "pattern": "", "replacement": "-", "is_regex": True}, "-é-"),
    ({"string": "ÄÖü", "pattern": "(?i)ö", "replacement": "o", "is_regex": True}, "Äoü"),
    ({"string": "αβγ abc", "pattern": r"\p{Greek}+", "replacement": "G", "is_regex": True}, "G abc"),
])
def test_string_replace(inputs, expected):
    """string_replace replaces text literally or by regex with Rust's replacement and empty-match rules."""
    assert ok(run_pure("string_replace", "new_string", **inputs)) == expected


def test_regex_replace_has_no_catastrophic_backtracking():
    """A pattern on which a backtracking engine (Python's re) would run for ages completes (RE2 is linear)."""
    result = ok(run_pure("string_replace", "new_string", string="a" * 5000 + "!", pattern="(a+)+$",
                         replacement="x", is_regex=True))
    assert result == "a" * 5000 + "!"


@pytest.mark.parametrize(("pattern", "message"), [
    ("(unclosed", "not a valid regular expression"),
    (r"(a)\1", "not a valid regular expression"),
    ("(?<=a)b", "not a valid regular expression"),
])
def test_regex_replace_rejects_what_rust_rejects(pattern, message):
    """Invalid patterns, backreferences and look-behind fail the node, as they fail in Rust's regex."""
    fails(run_pure("string_replace", "new_string", string="ab", pattern=pattern, replacement="", is_regex=True),
          message)


def test_replace_cannot_build_a_string_past_the_limit():
    """Literal and regex replacement fail instead of building a string longer than max_string_length."""
    for is_regex in (False, True):
        b = BoardBuilder()
        start = b.add("events_simple")
        node = b.add("string_replace", string="abcd", pattern="", replacement="xyz", is_regex=is_regex)
        ret = b.add("events_generic_return_result")
        b.chain(start, ret)
        b.connect(node, "new_string", ret, "response")
        assert ok(b.run(start, limits=RunLimits(max_string_length=19))) == "xyzaxyzbxyzcxyzdxyz"
        fails(b.run(start, limits=RunLimits(max_string_length=18)), "longer than the limit of 18 characters")


def test_join_and_split_respect_the_limits():
    """string_join checks the joined length and string_split the number of pieces against the run limits."""
    for node, output, inputs, limits, message in [
        ("string_join", "joined_string", {"strings": ["ab", "cd"], "separator": "--"},
         RunLimits(max_string_length=5), "limit of 5 characters"),
        ("string_split", "substrings", {"string": "a,b,c", "separator": ","},
         RunLimits(max_array_length=2), "more than the limit of 2"),
    ]:
        b = BoardBuilder()
        start = b.add("events_simple")
        node_id = b.add(node, **inputs)
        ret = b.add("events_generic_return_result")
        b.chain(start, ret)
        b.connect(node_id, output, ret, "response")
        fails(b.run(start, limits=limits), message)


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("string_starts_with", "starts_with", {"string": 1, "prefix": "a"}, "'string' must be a string"),
    ("string_ends_with", "ends_with", {"string": "a", "suffix": None}, "'suffix' must be a string"),
    ("string_length", "length", {"string": ["a"]}, "'string' must be a string"),
    ("string_to_lower", "lowercase_string", {"string": 3}, "'string' must be a string"),
    ("string_to_upper", "uppercase_string", {"string": {}}, "'string' must be a string"),
    ("string_trim", "trimmed_string", {"string": True}, "'string' must be a string"),
    ("string_escape", "escaped", {"string": 1.5}, "'string' must be a string"),
    ("string_unescape", "unescaped", {"string": None}, "'string' must be a string"),
    ("string_join", "joined_string", {"strings": ["a", 1], "separator": ""}, "'strings' must be a string"),
    ("string_join", "joined_string", {"strings": "ab", "separator": ""}, "'strings' must be an array"),
    ("string_split", "substrings", {"string": "a", "separator": 0}, "'separator' must be a string"),
    ("string_replace", "new_string", {"string": "a", "pattern": "a", "replacement": 1}, "'replacement' must be"),
    ("string_replace", "new_string", {"string": "a", "pattern": "a", "replacement": "", "is_regex": "yes"},
     "'is_regex' must be a boolean"),
    ("utf8_lossy", "string", {"bytes": [1, 256]}, "integers from 0 to 255"),
    ("utf8_lossy", "string", {"bytes": [1.0]}, "integers from 0 to 255"),
    ("utf8_lossy", "string", {"bytes": "abc"}, "'bytes' must be an array"),
])
def test_string_nodes_reject_bad_input(node, output, inputs, message):
    """Inputs of the wrong type fail the node with a message naming the pin."""
    fails(run_pure(node, output, **inputs), message)


def test_not_equal_string_rejects_non_strings():
    """not_equal_string fails when one of its texts is not a string."""
    fails(_compare("not_equal_string", "unequal", ["a", 1]), "'string' must be a string")  # type: ignore[list-item]


# -- similarity: the values strsim (Flow-Like's library) documents --------------------------
@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("levenshtein_distance", "distance", {"string1": "kitten", "string2": "sitting", "normalize": False}, 3.0),
    ("levenshtein_distance", "distance", {"string1": "kitten", "string2": "sitting"}, 0.5714285714285714),
    ("levenshtein_distance", "distance", {"string1": "", "string2": ""}, 1.0),
    ("levenshtein_distance", "distance", {"string1": "", "string2": "second"}, 0.0),
    ("levenshtein_distance", "distance", {"string1": "ü", "string2": "u", "normalize": False}, 1.0),
    ("damerau_levenshtein_distance", "distance", {"string1": "ab", "string2": "bca", "normalize": False}, 2.0),
    ("damerau_levenshtein_distance", "distance", {"string1": "levenshtein", "string2": "löwenbräu"},
     0.2727272727272727),
    ("damerau_levenshtein_distance", "distance", {"string1": "", "string2": "flower"}, 0.0),
    ("optimal_string_alignment_distance", "distance", {"string1": "ab", "string2": "bca"}, 3.0),
    ("optimal_string_alignment_distance", "distance", {"string1": "ca", "string2": "abc"}, 3.0),
    ("hamming_distance", "distance", {"string1": "hamming", "string2": "hammers"}, 3.0),
    ("hamming_distance", "distance", {"string1": "ñoño", "string2": "nono"}, 2.0),
    ("jaro_distance", "distance", {"string1": "Friedrich Nietzsche", "string2": "Jean-Paul Sartre"},
     0.3918859649122807),
    ("jaro_distance", "distance", {"string1": "", "string2": ""}, 1.0),
    ("jaro_distance", "distance", {"string1": "", "string2": "a"}, 0.0),
    ("jaro_distance", "distance", {"string1": "dixon", "string2": "dicksonx"}, 0.7666666666666666),
    ("jaro_winkler_distance", "distance", {"string1": "cheeseburger", "string2": "cheese fries"}, 0.8666666666666666),
    ("jaro_winkler_distance", "distance", {"string1": "dixon", "string2": "dicksonx"}, 0.8133333333333332),
    ("jaro_winkler_distance", "distance", {"string1": "abc", "string2": "xyz"}, 0.0),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "", "string2": ""}, 1.0),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "", "string2": "a"}, 0.0),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "french", "string2": "quebec"}, 0.0),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "ferris", "string2": "fer ris"}, 1.0),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "feris", "string2": "ferris"}, 0.8888888888888888),
    ("sorensen_dice_coefficient", "coefficient", {"string1": "äbc", "string2": "äbd"}, 0.5),
])
def test_similarity_nodes(node, output, inputs, expected):
    """The similarity nodes give strsim's values (measured in characters, not bytes)."""
    assert ok(run_pure(node, output, **inputs)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("node", "inputs", "message"), [
    ("hamming_distance", {"string1": "abc", "string2": "ab"}, "same length, got 3 and 2"),
    ("levenshtein_distance", {"string1": 1, "string2": "a"}, "'string1' must be a string"),
    ("levenshtein_distance", {"string1": "a", "string2": "b", "normalize": 1}, "'normalize' must be a boolean"),
    ("damerau_levenshtein_distance", {"string1": "a", "string2": None}, "'string2' must be a string"),
    ("jaro_distance", {"string1": [], "string2": "a"}, "'string1' must be a string"),
    ("jaro_winkler_distance", {"string1": "a", "string2": 2}, "'string2' must be a string"),
    ("optimal_string_alignment_distance", {"string1": "a" * 20_000, "string2": "b" * 10_000}, "too long to compare"),
])
def test_similarity_nodes_reject_bad_input(node, inputs, message):
    """Non-strings, texts of different length for Hamming and huge quadratic comparisons fail the node."""
    fails(run_pure(node, "distance", **inputs), message)


def test_sorensen_dice_rejects_non_strings():
    """sorensen_dice_coefficient fails on a non-string input."""
    fails(run_pure("sorensen_dice_coefficient", "coefficient", string1="a", string2=5), "'string2' must be a string")


def test_importing_engine_does_not_import_regex_or_similarity_libraries():
    """RE2 and rapidfuzz are loaded only when a node needs them, not when the engine is imported."""
    import subprocess
    import sys

    code = ("import sys, boardrun.engine as e; e.catalog(); "
            "print('re2' in sys.modules, 'rapidfuzz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
