"""Utils/Faker: every faker node produces a value of the right shape; ranges and bad inputs are checked."""

from __future__ import annotations

import ipaddress
import re

import pytest

from engine_testkit import BoardBuilder


def fake(node_name: str, output: str, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, output, ret, "response")
    return b.run(start)


def nonempty(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


SHAPES = [
    ("faker_city_name", "city", nonempty),
    ("faker_country_code", "code", lambda v: re.fullmatch(r"[A-Z]{2}", v) is not None),
    ("faker_country_name", "country", nonempty),
    ("faker_latitude", "latitude", lambda v: isinstance(v, float) and -90 <= v <= 90),
    ("faker_longitude", "longitude", lambda v: isinstance(v, float) and -180 <= v <= 180),
    ("faker_post_code", "code", lambda v: re.fullmatch(r"\d{5}", v) is not None),
    ("faker_state_name", "state", nonempty),
    ("faker_street_address", "address", lambda v: re.fullmatch(r"\d+ \S.*", v) is not None),
    ("faker_street_name", "street", nonempty),
    ("faker_buzzword", "buzzword", nonempty),
    ("faker_catch_phrase", "phrase", lambda v: len(v.split()) >= 3),
    ("faker_company_name", "company", nonempty),
    ("faker_industry", "industry", nonempty),
    ("faker_profession", "profession", nonempty),
    ("faker_domain_suffix", "suffix", lambda v: re.fullmatch(r"[a-z]{2,}", v) is not None),
    ("faker_email", "email", lambda v: re.fullmatch(r"[^@\s]+@example\.(com|org|net)", v) is not None),
    ("faker_ipv4", "ip", lambda v: ipaddress.ip_address(v).version == 4),
    ("faker_ipv6", "ip", lambda v: ipaddress.ip_address(v).version == 6),
    ("faker_user_agent", "user_agent", lambda v: v.startswith(("Mozilla/", "Opera/"))),
    ("faker_username", "username", lambda v: re.fullmatch(r"\S+", v) is not None),
    ("faker_word", "word", lambda v: re.fullmatch(r"\S+", v) is not None),
    ("faker_first_name", "name", nonempty),
    ("faker_full_name", "name", lambda v: len(v.split()) >= 2),
    ("faker_last_name", "name", nonempty),
    ("faker_title", "title", lambda v: re.fullmatch(r"[A-Z][a-z]{1,3}\.?", v) is not None),
    ("faker_digit", "digit", lambda v: v in range(10)),
    ("faker_cell_number", "phone", lambda v: len(re.sub(r"\D", "", v)) >= 10),
    ("faker_phone_number", "phone", lambda v: len(re.sub(r"\D", "", v)) >= 10),
]


@pytest.mark.parametrize("node_name, output, check", SHAPES, ids=[s[0] for s in SHAPES])
def test_generated_value_has_the_right_shape(node_name, output, check):
    """Each node runs on 'Input', fires 'Output' and sets a value of its kind."""
    result = fake(node_name, output)
    assert result.status == "completed", result.error
    assert check(result.result), result.result


@pytest.mark.parametrize("node_name, output, inputs, check", [
    ("faker_password", "password", {"min_length": 8, "max_length": 9}, lambda v: len(v) == 8),
    ("faker_password", "password", {"min_length": 2, "max_length": 3}, lambda v: re.fullmatch("[a-z]{2}", v)),
    ("faker_words", "words", {"min_count": 4, "max_count": 5}, lambda v: len(v) == 4),
    ("faker_sentence", "sentence", {"min_words": 5, "max_words": 6}, lambda v: len(v.split()) == 5 and v.endswith(".")),
    ("faker_sentences", "sentences", {"min_count": 3, "max_count": 4}, lambda v: len(v) == 3),
    ("faker_paragraph", "paragraph", {"min_sentences": 2, "max_sentences": 3}, lambda v: v.count(".") == 2),
    ("faker_paragraphs", "paragraphs", {"min_count": 2, "max_count": 3}, lambda v: len(v) == 2),
    ("faker_words", "words", {"min_count": 0, "max_count": 1}, lambda v: v == []),
    ("faker_integer", "number", {"min": 7, "max": 8}, lambda v: v == 7),
    ("faker_integer", "number", {"min": -5, "max": 5}, lambda v: -5 <= v < 5),
    ("faker_float", "number", {"min": 1.5, "max": 2}, lambda v: 1.5 <= v < 2),
    ("faker_boolean", "value", {"probability": 1.0}, lambda v: v is True),
    ("faker_boolean", "value", {"probability": 0.0}, lambda v: v is False),
])
def test_ranges_are_respected(node_name, output, inputs, check):
    """Counts, lengths and numbers fall in [min, max), as in Flow-Like; probabilities 0 and 1 are certain."""
    result = fake(node_name, output, **inputs)
    assert result.status == "completed", result.error
    assert check(result.result), result.result


def test_defaults_give_values_in_the_default_ranges():
    """With catalogue defaults, list sizes fall in their default ranges."""
    assert 3 <= len(fake("faker_words", "words").result) < 6
    assert 8 <= len(fake("faker_password", "password").result) < 16
    assert 0 <= fake("faker_integer", "number").result < 100


@pytest.mark.parametrize("node_name, output, inputs, message", [
    ("faker_integer", "number", {"min": 5, "max": 5}, "inputs 'min' (5) and 'max' (5) must satisfy min < max"),
    ("faker_float", "number", {"min": 3, "max": 1}, "inputs 'min' (3.0) and 'max' (1.0) must be finite with min < max"),
    ("faker_words", "words", {"min_count": -1, "max_count": 3},
     "inputs 'min_count' (-1) and 'max_count' (3) must satisfy 0 <= min_count < max_count"),
    ("faker_sentences", "sentences", {"min_count": 1, "max_count": 10**9}, "input 'max_count' must be at most 10001"),
    ("faker_password", "password", {"min_length": 1, "max_length": 10**6}, "input 'max_length' must be at most 4097"),
    ("faker_boolean", "value", {"probability": "half"}, "input 'probability' must be a number, got string"),
    ("faker_integer", "number", {"min": 0.5}, "input 'min' must be a 64-bit integer, got float"),
])
def test_bad_inputs_fail_clearly(node_name, output, inputs, message):
    """Empty or huge ranges and wrongly typed inputs fail the node with the pins named."""
    result = fake(node_name, output, **inputs)
    assert (result.reason, result.error["message"]) == ("node_error", message)


def test_faker_is_imported_only_when_a_node_runs():
    """Loading the engine and its catalogue does not import the faker library."""
    import subprocess
    import sys

    code = "import sys, boardrun.engine as e; e.catalog(); print('faker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
