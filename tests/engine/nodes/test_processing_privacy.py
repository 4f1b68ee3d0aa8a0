"""Processing/Privacy: PII detection options and regex masking."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, run_pure

SAMPLE = ("Mail ada@example.com or call +49 30 1234567, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, "
          "ip 192.168.0.1 and 2001:db8::1, SSN 123-45-6789, born 1990-05-17, see https://x.org/a?b=1, "
          "at 1600 Pennsylvania Avenue, Hauptstraße 5, 10115 Berlin, SW1A 1AA. Order 12345 shipped, total 42.")


def mask(text: str, via_node=None, **inputs):
    """Run the mask node; ``via_node`` wires a detection-options node with those inputs."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("processing_pii_mask_regex", text=text, **inputs)
    if via_node is not None:
        opts = b.add("processing_pii_detection_options", **via_node)
        b.connect(opts, "options", node, "options")
    pack = b.add("struct_make_from_schema")
    for name in ("masked_text", "detection_count", "detections"):
        b.link(b.pin_id(node, name, "Output"), b.add_pin(pack, name, "Input", "Generic"))
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(pack, "struct_out", ret, "response")
    return b.run(start)


def test_every_kind_in_the_sample_is_found_and_plain_numbers_are_kept():
    """Each kind of PII in the sample is detected once; order numbers and amounts are left alone."""
    result = mask(SAMPLE, preserve_length=False).result
    kinds = [d["type"] for d in result["detections"]]
    assert kinds == ["Email", "Phone", "CreditCard", "IBAN", "IPv4", "IPv6", "SSN", "Date", "URL", "AddressUS",
                     "AddressDE", "PostcodeDE", "PostcodeUK"]
    assert result["detection_count"] == 13
    assert result["masked_text"].startswith("Mail [REDACTED] or call [REDACTED], card [REDACTED], IBAN [REDACTED],")
    assert result["masked_text"].endswith("[REDACTED] Berlin, [REDACTED]. Order 12345 shipped, total 42.")
    assert "https" not in result["masked_text"] and ", at [REDACTED]," in result["masked_text"]


def test_preserve_length_masks_character_for_character():
    """With preserve_length the text keeps its length (in characters, also for non-ASCII) and offsets match."""
    text = "Grüße an jörg@example.com!"
    result = mask(text, mask_char="#").result
    assert result["masked_text"] == "Grüße an " + "#" * len("jörg@example.com") + "!"
    assert result["detections"] == [{"type": "Email", "start": 9, "end": 25, "original_length": 16}]


def test_checksums_reject_lookalikes():
    """A 16-digit number failing Luhn and an IBAN with wrong check digits are not masked."""
    result = mask("card 4111 1111 1111 1112, iban DE00 3704 0044 0532 0130 00", detect_phone=False).result
    assert result["detection_count"] == 0


def test_switches_override_the_options():
    """Turning a switch off disables its kinds even when the options enable them; options govern the rest."""
    result = mask(SAMPLE, via_node={"date": False}, detect_email=False, detect_address=False, preserve_length=False).result
    kinds = {d["type"] for d in result["detections"]}
    assert "Email" not in kinds and "Date" not in kinds and "AddressUS" not in kinds and "PostcodeUK" not in kinds
    assert {"Phone", "CreditCard", "IBAN", "URL"} <= kinds


def test_detection_options_node_builds_the_struct():
    """The options node outputs every field, all true by default."""
    options = run_pure("processing_pii_detection_options", "options", passport=False).result
    assert len(options) == 18 and options["passport"] is False and all(v for k, v in options.items() if k != "passport")


@pytest.mark.parametrize("inputs, message", [
    ({"text": 5}, "input 'text' must be a string, got integer"),
    ({"text": "x", "detect_ip": "yes"}, "input 'detect_ip' must be a boolean, got string"),
    ({"text": "x", "options": [1]}, "input 'options' must be a PII detection options object"),
    ({"text": "x", "options": {"email": 1}}, "input 'options': field 'email' must be a boolean"),
])
def test_bad_inputs(inputs, message):
    """Wrong types for the text, a switch or the options fail the node naming the pin."""
    text = inputs.pop("text")
    assert mask(text, **inputs).error["message"] == message


def test_options_node_bad_input():
    """A non-boolean option fails the options node."""
    assert run_pure("processing_pii_detection_options", "options", email="no").error["message"] == (
        "input 'email' must be a boolean, got string")
